"""Helpers shared by the ops' own GPU kernels (the records' ``gpu``): a cache of CuPy
ElementwiseKernels and the 3-D window geometry that the convolution and pooling kernels
take. Like every helper they take ``xp`` (or nothing) and are copied into generated CuPy
modules, so they use nothing from graphnn.

>>> _geom3((5, 6), (2, 3), (3, 3), (2, 2), (0, 1), (1, 1))
(1, 5, 6, 1, 2, 3, 1, 3, 3, 1, 2, 2, 0, 0, 1, 1, 1, 1)
"""

from __future__ import annotations

from typing import Any


def _kernel(xp: Any, key: tuple[Any, ...], make: Any) -> Any:
    """``xp.ElementwiseKernel(ins, outs, body, name, preamble=...)`` from ``make()`` (a
    function returning those five strings; annotated ``Any``: generated modules import
    only that from typing), built on the first call with ``key`` and kept (building and
    hashing the source on every call would cost more than the kernel saves)."""
    cache = _kernel.__dict__.setdefault("kernels", {})
    k = cache.get((xp.__name__,) + key)
    if k is None:
        ins, outs, body, name, preamble = make()
        k = cache[(xp.__name__,) + key] = xp.ElementwiseKernel(ins, outs, body, name,
                                                               preamble=preamble)
    return k


def _geom_params() -> str:
    """The kernels' geometry parameters: sizes D H W, outputs OD OH OW, kernel KD KH KW,
    stride SD SH SW, padding PD PH PW, dilation LD LH LW (int32 each)."""
    return ", ".join(f"int32 {a}{b}" for a in ("", "O", "K", "S", "P", "L") for b in "DHW")


def _geom3(size: tuple[int, ...], out: tuple[int, ...], kernel: tuple[int, ...],
           stride: tuple[int, ...], padding: tuple[int, ...],
           dilation: tuple[int, ...]) -> tuple[int, ...]:
    """The 18 geometry ints of an N-d window (N <= 3) in ``_geom_params`` order, with
    leading axes of size 1 (padding 0)."""
    one, zero = (1,) * (3 - len(size)), (0,) * (3 - len(size))
    return (one + tuple(size) + one + tuple(out) + one + tuple(kernel) + one + tuple(stride)
            + zero + tuple(padding) + one + tuple(dilation))
