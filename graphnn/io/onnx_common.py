"""Shared helpers of the ONNX importer and exporter: the error type and the lazy import
(``same_dtype`` lives with the op records' converters in graphnn/ops/onnx_rules.py).

>>> from graphnn.io.onnx_common import OnnxError
>>> issubclass(OnnxError, Exception)
True
"""

from __future__ import annotations

from typing import Any

from graphnn.core.errors import GraphError
from graphnn.ops.onnx_rules import same_dtype  # noqa: F401  (the records' converters use it too)


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


