"""2-D convolution (NCHW) as im2col + one BLAS matmul per call, with its input and weight
gradients as registered ops (so the backward graph can be drawn, compiled and
differentiated again).

The forward copies the input once to a batch-last layout (C, H, W, N), takes a strided
*view* of every receptive field (no copy), copies it once into a
``(groups, C_in/groups * kH * kW, OH * OW * N)`` column matrix (batch innermost, so each
copied run is OW * N values long) and multiplies it by the weights in a single (batched
over groups) GEMM. The input gradient is the transposed convolution: one GEMM, then a
scatter-add over the kH*kW kernel offsets (col2im, again on long batch-last runs); the
weight gradient is one GEMM against the same columns.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph():
...     x = gn.input("x", shape=(1, 3, 32, 32))
...     w = gn.param("w", np.zeros((6, 3, 5, 5)))
...     y = gn.conv2d(x, w)
>>> y.shape
(1, 6, 28, 28)
>>> img = np.arange(16.0).reshape(1, 1, 4, 4)
>>> conv2d(img, np.array([[[[-1.0, 1.0]]]]))[0, 0]   # [-1, 1]: horizontal differences
array([[1., 1., 1.],
       [1., 1., 1.],
       [1., 1., 1.],
       [1., 1., 1.]])
"""

from __future__ import annotations

import numbers
from typing import Any

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, register, tt
from graphnn.ops import onnx_conv as oc
from graphnn.ops.elementwise import tsum
from graphnn.ops.linalg import reshape
from graphnn.ops.reduce import sum

# -- helpers shared by forward code and codegen (xp first, self-contained) -----------


