"""ONNX -> graphnn: ``gn.from_onnx(path_or_model)``.

Each ONNX op type that maps onto one graphnn op is converted by that op's record
(``onnx=Onnx(imports={...})``); ``COMPOSITES`` adds the ONNX types graphnn has no single op
for, as small composites (Gemm -> transpose/matmul/mul/add, BatchNormalization ->
elementwise ops). Graph inputs keep their ONNX names (feed them by those names), float
initializers become params, integer initializers and ``static`` inputs become constants,
and every ONNX output tensor names its graphnn node, so ``run.value("Y")`` works.

>>> import graphnn as gn, numpy as np
>>> sorted(converters())[:4]
['Abs', 'Acos', 'Add', 'And']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from graphnn import ops
from graphnn.core.errors import GraphError
from graphnn.core.ir import Graph, Node
from graphnn.core.op import FUNCTIONS, REGISTRY, Onnx
from graphnn.io import onnx_common as guard
from graphnn.io.onnx_aux import AUX_CONVERTERS
from graphnn.io.onnx_common import OnnxError, Unsupported, require_onnx, same_dtype
from graphnn.io.onnx_static import FOLDERS

ARITH = {"Add", "Sub", "Mul", "Div"}  # folded only on integer (shape) values

Converter = Callable[["Importer", Any, list[Any], dict[str, Any]], list[Any]]


class Importer:
    """State of one import: the graph, ONNX name -> node, statically known values."""

    def __init__(self, model: Any, input_shapes: Mapping[str, Any], static: Mapping[str, Any],
                 name: str | None) -> None:
        self.onnx = require_onnx()
        self.model = model
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          1)
        self.g = Graph(name or model.graph.name or "onnx")
        self.env: dict[str, Node] = {}
        self.values: dict[str, np.ndarray] = {k: np.asarray(v) for k, v in static.items()}
        self.named: set[int] = set()
        self.input_shapes = dict(input_shapes)
        self.converters = converters()

    def unsupported(self, msg: str) -> Unsupported:
        """The error a converter raises for an attribute or dtype graphnn does not support
        (converters in the op records cannot import io's exception class)."""
        return Unsupported(msg)

    # -- tensors -------------------------------------------------------------------
    def static(self, name: str, what: str) -> np.ndarray:
        """The compile-time value of tensor ``name`` (initializer, Constant, static input)."""
        if name in self.values:
            return self.values[name]
        raise Unsupported(f"{what} must be a constant (an initializer, a Constant node or "
                          f"a from_onnx(static={{{name!r}: ...}}) value); {name!r} is computed "
                          "at run time")

    def tensor(self, name: str) -> Node | None:
        if not name:
            return None
        if name not in self.env:
            if name not in self.values:
                raise OnnxError(f"tensor {name!r} is used before it is defined")
            self.set_name(self.g.constant(self.values[name]), name)
        return self.env[name]

    def fresh(self, node: Node) -> None:
        k = 1
        while f"{node.name}~{k}" in self.g:
            k += 1
        node.named(f"{node.name}~{k}")

    def set_name(self, node: Node, name: str) -> Node:
        """Give ``node`` the ONNX tensor name (an identity node if it already has one)."""
        if node.id in self.named:
            node = ops.reshape(node, node.shape)
        other = self.g._by_name.get(name)
        if other is not None and other is not node:
            if other.id in self.named:
                raise OnnxError(f"tensor name {name!r} is defined twice")
            self.fresh(other)
        node.named(name)
        self.named.add(node.id)
        self.env[name] = node
        return node

    # -- graph ---------------------------------------------------------------------
    def run(self) -> Graph:
        onnx, graph = self.onnx, self.model.graph
        for init in graph.initializer:
            self.values.setdefault(init.name, guard.initializer_array(onnx, init))
        unsupported = [f"{n.op_type} (node {n.name or '<unnamed>'!r})" for n in graph.node
                       if n.domain not in ("", "ai.onnx")
                       or (n.op_type not in self.converters and n.op_type not in FOLDERS)]
        if unsupported:
            raise OnnxError(f"model {self.g.name!r} uses {len(unsupported)} unsupported "
                            "node(s): " + ", ".join(unsupported)
                            + f"; graphnn imports: {', '.join(sorted(self.converters))}")
        with self.g:
            for inp in graph.input:
                self.add_input(inp)
            for init in graph.initializer:
                if init.name not in self.env and self.values[init.name].dtype.kind == "f":
                    self.set_name(self.g.param(init.name, self.values[init.name].copy()),
                                  init.name)
            for n in graph.node:
                self.convert(n)
        missing = [o.name for o in graph.output if o.name not in self.env
                   and o.name not in self.values]
        if missing:
            raise OnnxError(f"graph outputs {missing} are not produced by any node")
        self.g.mark_output(*[self.tensor(o.name) for o in graph.output])
        return self.g

    def add_input(self, inp: Any) -> None:
        if inp.name in self.values:  # an initializer listed as input, or a static feed
            return
        kind = inp.type.WhichOneof("value")
        if kind not in (None, "tensor_type"):
            raise Unsupported(f"input {inp.name!r} is a {kind.replace('_type', '')}: graphnn "
                              "inputs are tensors")
        tt = inp.type.tensor_type
        dtype = guard.np_dtype(self.onnx, tt.elem_type, f"input {inp.name!r}")
        if dtype.kind not in "fiub":  # integer indices and bool masks are run-time inputs too
            raise Unsupported(f"input {inp.name!r} has dtype {dtype}: graphnn inputs are "
                              "real numbers or bool")
        if inp.name in self.input_shapes:
            shape = tuple(int(s) for s in self.input_shapes[inp.name])
        else:
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            if None in dims or not tt.HasField("shape"):
                sym = [d.dim_param or "?" for d in tt.shape.dim]
                raise OnnxError(f"input {inp.name!r} has symbolic or unknown dimensions "
                                f"{sym}; pass from_onnx(..., input_shapes={{{inp.name!r}: "
                                "(...)}})")
            shape = tuple(dims)  # type: ignore[arg-type]
        self.set_name(self.g.input(inp.name, shape, dtype), inp.name)

    def shape_of(self, name: str) -> tuple[int, ...]:
        if name in self.env:
            return self.env[name].shape
        return tuple(np.shape(self.static(name, "this tensor")))

    def foldable(self, n: Any) -> bool:
        """Can ``n`` be computed now (shape arithmetic on known values)?"""
        if n.op_type == "Shape":
            return True
        vals = [self.values.get(i) for i in n.input if i]
        if any(v is None for v in vals):
            return False
        return n.op_type not in ARITH or all(v.dtype.kind in "iub" for v in vals)

    def convert(self, n: Any) -> None:
        where = f"{n.op_type} node {n.name or '<unnamed>'!r}"
        attrs = {a.name: _attr(self.onnx, a) for a in n.attribute}
        if n.op_type in FOLDERS and self.foldable(n):
            try:
                vals = [self.values.get(i) if i else None for i in n.input]
                self.values[n.output[0]] = np.asarray(FOLDERS[n.op_type](self, n, vals, attrs))
            except Exception as e:
                raise OnnxError(f"{where}: cannot compute it at import time: "
                                f"{type(e).__name__}: {e}") from None
            return
        if n.op_type not in self.converters:
            raise Unsupported(f"{where}: supported only on constant values (shape "
                              "arithmetic); here its inputs are computed at run time")
        try:
            ins = [self.tensor(i) for i in n.input]
            outs = self.converters[n.op_type](self, n, ins, attrs)
        except Unsupported as e:
            raise Unsupported(f"{where}: {e}") from None
        except OnnxError as e:
            raise OnnxError(f"{where}: {e}") from None
        except Exception as e:  # graphnn errors (shapes...) and bad attributes
            raise OnnxError(f"{where}: {type(e).__name__}: {e}") from None
        for oname, node in zip(n.output, outs):
            if oname and node is not None:
                self.set_name(node, oname)
        for oname in n.output[len(outs):]:
            if oname:
                raise Unsupported(f"{where}: output {oname!r} is not supported")


def _attr(onnx: Any, a: Any) -> Any:
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, float):  # ONNX float attributes are float32: 0.1 arrives as 0.100000001
        return float(str(np.float32(v)))  # the shortest decimal with that float32 value
    try:
        if isinstance(v, bytes):
            return v.decode("utf-8")
        if isinstance(v, list):
            return [x.decode("utf-8") if isinstance(x, bytes) else x for x in v]
    except UnicodeDecodeError:
        raise OnnxError(f"attribute {a.name!r} is not valid UTF-8 text") from None
    return v


