"""Auxiliary ONNX importers: Identity, which is no graphnn op (Cast, Squeeze, Unsqueeze
and Expand are the cast / squeeze / unsqueeze / broadcast_to records'; on constant values
they fold in onnx_static.py).

>>> sorted(AUX_CONVERTERS)
['Identity']
"""

from __future__ import annotations

from typing import Any


def _identity(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    return [x[0]]


AUX_CONVERTERS = {
    "Identity": _identity,
}
