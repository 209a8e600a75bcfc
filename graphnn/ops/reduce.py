"""Reductions: sum, mean and max over an axis (or all), with keepdims.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph():
...     x = gn.input("x", shape=(2, 3))
...     s = gn.sum(x, axis=1, keepdims=True)
>>> s.shape
(2, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, register, tt
from graphnn.ops import batching as BT
from graphnn.ops import onnx_rules as ox
from graphnn.ops import symrules as R
from graphnn.ops.elementwise import eq_mask
from graphnn.ops.linalg import broadcast_to, reshape


def _norm(axis: Any, a: Any = None) -> Any:
    """``axis`` as the record stores it: None, an int or a tuple of ints. On a 0-d ``a`` a
    valid axis (0 or -1, as PyTorch accepts) becomes None, the same reduction, so every
    backend runs it; an invalid one is kept for bind to report."""
    if axis is not None and _ndim(a) == 0:
        try:
            S.norm_axes(axis, 0)
            return None
        except (ValueError, TypeError):
            pass
    if axis is None or isinstance(axis, (int, np.integer)):
        return None if axis is None else int(axis)
    return tuple(int(a) for a in axis)


def _ndim(a: Any) -> int | None:
    """The number of dimensions of a node, array or number (None for anything else)."""
    shape = getattr(a, "shape", None)
    if shape is not None:
        return len(shape)
    return 0 if isinstance(a, (int, float, np.number)) else None


def _ax(a: Any, axis: Any) -> Any:
    """The axis NumPy needs: None on a 0-d array (PyTorch's axis 0 / -1 of a scalar)."""
    return None if np.ndim(a) == 0 else axis


def _rshape(a: S.Shape, axis: Any = None, keepdims: bool = False) -> S.Shape:
    """The input shape without `axis` (kept as 1 with keepdims; all axes when None)."""
    return S.reduce_shape(a, axis, keepdims)


def expand(g: Any, in_shape: S.Shape, axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduced gradient ``g`` back to ``in_shape``."""
    if not keepdims:
        g = reshape(g, S.reduce_shape(tuple(in_shape), axis, True))
    return broadcast_to(g, tuple(in_shape))


def _count(shape: S.Shape, axis: Any) -> int:
    axes = S.norm_axes(axis, len(shape))
    return int(np.prod([shape[i] for i in axes], dtype=np.int64))


def _max_vjp(g: Any, out: Any, a: Any, axis: Any = None, keepdims: bool = False) -> tuple[Any]:
    # ties share the gradient equally (as torch.amax does)
    full = expand(out, a.shape, axis, keepdims)
    mask = eq_mask(a, full)
    count = expand(sum(mask, axis=axis, keepdims=keepdims), a.shape, axis, keepdims)
    return (expand(g, a.shape, axis, keepdims) * mask / count,)


def _max_check(a: S.Shape, axis: Any = None, keepdims: bool = False) -> None:
    """Reject a max over an axis of length 0, in graphs and eagerly."""
    empty = [i for i in S.norm_axes(axis, len(a)) if a[i] == 0]
    if empty:
        raise ValueError(f"cannot take the max over axis {empty[0]} of length 0 (input shape "
                         f"{tuple(a)}): the max of an empty set is undefined")


def _max_forward(xp: Any, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    _max_check(np.shape(a), axis, keepdims)
    return xp.max(a, axis=_ax(a, axis), keepdims=keepdims)


def _red_cost(a: S.Shape, out: S.Shape, **_: Any) -> int:
    return int(np.prod(a, dtype=np.int64))


SUM = register(Op(
    name="sum", forward=lambda xp, a, axis=None, keepdims=False:
        xp.sum(a, axis=_ax(a, axis), keepdims=keepdims),
    shape=_rshape, fresh=True, latex=r"y = \sum_i x_i",
    vjp=lambda g, out, a, axis=None, keepdims=False: (expand(g, a.shape, axis, keepdims),),
    jvp=lambda t, out, a, axis=None, keepdims=False:
        None if t[0] is None else sum(t[0], axis=axis, keepdims=keepdims),
    batched=BT.AXIS, numpy="xp.sum({0}, axis={axis}, keepdims={keepdims})", label="Σ",
    trace=tt("dX = broadcast(dY)"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceSum"),
              imports={"ReduceSum": ox.import_reduce("sum", 13)}),
))
MEAN = register(Op(
    name="mean", forward=lambda xp, a, axis=None, keepdims=False:
        xp.mean(a, axis=_ax(a, axis), keepdims=keepdims),
    shape=_rshape, fresh=True, latex=r"y = \frac{1}{n} \sum_i x_i",
    vjp=lambda g, out, a, axis=None, keepdims=False:
        (expand(g, a.shape, axis, keepdims) * (1.0 / (_count(a.shape, axis) or 1)),),
    jvp=lambda t, out, a, axis=None, keepdims=False:
        None if t[0] is None else mean(t[0], axis=axis, keepdims=keepdims),
    batched=BT.AXIS, numpy="xp.mean({0}, axis={axis}, keepdims={keepdims})", label="mean",
    trace=tt("dX = broadcast(dY) / n"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceMean"),
              imports={"ReduceMean": ox.import_reduce("mean", 18)}),
))
MAX = register(Op(
    name="max", forward=_max_forward,
    shape=_rshape, fresh=True, vjp=_max_vjp, sympy=R.reduce_max,
    latex=r"y = \max_i x_i", check=_max_check,
    jvp=lambda t, out, a, axis=None, keepdims=False: None if t[0] is None else sum(
        t[0] * _tie_weights(a, out, axis, keepdims), axis=axis, keepdims=keepdims),
    batched=BT.AXIS, numpy="xp.max({0}, axis={axis}, keepdims={keepdims})", label="max",
    trace=tt("dX = dY where X is the max (shared among ties), else 0"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceMax"),
              imports={"ReduceMax": ox.import_reduce("max", 18)}),
))


def _tie_weights(a: Any, out: Any, axis: Any, keepdims: bool) -> Any:
    mask = eq_mask(a, expand(out, a.shape, axis, keepdims))
    return mask / expand(sum(mask, axis=axis, keepdims=keepdims), a.shape, axis, keepdims)


def sum(a: Any, axis: Any = None, keepdims: bool = False, *, name: str | None = None) -> Any:  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    return bind(SUM, a, axis=_norm(axis, a), keepdims=bool(keepdims), name=name)


def mean(a: Any, axis: Any = None, keepdims: bool = False, *, name: str | None = None) -> Any:
    """Mean over ``axis`` (all axes when None)."""
    return bind(MEAN, a, axis=_norm(axis, a), keepdims=bool(keepdims), name=name)


def max(a: Any, axis: Any = None, keepdims: bool = False, *, name: str | None = None) -> Any:  # noqa: A001
    """Maximum over ``axis``; the gradient is shared equally among tied maxima."""
    return bind(MAX, a, axis=_norm(axis, a), keepdims=bool(keepdims), name=name)
