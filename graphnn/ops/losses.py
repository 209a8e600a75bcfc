"""Losses, each ONE op node (so a drawing shows "MSE", "CE", ...) with
``reduction="mean" | "sum" | "none"`` as in PyTorch: mse_loss, l1_loss, bce_loss,
bce_with_logits, cross_entropy; plus ``one_hot`` (no gradient) and the lectures'
composite ``squared_loss(o, t) = 0.5 * sum((o - t) ** 2)``.

Numerics: ``bce_with_logits`` and ``cross_entropy`` work on logits with a max shift and
``log1p(exp(-|z|))``, so they stay finite at |logits| = 1000 in float32 and float64.
``bce_loss`` takes probabilities and, like PyTorch, clamps each log at -100, so p = 0 or 1
gives a finite loss (at most 100 per element); its input gradient divides by
max(p (1 - p), 1e-12).

>>> import numpy as np
>>> float(mse_loss(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
2.5
>>> round(float(cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))), 3)
1000.0
>>> float(squared_loss(np.array([1.0, 3.0]), np.array([0.0, 1.0])))
2.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import ir
from graphnn.core.bind import _context, bind
from graphnn.core.errors import ParamError
from graphnn.core.op import Gpu, Onnx, Op, Unsupported, register, tt
from graphnn.ops import onnx_losses as ol
from graphnn.ops import symrules as R
from graphnn.ops.activations import _row_cuda, log_softmax, sigmoid, softmax
from graphnn.ops.elementwise import abs as gabs
from graphnn.ops.elementwise import eq_mask, exp, ge_mask, log, maximum, minimum, sign, tsum
from graphnn.ops.kernels import _kernel
from graphnn.ops.linalg import broadcast_to, reshape
from graphnn.ops.reduce import mean, sum
from graphnn.ops.unary import log1p

REDUCTIONS = ("mean", "sum", "none")

# -- helpers (xp first; codegen copies them) -------------------------------------------


def _reduce(xp: Any, v: Any, reduction: str) -> Any:
    """Apply a loss reduction: mean, sum or none (per element)."""
    if reduction == "mean":
        return xp.mean(v)
    if reduction == "sum":
        return xp.sum(v)
    return v


def _mse_loss(xp: Any, p: Any, t: Any, reduction: str = "mean") -> Any:
    d = p - t
    return _reduce(xp, d * d, reduction)


def _l1_loss(xp: Any, p: Any, t: Any, reduction: str = "mean") -> Any:
    return _reduce(xp, xp.abs(p - t), reduction)


def _clamped_log(xp: Any, a: Any) -> Any:
    """log(a) clamped at -100 (PyTorch's BCELoss rule); finite and warning-free at 0."""
    return xp.maximum(xp.log(xp.maximum(a, 1e-44)), -100.0)


def _bce_loss(xp: Any, p: Any, y: Any, w: Any = None, reduction: str = "mean") -> Any:
    lp, lq = _clamped_log(xp, p), _clamped_log(xp, 1.0 - p)
    per = -(y * lp + (1.0 - y) * lq)
    return _reduce(xp, per if w is None else per * w, reduction)


def _bce_with_logits(xp: Any, z: Any, y: Any, w: Any = None, pw: Any = None,
                     reduction: str = "mean") -> Any:
    sp = xp.log1p(xp.exp(-xp.abs(z)))
    if pw is None:
        per = xp.maximum(z, 0) - z * y + sp
    else:  # PyTorch's form: (1 - y) z + (1 + (pw - 1) y) softplus(-z)
        per = (1.0 - y) * z + (1.0 + (pw - 1.0) * y) * (sp + xp.maximum(-z, 0))
    return _reduce(xp, per if w is None else per * w, reduction)


def _capturing(xp: Any) -> bool:
    """Is the current CUDA stream capturing a graph (``cuda_graph=True``)? No host sync is
    allowed then, so ``_targets`` checks class indices on the device."""
    cuda = getattr(xp, "cuda", None)
    try:
        return bool(cuda is not None and cuda.get_current_stream().is_capturing())
    except Exception:  # noqa: BLE001 - no GPU, or a CuPy without the query: not capturing
        return False


def _targets(xp: Any, t: Any, classes: int, ignore_index: int) -> tuple[Any, Any, Any]:
    """(indices with ignored ones set to 0, mask of the kept ones, mask of the ones out of
    range or None). Out of range raises ValueError, except while a CUDA graph is captured
    (reading the indices back would be a host sync): then the bad ones are set to 0 and
    their mask returned, and the callers make their losses and gradients NaN (so the
    fused update skips the step, and ``gn.fit`` reruns the batch uncaptured, which
    raises)."""
    idx = t.astype(xp.int64)
    keep = idx != ignore_index
    safe = xp.where(keep, idx, 0)
    if not safe.size:
        return safe, keep, None
    if _capturing(xp):
        bad = keep & ((idx < 0) | (idx >= classes))
        return xp.where(bad, 0, safe), keep, bad
    if int(safe.min()) < 0 or int(safe.max()) >= classes:
        bad = idx[keep & ((idx < 0) | (idx >= classes))]
        raise ValueError(f"class index out of range [0, {classes}): found "
                         f"{int(bad.reshape(-1)[0])} (ignore_index={ignore_index})")
    return safe, keep, None


def _nll_loss(xp: Any, z: Any, t: Any, w: Any = None, ignore_index: int = -100,
              reduction: str = "mean") -> Any:
    """-w[t] z[t] along the class axis (1, or 0 for a (C,) input); mean divides by the
    summed weights of the kept targets (nan when every target is ignored, as PyTorch)."""
    ax = 1 if z.ndim >= 2 else 0
    safe, keep, bad = _targets(xp, t, z.shape[ax], ignore_index)
    picked = xp.squeeze(xp.take_along_axis(z, xp.expand_dims(safe, ax), axis=ax), axis=ax)
    wt = xp.ones(safe.shape, z.dtype) if w is None else w.astype(z.dtype)[safe]
    wt = wt * keep
    per = xp.where(keep, -(wt * picked), 0.0).astype(z.dtype)
    if bad is not None:
        per = xp.where(bad, xp.nan, per).astype(z.dtype)
    if reduction == "mean":
        return xp.sum(per) / xp.sum(wt)
    return xp.sum(per) if reduction == "sum" else per


def _nll_grad_mask(xp: Any, t: Any, w: Any = None, num_classes: int = 1,
                   ignore_index: int = -100, label_smoothing: float = 0.0,
                   dtype: str = "float64") -> Any:
    """The weights each log-probability gets in nll_loss / cross_entropy: kept targets'
    one-hot rows along the class axis, smoothed, times the class weights."""
    safe, keep, bad = _targets(xp, t, num_classes, ignore_index)
    ax = 1 if t.ndim >= 1 else 0
    shape = [1] * (t.ndim + 1)
    shape[ax] = num_classes
    m = (xp.expand_dims(safe, ax) == xp.arange(num_classes).reshape(shape)).astype(dtype)
    if label_smoothing:
        m = m * (1.0 - label_smoothing) + label_smoothing / num_classes
    if w is not None:
        m = m * w.astype(dtype).reshape(shape)
    m = m * xp.expand_dims(keep, ax).astype(dtype)
    return m if bad is None else xp.where(xp.expand_dims(bad, ax), xp.nan, m).astype(dtype)


def _cross_entropy(xp: Any, z: Any, t: Any, w: Any = None, reduction: str = "mean",
                   ignore_index: int = -100, label_smoothing: float = 0.0) -> Any:
    """Log-softmax over the class axis (1, or 0 for (C,)) then the weighted negative
    log-likelihood of class indices, or -sum(t w log softmax(z)) for probabilities."""
    ax = 1 if z.ndim >= 2 else 0
    c = z.shape[ax]
    s = z - xp.max(z, axis=ax, keepdims=True)
    lsm = s - xp.log(xp.sum(xp.exp(s), axis=ax, keepdims=True))
    shape = [1] * z.ndim
    shape[ax] = c
    wb = None if w is None else w.astype(z.dtype).reshape(shape)
    eps = label_smoothing
    if t.ndim == z.ndim:  # probabilities
        tt = t * (1.0 - eps) + eps / c if eps else t
        per = -xp.sum(tt * lsm if wb is None else tt * lsm * wb, axis=ax)
        if reduction == "mean":
            return xp.sum(per) / per.size
        return xp.sum(per) if reduction == "sum" else per
    per = _nll_loss(xp, lsm, t, w, ignore_index, "none")
    safe, keep, _ = _targets(xp, t, c, ignore_index)  # bad ones: per is NaN already
    if eps:
        smooth = -xp.sum(lsm if wb is None else lsm * wb, axis=ax)
        per = (1.0 - eps) * per + xp.where(keep, smooth, 0.0) * (eps / c)
    if reduction == "mean":
        wt = xp.ones(safe.shape, z.dtype) if w is None else w.astype(z.dtype)[safe]
        return xp.sum(per) / xp.sum(wt * keep)
    return xp.sum(per) if reduction == "sum" else per


def _class_cuda(xp: Any, kind: str, acc: str = "double") -> Any:
    """The CuPy ElementwiseKernel ``kind`` of the class-index losses (made once, then
    kept). "ce": one thread per sample (a row of C logits, ``inner`` apart): max,
    log-sum-exp, the target's term, label smoothing, its weight and whether its index is
    out of range, accumulated in ``acc``; "soft": the same rows against probability
    targets (``t`` laid out as ``z``). "mask": one thread per element of the gradient
    mask (nll_grad_mask), in the output dtype; each sample's first class also writes
    whether its index is out of range."""
    return _kernel(xp, ("class", kind, acc), lambda: _class_source(kind, acc))


def _class_source(kind: str, acc: str) -> tuple[str, ...]:
    """(ins, outs, body, name, preamble) of ``_class_cuda``'s kernel ``kind``."""
    index = """const long long ti = (long long)IDX;
const bool keep = ti != ignore;
const bool isbad = keep && (ti < 0 || ti >= C);
const long long safe = keep && !isbad ? ti : 0;
"""
    lse = _row_cuda(acc, "z") + "const A lse = log(se);\n"
    if kind == "ce":
        ins = ("raw T z, I t, raw W w, int32 hasw, int64 C, int64 inner, int64 ignore, "
               "float64 eps, T nanv")
        outs = "T per, T wk, int8 bad"
        body = lse + index.replace("IDX", "t") + """
const A wt = keep ? (hasw ? (A)w[safe] : (A)1) : (A)0;
A p = keep ? -(wt * (((A)z[base + safe * inner] - m) - lse)) : (A)0;
if (eps != 0) {
    A sm = 0;
    for (long long c = 0; c < C; ++c)
        sm += (hasw ? (A)w[c] : (A)1) * (((A)z[base + c * inner] - m) - lse);
    p = (A)(1 - eps) * p + (keep ? -sm : (A)0) * (A)(eps / C);
}
per = isbad ? nanv : T(p);
wk = T(wt);
bad = isbad;"""
    elif kind == "soft":
        ins = "raw T z, raw T t, raw W w, int32 hasw, int64 C, int64 inner, float64 eps"
        outs = "T per"
        body = lse + """A p = 0;
for (long long c = 0; c < C; ++c) {
    A tc = (A)t[base + c * inner];
    if (eps != 0) tc = tc * (A)(1 - eps) + (A)(eps / C);
    p += tc * (hasw ? (A)w[c] : (A)1) * (((A)z[base + c * inner] - m) - lse);
}
per = T(-p);"""
    else:
        ins = ("raw I t, raw W w, int32 hasw, int64 C, int64 inner, int64 ignore, "
               "float64 eps, T nanv")
        outs = "T m, raw int8 bad"
        body = """const long long c = (i / inner) % C;
const long long row = (i / (inner * C)) * inner + i % inner;
""" + index.replace("IDX", "t[row]") + """if (c == 0) bad[row] = isbad;
T v = T(c == safe ? 1.0f : 0.0f);
if (eps != 0) {
    v = v * T(1.0 - eps);
    v = v + T(eps / C);
}
if (hasw) v = v * T(w[c]);
v = v * T(keep ? 1.0f : 0.0f);
m = isbad ? nanv : v;"""
    return ins, outs, body, f"graphnn_class_{kind}", ""


def _class_bad(xp: Any, t: Any, bad: Any, classes: int, ignore_index: int) -> None:
    """The host check of ``_targets`` for the GPU kernels' out-of-range flags (one sync;
    none while a CUDA graph is captured: the kernels have made those losses NaN)."""
    if not _capturing(xp) and bool(bad.any()):
        found = int(xp.reshape(t, (-1,))[xp.reshape(bad, (-1,)) != 0][0])
        raise ValueError(f"class index out of range [0, {classes}): found {found} "
                         f"(ignore_index={ignore_index})")


def _cross_entropy_gpu(xp: Any, z: Any, t: Any, w: Any = None, reduction: str = "mean",
                       ignore_index: int = -100, label_smoothing: float = 0.0) -> Any:
    """``_cross_entropy`` on CuPy arrays: rows of at most 4,096 classes run as one kernel
    (``_class_cuda``: a thread per sample; class indices, or probabilities of the
    logits' dtype) and the reduction's sums; wider rows and mixed dtypes run the NumPy
    code with ``xp = cupy``."""
    ax = 1 if z.ndim >= 2 else 0
    c = z.shape[ax]
    soft = t.ndim == z.ndim
    if c > 4096 or z.dtype.kind != "f" or (soft and t.dtype != z.dtype) or (
            w is not None and w.dtype != z.dtype):
        return _cross_entropy(xp, z, t, w, reduction, ignore_index, label_smoothing)
    inner = 1
    for e in z.shape[2:]:
        inner *= e
    acc = "double" if z.dtype == xp.float64 else "float"
    wz = z if w is None else xp.ascontiguousarray(w)
    if soft:
        per = xp.empty(tuple(z.shape[:ax]) + tuple(z.shape[ax + 1:]), z.dtype)
        if per.size:
            _class_cuda(xp, "soft", acc)(
                xp.ascontiguousarray(z), xp.ascontiguousarray(t), wz, int(w is not None), c,
                inner, float(label_smoothing), per)
        if reduction == "mean":
            return xp.sum(per) / per.size
        return xp.sum(per) if reduction == "sum" else per
    rows = xp.ascontiguousarray(xp.reshape(t, (-1,)))
    per = xp.empty(rows.shape, z.dtype)
    wk = xp.empty(rows.shape, z.dtype)
    bad = xp.empty(rows.shape, xp.int8)
    if per.size:
        _class_cuda(xp, "ce", acc)(
            xp.ascontiguousarray(z), rows, wz, int(w is not None), c, inner, ignore_index,
            float(label_smoothing), z.dtype.type("nan"), per, wk, bad)
        _class_bad(xp, t, bad, c, ignore_index)
    if reduction == "mean":
        return xp.sum(per) / xp.sum(wk)
    return xp.sum(per) if reduction == "sum" else xp.reshape(per, t.shape)


def _nll_grad_mask_gpu(xp: Any, t: Any, w: Any = None, num_classes: int = 1,
                       ignore_index: int = -100, label_smoothing: float = 0.0,
                       dtype: str = "float64") -> Any:
    """``_nll_grad_mask`` on CuPy arrays: one kernel (``_class_cuda``, a thread per
    element; the same roundings as the NumPy code)."""
    shape = (num_classes,) if not t.ndim else tuple(t.shape[:1]) + (num_classes,) + tuple(
        t.shape[1:])
    m = xp.empty(shape, dtype)
    if m.size:
        inner = 1
        for e in t.shape[1:]:
            inner *= e
        tc = xp.ascontiguousarray(t)
        bad = xp.empty(tc.shape, xp.int8)
        _class_cuda(xp, "mask")(
            tc, tc if w is None else xp.ascontiguousarray(w), int(w is not None),
            num_classes, inner, ignore_index, float(label_smoothing),
            m.dtype.type("nan" if m.dtype.kind == "f" else 0), m, bad)
        _class_bad(xp, tc, bad, num_classes, ignore_index)
    return m


def _smooth_l1_loss(xp: Any, p: Any, t: Any, reduction: str = "mean",
                    beta: float = 1.0) -> Any:
    d = xp.abs(p - t)
    if beta == 0:
        return _reduce(xp, d, reduction)
    return _reduce(xp, xp.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def _huber_loss(xp: Any, p: Any, t: Any, reduction: str = "mean", delta: float = 1.0) -> Any:
    d = xp.abs(p - t)
    return _reduce(xp, xp.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


def _kl_div(xp: Any, x: Any, t: Any, reduction: str = "mean", log_target: bool = False) -> Any:
    """PyTorch's kl_div: t (log t - x) with 0 log 0 = 0, or exp(t) (t - x) for log targets;
    batchmean divides the sum by the batch size (the first axis)."""
    if log_target:
        per = xp.exp(t) * (t - x)
    else:
        per = xp.where(t == 0, 0.0, t * xp.log(xp.where(t == 0, 1.0, t))) - t * x
    if reduction == "batchmean":
        return xp.sum(per) / x.shape[0] if x.ndim else xp.sum(per)
    return _reduce(xp, per, reduction)


def _margin_ranking_loss(xp: Any, a: Any, b: Any, y: Any, margin: float = 0.0,
                         reduction: str = "mean") -> Any:
    return _reduce(xp, xp.maximum(-y * (a - b) + margin, 0.0), reduction)


def _one_hot(xp: Any, t: Any, num_classes: int, dtype: str = "float64") -> Any:
    return (xp.arange(num_classes) == t[..., None]).astype(dtype)


# -- rule helpers (build nodes on nodes, numbers on arrays) ------------------------------


def _greduce(v: Any, reduction: str) -> Any:
    if v is None:
        return None
    return mean(v) if reduction == "mean" else sum(v) if reduction == "sum" else v


def _scaled(g: Any, n: int, reduction: str) -> Any:
    """The upstream gradient of each element: g / n for mean, g for sum and none."""
    return g * (1.0 / n) if reduction == "mean" and n != 1 else g


def _size(x: Any) -> int:
    return int(np.prod(x.shape, dtype=np.int64))


def _glog(a: Any) -> Any:
    return maximum(log(maximum(a, 1e-44)), -100.0)


def _check_reduction(*shapes: Any, reduction: str = "mean", **_: Any) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}; got {reduction!r}")


def _pair_shape(p: Any, t: Any, reduction: str = "mean", **_: Any) -> tuple[int, ...]:
    """() with reduction mean/sum, else the input shape."""
    if tuple(p) != tuple(t):
        raise ValueError(f"prediction {tuple(p)} and target {tuple(t)} must have the same shape "
                         "(no broadcasting: (N,) against (N, 1) is a classic silent bug)")
    return tuple(p) if reduction == "none" else ()


def _ew_cost(*shapes: Any, **_: Any) -> int:
    return int(np.prod(shapes[0], dtype=np.int64))


def _loss(*, name: str, forward: Any, helpers: tuple[Any, ...] = (), **rules: Any) -> Op:
    """A loss record: the shared shape/check/cost rules, a template that calls the
    forward (copied into generated modules with ``_reduce``), plus the op's own rules."""
    return register(Op(
        name=name, forward=forward, shape=rules.pop("shape", _pair_shape),
        check=rules.pop("check", _check_reduction), cost=_ew_cost,
        helpers=(_reduce, *helpers, forward),
        numpy=rules.pop("numpy", f"_{name}(xp, {{0}}, {{1}}, reduction={{reduction}})"),
        fresh=True,
        inplace=Unsupported("a reduction, not elementwise"),
        numexpr=Unsupported("a reduction, not elementwise"),
        cuda=Unsupported("a reduction: runs through its NumPy/CuPy template"), **rules))


# -- the ops ------------------------------------------------------------------------------

def _tdiff(tg: Any) -> Any:
    """Tangent of pred - target (None when both tangents are zero)."""
    return tsum(tg[0], None if tg[1] is None else -tg[1])


def _scale_jvp(slope: Any, tg: Any, reduction: str) -> Any:
    d = _tdiff(tg)
    return None if d is None else _greduce(slope * d, reduction)


MSE_LOSS = _loss(
    name="mse_loss", forward=_mse_loss, label="MSE",
    onnx=Onnx(export=ol.export_mse, imports=ol.NO_LOSS_OP),
    trace=tt("dP = 2 (P - T) dL / n;  dT = -dP"),
    vjp=lambda g, out, p, t, reduction="mean": (
        lambda: 2.0 * _scaled(g, _size(p), reduction) * (p - t),
        lambda: -2.0 * _scaled(g, _size(p), reduction) * (p - t)),
    jvp=lambda tg, out, p, t, reduction="mean": None if _tdiff(tg) is None else
        _scale_jvp(2.0 * (p - t), tg, reduction))
L1_LOSS = _loss(
    name="l1_loss", forward=_l1_loss, label="L1",
    onnx=Onnx(export=ol.export_l1, imports=ol.NO_LOSS_OP),
    trace=tt("dP = sign(P - T) dL / n;  dT = -dP"),
    vjp=lambda g, out, p, t, reduction="mean": (
        lambda: _scaled(g, _size(p), reduction) * sign(p - t),
        lambda: -_scaled(g, _size(p), reduction) * sign(p - t)),
    jvp=lambda tg, out, p, t, reduction="mean": None if _tdiff(tg) is None else
        _scale_jvp(sign(p - t), tg, reduction))


def _bce_dp(p: Any, y: Any) -> Any:
    return (p - y) / maximum(p * (1.0 - p), 1e-12)


def _bce_dy(p: Any) -> Any:
    return _glog(1.0 - p) - _glog(p)


def _times_w(v: Any, w: Any) -> Any:
    return v if w is None else v * w


def _weighted_shape(p: Any, t: Any, *ws: Any, reduction: str = "mean", **_: Any) -> Any:
    """The pair rule; optional weights must broadcast to the input shape without growing it."""
    out = _pair_shape(p, t, reduction)
    for k, w in enumerate(ws):
        if w is None:
            continue
        what = "weight" if k == 0 else "pos_weight"
        try:
            b = np.broadcast_shapes(tuple(w), tuple(p))
        except ValueError:
            b = None
        if b != tuple(p):
            raise ValueError(f"{what} {tuple(w)} does not broadcast to the input shape {tuple(p)}")
    return out


BCE_LOSS = _loss(
    name="bce_loss", forward=_bce_loss, label="BCE", helpers=(_clamped_log,),
    shape=_weighted_shape, nondiff=(2,),
    numpy="_bce_loss(xp, {0}, {1}, {2}, reduction={reduction})",
    onnx=Onnx(export=ol.export_bce, imports=ol.NO_LOSS_OP),
    sympy=lambda sp, p, y, w=None, reduction="mean": R.loss_reduce(_times_w(R.pairwise(
        sp, lambda s, u, v: -(v * s.log(u) + (1 - v) * s.log(1 - u)), p, y), w), reduction),
    trace=tt("dP = W (P - Y) / max(P (1 - P), 1e-12) dL / n;  dY = W (log(1 - P) - log P) dL / n;"
             "  no gradient for the weight W (as PyTorch)"),
    vjp=lambda g, out, p, y, w=None, reduction="mean": (
        lambda: _times_w(_scaled(g, _size(p), reduction) * _bce_dp(p, y), w),
        lambda: _times_w(_scaled(g, _size(p), reduction) * _bce_dy(p), w), None),
    jvp=lambda t, out, p, y, w=None, reduction="mean": _greduce(_times_w(tsum(
        None if t[0] is None else t[0] * _bce_dp(p, y),
        None if t[1] is None else t[1] * _bce_dy(p)), w), reduction))


def _softplus_neg(z: Any) -> Any:
    """softplus(-z) = log1p(exp(-|z|)) + max(-z, 0), finite for any z."""
    return log1p(exp(-gabs(z))) + maximum(-z, 0.0)


def _bcel_dz(z: Any, y: Any, pw: Any) -> Any:
    if pw is None:
        return sigmoid(z) - y
    return (1.0 + (pw - 1.0) * y) * sigmoid(z) - pw * y


def _bcel_dy(z: Any, pw: Any) -> Any:
    return -z if pw is None else (pw - 1.0) * _softplus_neg(z) - z


def _bcel_vjp(g: Any, out: Any, z: Any, y: Any, w: Any = None, pw: Any = None,
              reduction: str = "mean") -> tuple[Any, ...]:
    def up() -> Any:
        return _times_w(_scaled(g, _size(z), reduction), w)
    return (lambda: up() * _bcel_dz(z, y, pw), lambda: up() * _bcel_dy(z, pw), None, None)


def _bcel_jvp(t: Any, out: Any, z: Any, y: Any, w: Any = None, pw: Any = None,
              reduction: str = "mean") -> Any:
    per = tsum(None if t[0] is None else t[0] * _bcel_dz(z, y, pw),
               None if t[1] is None else t[1] * _bcel_dy(z, pw))
    return None if per is None else _greduce(_times_w(per, w), reduction)


def _bcel_sympy(sp: Any, z: Any, y: Any, w: Any = None, pw: Any = None,
                reduction: str = "mean") -> Any:
    if pw is None:
        per = R.pairwise(sp, lambda s, u, v: s.log(1 + s.exp(u)) - u * v, z, y)
    else:
        per = np.frompyfunc(lambda u, v, q: (1 - v) * u + (1 + (q - 1) * v) * sp.log(
            1 + sp.exp(-u)), 3, 1)(z, y, pw)
    return R.loss_reduce(_times_w(per, w), reduction)


BCE_WITH_LOGITS = _loss(
    name="bce_with_logits", forward=_bce_with_logits, label="BCE logits",
    shape=_weighted_shape, nondiff=(2, 3),
    numpy="_bce_with_logits(xp, {0}, {1}, {2}, {3}, reduction={reduction})",
    onnx=Onnx(export=ol.export_bce_with_logits, imports=ol.NO_LOSS_OP),
    sympy=_bcel_sympy, vjp=_bcel_vjp, jvp=_bcel_jvp,
    trace=tt("dZ = W ((1 + (Pw - 1) Y) σ(Z) - Pw Y) dL / n;  dY = W ((Pw - 1) softplus(-Z) - Z)"
             " dL / n;  no gradient for the weights W and Pw (as PyTorch)"))


# -- class-index losses: nll_loss, cross_entropy -------------------------------------


def _cls(shape: Any) -> int:
    """The class axis: 1 for (N, C, d1, ...), 0 for an unbatched (C,)."""
    return 1 if len(shape) >= 2 else 0


def _class_shapes(z: Any, t: Any, w: Any, soft_ok: bool, what: str) -> tuple[int, ...]:
    """The per-sample shape (the input without its class axis), after checking the
    target (indices of that shape, or probabilities of the input's shape) and weight."""
    z, t = tuple(z), tuple(t)
    if not z:
        raise ValueError(f"{what} needs a class axis: (C,), (N, C) or (N, C, d1, ...); got ()")
    ax = _cls(z)
    per = z[:ax] + z[ax + 1:]
    if t != per and not (soft_ok and t == z):
        also = f" nor class probabilities {z}" if soft_ok else ""
        raise ValueError(f"target {t} fits neither class indices {per}{also} for input {z} "
                         f"(classes on axis {ax})")
    if w is not None and tuple(w) != (z[ax],):
        raise ValueError(f"weight must have one entry per class: ({z[ax]},), got {tuple(w)}")
    return per


def _check_class_loss(*shapes: Any, reduction: str = "mean", ignore_index: int = -100,
                      label_smoothing: float = 0.0) -> None:
    _check_reduction(reduction=reduction)
    if not isinstance(ignore_index, (int, np.integer)) or isinstance(ignore_index, bool):
        raise ValueError(f"ignore_index must be an integer, got {ignore_index!r}")
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")


def _class_mask(z: Any, t: Any, w: Any, ignore_index: int, eps: float) -> Any:
    """Node (or array) of z's shape: the weight of each log-probability (no gradient)."""
    return bind(NLL_GRAD_MASK, t, *(() if w is None else (w,)), num_classes=int(
        z.shape[_cls(z.shape)]), ignore_index=int(ignore_index), label_smoothing=float(eps),
        dtype=str(z.dtype))


def _denominator(m: Any) -> Any:
    """sum(m), with 0 replaced by 1: the mean's divisor (all ignored: zero gradient)."""
    d = sum(m)
    return d + eq_mask(d, 0.0)


def _class_up(g: Any, z: Any, reduction: str, denom: Any) -> Any:
    """The upstream gradient per sample, broadcastable against z."""
    if reduction == "none":
        ax = _cls(z.shape)
        return reshape(g, tuple(z.shape[:ax]) + (1,) + tuple(z.shape[ax + 1:]))
    if reduction == "mean":
        return g * (1.0 / denom) if isinstance(denom, int) else g / denom
    return g


def _class_reduce(per: Any, reduction: str, denom: Any) -> Any:
    if per is None or reduction == "none":
        return per
    total = sum(per)
    if reduction == "sum":
        return total
    return total * (1.0 / denom) if isinstance(denom, int) else total / denom


def _nll_vjp(g: Any, out: Any, z: Any, t: Any, w: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> tuple[Any, ...]:
    def dz() -> Any:
        m = _class_mask(z, t, w, ignore_index, 0.0)
        return -_class_up(g, z, reduction, _denominator(m)) * m
    return dz, None, None


def _nll_jvp(tg: Any, out: Any, z: Any, t: Any, w: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Any:
    if tg[0] is None:
        return None
    m = _class_mask(z, t, w, ignore_index, 0.0)
    return _class_reduce(-sum(m * tg[0], axis=_cls(z.shape)), reduction, _denominator(m))


def _sym_targets(t: Any) -> list[int]:
    out = []
    for v in t.reshape(-1):
        if not getattr(v, "is_Integer", False):
            raise ValueError("class-index targets must be constants to index symbolically")
        out.append(int(v))
    return out


def _sym_class_loss(lsm: Any, t: Any, w: Any, ignore_index: int, eps: float,
                    reduction: str) -> Any:
    """-sum over classes of mask * log-probability, on object arrays (integer targets)."""
    ax = _cls(lsm.shape)
    moved = np.moveaxis(lsm, ax, -1)
    c = moved.shape[-1]
    wts = [1 if w is None else w[k] for k in range(c)]
    per = np.empty(moved.shape[:-1], dtype=object)
    den: Any = 0
    for pos, k in zip(np.ndindex(*per.shape), _sym_targets(t)):
        if k == ignore_index:
            per[pos] = 0
            continue
        row = moved[pos]
        per[pos] = -(1 - eps) * wts[k] * row[k] - _psum(eps / c * wts[j] * row[j]
                                                        for j in range(c))
        den = den + wts[k]
    if reduction == "none":
        return per
    total = per.sum() if per.ndim else per[()]
    return total / den if reduction == "mean" else total


def _psum(items: Any) -> Any:
    total: Any = 0
    for v in items:
        total = total + v
    return total


def _nll_shape(z: Any, t: Any, w: Any = None, reduction: str = "mean", **_: Any) -> Any:
    """() with reduction mean/sum, else the per-sample shape (the input less its class axis)."""
    per = _class_shapes(z, t, w, False, "nll_loss")
    return per if reduction == "none" else ()


NLL_LOSS = _loss(
    name="nll_loss", forward=_nll_loss, label="NLL", helpers=(_capturing, _targets),
    shape=_nll_shape,
    check=_check_class_loss, dtype=lambda dz, dt, dw=None, **_: dz, nondiff=(1, 2),
    numpy="_nll_loss(xp, {0}, {1}, {2}, ignore_index={ignore_index}, reduction={reduction})",
    vjp=_nll_vjp, jvp=_nll_jvp,
    sympy=lambda sp, z, t, w=None, ignore_index=-100, reduction="mean": _sym_class_loss(
        z, t, w, ignore_index, 0.0, reduction),
    trace=tt("dZ = -M dL / sum(M)  (M: the target's class weight at each kept target, "
             "0 elsewhere; / sum(M) for mean);  no gradient for targets and weight"),
    onnx=Onnx(export=ol.export_nll, imports=ol.NO_INT_TARGETS))


NLL_GRAD_MASK = register(Op(
    name="nll_grad_mask", forward=_nll_grad_mask, helpers=(_capturing, _targets, _nll_grad_mask),
    gpu=Gpu(forward=_nll_grad_mask_gpu,
            call="_nll_grad_mask_gpu(xp, {0}, {1}, num_classes={num_classes}, "
                 "ignore_index={ignore_index}, label_smoothing={label_smoothing}, "
                 "dtype={dtype})",
            helpers=(_capturing, _kernel, _row_cuda, _class_cuda, _class_source, _class_bad,
                     _nll_grad_mask_gpu)),
    shape=lambda t, w=None, num_classes=1, **_: (
        (int(num_classes),) if not tuple(t) else
        tuple(t)[:1] + (int(num_classes),) + tuple(t)[1:]),
    check=lambda t, w=None, num_classes=1, **_: _check_classes(num_classes),
    dtype=lambda dt, dw=None, dtype="float64", **_: np.dtype(dtype),
    vjp=lambda g, out, t, w=None, **_: (None, None), jvp=lambda tg, out, *a, **_: None,
    nondiff=(0, 1), label="class mask", trace=tt("no gradient (integer targets)"),
    numpy="_nll_grad_mask(xp, {0}, {1}, num_classes={num_classes}, "
          "ignore_index={ignore_index}, label_smoothing={label_smoothing}, dtype={dtype})",
    fresh=True, inplace=Unsupported("not elementwise"), numexpr=Unsupported("not elementwise"),
    sympy=Unsupported("integer class targets: a constant mask, no formula to show"),
    onnx=Onnx(export=ol.export_nll_grad_mask, imports=ol.NO_INT_TARGETS),
    doc="the weight each log-probability gets in nll_loss / cross_entropy (their gradients)"))


def _ce_parts(z: Any, t: Any, w: Any, ignore_index: int, eps: float) -> tuple[Any, Any]:
    """(M, divisor of the mean): the loss is -sum(M log softmax(z)) per sample."""
    ax = _cls(z.shape)
    c = int(z.shape[ax])
    if len(t.shape) < len(z.shape):
        m = _class_mask(z, t, w, ignore_index, eps)
        return m, _denominator(_class_mask(z, t, w, ignore_index, 0.0) if eps else m)
    tt_ = t * (1.0 - eps) + eps / c if eps else t
    if w is not None:
        tt_ = tt_ * reshape(w, tuple(c if k == ax else 1 for k in range(len(z.shape))))
    return tt_, max(_size(z) // c, 1) if c else 1


def _wshape(z: Any, w: Any) -> Any:
    ax = _cls(z.shape)
    return reshape(w, tuple(int(z.shape[ax]) if k == ax else 1 for k in range(len(z.shape))))


def _ce_vjp(g: Any, out: Any, z: Any, t: Any, w: Any = None, reduction: str = "mean",
            ignore_index: int = -100, label_smoothing: float = 0.0) -> tuple[Any, ...]:
    ax, eps = _cls(z.shape), float(label_smoothing)
    cache: dict[str, Any] = {}

    def parts() -> tuple[Any, Any, Any]:
        if "m" not in cache:
            m, den = _ce_parts(z, t, w, ignore_index, eps)
            cache.update(m=m, up=_class_up(g, z, reduction, den))
        return cache["m"], cache["up"], ax

    def dz() -> Any:
        m, up, _ = parts()
        return up * (softmax(z, axis=ax) * sum(m, axis=ax, keepdims=True) - m)

    if _is_index(z, t):
        return dz, None, None

    def dt() -> Any:
        _, up, _ = parts()
        v = -up * log_softmax(z, axis=ax)
        v = v * (1.0 - eps) if eps else v
        return v if w is None else v * _wshape(z, w)

    def dw() -> Any:
        _, up, _ = parts()
        tt_ = t * (1.0 - eps) + eps / int(z.shape[ax]) if eps else t
        v = -(up * tt_ * log_softmax(z, axis=ax))
        others = tuple(k for k in range(len(z.shape)) if k != ax)
        return sum(v, axis=others) if others else v

    return dz, dt, None if w is None else dw


def _ce_jvp(tg: Any, out: Any, z: Any, t: Any, w: Any = None, reduction: str = "mean",
            ignore_index: int = -100, label_smoothing: float = 0.0) -> Any:
    ax, eps = _cls(z.shape), float(label_smoothing)
    m, den = _ce_parts(z, t, w, ignore_index, eps)
    soft = not _is_index(z, t)
    terms = [None if tg[0] is None else
             sum((softmax(z, axis=ax) * sum(m, axis=ax, keepdims=True) - m) * tg[0], axis=ax)]
    if soft and tg[1] is not None:
        v = tg[1] * log_softmax(z, axis=ax)
        v = v * (1.0 - eps) if eps else v
        terms.append(-sum(v if w is None else v * _wshape(z, w), axis=ax))
    if soft and w is not None and len(tg) > 2 and tg[2] is not None:
        tt_ = t * (1.0 - eps) + eps / int(z.shape[ax]) if eps else t
        terms.append(-sum(tt_ * log_softmax(z, axis=ax) * _wshape(z, tg[2]), axis=ax))
    return _class_reduce(tsum(*terms), reduction, den)


def _ce_sympy(sp: Any, z: Any, t: Any, w: Any = None, reduction: str = "mean",
              ignore_index: int = -100, label_smoothing: float = 0.0) -> Any:
    ax, eps = _cls(z.shape), label_smoothing
    lsm = R.softmax(sp, z, ax, log=True)
    if t.ndim < z.ndim:
        return _sym_class_loss(lsm, t, w, ignore_index, eps, reduction)
    c = z.shape[ax]
    tt_ = t * (1 - eps) + eps / c if eps else t
    prod = tt_ * lsm
    if w is not None:
        prod = prod * w.reshape(tuple(c if k == ax else 1 for k in range(z.ndim)))
    per = -prod.sum(axis=ax)
    if reduction == "none":
        return per
    total = per.sum() if per.ndim else per
    return total / max(per.size, 1) if reduction == "mean" else total


def _ce_shape(z: Any, t: Any, w: Any = None, reduction: str = "mean", **_: Any) -> Any:
    """() with reduction mean/sum, else the per-sample shape (the input less its class axis)."""
    per = _class_shapes(z, t, w, True, "cross_entropy")
    return per if reduction == "none" else ()


def _is_index(z: Any, t: Any) -> bool:
    return len(t.shape) < len(z.shape)


CROSS_ENTROPY = _loss(
    name="cross_entropy", forward=_cross_entropy, vjp=_ce_vjp, jvp=_ce_jvp, label="CE",
    sympy=_ce_sympy, check=_check_class_loss, nondiff=(),
    numpy="_cross_entropy(xp, {0}, {1}, {2}, reduction={reduction}, "
          "ignore_index={ignore_index}, label_smoothing={label_smoothing})",
    trace=tt("dZ = (softmax(Z) Σ M - M) dL / D  (M: smoothed one-hot rows of kept class "
             "indices, or probabilities T, times the class weights W; D: summed weights of "
             "kept targets, or N);  dT = -W log softmax(Z) dL / N;  dW = -Σ T log softmax(Z)"),
    shape=_ce_shape, dtype=lambda dz, dt, dw=None, **_: dz,
    helpers=(_capturing, _targets, _nll_loss),
    gpu=Gpu(forward=_cross_entropy_gpu,
            call="_cross_entropy_gpu(xp, {0}, {1}, {2}, reduction={reduction}, "
                 "ignore_index={ignore_index}, label_smoothing={label_smoothing})",
            helpers=(_reduce, _capturing, _targets, _nll_loss, _cross_entropy, _kernel,
                     _row_cuda, _class_cuda, _class_source, _class_bad, _cross_entropy_gpu)),
    onnx=Onnx(export=ol.export_cross_entropy, imports=Unsupported(
        "ONNX SoftmaxCrossEntropyLoss takes integer labels, which from_onnx does not take "
        "as run-time tensors; the exported graph imports back as LogSoftmax, Mul, ReduceSum")))


def _huber_slope(d: Any, delta: float) -> Any:
    """d clipped to [-delta, delta]: the Huber loss's derivative in d (PyTorch's)."""
    return maximum(minimum(d, delta), -delta)


def _sl1_slope(d: Any, beta: float) -> Any:
    return sign(d) if beta == 0 else maximum(minimum(d * (1.0 / beta), 1.0), -1.0)


def _check_param(name: str, lo: float) -> Any:
    def check(*shapes: Any, reduction: str = "mean", **params: Any) -> None:
        _check_reduction(reduction=reduction)
        v = params.get(name, 1.0)
        if not float(v) >= lo:
            raise ValueError(f"{name} must be {'positive' if lo > 0 else 'non-negative'}, "
                             f"got {v!r}")
    return check


def _slope_loss(name: str, forward: Any, slope: Any, param: str, lo: float, label: str,
                formula: Any, trace: str, export: Any) -> Op:
    return _loss(
        name=name, forward=forward, label=label, check=_check_param(param, lo),
        numpy=f"_{name}(xp, {{0}}, {{1}}, reduction={{reduction}}, {param}={{{param}}})",
        onnx=Onnx(export=export, imports=ol.NO_LOSS_OP), trace=tt(trace),
        sympy=lambda sp, p, t, reduction="mean", **kw: R.loss_reduce(R.pairwise(
            sp, lambda s, u, v: formula(s, u - v, float(kw.get(param, 1.0))), p, t),
            reduction),
        vjp=lambda g, out, p, t, reduction="mean", **kw: (
            lambda: _scaled(g, _size(p), reduction) * slope(p - t, float(kw.get(param, 1.0))),
            lambda: -_scaled(g, _size(p), reduction) * slope(p - t, float(kw.get(param, 1.0)))),
        jvp=lambda tg, out, p, t, reduction="mean", **kw: None if _tdiff(tg) is None else
            _scale_jvp(slope(p - t, float(kw.get(param, 1.0))), tg, reduction))


HUBER_LOSS = _slope_loss(
    "huber_loss", _huber_loss, _huber_slope, "delta", 1e-300, "Huber",
    lambda s, d, c: s.Piecewise((d * d / 2, s.Abs(d) < c), (c * (s.Abs(d) - c / 2), True)),
    "dP = clip(P - T, -δ, δ) dL / n;  dT = -dP", ol.export_huber)
SMOOTH_L1_LOSS = _slope_loss(
    "smooth_l1_loss", _smooth_l1_loss, _sl1_slope, "beta", 0.0, "smooth L1",
    lambda s, d, c: s.Abs(d) if c == 0 else s.Piecewise(
        (d * d / (2 * c), s.Abs(d) < c), (s.Abs(d) - c / 2, True)),
    "dP = clip((P - T) / β, -1, 1) dL / n  (sign(P - T) for β = 0);  dT = -dP",
    ol.export_smooth_l1)


KL_REDUCTIONS = (*REDUCTIONS, "batchmean")


def _check_kl(*shapes: Any, reduction: str = "mean", log_target: bool = False) -> None:
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(KL_REDUCTIONS)}; "
                         f"got {reduction!r}")


def _kl_scale(g: Any, x: Any, reduction: str) -> Any:
    if reduction == "batchmean":
        n = int(x.shape[0]) if len(x.shape) else 1
        return g * (1.0 / n) if n != 1 else g
    return _scaled(g, _size(x), reduction)


def _kl_dx(t: Any, log_target: bool) -> Any:
    return -exp(t) if log_target else -t


def _kl_dt(x: Any, t: Any, log_target: bool) -> Any:
    """d/dt of t log t - t x (0 where t = 0, as PyTorch's xlogy), or of exp(t) (t - x)."""
    if log_target:
        return exp(t) * (t - x + 1.0)
    return log(t + eq_mask(t, 0.0)) + t / t - x  # nan at t = 0, as PyTorch's xlogy gradient


def _kl_reduce(v: Any, x: Any, reduction: str) -> Any:
    if v is None or reduction == "none":
        return v
    if reduction == "batchmean":
        n = int(x.shape[0]) if len(x.shape) else 1
        return sum(v) * (1.0 / n) if n != 1 else sum(v)
    return _greduce(v, reduction)


def _kl_sympy(sp: Any, x: Any, t: Any, reduction: str = "mean", log_target: bool = False) -> Any:
    if log_target:
        per = R.pairwise(sp, lambda s, u, v: s.exp(v) * (v - u), x, t)
    else:
        per = R.pairwise(sp, lambda s, u, v: s.Piecewise((-v * u, s.Eq(v, 0)),
                                                         (v * (s.log(v) - u), True)), x, t)
    if reduction == "batchmean":
        n = x.shape[0] if x.ndim else 1
        return (per.sum() if per.ndim else per) / n
    return R.loss_reduce(per, reduction)


KL_DIV = _loss(
    name="kl_div", forward=_kl_div, label="KL", check=_check_kl,
    numpy="_kl_div(xp, {0}, {1}, reduction={reduction}, log_target={log_target})",
    onnx=Onnx(export=ol.export_kl_div, imports=ol.NO_LOSS_OP), sympy=_kl_sympy,
    trace=tt("dX = -T dL / n  (-exp(T) for log targets);  dT = (log T + 1 - X) dL / n  "
             "(0 log 0 = 0; exp(T) (T - X + 1) for log targets)"),
    vjp=lambda g, out, x, t, reduction="mean", log_target=False: (
        lambda: _kl_scale(g, x, reduction) * _kl_dx(t, log_target),
        lambda: _kl_scale(g, x, reduction) * _kl_dt(x, t, log_target)),
    jvp=lambda tg, out, x, t, reduction="mean", log_target=False: _kl_reduce(tsum(
        None if tg[0] is None else tg[0] * _kl_dx(t, log_target),
        None if tg[1] is None else tg[1] * _kl_dt(x, t, log_target)), x, reduction))


def _mr_shape(a: Any, b: Any, y: Any, reduction: str = "mean", **_: Any) -> Any:
    """() with reduction mean/sum, else the broadcast shape of the three inputs (which
    must have the same number of axes, as PyTorch requires)."""
    if not len(a) == len(b) == len(y):
        raise ValueError(f"input1 {tuple(a)}, input2 {tuple(b)} and target {tuple(y)} must "
                         "have the same number of axes (then they broadcast)")
    try:
        out = np.broadcast_shapes(tuple(a), tuple(b), tuple(y))
    except ValueError:
        raise ValueError(f"input1 {tuple(a)}, input2 {tuple(b)} and target {tuple(y)} do "
                         "not broadcast together") from None
    return tuple(out) if reduction == "none" else ()


def _mr_active(a: Any, b: Any, y: Any, margin: float) -> Any:
    """1 where -y (a - b) + margin >= 0 (PyTorch's clamp_min passes the gradient at 0)."""
    return ge_mask(-y * (a - b) + margin, 0.0)


def _mr_vjp(g: Any, out: Any, a: Any, b: Any, y: Any, margin: float = 0.0,
            reduction: str = "mean") -> tuple[Any, ...]:
    def up() -> Any:
        n = _size(a) if reduction != "mean" else int(np.prod(
            np.broadcast_shapes(tuple(a.shape), tuple(b.shape), tuple(y.shape))))
        return _scaled(g, n, reduction) * _mr_active(a, b, y, margin)
    return (lambda: -(up() * y), lambda: up() * y, lambda: -(up() * (a - b)))


def _mr_jvp(tg: Any, out: Any, a: Any, b: Any, y: Any, margin: float = 0.0,
            reduction: str = "mean") -> Any:
    d = _tdiff(tg[:2])
    per = tsum(None if d is None else -(y * d), None if tg[2] is None else -(tg[2] * (a - b)))
    return None if per is None else _greduce(per * _mr_active(a, b, y, margin), reduction)


MARGIN_RANKING_LOSS = _loss(
    name="margin_ranking_loss", forward=_margin_ranking_loss, label="margin rank",
    shape=_mr_shape, vjp=_mr_vjp, jvp=_mr_jvp,
    numpy="_margin_ranking_loss(xp, {0}, {1}, {2}, margin={margin}, reduction={reduction})",
    onnx=Onnx(export=ol.export_margin_ranking, imports=ol.NO_LOSS_OP),
    sympy=lambda sp, a, b, y, margin=0.0, reduction="mean": R.loss_reduce(np.frompyfunc(
        lambda u, v, w: sp.Max(-w * (u - v) + margin, 0), 3, 1)(a, b, y), reduction),
    trace=tt("dX1 = -Y [m - Y (X1 - X2) >= 0] dL / n;  dX2 = -dX1;  "
             "dY = -(X1 - X2) [m - Y (X1 - X2) >= 0] dL / n"))


def _check_classes(num_classes: int) -> None:
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")


def _one_hot_shape(t: Any, num_classes: int, dtype: str = "float64") -> tuple[int, ...]:
    """The index shape plus a trailing axis of `num_classes`."""
    return tuple(t) + (int(num_classes),)


ONE_HOT = register(Op(
    name="one_hot", forward=_one_hot,
    shape=_one_hot_shape,
    vjp=lambda g, out, t, **_: (None,), jvp=lambda tg, out, t, **_: None, nondiff=(0,),
    dtype=lambda dt, num_classes, dtype="float64": np.dtype(dtype),
    check=lambda t, num_classes, dtype="float64": _check_classes(num_classes),
    numpy="_one_hot(xp, {0}, {num_classes}, {dtype})", label="one-hot",
    trace=tt("no gradient (integer input)"), helpers=(_one_hot,),
    onnx=Onnx(export=ol.export_one_hot, imports=Unsupported(
        "ONNX OneHot takes integer indices, which from_onnx does not take as run-time "
        "tensors (graphnn imports floating-point inputs; integers only as static values)")),
))


# -- public functions -------------------------------------------------------------------


def mse_loss(pred: Any, target: Any, reduction: str = "mean", *, name: str | None = None) -> Any:
    """Mean squared error: reduce((pred - target)^2). Shapes must match."""
    return bind(MSE_LOSS, pred, target, reduction=reduction, name=name)


def l1_loss(pred: Any, target: Any, reduction: str = "mean", *, name: str | None = None) -> Any:
    """Mean absolute error: reduce(|pred - target|); gradient sign(pred - target)."""
    return bind(L1_LOSS, pred, target, reduction=reduction, name=name)


def bce_loss(p: Any, y: Any, reduction: str = "mean", *, weight: Any = None,
             name: str | None = None) -> Any:
    """Binary cross-entropy on probabilities: -(y log p + (1 - y) log(1 - p)), each log
    clamped at -100 as in PyTorch (so p = 0 or 1 stays finite), times ``weight``. Prefer
    :func:`bce_with_logits` after a sigmoid: it is exact where p saturates."""
    return bind(BCE_LOSS, p, y, *_opt(weight), reduction=reduction, name=name)


def binary_cross_entropy(input: Any, target: Any, weight: Any = None,
                         reduction: str = "mean", *, name: str | None = None) -> Any:
    """PyTorch's ``binary_cross_entropy``: :func:`bce_loss` with an optional ``weight``
    broadcast to the input (no gradient for the weight, as in PyTorch).

    >>> import numpy as np
    >>> p, y = np.array([0.5, 0.9]), np.array([1.0, 1.0])
    >>> bool(np.isclose(binary_cross_entropy(p, y, np.array([2.0, 0.0])), np.log(2.0)))
    True
    """
    return bind(BCE_LOSS, input, target, *_opt(weight), reduction=reduction, name=name)


def bce_with_logits(z: Any, y: Any, reduction: str = "mean", *, weight: Any = None,
                    pos_weight: Any = None, name: str | None = None) -> Any:
    """Binary cross-entropy of sigmoid(z), stably: max(z, 0) - z y + log1p(exp(-|z|));
    with ``pos_weight`` p: (1 - y) z + (1 + (p - 1) y) softplus(-z); times ``weight``."""
    if pos_weight is not None and weight is None:
        weight = 1.0
    return bind(BCE_WITH_LOGITS, z, y, *_opt(weight), *_opt(pos_weight), reduction=reduction,
                name=name)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None, *,
                                     name: str | None = None) -> Any:
    """PyTorch's ``binary_cross_entropy_with_logits`` (``weight`` and ``pos_weight``
    broadcast to the input; gradients for input, target and pos_weight).

    >>> import numpy as np
    >>> z, y = np.array([0.0, 0.0]), np.array([1.0, 0.0])
    >>> bool(np.isclose(binary_cross_entropy_with_logits(z, y, pos_weight=np.array(3.0)),
    ...                 2.0 * np.log(2.0)))
    True
    """
    return bce_with_logits(input, target, reduction, weight=weight, pos_weight=pos_weight,
                           name=name)


def _opt(v: Any) -> tuple[Any, ...]:
    return () if v is None else (v,)


def _int_target(fn: Op, z: Any, target: Any, soft_ok: bool) -> Any:
    """A class-index target as a node: integer constants stay integers; a float node of
    index shape is refused at build time."""
    if not isinstance(z, ir.Node):
        return target
    if not isinstance(target, ir.Node):
        arr = np.asarray(target)
        target = z.graph.constant(arr, like=z if arr.dtype.kind == "f" else None,
                                  dtype=arr.dtype if arr.dtype.kind in "iu" else None)
    if (len(target.shape) < len(z.shape) or not soft_ok) and target.dtype.kind not in "iu":
        raise ParamError(_context(fn, (z, target), (
            f"class-index targets must be integers, got {target.dtype} "
            "(declare them with gn.input(..., dtype='int64')"
            + (f", or pass one-hot rows of shape {z.shape})" if soft_ok else ")"))),
            node=target)
    return target


def _weight(z: Any, weight: Any) -> Any:
    if weight is None or not isinstance(z, ir.Node) or isinstance(weight, ir.Node):
        return weight
    return z.graph.constant(np.asarray(weight, dtype=z.dtype), like=z)


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean", *, name: str | None = None) -> Any:
    """Negative log-likelihood of integer class targets, as PyTorch's ``nll_loss``:
    ``-weight[t] * input[n, t, ...]`` with classes on axis 1 ((C,) inputs: axis 0);
    targets equal to ``ignore_index`` add nothing; ``mean`` divides by the summed weights
    of the kept targets (nan when all are ignored). No gradient for target and weight.

    >>> import numpy as np
    >>> logp = np.log(np.array([[0.5, 0.5], [0.25, 0.75]]))
    >>> got = nll_loss(logp, np.array([0, 1]), weight=np.array([1.0, 3.0]))
    >>> bool(np.isclose(got, -(np.log(0.5) + 3.0 * np.log(0.75)) / 4.0))
    True
    """
    target = _int_target(NLL_LOSS, input, target, False)
    return bind(NLL_LOSS, input, target, *_opt(_weight(input, weight)),
                ignore_index=int(ignore_index), reduction=reduction, name=name)


def cross_entropy(logits: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0, *,
                  name: str | None = None) -> Any:
    """Softmax cross-entropy of ``logits`` (N, C), (C,) or (N, C, d1, ...) (classes on
    axis 1) against ``target``: integer class indices (N, d1, ...) (no gradient), or class
    probabilities of the logits' shape (gradient -w log softmax). As PyTorch: ``weight``
    per class, ``ignore_index``, ``label_smoothing``; ``mean`` divides by the summed
    weights of the kept targets (by N d1 ... for probabilities). Stable via log-softmax.
    (``cross_entropy(z, t, "sum")``: a string third argument is the reduction.)

    >>> import numpy as np
    >>> z = np.array([[2.0, 0.0, 0.0]])
    >>> bool(np.isclose(cross_entropy(z, np.array([0])), cross_entropy(z, np.eye(3)[[0]])))
    True
    """
    if isinstance(weight, str):  # the old signature: cross_entropy(z, t, reduction)
        weight, reduction = None, weight
    target = _int_target(CROSS_ENTROPY, logits, target, True)
    return bind(CROSS_ENTROPY, logits, target, *_opt(_weight(logits, weight)),
                reduction=reduction, ignore_index=int(ignore_index),
                label_smoothing=float(label_smoothing), name=name)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0, *,
               name: str | None = None) -> Any:
    """Huber loss (PyTorch's): 0.5 d^2 where |d| < delta, else delta (|d| - delta / 2),
    d = input - target.

    >>> import numpy as np
    >>> huber_loss(np.array([0.5, 3.0]), np.zeros(2), reduction="none")
    array([0.125, 2.5  ])
    """
    return bind(HUBER_LOSS, input, target, reduction=reduction, delta=float(delta), name=name)


def smooth_l1_loss(input: Any, target: Any, reduction: str = "mean", beta: float = 1.0, *,
                   name: str | None = None) -> Any:
    """Smooth L1 loss (PyTorch's): 0.5 d^2 / beta where |d| < beta, else |d| - beta / 2;
    ``beta = 0`` is the L1 loss.

    >>> import numpy as np
    >>> smooth_l1_loss(np.array([0.5, 3.0]), np.zeros(2), reduction="none", beta=2.0)
    array([0.0625, 2.    ])
    """
    return bind(SMOOTH_L1_LOSS, input, target, reduction=reduction, beta=float(beta),
                name=name)


def kl_div(input: Any, target: Any, reduction: str = "mean", log_target: bool = False, *,
           name: str | None = None) -> Any:
    """PyTorch's ``kl_div``: ``input`` holds log-probabilities; per element
    ``target (log target - input)`` (0 where target = 0) or, with ``log_target``,
    ``exp(target) (target - input)``. ``reduction="batchmean"`` divides the sum by the
    batch size (the true KL divergence per sample); ``mean`` divides by every element.

    >>> import numpy as np
    >>> p = np.array([[0.5, 0.5]])
    >>> float(kl_div(np.log(p), np.array([[1.0, 0.0]]), reduction="batchmean"))
    0.6931471805599453
    """
    return bind(KL_DIV, input, target, reduction=reduction, log_target=bool(log_target),
                name=name)


def margin_ranking_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                        reduction: str = "mean", *, name: str | None = None) -> Any:
    """PyTorch's ``margin_ranking_loss``: max(0, -target (input1 - input2) + margin),
    inputs broadcast together; target is 1 (input1 should rank higher) or -1.

    >>> import numpy as np
    >>> margin_ranking_loss(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]),
    ...                     margin=0.5, reduction="none")
    array([0. , 1.5])
    """
    return bind(MARGIN_RANKING_LOSS, input1, input2, target, margin=float(margin),
                reduction=reduction, name=name)


