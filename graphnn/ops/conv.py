"""2-D convolution (NCHW) as im2col + BLAS matmuls, with its input and weight gradients
as registered ops (so the backward graph can be drawn, compiled and differentiated again).

The forward takes a strided *view* of every receptive field of the NCHW input (no copy),
(N, C, *K, *O), and copies it block by block (a few images at a time, sized to stay in
cache) into one reused ``(images, groups, C_in/groups * kH * kW, OH * OW)`` column
buffer; one batched GEMM per block writes ``W @ cols`` straight into the NCHW output (each
image's columns are already in its output's order: no layout copies of the input or the
output). The weight gradient reads the same column blocks against dY in place (its NCHW
layout is the GEMM's transposed operand). The input gradient is the transposed
convolution: one GEMM, then a scatter-add over the kH*kW kernel offsets (col2im, on
batch-last runs, see ``_batch_inner``).

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
from graphnn.core.op import Gpu, Onnx, Op, register, tt
from graphnn.ops import onnx_conv as oc
from graphnn.ops.elementwise import tsum
from graphnn.ops.kernels import _geom3, _geom_params, _kernel
from graphnn.ops.linalg import reshape
from graphnn.ops.reduce import sum

# -- helpers shared by forward code and codegen (xp first, self-contained) -----------
# One N-d implementation: every helper takes the spatial sizes as tuples of any length
# (1 for conv1d, 2 for conv2d, 3 for conv3d).


def _offsets(xp: Any, kernel: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every kernel offset (i, j, ...) in row-major order."""
    out: list[tuple[int, ...]] = [()]
    for k in kernel:
        out = [o + (i,) for o in out for i in range(k)]
    return out


def _pad2d(xp: Any, x: Any, padding: tuple[int, ...], value: float = 0.0,
           extra: tuple[int, ...] | None = None) -> Any:
    """Pad the spatial axes (2:) of an (N, C, *S) array by ``padding`` on each side (and
    ``extra`` more at the end of each axis: pools' ceil_mode windows)."""
    extra = extra or (0,) * len(padding)
    if not any(padding) and not any(extra):
        return x
    sp = tuple(x.shape[2:])
    if value == float("-inf") and x.dtype.kind in "iub":  # max pooling of integers
        value = False if x.dtype.kind == "b" else xp.iinfo(x.dtype).min
    out = xp.full(tuple(x.shape[:2]) + tuple(s + 2 * p + e for s, p, e in
                                              zip(sp, padding, extra)),
                  value, dtype=x.dtype)  # xp.pad: 3x slower
    out[(slice(None), slice(None)) + tuple(slice(p, p + s) for p, s in zip(padding, sp))] = x
    return out


def _result_buffer(xp: Any, out: Any, shape: tuple[int, ...], dtype: Any,
                   zero: bool = False) -> Any:
    """``out`` (zeroed when ``zero``) when it can hold a result of ``shape`` and ``dtype``
    (C-contiguous), else a new array: the helpers' ``out=`` (``Op.numpy_out``), through
    which compiled code hands in a buffer it keeps between calls."""
    if (out is not None and tuple(out.shape) == tuple(shape) and out.dtype == dtype
            and out.flags.c_contiguous):
        if zero:
            out[...] = 0
        return out
    return (xp.zeros if zero else xp.empty)(shape, dtype=dtype)


