"""Auxiliary ONNX importers: Cast, Identity and Unsqueeze / Squeeze of run-time
tensors (the same ops on constant values fold in onnx_static.py). None of them is one
graphnn op (Expand is broadcast_to's, in its record).

>>> sorted(AUX_CONVERTERS)
['Cast', 'Identity', 'Squeeze', 'Unsqueeze']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn import ops
from graphnn.io.onnx_common import Unsupported
from graphnn.io.onnx_static import FOLDERS


def _cast(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    to = np.dtype(im.onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
    if x[0].dtype == bool and to.kind == "f":  # a comparison cast to a 0/1 mask
        one, zero = (im.g.constant(np.array(v, dtype=to)) for v in (1.0, 0.0))
        return [ops.where(x[0], one, zero)]
    if to != x[0].dtype:
        raise Unsupported(f"Cast from {x[0].dtype} to {to} (only comparison masks cast to "
                          "their own float dtype are supported)")
    return [x[0]]


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
    "Unsqueeze": _reshaping(FOLDERS["Unsqueeze"]),
    "Squeeze": _reshaping(FOLDERS["Squeeze"]),
}