def _pad2d(xp: Any, x: Any, padding: tuple[int, int], value: float = 0.0) -> Any:
    """Pad the two spatial axes of an NCHW array by ``padding`` = (ph, pw) on each side."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)  # xp.pad: 3x slower
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _batch_inner(xp: Any, n: int, ow: int, sw: int) -> bool:
    """Whether the columns put the batch axis innermost, (C, kH, kW, OH, OW, N), rather
    than outermost, (C, kH, kW, N, OH, OW): whichever makes the contiguous runs that
    im2col and col2im copy longer: OW * N (stride 1) or N, against OW. (One image: the
    same memory either way, and batch-outermost needs no layout copies.)"""
    return n > 1 and (sw == 1 or n >= ow)


def _chwn(xp: Any, x: Any, padding: tuple[int, int], inner: bool) -> Any:
    """The zero-padded input as a (C, H + 2ph, W + 2pw, N) view: of a batch-innermost copy
    when ``inner``, else of the padded NCHW array itself."""
    if not inner:
        return xp.transpose(_pad2d(xp, x, padding), (1, 2, 3, 0))
    n, c, h, w = x.shape
    ph, pw = padding
    xt = xp.transpose(x, (1, 2, 3, 0))
    xb = (xp.zeros if ph or pw else xp.empty)((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    # images a multiple of 4 KiB apart all map to the same cache sets: gathering one value
    # from each of 64 of them thrashes the cache (3x slower), so copy 8 images at a time
    step = 8 if x.strides[0] % 4096 == 0 else n
    for k in range(0, n, step):
        xb[:, ph:ph + h, pw:pw + w, k:k + step] = xt[..., k:k + step]
    return xb


def _windows(xp: Any, xb: Any, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int]) -> Any:
    """Strided view (C, kH, kW, OH, OW, N) of every receptive field of a padded
    (C, H, W, N) view (any strides)."""
    c, h, w, n = xb.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (w - dw * (kw - 1) - 1) // sw + 1
    s0, s1, s2, s3 = xb.strides
    return xp.lib.stride_tricks.as_strided(
        xb, shape=(c, kh, kw, oh, ow, n),
        strides=(s0, s1 * dh, s2 * dw, s1 * sh, s2 * sw, s3))


def _im2col(xp: Any, x: Any, kernel: tuple[int, int], stride: tuple[int, int],
            padding: tuple[int, int], dilation: tuple[int, int], groups: int,
            inner: bool = True) -> Any:
    """Columns (groups, C/groups * kH * kW, P): one copy of the strided view, with the
    P = OH * OW * N positions in (OH, OW, N) order if ``inner`` else (N, OH, OW)."""
    win = _windows(xp, _chwn(xp, x, padding, inner), kernel, stride, dilation)
    c, kh, kw, oh, ow, n = win.shape
    cols = xp.ascontiguousarray(win if inner else xp.transpose(win, (0, 1, 2, 5, 3, 4)))
    return xp.reshape(cols, (groups, (c // groups) * kh * kw, oh * ow * n))


def _grad_cols(xp: Any, g: Any, groups: int, inner: bool) -> Any:
    """An output gradient (N, C_out, OH, OW) as (groups, C_out/groups, P), P ordered as
    the columns of ``_im2col``."""
    n, co, oh, ow = g.shape
    gg = _chwn(xp, g, (0, 0), True) if inner else xp.transpose(g, (1, 0, 2, 3))
    return xp.reshape(gg, (groups, co // groups, oh * ow * n))


def _conv2d(xp: Any, x: Any, w: Any, b: Any = None, stride: tuple[int, int] = (1, 1),
            padding: tuple[int, int] = (0, 0), dilation: tuple[int, int] = (1, 1),
            groups: int = 1) -> Any:
    """y[n, o] = sum over c, i, j of w[o, c, i, j] * x[n, c, s*p + d*i, s*q + d*j] (+ b[o])."""
    n = x.shape[0]
    co, cg, kh, kw = w.shape
    hp, wp = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    oh = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    # batch-innermost columns also cost a copy of the (C_out, OH, OW, N) result back to
    # NCHW, reading a new cache line per value once N values span one: then worth it only
    # when the columns are much taller than the output (measured on the LeNet and 3x3
    # layers: K >= 4 C_out in float32, K >= 8 C_out in float64)
    inner = _batch_inner(xp, n, ow, stride[1]) and (
        n * x.itemsize < 64 or cg * groups * kh * kw >= co * x.itemsize)
    cols = _im2col(xp, x, (kh, kw), stride, padding, dilation, groups, inner)
    out = xp.matmul(xp.reshape(w, (groups, co // groups, cg * kh * kw)), cols)
    out = xp.reshape(out, (co, oh, ow, n) if inner else (co, n, oh, ow))
    if b is not None:
        bb = xp.reshape(b, (co, 1, 1, 1))
        if xp.result_type(out, b) == out.dtype:
            out += bb  # out is a fresh GEMM result
        else:
            out = out + bb
    return xp.ascontiguousarray(xp.transpose(out, (3, 0, 1, 2) if inner else (1, 0, 2, 3)))


def _conv2d_grad_input(xp: Any, g: Any, w: Any, input_size: tuple[int, int] = (1, 1),
                       stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0),
                       dilation: tuple[int, int] = (1, 1), groups: int = 1) -> Any:
    """Transposed convolution: dX for y = conv2d(x, w); one GEMM, then col2im (one add
    per kernel offset, over the same long runs as im2col)."""
    n, co, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    h, wd = input_size
    ph, pw = padding
    sh, sw = stride
    dh, dw = dilation
    inner = _batch_inner(xp, n, ow, sw)
    wg = xp.reshape(w, (groups, co // groups, cg * kh * kw))
    dcols = xp.matmul(xp.transpose(wg, (0, 2, 1)), _grad_cols(xp, g, groups, inner))
    hp, wp = h + 2 * ph, wd + 2 * pw
    if inner:
        dcols = xp.reshape(dcols, (c, kh, kw, oh, ow, n))
        dx = xp.zeros((c, hp, wp, n), dtype=dcols.dtype)
    else:  # (C, H, W, N) views of (C, N, H, W) buffers
        dcols = xp.transpose(xp.reshape(dcols, (c, kh, kw, n, oh, ow)), (0, 1, 2, 4, 5, 3))
        dx = xp.transpose(xp.zeros((c, n, hp, wp), dtype=dcols.dtype), (0, 2, 3, 1))
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            dx[:, r0:r0 + sh * (oh - 1) + 1:sh, c0:c0 + sw * (ow - 1) + 1:sw] += dcols[:, i, j]
    return xp.ascontiguousarray(xp.transpose(dx[:, ph:ph + h, pw:pw + wd], (3, 0, 1, 2)))


def _conv2d_grad_weight(xp: Any, x: Any, g: Any, kernel_size: tuple[int, int] = (1, 1),
                        stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0),
                        dilation: tuple[int, int] = (1, 1), groups: int = 1) -> Any:
    """dW for y = conv2d(x, w): dY times the columns of x, one GEMM per call."""
    n, co, oh, ow = g.shape
    c = x.shape[1]
    kh, kw = kernel_size
    inner = _batch_inner(xp, n, ow, stride[1])
    cols = _im2col(xp, x, (kh, kw), stride, padding, dilation, groups, inner)
    dw = xp.matmul(_grad_cols(xp, g, groups, inner), xp.transpose(cols, (0, 2, 1)))
    return xp.reshape(dw, (co, c // groups, kh, kw))


# -- static parameters and shape rules ------------------------------------------------


def pair(v: Any) -> Any:
    """``3`` -> ``(3, 3)``; a pair of ints -> a tuple; anything else is left for check."""
    def is_int(e: Any) -> bool:
        return isinstance(e, numbers.Integral) and not isinstance(e, bool)

    if is_int(v):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(is_int(e) for e in v):
        return (int(v[0]), int(v[1]))
    return v


def _int(v: Any) -> Any:
    """numpy integers -> int (anything else is left for the check rule to reject)."""
    return int(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v


def check_pair(name: str, v: Any, least: int) -> None:
    """ValueError unless ``v`` is a pair of ints all >= ``least``."""
    if not (isinstance(v, tuple) and len(v) == 2 and all(isinstance(e, int) for e in v)):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    if min(v) < least:
        what = "positive" if least == 1 else "non-negative"
        raise ValueError(f"{name} must be {what}, got {v[0] if v[0] == v[1] else v}")


def out_size(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    """(W - F_eff + 2P) // S + 1 with the dilated kernel F_eff = d (F - 1) + 1."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def check_fits(hw: tuple[int, int], kernel: tuple[int, int], padding: tuple[int, int],
               dilation: tuple[int, int] = (1, 1)) -> None:
    """ValueError naming the numbers when the (dilated) kernel exceeds the padded input."""
    ek = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    hp = tuple(s + 2 * p for s, p in zip(hw, padding))
    if ek[0] > hp[0] or ek[1] > hp[1]:
        dil = f" (dilated to {ek[0]}x{ek[1]})" if tuple(dilation) != (1, 1) else ""
        raise ValueError(f"kernel {kernel[0]}x{kernel[1]}{dil} larger than padded input "
                         f"{hp[0]}x{hp[1]} (input {hw[0]}x{hw[1]}, padding {padding[0]},"
                         f"{padding[1]})")


