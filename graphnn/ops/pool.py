"""2-D pooling (NCHW): max_pool2d and avg_pool2d with PyTorch semantics, and their
gradients as registered ops. No loops over pixels: each kernel offset is one strided
slice of the padded input, combined with whole-array maximum / add (kH*kW vector ops).

Max pooling routes the gradient to the first maximum of each window (as PyTorch does; a
NaN counts as the maximum, as in the forward); ``max_pool2d_select(x, v)`` picks ``v`` at
those argmax positions, which is both the tangent rule of max pooling and the transpose of
its gradient routing. Both copy the kH*kW taps once into one contiguous array, take the
window maxima and a boolean first-maximum mask per tap (equality with the maximum, minus
the taps already taken), and route values through the masks with a bitwise and (no
data-dependent branches, exact for inf/NaN gradients); when the windows do not overlap
(stride >= kernel, LeNet's 2x2 pools) each tap's result is written straight into the
input-shaped gradient with no read-modify-write (and no zero-filling when they tile it).

>>> import numpy as np
>>> a = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4.0]])[None, None]
>>> max_pool2d(a, 2)[0, 0]
array([[6., 8.],
       [3., 4.]])
>>> avg_pool2d(a, 2)[0, 0]
array([[3.25, 5.25],
       [2.  , 2.  ]])
"""

from __future__ import annotations

from typing import Any

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, register, tt
from graphnn.ops import onnx_conv as oc
from graphnn.ops.conv import _pad2d, check_fits, check_pair, out_size, pair
from graphnn.ops.reduce import mean

# -- helpers (xp first; codegen copies them) -------------------------------------------


def _tap(xp: Any, xpad: Any, i: int, j: int, stride: tuple[int, int], oh: int, ow: int) -> Any:
    """Strided view of the input under kernel offset (i, j) of every window: (N, C, OH, OW)."""
    sh, sw = stride
    return xpad[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]


def _pool_out(xp: Any, xpad: Any, kernel: tuple[int, int],
              stride: tuple[int, int]) -> tuple[int, int]:
    """Output (OH, OW) of pooling an already padded input."""
    return ((xpad.shape[2] - kernel[0]) // stride[0] + 1,
            (xpad.shape[3] - kernel[1]) // stride[1] + 1)


def _max_pool2d(xp: Any, x: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int]) -> Any:
    """Max over each window; padding counts as -inf."""
    xpad = _pad2d(xp, x, padding, float("-inf"))
    oh, ow = _pool_out(xp, xpad, kernel_size, stride)
    out = None
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            t = _tap(xp, xpad, i, j, stride, oh, ow)
            out = xp.array(t) if out is None else xp.maximum(out, t)
    return out


def _pool_taps(xp: Any, xpad: Any, kernel_size: tuple[int, int],
               stride: tuple[int, int]) -> Any:
    """Every kernel tap of every window copied into one contiguous (kH*kW, N, C, OH, OW)
    array (tap i * kW + j first): later passes then run over contiguous memory."""
    oh, ow = _pool_out(xp, xpad, kernel_size, stride)
    kh, kw = kernel_size
    taps = xp.empty((kh * kw,) + tuple(xpad.shape[:2]) + (oh, ow), dtype=xpad.dtype)
    for i in range(kh):
        for j in range(kw):
            taps[i * kw + j] = _tap(xp, xpad, i, j, stride, oh, ow)
    return taps


