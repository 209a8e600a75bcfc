"""Numbers for the teaching views (trace text, tables, quiz): scalars with 4 significant
digits, vectors and small matrices in full, larger tensors as shape + a few numbers.

How large a tensor may be and still print in full is configurable:
:func:`set_full_size` (default 4: vectors of up to 4 numbers, matrices up to 4x4).

>>> fmt_value(-2.0), fmt_value([1.0, 2.5]), fmt_value([[1.0, 2.0], [3.0, 4.0]])
('-2', '[1, 2.5]', '[[1, 2], [3, 4]]')
>>> fmt_value(list(range(10)))
'(10,) [0, 1, 2, …, 9]'
>>> with full_size(10):
...     fmt_value(list(range(10)))
'[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from graphnn.core.errors import fmt_shape

_FULL = [4]  # the largest side (vector length, matrix rows and columns) printed in full


def set_full_size(n: int) -> int:
    """Print vectors up to ``n`` numbers and matrices up to ``n`` x ``n`` in full;
    returns the previous setting.

    >>> old = set_full_size(2); fmt_value([[1, 2, 3, 4, 5]]); _ = set_full_size(old)
    '(1, 5) [1, 2, 3, …, 5]'
    """
    if int(n) < 1:
        raise ValueError(f"full size must be at least 1, got {n}")
    old, _FULL[0] = _FULL[0], int(n)
    return old


@contextmanager
def full_size(n: int) -> Iterator[None]:
    """``set_full_size(n)`` for a ``with`` block."""
    old = set_full_size(n)
    try:
        yield
    finally:
        set_full_size(old)


def fmt_num(x: Any) -> str:
    """A scalar with 4 significant digits (``-0`` prints as ``0``).

    >>> fmt_num(0.123456), fmt_num(-0.0)
    ('0.1235', '0')
    """
    if isinstance(x, (float, int)):  # Python and NumPy floats (the common case: fast)
        f = float(x)
    elif isinstance(x, np.ndarray) and x.dtype.kind in "biuf" and x.size:
        f = float(x.reshape(-1)[0])
    else:
        f = float(np.asarray(x).reshape(-1)[0])
    s = f"{f:.4g}"
    return "0" if s == "-0" else s


def _nested(a: np.ndarray) -> str:
    if a.ndim == 1:
        return "[" + ", ".join(fmt_num(x) for x in a) + "]"
    return "[" + ", ".join(_nested(r) for r in a) + "]"


def fmt_value(v: Any, items: int = 4) -> str:
    """A value: scalars as numbers, vectors and matrices up to the full size (see
    :func:`set_full_size`) in full, larger tensors as shape + the first ``items - 1``
    numbers and the last."""
    if v is None:
        return "—"
    if isinstance(v, (float, int)):
        return fmt_num(v)
    a = np.asarray(v)
    if a.ndim == 0:
        return fmt_num(a)
    if a.ndim <= 2 and max(a.shape) <= _FULL[0] or a.size <= 1:
        return _nested(a)
    flat = a.reshape(-1)
    if flat.size <= items:
        return f"{fmt_shape(a.shape)} [" + ", ".join(fmt_num(x) for x in flat) + "]"
    head = ", ".join(fmt_num(x) for x in flat[: items - 1])
    return f"{fmt_shape(a.shape)} [{head}, …, {fmt_num(flat[-1])}]"


def paren(s: str) -> str:
    """Wrap negative numbers in parentheses for substituted formulas.

    >>> paren("-2"), paren("4")
    ('(-2)', '4')
    """
    return f"({s})" if s.startswith("-") else s


def is_scalar(v: Any) -> bool:
    """True for a value with exactly one number."""
    if isinstance(v, np.ndarray):
        return v.size == 1
    return v is not None and (isinstance(v, (float, int)) or np.size(v) == 1)
