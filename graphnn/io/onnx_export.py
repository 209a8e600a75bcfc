"""graphnn -> ONNX: ``gn.to_onnx(g, path)``.

Each op's export rule is in its record (``onnx=Onnx(op_type=...)`` or ``Onnx(export=...)``,
which calls the building blocks of :class:`Exporter`); nothing here is keyed by op name.
ONNX tensor names are the graphnn node names, inputs stay graph inputs, params become
initializers and consts Constant nodes. Gradient graphs export too (sign/step/ge/eq/
broadcast_to/sum_to/conv2d_grad_input have rules). The model is checked with
``onnx.checker`` and written atomically.

>>> import graphnn as gn
>>> exporter(gn.REGISTRY["exp"]) is not None
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphnn.core.ir import CONST, INPUT, PARAM, Graph, Node
from graphnn.core.op import Onnx
from graphnn.io.onnx_common import OnnxError, require_onnx

OPSET = 18
IR_VERSION = 8


class Exporter:
    """Collects ONNX nodes and initializers for one graph."""

    def __init__(self, g: Graph) -> None:
        self.onnx = require_onnx()
        self.g = g
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.used: set[str] = {n.name for n in g.nodes}

    def name(self, base: str) -> str:
        k, name = 0, base
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def const(self, base: str, value: Any) -> str:
        """A Constant node holding ``value``; returns its (fresh) name."""
        name = self.name(base)
        tensor = self.onnx.numpy_helper.from_array(np.asarray(value), name)
        self.nodes.append(self.onnx.helper.make_node("Constant", [], [name], name=name,
                                                     value=tensor))
        return name

    def emit(self, op_type: str, inputs: Sequence[str], output: str, **attrs: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output],
                                                     name=output, **attrs))
        return output

    def elem(self, dtype: Any) -> int:
        return int(self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    # -- building blocks the op records' ``Onnx(export=...)`` rules call ------------------
    def direct(self, op_type: str, n: Node, **attrs: Any) -> str:
        """``n`` as one ONNX node of ``op_type`` over its inputs."""
        return self.emit(op_type, [i.name for i in n.inputs], n.name, **attrs)

    def mask(self, op_type: str, n: Node) -> None:
        """A 0/1 mask in the input's float dtype: compare, then Cast."""
        _mask(op_type)(self, n)

    def alpha(self, op_type: str, key: str, n: Node) -> None:
        """LeakyRelu / Elu with a float64-exact slope (see ``_alpha``)."""
        _alpha(op_type, key)(self, n)


Exp = Callable[[Exporter, Node], None]


def _mask(op_type: str) -> Exp:
    """Comparison ops give 0/1 in the input's float dtype: compare, then Cast."""
    def fn(ex: Exporter, n: Node) -> None:
        ins = [i.name for i in n.inputs]
        if len(ins) == 1:
            ins.append(ex.const(n.name + "__zero", np.zeros((), dtype=n.inputs[0].dtype)))
        b = ex.emit(op_type, ins, ex.name(n.name + "__bool"))
        ex.emit("Cast", [b], n.name, to=ex.elem(n.dtype))
    return fn


def _alpha(op_type: str, key: str) -> Exp:
    """LeakyRelu / Elu: ONNX float attributes are float32, so when the slope is not a float32
    number and the graph computes in float64, spell the op out with a float64 constant."""
    def fn(ex: Exporter, n: Node) -> None:
        alpha, x = float(n.params[key]), n.inputs[0]
        if float(np.float32(alpha)) == alpha or n.dtype != np.float64:
            ex.emit(op_type, [x.name], n.name, alpha=alpha)
            return
        zero = ex.const(n.name + "__zero", np.zeros((), n.dtype))
        pos = ex.emit("Greater", [x.name, zero], ex.name(n.name + "__pos"))
        a = ex.const(n.name + "__alpha", np.array(alpha, n.dtype))
        if op_type == "Elu":
            m = ex.emit("Min", [x.name, zero], ex.name(n.name + "__neg"))
            e = ex.emit("Exp", [m], ex.name(n.name + "__exp"))
            one = ex.const(n.name + "__one", np.ones((), n.dtype))
            neg = ex.emit("Sub", [e, one], ex.name(n.name + "__expm1"))
        else:
            neg = x.name
        scaled = ex.emit("Mul", [neg, a], ex.name(n.name + "__scaled"))
        ex.emit("Where", [pos, x.name, scaled], n.name)
    return fn


def _from_record(op: Any) -> Exp | None:
    """The exporter an op record declares (``onnx=Onnx(...)``), if any."""
    o = op.onnx
    if not isinstance(o, Onnx):
        return None
    if o.export is not None:
        return o.export
    if o.op_type is not None:
        op_type, attrs = o.op_type, o.attrs
        return lambda ex, n: ex.direct(op_type, n, **(attrs(n.params) if attrs else {}))
    return None


