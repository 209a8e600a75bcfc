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
from graphnn.core.op import Onnx, Op, Unsupported, register, tt
from graphnn.ops import onnx_losses as ol
from graphnn.ops import symrules as R
from graphnn.ops.activations import log_softmax, sigmoid, softmax
from graphnn.ops.elementwise import log, maximum, sign, tsum
from graphnn.ops.linalg import reshape
from graphnn.ops.reduce import mean, sum

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


def _bce_loss(xp: Any, p: Any, y: Any, reduction: str = "mean") -> Any:
    lp, lq = _clamped_log(xp, p), _clamped_log(xp, 1.0 - p)
    return _reduce(xp, -(y * lp + (1.0 - y) * lq), reduction)


def _bce_with_logits(xp: Any, z: Any, y: Any, reduction: str = "mean") -> Any:
    return _reduce(xp, xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z))), reduction)


def _log_softmax_last(xp: Any, z: Any) -> Any:
    s = z - xp.max(z, axis=-1, keepdims=True)
    return s - xp.log(xp.sum(xp.exp(s), axis=-1, keepdims=True))


def _cross_entropy(xp: Any, z: Any, t: Any, reduction: str = "mean") -> Any:
    """-log softmax(z)[target] (class indices) or -sum(t * log softmax(z)) (probabilities)."""
    lsm = _log_softmax_last(xp, z)
    if t.ndim == z.ndim:
        per = -xp.sum(t * lsm, axis=-1)
    else:
        idx = t.astype(xp.int64)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= z.shape[-1]):
            raise ValueError(f"class index out of range [0, {z.shape[-1]}): found "
                             f"{int(idx.min())}..{int(idx.max())}")
        per = -xp.take_along_axis(lsm, idx[..., None], axis=-1)[..., 0]
    return _reduce(xp, per, reduction)


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


def _pair_shape(p: Any, t: Any, reduction: str = "mean") -> tuple[int, ...]:
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
        check=_check_reduction, cost=_ew_cost, helpers=(_reduce, *helpers, forward),
        numpy=f"_{name}(xp, {{0}}, {{1}}, reduction={{reduction}})", fresh=True,
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


BCE_LOSS = _loss(
    name="bce_loss", forward=_bce_loss, label="BCE", helpers=(_clamped_log,),
    onnx=Onnx(export=ol.export_bce, imports=ol.NO_LOSS_OP),
    sympy=lambda sp, p, y, reduction="mean": R.loss_reduce(R.pairwise(
        sp, lambda s, u, v: -(v * s.log(u) + (1 - v) * s.log(1 - u)), p, y), reduction),
    trace=tt("dP = (P - Y) / max(P (1 - P), 1e-12) dL / n;  dY = (log(1 - P) - log P) dL / n"),
    vjp=lambda g, out, p, y, reduction="mean": (
        lambda: _scaled(g, _size(p), reduction) * _bce_dp(p, y),
        lambda: _scaled(g, _size(p), reduction) * _bce_dy(p)),
    jvp=lambda t, out, p, y, reduction="mean": _greduce(tsum(
        None if t[0] is None else t[0] * _bce_dp(p, y),
        None if t[1] is None else t[1] * _bce_dy(p)), reduction))
BCE_WITH_LOGITS = _loss(
    name="bce_with_logits", forward=_bce_with_logits, label="BCE logits",
    onnx=Onnx(export=ol.export_bce_with_logits, imports=ol.NO_LOSS_OP),
    sympy=lambda sp, z, y, reduction="mean": R.loss_reduce(R.pairwise(
        sp, lambda s, u, v: s.log(1 + s.exp(u)) - u * v, z, y), reduction),
    trace=tt("dZ = (σ(Z) - Y) dL / n;  dY = -Z dL / n"),
    vjp=lambda g, out, z, y, reduction="mean": (
        lambda: _scaled(g, _size(z), reduction) * (sigmoid(z) - y),
        lambda: -_scaled(g, _size(z), reduction) * z),
    jvp=lambda t, out, z, y, reduction="mean": _greduce(tsum(
        None if t[0] is None else t[0] * (sigmoid(z) - y),
        None if t[1] is None else -(t[1] * z)), reduction))


def _ce_shape(z: Any, t: Any, reduction: str = "mean") -> tuple[int, ...]:
    """() with reduction mean/sum, else (N,)."""
    z, t = tuple(z), tuple(t)
    if len(z) not in (1, 2):
        raise ValueError(f"logits must be (N, C) or (C,), got {z}")
    if t != z[:-1] and t != z:
        raise ValueError(f"target {t} fits neither class indices {z[:-1]} nor class "
                         f"probabilities {z} for logits {z}")
    return z[:-1] if reduction == "none" else ()


