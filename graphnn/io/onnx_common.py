"""Shared helpers of the ONNX importer and exporter: the error type and the lazy import
(``same_dtype`` lives with the op records' converters in graphnn/ops/onnx_rules.py).

>>> from graphnn.io.onnx_common import OnnxError
>>> issubclass(OnnxError, Exception)
True
"""

from __future__ import annotations

from typing import Any

from graphnn.core.errors import OnnxError
from graphnn.ops.onnx_rules import same_dtype  # noqa: F401  (the records' converters use it too)


class Unsupported(OnnxError):
    """A node uses an attribute value or dtype this converter does not support."""


def require_onnx() -> Any:
    """Import ``onnx`` or raise an OnnxError saying how to install it."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the environment
        raise OnnxError("ONNX support needs the optional onnx package: "
                        "pip install 'graphnn[onnx]'") from None
    return onnx


# -- hostile-model guards (issue 14): every failure is an OnnxError --------------------
def np_dtype(onnx: Any, elem_type: Any, what: str) -> Any:
    """The NumPy dtype of an ONNX ``elem_type``; OnnxError for 0 (undefined) or unknown."""
    import numpy as np

    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        raise OnnxError(f"{what} has unknown ONNX element type {elem_type!r}") from None


def initializer_array(onnx: Any, init: Any) -> Any:
    """An initializer as an array, its declared size checked against the byte budget
    (GRAPHNN_MAX_BYTES) and its data against its dims BEFORE anything is allocated."""
    from graphnn.core.limits import array_bytes, check_bytes

    what = f"initializer {init.name!r}"
    dtype = np_dtype(onnx, init.data_type, what)
    dims = [int(d) for d in init.dims]
    if any(d < 0 for d in dims):
        raise OnnxError(f"{what} has negative dims {dims}")
    try:
        check_bytes(dims, dtype.itemsize, what)
    except ValueError as e:
        raise OnnxError(str(e)) from None
    if init.HasField("raw_data") and dtype.kind in "biufc" \
            and len(init.raw_data) != array_bytes(dims, dtype.itemsize):
        raise OnnxError(f"{what}: raw_data has {len(init.raw_data)} bytes; dims {dims} of "
                        f"{dtype} need {array_bytes(dims, dtype.itemsize)}")
    if init.data_location == onnx.TensorProto.EXTERNAL:
        raise OnnxError(f"{what} keeps its data in an external file (not supported)")
    try:
        return onnx.numpy_helper.to_array(init)
    except Exception as e:  # noqa: BLE001 - onnx raises many kinds for bad tensors
        raise OnnxError(f"{what}: cannot read its data ({type(e).__name__}: "
                        f"{str(e)[:160]})") from None


def read_model(onnx: Any, path: str) -> Any:
    """``onnx.load`` of a regular file within the byte budget; OnnxError otherwise."""
    import os
    import stat

    from graphnn.core.limits import human, max_bytes

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise OnnxError(f"{path}: not a regular file")
        if st.st_size > max_bytes():
            raise OnnxError(f"{path}: {human(st.st_size)} is over the size budget "
                            f"({human(max_bytes())}; set GRAPHNN_MAX_BYTES to change it)")
        return onnx.load(path)
    except OnnxError:
        raise
    except Exception as e:  # noqa: BLE001 - protobuf DecodeError, OSError, ValueError...
        raise OnnxError(f"{path}: not a readable ONNX model: {e}") from None
