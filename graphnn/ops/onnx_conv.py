"""ONNX rules of conv2d, conv2d_grad_input and the 2-D pools, which their records name in
``onnx=Onnx(...)`` (graphnn/ops/conv.py, pool.py).

Import supports 1-D, 2-D and 3-D (N, C, *spatial) inputs, symmetric ``pads`` (or
``auto_pad`` VALID / SAME_* when the needed padding is symmetric); Conv and MaxPool also
``dilations``, Conv ``group``, the pools ``ceil_mode``, AveragePool ``count_include_pad``,
MaxPool its Indices output (row-major). Anything else
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

from graphnn.core.errors import OnnxError, ParamError
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


NO_INDICES_IMPORT = Unsupported(
    "MaxPool's Indices output is imported by the MaxPool converter itself (values and "
    "per-plane indices), not as a separate ONNX op")


def _pair(v: Any, nd: int = 2) -> list[int]:
    return [int(v)] * nd if np.isscalar(v) else [int(i) for i in v]


# -- export -------------------------------------------------------------------------------

def _window_attrs(n: Any, kernel: Any, stride: Any) -> dict[str, Any]:
    nd = len(kernel)
    pad = _pair(n.params.get("padding", 0) or 0, nd)
    return {"kernel_shape": _pair(kernel, nd),
            "strides": _pair(kernel if stride is None else stride, nd), "pads": pad + pad}


def export_conv(ex: Any, n: Any) -> None:
    p = n.params
    k = n.inputs[1].shape[2:]
    ex.direct("Conv", n, **_window_attrs(n, k, p.get("stride", 1)),
              dilations=_pair(p.get("dilation", 1), len(k)), group=int(p.get("groups", 1)))


def export_conv_grad_input(ex: Any, n: Any) -> None:
    """The input gradient of a conv is the transposed convolution of the output gradient
    with the same weights; ``output_padding`` adds the rows the conv's floor dropped."""
    g, w = n.inputs
    p = n.params
    nd = len(w.shape) - 2
    stride, pad = _pair(p["stride"], nd), _pair(p["padding"], nd)
    dil = _pair(p["dilation"], nd)
    extra = [size - (s * (o - 1) + d * (k - 1) + 1 - 2 * q) for size, o, k, s, q, d in
             zip(n.shape[2:], g.shape[2:], w.shape[2:], stride, pad, dil)]
    ex.direct("ConvTranspose", n, kernel_shape=_pair(w.shape[2:]), strides=stride,
              pads=pad + pad, dilations=dil, group=int(p["groups"]), output_padding=extra)


def _pool_attrs(op_type: str, n: Any) -> dict[str, Any]:
    p = n.params
    k = p["kernel_size"]
    attrs = _window_attrs(n, k, p.get("stride"))
    if p.get("ceil_mode"):
        attrs["ceil_mode"] = 1
    if op_type == "MaxPool":
        if any(d != 1 for d in p.get("dilation") or ()):
            attrs["dilations"] = _pair(p["dilation"], len(k))
    else:
        attrs["count_include_pad"] = int(bool(p.get("count_include_pad", True)))
    return attrs


def export_pool(op_type: str) -> Callable[[Any, Any], None]:
    def export(ex: Any, n: Any) -> None:
        p = n.params
        attrs = _pool_attrs(op_type, n)
        dv = p.get("divisor_override")
        if op_type == "AveragePool" and dv:
            # ONNX has no divisor_override: a count_include_pad average times k / divisor
            # (the same sum; exact when every window is whole, which ceil_mode may break)
            if p.get("ceil_mode"):
                raise OnnxError(f"node {n.name!r}: avg pool with divisor_override and "
                                "ceil_mode has no ONNX spelling (AveragePool divides partial "
                                "windows by their own size)")
            attrs["count_include_pad"] = 1
            avg = ex.emit("AveragePool", [n.inputs[0].name], ex.name(n.name + "_avg"),
                          **attrs)  # no ceil_mode here: no slicing needed
            k = 1
            for e in p["kernel_size"]:
                k *= int(e)
            scale = ex.const(n.name + "_scale", np.asarray(k / dv, dtype=n.dtype))
            ex.emit("Mul", [avg, scale], n.name)
            return
        _emit_pool(ex, op_type, n, [n.inputs[0].name], [n.name], attrs)
    return export


