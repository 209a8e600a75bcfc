"""1-D, 2-D and 3-D pooling (N, C, *spatial): max_poolNd and avg_poolNd with PyTorch
semantics (dilation, ceil_mode, count_include_pad, divisor_override, return_indices),
and their gradients as registered ops. One N-d implementation serves every rank. No
loops over pixels: each kernel offset is one strided slice of the padded input, combined
with whole-array maximum / add (prod(k) vector ops).

Max pooling routes the gradient to the first maximum of each window, or to its last NaN
(as PyTorch does: a NaN counts as the maximum, as in the forward);
``max_pool2d_select(x, v)`` picks ``v`` at those argmax positions, which is both the
tangent rule of max pooling and the transpose of its gradient routing. Both copy the
kH*kW taps once into one contiguous array, take the window maxima and a boolean mask per
tap (equality with the maximum, minus the taps already taken), and route values through
the masks with a bitwise and (no data-dependent branches, exact for inf/NaN gradients);
when the windows do not overlap (stride >= kernel, LeNet's 2x2 pools) each tap's result
is written straight into the input-shaped gradient with no read-modify-write (and no
zero-filling when they tile it).

On the GPU (CuPy arrays, the op records' ``gpu``) every pass is one CUDA kernel
(``_pool_gpu``): a thread per output element for the forward passes, a thread per input
element for the gradients (gathered from every window over it, no atomics).

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

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Gpu, Onnx, Op, register, tt
from graphnn.ops import onnx_conv as oc
from graphnn.ops.conv import (
    _int,
    _offsets,
    _pad2d,
    _prod,
    _result_buffer,
    _workspace,
    check_fits,
    check_pair,
    check_size,
    ntuple,
    out_size,
    pooled_shape,
)
from graphnn.ops.kernels import _geom3, _geom_params, _kernel
from graphnn.ops.reduce import mean

# -- helpers (xp first; codegen copies them) -------------------------------------------


def _pool_geom(xp: Any, size: tuple[int, ...], kernel: tuple[int, ...],
               stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...],
               ceil_mode: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(output sizes, extra padding at the end of each axis): ceil_mode windows that run
    past the padded input read that extra padding (PyTorch's output-size rule)."""
    out, extra = [], []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        o = span // s + 1
        if ceil_mode:
            o = -(-span // s) + 1
            if (o - 1) * s >= n + p:
                o -= 1
        out.append(o)
        extra.append(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p)))
    return tuple(out), tuple(extra)


def _tap(xp: Any, xpad: Any, off: tuple[int, ...], stride: tuple[int, ...],
         dilation: tuple[int, ...], out: tuple[int, ...]) -> Any:
    """Strided view of the input under kernel offset ``off`` of every window: (N, C, *O)."""
    return xpad[(slice(None), slice(None)) + tuple(
        slice(i * d, i * d + s * (o - 1) + 1, s) for i, d, s, o in zip(off, dilation, stride,
                                                                        out))]


def _max_pool2d(xp: Any, x: Any, kernel_size: tuple[int, ...], stride: tuple[int, ...],
                padding: tuple[int, ...], dilation: tuple[int, ...] | None = None,
                ceil_mode: bool = False, out: Any = None) -> Any:
    """Max over each (dilated) window, any spatial rank; padding counts as -inf. Written
    into ``out`` when it fits (``_result_buffer``)."""
    dilation = dilation or (1,) * len(kernel_size)
    buf = out
    out, extra = _pool_geom(xp, tuple(x.shape[2:]), kernel_size, stride, padding, dilation,
                            ceil_mode)
    xpad = _pad2d(xp, x, padding, float("-inf"), extra)
    res = _result_buffer(xp, buf, tuple(x.shape[:2]) + tuple(out), x.dtype)
    for k, off in enumerate(_offsets(xp, kernel_size)):
        t = _tap(xp, xpad, off, stride, dilation, out)
        if k == 0:
            res[...] = t
        else:
            xp.maximum(res, t, out=res)
    return res


def _pool_taps(xp: Any, xpad: Any, kernel_size: tuple[int, ...], stride: tuple[int, ...],
               dilation: tuple[int, ...], out: tuple[int, ...]) -> Any:
    """Every kernel tap of every window copied into one contiguous (K, N, C, *O) array
    (taps in row-major kernel order): later passes then run over contiguous memory. A
    scratch buffer (``_workspace``), valid until the next call in this thread: callers
    use it and drop it."""
    offs = _offsets(xp, kernel_size)
    taps = _workspace(xp, "pool_taps", (len(offs),) + tuple(xpad.shape[:2]) + tuple(out),
                      xpad.dtype)
    for t, off in enumerate(offs):
        taps[t] = _tap(xp, xpad, off, stride, dilation, out)
    return taps