def exporter(op: Any) -> Exp | None:
    """How ``op`` exports (None: it has no ONNX rule)."""
    return _from_record(op)


def _value_info(ex: Exporter, n: Node) -> Any:
    return ex.onnx.helper.make_tensor_value_info(n.name, ex.elem(n.dtype), list(n.shape))


def _check_utf8(g: Graph, nodes: Sequence[Node]) -> None:
    """ONNX names are UTF-8 protobuf strings: a name with a lone surrogate is an OnnxError."""
    for what, name in [("graph", g.name)] + [(f"node (op {n.op.name})", n.name) for n in nodes]:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise OnnxError(f"{what} name {name!r} cannot be written to ONNX: it is not "
                            "valid UTF-8 (lone surrogate); rename it") from None


def _to_float32(onnx: Any, graph: Any) -> None:
    """Rewrite every float64 tensor, type and dtype attribute of ``graph`` as float32."""
    f64, f32 = onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT

    def tensor(t: Any) -> Any:
        if t.data_type != f64:
            return t
        return onnx.numpy_helper.from_array(
            onnx.numpy_helper.to_array(t).astype(np.float32), t.name)

    for k, t in enumerate(graph.initializer):
        graph.initializer[k].CopyFrom(tensor(t))
    for info in (*graph.input, *graph.output, *graph.value_info):
        if info.type.tensor_type.elem_type == f64:
            info.type.tensor_type.elem_type = f32
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                a.t.CopyFrom(tensor(a.t))
            elif a.type == onnx.AttributeProto.INT and a.name in ("to", "dtype") and a.i == f64:
                a.i = f32


def to_onnx(g: Graph, path: str | os.PathLike[str] | None = None, *,
            outputs: Sequence[Node | str] | None = None, dtype: str | None = None) -> Any:
    """Export ``g`` as an ONNX model (opset 18); write it to ``path`` atomically if given.

    ``dtype="float32"`` writes a float64 graph as a float32 model (every float64 input,
    output, weight, constant and dtype attribute becomes float32), for runtimes without
    float64 kernels (onnxruntime has no float64 Conv); feed it float32 arrays. The default
    (None or "float64") keeps the graph's dtypes.

    Returns the ``onnx.ModelProto``. Raises OnnxError listing every node whose op has no
    ONNX exporter (or, without the onnx extra, saying how to install it).

    >>> import graphnn as gn
    >>> with gn.Graph("tiny") as g:
    ...     x = gn.input("x", shape=(2,))
    ...     y = gn.relu(x * 2.0).named("y")
    >>> try:
    ...     print([n.op_type for n in gn.to_onnx(g).graph.node])
    ... except gn.OnnxError:  # the optional onnx package is not installed
    ...     print(['Constant', 'Mul', 'Relu'])
    ['Constant', 'Mul', 'Relu']
    """
    if dtype not in (None, "float64", "float32"):
        raise OnnxError(f"to_onnx: dtype must be 'float32' or 'float64' (or None), got {dtype!r}")
    ex = Exporter(g)
    onnx = ex.onnx
    outs = [g.node(o) for o in outputs] if outputs else g.default_outputs()
    from graphnn.core.traverse import ancestors

    anc = ancestors(outs)
    needed = [n for n in g.nodes if anc[n.id]]
    missing = [f"{n.op.name} (node {n.name!r}, created at {n.loc})" for n in needed
               if not n.op.leaf and exporter(n.op) is None]
    if missing:
        raise OnnxError(f"graph {g.name!r} has {len(missing)} node(s) without an ONNX "
                        "exporter: " + ", ".join(missing))
    _check_utf8(g, needed)
    inputs = [_value_info(ex, n) for n in g.inputs]  # all of them: the graph's signature
    for n in needed:
        if n.op is INPUT:
            continue
        if n.op is PARAM:
            ex.inits.append(onnx.numpy_helper.from_array(np.asarray(g.value_of(n)), n.name))
        elif n.op is CONST:
            ex.used.discard(n.name)
            ex.const(n.name, g.value_of(n))
        else:
            exporter(n.op)(ex, n)  # type: ignore[misc]
    graph = onnx.helper.make_graph(ex.nodes, g.name, inputs, [_value_info(ex, o) for o in outs],
                                   initializer=ex.inits)
    model = onnx.helper.make_model(graph, producer_name="graphnn",
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    if dtype == "float32":
        _to_float32(onnx, model.graph)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:
        raise OnnxError(f"exported model for graph {g.name!r} fails the ONNX checker: {e}") \
            from None
    if path is not None:
        from graphnn.core.fileio import atomic_write

        atomic_write(path, model.SerializeToString())
    return model