def _onnx_ceil_shape(n: Any) -> tuple[int, ...]:
    """The spatial output size ONNX's ceil_mode formula gives (it keeps a last window
    that starts in the right padding, which PyTorch drops)."""
    p = n.params
    x = n.inputs[0].shape
    k = p["kernel_size"]
    d = p.get("dilation") or (1,) * len(k)
    return tuple(-(-(size + 2 * q - e * (kk - 1) - 1) // s) + 1 for size, kk, s, q, e in
                 zip(x[2:], k, p["stride"], p["padding"], d))


def _emit_pool(ex: Any, op_type: str, n: Any, ins: list[str], outs: list[str],
               attrs: dict[str, Any]) -> None:
    """One pool node; with ceil_mode, sliced to PyTorch's size where ONNX's is larger."""
    want = tuple(n.shape[2:])
    if not attrs.get("ceil_mode") or _onnx_ceil_shape(n) == want:
        ex.nodes.append(ex.onnx.helper.make_node(op_type, ins, outs, name=outs[0], **attrs))
        return
    wide = [ex.name(o + "_ceil") for o in outs]
    ex.nodes.append(ex.onnx.helper.make_node(op_type, ins, wide, name=wide[0], **attrs))
    nd = len(want)
    starts = ex.const(outs[0] + "_starts", np.zeros(nd, dtype=np.int64))
    ends = ex.const(outs[0] + "_ends", np.asarray(want, dtype=np.int64))
    axes = ex.const(outs[0] + "_axes", np.arange(2, nd + 2, dtype=np.int64))
    for w, o in zip(wide, outs):
        ex.emit("Slice", [w, starts, ends, axes], o)


def export_pool_indices(ex: Any, n: Any) -> None:
    """PyTorch's per-plane indices: ONNX MaxPool's Indices (flat over the whole NC... tensor,
    row-major) minus each plane's offset (n * C + c) * prod(spatial)."""
    x = n.inputs[0]
    values = ex.name(n.name + "_values")
    flat = ex.name(n.name + "_flat")
    _emit_pool(ex, "MaxPool", n, [x.name], [values, flat], _pool_attrs("MaxPool", n))
    plane = 1
    for e in x.shape[2:]:
        plane *= int(e)
    base = (np.arange(x.shape[0] * x.shape[1], dtype=np.int64) * plane).reshape(
        tuple(x.shape[:2]) + (1,) * (len(x.shape) - 2))
    ex.emit("Sub", [flat, ex.const(n.name + "_base", base)], n.name)


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
           dilated: bool = False, ceil: bool = False) -> tuple[Any, Any]:
    """(stride, padding) tuples for a 1-D, 2-D or 3-D window op, or the importer's
    unsupported error naming the attribute."""
    nd = len(kernel)
    if x.ndim != nd + 2 or nd not in (1, 2, 3):
        raise im.unsupported(f"only 1-D, 2-D and 3-D (N, C, *spatial) inputs with a matching "
                             f"kernel are supported, got shape {x.shape}, kernel {kernel}")
    strides = tuple(a.get("strides", (1,) * nd))
    dil = tuple(a.get("dilations", (1,) * nd))
    kernel = tuple((k - 1) * d + 1 for k, d in zip(kernel, dil))
    if not dilated and any(d != 1 for d in dil):
        raise im.unsupported(f"dilations={a['dilations']} (only 1 is supported)")
    if a.get("ceil_mode", 0) and not ceil:
        raise im.unsupported("ceil_mode=1 is not supported")
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return strides, _auto_pads(im, x, kernel, strides, auto)
    if auto == "VALID":
        return strides, (0,) * nd
    if auto != "NOTSET":
        raise im.unsupported(f"auto_pad={auto!r}")
    p = tuple(a.get("pads", (0,) * (2 * nd)))
    if p[:nd] != p[nd:]:
        raise im.unsupported(f"asymmetric pads={list(p)} (graphnn pads both sides equally)")
    return strides, p[:nd]


def _limits(im: Any, pool: Any, *args: Any, **kw: Any) -> Any:
    """graphnn pools follow PyTorch's limits (pad <= kernel/2); ONNX allows more."""
    try:
        return pool(*args, **kw)
    except ParamError as e:
        raise im.unsupported(str(e).splitlines()[0]) from None