def _tap_pos(xp: Any, size: tuple[int, ...], kernel_size: tuple[int, ...],
             stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...],
             out: tuple[int, ...]) -> tuple[Any, Any]:
    """(inside, flat), both (K, *O): whether tap k of each window reads a real input (not
    padding) and that input's flat index within its (unpadded) plane."""
    nd = len(size)
    inside, flat, step = None, None, 1
    for a in range(nd - 1, -1, -1):
        pos = (xp.arange(kernel_size[a]) * dilation[a])[:, None] + (
            xp.arange(out[a]) * stride[a] - padding[a])[None, :]
        shp = [1] * (2 * nd)
        shp[a], shp[nd + a] = kernel_size[a], out[a]
        pos = xp.reshape(pos, tuple(shp))
        ok = (pos >= 0) & (pos < size[a])
        inside = ok if inside is None else inside & ok
        flat = pos * step if flat is None else flat + pos * step
        step *= size[a]
    full = tuple(kernel_size) + tuple(out)
    k = 1
    for e in kernel_size:
        k *= e
    return (xp.reshape(xp.broadcast_to(inside, full), (k,) + tuple(out)),
            xp.reshape(xp.broadcast_to(flat, full), (k,) + tuple(out)))


def _max_pool2d_masks(xp: Any, x: Any, kernel_size: tuple[int, ...],
                      stride: tuple[int, ...], padding: tuple[int, ...],
                      dilation: tuple[int, ...] | None = None,
                      ceil_mode: bool = False) -> Any:
    """Boolean (K, N, C, *O): True where tap k holds the maximum of its window: the
    first one in row-major order among the real inputs, or the last NaN (PyTorch's
    ``val > max || isnan(val)`` scan; a NaN is the maximum)."""
    dilation = dilation or (1,) * len(kernel_size)
    size = tuple(x.shape[2:])
    out, extra = _pool_geom(xp, size, kernel_size, stride, padding, dilation, ceil_mode)
    taps = _pool_taps(xp, _pad2d(xp, x, padding, float("-inf"), extra), kernel_size, stride,
                      dilation, out)
    hit = taps == xp.max(taps, axis=0)  # never true in a window with a NaN
    if any(padding) or any(extra):  # a window of -inf: its first real input, not the pad
        inside = _tap_pos(xp, size, kernel_size, stride, padding, dilation, out)[0]
        hit &= xp.reshape(inside, (inside.shape[0], 1, 1) + tuple(out))
    taken = hit[0].copy()
    for k in range(1, hit.shape[0]):
        hit[k] &= ~taken
        if k < hit.shape[0] - 1:
            taken |= hit[k]
    nan = taps != taps
    if nan.any():  # each window's last NaN
        later = nan[-1].copy()
        for k in range(nan.shape[0] - 2, -1, -1):
            nan[k] &= ~later
            later |= nan[k]
        hit |= nan
    return hit


def _max_pool2d_indices(xp: Any, x: Any, kernel_size: tuple[int, ...],
                        stride: tuple[int, ...], padding: tuple[int, ...],
                        dilation: tuple[int, ...] | None = None,
                        ceil_mode: bool = False) -> Any:
    """PyTorch's return_indices: the flat index within its (unpadded) plane of each
    window's first maximum, int64 (N, C, *O)."""
    dilation = dilation or (1,) * len(kernel_size)
    hit = _max_pool2d_masks(xp, x, kernel_size, stride, padding, dilation, ceil_mode)
    out = tuple(hit.shape[3:])
    flat = _tap_pos(xp, tuple(x.shape[2:]), kernel_size, stride, padding, dilation, out)[1]
    flat = xp.reshape(flat.astype(xp.int64), (flat.shape[0], 1, 1) + out)
    return xp.sum(hit * flat, axis=0)


def _select_bits(xp: Any, mask: Any, v: Any) -> tuple[Any, Any]:
    """(bits of v, mask as all-ones/zero words): ``bits & mask`` is v where mask, else +0.
    A bitwise and has no data-dependent branches (xp.where has, and is ~10x slower on
    random masks) and, unlike v * mask, keeps inf/NaN out of unselected entries. The words
    are a scratch buffer (``_workspace``), valid until the next call in this thread."""
    u = xp.dtype(f"u{v.dtype.itemsize}")
    bits = _workspace(xp, "pool_bits", tuple(mask.shape), u)
    bits[...] = mask
    return v.view(u), xp.negative(bits, out=bits)


def _max_pool2d_grad(xp: Any, x: Any, g: Any, kernel_size: tuple[int, ...],
                     stride: tuple[int, ...], padding: tuple[int, ...],
                     dilation: tuple[int, ...] | None = None, ceil_mode: bool = False,
                     out: Any = None) -> Any:
    """Route each window's gradient to its (first) maximum; overlaps add up. Written
    into ``out`` when it fits (``_result_buffer``: no padding)."""
    buf = out
    dilation = dilation or (1,) * len(kernel_size)
    hit = _max_pool2d_masks(xp, x, kernel_size, stride, padding, dilation, ceil_mode)
    gu, bits = _select_bits(xp, hit, g)
    size = tuple(x.shape[2:])
    out = tuple(g.shape[2:])
    extra = _pool_geom(xp, size, kernel_size, stride, padding, dilation, ceil_mode)[1]
    padded = tuple(n + 2 * p + e for n, p, e in zip(size, padding, extra))
    one = all(d == 1 for d in dilation)
    disjoint = one and all(s >= k for s, k in zip(stride, kernel_size))
    tiled = one and all(s == k and o * k == n for s, k, o, n in
                        zip(stride, kernel_size, out, padded))
    dx = _result_buffer(xp, buf, tuple(x.shape[:2]) + padded, g.dtype, zero=not tiled)
    for t, off in enumerate(_offsets(xp, kernel_size)):
        if disjoint:  # every input under at most one tap: write, no read-modify-write
            xp.bitwise_and(gu, bits[t],
                           out=_tap(xp, dx.view(gu.dtype), off, stride, dilation, out))
        else:
            _tap(xp, dx, off, stride, dilation, out)[...] += xp.bitwise_and(
                gu, bits[t]).view(g.dtype)
    return dx[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in
                                                 zip(padding, size))]