def from_onnx(model: Any, *, input_shapes: Mapping[str, Any] | None = None,
              static: Mapping[str, Any] | None = None, name: str | None = None) -> Graph:
    """Import an ONNX model (a path or a ``ModelProto``) as a graphnn Graph.

    Args:
        input_shapes: shapes for inputs with symbolic dimensions (``{"x": (1, 3, 8, 8)}``).
        static: values for inputs that must be known at import time (Reshape shapes,
            reduction axes); they become const nodes.
    Raises OnnxError listing every unsupported op (type and node name), or naming the node
    and attribute graphnn does not support.

    >>> import numpy as np, graphnn as gn
    >>> with gn.Graph("tiny") as g:
    ...     x = gn.input("x", shape=(2,))
    ...     y = gn.relu(x * 2.0).named("y")
    >>> try:
    ...     h = gn.from_onnx(gn.to_onnx(g))
    ...     print(gn.run(h, {"x": [-1.0, 3.0]}).value("y"))
    ... except gn.OnnxError:  # the optional onnx package is not installed
    ...     print(np.array([0.0, 6.0]))
    [0. 6.]
    """
    onnx = require_onnx()
    if isinstance(model, (str, os.PathLike)):
        model = guard.read_model(onnx, os.fspath(model))
    if not isinstance(model, onnx.ModelProto):
        raise OnnxError(f"from_onnx: expected a path or an onnx.ModelProto, got "
                        f"{type(model).__name__}")
    try:
        return Importer(model, input_shapes or {}, static or {}, name).run()
    except GraphError:
        raise
    except Exception as e:  # noqa: BLE001 - a gap in the checks is still an OnnxError
        raise OnnxError(f"model {model.graph.name!r}: cannot import ({type(e).__name__}: "
                        f"{str(e)[:200]})") from None


