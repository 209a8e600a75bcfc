"""ONNX rules of conv2d, conv2d_grad_input and the 2-D pools, which their records name in
``onnx=Onnx(...)`` (graphnn/ops/conv.py, pool.py).

Import supports 4-D (NCHW) inputs (3-D ones run as height-1 images), symmetric ``pads``
(or ``auto_pad`` VALID / SAME_* when the needed padding is symmetric) and ``ceil_mode``
0; Conv also ``dilations`` and ``group``, AveragePool ``count_include_pad``. Anything else
raises the importer's ``unsupported`` error naming the attribute. conv2d_grad_input is
ConvTranspose both ways (``output_padding`` < stride recovers the conv's input size).

>>> import graphnn as gn
>>> sorted(gn.REGISTRY["conv2d"].onnx.imports)
['Conv']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphnn.core.errors import ParamError
from graphnn.core.op import Unsupported

Converter = Callable[[Any, Any, list[Any], dict[str, Any]], list[Any]]

# The reasons the records of the gradient ops give where no ONNX rule exists.
NO_CONV_GRAD_WEIGHT = Unsupported(
    "no ONNX op computes a conv's weight gradient (it would be a Conv over batch/channel-"
    "transposed tensors, not implemented)")
NO_POOL_GRAD = Unsupported(
    "a pool's backward op has no ONNX operator (ONNX has only forward pools; a "
    "ScatterElements / ConvTranspose spelling is not implemented)")
NO_POOL_SELECT = Unsupported(
    "no ONNX operator picks one tensor's values at another's window argmax (MaxPool's "
    "Indices + GatherElements spelling is not implemented)")


def _pair(v: Any) -> list[int]:
    return [int(v), int(v)] if np.isscalar(v) else [int(i) for i in v]


# -- export -------------------------------------------------------------------------------

def _window_attrs(n: Any, kernel: Any, stride: Any) -> dict[str, Any]:
    pad = _pair(n.params.get("padding", 0) or 0)
    return {"kernel_shape": _pair(kernel), "strides": _pair(kernel if stride is None else stride),
            "pads": pad + pad}


def export_conv(ex: Any, n: Any) -> None:
    p = n.params
    ex.direct("Conv", n, **_window_attrs(n, n.inputs[1].shape[2:], p.get("stride", 1)),
              dilations=_pair(p.get("dilation", 1)), group=int(p.get("groups", 1)))


def export_conv_grad_input(ex: Any, n: Any) -> None:
    """The input gradient of a conv is the transposed convolution of the output gradient
    with the same weights; ``output_padding`` adds the rows the conv's floor dropped."""
    g, w = n.inputs
    p = n.params
    stride, pad, dil = _pair(p["stride"]), _pair(p["padding"]), _pair(p["dilation"])
    extra = [size - (s * (o - 1) + d * (k - 1) + 1 - 2 * q) for size, o, k, s, q, d in
             zip(n.shape[2:], g.shape[2:], w.shape[2:], stride, pad, dil)]
    ex.direct("ConvTranspose", n, kernel_shape=_pair(w.shape[2:]), strides=stride,
              pads=pad + pad, dilations=dil, group=int(p["groups"]), output_padding=extra)


def export_pool(op_type: str) -> Callable[[Any, Any], None]:
    def export(ex: Any, n: Any) -> None:
        p = n.params
        extra = {} if op_type == "MaxPool" else {
            "count_include_pad": int(bool(p.get("count_include_pad", True)))}
        ex.emit(op_type, [n.inputs[0].name], n.name,
                **_window_attrs(n, p["kernel_size"], p.get("stride")), **extra)
    return export


# -- import -------------------------------------------------------------------------------