def _conv_params(stride: Any, padding: Any, dilation: Any, groups: Any) -> None:
    check_pair("stride", stride, 1)
    check_pair("padding", padding, 0)
    check_pair("dilation", dilation, 1)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")


def _conv_check(x: S.Shape, w: S.Shape, b: S.Shape | None = None, *, stride: Any = (1, 1),
                padding: Any = (0, 0), dilation: Any = (1, 1), groups: Any = 1) -> None:
    _conv_params(stride, padding, dilation, groups)
    if x[1:2] and x[1] % groups:
        raise ValueError(f"groups={groups} does not divide the {x[1]} input channels")
    if w[:1] and w[0] % groups:
        raise ValueError(f"groups={groups} does not divide the {w[0]} output channels")
    if len(x) == 4 and len(w) == 4:
        check_fits(x[2:], w[2:], padding, dilation)


def _conv_shape(x: S.Shape, w: S.Shape, b: S.Shape | None = None, *, stride: Any = (1, 1),
                padding: Any = (0, 0), dilation: Any = (1, 1), groups: int = 1) -> S.Shape:
    if len(x) != 4:
        raise ValueError(f"input must be 4-D (N, C, H, W), got shape {x}")
    if len(w) != 4:
        raise ValueError(f"weight must be 4-D (C_out, C_in/groups, kH, kW), got shape {w}")
    if x[1] != w[1] * groups:
        raise ValueError(f"input has {x[1]} channels but weight expects {w[1] * groups} "
                         f"(weight {w}, groups={groups})")
    if b is not None and tuple(b) != (w[0],):
        raise ValueError(f"bias must have shape ({w[0]},) (one per output channel), got {b}")
    return (x[0], w[0], out_size(x[2], w[2], stride[0], padding[0], dilation[0]),
            out_size(x[3], w[3], stride[1], padding[1], dilation[1]))