def _max_pool2d_select(xp: Any, x: Any, v: Any, kernel_size: tuple[int, ...],
                       stride: tuple[int, ...], padding: tuple[int, ...],
                       dilation: tuple[int, ...] | None = None,
                       ceil_mode: bool = False) -> Any:
    """``v`` taken at the argmax position of each window of ``x``."""
    dilation = dilation or (1,) * len(kernel_size)
    hit = _max_pool2d_masks(xp, x, kernel_size, stride, padding, dilation, ceil_mode)
    out, extra = _pool_geom(xp, tuple(x.shape[2:]), kernel_size, stride, padding, dilation,
                            ceil_mode)
    vt = _pool_taps(xp, _pad2d(xp, v, padding, 0.0, extra), kernel_size, stride, dilation,
                    out)
    vu, bits = _select_bits(xp, hit, vt)
    res = xp.bitwise_and(vu[0], bits[0])
    for k in range(1, hit.shape[0]):
        res |= xp.bitwise_and(vu[k], bits[k])  # one tap selected per window: exact
    return res.view(v.dtype)


def _avg_divisor(xp: Any, size: tuple[int, ...], kernel_size: tuple[int, ...],
                 stride: tuple[int, ...], padding: tuple[int, ...], out: tuple[int, ...],
                 count_include_pad: bool, divisor_override: Any, dtype: Any) -> Any:
    """What each window's sum is divided by (PyTorch's rule): divisor_override; else the
    window clipped to the padded input (count_include_pad) or to the real input; one
    factor per axis, so an (*O) array (a number when every window is whole)."""
    if divisor_override:
        return divisor_override
    nd = len(size)
    div = None
    for a in range(nd):
        start = xp.arange(out[a]) * stride[a] - padding[a]
        end = xp.minimum(start + kernel_size[a], size[a] + padding[a])
        if count_include_pad:
            cnt = end - start
        else:
            cnt = xp.minimum(end, size[a]) - xp.maximum(start, 0)
        shp = [1] * nd
        shp[a] = out[a]
        cnt = xp.reshape(cnt.astype(dtype), tuple(shp))
        div = cnt if div is None else div * cnt
    return div


def _avg_pool2d(xp: Any, x: Any, kernel_size: tuple[int, ...], stride: tuple[int, ...],
                padding: tuple[int, ...], count_include_pad: bool = True,
                ceil_mode: bool = False, divisor_override: Any = None) -> Any:
    """Mean over each window (zero padding), any spatial rank."""
    nd = len(kernel_size)
    size = tuple(x.shape[2:])
    out, extra = _pool_geom(xp, size, kernel_size, stride, padding, (1,) * nd, ceil_mode)
    xpad = _pad2d(xp, x, padding, 0.0, extra)
    s = None
    for off in _offsets(xp, kernel_size):
        t = _tap(xp, xpad, off, stride, (1,) * nd, out)
        s = xp.array(t) if s is None else s + t
    return s / _avg_divisor(xp, size, kernel_size, stride, padding, out, count_include_pad,
                            divisor_override, x.dtype)


def _avg_pool2d_grad(xp: Any, g: Any, input_size: tuple[int, ...],
                     kernel_size: tuple[int, ...], stride: tuple[int, ...],
                     padding: tuple[int, ...], count_include_pad: bool = True,
                     ceil_mode: bool = False, divisor_override: Any = None,
                     out: Any = None) -> Any:
    """Spread each window's gradient evenly over the window (g / divisor per tap);
    written into ``out`` when it fits (``_result_buffer``: no padding)."""
    buf = out
    nd = len(kernel_size)
    size = tuple(input_size)
    out, extra = _pool_geom(xp, size, kernel_size, stride, padding, (1,) * nd, ceil_mode)
    gd = g / _avg_divisor(xp, size, kernel_size, stride, padding, out, count_include_pad,
                          divisor_override, g.dtype)
    dx = _result_buffer(xp, buf, tuple(g.shape[:2]) + tuple(
        n + 2 * p + e for n, p, e in zip(size, padding, extra)), g.dtype, zero=True)
    for off in _offsets(xp, kernel_size):
        _tap(xp, dx, off, stride, (1,) * nd, out)[...] += gd
    return dx[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in
                                                 zip(padding, size))]


# -- GPU kernels (CuPy) -------------------------------------------------------------------

def _pool_cuda(xp: Any, kind: str) -> Any:
    """The CuPy ElementwiseKernel of pooling pass ``kind`` (made once, then kept): one
    CUDA thread per output element (forward passes) or per input element (gradients,
    gathered from every window over it in kernel-tap order, the order the NumPy code
    adds in: deterministic, no atomics). The geometry is 3-D: leading axes of size 1 for
    1-D and 2-D pools."""
    return _kernel(xp, ("pool", kind), lambda: _pool_source(kind))


