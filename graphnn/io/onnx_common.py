"""Shared helpers of the ONNX importer and exporter: the error type and the lazy import.

>>> from graphnn.io.onnx_common import OnnxError
>>> issubclass(OnnxError, Exception)
True
"""

from __future__ import annotations

from typing import Any

from graphnn.core.errors import GraphError


class OnnxError(GraphError, ValueError):
    """An ONNX model cannot be imported or a graph cannot be exported: unsupported ops
    (all listed, with their node names), unsupported attributes, missing shapes."""


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


def same_dtype(x: list[Any]) -> list[Any]:
    """Cast constant operands to the dtype of the node operand (ONNX types match)."""
    ref = next((v for v in x if v is not None and v.dtype.kind == "f" and v.role != "const"),
               None)
    if ref is None:
        return x
    out = []
    for v in x:
        if v is not None and v.dtype != ref.dtype and v.role == "const":
            v = ref.graph.constant(v.params["value"].astype(ref.dtype))
        out.append(v)
    return out