def one_hot(t: Any, num_classes: int, dtype: Any = "float64", *, name: str | None = None) -> Any:
    """Rows of the identity picked by integer labels: shape ``t.shape + (num_classes,)``."""
    return bind(ONE_HOT, t, num_classes=int(num_classes), dtype=str(np.dtype(dtype)), name=name)


def _cos_axis(a: Any, b: Any, dim: int) -> tuple[tuple[int, ...], int]:
    shape = tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    nd = max(len(shape), 1)
    if not -nd <= dim < nd:
        raise ValueError(f"dim {dim} is out of range for inputs of shape {shape}")
    return shape, dim % nd


def _cosine_similarity(xp: Any, a: Any, b: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    if a.shape != b.shape:
        shape = (a + b).shape
        a, b = xp.broadcast_to(a, shape), xp.broadcast_to(b, shape)
    if a.ndim == 0:
        a, b = a.reshape(1), b.reshape(1)
    ca = xp.maximum(xp.sqrt(xp.sum(a * a, axis=dim, keepdims=True)), eps)
    cb = xp.maximum(xp.sqrt(xp.sum(b * b, axis=dim, keepdims=True)), eps)
    return xp.sum((a / ca) * (b / cb), axis=dim)


def _cos_shape(a: Any, b: Any, dim: int = 1, eps: float = 1e-8) -> tuple[int, ...]:
    """The broadcast shape of the inputs without ``dim``."""
    try:
        shape, d = _cos_axis(a, b, dim)
    except ValueError as e:
        raise ValueError(f"x1 {tuple(a)} and x2 {tuple(b)}: {e}" if "dim" in str(e) else
                         f"x1 {tuple(a)} and x2 {tuple(b)} do not broadcast together") from None
    return shape[:d] + shape[d + 1:]


def _cos_partials(out: Any, a: Any, b: Any, dim: int, eps: float) -> tuple[Any, Any]:
    """d out / d a and d out / d b (PyTorch's: the clamp of each norm at eps passes the
    norm's own gradient a / |a|, 0 at a = 0)."""
    shape = tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
    ax = dim % max(len(shape), 1)
    a = a if tuple(a.shape) == shape else broadcast_to(a, shape)
    b = b if tuple(b.shape) == shape else broadcast_to(b, shape)
    o = reshape(out, tuple(out.shape[:ax]) + (1,) + tuple(out.shape[ax:]))

    def part(x: Any, y: Any) -> Any:
        nx = sum(x * x, axis=ax, keepdims=True) ** 0.5
        ny = sum(y * y, axis=ax, keepdims=True) ** 0.5
        cx, cy = maximum(nx, eps), maximum(ny, eps)
        return y / (cx * cy) - o / cx * (x / (nx + eq_mask(nx, 0.0)))
    return part(a, b), part(b, a)


def _cos_vjp(g: Any, out: Any, a: Any, b: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    def up() -> Any:
        ax = dim % max(len(out.shape) + 1, 1)
        return reshape(g, tuple(out.shape[:ax]) + (1,) + tuple(out.shape[ax:]))
    return (lambda: up() * _cos_partials(out, a, b, dim, eps)[0],
            lambda: up() * _cos_partials(out, a, b, dim, eps)[1])


def _cos_jvp(tg: Any, out: Any, a: Any, b: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    ax = dim % max(len(out.shape) + 1, 1)
    da, db = _cos_partials(out, a, b, dim, eps)
    return tsum(None if tg[0] is None else sum(tg[0] * da, axis=ax),
                None if tg[1] is None else sum(tg[1] * db, axis=ax))


def _cos_sympy(sp: Any, a: Any, b: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    a, b = np.broadcast_arrays(a, b)
    if a.ndim == 0:
        a, b = a.reshape(1), b.reshape(1)
    sq = np.frompyfunc(lambda v: sp.Max(sp.sqrt(v), eps), 1, 1)
    ca, cb = sq((a * a).sum(axis=dim, keepdims=True)), sq((b * b).sum(axis=dim, keepdims=True))
    return ((a / ca) * (b / cb)).sum(axis=dim)


def _cos_check(a: Any, b: Any, dim: int = 1, eps: float = 1e-8) -> None:
    if not float(eps) > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")


COSINE_SIMILARITY = register(Op(
    name="cosine_similarity", forward=_cosine_similarity, shape=_cos_shape, check=_cos_check,
    vjp=_cos_vjp, jvp=_cos_jvp, sympy=_cos_sympy, label="cos sim", cost=_ew_cost,
    numpy="_cosine_similarity(xp, {0}, {1}, dim={dim}, eps={eps})",
    helpers=(_cosine_similarity,), fresh=True,
    inplace=Unsupported("a reduction over dim, not elementwise"),
    numexpr=Unsupported("a reduction over dim, not elementwise"),
    trace=tt("dX1 = dY (X2 / (‖X1‖ ‖X2‖) - Y X1 / ‖X1‖^2);  dX2 likewise  "
             "(norms clamped at eps)"),
    onnx=Onnx(export=ol.export_cosine_similarity, imports=Unsupported(
        "the default ONNX domain has no cosine similarity; the exported graph imports back "
        "as its elementwise ops and reductions")),
    doc="cosine of the angle between x1 and x2 along dim (norms clamped at eps)"))


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8, *,
                      name: str | None = None) -> Any:
    """PyTorch's ``cosine_similarity``: sum(x1 x2, dim) / (max(|x1|, eps) max(|x2|, eps)),
    inputs broadcast together; the result drops ``dim``.

    >>> import numpy as np
    >>> cosine_similarity(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[2.0, 0.0], [1.0, 0.0]]))
    array([1.        , 0.70710678])
    """
    return bind(COSINE_SIMILARITY, x1, x2, dim=int(dim), eps=float(eps), name=name)


def squared_loss(o: Any, t: Any) -> Any:
    """The lectures' squared loss 0.5 * sum((o - t) ** 2), a composite of existing ops."""
    return 0.5 * sum((o - t) ** 2)


__all__ = ["mse_loss", "l1_loss", "bce_loss", "bce_with_logits", "cross_entropy", "one_hot",
           "squared_loss", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "huber_loss", "smooth_l1_loss", "kl_div",
           "margin_ranking_loss", "cosine_similarity"]