def _pool_source(kind: str) -> tuple[str, ...]:
    """(ins, outs, body, name, preamble) of ``_pool_cuda``'s kernel ``kind``."""
    common = r"""
struct gn_pool { int n[3], o[3], k[3], s[3], p[3], l[3]; };

template <typename T>
__device__ long long gn_argmax(const T* x, const gn_pool& q, const int* o) {
    // flat index in the plane of window o's maximum: the first one, or the last NaN
    long long best = -1;
    T m = x[0];
    for (int a = 0; a < q.k[0]; ++a) {
        int d = o[0] * q.s[0] - q.p[0] + a * q.l[0];
        if (d < 0 || d >= q.n[0]) continue;
        for (int b = 0; b < q.k[1]; ++b) {
            int h = o[1] * q.s[1] - q.p[1] + b * q.l[1];
            if (h < 0 || h >= q.n[1]) continue;
            for (int c = 0; c < q.k[2]; ++c) {
                int w = o[2] * q.s[2] - q.p[2] + c * q.l[2];
                if (w < 0 || w >= q.n[2]) continue;
                long long j = ((long long)d * q.n[1] + h) * q.n[2] + w;
                T v = x[j];
                if (best < 0 || v > m || v != v) { m = v; best = j; }
            }
        }
    }
    return best;
}

template <typename U>
__device__ U gn_divisor(const gn_pool& q, const int* o, int cip, long long over) {
    if (over) return U((float)over);
    U div = U(1.0f);
    for (int a = 0; a < 3; ++a) {
        int start = o[a] * q.s[a] - q.p[a];
        int end = min(start + q.k[a], q.n[a] + q.p[a]);
        int c = cip ? end - start : min(end, q.n[a]) - max(start, 0);
        div = div * U((float)c);
    }
    return div;
}
"""
    head = """
const gn_pool q = {{D, H, W}, {OD, OH, OW}, {KD, KH, KW}, {SD, SH, SW}, {PD, PH, PW},
                   {LD, LH, LW}};
const long long plane = (long long)D * H * W, oplane = (long long)OD * OH * OW;
long long t = i;
int o[3], p[3];
"""
    per_out = """o[2] = (int)(t % OW); t /= OW; o[1] = (int)(t % OH); t /= OH;
o[0] = (int)(t % OD); t /= OD;
"""
    per_in = """p[2] = (int)(t % W); t /= W; p[1] = (int)(t % H); t /= H;
p[0] = (int)(t % D); t /= D;
"""
    windows = """for (int a = 0; a < KD; ++a) { o[0] = p[0] + PD - a * LD;
  if (o[0] < 0 || o[0] % SD || (o[0] /= SD) >= OD) continue;
  for (int b = 0; b < KH; ++b) { o[1] = p[1] + PH - b * LH;
    if (o[1] < 0 || o[1] % SH || (o[1] /= SH) >= OH) continue;
    for (int c = 0; c < KW; ++c) { o[2] = p[2] + PW - c * LW;
      if (o[2] < 0 || o[2] % SW || (o[2] /= SW) >= OW) continue;
      const long long k = t * oplane + ((long long)o[0] * OH + o[1]) * OW + o[2];
"""
    taps = """for (int a = 0; a < KD; ++a) { p[0] = o[0] * SD - PD + a;
  if (p[0] < 0 || p[0] >= D) continue;
  for (int b = 0; b < KH; ++b) { p[1] = o[1] * SH - PH + b;
    if (p[1] < 0 || p[1] >= H) continue;
    for (int c = 0; c < KW; ++c) { p[2] = o[2] * SW - PW + c;
      if (p[2] < 0 || p[2] >= W) continue;
"""
    argmax = "const long long j = gn_argmax(&x[t * plane], q, o);\n"
    ins, outs, body = {
        "max": ("raw T x, T low", "T y", per_out + argmax + "y = j < 0 ? low : x[t * plane + j];"),
        "index": ("raw T x", "int64 y", per_out + argmax + "y = j < 0 ? 0 : j;"),
        "select": ("raw T x, raw U v", "U y",
                   per_out + argmax + "y = j < 0 ? U(0) : v[t * plane + j];"),
        "max_grad": ("raw T x, raw U gy", "U dx", per_in
                     + "const long long me = ((long long)p[0] * H + p[1]) * W + p[2];\n"
                     "U acc = U(0);\n" + windows
                     + "      if (gn_argmax(&x[t * plane], q, o) == me) acc = acc + gy[k];\n"
                     "}}}\ndx = acc;"),
        "avg": ("raw T x, int32 cip, int64 over", "U y", per_out + "T acc = T(0);\n" + taps
                + "      acc = acc + x[t * plane + ((long long)p[0] * H + p[1]) * W + p[2]];\n"
                "}}}\ny = U(acc) / gn_divisor<U>(q, o, cip, over);"),
        "avg_grad": ("raw T gy, int32 cip, int64 over", "T dx", per_in + "T acc = T(0);\n"
                     + windows + "      acc = acc + T(gy[k] / gn_divisor<T>(q, o, cip, over));\n"
                     "}}}\ndx = acc;"),
    }[kind]
    return f"{ins}, {_geom_params()}", outs, head + body, f"graphnn_pool_{kind}", common


