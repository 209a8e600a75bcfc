"""ONNX Conv / MaxPool / AveragePool importers (2-D, NCHW) on graphnn's conv2d and pools.

Supported: 4-D inputs, symmetric ``pads`` (or ``auto_pad`` VALID / SAME_* when the needed
padding is symmetric), ``dilations`` of 1, ``group`` 1, ``ceil_mode`` 0. Anything else
raises an Unsupported error naming the attribute.

>>> sorted(POOL_CONVERTERS)
['AveragePool', 'Conv', 'MaxPool']
"""

from __future__ import annotations

from typing import Any

from graphnn import ops
from graphnn.interchange.common import Unsupported


def _need(name: str) -> Any:
    fn = getattr(ops, name, None)
    if fn is None:
        raise Unsupported(f"needs gn.{name}, which this graphnn build does not have")
    return fn


def window(x: Any, kernel: tuple[int, ...], a: dict[str, Any]) -> tuple[Any, Any]:
    """(stride, padding) pairs for a 2-D window op, or Unsupported naming the attribute."""
    if x.ndim != 4:
        raise Unsupported(f"only 2-D (NCHW) inputs are supported, got shape {x.shape}")
    strides = tuple(a.get("strides", (1, 1)))
    if any(d != 1 for d in a.get("dilations", (1, 1))):
        raise Unsupported(f"dilations={a['dilations']} (only 1 is supported)")
    if a.get("ceil_mode", 0):
        raise Unsupported("ceil_mode=1 is not supported")
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s in zip(x.shape[2:], kernel, strides):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            if total % 2:
                raise Unsupported(f"auto_pad={auto} needs asymmetric padding here "
                                  "(graphnn pads both sides equally)")
            pads.append(total // 2)
        return strides, tuple(pads)
    if auto == "VALID":
        return strides, (0, 0)
    if auto != "NOTSET":
        raise Unsupported(f"auto_pad={auto!r}")
    p = tuple(a.get("pads", (0, 0, 0, 0)))
    if p[:2] != p[2:]:
        raise Unsupported(f"asymmetric pads={list(p)} (graphnn pads both sides equally)")
    return strides, p[:2]


def _conv(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    conv2d = _need("conv2d")
    if a.get("group", 1) != 1:
        raise Unsupported(f"group={a['group']} (grouped convolution) is not supported")
    kernel = tuple(a.get("kernel_shape", x[1].shape[2:]))
    stride, pad = window(x[0], kernel, a)
    b = x[2] if len(x) > 2 else None
    return [conv2d(x[0], x[1], b, stride=stride, padding=pad)]


def _maxpool(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    pool = _need("max_pool2d")
    if len(n.output) > 1 and n.output[1]:
        raise Unsupported("the Indices output is not supported")
    kernel = tuple(a["kernel_shape"])
    stride, pad = window(x[0], kernel, a)
    return [pool(x[0], kernel, stride=stride, padding=pad)]


def _avgpool(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    pool = _need("avg_pool2d")
    kernel = tuple(a["kernel_shape"])
    stride, pad = window(x[0], kernel, a)
    if any(pad) and not a.get("count_include_pad", 0):
        raise Unsupported("count_include_pad=0 with padding is not supported (graphnn's "
                          "avg_pool2d counts the zero padding, like PyTorch's default)")
    return [pool(x[0], kernel, stride=stride, padding=pad)]


POOL_CONVERTERS = {"Conv": _conv, "MaxPool": _maxpool, "AveragePool": _avgpool}