def _conv_cost(x: S.Shape, w: S.Shape, *rest: Any, **_: Any) -> int:
    out = rest[-1]
    return int(out[0] * out[1] * out[2] * out[3] * w[1] * w[2] * w[3])


# -- the ops -----------------------------------------------------------------------------

_P = ("stride", "padding", "dilation", "groups")


def _p(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in _P}


def _conv_vjp(g: Any, out: Any, x: Any, w: Any, b: Any = None, **p: Any) -> tuple[Any, ...]:
    dx = lambda: conv2d_grad_input(g, w, tuple(x.shape[2:]), **_p(p))
    dw = lambda: conv2d_grad_weight(x, g, tuple(w.shape[2:]), **_p(p))
    if b is None:
        return dx, dw
    return dx, dw, lambda: sum(g, axis=(0, 2, 3))


def _conv_jvp(t: list[Any], out: Any, x: Any, w: Any, b: Any = None, **p: Any) -> Any:
    tb = t[2] if len(t) > 2 else None
    return tsum(None if t[0] is None else conv2d(t[0], w, **_p(p)),
                None if t[1] is None else conv2d(x, t[1], **_p(p)),
                None if tb is None else reshape(tb, (-1, 1, 1)))


_ARGS = "stride={stride}, padding={padding}, dilation={dilation}, groups={groups}"
CONV2D = register(Op(
    name="conv2d", forward=_conv2d, shape=_conv_shape, vjp=_conv_vjp, jvp=_conv_jvp,
    check=_conv_check, onnx=Onnx(export=oc.export_conv, imports={"Conv": oc.import_conv}),
    numpy="_conv2d(xp, {0}, {1}, {2}, " + _ARGS + ")", label="conv",  # {2}: None, no bias
    trace=tt("dX = conv_transpose(dY, W);  dW = X ⋆ dY;  db = Σ_{n,h,w} dY"), cost=_conv_cost,
    helpers=(_pad2d, _batch_inner, _chwn, _windows, _im2col, _grad_cols, _conv2d),
))


def _gi_check(g: S.Shape, w: S.Shape, *, input_size: Any, **p: Any) -> None:
    _conv_params(p["stride"], p["padding"], p["dilation"], p["groups"])
    check_pair("input_size", input_size, 1)


def _gi_shape(g: S.Shape, w: S.Shape, *, input_size: Any, stride: Any, padding: Any,
              dilation: Any, groups: int) -> S.Shape:
    if len(g) != 4 or len(w) != 4 or g[1] != w[0]:
        raise ValueError(f"output gradient {g} does not fit weight {w}")
    want = tuple(out_size(s, k, st, pd, d) for s, k, st, pd, d in
                 zip(input_size, w[2:], stride, padding, dilation))
    if tuple(g[2:]) != want:
        raise ValueError(f"an input of size {input_size[0]}x{input_size[1]} gives outputs "
                         f"{want[0]}x{want[1]}, but the gradient is {g[2]}x{g[3]}")
    return (g[0], w[1] * groups) + tuple(input_size)


def _gw_check(x: S.Shape, g: S.Shape, *, kernel_size: Any, **p: Any) -> None:
    _conv_params(p["stride"], p["padding"], p["dilation"], p["groups"])
    check_pair("kernel_size", kernel_size, 1)


