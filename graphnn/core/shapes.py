"""Shape rules shared by many ops: broadcasting, axes, reductions.

>>> broadcast((4, 1), (3,))
(4, 3)
>>> reduce_shape((2, 3, 4), axis=(0, 2), keepdims=True)
(1, 3, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

Shape = tuple[int, ...]


def broadcast(*shapes: Shape) -> Shape:
    """NumPy broadcasting of ``shapes``; ValueError naming the shapes when they clash."""
    first = shapes[0]
    if len(shapes) == 2:  # fast paths, the common cases while building
        second = shapes[1]
        if not second or second == first:
            return first if type(first) is tuple else tuple(first)
        if not first:
            return second if type(second) is tuple else tuple(second)
    for s in shapes:  # all the same
        if s != first:
            break
    else:
        return first if type(first) is tuple else tuple(first)
    out = list(first)  # NumPy's rule in plain Python (np.broadcast_shapes costs ~5 us)
    for s in shapes[1:]:
        if len(s) > len(out):
            out = [1] * (len(s) - len(out)) + out
        off = len(out) - len(s)
        for k, d in enumerate(s):
            e = out[off + k]
            if d != e and d != 1:
                if e != 1:
                    raise ValueError("shapes " + ", ".join(str(tuple(t)) for t in shapes)
                                     + " cannot be broadcast together")
                out[off + k] = d
    return tuple(int(d) for d in out)


def elementwise(*shapes: Shape, **_: Any) -> Shape:
    """Shape rule of every broadcasting elementwise op."""
    return broadcast(*shapes)


def same(shape: Shape, *_: Any, **__: Any) -> Shape:
    """Shape rule of unary ops: the input's shape."""
    return tuple(shape)


def norm_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Normalise ``axis`` (None, int or tuple, negatives allowed) to sorted positive axes.
    As in PyTorch a 0-d array accepts axis 0 and -1, which name no axis at all.

    >>> norm_axes(-1, 3), norm_axes((0, -1), 0 + 2), norm_axes(-1, 0)
    ((2,), (0, 1), ())
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimension(s)")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else ()


def reduce_shape(shape: Shape, axis: Any = None, keepdims: bool = False) -> Shape:
    """Shape after reducing ``axis`` (all axes when None)."""
    axes = norm_axes(axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def sum_to_axes(shape: Shape, target: Shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axes to sum so that an array of ``shape`` (broadcast from ``target``) becomes ``target``.

    Returns (axes to sum with keepdims, leading axes to drop).
    """
    lead = len(shape) - len(target)
    if lead < 0:
        raise ValueError(f"cannot sum shape {shape} to the larger shape {target}")
    keep = tuple(i + lead for i, t in enumerate(target) if t == 1 and shape[i + lead] != 1)
    return keep, tuple(range(lead))