def _pool_gpu(xp: Any, kind: str, x: Any, v: Any = None,
              kernel_size: tuple[int, ...] = (1,), stride: tuple[int, ...] = (1,),
              padding: tuple[int, ...] = (0,), dilation: tuple[int, ...] | None = None,
              ceil_mode: bool = False, count_include_pad: bool = True,
              divisor_override: Any = None, input_size: tuple[int, ...] | None = None) -> Any:
    """Pooling pass ``kind`` on CuPy arrays, one kernel (``_pool_cuda``): "max",
    "index" (return_indices), "select" (``v`` at each window's argmax of ``x``),
    "max_grad" (``v``: dY), "avg", "avg_grad" (``x``: dY; ``input_size``)."""
    nd = len(kernel_size)
    dilation = dilation or (1,) * nd
    grad = kind in ("max_grad", "avg_grad")
    size = tuple(input_size) if kind == "avg_grad" else tuple(x.shape[2:])
    out = _pool_geom(xp, size, kernel_size, stride, padding, dilation, ceil_mode)[0]
    lead = tuple(x.shape[:2])
    shape = lead + (size if grad else out)
    if kind == "avg":  # the NumPy code's s / divisor: integers give float64
        dt = x.dtype if x.dtype.kind in "fc" else xp.dtype(xp.float64)
    elif kind == "index":
        dt = xp.dtype(xp.int64)
    else:
        dt = x.dtype if v is None else v.dtype
    y = xp.empty(shape, dtype=dt)
    if y.size == 0:
        return y
    geom = _geom3(size, out, kernel_size, stride, padding, dilation)
    args: list[Any] = [xp.ascontiguousarray(x)]
    if v is not None:
        args.append(xp.ascontiguousarray(v))
    if kind == "max":  # a window of padding only (the NumPy code pads with -inf)
        kd = x.dtype.kind
        args.append(x.dtype.type(float("-inf") if kd in "fc" else
                                 (False if kd == "b" else xp.iinfo(x.dtype).min)))
    if kind in ("avg", "avg_grad"):
        args += [int(bool(count_include_pad)), int(divisor_override or 0)]
    _pool_cuda(xp, kind)(*args, *geom, y)
    return y


# -- checks and shapes --------------------------------------------------------------------


def _nd(kernel_size: Any) -> int:
    return len(kernel_size) if isinstance(kernel_size, tuple) else 2


def _pool_params(kernel_size: Any, stride: Any, padding: Any, dilation: Any = None,
                 divisor_override: Any = None) -> None:
    nd = len(padding) if isinstance(padding, tuple) else _nd(kernel_size)
    check_pair("kernel_size", kernel_size, 1, nd)
    check_pair("stride", stride, 1, nd)
    check_pair("padding", padding, 0, nd)
    if dilation is not None:
        check_pair("dilation", dilation, 1, nd)
    for p, k in zip(padding, kernel_size):
        if 2 * p > k:
            raise ValueError(f"padding {','.join(map(str, padding))} is more than half the "
                             f"kernel {'x'.join(map(str, kernel_size))} (PyTorch's rule: "
                             "pad <= k/2)")
    if divisor_override is not None and (not isinstance(divisor_override, int) or isinstance(
            divisor_override, bool) or divisor_override < 1):
        raise ValueError(f"divisor_override must be a positive int or None, got "
                         f"{divisor_override!r}")


def _pool_check(x: S.Shape, *rest: S.Shape, kernel_size: Any, stride: Any, padding: Any,
                input_size: Any = None, dilation: Any = None, divisor_override: Any = None,
                **_: Any) -> None:
    _pool_params(kernel_size, stride, padding, dilation, divisor_override)
    nd = len(padding)
    hw = input_size if input_size is not None else (x[2:] if len(x) == nd + 2 else None)
    if hw is not None:
        check_fits(tuple(hw), kernel_size, padding, dilation)


_AXES = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _pool_shape(x: S.Shape, *rest: S.Shape, kernel_size: Any, stride: Any, padding: Any,
                dilation: Any = None, ceil_mode: bool = False, **_: Any) -> S.Shape:
    """(N, C, *((W + 2P - D (F - 1) - 1) / S + 1)), rounded down (up with ceil_mode)."""
    nd = len(kernel_size)
    if len(x) != nd + 2:
        raise ValueError(f"input must be {nd + 2}-D {_AXES[nd]}, got shape {x}")
    dilation = dilation or (1,) * nd
    out = (x[0], x[1]) + tuple(out_size(*a, ceil=bool(ceil_mode)) for a in
                               zip(x[2:], kernel_size, stride, padding, dilation))
    return pooled_shape(x, out, rest)


def _grad_shape(x: S.Shape, g: S.Shape, **p: Any) -> S.Shape:
    out = _pool_shape(x, **p)
    if tuple(g) != out:
        raise ValueError(f"gradient {g} does not match the pooled output {out}")
    return tuple(x)


