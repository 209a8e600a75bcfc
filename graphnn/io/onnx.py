"""Interchange with ONNX: ``gn.to_onnx(g, path)`` and ``gn.from_onnx(model)``.

The ``onnx`` package is an optional extra (``pip install graphnn[onnx]``); it is imported
only when these functions are called.
"""

from graphnn.io.onnx_common import OnnxError
from graphnn.io.onnx_export import to_onnx
from graphnn.io.onnx_import import from_onnx

__all__ = ["OnnxError", "from_onnx", "to_onnx"]
