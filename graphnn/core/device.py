"""Where arrays live: the host (NumPy) or a CUDA GPU (CuPy), without importing CuPy unless
a device is asked for.

``array_module(*args)`` is CuPy's ``get_array_module``: the module whose arrays ``args``
hold (``bind`` and so every vjp/jvp rule computes with it); ``to_host`` copies a device
array back (and leaves host values alone); ``require_cupy`` gives the ``cupy`` module or
raises :class:`~graphnn.core.errors.DeviceError` saying, in one line, whether CuPy or a
GPU is what is missing.

>>> import numpy as np
>>> array_module(np.ones(2), 3.0) is np, to_host(np.float64(2.0))
(True, np.float64(2.0))
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

from graphnn.core.errors import DeviceError

DEVICES = ("cpu", "cuda")
INSTALL = "pip install cupy-cuda12x (or the wheel for your CUDA version)"


def _loaded_cupy() -> Any:
    """The ``cupy`` module if something already imported it, else None (no import here:
    an array can only be a CuPy array once CuPy is loaded)."""
    return sys.modules.get("cupy")


def is_device_array(v: Any) -> bool:
    """Whether ``v`` is a CuPy array."""
    cp = _loaded_cupy()
    nd = getattr(cp, "ndarray", None) if cp is not None else None
    return nd is not None and isinstance(v, nd)


def array_module(*args: Any) -> Any:
    """``cupy`` when any of ``args`` is a CuPy array, else ``numpy``."""
    cp = _loaded_cupy()
    if cp is None:
        return np
    nd = getattr(cp, "ndarray", None)
    if nd is not None:
        for a in args:
            if isinstance(a, nd):
                return cp
    return np


def to_host(v: Any) -> Any:
    """A NumPy copy of a CuPy array; any other value unchanged."""
    if is_device_array(v):
        return _loaded_cupy().asnumpy(v)
    return v


def check_device(device: str, caller: str) -> str:
    """``device`` if it is one of :data:`DEVICES` (a DeviceError otherwise)."""
    if device not in DEVICES:
        raise DeviceError(f"{caller}: unknown device {device!r}; devices: {list(DEVICES)}")
    return device


def cupy_problem() -> str | None:
    """Why CuPy cannot run here ("CuPy is not installed" / "no CUDA GPU"), or None."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed"
    except Exception as e:  # noqa: BLE001 - a broken install is "not usable"
        return f"CuPy failed to import ({type(e).__name__}: {str(e).splitlines()[0][:80]})"
    try:
        if cupy.cuda.is_available():
            return None
    except Exception:  # noqa: BLE001 - any driver failure means no usable GPU
        pass
    return "CuPy is installed but no CUDA GPU is available"


def require_cupy(what: str) -> Any:
    """The ``cupy`` module, or a one-line DeviceError naming what is missing for ``what``
    (e.g. ``"gn.run(device='cuda')"``)."""
    problem = cupy_problem()
    if problem is not None:
        hint = f" ({INSTALL})" if problem.startswith("CuPy is not installed") else ""
        raise DeviceError(f"{what} needs CuPy and a CUDA GPU: {problem}{hint}")
    import cupy

    sync_matmul_precision(cupy)
    return cupy


# -- float32 matmul precision (PyTorch's ``torch.set_float32_matmul_precision``) ---------

PRECISIONS = ("highest", "high", "medium")
"""PyTorch's choices: "highest" computes float32 GEMMs in float32; "high" and "medium"
allow TensorFloat-32 tensor cores (10-bit mantissa inputs, float32 accumulation) on GPUs
that have them (compute capability 8.0 and up). CuPy has no bfloat16 path for float32
GEMMs, so "medium" means what "high" does (as PyTorch's "medium" does without one)."""

_precision: dict[str, Any] = {"value": None, "gen": 0}  # None: never set (CuPy decides)
_applied: dict[tuple[int, int], int] = {}  # (thread, device) -> generation applied there
_CUBLAS_DEFAULT_MATH, _CUBLAS_TF32_TENSOR_OP_MATH = 0, 3  # cublasMath_t