def _avg_grad_shape(g: S.Shape, *, input_size: Any, **p: Any) -> S.Shape:
    x = tuple(g[:2]) + tuple(input_size)
    if len(g) != len(x) or _pool_shape(x, **p) != tuple(g):
        raise ValueError(f"gradient {g} is not the pooled output of an input {x}")
    check_size(x)
    return x


def _pool_cost(x: S.Shape, *rest: Any, kernel_size: Any, **_: Any) -> int:
    return _prod(rest[-1]) * _prod(kernel_size)


# -- the ops ----------------------------------------------------------------------------------

_PM = ("kernel_size={kernel_size}, stride={stride}, padding={padding}, dilation={dilation}, "
       "ceil_mode={ceil_mode}")
_PA = ("kernel_size={kernel_size}, stride={stride}, padding={padding}, "
       "count_include_pad={count_include_pad}, ceil_mode={ceil_mode}, "
       "divisor_override={divisor_override}")
_BASE = (_offsets, _pad2d, _pool_geom, _tap, _result_buffer)
_ARGM = _BASE + (_workspace, _pool_taps, _tap_pos, _max_pool2d_masks, _select_bits)


def _gpu(kind: str, inputs: str) -> Gpu:
    """The op's CuPy code: pooling pass ``kind`` (``_pool_gpu``) on its ``inputs``
    ("x": one array; "xv": two)."""
    if inputs == "x":
        def forward(xp: Any, x: Any, **p: Any) -> Any:
            return _pool_gpu(xp, kind, x, None, **p)
        args = "{0}, None"
    else:
        def forward(xp: Any, x: Any, v: Any, **p: Any) -> Any:  # type: ignore[misc]
            return _pool_gpu(xp, kind, x, v, **p)
        args = "{0}, {1}"
    attrs = {"avg": _PA, "avg_grad": _PA + ", input_size={input_size}"}.get(kind, _PM)
    return Gpu(forward=forward, call=f"_pool_gpu(xp, {kind!r}, {args}, {attrs})",
               helpers=(_kernel, _geom_params, _geom3, _pool_geom, _pool_cuda, _pool_source,
                        _pool_gpu))


MAX: dict[int, Op] = {}
MAX_GRAD: dict[int, Op] = {}
MAX_SELECT: dict[int, Op] = {}
MAX_INDICES: dict[int, Op] = {}
AVG: dict[int, Op] = {}
AVG_GRAD: dict[int, Op] = {}


def _k(p: dict[str, Any]) -> int:
    return len(p["kernel_size"])


def _avg_vjp(g: Any, out: Any, x: Any, **p: Any) -> tuple[Any, ...]:
    return (lambda: bind(AVG_GRAD[_k(p)], g, input_size=tuple(x.shape[2:]), **p),)


