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

    return cupy


__all__ = ["DEVICES", "array_module", "check_device", "cupy_problem", "is_device_array",
           "require_cupy", "to_host"]