def set_float32_matmul_precision(precision: str) -> None:
    """How float32 matrix products (matmul, linear layers, the GEMMs of convolutions) are
    computed on a GPU: ``"highest"`` (float32 throughout, PyTorch's default) or
    ``"high"`` / ``"medium"`` (TensorFloat-32 tensor cores allowed). NumPy on the CPU is
    not affected (nor is PyTorch's CPU matmul).

    It sets, for the current device and thread, CuPy's compute type for float32 and the
    cuBLAS handle's math mode (so batched GEMMs follow too); other threads and devices
    follow at their next graphnn GPU call. A step replayed as a CUDA graph is captured
    again after a change. Until this is called, graphnn leaves CuPy's own default alone
    (``CUPY_TF32=1`` in the environment turns TF32 on for CuPy's 2-D products).

    >>> import graphnn as gn
    >>> gn.set_float32_matmul_precision("high"); gn.get_float32_matmul_precision()
    'high'
    >>> gn.set_float32_matmul_precision("highest")
    """
    if precision not in PRECISIONS:
        raise ValueError(f"set_float32_matmul_precision: unknown precision {precision!r}; "
                         f"choices: {list(PRECISIONS)}")
    _precision["value"] = precision
    _precision["gen"] += 1
    cp = _loaded_cupy()
    if cp is not None and getattr(cp, "ndarray", None) is not None:
        sync_matmul_precision(cp)


def get_float32_matmul_precision() -> str:
    """The precision set by :func:`set_float32_matmul_precision`; before any call,
    ``"high"`` when the environment sets ``CUPY_TF32`` (CuPy then allows TF32) and
    ``"highest"`` otherwise."""
    value = _precision["value"]
    if value is not None:
        return value
    import os

    try:
        return "high" if int(os.environ.get("CUPY_TF32", "0")) > 0 else "highest"
    except ValueError:
        return "highest"


def precision_generation() -> int:
    """How many times the precision was set (a CUDA-graph step captured under another
    generation is captured again)."""
    return _precision["gen"]


def _submodule(cp: Any, package: str, name: str) -> Any:
    """``cp.<package>.<name>``, imported when the package does not load it itself."""
    mod = getattr(getattr(cp, package), name, None)
    if mod is None:
        import importlib

        mod = importlib.import_module(f"{cp.__name__}.{package}.{name}")
    return mod


def sync_matmul_precision(cp: Any) -> None:
    """Apply the precision set by :func:`set_float32_matmul_precision` to CuPy ``cp``
    for this thread and device, once per change (a dictionary lookup otherwise)."""
    gen = _precision["gen"]
    if gen == 0:
        return
    try:
        dev = int(cp.cuda.runtime.getDevice())
    except Exception:  # noqa: BLE001 - no usable device: nothing to apply yet
        return
    key = (threading.get_ident(), dev)
    if _applied.get(key) == gen:
        return
    tf32 = _precision["value"] != "highest"
    try:
        linalg = _submodule(cp, "_core", "_routines_linalg")
        linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if tf32
                                else linalg.COMPUTE_TYPE_DEFAULT)
        _submodule(cp, "cuda", "cublas").setMathMode(
            cp.cuda.device.get_cublas_handle(),
            _CUBLAS_TF32_TENSOR_OP_MATH if tf32 else _CUBLAS_DEFAULT_MATH)
    except (AttributeError, ImportError) as e:
        raise DeviceError(
            f"set_float32_matmul_precision: this CuPy ({getattr(cp, '__version__', '?')}) "
            f"has no compute-type or math-mode switch ({e}); set CUPY_TF32=1 in the "
            "environment before Python starts instead") from None
    _applied[key] = gen


__all__ = ["DEVICES", "PRECISIONS", "array_module", "check_device", "cupy_problem",
           "get_float32_matmul_precision", "is_device_array", "precision_generation",
           "require_cupy", "set_float32_matmul_precision", "sync_matmul_precision",
           "to_host"]