for _n in (1, 2, 3):
    _s = "" if _n == 2 else f"{_n}d "
    MAX[_n] = register(Op(
        gpu=_gpu("max", "x"),
        name=f"max_pool{_n}d", forward=_max_pool2d, shape=_pool_shape, check=_pool_check,
        vjp=lambda g, out, x, **p: (lambda: bind(MAX_GRAD[_k(p)], x, g, **p),),
        jvp=lambda t, out, x, **p: None if t[0] is None else bind(MAX_SELECT[_k(p)], x,
                                                                   t[0], **p),
        numpy="_max_pool2d(xp, {0}, " + _PM + ")", label=f"max pool {_s}".strip(), fresh=True,
        numpy_out="_max_pool2d(xp, {0}, " + _PM + ", out={out})",
        trace=tt("dX = dY routed to the (first) max of each window, 0 elsewhere"),
        cost=_pool_cost, helpers=_BASE + (_max_pool2d,),
        onnx=Onnx(export=oc.export_pool("MaxPool"), imports={"MaxPool": oc.import_maxpool}),
        doc=f"{_n}-D max pooling (PyTorch's F.max_pool{_n}d)",
    ))
    MAX_GRAD[_n] = register(Op(
        gpu=_gpu("max_grad", "xv"),
        name=f"max_pool{_n}d_grad", forward=_max_pool2d_grad, shape=_grad_shape,
        check=_pool_check,
        # piecewise constant in x; linear in g with transpose max_pool_select
        vjp=lambda c, out, x, g, **p: (None, lambda: bind(MAX_SELECT[_k(p)], x, c, **p)),
        jvp=lambda t, out, x, g, **p: None if t[1] is None else bind(MAX_GRAD[_k(p)], x,
                                                                      t[1], **p),
        numpy="_max_pool2d_grad(xp, {0}, {1}, " + _PM + ")", label=f"max pool {_s}dX",
        numpy_out="_max_pool2d_grad(xp, {0}, {1}, " + _PM + ", out={out})", fresh=True,
        trace=tt("dX = dY scattered to each window's argmax"),
        cost=lambda x, g, out, **p: _pool_cost(x, g, **p),
        helpers=_ARGM + (_max_pool2d_grad,), onnx=oc.NO_POOL_GRAD,
        doc=f"gradient of max_pool{_n}d",
    ))
    MAX_SELECT[_n] = register(Op(
        gpu=_gpu("select", "xv"),
        name=f"max_pool{_n}d_select", forward=_max_pool2d_select, shape=_pool_shape,
        check=_pool_check,
        vjp=lambda c, out, x, v, **p: (None, lambda: bind(MAX_GRAD[_k(p)], x, c, **p)),
        jvp=lambda t, out, x, v, **p: None if t[1] is None else bind(MAX_SELECT[_k(p)], x,
                                                                      t[1], **p),
        numpy="_max_pool2d_select(xp, {0}, {1}, " + _PM + ")", label=f"max pool {_s}pick",
        trace=tt("dV = dY scattered to each window's argmax of X"), cost=_pool_cost,
        helpers=_ARGM + (_max_pool2d_select,), onnx=oc.NO_POOL_SELECT,
        doc=f"values picked at the window argmax of max_pool{_n}d",
    ))
    MAX_INDICES[_n] = register(Op(
        gpu=_gpu("index", "x"),
        name=f"max_pool{_n}d_indices", forward=_max_pool2d_indices, shape=_pool_shape,
        check=_pool_check, dtype=lambda *dts, **p: np.dtype("int64"),
        vjp=lambda g, out, x, **p: (None,), jvp=lambda t, out, x, **p: None, nondiff=(0,),
        numpy="_max_pool2d_indices(xp, {0}, " + _PM + ")", label=f"max pool {_s}indices",
        trace=tt("no gradient (integer indices)"), cost=_pool_cost,
        helpers=_ARGM + (_max_pool2d_indices,),
        onnx=Onnx(export=oc.export_pool_indices, imports=oc.NO_INDICES_IMPORT),
        doc=f"return_indices of max_pool{_n}d: flat argmax index per plane",
    ))
    AVG[_n] = register(Op(
        gpu=_gpu("avg", "x"),
        name=f"avg_pool{_n}d", forward=_avg_pool2d, shape=_pool_shape, check=_pool_check,
        vjp=_avg_vjp,
        jvp=lambda t, out, x, **p: None if t[0] is None else bind(AVG[_k(p)], t[0], **p),
        numpy="_avg_pool2d(xp, {0}, " + _PA + ")", label=f"avg pool {_s}".strip(), fresh=True,
        trace=tt("dX = dY / k spread over each window"), cost=_pool_cost,
        helpers=_BASE + (_avg_divisor, _avg_pool2d),
        onnx=Onnx(export=oc.export_pool("AveragePool"),
                  imports={"AveragePool": oc.import_avgpool}),
        doc=f"{_n}-D average pooling (PyTorch's F.avg_pool{_n}d)",
    ))
    AVG_GRAD[_n] = register(Op(
        gpu=_gpu("avg_grad", "x"),
        name=f"avg_pool{_n}d_grad", forward=_avg_pool2d_grad, shape=_avg_grad_shape,
        check=_pool_check,
        vjp=lambda c, out, g, input_size, **p: (lambda: bind(AVG[_k(p)], c, **p),),
        jvp=lambda t, out, g, **p: None if t[0] is None else bind(AVG_GRAD[_k(p)], t[0], **p),
        numpy="_avg_pool2d_grad(xp, {0}, input_size={input_size}, " + _PA + ")",
        numpy_out="_avg_pool2d_grad(xp, {0}, input_size={input_size}, " + _PA + ", out={out})",
        fresh=True,
        label=f"avg pool {_s}dX", trace=tt("dX = dY / k spread over each window (linear)"),
        cost=lambda g, out, **p: _pool_cost(out, g, **p),
        helpers=_BASE + (_avg_divisor, _avg_pool2d_grad), onnx=oc.NO_POOL_GRAD,
        doc=f"gradient of avg_pool{_n}d",
    ))
MAX_POOL2D, MAX_POOL2D_GRAD, MAX_POOL2D_SELECT = MAX[2], MAX_GRAD[2], MAX_SELECT[2]
AVG_POOL2D, AVG_POOL2D_GRAD = AVG[2], AVG_GRAD[2]


def _max_args(nd: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: Any) -> dict[str, Any]:
    k = ntuple(kernel_size, nd)
    return {"kernel_size": k,
            "stride": k if stride is None or stride in ((), []) else ntuple(stride, nd),
            "padding": ntuple(padding, nd), "dilation": ntuple(dilation, nd),
            "ceil_mode": bool(ceil_mode)}


def _avg_args(nd: int, kernel_size: Any, stride: Any, padding: Any, ceil_mode: Any,
              count_include_pad: Any, divisor_override: Any) -> dict[str, Any]:
    a = _max_args(nd, kernel_size, stride, padding, 1, ceil_mode)
    del a["dilation"]
    dv = divisor_override
    return {**a, "count_include_pad": bool(count_include_pad),
            "divisor_override": _int(dv)}


def _max_pool(nd: int, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: Any, return_indices: bool, name: str | None) -> Any:
    a = _max_args(nd, kernel_size, stride, padding, dilation, ceil_mode)
    y = bind(MAX[nd], x, **a, name=name)
    if return_indices:
        return y, bind(MAX_INDICES[nd], x, **a)
    return y


