"""Helpers for the ``sympy=`` rules of non-elementwise ops: they run on NumPy object
arrays of sympy expressions (``gn.to_sympy``) and give the textbook forms (the clamping
and max-shifting of the numeric kernels are left out).

>>> import numpy as np, sympy as sp
>>> a = np.array([sp.Symbol("a"), sp.Symbol("b")], dtype=object)
>>> reduce_max(sp, a)
Max(a, b)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def obj(shape: tuple[int, ...], f: Callable[[tuple[int, ...]], Any]) -> np.ndarray:
    """An object array of ``shape`` filled with ``f(index)``."""
    a = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        a[idx] = f(idx)
    return a


def reduce_max(sp: Any, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
    f = np.frompyfunc(sp.Max, 2, 1)
    if axis is None:
        r = f.reduce(a.reshape(-1), axis=0)
        return np.reshape(np.array(r, dtype=object), (1,) * a.ndim) if keepdims else r
    return f.reduce(a, axis=axis, keepdims=keepdims)


def softmax(sp: Any, a: np.ndarray, axis: int = -1, log: bool = False) -> Any:
    e = np.frompyfunc(sp.exp, 1, 1)(a)
    s = e.sum(axis=axis, keepdims=True)
    if log:
        return a - np.frompyfunc(sp.log, 1, 1)(s)
    return e / s


def loss_reduce(v: Any, reduction: str) -> Any:
    if not isinstance(v, np.ndarray):
        v = obj((), lambda i: v)
    if reduction == "none":
        return v
    total = v.sum() if v.ndim else v[()]
    return total / v.size if reduction == "mean" and v.size != 1 else total


def pairwise(sp: Any, f: Callable[..., Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``f(sp, u, v)`` elementwise over two object arrays."""
    return np.frompyfunc(lambda u, v: f(sp, u, v), 2, 1)(a, b)


def cross_entropy(sp: Any, z: np.ndarray, t: np.ndarray, reduction: str = "mean") -> Any:
    lsm = softmax(sp, z, -1, log=True)
    if t.ndim == z.ndim:
        return loss_reduce(-(t * lsm).sum(axis=-1), reduction)
    per = np.empty(t.shape, dtype=object)
    for idx in np.ndindex(*t.shape):
        if not getattr(t[idx], "is_Integer", False):
            raise ValueError("class-index targets must be constants to index symbolically")
        per[idx] = -lsm[idx + (int(t[idx]),)]
    return loss_reduce(per, reduction)