def _ce_upstream(g: Any, z: Any, reduction: str) -> Any:
    s = _scaled(g, _size(z) // z.shape[-1], reduction)
    return reshape(s, tuple(z.shape[:-1]) + (1,)) if reduction == "none" else s


def _is_index(z: Any, t: Any) -> bool:
    return len(t.shape) < len(z.shape)


def _ce_dz(z: Any, t: Any) -> Any:
    if _is_index(z, t):
        return softmax(z) - one_hot(t, z.shape[-1], dtype=str(z.dtype))
    return softmax(z) * sum(t, axis=-1, keepdims=True) - t


def _ce_vjp(g: Any, out: Any, z: Any, t: Any, reduction: str = "mean") -> tuple[Any, Any]:
    dt = None if _is_index(z, t) else (lambda: -_ce_upstream(g, z, reduction) * log_softmax(z))
    return (lambda: _ce_upstream(g, z, reduction) * _ce_dz(z, t)), dt


def _ce_jvp(tg: Any, out: Any, z: Any, t: Any, reduction: str = "mean") -> Any:
    per = tsum(None if tg[0] is None else sum(_ce_dz(z, t) * tg[0], axis=-1),
               None if tg[1] is None or _is_index(z, t) else
               -sum(tg[1] * log_softmax(z), axis=-1))
    return _greduce(per, reduction)


CROSS_ENTROPY = _loss(
    name="cross_entropy", forward=_cross_entropy, vjp=_ce_vjp, jvp=_ce_jvp, label="CE",
    sympy=R.cross_entropy,
    trace=tt("dZ = (softmax(Z) Σ T - T) dL / N  (T one-hot for class indices);  "
             "dT = -log softmax(Z)"),
    shape=_ce_shape, dtype=lambda dz, dt, **_: dz, helpers=(_log_softmax_last,),
    onnx=Onnx(export=ol.export_cross_entropy, imports=Unsupported(
        "ONNX SoftmaxCrossEntropyLoss takes integer labels, which from_onnx does not take "
        "as run-time tensors; the exported graph imports back as LogSoftmax, Mul, ReduceSum")))


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


def bce_loss(p: Any, y: Any, reduction: str = "mean", *, name: str | None = None) -> Any:
    """Binary cross-entropy on probabilities: -(y log p + (1 - y) log(1 - p)), each log
    clamped at -100 as in PyTorch (so p = 0 or 1 stays finite). Prefer
    :func:`bce_with_logits` after a sigmoid: it is exact where p saturates."""
    return bind(BCE_LOSS, p, y, reduction=reduction, name=name)


def bce_with_logits(z: Any, y: Any, reduction: str = "mean", *, name: str | None = None) -> Any:
    """Binary cross-entropy of sigmoid(z), stably: max(z, 0) - z y + log1p(exp(-|z|))."""
    return bind(BCE_WITH_LOGITS, z, y, reduction=reduction, name=name)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean", *,
                  name: str | None = None) -> Any:
    """Softmax cross-entropy of ``logits`` (N, C) (or (C,)) against ``target``: integer
    class indices (N,) (no gradient), or one-hot / probability rows (N, C) (gradient
    -log softmax). ``mean`` averages over the N samples. Stable via log-softmax.

    >>> import numpy as np
    >>> z = np.array([[2.0, 0.0, 0.0]])
    >>> bool(np.isclose(cross_entropy(z, np.array([0])), cross_entropy(z, np.eye(3)[[0]])))
    True
    """
    if isinstance(logits, ir.Node):
        if not isinstance(target, ir.Node):
            arr = np.asarray(target)
            target = logits.graph.constant(arr, like=logits if arr.dtype.kind == "f" else None,
                                           dtype=arr.dtype if arr.dtype.kind in "iu" else None)
        if len(target.shape) < len(logits.shape) and target.dtype.kind not in "iu":
            raise ParamError(_context(CROSS_ENTROPY, (logits, target), (
                f"class-index targets must be integers, got {target.dtype} "
                "(declare them with gn.input(..., dtype='int64'), or pass one-hot rows of "
                f"shape {logits.shape})")), node=target)
    return bind(CROSS_ENTROPY, logits, target, reduction=reduction, name=name)


def one_hot(t: Any, num_classes: int, dtype: Any = "float64", *, name: str | None = None) -> Any:
    """Rows of the identity picked by integer labels: shape ``t.shape + (num_classes,)``."""
    return bind(ONE_HOT, t, num_classes=int(num_classes), dtype=str(np.dtype(dtype)), name=name)


def squared_loss(o: Any, t: Any) -> Any:
    """The lectures' squared loss 0.5 * sum((o - t) ** 2), a composite of existing ops."""
    return 0.5 * sum((o - t) ** 2)


__all__ = ["mse_loss", "l1_loss", "bce_loss", "bce_with_logits", "cross_entropy", "one_hot",
           "squared_loss"]
