"""Size budgets checked before work: a declared shape, an .npz member, an ONNX
initializer or a folded constant larger than :func:`max_bytes` is refused (or, for
folding, left to run time) before anything is allocated or decompressed.

The budget is ``GRAPHNN_MAX_BYTES`` (bytes; suffixes K, M, G allowed) or 4 GiB.

>>> array_bytes((1000, 1000), 8)
8000000
>>> try:
...     check_bytes((10**5, 10**5, 3), 8, "node 'b'")
... except ValueError as e:
...     print(str(e)[:55])
node 'b': shape (100000, 100000, 3) needs 240.0 GB (lim
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

DEFAULT_MAX_BYTES = 4 << 30
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def max_bytes() -> int:
    """The budget in bytes (``GRAPHNN_MAX_BYTES``; an unreadable value means the default)."""
    text = os.environ.get("GRAPHNN_MAX_BYTES", "").strip().upper().removesuffix("B")
    if not text:
        return DEFAULT_MAX_BYTES
    scale = _UNITS.get(text[-1], 1)
    digits = text[:-1] if text[-1] in _UNITS else text
    return int(digits) * scale if digits.isdigit() else DEFAULT_MAX_BYTES


def array_bytes(shape: Sequence[int], itemsize: int) -> int:
    """Exact bytes of an array (Python ints: no int64 overflow)."""
    return math.prod(int(s) for s in shape) * int(itemsize)


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} TB"  # pragma: no cover


def check_bytes(shape: Sequence[int], itemsize: int, where: str) -> None:
    """ValueError naming ``where``, the shape and the size when over the budget (callers
    turn it into their own FormatError / OnnxError / GraphError)."""
    need, limit = array_bytes(shape, itemsize), max_bytes()
    if need > limit:
        raise ValueError(f"{where}: shape {tuple(int(s) for s in shape)} needs {human(need)} "
                         f"(limit {human(limit)}; set GRAPHNN_MAX_BYTES to change it)")
