"""ONNX export and import rules of the reductions, scans and sorts that
graphnn/ops/reduce.py's records name in ``onnx=Onnx(...)``: ReduceMin / ReduceProd /
ReduceLogSumExp / ReduceL1 / ReduceL2, ArgMax / ArgMin, CumSum, TopK and GatherElements,
plus the decompositions of var / std, norm(p=inf) and any / all.

Exporters ``(ex, node)`` use only the exporter's methods; import converters ``(im,
onnx_node, inputs, attrs) -> [outputs]`` call the op functions, imported where they are
called (the op modules import this one).

>>> import graphnn as gn
>>> sorted(gn.REGISTRY["prod"].onnx.imports)
['ReduceProd']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.ops.onnx_rules import Converter, Exp, reduce_axes, shape_const


def _axes(ex: Any, n: Any) -> list[str]:
    """The ``axes`` input of a Reduce* node (none for a 0-d input: reduce everything)."""
    axes = S.norm_axes(n.params.get("axis"), n.inputs[0].ndim)
    return [ex.const(n.name + "__axes", np.array(axes, dtype=np.int64))] if axes else []


def import_reduce(fn_name: str, **extra: Any) -> Converter:
    """ReduceMin / ReduceProd / ReduceLogSumExp / ReduceL1 / ReduceL2 (opset 18: ``axes``
    is a static input)."""
    def convert(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        from graphnn.core.op import FUNCTIONS

        noop, axes = reduce_axes(im, n, a, 18)
        if noop:
            return [x[0]]
        if fn_name == "min" and x[0].size == 0:
            raise im.unsupported("ReduceMin over an empty set (+inf by ONNX's definition; "
                                 "graphnn's min, like PyTorch's, rejects empty reductions)")
        return [FUNCTIONS[fn_name](x[0], dim=axes, keepdim=bool(a.get("keepdims", 1)),
                                   **extra)]
    return convert


def export_norm(ex: Any, n: Any) -> None:
    """p=1: ReduceL1, p=2: ReduceL2, p=inf: Abs then ReduceMax."""
    p, x = float(n.params["p"]), n.inputs[0]
    keep = int(bool(n.params.get("keepdims", False)))
    if p == 1.0:
        ex.emit("ReduceL1", [x.name] + _axes(ex, n), n.name, keepdims=keep)
    elif p == 2.0:
        ex.emit("ReduceL2", [x.name] + _axes(ex, n), n.name, keepdims=keep)
    else:
        ab = ex.emit("Abs", [x.name], ex.name(n.name + "__abs"))
        ex.emit("ReduceMax", [ab] + _axes(ex, n), n.name, keepdims=keep)


def export_var(sqrt: bool) -> Exp:
    """var / std as ReduceMean, Sub, Mul, ReduceSum, Mul by 1 / (N - correction) (, Sqrt)."""
    def export(ex: Any, n: Any) -> None:
        x = n.inputs[0]
        axes = S.norm_axes(n.params.get("axis"), x.ndim)
        count = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
        dof = max(count - float(n.params.get("correction", 1)), 0.0)
        with np.errstate(divide="ignore"):
            scale = np.array(np.float64(1.0) / dof, dtype=n.dtype)
        ax = _axes(ex, n)
        m = ex.emit("ReduceMean", [x.name] + ax, ex.name(n.name + "__mean"), keepdims=1)
        d = ex.emit("Sub", [x.name, m], ex.name(n.name + "__dev"))
        sq = ex.emit("Mul", [d, d], ex.name(n.name + "__sq"))
        s = ex.emit("ReduceSum", [sq] + ax, ex.name(n.name + "__ss"),
                    keepdims=int(bool(n.params.get("keepdims", False))))
        sc = ex.const(n.name + "__scale", scale)
        if not sqrt:
            ex.emit("Mul", [s, sc], n.name)
            return
        v = ex.emit("Mul", [s, sc], ex.name(n.name + "__var"))
        ex.emit("Sqrt", [v], n.name)
    return export


def export_anyall(reduce_type: str) -> Exp:
    """any / all: Not(Equal(x, 0)) cast to int32, ReduceMax / ReduceMin, cast to bool."""
    def export(ex: Any, n: Any) -> None:
        x = n.inputs[0]
        zero = ex.const(n.name + "__zero", np.zeros((), dtype=x.dtype))
        eq = ex.emit("Equal", [x.name, zero], ex.name(n.name + "__eq"))
        nz = ex.emit("Not", [eq], ex.name(n.name + "__nz"))
        i = ex.emit("Cast", [nz], ex.name(n.name + "__int"), to=ex.elem(np.int32))
        if x.size == 0:  # ONNX reduces an empty set to the dtype's lowest / highest value
            init = np.zeros(n.shape, np.int32) if reduce_type == "ReduceMax" else \
                np.ones(n.shape, np.int32)
            r = ex.const(n.name + "__empty", init)
        else:
            r = ex.emit(reduce_type, [i] + _axes(ex, n), ex.name(n.name + "__red"),
                        keepdims=int(bool(n.params.get("keepdims", False))))
        ex.emit("Cast", [r], n.name, to=ex.elem(np.bool_))
    return export


def export_arg(op_type: str) -> Exp:
    """ArgMax / ArgMin; over all axes (``dim=None``) on the flattened input."""
    def export(ex: Any, n: Any) -> None:
        x, axis = n.inputs[0], n.params.get("axis")
        keep = int(bool(n.params.get("keepdims", False)))
        if axis is not None and x.ndim:
            ex.emit(op_type, [x.name], n.name, axis=int(axis) % x.ndim, keepdims=keep)
            return
        flat = ex.emit("Reshape", [x.name, shape_const(ex, n, (-1,))],
                       ex.name(n.name + "__flat"))
        r = ex.emit(op_type, [flat], ex.name(n.name + "__arg"), axis=0, keepdims=0)
        ex.emit("Reshape", [r, shape_const(ex, n)], n.name)
    return export


def import_arg(fn_name: str) -> Converter:
    def convert(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        from graphnn.core.op import FUNCTIONS

        if a.get("select_last_index", 0):
            raise im.unsupported("select_last_index=1 (graphnn, like PyTorch, returns the "
                                 "first extreme index)")
        return [FUNCTIONS[fn_name](x[0], dim=int(a.get("axis", 0)),
                                   keepdim=bool(a.get("keepdims", 1)))]
    return convert


def export_cumsum(ex: Any, n: Any) -> None:
    x = n.inputs[0]
    if x.ndim == 0:
        ex.emit("Identity", [x.name], n.name)
        return
    ax = ex.const(n.name + "__axis", np.array(int(n.params["axis"]) % x.ndim, np.int64))
    ex.emit("CumSum", [x.name, ax], n.name, reverse=int(bool(n.params.get("reverse"))))


def import_cumsum(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.core.bind import bind
    from graphnn.ops.reduce import CUMSUM

    if a.get("exclusive", 0):
        raise im.unsupported("exclusive=1 (graphnn's cumsum, like PyTorch's, is inclusive)")
    axis = int(np.asarray(im.static(n.input[1], "CumSum's axis")).reshape(-1)[0])
    out = bind(CUMSUM, x[0], axis=axis, reverse=bool(a.get("reverse", 0)))
    if out.dtype == x[0].dtype:
        return [out]
    from graphnn.ops.integer import cast  # ONNX keeps int32 where PyTorch widens to int64

    return [cast(out, x[0].dtype.name)]


def export_topk_indices(ex: Any, n: Any) -> None:
    """argsort / topk indices: ONNX TopK (ties: the lower index first, as a stable sort),
    keeping its Indices output."""
    x = n.inputs[0]
    axis = int(n.params["axis"]) % max(x.ndim, 1)
    src = x.name
    if x.ndim == 0:
        src = ex.emit("Reshape", [x.name, shape_const(ex, n, (1,))], ex.name(n.name + "__1d"))
    k = n.params.get("k")
    k = (x.shape[axis] if x.ndim else 1) if k is None else int(k)
    largest = bool(n.params.get("largest", n.params.get("descending", False)))
    kc = ex.const(n.name + "__k", np.array([k], np.int64))
    vals = ex.name(n.name + "__values")
    idx = n.name if x.ndim else ex.name(n.name + "__idx")
    ex.nodes.append(ex.onnx.helper.make_node("TopK", [src, kc], [vals, idx], name=idx,
                                             axis=axis, largest=int(largest), sorted=1))
    if x.ndim == 0:
        ex.emit("Reshape", [idx, shape_const(ex, n)], n.name)


def import_topk(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.reduce import topk

    if not a.get("sorted", 1):
        raise im.unsupported("sorted=0 (graphnn's topk returns sorted values)")
    k = int(np.asarray(im.static(n.input[1], "TopK's k")).reshape(-1)[0])
    r = topk(x[0], k, dim=int(a.get("axis", -1)), largest=bool(a.get("largest", 1)))
    return [r.values, r.indices]