def _workspace(xp: Any, key: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """A scratch array for ``key`` that later calls of the same thread with the same shape
    and dtype get back (no allocation, so no page faults, after the first call). The
    function keeps them itself (so it works unchanged where codegen copies it); at most
    64 MiB each, and the store is emptied when it holds 256 MiB. Callers only use it
    within one call and never return it."""
    import threading

    nbytes = xp.dtype(dtype).itemsize
    for s in shape:
        nbytes *= s
    if nbytes > 1 << 26:
        return xp.empty(shape, dtype=dtype)
    store = _workspace.__dict__.setdefault("arrays", {})
    k = (threading.get_ident(), getattr(xp, "__name__", ""), key, tuple(shape),
         xp.dtype(dtype).str)
    buf = store.get(k)
    if buf is None:
        held = nbytes
        for a in tuple(store.values()):
            held += a.nbytes
        if held > 1 << 28:
            store.clear()
        buf = store[k] = xp.empty(shape, dtype=dtype)
    return buf


def _block(xp: Any, n: int, per_image: int, budget: int = 1 << 20) -> int:
    """Images per block: on the CPU as many as keep ``per_image`` bytes each within
    ``budget`` (the block stays in cache between its copy and its GEMM); elsewhere (CuPy)
    the whole batch, in one kernel."""
    if getattr(xp, "__name__", "") != "numpy":
        return max(n, 1)
    return max(1, min(n, budget // max(per_image, 1)))


def _batch_inner(xp: Any, n: int, ow: int, sw: int) -> bool:
    """Whether the input gradient's columns put the batch axis innermost,
    (C, *K, *O, N), rather than outermost, (C, *K, N, *O): whichever makes the contiguous
    runs that col2im adds to longer: OW * N (stride 1) or N, against OW (the last spatial
    axis). (One image: the same memory either way, and batch-outermost needs no layout
    copies.)"""
    return n > 1 and (sw == 1 or n >= ow)


def _windows(xp: Any, x: Any, kernel: tuple[int, ...], stride: tuple[int, ...],
             padding: tuple[int, ...], dilation: tuple[int, ...]) -> Any:
    """Strided view (N, C, *K, *O) of every receptive field of an (N, C, *S) array,
    zero-padded first (a copy) when ``padding``."""
    xb = _pad2d(xp, x, padding)
    out = tuple((s - d * (k - 1) - 1) // st + 1 for s, k, st, d in
                zip(xb.shape[2:], kernel, stride, dilation))
    st_ = tuple(xb.strides)
    return xp.lib.stride_tricks.as_strided(
        xb, shape=tuple(xb.shape[:2]) + tuple(kernel) + out,
        strides=st_[:2] + tuple(s * d for s, d in zip(st_[2:], dilation))
        + tuple(s * t for s, t in zip(st_[2:], stride)))


def _im2col(xp: Any, win: Any, groups: int) -> Any:
    """Yield ``(i, e, cols)`` for consecutive blocks of images ``i:e`` of a window view
    (N, C, *K, *O) from ``_windows``: ``cols`` (e - i, groups, C/groups * prod(K),
    prod(O)), each block copied into a scratch buffer (``_workspace``: the same one for
    every block and call) with each image's columns in NCHW order, so that a GEMM writes
    its result straight into the NCHW output (no layout copies). Blocks: ``_block``."""
    n, c = win.shape[:2]
    nd = (win.ndim - 2) // 2
    kk = p = 1
    for k in win.shape[2:2 + nd]:
        kk *= k
    for o in win.shape[2 + nd:]:
        p *= o
    step = _block(xp, n, c * kk * p * win.itemsize)
    for i in range(0, n, step):
        e = min(n, i + step)
        blk = _workspace(xp, "cols", (e - i,) + tuple(win.shape[1:]), win.dtype)
        blk[...] = win[i:e]
        yield i, e, xp.reshape(blk, (e - i, groups, (c // groups) * kk, p))


def _conv2d(xp: Any, x: Any, w: Any, b: Any = None, stride: tuple[int, ...] = (1, 1),
            padding: tuple[int, ...] = (0, 0), dilation: tuple[int, ...] = (1, 1),
            groups: int = 1, out: Any = None) -> Any:
    """y[n, o] = sum over c, i, ... of w[o, c, i, ...] * x[n, c, s*p + d*i, ...] (+ b[o]),
    for any number of spatial axes (conv1d, conv2d and conv3d all run it); written into
    ``out`` when it fits (``_result_buffer``)."""
    n = x.shape[0]
    co, cg = w.shape[:2]
    nd = w.ndim - 2
    win = _windows(xp, x, tuple(w.shape[2:]), stride, padding, dilation)
    y = _result_buffer(xp, out, (n, co) + tuple(win.shape[2 + nd:]), xp.result_type(x, w))
    p = 1
    for o in win.shape[2 + nd:]:
        p *= o
    yv = xp.reshape(y, (n, groups, co // groups, p))
    wg = xp.reshape(w, (groups, co // groups, -1))
    bb = None
    if b is not None:
        bb = xp.reshape(b, (co,) + (1,) * nd)
        if xp.result_type(y, b) != y.dtype:  # a wider bias widens the result
            bb = None
    for i, e, cols in _im2col(xp, win, groups):
        xp.matmul(wg, cols, out=yv[i:e])
        if bb is not None:
            y[i:e] += bb  # while the block is in cache
    if b is not None and bb is None:
        y = y + xp.reshape(b, (co,) + (1,) * nd)
    return y


def _conv2d_grad_input(xp: Any, g: Any, w: Any, input_size: tuple[int, ...] = (1, 1),
                       stride: tuple[int, ...] = (1, 1), padding: tuple[int, ...] = (0, 0),
                       dilation: tuple[int, ...] = (1, 1), groups: int = 1,
                       out: Any = None) -> Any:
    """Transposed convolution: dX for y = conv(x, w) (any spatial rank), block by block
    of images (``_block``): one GEMM per block, then col2im (one add per kernel offset)
    into the block's padded input gradient, in scratch buffers reused between calls.
    Batch-innermost blocks, (C, *S, images), when that makes the added runs longer (see
    ``_batch_inner``: OW * images at stride 1), else image-outermost ones read dY in
    place. Written into ``out`` when it fits (``_result_buffer``)."""
    n, co = g.shape[:2]
    buf, out = out, tuple(g.shape[2:])
    cg = w.shape[1]
    kernel = tuple(w.shape[2:])
    nd = len(kernel)
    c = cg * groups
    kk = p = 1
    for k in kernel:
        kk *= k
    for o in out:
        p *= o
    dt = xp.result_type(g, w)
    padded = tuple(s + 2 * q for s, q in zip(input_size, padding))
    # larger blocks than im2col's: each costs prod(K) slice adds (LeNet conv 2: 1 MiB
    # blocks 15% slower, 4 MiB as fast as the whole batch)
    step = _block(xp, n, c * kk * p * xp.dtype(dt).itemsize, 1 << 22)
    inner = _batch_inner(xp, step, out[-1], stride[-1])
    wt = xp.transpose(xp.reshape(w, (groups, co // groups, cg * kk)), (0, 2, 1))
    dx = _result_buffer(xp, buf, (n, c) + tuple(input_size), dt)
    sp = tuple(range(1, nd + 1))
    inside = tuple(slice(q, q + s) for q, s in zip(padding, input_size))
    for i in range(0, n, step):
        b = min(n, i + step) - i
        if inner:  # (C_out, *O, b) -> (C, *K, *O, b) -> (C, *S_padded, b)
            gb = _workspace(xp, "gi_g", (co,) + out + (b,), g.dtype)
            gt = xp.transpose(g[i:i + b], tuple(range(1, nd + 2)) + (0,))
            # images a multiple of 4 KiB apart all map to the same cache sets: gathering
            # one value from each of 64 of them thrashes the cache (3x slower), so copy
            # 8 images at a time
            by = 8 if g.strides[0] % 4096 == 0 else b
            for k in range(0, b, by):
                gb[..., k:k + by] = gt[..., k:k + by]
            dc = _workspace(xp, "gi_cols", (groups, cg * kk, p * b), dt)
            xp.matmul(wt, xp.reshape(gb, (groups, co // groups, p * b)), out=dc)
            dcols = xp.reshape(dc, (c,) + kernel + out + (b,))
            db = _workspace(xp, "gi_dx", (c,) + padded + (b,), dt)
            lead: tuple[Any, ...] = (slice(None),)
        else:  # (b, C, *K, *O) straight from dY's NCHW layout -> (b, C, *S_padded)
            dc = _workspace(xp, "gi_cols", (b, groups, cg * kk, p), dt)
            xp.matmul(wt, xp.reshape(g[i:i + b], (b, groups, co // groups, p)), out=dc)
            dcols = xp.reshape(dc, (b, c) + kernel + out)
            db = _workspace(xp, "gi_dx", (b, c) + padded, dt)
            lead = (slice(None), slice(None))
        db[...] = 0
        for off in _offsets(xp, kernel):
            sl = tuple(slice(j * d, j * d + s * (o - 1) + 1, s) for j, d, s, o in
                       zip(off, dilation, stride, out))
            db[lead + sl] += dcols[lead + off]
        if inner:
            dx[i:i + b] = xp.transpose(db[(slice(None),) + inside], (nd + 1, 0) + sp)
        else:
            dx[i:i + b] = db[(slice(None), slice(None)) + inside]
    return dx


def _conv2d_grad_weight(xp: Any, x: Any, g: Any, kernel_size: tuple[int, ...] = (1, 1),
                        stride: tuple[int, ...] = (1, 1), padding: tuple[int, ...] = (0, 0),
                        dilation: tuple[int, ...] = (1, 1), groups: int = 1) -> Any:
    """dW for y = conv(x, w): the columns of x times dY, summed over the images; the
    columns made block by block (``_im2col``), each block's GEMMs reading them in cache,
    dY read in place (its NCHW layout is the GEMM's transposed operand)."""
    n, co = g.shape[:2]
    c = x.shape[1]
    win = _windows(xp, x, tuple(kernel_size), stride, padding, dilation)
    gv = xp.transpose(xp.reshape(g, (n, groups, co // groups, -1)), (0, 1, 3, 2))
    kk = 1
    for k in kernel_size:
        kk *= k
    acc = xp.zeros((groups, c // groups * kk, co // groups), dtype=xp.result_type(x, g))
    for i, e, cols in _im2col(xp, win, groups):
        acc += xp.sum(xp.matmul(cols, gv[i:e]), axis=0)  # (groups, C/groups * kk, C_out/groups)
    dw = xp.transpose(acc, (0, 2, 1))
    return xp.reshape(dw, (co, c // groups) + tuple(kernel_size))


# -- GPU kernels (CuPy): im2col and col2im as one kernel each, GEMMs through cuBLAS ------


def _conv_cuda(xp: Any, kind: str) -> Any:
    """The CuPy ElementwiseKernel ``kind`` (made once, then kept), over a 3-D geometry
    (leading axes of size 1 for 1-D and 2-D convolutions). "im2col": one thread per
    column element, reading the input or the zero padding (no padded copy), columns laid
    out (images, C, *K, *O) or, with ``inner``, (C, *K, images, *O). "col2im": one
    thread per input-gradient element, summing the (images, C, *K, *O) columns of every
    output position over it in kernel-offset order (the order the NumPy code adds in:
    deterministic, no atomics)."""
    return _kernel(xp, ("conv", kind), lambda: _conv_source(kind))


def _conv_source(kind: str) -> tuple[str, ...]:
    """(ins, outs, body, name, preamble) of ``_conv_cuda``'s kernel ``kind``."""
    if kind == "im2col":
        ins, outs, body = "raw T x, int32 C, int32 N, int32 inner", "T col", """
long long t = i;
const int o2 = t % OW; t /= OW; const int o1 = t % OH; t /= OH;
const int o0 = t % OD; t /= OD;
long long n = 0;
if (inner) { n = t % N; t /= N; }
const int k2 = t % KW; t /= KW; const int k1 = t % KH; t /= KH;
const int k0 = t % KD; t /= KD;
if (!inner) { n = t / C; t %= C; }
const int d = o0 * SD - PD + k0 * LD, h = o1 * SH - PH + k1 * LH, w = o2 * SW - PW + k2 * LW;
col = (d < 0 || d >= D || h < 0 || h >= H || w < 0 || w >= W) ? T(0)
    : x[(((n * C + t) * D + d) * H + h) * W + w];"""
    else:
        ins, outs, body = "raw T col", "T dx", """
long long t = i;
const int p2 = t % W; t /= W; const int p1 = t % H; t /= H;
const int p0 = t % D; t /= D;
T acc = T(0);
for (int a = 0; a < KD; ++a) { int o0 = p0 + PD - a * LD;
  if (o0 < 0 || o0 % SD || (o0 /= SD) >= OD) continue;
  for (int b = 0; b < KH; ++b) { int o1 = p1 + PH - b * LH;
    if (o1 < 0 || o1 % SH || (o1 /= SH) >= OH) continue;
    for (int c = 0; c < KW; ++c) { int o2 = p2 + PW - c * LW;
      if (o2 < 0 || o2 % SW || (o2 /= SW) >= OW) continue;
      acc = acc + col[((((t * KD + a) * KH + b) * KW + c) * OD + o0) * OH * OW
                      + (long long)o1 * OW + o2];
}}}
dx = acc;"""
    return f"{ins}, {_geom_params()}", outs, body, f"graphnn_conv_{kind}", ""


def _conv_geom(xp: Any, size: tuple[int, ...], kernel: tuple[int, ...],
               stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...],
               ) -> tuple[tuple[int, ...], tuple[int, ...], int, int]:
    """(output sizes, the 18 ints of the kernels' 3-D geometry, kernel taps prod(K),
    output positions prod(O))."""
    out = tuple(out_size(*a) for a in zip(size, kernel, stride, padding, dilation))
    geom = _geom3(size, out, kernel, stride, padding, dilation)
    return out, geom, geom[6] * geom[7] * geom[8], geom[3] * geom[4] * geom[5]


def _conv_gpu_cols(xp: Any, x: Any, geom: tuple[int, ...], inner: bool) -> Any:
    """The im2col columns of ``x`` (images, C, *spatial), one kernel: (images, C * prod(K)
    * prod(O)) elements in the layout ``_conv_cuda`` describes."""
    n, c = x.shape[:2]
    kk = geom[6] * geom[7] * geom[8]
    p = geom[3] * geom[4] * geom[5]
    cols = xp.empty((n * c * kk * p,), dtype=x.dtype)
    if cols.size:
        _conv_cuda(xp, "im2col")(xp.ascontiguousarray(x), c, n, int(inner), *geom, cols)
    return cols


def _conv_gpu_step(xp: Any, n: int, per_image: int) -> int:
    """Images per block on the GPU: as many as keep the columns within 256 MiB."""
    return max(1, min(n, (1 << 28) // max(per_image, 1)))


def _conv_gpu(xp: Any, x: Any, w: Any, b: Any = None, stride: tuple[int, ...] = (1, 1),
              padding: tuple[int, ...] = (0, 0), dilation: tuple[int, ...] = (1, 1),
              groups: int = 1) -> Any:
    """``_conv2d`` on CuPy arrays: per block of images one im2col kernel and one batched
    GEMM (W @ cols, written straight into the NCHW output)."""
    n, c = x.shape[:2]
    co, cg = w.shape[:2]
    kernel = tuple(w.shape[2:])
    out, geom, kk, p = _conv_geom(xp, tuple(x.shape[2:]), kernel, stride, padding, dilation)
    dt = xp.result_type(x, w)
    y = xp.empty((n, co) + out, dtype=dt)
    if not c * kk:
        y[...] = 0
    elif y.size:
        x = x.astype(dt, copy=False)
        wg = xp.reshape(w.astype(dt, copy=False), (groups, co // groups, cg * kk))
        yv = xp.reshape(y, (n, groups, co // groups, p))
        step = _conv_gpu_step(xp, n, c * kk * p * y.itemsize)
        for i in range(0, n, step):
            e = min(n, i + step)
            cols = _conv_gpu_cols(xp, x[i:e], geom, False)
            xp.matmul(wg, xp.reshape(cols, (e - i, groups, cg * kk, p)), out=yv[i:e])
    if b is not None:
        bb = xp.reshape(b, (co,) + (1,) * len(kernel))
        if xp.result_type(y, b) != y.dtype:  # a wider bias widens the result
            return y + bb
        y += bb
    return y


def _conv_gpu_grad_input(xp: Any, g: Any, w: Any, input_size: tuple[int, ...] = (1, 1),
                         stride: tuple[int, ...] = (1, 1), padding: tuple[int, ...] = (0, 0),
                         dilation: tuple[int, ...] = (1, 1), groups: int = 1) -> Any:
    """``_conv2d_grad_input`` on CuPy arrays: per block of images one batched GEMM (the
    columns W^T @ dY) and one col2im kernel writing dX (no padded buffer)."""
    n, co = g.shape[:2]
    cg = w.shape[1]
    kernel = tuple(w.shape[2:])
    c = cg * groups
    out, geom, kk, p = _conv_geom(xp, tuple(input_size), kernel, stride, padding, dilation)
    dt = xp.result_type(g, w)
    dx = xp.empty((n, c) + tuple(input_size), dtype=dt)
    if not (co and p and kk):
        dx[...] = 0
        return dx
    if dx.size:
        g = g.astype(dt, copy=False)
        wt = xp.transpose(xp.reshape(w.astype(dt, copy=False), (groups, co // groups,
                                                                 cg * kk)), (0, 2, 1))
        step = _conv_gpu_step(xp, n, c * kk * p * dx.itemsize)
        for i in range(0, n, step):
            e = min(n, i + step)
            cols = xp.matmul(wt, xp.reshape(g[i:e], (e - i, groups, co // groups, p)))
            _conv_cuda(xp, "col2im")(cols, *geom, dx[i:e])
    return dx


def _conv_gpu_grad_weight(xp: Any, x: Any, g: Any, kernel_size: tuple[int, ...] = (1, 1),
                          stride: tuple[int, ...] = (1, 1), padding: tuple[int, ...] = (0, 0),
                          dilation: tuple[int, ...] = (1, 1), groups: int = 1) -> Any:
    """``_conv2d_grad_weight`` on CuPy arrays: per block of images one im2col kernel with
    the images inside, (C, *K, images, *O), and one GEMM dY @ cols^T reducing over the
    images and output positions together."""
    n, co = g.shape[:2]
    c = x.shape[1]
    cg = c // groups
    kernel = tuple(kernel_size)
    out, geom, kk, p = _conv_geom(xp, tuple(x.shape[2:]), kernel, stride, padding, dilation)
    dt = xp.result_type(x, g)
    if not (co * cg * kk and n * p):
        return xp.zeros((co, cg) + kernel, dtype=dt)
    dw = None
    x = x.astype(dt, copy=False)
    step = _conv_gpu_step(xp, n, c * kk * p * xp.dtype(dt).itemsize)
    for i in range(0, n, step):
        e = min(n, i + step)
        cols = xp.reshape(_conv_gpu_cols(xp, x[i:e], geom, True),
                          (groups, cg * kk, (e - i) * p))
        gt = xp.transpose(g[i:e].astype(dt, copy=False), (1, 0) + tuple(
            range(2, 2 + len(kernel))))
        gt = xp.reshape(xp.ascontiguousarray(gt), (groups, co // groups, (e - i) * p))
        part = xp.matmul(gt, xp.transpose(cols, (0, 2, 1)))
        if dw is None:
            dw = part
        else:
            dw += part
    return xp.reshape(dw, (co, cg) + kernel)


# -- static parameters and shape rules ------------------------------------------------


def _is_int(e: Any) -> bool:
    return isinstance(e, numbers.Integral) and not isinstance(e, bool)


def ntuple(v: Any, nd: int) -> Any:
    """``3`` -> ``(3,) * nd``; ``nd`` ints -> a tuple; anything else is left for check."""
    if _is_int(v):
        return (int(v),) * nd
    if isinstance(v, (tuple, list)) and len(v) == nd and all(_is_int(e) for e in v):
        return tuple(int(e) for e in v)
    return v


def pair(v: Any) -> Any:
    """``3`` -> ``(3, 3)``; a pair of ints -> a tuple; anything else is left for check."""
    return ntuple(v, 2)


def _int(v: Any) -> Any:
    """numpy integers -> int (anything else is left for the check rule to reject)."""
    return int(v) if _is_int(v) else v


_WHAT = {1: "an int or a 1-tuple of ints", 2: "an int or a pair of ints",
         3: "an int or a triple of ints"}


def check_pair(name: str, v: Any, least: int, nd: int = 2) -> None:
    """ValueError unless ``v`` is a tuple of ``nd`` ints all >= ``least``."""
    if not (isinstance(v, tuple) and len(v) == nd and all(isinstance(e, int) for e in v)):
        raise ValueError(f"{name} must be {_WHAT.get(nd, f'{nd} ints')}, got {v!r}")
    if min(v) < least:
        what = "positive" if least == 1 else "non-negative"
        raise ValueError(f"{name} must be {what}, got {v[0] if len(set(v)) == 1 else v}")


def out_size(size: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    """(W - F_eff + 2P) // S + 1 with the dilated kernel F_eff = d (F - 1) + 1; with
    ``ceil`` (pools' ceil_mode) rounded up, unless the last window would start in the
    right padding (PyTorch's rule)."""
    span = size + 2 * p - d * (k - 1) - 1
    if not ceil:
        return span // s + 1
    o = -(-span // s) + 1
    return o - 1 if (o - 1) * s >= size + p else o


def _x(v: Any) -> str:
    return "x".join(str(e) for e in v)


def check_fits(hw: tuple[int, ...], kernel: tuple[int, ...], padding: tuple[int, ...],
               dilation: tuple[int, ...] | None = None) -> None:
    """ValueError naming the numbers when the (dilated) kernel exceeds the padded input."""
    dilation = dilation or (1,) * len(kernel)
    ek = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    hp = tuple(s + 2 * p for s, p in zip(hw, padding))
    if any(e > h for e, h in zip(ek, hp)):
        dil = f" (dilated to {_x(ek)})" if any(d != 1 for d in dilation) else ""
        raise ValueError(f"kernel {_x(kernel)}{dil} larger than padded input {_x(hp)} "
                         f"(input {_x(hw)}, padding {','.join(map(str, padding))})")


def check_size(shape: S.Shape, itemsize: int = 8) -> None:
    """ValueError when an output of ``shape`` would exceed the size budget
    (graphnn/core/limits.py), before anything is allocated."""
    from graphnn.core.limits import check_bytes

    check_bytes(shape, itemsize, "output")


def pooled_shape(x: S.Shape, out: S.Shape, rest: tuple[S.Shape, ...]) -> S.Shape:
    """``out`` after checking a pooling op's extra operands (its gradient or selected
    values) against the input and output shapes, and the output against the budget."""
    for r in rest:
        if tuple(r) != tuple(x) and tuple(r) != out:
            raise ValueError(f"second operand {tuple(r)} fits neither the input {tuple(x)} "
                             f"nor the output {out}")
    check_size(out)
    return out


def _conv_params(stride: Any, padding: Any, dilation: Any, groups: Any, nd: int = 2) -> None:
    check_pair("stride", stride, 1, nd)
    check_pair("padding", padding, 0, nd)
    check_pair("dilation", dilation, 1, nd)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")


_AXES = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_KAX = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


def _conv_check(x: S.Shape, w: S.Shape, b: S.Shape | None = None, *, stride: Any = (1, 1),
                padding: Any = (0, 0), dilation: Any = (1, 1), groups: Any = 1) -> None:
    nd = len(stride) if isinstance(stride, tuple) else 2
    _conv_params(stride, padding, dilation, groups, nd)
    if x[1:2] and x[1] % groups:
        raise ValueError(f"groups={groups} does not divide the {x[1]} input channels")
    if w[:1] and w[0] % groups:
        raise ValueError(f"groups={groups} does not divide the {w[0]} output channels")
    if len(x) == nd + 2 and len(w) == nd + 2:
        check_fits(x[2:], w[2:], padding, dilation)


def _conv_shape(x: S.Shape, w: S.Shape, b: S.Shape | None = None, *, stride: Any = (1, 1),
                padding: Any = (0, 0), dilation: Any = (1, 1), groups: int = 1) -> S.Shape:
    nd = len(stride)
    if len(x) != nd + 2:
        raise ValueError(f"input must be {nd + 2}-D {_AXES[nd]}, got shape {x}")
    if len(w) != nd + 2:
        raise ValueError(f"weight must be {nd + 2}-D (C_out, C_in/groups, {_KAX[nd]}), got "
                         f"shape {w}")
    if x[1] != w[1] * groups:
        raise ValueError(f"input has {x[1]} channels but weight expects {w[1] * groups} "
                         f"(weight {w}, groups={groups})")
    if b is not None and tuple(b) != (w[0],):
        raise ValueError(f"bias must have shape ({w[0]},) (one per output channel), got {b}")
    out = (x[0], w[0]) + tuple(out_size(*a) for a in zip(x[2:], w[2:], stride, padding,
                                                         dilation))
    check_size(out)
    return out


def _prod(v: Any) -> int:
    r = 1
    for e in v:
        r *= int(e)
    return r


def _conv_cost(x: S.Shape, w: S.Shape, *rest: Any, **_: Any) -> int:
    return _prod(rest[-1]) * _prod(w[1:])


# -- the ops -----------------------------------------------------------------------------

_P = ("stride", "padding", "dilation", "groups")


def _p(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in _P}


def _nd(p: dict[str, Any]) -> int:
    return len(p["stride"])


def _conv_vjp(g: Any, out: Any, x: Any, w: Any, b: Any = None, **p: Any) -> tuple[Any, ...]:
    nd = _nd(p)
    dx = lambda: bind(GRAD_INPUT[nd], g, w, input_size=tuple(x.shape[2:]), **_p(p))
    dw = lambda: bind(GRAD_WEIGHT[nd], x, g, kernel_size=tuple(w.shape[2:]), **_p(p))
    if b is None:
        return dx, dw
    return dx, dw, lambda: sum(g, axis=(0,) + tuple(range(2, nd + 2)))


def _conv_jvp(t: list[Any], out: Any, x: Any, w: Any, b: Any = None, **p: Any) -> Any:
    tb = t[2] if len(t) > 2 else None
    op = CONV[_nd(p)]
    return tsum(None if t[0] is None else bind(op, t[0], w, **_p(p)),
                None if t[1] is None else bind(op, x, t[1], **_p(p)),
                None if tb is None else reshape(tb, (-1,) + (1,) * _nd(p)))


def _gi_check(g: S.Shape, w: S.Shape, *, input_size: Any, **p: Any) -> None:
    nd = len(p["stride"]) if isinstance(p["stride"], tuple) else 2
    _conv_params(p["stride"], p["padding"], p["dilation"], p["groups"], nd)
    check_pair("input_size", input_size, 1, nd)


def _gi_shape(g: S.Shape, w: S.Shape, *, input_size: Any, stride: Any, padding: Any,
              dilation: Any, groups: int) -> S.Shape:
    nd = len(stride)
    if len(g) != nd + 2 or len(w) != nd + 2 or g[1] != w[0]:
        raise ValueError(f"output gradient {g} does not fit weight {w}")
    if w[0] % groups:
        raise ValueError(f"groups={groups} does not divide the {w[0]} channels of {w}")
    want = tuple(out_size(s, k, st, pd, d) for s, k, st, pd, d in
                 zip(input_size, w[2:], stride, padding, dilation))
    if tuple(g[2:]) != want:
        raise ValueError(f"an input of size {_x(input_size)} gives outputs "
                         f"{_x(want)}, but the gradient is {_x(g[2:])}")
    out = (g[0], w[1] * groups) + tuple(input_size)
    check_size(out)
    return out


def _gw_check(x: S.Shape, g: S.Shape, *, kernel_size: Any, **p: Any) -> None:
    nd = len(p["stride"]) if isinstance(p["stride"], tuple) else 2
    _conv_params(p["stride"], p["padding"], p["dilation"], p["groups"], nd)
    check_pair("kernel_size", kernel_size, 1, nd)


def _gw_shape(x: S.Shape, g: S.Shape, *, kernel_size: Any, stride: Any, padding: Any,
              dilation: Any, groups: int) -> S.Shape:
    nd = len(stride)
    if len(x) != nd + 2 or len(g) != nd + 2 or x[0] != g[0]:
        raise ValueError(f"input {x} and output gradient {g} do not fit")
    want = tuple(out_size(s, k, st, pd, d) for s, k, st, pd, d in
                 zip(x[2:], kernel_size, stride, padding, dilation))
    if tuple(g[2:]) != want:
        raise ValueError(f"the gradient is {_x(g[2:])} but the conv output is {_x(want)}")
    return (g[1], x[1] // groups) + tuple(kernel_size)


_ARGS = "stride={stride}, padding={padding}, dilation={dilation}, groups={groups}"
_BASE = (_offsets, _pad2d, _workspace, _block, _result_buffer)
_GPU = (_kernel, _geom_params, _geom3, out_size, _conv_cuda, _conv_source, _conv_geom,
        _conv_gpu_cols, _conv_gpu_step)
CONV: dict[int, Op] = {}
GRAD_INPUT: dict[int, Op] = {}
GRAD_WEIGHT: dict[int, Op] = {}


def _gi_vjp(c: Any, out: Any, g: Any, w: Any, **p: Any) -> tuple[Any, ...]:
    # linear in g and in w: dG = conv(C, W);  dW = conv_grad_weight(C, G)
    nd = _nd(p)
    return (lambda: bind(CONV[nd], c, w, **_p(p)),
            lambda: bind(GRAD_WEIGHT[nd], c, g, kernel_size=tuple(w.shape[2:]), **_p(p)))


def _gi_jvp(t: list[Any], out: Any, g: Any, w: Any, **p: Any) -> Any:
    op = GRAD_INPUT[_nd(p)]
    return tsum(None if t[0] is None else bind(op, t[0], w, **p),
                None if t[1] is None else bind(op, g, t[1], **p))


def _gw_vjp(c: Any, out: Any, x: Any, g: Any, **p: Any) -> tuple[Any, ...]:
    # linear in x and in g: dX = conv_grad_input(G, C);  dG = conv(X, C)
    nd = _nd(p)
    return (lambda: bind(GRAD_INPUT[nd], g, c, input_size=tuple(x.shape[2:]), **_p(p)),
            lambda: bind(CONV[nd], x, c, **_p(p)))


def _gw_jvp(t: list[Any], out: Any, x: Any, g: Any, **p: Any) -> Any:
    op = GRAD_WEIGHT[_nd(p)]
    return tsum(None if t[0] is None else bind(op, t[0], g, **p),
                None if t[1] is None else bind(op, x, t[1], **p))


for _n in (1, 2, 3):
    CONV[_n] = register(Op(
        name=f"conv{_n}d", forward=_conv2d, shape=_conv_shape, vjp=_conv_vjp, jvp=_conv_jvp,
        check=_conv_check,
        onnx=Onnx(export=oc.export_conv, imports={"Conv": oc.import_conv}),
        numpy="_conv2d(xp, {0}, {1}, {2}, " + _ARGS + ")",  # {2}: None, no bias
        numpy_out="_conv2d(xp, {0}, {1}, {2}, " + _ARGS + ", out={out})", fresh=True,
        label="conv" if _n == 2 else f"conv{_n}d",
        trace=tt("dX = conv_transpose(dY, W);  dW = X ⋆ dY;  db = Σ_{n,spatial} dY"),
        cost=_conv_cost, helpers=_BASE + (_windows, _im2col, _conv2d),
        gpu=Gpu(forward=_conv_gpu, call="_conv_gpu(xp, {0}, {1}, {2}, " + _ARGS + ")",
                helpers=_GPU + (_conv_gpu,)),
        doc=f"{_n}-D convolution (cross-correlation, PyTorch's F.conv{_n}d)",
    ))
    GRAD_INPUT[_n] = register(Op(
        name=f"conv{_n}d_grad_input", forward=_conv2d_grad_input, shape=_gi_shape,
        check=_gi_check, vjp=_gi_vjp, jvp=_gi_jvp,
        numpy="_conv2d_grad_input(xp, {0}, {1}, input_size={input_size}, " + _ARGS + ")",
        numpy_out=("_conv2d_grad_input(xp, {0}, {1}, input_size={input_size}, " + _ARGS
                   + ", out={out})"), fresh=True,
        label="conv dX" if _n == 2 else f"conv{_n}d dX",
        trace=tt("dX = conv_transpose(dY, W) (a transposed convolution)"),
        cost=lambda g, w, out, **p: _conv_cost(out, w, g), onnx=Onnx(
            export=oc.export_conv_grad_input,
            imports={"ConvTranspose": oc.import_conv_transpose}),
        helpers=_BASE + (_batch_inner, _conv2d_grad_input),
        gpu=Gpu(forward=_conv_gpu_grad_input,
                call="_conv_gpu_grad_input(xp, {0}, {1}, input_size={input_size}, " + _ARGS
                + ")", helpers=_GPU + (_conv_gpu_grad_input,)),
        doc=f"input gradient of conv{_n}d: a transposed convolution",
    ))
    GRAD_WEIGHT[_n] = register(Op(
        name=f"conv{_n}d_grad_weight", forward=_conv2d_grad_weight, shape=_gw_shape,
        check=_gw_check, vjp=_gw_vjp, jvp=_gw_jvp,
        numpy="_conv2d_grad_weight(xp, {0}, {1}, kernel_size={kernel_size}, " + _ARGS + ")",
        fresh=True,
        label="conv dW" if _n == 2 else f"conv{_n}d dW",
        trace=tt("dW = X ⋆ dY (correlate the input with the output gradient)"),
        cost=lambda x, g, out, **p: _conv_cost(x, out, g), onnx=oc.NO_CONV_GRAD_WEIGHT,
        helpers=_BASE + (_windows, _im2col, _conv2d_grad_weight),
        gpu=Gpu(forward=_conv_gpu_grad_weight,
                call="_conv_gpu_grad_weight(xp, {0}, {1}, kernel_size={kernel_size}, " + _ARGS
                + ")", helpers=_GPU + (_conv_gpu_grad_weight,)),
        doc=f"weight gradient of conv{_n}d",
    ))
CONV2D, CONV2D_GRAD_INPUT, CONV2D_GRAD_WEIGHT = CONV[2], GRAD_INPUT[2], GRAD_WEIGHT[2]


def _bind_conv(nd: int, x: Any, w: Any, b: Any, stride: Any, padding: Any, dilation: Any,
               groups: Any, name: str | None) -> Any:
    args = (x, w) if b is None else (x, w, b)
    return bind(CONV[nd], *args, stride=ntuple(stride, nd), padding=ntuple(padding, nd),
                dilation=ntuple(dilation, nd), groups=_int(groups), name=name)


def conv1d(x: Any, w: Any, b: Any = None, *, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, name: str | None = None) -> Any:
    """1-D convolution (cross-correlation, as PyTorch's F.conv1d) of an (N, C_in, L) input
    with weights (C_out, C_in / groups, kL) and an optional bias (C_out,).

    >>> import numpy as np
    >>> conv1d(np.arange(5.0).reshape(1, 1, 5), np.array([[[-1.0, 1.0]]]))
    array([[[1., 1., 1., 1.]]])
    """
    return _bind_conv(1, x, w, b, stride, padding, dilation, groups, name)


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
    return _bind_conv(2, x, w, b, stride, padding, dilation, groups, name)


def conv3d(x: Any, w: Any, b: Any = None, *, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, name: str | None = None) -> Any:
    """3-D convolution (PyTorch's F.conv3d) of an (N, C_in, D, H, W) input with weights
    (C_out, C_in / groups, kD, kH, kW); int or triple stride, padding, dilation.

    >>> import numpy as np
    >>> conv3d(np.ones((1, 1, 3, 4, 5)), np.ones((2, 1, 2, 2, 2)), padding=1).shape
    (1, 2, 4, 5, 6)
    """
    return _bind_conv(3, x, w, b, stride, padding, dilation, groups, name)


def _nd_of(w: Any, default: int = 2) -> int:
    shape = getattr(w, "shape", None)
    return len(shape) - 2 if shape is not None and len(shape) >= 3 else default


def conv2d_grad_input(g: Any, w: Any, input_size: Any, *, stride: Any = 1, padding: Any = 0,
                      dilation: Any = 1, groups: int = 1, name: str | None = None) -> Any:
    """Gradient of ``conv2d`` (or conv1d / conv3d, by the weight's rank) w.r.t. its input
    (a transposed convolution of ``g`` by ``w``); ``input_size`` is the input's spatial
    size."""
    nd = _nd_of(w)
    return bind(GRAD_INPUT[nd], g, w, input_size=ntuple(tuple(input_size), nd),
                stride=ntuple(stride, nd), padding=ntuple(padding, nd),
                dilation=ntuple(dilation, nd), groups=_int(groups), name=name)


def conv2d_grad_weight(x: Any, g: Any, kernel_size: Any, *, stride: Any = 1, padding: Any = 0,
                       dilation: Any = 1, groups: int = 1, name: str | None = None) -> Any:
    """Gradient of ``conv2d`` (or conv1d / conv3d, by the input's rank) w.r.t. its
    weights, of shape (C_out, C_in/groups, *kernel_size)."""
    nd = _nd_of(x)
    return bind(GRAD_WEIGHT[nd], x, g, kernel_size=ntuple(tuple(kernel_size), nd),
                stride=ntuple(stride, nd), padding=ntuple(padding, nd),
                dilation=ntuple(dilation, nd), groups=_int(groups), name=name)


def _conv_transpose(nd: int, x: Any, w: Any, b: Any, stride: Any, padding: Any,
                    output_padding: Any, groups: Any, dilation: Any,
                    name: str | None) -> Any:
    from graphnn.core.errors import ParamError

    st, pd, op_ = ntuple(stride, nd), ntuple(padding, nd), ntuple(output_padding, nd)
    dl = ntuple(dilation, nd)
    for label, v, least in (("stride", st, 1), ("padding", pd, 0), ("dilation", dl, 1),
                            ("output_padding", op_, 0)):
        try:
            check_pair(label, v, least, nd)
        except ValueError as e:
            raise ParamError(f"conv_transpose{nd}d: {e}") from None
    if any(o >= s for o, s in zip(op_, st)):
        raise ParamError(f"conv_transpose{nd}d: output_padding {op_} must be smaller than "
                         f"the stride {st} (graphnn also refuses PyTorch's output_padding "
                         f"< dilation case)")
    xs, ws = tuple(x.shape), tuple(w.shape)
    if len(xs) != nd + 2 or len(ws) != nd + 2:
        raise ParamError(f"conv_transpose{nd}d: input must be {nd + 2}-D {_AXES[nd]} and "
                         f"weight {nd + 2}-D (C_in, C_out/groups, {_KAX[nd]}); got input "
                         f"{xs}, weight {ws}")
    size = tuple((i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, s, p, d, k, o in
                 zip(xs[2:], st, pd, dl, ws[2:], op_))
    if min(size) < 1:
        raise ParamError(f"conv_transpose{nd}d: input {xs} with weight {ws}, stride {st}, "
                         f"padding {pd} gives a non-positive output size {size}")
    y = bind(GRAD_INPUT[nd], x, w, input_size=size, stride=st, padding=pd, dilation=dl,
             groups=_int(groups), name=None if b is not None else name)
    if b is None:
        return y
    out = y + reshape(b, (-1,) + (1,) * nd)
    return out.named(name) if name is not None and hasattr(out, "named") else out


def conv_transpose1d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1, *,
                     name: str | None = None) -> Any:
    """Transposed 1-D convolution (PyTorch's F.conv_transpose1d): input (N, C_in, L),
    weight (C_in, C_out / groups, kL). Output length (L - 1) s - 2 p + d (k - 1) +
    output_padding + 1. It is the input gradient of conv1d (a ``conv1d_grad_input`` node).

    >>> import numpy as np
    >>> conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 2)), stride=2)
    array([[[1., 1., 1., 1., 1., 1.]]])
    """
    return _conv_transpose(1, x, w, b, stride, padding, output_padding, groups, dilation,
                           name)


def conv_transpose2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1, *,
                     name: str | None = None) -> Any:
    """Transposed 2-D convolution (PyTorch's F.conv_transpose2d): input (N, C_in, H, W),
    weight (C_in, C_out / groups, kH, kW); a ``conv2d_grad_input`` node (+ bias).

    >>> import numpy as np
    >>> conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((2, 4, 3, 3)), stride=2,
    ...                  padding=1, output_padding=1).shape
    (1, 4, 6, 6)
    """
    return _conv_transpose(2, x, w, b, stride, padding, output_padding, groups, dilation,
                           name)


def conv_transpose3d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1, *,
                     name: str | None = None) -> Any:
    """Transposed 3-D convolution (PyTorch's F.conv_transpose3d); a ``conv3d_grad_input``
    node (+ bias).

    >>> import numpy as np
    >>> conv_transpose3d(np.ones((1, 1, 2, 2, 2)), np.ones((1, 1, 2, 2, 2))).shape
    (1, 1, 3, 3, 3)
    """
    return _conv_transpose(3, x, w, b, stride, padding, output_padding, groups, dilation,
                           name)


__all__ = ["conv1d", "conv2d", "conv3d", "conv2d_grad_input", "conv2d_grad_weight",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]
