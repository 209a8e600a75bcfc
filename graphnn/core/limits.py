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
    """The budget in bytes (``GRAPHNN_MAX_BYTES``; an unreadable value means the default).
    Read at every call (a change takes effect at once), parsed once per distinct value."""
    raw = os.environ.get("GRAPHNN_MAX_BYTES", "")
    if raw == _PARSED[0]:
        return _PARSED[1]
    text = raw.strip().upper().removesuffix("B")
    if not text:
        value = DEFAULT_MAX_BYTES
    else:
        scale = _UNITS.get(text[-1], 1)
        digits = text[:-1] if text[-1] in _UNITS else text
        value = (int(digits) * scale if digits.isdigit() and len(digits) <= 30
                 else DEFAULT_MAX_BYTES)
    _PARSED[:] = [raw, value]
    return value


_PARSED: list = ["", DEFAULT_MAX_BYTES]  # the last (raw text, bytes) max_bytes parsed


def array_bytes(shape: Sequence[int], itemsize: int) -> int:
    """Exact bytes of an array (Python ints: no int64 overflow)."""
    return math.prod(int(s) for s in shape) * int(itemsize)


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} TB"  # pragma: no cover


def check_bytes(shape: Sequence[int], itemsize: int, where: str,
                limit: int | None = None) -> None:
    """ValueError naming ``where``, the shape and the size when over the budget (callers
    turn it into their own FormatError / OnnxError / GraphError). ``limit``: the budget
    when the caller read it already (a loader reads it once per file)."""
    need = array_bytes(shape, itemsize)
    if limit is None:
        limit = max_bytes()
    if need > limit:
        raise ValueError(f"{where}: shape {tuple(int(s) for s in shape)} needs {human(need)} "
                         f"(limit {human(limit)}; set GRAPHNN_MAX_BYTES to change it)")