def _auto_pads(im: Any, x: Any, kernel: Any, strides: Any, auto: str) -> tuple[int, ...]:
    pads = []
    for size, k, s in zip(x.shape[2:], kernel, strides):
        total = max((-(-size // s) - 1) * s + k - size, 0)
        if total % 2:
            raise im.unsupported(f"auto_pad={auto} needs asymmetric padding here "
                                 "(graphnn pads both sides equally)")
        pads.append(total // 2)
    return tuple(pads)


def window(im: Any, x: Any, kernel: tuple[int, ...], a: dict[str, Any],
           dilated: bool = False) -> tuple[Any, Any]:
    """(stride, padding) pairs for a 2-D window op, or the importer's unsupported error
    naming the attribute."""
    if x.ndim != 4:
        raise im.unsupported(f"only 2-D (NCHW) inputs are supported, got shape {x.shape}")
    strides = tuple(a.get("strides", (1, 1)))
    dil = tuple(a.get("dilations", (1, 1)))
    kernel = tuple((k - 1) * d + 1 for k, d in zip(kernel, dil))
    if not dilated and any(d != 1 for d in dil):
        raise im.unsupported(f"dilations={a['dilations']} (only 1 is supported)")
    if a.get("ceil_mode", 0):
        raise im.unsupported("ceil_mode=1 is not supported")
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return strides, _auto_pads(im, x, kernel, strides, auto)
    if auto == "VALID":
        return strides, (0, 0)
    if auto != "NOTSET":
        raise im.unsupported(f"auto_pad={auto!r}")
    p = tuple(a.get("pads", (0, 0, 0, 0)))
    if p[:2] != p[2:]:
        raise im.unsupported(f"asymmetric pads={list(p)} (graphnn pads both sides equally)")
    return strides, p[:2]


def _limits(im: Any, pool: Any, *args: Any, **kw: Any) -> Any:
    """graphnn pools follow PyTorch's limits (pad <= kernel/2); ONNX allows more."""
    try:
        return pool(*args, **kw)
    except ParamError as e:
        raise im.unsupported(str(e).splitlines()[0]) from None


def one_d(convert: Converter) -> Converter:
    """Run a 2-D converter on a 1-D (N, C, L) node as (N, C, 1, L) with a 1 x k window."""
    def fn(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        from graphnn.ops.linalg import reshape

        if x[0].ndim != 3:
            return convert(im, n, x, a)
        a = dict(a)
        for key, one in (("kernel_shape", 1), ("strides", 1), ("dilations", 1),
                         ("output_padding", 0)):
            if key in a:
                a[key] = [one] + list(a[key])
        if "pads" in a:
            a["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
        x = [reshape(x[0], x[0].shape[:2] + (1,) + x[0].shape[2:])] + [
            reshape(v, v.shape[:2] + (1,) + v.shape[2:]) if k == 1 else v
            for k, v in enumerate(x[1:], 1)]
        y = convert(im, n, x, a)[0]
        return [reshape(y, y.shape[:2] + y.shape[3:])]
    return fn


@one_d
def import_conv(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.conv import conv2d

    kernel = tuple(a.get("kernel_shape", x[1].shape[2:]))
    stride, pad = window(im, x[0], kernel, a, dilated=True)
    b = x[2] if len(x) > 2 else None
    return [conv2d(x[0], x[1], b, stride=stride, padding=pad,
                   dilation=tuple(a.get("dilations", (1, 1))), groups=int(a.get("group", 1)))]


@one_d
def import_maxpool(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.pool import max_pool2d

    if len(n.output) > 1 and n.output[1]:
        raise im.unsupported("the Indices output is not supported")
    kernel = tuple(a["kernel_shape"])
    stride, pad = window(im, x[0], kernel, a)
    return [_limits(im, max_pool2d, x[0], kernel, stride=stride, padding=pad)]


@one_d
def import_avgpool(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.pool import avg_pool2d

    kernel = tuple(a["kernel_shape"])
    stride, pad = window(im, x[0], kernel, a)
    return [_limits(im, avg_pool2d, x[0], kernel, stride=stride, padding=pad,
                    count_include_pad=bool(a.get("count_include_pad", 0)))]


@one_d
def import_conv_transpose(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    """ConvTranspose with explicit symmetric pads: conv2d_grad_input to the size ONNX
    gives, ``stride (in - 1) + output_padding + dilation (k - 1) + 1 - 2 pad``."""
    from graphnn.ops.conv import conv2d_grad_input
    from graphnn.ops.linalg import reshape

    g, w = x[0], x[1]
    if g.ndim != 4:
        raise im.unsupported(f"only 2-D (NCHW) inputs are supported, got shape {g.shape}")
    for key in ("output_shape", "auto_pad"):
        if a.get(key, "NOTSET") != "NOTSET":
            raise im.unsupported(f"{key}={a[key]!r} (only explicit pads are supported)")
    stride, dil = tuple(a.get("strides", (1, 1))), tuple(a.get("dilations", (1, 1)))
    p, extra = tuple(a.get("pads", (0, 0, 0, 0))), tuple(a.get("output_padding", (0, 0)))
    if p[:2] != p[2:]:
        raise im.unsupported(f"asymmetric pads={list(p)} (graphnn pads both sides equally)")
    if any(e >= s for e, s in zip(extra, stride)):
        raise im.unsupported(f"output_padding={list(extra)} not below strides={list(stride)}")
    kernel = tuple(a.get("kernel_shape", w.shape[2:]))
    size = tuple(s * (i - 1) + e + d * (k - 1) + 1 - 2 * q for i, s, e, d, k, q in
                 zip(g.shape[2:], stride, extra, dil, kernel, p))
    y = conv2d_grad_input(g, w, size, stride=stride, padding=p[:2], dilation=dil,
                          groups=int(a.get("group", 1)))
    return [y if len(x) < 3 or x[2] is None else y + reshape(x[2], (-1, 1, 1))]