# -- converters ------------------------------------------------------------------------


def _unary(fn: Callable[..., Any]) -> Converter:
    return lambda im, n, x, a: [fn(x[0])]


def _binary(fn: Callable[..., Any]) -> Converter:
    def conv(im: Importer, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        x = same_dtype(x)
        if x[0].dtype != x[1].dtype:
            raise Unsupported(f"mixed dtypes {x[0].dtype} and {x[1].dtype}")
        return [fn(x[0], x[1])]
    return conv


def _variadic(fn: Callable[..., Any]) -> Converter:
    def conv(im: Importer, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        x = same_dtype(x)
        out = x[0]
        for v in x[1:]:
            out = fn(out, v)
        return [out]
    return conv


def _gemm(im: Importer, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    A, B = x[0], x[1]
    if a.get("transA", 0):
        A = ops.transpose(A)
    if a.get("transB", 0):
        B = ops.transpose(B)
    y = ops.matmul(A, B)
    if a.get("alpha", 1.0) != 1.0:
        y = y * float(a["alpha"])
    if len(x) > 2 and x[2] is not None:
        c = x[2] if a.get("beta", 1.0) == 1.0 else x[2] * float(a["beta"])
        y = y + c
    return [y]


def _batchnorm(im: Importer, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    if a.get("training_mode", 0):
        raise Unsupported("training_mode=1 (batch statistics) is not supported; "
                          "export models in inference mode")
    X, scale, bias, mean, var = same_dtype(x[:5])
    cs = (X.shape[1],) + (1,) * (X.ndim - 2)
    eps = float(a.get("epsilon", 1e-5))
    r = [ops.reshape(v, cs) for v in (scale, bias, mean, var)]
    y = (X - r[2]) / ops.sqrt(r[3] + eps) * r[0] + r[1]
    return [y]


def _dropout(im: Importer, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    training = False
    if len(n.input) > 2 and n.input[2]:
        training = bool(np.asarray(im.static(n.input[2], "Dropout's training_mode")))
    ratio: float | None = 0.5
    if len(n.input) > 1 and n.input[1]:
        r = im.values.get(n.input[1])
        ratio = None if r is None else float(np.asarray(r))
    if training and ratio != 0.0:
        raise Unsupported("training_mode=True (random masks) is not supported; graphnn "
                          "imports Dropout for inference (identity)")
    outs = [x[0]]
    if len(n.output) > 1 and n.output[1]:
        outs.append(im.g.constant(np.ones(x[0].shape, dtype=bool)))
    return outs


def _record_converters() -> dict[str, Converter]:
    """ONNX type -> converter from the op records' ``Onnx(imports=...)`` (None there: call
    the op's function on the inputs, folding variadic ones such as Max)."""
    out: dict[str, Converter] = {}
    for op in REGISTRY.values():
        o = op.onnx
        if not isinstance(o, Onnx) or not isinstance(o.imports, dict):
            continue
        fn = FUNCTIONS.get(op.name)
        for onnx_type, conv in o.imports.items():
            if conv is not None:
                out[onnx_type] = conv
            elif fn is not None:
                out[onnx_type] = _variadic(fn) if _arity(fn) == 2 else _unary(fn)
    return out


def _arity(fn: Callable[..., Any]) -> int:
    import inspect

    return sum(1 for p in inspect.signature(fn).parameters.values()
               if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


# ONNX types without a one-to-one graphnn op (composites); the rest come from the records.
COMPOSITES: dict[str, Converter] = {
    "Gemm": _gemm,
    "GlobalAveragePool": lambda im, n, x, a: [ops.mean(x[0], axis=tuple(range(2, x[0].ndim)),
                                                       keepdims=True)],
    "BatchNormalization": _batchnorm, "Dropout": _dropout,
    **AUX_CONVERTERS,
}


def converters() -> dict[str, Converter]:
    """ONNX type -> converter: the op records' rules plus the composites above (read
    afresh, so an op registered later is known; built once per import)."""
    return {**_record_converters(), **COMPOSITES}
