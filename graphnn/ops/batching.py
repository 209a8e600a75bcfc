"""Batched derivative rules: tangents and cotangents with a leading batch axis (one
sweep of a batched Jacobian carries many basis vectors). Arrays only (NumPy); the op
records name these in their ``batched=`` field (:class:`graphnn.core.op.Batched`).

``fit`` brings a batched value to ``(B,) + shape`` (summing broadcast axes, or
broadcasting), ``align`` inserts unit axes after the batch axis so a batched tangent
broadcasts against unbatched primals, and the matmul rules fold the batch into one GEMM
whenever the other operand is a plain matrix.

>>> import numpy as np
>>> fit(np.ones((4, 2, 3)), (3,)).shape, fit(np.ones((4, 3)), (2, 3)).shape
((4, 3), (4, 2, 3))
>>> float(fit(np.ones((4, 2, 3)), (1, 3))[0, 0, 0])
2.0
>>> a, tb = np.arange(6.0).reshape(2, 3), np.eye(3)          # d(a @ x) / dx, 3 columns
>>> np.array_equal(matmul_jvp([None, tb], None, a, np.zeros(3)), a.T)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.op import Batched

Shape = tuple[int, ...]


def align(t: Any, ndim: int) -> Any:
    """``t`` (batch axis first) with unit axes after the batch axis up to rank 1 + ndim."""
    t = np.asarray(t)
    k = ndim - (t.ndim - 1)
    return t.reshape(t.shape[:1] + (1,) * k + t.shape[1:]) if k > 0 else t


def fit(x: Any, shape: Shape) -> Any:
    """The batched ``x`` as exactly ``(B,) + shape``: broadcast axes summed, missing
    ones broadcast (the batched form of ``sum_to`` / ``broadcast_to``)."""
    x = align(x, len(shape))
    B, lead = x.shape[0], x.ndim - 1 - len(shape)
    if lead:
        x = x.sum(axis=tuple(range(1, lead + 1)))
    keep = tuple(i + 1 for i, t in enumerate(shape) if t == 1 and x.shape[i + 1] != 1)
    if keep:
        x = x.sum(axis=keep, keepdims=True)
    full = (B,) + tuple(shape)
    return x if x.shape == full else np.broadcast_to(x, full)


def _promote(a: Any, b: Any) -> tuple[Shape, Shape]:
    sa, sb = tuple(np.shape(a)), tuple(np.shape(b))
    return ((1,) + sa if len(sa) == 1 else sa), (sb + (1,) if len(sb) == 1 else sb)


def _left(t: Any, b: Any) -> Any:
    """Batched ``t`` (B, ..., n, k) @ unbatched ``b`` (..., k, m)."""
    if b.ndim == 2:
        return (t.reshape(-1, t.shape[-1]) @ b).reshape(t.shape[:-1] + (b.shape[-1],))
    return np.matmul(align(t, b.ndim), b)


def _right(a: Any, t: Any) -> Any:
    """Unbatched ``a`` (..., n, k) @ batched ``t`` (B, ..., k, m)."""
    if a.ndim == 2:
        tt = np.swapaxes(t, -1, -2)
        r = (tt.reshape(-1, tt.shape[-1]) @ a.T).reshape(tt.shape[:-1] + (a.shape[0],))
        return np.swapaxes(r, -1, -2)
    return np.matmul(a, align(t, a.ndim))


def matmul_jvp(t: list[Any], out: Any, a: Any, b: Any) -> Any:
    """Batched jvp of ``a @ b``: ``ta @ b + a @ tb`` with 1-D operands promoted."""
    a, b = np.asarray(a), np.asarray(b)
    sa, sb = _promote(a, b)
    oshape = S.broadcast(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    total = None
    if t[0] is not None:
        ta = np.asarray(t[0])
        total = _left(ta.reshape(ta.shape[:1] + sa), b.reshape(sb))
    if t[1] is not None:
        tb = np.asarray(t[1])
        term = _right(a.reshape(sa), tb.reshape(tb.shape[:1] + sb))
        total = term if total is None else total + term
    if total is None:
        return None
    full = fit(total, oshape)
    oshape = oshape[:-2] + (() if a.ndim == 1 else oshape[-2:-1]) + (
        () if b.ndim == 1 else oshape[-1:])
    return full.reshape(full.shape[:1] + oshape)


def matmul_vjp(g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """Batched vjp of ``a @ b``: ``g @ b^T`` and ``a^T @ g`` (lazy, summed to shape)."""
    a, b, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if a.ndim == 2 and b.ndim == 1 and g.ndim == 2:  # matrix @ vector (a layer on one
        # sample, the Jacobian's common case): one GEMM, no layout shuffles
        return (lambda: g[:, :, None] * b), (lambda: g @ a)
    sa, sb = _promote(a, b)
    oshape = S.broadcast(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    g2 = g.reshape(g.shape[:1] + oshape)

    def ga() -> Any:
        r = _left(g2, np.swapaxes(b.reshape(sb), -1, -2))
        return fit(r, sa).reshape(g.shape[:1] + a.shape)

    def gb() -> Any:
        r = _right(np.swapaxes(a.reshape(sa), -1, -2), g2)
        return fit(r, sb).reshape(g.shape[:1] + b.shape)

    return ga, gb


def shifted(*names: str, all_if_none: bool = True) -> Any:
    """An ``attrs`` mapper shifting the axis attributes ``names`` past the batch axis
    (negative axes already count from the end; None means every axis when
    ``all_if_none``)."""

    def attrs(ndim: int, **kw: Any) -> dict[str, Any]:
        out = dict(kw)
        for n in names:
            ax = kw.get(n)
            if ax is None:
                out[n] = tuple(range(1, ndim + 1)) if all_if_none else None
            elif isinstance(ax, (tuple, list)):
                out[n] = tuple(int(a) % max(ndim, 1) + 1 for a in ax)
            else:
                out[n] = int(ax) + 1 if int(ax) >= 0 else int(ax)
        return out
    return attrs


def _transpose_attrs(ndim: int, axes: Any = None) -> dict[str, Any]:
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(int(a) % ndim for a in axes)
    return {"axes": (0,) + tuple(a + 1 for a in axes)}


SAME = Batched(attrs=lambda ndim, **kw: dict(kw))   # rules read shapes off the primals
AXIS = Batched(attrs=shifted("axis"))
TRANSPOSE = Batched(attrs=_transpose_attrs)
MATMUL = Batched(jvp=matmul_jvp, vjp=matmul_vjp)
BROADCAST_TO = Batched(jvp=lambda t, out, a, shape: None if t[0] is None else fit(t[0], shape),
                       vjp=lambda g, out, a, shape: (fit(g, np.shape(a)),))
SUM_TO = BROADCAST_TO   # both map a batch to the other shape with fit