def _max_pool2d_masks(xp: Any, x: Any, kernel_size: tuple[int, int],
                      stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """Boolean (kH*kW, N, C, OH, OW): True where tap i * kW + j holds the first maximum of
    its window (row-major order; a NaN counts as the maximum, as in the forward)."""
    taps = _pool_taps(xp, _pad2d(xp, x, padding, float("-inf")), kernel_size, stride)
    hit = taps == xp.max(taps, axis=0)
    hit |= taps != taps
    taken = hit[0].copy()
    for k in range(1, hit.shape[0]):
        hit[k] &= ~taken
        if k < hit.shape[0] - 1:
            taken |= hit[k]
    return hit


def _select_bits(xp: Any, mask: Any, v: Any) -> tuple[Any, Any]:
    """(bits of v, mask as all-ones/zero words): ``bits & mask`` is v where mask, else +0.
    A bitwise and has no data-dependent branches (xp.where has, and is ~10x slower on
    random masks) and, unlike v * mask, keeps inf/NaN out of unselected entries."""
    u = xp.dtype(f"u{v.dtype.itemsize}")
    return v.view(u), xp.negative(mask.astype(u))


def _max_pool2d_grad(xp: Any, x: Any, g: Any, kernel_size: tuple[int, int],
                     stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """Route each window's gradient to its (first) maximum; overlaps add up."""
    hit = _max_pool2d_masks(xp, x, kernel_size, stride, padding)
    gu, bits = _select_bits(xp, hit, g)
    n, c, h, w = x.shape
    ph, pw = padding
    kh, kw = kernel_size
    oh, ow = g.shape[2:]
    hp, wp = h + 2 * ph, w + 2 * pw
    disjoint = stride[0] >= kh and stride[1] >= kw
    tiled = stride[0] == kh and stride[1] == kw and oh * kh == hp and ow * kw == wp
    dx = (xp.empty if tiled else xp.zeros)((n, c, hp, wp), dtype=g.dtype)
    for i in range(kh):
        for j in range(kw):
            if disjoint:  # every input under at most one tap: write, no read-modify-write
                xp.bitwise_and(gu, bits[i * kw + j],
                               out=_tap(xp, dx.view(gu.dtype), i, j, stride, oh, ow))
            else:
                _tap(xp, dx, i, j, stride, oh, ow)[...] += xp.bitwise_and(
                    gu, bits[i * kw + j]).view(g.dtype)
    return dx[:, :, ph:ph + h, pw:pw + w]


def _max_pool2d_select(xp: Any, x: Any, v: Any, kernel_size: tuple[int, int],
                       stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """``v`` taken at the argmax position of each window of ``x``."""
    hit = _max_pool2d_masks(xp, x, kernel_size, stride, padding)
    vt = _pool_taps(xp, _pad2d(xp, v, padding), kernel_size, stride)
    vu, bits = _select_bits(xp, hit, vt)
    out = xp.bitwise_and(vu[0], bits[0])
    for k in range(1, hit.shape[0]):
        out |= xp.bitwise_and(vu[k], bits[k])  # one tap selected per window: exact
    return out.view(v.dtype)


def _avg_divisor(xp: Any, hw: tuple[int, int], kernel_size: tuple[int, int],
                 stride: tuple[int, int], padding: tuple[int, int], count_include_pad: bool,
                 dtype: Any) -> Any:
    """kH*kW, or (without padding in the count) the number of real inputs per window."""
    if count_include_pad or padding == (0, 0):
        return kernel_size[0] * kernel_size[1]
    ones = _pad2d(xp, xp.ones((1, 1) + tuple(hw), dtype=dtype), padding)
    oh, ow = _pool_out(xp, ones, kernel_size, stride)
    cnt = xp.zeros((1, 1, oh, ow), dtype=dtype)
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            cnt += _tap(xp, ones, i, j, stride, oh, ow)
    return cnt


def _avg_pool2d(xp: Any, x: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int], count_include_pad: bool = True) -> Any:
    """Mean over each window (zero padding)."""
    xpad = _pad2d(xp, x, padding)
    oh, ow = _pool_out(xp, xpad, kernel_size, stride)
    s = None
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            t = _tap(xp, xpad, i, j, stride, oh, ow)
            s = xp.array(t) if s is None else s + t
    return s / _avg_divisor(xp, x.shape[2:], kernel_size, stride, padding, count_include_pad,
                            x.dtype)


def _avg_pool2d_grad(xp: Any, g: Any, input_size: tuple[int, int],
                     kernel_size: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int], count_include_pad: bool = True) -> Any:
    """Spread each window's gradient evenly over the window (g / divisor per tap)."""
    n, c, oh, ow = g.shape
    h, w = input_size
    ph, pw = padding
    gd = g / _avg_divisor(xp, input_size, kernel_size, stride, padding, count_include_pad,
                          g.dtype)
    dx = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            _tap(xp, dx, i, j, stride, oh, ow)[...] += gd
    return dx[:, :, ph:ph + h, pw:pw + w]


# -- checks and shapes --------------------------------------------------------------------


def _pool_params(kernel_size: Any, stride: Any, padding: Any) -> None:
    check_pair("kernel_size", kernel_size, 1)
    check_pair("stride", stride, 1)
    check_pair("padding", padding, 0)
    for p, k in zip(padding, kernel_size):
        if 2 * p > k:
            raise ValueError(f"padding {padding[0]},{padding[1]} is more than half the kernel "
                             f"{kernel_size[0]}x{kernel_size[1]} (PyTorch's rule: pad <= k/2)")


def _pool_check(x: S.Shape, *rest: S.Shape, kernel_size: Any, stride: Any, padding: Any,
                input_size: Any = None, **_: Any) -> None:
    _pool_params(kernel_size, stride, padding)
    hw = input_size if input_size is not None else (x[2:] if len(x) == 4 else None)
    if hw is not None:
        check_fits(tuple(hw), kernel_size, padding)


def _pool_shape(x: S.Shape, *rest: S.Shape, kernel_size: Any, stride: Any, padding: Any,
                **_: Any) -> S.Shape:
    """(N, C, (H + 2P - F) // S + 1, (W + 2P - F) // S + 1)."""
    if len(x) != 4:
        raise ValueError(f"input must be 4-D (N, C, H, W), got shape {x}")
    out = (x[0], x[1]) + tuple(out_size(s, k, st, p) for s, k, st, p in
                               zip(x[2:], kernel_size, stride, padding))
    for r in rest:
        if tuple(r) != tuple(x) and tuple(r) != out:
            raise ValueError(f"second operand {r} fits neither the input {x} nor the output "
                             f"{out}")
    return out


def _grad_shape(x: S.Shape, g: S.Shape, **p: Any) -> S.Shape:
    out = _pool_shape(x, **p)
    if tuple(g) != out:
        raise ValueError(f"gradient {g} does not match the pooled output {out}")
    return tuple(x)


def _avg_grad_shape(g: S.Shape, *, input_size: Any, **p: Any) -> S.Shape:
    x = tuple(g[:2]) + tuple(input_size)
    if len(g) != 4 or _pool_shape(x, **p) != tuple(g):
        raise ValueError(f"gradient {g} is not the pooled output of an input {x}")
    return x


def _pool_cost(x: S.Shape, *rest: Any, kernel_size: Any, **_: Any) -> int:
    out = rest[-1]
    return int(out[0] * out[1] * out[2] * out[3] * kernel_size[0] * kernel_size[1])


# -- the ops ----------------------------------------------------------------------------------

_PA = "kernel_size={kernel_size}, stride={stride}, padding={padding}"
_ARGM = (_pad2d, _tap, _pool_out, _pool_taps, _max_pool2d_masks, _select_bits)

MAX_POOL2D = register(Op(
    name="max_pool2d", forward=_max_pool2d, shape=_pool_shape, check=_pool_check,
    vjp=lambda g, out, x, **p: (lambda: max_pool2d_grad(x, g, **p),),
    jvp=lambda t, out, x, **p: None if t[0] is None else max_pool2d_select(x, t[0], **p),
    numpy="_max_pool2d(xp, {0}, " + _PA + ")", label="max pool",
    trace=tt("dX = dY routed to the (first) max of each window, 0 elsewhere"),
    cost=_pool_cost, helpers=(_pad2d, _tap, _pool_out, _max_pool2d),
    onnx=Onnx(export=oc.export_pool("MaxPool"), imports={"MaxPool": oc.import_maxpool}),
))
MAX_POOL2D_GRAD = register(Op(
    name="max_pool2d_grad", forward=_max_pool2d_grad, shape=_grad_shape, check=_pool_check,
    # piecewise constant in x; linear in g with transpose max_pool2d_select
    vjp=lambda c, out, x, g, **p: (None, lambda: max_pool2d_select(x, c, **p)),
    jvp=lambda t, out, x, g, **p: None if t[1] is None else max_pool2d_grad(x, t[1], **p),
    numpy="_max_pool2d_grad(xp, {0}, {1}, " + _PA + ")", label="max pool dX",
    trace=tt("dX = dY scattered to each window's argmax"),
    cost=lambda x, g, out, **p: _pool_cost(x, g, **p),
    helpers=_ARGM + (_max_pool2d_grad,), onnx=oc.NO_POOL_GRAD,
))
MAX_POOL2D_SELECT = register(Op(
    name="max_pool2d_select", forward=_max_pool2d_select, shape=_pool_shape, check=_pool_check,
    vjp=lambda c, out, x, v, **p: (None, lambda: max_pool2d_grad(x, c, **p)),
    jvp=lambda t, out, x, v, **p: None if t[1] is None else max_pool2d_select(x, t[1], **p),
    numpy="_max_pool2d_select(xp, {0}, {1}, " + _PA + ")", label="max pool pick",
    trace=tt("dV = dY scattered to each window's argmax of X"), cost=_pool_cost,
    helpers=_ARGM + (_max_pool2d_select,), onnx=oc.NO_POOL_SELECT,
))
_AA = _PA + ", count_include_pad={count_include_pad}"
AVG_POOL2D = register(Op(
    name="avg_pool2d", forward=_avg_pool2d, shape=_pool_shape, check=_pool_check,
    vjp=lambda g, out, x, **p: (lambda: avg_pool2d_grad(g, tuple(x.shape[2:]), **p),),
    jvp=lambda t, out, x, **p: None if t[0] is None else bind(AVG_POOL2D, t[0], **p),
    numpy="_avg_pool2d(xp, {0}, " + _AA + ")", label="avg pool",
    trace=tt("dX = dY / k spread over each window"), cost=_pool_cost,
    helpers=(_pad2d, _tap, _pool_out, _avg_divisor, _avg_pool2d),
    onnx=Onnx(export=oc.export_pool("AveragePool"),
              imports={"AveragePool": oc.import_avgpool}),
))
AVG_POOL2D_GRAD = register(Op(
    name="avg_pool2d_grad", forward=_avg_pool2d_grad, shape=_avg_grad_shape, check=_pool_check,
    vjp=lambda c, out, g, input_size, **p: (lambda: bind(AVG_POOL2D, c, **p),),
    jvp=lambda t, out, g, **p: None if t[0] is None else bind(AVG_POOL2D_GRAD, t[0], **p),
    numpy="_avg_pool2d_grad(xp, {0}, input_size={input_size}, " + _AA + ")",
    label="avg pool dX", trace=tt("dX = dY / k spread over each window (linear)"),
    cost=lambda g, out, **p: _pool_cost(out, g, **p),
    helpers=(_pad2d, _tap, _pool_out, _avg_divisor, _avg_pool2d_grad), onnx=oc.NO_POOL_GRAD,
))


def _pool_args(kernel_size: Any, stride: Any, padding: Any) -> dict[str, Any]:
    k = pair(kernel_size)
    return {"kernel_size": k, "stride": k if stride is None else pair(stride),
            "padding": pair(padding)}


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, *,
               name: str | None = None) -> Any:
    """Max over kH x kW windows of an NCHW input (stride defaults to the kernel size;
    padding counts as -inf and may be at most half the kernel). No parameters.
    Output size per axis: (W - F + 2P) // S + 1."""
    return bind(MAX_POOL2D, x, **_pool_args(kernel_size, stride, padding), name=name)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               count_include_pad: bool = True, *, name: str | None = None) -> Any:
    """Mean over kH x kW windows (zero padding). ``count_include_pad=True`` divides by
    kH*kW everywhere (PyTorch's default); False divides by the number of real inputs in
    the window (ONNX AveragePool's default)."""
    return bind(AVG_POOL2D, x, **_pool_args(kernel_size, stride, padding),
                count_include_pad=bool(count_include_pad), name=name)