def import_conv(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.conv import CONV, _bind_conv

    kernel = tuple(a.get("kernel_shape", x[1].shape[2:]))
    nd = len(kernel)
    if nd not in CONV:
        raise im.unsupported(f"a {nd}-D convolution (graphnn has 1-D, 2-D and 3-D)")
    stride, pad = window(im, x[0], kernel, a, dilated=True)
    b = x[2] if len(x) > 2 else None
    return [_bind_conv(nd, x[0], x[1], b, stride, pad, tuple(a.get("dilations", (1,) * nd)),
                       int(a.get("group", 1)), None)]


def _ceil_fits(im: Any, y: Any, x: Any, kernel: tuple[int, ...], stride: Any, pad: Any,
               a: dict[str, Any]) -> None:
    """ONNX's ceil_mode keeps a last window that starts in the right padding; graphnn (as
    PyTorch) has no such window, so such a model cannot be imported."""
    if not a.get("ceil_mode", 0):
        return
    dil = tuple(a.get("dilations", (1,) * len(kernel)))
    onnx = tuple(-(-(size + 2 * q - d * (k - 1) - 1) // s) + 1 for size, k, s, q, d in
                 zip(x.shape[2:], kernel, stride, pad, dil))
    if onnx != tuple(y.shape[2:]):
        raise im.unsupported(f"ceil_mode=1 gives {list(onnx)} here, with a last window "
                             f"starting in the padding; graphnn (as PyTorch) gives "
                             f"{list(y.shape[2:])}")


def import_maxpool(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.pool import _max_pool

    kernel = tuple(a["kernel_shape"])
    stride, pad = window(im, x[0], kernel, a, dilated=True, ceil=True)
    if int(a.get("storage_order", 0)):
        raise im.unsupported("storage_order=1 (column-major indices)")
    want = len(n.output) > 1 and bool(n.output[1])
    y = _limits(im, _max_pool, len(kernel), x[0], kernel, stride, pad,
                tuple(a.get("dilations", (1,) * len(kernel))), bool(a.get("ceil_mode", 0)),
                want, None)
    _ceil_fits(im, y[0] if want else y, x[0], kernel, stride, pad, a)
    if not want:
        return [y]
    values, idx = y
    shape = tuple(x[0].shape)
    plane = 1
    for e in shape[2:]:
        plane *= int(e)
    base = (np.arange(shape[0] * shape[1], dtype=np.int64) * plane).reshape(
        shape[:2] + (1,) * (len(shape) - 2))
    return [values, idx + im.g.constant(base)]


def import_avgpool(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.core.bind import bind
    from graphnn.ops.pool import AVG, _avg_args

    kernel = tuple(a["kernel_shape"])
    stride, pad = window(im, x[0], kernel, a, ceil=True)
    nd = len(kernel)
    args = _avg_args(nd, kernel, stride, pad, bool(a.get("ceil_mode", 0)),
                     bool(a.get("count_include_pad", 0)), None)
    y = _limits(im, bind, AVG[nd], x[0], **args)
    _ceil_fits(im, y, x[0], kernel, stride, pad, a)
    return [y]


def import_conv_transpose(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    """ConvTranspose with explicit symmetric pads: conv_grad_input to the size ONNX
    gives, ``stride (in - 1) + output_padding + dilation (k - 1) + 1 - 2 pad``."""
    from graphnn.ops.conv import conv2d_grad_input
    from graphnn.ops.linalg import reshape

    g, w = x[0], x[1]
    nd = g.ndim - 2
    if nd not in (1, 2, 3) or w.ndim != g.ndim:
        raise im.unsupported(f"only 1-D, 2-D and 3-D inputs are supported, got shape "
                             f"{g.shape}")
    for key in ("output_shape", "auto_pad"):
        if a.get(key, "NOTSET") != "NOTSET":
            raise im.unsupported(f"{key}={a[key]!r} (only explicit pads are supported)")
    stride, dil = tuple(a.get("strides", (1,) * nd)), tuple(a.get("dilations", (1,) * nd))
    p, extra = tuple(a.get("pads", (0,) * (2 * nd))), tuple(a.get("output_padding",
                                                                   (0,) * nd))
    if p[:nd] != p[nd:]:
        raise im.unsupported(f"asymmetric pads={list(p)} (graphnn pads both sides equally)")
    if any(e >= s for e, s in zip(extra, stride)):
        raise im.unsupported(f"output_padding={list(extra)} not below strides={list(stride)}")
    kernel = tuple(a.get("kernel_shape", w.shape[2:]))
    size = tuple(s * (i - 1) + e + d * (k - 1) + 1 - 2 * q for i, s, e, d, k, q in
                 zip(g.shape[2:], stride, extra, dil, kernel, p))
    y = conv2d_grad_input(g, w, size, stride=stride, padding=p[:nd], dilation=dil,
                          groups=int(a.get("group", 1)))
    return [y if len(x) < 3 or x[2] is None else y + reshape(x[2], (-1,) + (1,) * nd)]
