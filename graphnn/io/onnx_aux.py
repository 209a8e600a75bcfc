"""Auxiliary ONNX importers: Cast, Identity, Where and Unsqueeze / Squeeze of run-time
tensors (the same ops on constant values fold in onnx_static.py). None of them is one
graphnn op (Expand is broadcast_to's, in its record).

>>> sorted(AUX_CONVERTERS)
['Cast', 'Identity', 'Squeeze', 'Unsqueeze', 'Where']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn import ops
from graphnn.io.onnx_common import Unsupported, same_dtype
from graphnn.io.onnx_static import FOLDERS


def _cast(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    to = np.dtype(im.onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
    if to != x[0].dtype:
        raise Unsupported(f"Cast from {x[0].dtype} to {to} (only comparison masks cast to "
                          "their own float dtype are supported)")
    return [x[0]]


def _where(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    c, t, f = x
    if c.dtype.kind != "f":
        raise Unsupported(f"condition of dtype {c.dtype} (graphnn conditions are 0/1 float "
                          "masks from Greater / GreaterOrEqual / Equal)")
    t, f = same_dtype([t, f])
    return [c * t + (1.0 - c) * f]  # exact for 0/1 masks and finite branches


def _reshaping(fold: Any) -> Any:
    """Unsqueeze / Squeeze of a run-time tensor: a reshape to the folded shape."""
    def conv(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        vals = [np.broadcast_to(0.0, x[0].shape)] + [
            im.static(i, "the axes input") if i else None for i in n.input[1:]]
        return [ops.reshape(x[0], np.shape(fold(im, n, vals, a)))]
    return conv


def _identity(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    return [x[0]]


AUX_CONVERTERS = {
    "Cast": _cast, "Identity": _identity,
    "Where": _where, "Unsqueeze": _reshaping(FOLDERS["Unsqueeze"]),
    "Squeeze": _reshaping(FOLDERS["Squeeze"]),
}