def max_pool2d_grad(x: Any, g: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, *,
                    name: str | None = None) -> Any:
    """Gradient of ``max_pool2d(x)`` for the output gradient ``g`` (shape of ``x``)."""
    return bind(MAX_POOL2D_GRAD, x, g, **_pool_args(kernel_size, stride, padding), name=name)


def max_pool2d_select(x: Any, v: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                      *, name: str | None = None) -> Any:
    """``v`` (shape of ``x``) picked at the argmax of each pooling window of ``x``."""
    return bind(MAX_POOL2D_SELECT, x, v, **_pool_args(kernel_size, stride, padding), name=name)


def avg_pool2d_grad(g: Any, input_size: Any, kernel_size: Any, stride: Any = None,
                    padding: Any = 0, count_include_pad: bool = True, *,
                    name: str | None = None) -> Any:
    """Gradient of ``avg_pool2d`` for an input of spatial size ``input_size`` = (H, W)."""
    return bind(AVG_POOL2D_GRAD, g, input_size=pair(tuple(input_size)),
                **_pool_args(kernel_size, stride, padding),
                count_include_pad=bool(count_include_pad), name=name)


def global_avg_pool2d(x: Any, *, name: str | None = None) -> Any:
    """Mean over H and W, keeping them: (N, C, H, W) -> (N, C, 1, 1) (a ``mean`` node)."""
    return mean(x, axis=(2, 3), keepdims=True, name=name)


__all__ = ["max_pool2d", "avg_pool2d", "max_pool2d_grad", "max_pool2d_select",
           "avg_pool2d_grad", "global_avg_pool2d"]
