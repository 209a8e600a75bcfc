"""ONNX Conv / MaxPool / AveragePool importers (2-D, NCHW) on graphnn's conv2d and pools.

Supported: 4-D inputs (3-D ones run as height-1 images), symmetric ``pads`` (or
``auto_pad`` VALID / SAME_* when the needed padding is symmetric), ``ceil_mode`` 0; Conv
also ``dilations`` and ``group``, AveragePool ``count_include_pad``. Anything else raises
an Unsupported error naming the attribute.

>>> sorted(POOL_CONVERTERS)
['AveragePool', 'Conv', 'MaxPool']
"""

from __future__ import annotations

from typing import Any

from graphnn import ops
from graphnn.core.errors import ParamError
from graphnn.io.onnx_common import Unsupported


def _need(name: str) -> Any:
    fn = getattr(ops, name, None)
    if fn is None:
        raise Unsupported(f"needs gn.{name}, which this graphnn build does not have")
    return fn


def window(x: Any, kernel: tuple[int, ...], a: dict[str, Any],
           dilated: bool = False) -> tuple[Any, Any]:
    """(stride, padding) pairs for a 2-D window op, or Unsupported naming the attribute."""
    if x.ndim != 4:
        raise Unsupported(f"only 2-D (NCHW) inputs are supported, got shape {x.shape}")
    strides = tuple(a.get("strides", (1, 1)))
    dil = tuple(a.get("dilations", (1, 1)))
    kernel = tuple((k - 1) * d + 1 for k, d in zip(kernel, dil))
    if not dilated and any(d != 1 for d in dil):
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


def _limits(pool: Any, *args: Any, **kw: Any) -> Any:
    """graphnn pools follow PyTorch's limits (pad <= kernel/2); ONNX allows more."""
    try:
        return pool(*args, **kw)
    except ParamError as e:
        raise Unsupported(str(e).splitlines()[0]) from None


def _conv(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    conv2d = _need("conv2d")
    kernel = tuple(a.get("kernel_shape", x[1].shape[2:]))
    stride, pad = window(x[0], kernel, a, dilated=True)
    b = x[2] if len(x) > 2 else None
    return [conv2d(x[0], x[1], b, stride=stride, padding=pad,
                   dilation=tuple(a.get("dilations", (1, 1))), groups=int(a.get("group", 1)))]


def _maxpool(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    pool = _need("max_pool2d")
    if len(n.output) > 1 and n.output[1]:
        raise Unsupported("the Indices output is not supported")
    kernel = tuple(a["kernel_shape"])
    stride, pad = window(x[0], kernel, a)
    return [_limits(pool, x[0], kernel, stride=stride, padding=pad)]


def _avgpool(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    pool = _need("avg_pool2d")
    kernel = tuple(a["kernel_shape"])
    stride, pad = window(x[0], kernel, a)
    return [_limits(pool, x[0], kernel, stride=stride, padding=pad,
                    count_include_pad=bool(a.get("count_include_pad", 0)))]


def _one_d(conv: Any) -> Any:
    """Run a 2-D converter on a 1-D (N, C, L) node as (N, C, 1, L) with a 1 x k window."""
    def fn(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        if x[0].ndim != 3:
            return conv(im, n, x, a)
        a = dict(a)
        for key, one in (("kernel_shape", 1), ("strides", 1), ("dilations", 1)):
            if key in a:
                a[key] = [one] + list(a[key])
        if "pads" in a:
            a["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
        x = [ops.reshape(x[0], x[0].shape[:2] + (1,) + x[0].shape[2:])] + [
            ops.reshape(v, v.shape[:2] + (1,) + v.shape[2:]) if k == 1 else v
            for k, v in enumerate(x[1:], 1)]
        y = conv(im, n, x, a)[0]
        return [ops.reshape(y, y.shape[:2] + y.shape[3:])]
    return fn


POOL_CONVERTERS = {"Conv": _one_d(_conv), "MaxPool": _one_d(_maxpool),
                   "AveragePool": _one_d(_avgpool)}