def _gw_shape(x: S.Shape, g: S.Shape, *, kernel_size: Any, stride: Any, padding: Any,
              dilation: Any, groups: int) -> S.Shape:
    if len(x) != 4 or len(g) != 4 or x[0] != g[0]:
        raise ValueError(f"input {x} and output gradient {g} do not fit")
    want = tuple(out_size(s, k, st, pd, d) for s, k, st, pd, d in
                 zip(x[2:], kernel_size, stride, padding, dilation))
    if tuple(g[2:]) != want:
        raise ValueError(f"the gradient is {g[2]}x{g[3]} but the conv output is "
                         f"{want[0]}x{want[1]}")
    return (g[1], x[1] // groups) + tuple(kernel_size)


CONV2D_GRAD_INPUT = register(Op(
    name="conv2d_grad_input", forward=_conv2d_grad_input, shape=_gi_shape, check=_gi_check,
    # linear in g and in w: dG = conv2d(C, W);  dW = conv2d_grad_weight(C, G)
    vjp=lambda c, out, g, w, **p: (
        lambda: conv2d(c, w, **_p(p)),
        lambda: conv2d_grad_weight(c, g, tuple(w.shape[2:]), **_p(p))),
    jvp=lambda t, out, g, w, **p: tsum(
        None if t[0] is None else conv2d_grad_input(t[0], w, **p),
        None if t[1] is None else conv2d_grad_input(g, t[1], **p)),
    numpy="_conv2d_grad_input(xp, {0}, {1}, input_size={input_size}, " + _ARGS + ")",
    label="conv dX", trace=tt("dX = conv_transpose(dY, W) (a transposed convolution)"),
    cost=lambda g, w, out, **p: _conv_cost(out, w, g), onnx=Onnx(
        export=oc.export_conv_grad_input, imports={"ConvTranspose": oc.import_conv_transpose}),
    helpers=(_pad2d, _batch_inner, _chwn, _grad_cols, _conv2d_grad_input),
))
CONV2D_GRAD_WEIGHT = register(Op(
    name="conv2d_grad_weight", forward=_conv2d_grad_weight, shape=_gw_shape, check=_gw_check,
    # linear in x and in g: dX = conv2d_grad_input(G, C);  dG = conv2d(X, C)
    vjp=lambda c, out, x, g, **p: (
        lambda: conv2d_grad_input(g, c, tuple(x.shape[2:]), **_p(p)),
        lambda: conv2d(x, c, **_p(p))),
    jvp=lambda t, out, x, g, **p: tsum(
        None if t[0] is None else conv2d_grad_weight(t[0], g, **p),
        None if t[1] is None else conv2d_grad_weight(x, t[1], **p)),
    numpy="_conv2d_grad_weight(xp, {0}, {1}, kernel_size={kernel_size}, " + _ARGS + ")",
    label="conv dW", trace=tt("dW = X ⋆ dY (correlate the input with the output gradient)"),
    cost=lambda x, g, out, **p: _conv_cost(x, out, g), onnx=oc.NO_CONV_GRAD_WEIGHT,
    helpers=(_pad2d, _batch_inner, _chwn, _windows, _im2col, _grad_cols, _conv2d_grad_weight),
))


def conv2d(x: Any, w: Any, b: Any = None, *, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, name: str | None = None) -> Any:
    """2-D convolution (cross-correlation, as in PyTorch) of an NCHW input.

    Args:
        x: input (N, C_in, H, W).
        w: weights (C_out, C_in / groups, kH, kW).
        b: optional bias (C_out,).
        stride, padding, dilation: int or (h, w) pair; padding is zeros on both sides.
        groups: split channels into this many independent convolutions (AlexNet: 2).

    Output size per axis: (W - F_eff + 2P) // S + 1 with F_eff = dilation (F - 1) + 1.

    >>> import numpy as np
    >>> conv2d(np.ones((1, 2, 4, 4)), np.ones((4, 1, 3, 3)), groups=2, padding=1).shape
    (1, 4, 4, 4)
    """
    args = (x, w) if b is None else (x, w, b)
    return bind(CONV2D, *args, stride=pair(stride), padding=pair(padding),
                dilation=pair(dilation), groups=_int(groups), name=name)


def conv2d_grad_input(g: Any, w: Any, input_size: Any, *, stride: Any = 1, padding: Any = 0,
                      dilation: Any = 1, groups: int = 1, name: str | None = None) -> Any:
    """Gradient of ``conv2d`` w.r.t. its input (a transposed convolution of ``g`` by ``w``);
    ``input_size`` is the input's (H, W)."""
    return bind(CONV2D_GRAD_INPUT, g, w, input_size=pair(tuple(input_size)),
                stride=pair(stride), padding=pair(padding), dilation=pair(dilation),
                groups=_int(groups), name=name)


def conv2d_grad_weight(x: Any, g: Any, kernel_size: Any, *, stride: Any = 1, padding: Any = 0,
                       dilation: Any = 1, groups: int = 1, name: str | None = None) -> Any:
    """Gradient of ``conv2d`` w.r.t. its weights, of shape (C_out, C_in/groups, kH, kW)."""
    return bind(CONV2D_GRAD_WEIGHT, x, g, kernel_size=pair(tuple(kernel_size)),
                stride=pair(stride), padding=pair(padding), dilation=pair(dilation),
                groups=_int(groups), name=name)


__all__ = ["conv2d", "conv2d_grad_input", "conv2d_grad_weight"]