def max_pool1d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False, *,
               name: str | None = None) -> Any:
    """Max over windows of an (N, C, L) input (PyTorch's F.max_pool1d; stride defaults to
    the kernel size, padding counts as -inf and may be at most half the kernel).
    ``return_indices=True`` also returns each maximum's flat index (int64).

    >>> import numpy as np
    >>> max_pool1d(np.array([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2, ceil_mode=True)
    array([[[3., 5., 4.]]])
    """
    return _max_pool(1, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     name)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False, *,
               name: str | None = None) -> Any:
    """Max over kH x kW windows of an NCHW input (stride defaults to the kernel size;
    padding counts as -inf and may be at most half the kernel). No parameters.
    Output size per axis: (W + 2P - D (F - 1) - 1) // S + 1 (rounded up with ceil_mode).
    ``return_indices=True`` returns (values, indices): the flat index h * W + w of each
    maximum in its plane, int64, as PyTorch.

    >>> import numpy as np
    >>> y, i = max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
    >>> i[0, 0]
    array([[ 5,  7],
           [13, 15]])
    """
    return _max_pool(2, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     name)


def max_pool3d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False, *,
               name: str | None = None) -> Any:
    """Max over kD x kH x kW windows of an (N, C, D, H, W) input (PyTorch's F.max_pool3d).

    >>> import numpy as np
    >>> max_pool3d(np.ones((1, 1, 4, 4, 4)), 2).shape
    (1, 1, 2, 2, 2)
    """
    return _max_pool(3, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     name)


def avg_pool1d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, *,
               name: str | None = None) -> Any:
    """Mean over windows of an (N, C, L) input (PyTorch's F.avg_pool1d).

    >>> import numpy as np
    >>> avg_pool1d(np.array([[[1.0, 3.0, 2.0, 6.0]]]), 2)
    array([[[2., 4.]]])
    """
    return bind(AVG[1], x, **_avg_args(1, kernel_size, stride, padding, ceil_mode,
                                       count_include_pad, None), name=name)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None, *, name: str | None = None) -> Any:
    """Mean over kH x kW windows (zero padding). ``count_include_pad=True`` divides by
    the window clipped to the padded input (PyTorch's default); False by the number of
    real inputs in the window (ONNX AveragePool's default); ``divisor_override`` by that
    number everywhere.

    >>> import numpy as np
    >>> avg_pool2d(np.ones((1, 1, 3, 3)), 2, padding=1, count_include_pad=False)[0, 0]
    array([[1., 1.],
           [1., 1.]])
    """
    return bind(AVG[2], x, **_avg_args(2, kernel_size, stride, padding, ceil_mode,
                                       count_include_pad, divisor_override), name=name)


def avg_pool3d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None, *, name: str | None = None) -> Any:
    """Mean over kD x kH x kW windows of an (N, C, D, H, W) input (PyTorch's F.avg_pool3d).

    >>> import numpy as np
    >>> avg_pool3d(np.ones((1, 1, 2, 2, 2)), 2, divisor_override=4)[0, 0]
    array([[[2.]]])
    """
    return bind(AVG[3], x, **_avg_args(3, kernel_size, stride, padding, ceil_mode,
                                       count_include_pad, divisor_override), name=name)


def _nd_of(x: Any) -> int:
    shape = getattr(x, "shape", None)
    return len(shape) - 2 if shape is not None and len(shape) >= 3 else 2


def max_pool2d_grad(x: Any, g: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                    dilation: Any = 1, ceil_mode: bool = False, *,
                    name: str | None = None) -> Any:
    """Gradient of ``max_pool2d(x)`` (or 1-D / 3-D by the rank of ``x``) for the output
    gradient ``g`` (shape of ``x``)."""
    nd = _nd_of(x)
    return bind(MAX_GRAD[nd], x, g, **_max_args(nd, kernel_size, stride, padding, dilation,
                                                 ceil_mode), name=name)


def max_pool2d_select(x: Any, v: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                      dilation: Any = 1, ceil_mode: bool = False, *,
                      name: str | None = None) -> Any:
    """``v`` (shape of ``x``) picked at the argmax of each pooling window of ``x``."""
    nd = _nd_of(x)
    return bind(MAX_SELECT[nd], x, v, **_max_args(nd, kernel_size, stride, padding,
                                                   dilation, ceil_mode), name=name)


def avg_pool2d_grad(g: Any, input_size: Any, kernel_size: Any, stride: Any = None,
                    padding: Any = 0, count_include_pad: bool = True, ceil_mode: bool = False,
                    divisor_override: int | None = None, *, name: str | None = None) -> Any:
    """Gradient of ``avg_pool2d`` (1-D / 3-D by ``len(input_size)``) for an input of
    spatial size ``input_size``."""
    nd = len(tuple(input_size))
    return bind(AVG_GRAD[nd], g, input_size=ntuple(tuple(input_size), nd),
                **_avg_args(nd, kernel_size, stride, padding, ceil_mode, count_include_pad,
                            divisor_override), name=name)


def global_avg_pool2d(x: Any, *, name: str | None = None) -> Any:
    """Mean over H and W, keeping them: (N, C, H, W) -> (N, C, 1, 1) (a ``mean`` node)."""
    return mean(x, axis=(2, 3), keepdims=True, name=name)


__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "max_pool2d_grad", "max_pool2d_select", "avg_pool2d_grad",
           "global_avg_pool2d"]
