"""ONNX export and import rules of the shape, reduction and softmax ops, which their
records name in ``onnx=Onnx(...)`` (graphnn/ops/linalg.py, reduce.py, activations.py).

Exporters ``(ex, node)`` use only the exporter's methods (``ex.emit``, ``ex.const``,
``ex.name``, ``ex.direct``); import converters ``(im, onnx_node, inputs, attrs) ->
[outputs]`` use the importer's ``im.static``, ``im.opset`` and ``im.unsupported`` (the
error for an attribute graphnn does not support) and the op functions, imported where
they are called (the op modules import this one).

>>> import graphnn as gn
>>> sorted(gn.REGISTRY["sum"].onnx.imports)
['ReduceSum']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphnn.core import shapes as S

Exp = Callable[[Any, Any], None]
Converter = Callable[[Any, Any, list[Any], dict[str, Any]], list[Any]]


def same_dtype(x: list[Any]) -> list[Any]:
    """Cast constant operands to the dtype of the node operand (ONNX types match)."""
    ref = next((v for v in x if v is not None and v.dtype.kind == "f" and v.role != "const"),
               None)
    if ref is None:
        return x
    out = []
    for v in x:
        if v is not None and v.dtype != ref.dtype and v.role == "const":
            v = ref.graph.constant(v.params["value"].astype(ref.dtype))
        out.append(v)
    return out


def shape_const(ex: Any, n: Any, shape: Any = None) -> str:
    """An int64 Constant holding ``shape`` (default: the node's own shape)."""
    return ex.const(n.name + "__shape", np.array(n.shape if shape is None else shape,
                                                 dtype=np.int64))


# -- matmul -------------------------------------------------------------------------------

def import_matmul(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.linalg import matmul

    x = same_dtype(x)
    if x[0].dtype != x[1].dtype:
        raise im.unsupported(f"mixed dtypes {x[0].dtype} and {x[1].dtype}")
    return [matmul(x[0], x[1])]


# -- transpose / reshape / flatten / broadcast_to / sum_to -------------------------------

def export_transpose(ex: Any, n: Any) -> None:
    axes = n.params.get("axes")
    perm = range(n.ndim)[::-1] if axes is None else [int(i) % n.ndim for i in axes]
    ex.direct("Transpose", n, perm=list(perm))


def import_transpose(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.linalg import transpose

    return [transpose(x[0], a.get("perm"))]


def export_reshape(ex: Any, n: Any) -> None:
    """reshape and flatten: a Reshape to the node's (static) shape."""
    ex.emit("Reshape", [n.inputs[0].name, shape_const(ex, n)], n.name)


def import_reshape(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.linalg import reshape

    shape = [int(s) for s in im.static(n.input[1], "Reshape's shape")]
    if not a.get("allowzero", 0):
        shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [reshape(x[0], tuple(shape))]


def import_flatten(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    """ONNX Flatten(axis) is always 2-D: (prod of the axes before, prod of the rest)."""
    from graphnn.ops.linalg import reshape

    s = x[0].shape
    axis = int(a.get("axis", 1))
    axis = axis + len(s) if axis < 0 else axis
    return [reshape(x[0], (int(np.prod(s[:axis], dtype=np.int64)),
                           int(np.prod(s[axis:], dtype=np.int64))))]


def export_broadcast_to(ex: Any, n: Any) -> None:
    ex.emit("Expand", [n.inputs[0].name, shape_const(ex, n)], n.name)


def import_expand(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    """Expand broadcasts both ways (the result has the broadcast of both shapes)."""
    from graphnn.ops.linalg import broadcast_to

    shape = tuple(int(s) for s in im.static(n.input[1], "Expand's shape"))
    return [broadcast_to(x[0], tuple(np.broadcast_shapes(x[0].shape, shape)))]


def export_sum_to(ex: Any, n: Any) -> None:
    """ReduceSum over the broadcast axes (kept), then Reshape to the target shape."""
    x = n.inputs[0]
    keep, lead = S.sum_to_axes(x.shape, n.shape)
    if not keep + lead:
        export_reshape(ex, n)
        return
    ax = ex.const(n.name + "__axes", np.array(keep + lead, dtype=np.int64))
    s = ex.emit("ReduceSum", [x.name, ax], ex.name(n.name + "__sum"), keepdims=1)
    ex.emit("Reshape", [s, shape_const(ex, n)], n.name)


# -- reductions ---------------------------------------------------------------------------

def export_reduce(op_type: str) -> Exp:
    def export(ex: Any, n: Any) -> None:
        x = n.inputs[0]
        axes = S.norm_axes(n.params.get("axis"), x.ndim)
        if not axes:  # a 0-d input: reducing nothing is the identity
            ex.emit("Identity", [x.name], n.name)
            return
        ax = ex.const(n.name + "__axes", np.array(axes, dtype=np.int64))
        ex.emit(op_type, [x.name, ax], n.name,
                keepdims=int(bool(n.params.get("keepdims", False))))
    return export


def reduce_axes(im: Any, n: Any, a: dict[str, Any],
                axes_input_from: int) -> tuple[bool, tuple[int, ...] | None]:
    """An ONNX Reduce*'s (no-op, axes): ``axes`` is an attribute before opset
    ``axes_input_from`` and a (static) input from then on; none means every axis, or
    nothing at all with ``noop_with_empty_axes``."""
    if im.opset < axes_input_from:
        axes = a.get("axes")
    else:
        axes = im.static(n.input[1], "the axes input") \
            if len(n.input) > 1 and n.input[1] else None
    if axes is None or len(axes) == 0:
        return bool(a.get("noop_with_empty_axes", 0)), None
    return False, tuple(int(i) for i in np.asarray(axes).reshape(-1))


def import_reduce(op_name: str, axes_input_from: int) -> Converter:
    """ReduceSum / ReduceMean / ReduceMax (axes: :func:`reduce_axes`)."""
    def convert(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        from graphnn.core.op import FUNCTIONS

        noop, axes = reduce_axes(im, n, a, axes_input_from)
        if noop:
            return [x[0]]
        if op_name == "max" and x[0].size == 0:
            raise im.unsupported("ReduceMax over an empty set (-inf by ONNX's definition; "
                                 "graphnn's max, like NumPy's, rejects empty reductions)")
        return [FUNCTIONS[op_name](x[0], axis=axes, keepdims=bool(a.get("keepdims", 1)))]
    return convert


# -- softmax / log_softmax ----------------------------------------------------------------

def softmax_attrs(params: Any) -> dict[str, Any]:
    return {"axis": int(params["axis"])}


def import_softmax(op_name: str) -> Converter:
    """Softmax / LogSoftmax; before opset 13 the input is coerced to 2-D at ``axis``."""
    def convert(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        from graphnn.core.op import FUNCTIONS
        from graphnn.ops.linalg import reshape

        fn, s = FUNCTIONS[op_name], x[0].shape
        if im.opset >= 13:
            return [fn(x[0], axis=int(a.get("axis", -1)))]
        axis = int(a.get("axis", 1)) % max(len(s), 1)
        flat = reshape(x[0], (int(np.prod(s[:axis], dtype=np.int64)), -1))
        return [reshape(fn(flat, axis=1), s)]
    return convert
