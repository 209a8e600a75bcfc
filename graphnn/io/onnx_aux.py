"""Auxiliary ONNX importers: Cast and Identity. Neither is one graphnn op (Squeeze,
Unsqueeze and Expand are the squeeze / unsqueeze / broadcast_to records'; on constant
values they fold in onnx_static.py).

>>> sorted(AUX_CONVERTERS)
['Cast', 'Identity']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn import ops
from graphnn.io.onnx_common import Unsupported


def _cast(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    to = np.dtype(im.onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
    if x[0].dtype == bool and to.kind == "f":  # a comparison cast to a 0/1 mask
        one, zero = (im.g.constant(np.array(v, dtype=to)) for v in (1.0, 0.0))
        return [ops.where(x[0], one, zero)]
    if to != x[0].dtype:
        raise Unsupported(f"Cast from {x[0].dtype} to {to} (only comparison masks cast to "
                          "their own float dtype are supported)")
    return [x[0]]


def _identity(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    return [x[0]]


AUX_CONVERTERS = {
    "Cast": _cast, "Identity": _identity,
}
