"""Linear algebra and shape ops: matmul (vector, matrix, batched), transpose, reshape,
flatten, broadcast_to and sum_to (the op autodiff uses to undo broadcasting).

>>> import numpy as np, graphnn as gn
>>> with gn.Graph():
...     W = gn.param("W", np.ones((4, 3)))
...     x = gn.input("x", shape=(3,))
...     y = W @ x
>>> y.shape
(4,)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, Unsupported, register, tt
from graphnn.ops import onnx_rules as ox
from graphnn.ops import rewrites as RW

# -- matmul ------------------------------------------------------------------------


def _matmul_shape(a: S.Shape, b: S.Shape) -> S.Shape:
    """NumPy matmul: (..., n, k) @ (..., k, m) -> (..., n, m), batch axes broadcast; 1-D
    operands are promoted and the added axis removed."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"matmul needs at least 1-D operands, got {a} and {b} (use * for scalars)")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(
            f"inner dimensions differ: {a} @ {b} contracts {a2[-1]} with {b2[-2]}"
        )
    batch = S.broadcast(a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _swap(x: Any) -> Any:
    nd = len(x.shape)
    return transpose(x, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul_vjp(g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    ka, kb = len(a.shape), len(b.shape)
    a2 = reshape(a, (1,) + tuple(a.shape)) if ka == 1 else a
    b2 = reshape(b, tuple(b.shape) + (1,)) if kb == 1 else b
    g2 = g
    if ka == 1:
        gs = tuple(g2.shape)
        g2 = reshape(g2, gs[:-1] + (1, gs[-1]) if kb > 1 else (1,) + gs)
    if kb == 1:
        g2 = reshape(g2, tuple(g2.shape) + (1,))

    def ga() -> Any:
        r = matmul(g2, _swap(b2))
        if ka == 1:
            r = reshape(sum_to(r, (1, a.shape[0])), tuple(a.shape))
        return r

    def gb() -> Any:
        r = matmul(_swap(a2), g2)
        if kb == 1:
            r = reshape(sum_to(r, (b.shape[0], 1)), tuple(b.shape))
        return r

    return ga, gb


def _matmul_cost(a: S.Shape, b: S.Shape, out: S.Shape) -> int:
    k = a[-1]
    return int(np.prod(out, dtype=np.int64)) * k


MATMUL = register(Op(
    name="matmul", forward=lambda xp, a, b: xp.matmul(a, b), shape=_matmul_shape, fresh=True,
    latex="Y = A B",
    vjp=_matmul_vjp,
    jvp=lambda t, out, a, b: _tsum(None if t[0] is None else matmul(t[0], b),
                                   None if t[1] is None else matmul(a, t[1])),
    numpy="({0} @ {1})", label="@", trace=tt("dA = dY @ B^T;  dB = A^T @ dY"),
    cost=_matmul_cost,
    onnx=Onnx(op_type="MatMul", imports={"MatMul": ox.import_matmul}),
))


def matmul(a: Any, b: Any, *, name: str | None = None) -> Any:
    """Matrix product with NumPy's rules: vectors, matrices, broadcast batches.

    >>> import numpy as np
    >>> matmul(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    return bind(MATMUL, a, b, name=name)


def _tsum(*terms: Any) -> Any:
    from graphnn.ops.elementwise import tsum

    return tsum(*terms)


# -- transpose ---------------------------------------------------------------------


def _axes(ndim: int, axes: Any) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(ndim))[::-1]
    axes = tuple(int(a) % ndim if ndim else int(a) for a in axes)
    if sorted(axes) != list(range(ndim)):
        raise ValueError(f"axes {axes} are not a permutation of {ndim} dimensions")
    return axes


def _transpose_shape(a: S.Shape, axes: Any = None) -> S.Shape:
    """The input's axes permuted by `axes` (reversed by default)."""
    return tuple(a[i] for i in _axes(len(a), axes))


def _transpose_vjp(g: Any, out: Any, a: Any, axes: Any = None) -> tuple[Any]:
    ax = _axes(len(a.shape), axes)
    return (transpose(g, axes=tuple(int(i) for i in np.argsort(ax))),)


TRANSPOSE = register(Op(
    name="transpose", moves_data=True, forward=lambda xp, a, axes=None: xp.transpose(a, axes),
    simplify=(RW.transpose_pair,),
    latex=r"Y = X^{\top}",
    shape=_transpose_shape,
    vjp=_transpose_vjp,
    jvp=lambda t, out, a, axes=None: None if t[0] is None else transpose(t[0], axes=axes),
    numpy="xp.transpose({0}, {axes})", label="T", trace=tt("dX = transpose(dY, inverse axes)"),
    onnx=Onnx(export=ox.export_transpose, imports={"Transpose": ox.import_transpose}),
))


def transpose(a: Any, axes: Any = None, *, name: str | None = None) -> Any:
    """Permute axes (reverse them when ``axes`` is None), like ``numpy.transpose``."""
    if axes is not None:
        axes = tuple(int(i) for i in axes)
    return bind(TRANSPOSE, a, axes=axes, name=name)


# -- reshape / flatten ------------------------------------------------------------


def _reshape_shape(a: S.Shape, shape: S.Shape) -> S.Shape:
    """`shape` (one -1 is inferred); the element count must match."""
    size = int(np.prod(a, dtype=np.int64))
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"only one -1 allowed in shape {shape}")
    if -1 in shape:
        rest = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
        if rest == 0 or size % rest:
            raise ValueError(f"cannot reshape {a} (size {size}) into {shape}")
        shape = tuple(size // rest if s == -1 else s for s in shape)
    if int(np.prod(shape, dtype=np.int64)) != size:
        raise ValueError(f"cannot reshape {a} (size {size}) into {shape}")
    return shape


RESHAPE = register(Op(
    name="reshape", moves_data=True, forward=lambda xp, a, shape: xp.reshape(a, shape),
    shape=_reshape_shape,
    simplify=(RW.same_shape, RW.reshape_chain),
    latex=r"Y = \operatorname{reshape}(X)",
    vjp=lambda g, out, a, shape: (reshape(g, tuple(a.shape)),),
    jvp=lambda t, out, a, shape: None if t[0] is None else reshape(t[0], tuple(out.shape)),
    numpy="xp.reshape({0}, {shape})", label="reshape", trace=tt("dX = reshape(dY, X.shape)"),
    onnx=Onnx(export=ox.export_reshape, imports={"Reshape": ox.import_reshape}),
))


def reshape(a: Any, shape: Any, *, name: str | None = None) -> Any:
    """Reshape (one ``-1`` allowed)."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return bind(RESHAPE, a, shape=tuple(int(s) for s in shape), name=name)


def _flat_shape(a: S.Shape, start_dim: int = 0, end_dim: int = -1) -> S.Shape:
    """Axes start_dim..end_dim merged into one."""
    nd = max(len(a), 1)
    s, e = start_dim % nd, end_dim % nd
    if s > e:
        raise ValueError(f"start_dim {start_dim} comes after end_dim {end_dim} for shape {a}")
    a = a or (1,)
    return a[:s] + (int(np.prod(a[s:e + 1], dtype=np.int64)),) + a[e + 1:]


FLATTEN = register(Op(
    name="flatten", moves_data=True, latex=r"Y = \operatorname{flatten}(X)",
    simplify=(RW.same_shape,),
    forward=lambda xp, a, start_dim=0, end_dim=-1:
        xp.reshape(a, _flat_shape(a.shape, start_dim, end_dim)),
    shape=_flat_shape,
    vjp=lambda g, out, a, start_dim=0, end_dim=-1: (reshape(g, tuple(a.shape)),),
    jvp=lambda t, out, a, **p: None if t[0] is None else reshape(t[0], tuple(out.shape)),
    numpy="xp.reshape({0}, {out_shape})", label="flatten",
    trace=tt("dX = reshape(dY, X.shape)"),
    onnx=Onnx(export=ox.export_reshape, imports={"Flatten": ox.import_flatten}),
))


def flatten(a: Any, start_dim: int = 0, end_dim: int = -1, *, name: str | None = None) -> Any:
    """Merge dims ``start_dim..end_dim`` into one (PyTorch's ``torch.flatten``)."""
    return bind(FLATTEN, a, start_dim=int(start_dim), end_dim=int(end_dim), name=name)


# -- broadcast_to / sum_to (a transpose pair) ------------------------------------


def _bcast_shape(a: S.Shape, shape: S.Shape) -> S.Shape:
    """`shape` (the input must broadcast to it)."""
    if S.broadcast(a, shape) != tuple(shape):
        raise ValueError(f"cannot broadcast {a} to {shape}")
    return tuple(shape)


def _sum_to(xp: Any, a: Any, shape: Any) -> Any:
    """Sum ``a`` down to ``shape`` (the inverse of broadcasting); shared by the
    interpreter and generated code, so plain Python and ``xp`` calls only."""
    shape = tuple(shape)
    if tuple(a.shape) == shape:
        return a
    lead = a.ndim - len(shape)
    keep = tuple(i + lead for i, t in enumerate(shape) if t == 1 and a.shape[i + lead] != 1)
    if keep:
        a = xp.sum(a, axis=keep, keepdims=True)
    if lead:
        a = xp.sum(a, axis=tuple(range(lead)))
    return a


def _sum_to_shape(a: S.Shape, shape: S.Shape) -> S.Shape:
    """`shape` (the input must broadcast from it): sums the broadcast axes."""
    _bcast_shape(tuple(shape), a)
    return tuple(shape)


BROADCAST_TO = register(Op(
    name="broadcast_to", moves_data=True, forward=lambda xp, a, shape: xp.broadcast_to(a, shape),
    simplify=(RW.same_shape,),
    latex=r"Y = \operatorname{broadcast}(X)",
    shape=_bcast_shape,
    vjp=lambda g, out, a, shape: (sum_to(g, tuple(a.shape)),),
    jvp=lambda t, out, a, shape: None if t[0] is None else broadcast_to(t[0], shape),
    numpy="xp.broadcast_to({0}, {shape})", label="bcast",
    trace=tt("dX = dY summed over the broadcast axes"),
    onnx=Onnx(export=ox.export_broadcast_to, imports={"Expand": ox.import_expand}),
))
SUM_TO = register(Op(
    name="sum_to", forward=_sum_to, shape=_sum_to_shape,
    simplify=(RW.same_shape,),
    latex=r"Y = \operatorname{sum\_to}(X)",
    vjp=lambda g, out, a, shape: (broadcast_to(g, tuple(a.shape)),),
    jvp=lambda t, out, a, shape: None if t[0] is None else sum_to(t[0], shape),
    numpy="_sum_to(xp, {0}, {shape})", label="Σ→", helpers=(_sum_to,),
    trace=tt("dX = broadcast_to(dY, X.shape)"),
    onnx=Onnx(export=ox.export_sum_to, imports=Unsupported(
        "no single ONNX op: it exports as ReduceSum + Reshape, which import as sum and "
        "reshape")),
))


def broadcast_to(a: Any, shape: Any, *, name: str | None = None) -> Any:
    """Broadcast ``a`` to ``shape`` (NumPy rules)."""
    return bind(BROADCAST_TO, a, shape=tuple(int(s) for s in shape), name=name)


def sum_to(a: Any, shape: Any, *, name: str | None = None) -> Any:
    """Sum ``a`` down to ``shape`` (the inverse of broadcasting; autodiff uses it)."""
    return bind(SUM_TO, a, shape=tuple(int(s) for s in shape), name=name)
