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

import math
from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.ir import Node
from graphnn.core.op import Batched

Shape = tuple[int, ...]


class _Arrays:
    """The array operations these rules use, on NumPy arrays."""

    asarray = staticmethod(np.asarray)
    broadcast_to = staticmethod(np.broadcast_to)
    swapaxes = staticmethod(np.swapaxes)
    matmul = staticmethod(np.matmul)


class _Nodes:
    """The same operations on graph nodes (``gn.jacobian(compiled=True)`` runs the batched
    rules on nodes, so the whole batched sweep becomes a graph ``gn.compile`` emits)."""

    @staticmethod
    def asarray(x: Any) -> Any:
        return x

    @staticmethod
    def broadcast_to(x: Any, shape: Shape) -> Any:
        from graphnn.ops.linalg import broadcast_to

        return broadcast_to(x, tuple(shape))

    @staticmethod
    def swapaxes(x: Any, a: int, b: int) -> Any:
        from graphnn.ops.linalg import transpose

        axes = list(range(x.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return transpose(x, tuple(axes))

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return a @ b


class Basis:
    """A forward sweep's seed: basis vectors ``start`` to ``stop - 1`` of a value of
    ``shape`` (rows of the identity over its elements, batch axis first), kept symbolic
    so that a rule knowing it (``Batched.basis``) skips the product with the identity:
    the tangents of ``a @ x`` for every basis vector of ``x`` are the columns of ``a``,
    not an ``eye @ a.T`` GEMM (784 x 784 x 256 multiply-adds for the MLP's Jacobian).
    ``dense()`` is the seed as an array (or, ``nodes``, as graph nodes: the whole
    identity only) for every other rule.

    >>> Basis((3,), np.dtype("float64"), 1, 3).dense().tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """

    def __init__(self, shape: Shape, dtype: Any, start: int, stop: int,
                 nodes: bool = False) -> None:
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.start, self.stop, self.nodes = int(start), int(stop), nodes
        self.size = math.prod(self.shape)
        self._dense: Any = None  # made once, shared by every consumer (rules never write it)

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop == self.size

    def rows(self, m: Any) -> Any:
        """Rows ``start:stop`` of ``m`` (all of them as they are)."""
        return m if self.whole else m[self.start:self.stop]

    def dense(self) -> Any:
        if self._dense is not None:
            return self._dense
        b = self.stop - self.start
        if self.nodes:
            from graphnn.ops.creation import eye
            from graphnn.ops.linalg import reshape

            assert self.whole, "a graph seed is the whole identity"
            self._dense = reshape(eye(self.size, dtype=self.dtype.name), (b,) + self.shape)
        else:
            e = np.zeros((b, self.size), dtype=self.dtype)
            e[np.arange(b), self.start + np.arange(b)] = 1.0
            e.flags.writeable = False  # shared: a rule writing into it would raise
            self._dense = e.reshape((b,) + self.shape)
        return self._dense


def dense(t: Any) -> Any:
    """``t``, with a :class:`Basis` made an array (or nodes)."""
    return t.dense() if isinstance(t, Basis) else t


def _shape(x: Any) -> Shape:
    """The shape of an array, a number or a node (``np.shape`` refuses nodes)."""
    return tuple(x.shape) if isinstance(x, Node) else tuple(np.shape(x))


def xp_of(*xs: Any) -> Any:
    """:class:`_Nodes` when any of ``xs`` is a graph node, else :class:`_Arrays`."""
    for x in xs:
        if isinstance(x, Node):
            return _Nodes
    return _Arrays


def align(t: Any, ndim: int) -> Any:
    """``t`` (batch axis first) with unit axes after the batch axis up to rank 1 + ndim."""
    t = xp_of(t).asarray(t)
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
    return x if x.shape == full else xp_of(x).broadcast_to(x, full)


def _promote(a: Any, b: Any) -> tuple[Shape, Shape]:
    sa, sb = _shape(a), _shape(b)
    return ((1,) + sa if len(sa) == 1 else sa), (sb + (1,) if len(sb) == 1 else sb)


def _left(t: Any, b: Any) -> Any:
    """Batched ``t`` (B, ..., n, k) @ unbatched ``b`` (..., k, m)."""
    if b.ndim == 2:
        rows = math.prod(t.shape[:-1])  # -1 in a reshape is for arrays only
        return (t.reshape(rows, t.shape[-1]) @ b).reshape(t.shape[:-1] + (b.shape[-1],))
    return xp_of(t, b).matmul(align(t, b.ndim), b)


def _right(a: Any, t: Any) -> Any:
    """Unbatched ``a`` (..., n, k) @ batched ``t`` (B, ..., k, m)."""
    X = xp_of(a, t)
    if a.ndim == 2:
        tt = X.swapaxes(t, t.ndim - 1, t.ndim - 2)
        rows = math.prod(tt.shape[:-1])
        r = (tt.reshape(rows, tt.shape[-1]) @ a.T).reshape(tt.shape[:-1] + (a.shape[0],))
        return X.swapaxes(r, r.ndim - 1, r.ndim - 2)
    return X.matmul(a, align(t, a.ndim))


def matmul_jvp(t: list[Any], out: Any, a: Any, b: Any) -> Any:
    """Batched jvp of ``a @ b``: ``ta @ b + a @ tb`` with 1-D operands promoted."""
    X = xp_of(a, b, *t)
    a, b = X.asarray(a), X.asarray(b)
    sa, sb = _promote(a, b)
    oshape = S.broadcast(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    total = None
    if t[0] is not None:
        ta = X.asarray(t[0])
        total = _left(ta.reshape(ta.shape[:1] + sa), b.reshape(sb))
    if t[1] is not None:
        tb = X.asarray(t[1])
        term = _right(a.reshape(sa), tb.reshape(tb.shape[:1] + sb))
        total = term if total is None else total + term
    if total is None:
        return None
    full = fit(total, oshape)
    oshape = oshape[:-2] + (() if a.ndim == 1 else oshape[-2:-1]) + (
        () if b.ndim == 1 else oshape[-1:])
    return full.reshape(full.shape[:1] + oshape)


def _dtype(x: Any) -> Any:
    return x.dtype if isinstance(x, Node) else np.asarray(x).dtype


def matmul_basis(k: int, seed: Basis, out: Any, a: Any, b: Any) -> Any:
    """The tangents of ``a @ b`` for the basis vectors of one operand: of a matrix times
    the vector ``b``, the matrix's columns (its transpose's rows); of the vector ``a``
    times a matrix, the matrix's rows. None for other shapes or a dtype change (the
    seed is then made an array)."""
    X = xp_of(a, b)
    ranks = (len(_shape(a)), len(_shape(b)))
    m = a if (k, ranks) == (1, (2, 1)) else b if (k, ranks) == (0, (1, 2)) else None
    if m is None or _dtype(m) != _dtype(out):  # (the shapes fit: the node was built)
        return None
    m = X.asarray(m)
    return seed.rows(X.swapaxes(m, 0, 1) if k == 1 else m)


def matmul_vjp(g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """Batched vjp of ``a @ b``: ``g @ b^T`` and ``a^T @ g`` (lazy, summed to shape)."""
    X = xp_of(a, b, g)
    a, b, g = X.asarray(a), X.asarray(b), X.asarray(g)
    if a.ndim == 2 and b.ndim == 1 and g.ndim == 2:  # matrix @ vector (a layer on one
        # sample, the Jacobian's common case): one GEMM, no layout shuffles
        return (lambda: g.reshape(g.shape + (1,)) * b), (lambda: g @ a)
    sa, sb = _promote(a, b)
    oshape = S.broadcast(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    g2 = g.reshape(g.shape[:1] + oshape)

    def ga() -> Any:
        r = _left(g2, X.swapaxes(b.reshape(sb), len(sb) - 1, len(sb) - 2))
        return fit(r, sa).reshape(g.shape[:1] + a.shape)

    def gb() -> Any:
        r = _right(X.swapaxes(a.reshape(sa), len(sa) - 1, len(sa) - 2), g2)
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
MATMUL = Batched(jvp=matmul_jvp, vjp=matmul_vjp, basis=matmul_basis)
BROADCAST_TO = Batched(jvp=lambda t, out, a, shape: None if t[0] is None else fit(t[0], shape),
                       vjp=lambda g, out, a, shape: (fit(g, _shape(a)),))
SUM_TO = BROADCAST_TO   # both map a batch to the other shape with fit
