"""Reductions and scans with PyTorch's names, arguments and gradients: sum, mean, max /
amax, min / amin, argmax, argmin, prod, var, std, logsumexp, norm, any, all (over ``dim``,
all dims when None, with ``keepdim``; NumPy's ``axis`` / ``keepdims`` are accepted too),
cumsum, cumprod, cummax, cummin, sort, argsort, topk and take_along_dim.

Each graphnn node has ONE output, so the PyTorch functions that return values and indices
(sort, topk, cummax, cummin) build two nodes: an integer indices op (argsort,
topk_indices, cummax_indices, cummin_indices; no gradient) and ``take_along_dim`` of the
input by those indices for the values, whose gradient scatters back to the source
positions (``take_along_dim_grad``), and return both as ``(values, indices)``.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph():
...     x = gn.input("x", shape=(2, 3))
...     s = gn.sum(x, axis=1, keepdims=True)
>>> s.shape
(2, 1)
"""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, Unsupported, register, tt
from graphnn.ops import batching as BT
from graphnn.ops import onnx_reduce as orr
from graphnn.ops import onnx_rules as ox
from graphnn.ops import symrules as R
from graphnn.ops.elementwise import abs, eq_mask, exp, sign
from graphnn.ops.linalg import broadcast_to, reshape


def _norm(axis: Any, a: Any = None) -> Any:
    """``axis`` as the record stores it: None, an int or a tuple of ints. On a 0-d ``a`` a
    valid axis (0 or -1, as PyTorch accepts) becomes None, the same reduction, so every
    backend runs it; an invalid one is kept for bind to report."""
    if axis is not None and _ndim(a) == 0:
        try:
            S.norm_axes(axis, 0)
            return None
        except (ValueError, TypeError):
            pass
    if axis is None or isinstance(axis, (int, np.integer)):
        return None if axis is None else int(axis)
    return tuple(int(a) for a in axis)


def _ndim(a: Any) -> int | None:
    """The number of dimensions of a node, array or number (None for anything else)."""
    shape = getattr(a, "shape", None)
    if shape is not None:
        return len(shape)
    return 0 if isinstance(a, (int, float, np.number)) else None


def _ax(a: Any, axis: Any) -> Any:
    """The axis NumPy needs: None on a 0-d array (PyTorch's axis 0 / -1 of a scalar)."""
    return None if np.ndim(a) == 0 else axis


def _rshape(a: S.Shape, axis: Any = None, keepdims: bool = False) -> S.Shape:
    """The input shape without `axis` (kept as 1 with keepdims; all axes when None)."""
    return S.reduce_shape(a, axis, keepdims)


def expand(g: Any, in_shape: S.Shape, axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduced gradient ``g`` back to ``in_shape``."""
    if not keepdims:
        g = reshape(g, S.reduce_shape(tuple(in_shape), axis, True))
    return broadcast_to(g, tuple(in_shape))


def _count(shape: S.Shape, axis: Any) -> int:
    axes = S.norm_axes(axis, len(shape))
    return int(np.prod([shape[i] for i in axes], dtype=np.int64))


def _max_vjp(g: Any, out: Any, a: Any, axis: Any = None, keepdims: bool = False) -> tuple[Any]:
    # ties share the gradient equally (as torch.amax does)
    full = expand(out, a.shape, axis, keepdims)
    mask = eq_mask(a, full)
    count = expand(sum(mask, axis=axis, keepdims=keepdims), a.shape, axis, keepdims)
    return (expand(g, a.shape, axis, keepdims) * mask / count,)


def _max_check(a: S.Shape, axis: Any = None, keepdims: bool = False) -> None:
    """Reject a max over an axis of length 0, in graphs and eagerly."""
    empty = [i for i in S.norm_axes(axis, len(a)) if a[i] == 0]
    if empty:
        raise ValueError(f"cannot take the max over axis {empty[0]} of length 0 (input shape "
                         f"{tuple(a)}): the max of an empty set is undefined")


def _max_forward(xp: Any, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    _max_check(np.shape(a), axis, keepdims)
    return xp.max(a, axis=_ax(a, axis), keepdims=keepdims)


def _red_cost(a: S.Shape, out: S.Shape, **_: Any) -> int:
    return int(np.prod(a, dtype=np.int64))


SUM = register(Op(
    name="sum", forward=lambda xp, a, axis=None, keepdims=False:
        xp.sum(a, axis=_ax(a, axis), keepdims=keepdims),
    shape=_rshape, fresh=True, latex=r"y = \sum_i x_i",
    vjp=lambda g, out, a, axis=None, keepdims=False: (expand(g, a.shape, axis, keepdims),),
    jvp=lambda t, out, a, axis=None, keepdims=False:
        None if t[0] is None else sum(t[0], axis=axis, keepdims=keepdims),
    batched=BT.AXIS, numpy="xp.sum({0}, axis={axis}, keepdims={keepdims})", label="Σ",
    trace=tt("dX = broadcast(dY)"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceSum"),
              imports={"ReduceSum": ox.import_reduce("sum", 13)}),
))
MEAN = register(Op(
    name="mean", forward=lambda xp, a, axis=None, keepdims=False:
        xp.mean(a, axis=_ax(a, axis), keepdims=keepdims),
    shape=_rshape, fresh=True, latex=r"y = \frac{1}{n} \sum_i x_i",
    vjp=lambda g, out, a, axis=None, keepdims=False:
        (expand(g, a.shape, axis, keepdims) * (1.0 / (_count(a.shape, axis) or 1)),),
    jvp=lambda t, out, a, axis=None, keepdims=False:
        None if t[0] is None else mean(t[0], axis=axis, keepdims=keepdims),
    batched=BT.AXIS, numpy="xp.mean({0}, axis={axis}, keepdims={keepdims})", label="mean",
    trace=tt("dX = broadcast(dY) / n"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceMean"),
              imports={"ReduceMean": ox.import_reduce("mean", 18)}),
))
MAX = register(Op(
    name="max", forward=_max_forward,
    shape=_rshape, fresh=True, vjp=_max_vjp, sympy=R.reduce_max,
    latex=r"y = \max_i x_i", check=_max_check,
    jvp=lambda t, out, a, axis=None, keepdims=False: None if t[0] is None else sum(
        t[0] * _tie_weights(a, out, axis, keepdims), axis=axis, keepdims=keepdims),
    batched=BT.AXIS, numpy="xp.max({0}, axis={axis}, keepdims={keepdims})", label="max",
    trace=tt("dX = dY where X is the max (shared among ties), else 0"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceMax"),
              imports={"ReduceMax": ox.import_reduce("max", 18)}),
))


def _tie_weights(a: Any, out: Any, axis: Any, keepdims: bool) -> Any:
    mask = eq_mask(a, expand(out, a.shape, axis, keepdims))
    return mask / expand(sum(mask, axis=axis, keepdims=keepdims), a.shape, axis, keepdims)


def _dims(fn: str, a: Any, dim: Any, keepdim: Any, axis: Any = None,
          keepdims: Any = None) -> tuple[Any, bool]:
    """PyTorch's ``dim`` / ``keepdim`` or NumPy's ``axis`` / ``keepdims`` (every reduction
    takes both spellings), normalised as the records store them."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{fn}: pass dim or axis, not both")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return _norm(dim, a), bool(keepdim)


def sum(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: bool | None = None, name: str | None = None) -> Any:
    """Sum over ``axis`` (all axes when None); ``dim`` / ``keepdim`` are PyTorch's names.

    >>> float(sum(np.array([[1.0, 2.0], [3.0, 4.0]]), dim=0)[1])
    6.0
    """
    ax, keep = _dims("sum", a, dim, keepdim, axis, keepdims)
    return bind(SUM, a, axis=ax, keepdims=keep, name=name)


def mean(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
         keepdim: bool | None = None, name: str | None = None) -> Any:
    """Mean over ``axis`` (all axes when None); ``dim`` / ``keepdim`` are PyTorch's names.

    >>> float(mean(np.array([1.0, 2.0, 6.0])))
    3.0
    """
    ax, keep = _dims("mean", a, dim, keepdim, axis, keepdims)
    return bind(MEAN, a, axis=ax, keepdims=keep, name=name)


def max(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: bool | None = None, name: str | None = None) -> Any:
    """Maximum over ``axis``; the gradient is shared equally among tied maxima
    (PyTorch's ``amax``).

    >>> float(max(np.array([1.0, 3.0, 2.0])))
    3.0
    """
    ax, keep = _dims("max", a, dim, keepdim, axis, keepdims)
    return bind(MAX, a, axis=ax, keepdims=keep, name=name)


# == min / amin, argmax / argmin, any / all ===============================================

def _extreme_check(what: str) -> Any:
    def check(a: S.Shape, axis: Any = None, keepdims: bool = False, **_: Any) -> None:
        empty = [i for i in S.norm_axes(axis, len(a)) if a[i] == 0]
        if empty:
            raise ValueError(f"cannot take the {what} over axis {empty[0]} of length 0 (input "
                             f"shape {tuple(a)}): the {what} of an empty set is undefined "
                             "(PyTorch raises too)")
    return check


def _sym_reduce(fn: str) -> Any:
    def rule(sp: Any, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        f = np.frompyfunc(getattr(sp, fn), 2, 1)
        if axis is None or a.ndim == 0:
            r = f.reduce(a.reshape(-1), axis=0)
            return np.reshape(np.array(r, dtype=object), (1,) * a.ndim) if keepdims else r
        for ax in sorted(S.norm_axes(axis, a.ndim), reverse=True):
            a = f.reduce(a, axis=ax, keepdims=keepdims)
        return a
    return rule


def _min_forward(xp: Any, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    _extreme_check("min")(np.shape(a), axis, keepdims)
    return xp.min(a, axis=_ax(a, axis), keepdims=keepdims)


MIN = register(Op(
    name="min", forward=_min_forward,
    shape=_rshape, fresh=True, vjp=_max_vjp, sympy=_sym_reduce("Min"),
    latex=r"y = \min_i x_i", check=_extreme_check("min"),
    jvp=lambda t, out, a, axis=None, keepdims=False: None if t[0] is None else sum(
        t[0] * _tie_weights(a, out, axis, keepdims), axis=axis, keepdims=keepdims),
    batched=BT.AXIS, numpy="xp.min({0}, axis={axis}, keepdims={keepdims})", label="min",
    trace=tt("dX = dY where X is the min (shared among ties), else 0"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceMin"),
              imports={"ReduceMin": orr.import_reduce("min")}),
    doc="minimum over dim (PyTorch's amin: the gradient is shared among ties)",
))


def _arg_check(what: str) -> Any:
    def check(a: S.Shape, axis: Any = None, keepdims: bool = False) -> None:
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise ValueError(f"{what} takes one dim (an int) or None, got {axis!r}")
        if axis is None and 0 in a:
            raise ValueError(f"cannot take the {what} of an empty input (shape {tuple(a)})")
        _extreme_check(what)(a, axis)
    return check


def _arg_forward(fn: str) -> Any:
    def forward(xp: Any, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        _arg_check(fn)(np.shape(a), axis, keepdims)
        return getattr(xp, fn)(a, axis=_ax(a, axis), keepdims=keepdims).astype("int64")
    return forward


def _int_dtype(*_: Any, **__: Any) -> Any:
    return np.dtype(np.int64)


def _arg_record(fn: str, onnx_type: str) -> Op:
    return register(Op(
        name=fn, forward=_arg_forward(fn), shape=_rshape, check=_arg_check(fn),
        dtype=_int_dtype, fresh=True, nondiff=(0,),
        vjp=lambda g, out, a, **_: (None,), jvp=lambda t, out, a, **_: None,
        sympy=Unsupported("an integer index, not a formula of the inputs"),
        numpy=f"xp.{fn}({{0}}, axis={{axis}}, keepdims={{keepdims}}).astype('int64')",
        trace=tt("no gradient (integer output)"), cost=_red_cost, label=fn,
        onnx=Onnx(export=orr.export_arg(onnx_type),
                  imports={onnx_type: orr.import_arg(fn)}),
        doc=f"index of the first {fn[3:]}imum over dim (flattened when dim is None; no "
            "gradient)",
    ))


ARGMAX = _arg_record("argmax", "ArgMax")
ARGMIN = _arg_record("argmin", "ArgMin")


def _bool_dtype(*_: Any, **__: Any) -> Any:
    return np.dtype(np.bool_)


def _truth_record(fn: str, reduce_type: str) -> Op:
    return register(Op(
        name=fn, forward=lambda xp, a, axis=None, keepdims=False:
            getattr(xp, fn)(a, axis=_ax(a, axis), keepdims=keepdims),
        shape=_rshape, dtype=_bool_dtype, fresh=True, nondiff=(0,),
        vjp=lambda g, out, a, **_: (None,), jvp=lambda t, out, a, **_: None,
        sympy=Unsupported("a boolean result, not a formula of the inputs"),
        numpy=f"xp.{fn}({{0}}, axis={{axis}}, keepdims={{keepdims}})",
        trace=tt("no gradient (boolean output)"), cost=_red_cost, label=fn,
        onnx=Onnx(export=orr.export_anyall(reduce_type), imports=Unsupported(
            "ONNX has no any / all reduction; the export is Equal, Not, Cast and "
            f"{reduce_type}, which graphnn does not fold back into {fn}")),
        doc=f"True where {'any' if fn == 'any' else 'every'} element over dim is nonzero "
            "(bool; no gradient)",
    ))


ANY = _truth_record("any", "ReduceMax")
ALL = _truth_record("all", "ReduceMin")


# == prod =================================================================================

def _prod_weights(a: Any, axis: Any, keepdims: bool) -> Any:
    """d prod / d a_i for every i, exact with zeros: prod of the others where the slice has
    no zero, prod of the nonzeros at the only zero, 0 everywhere when there are several."""
    z = eq_mask(a, 0.0)
    nz = a * (1.0 - z) + z                 # zeros replaced by 1 (and cut from the graph)
    pe = expand(prod(nz, dim=axis, keepdim=keepdims), a.shape, axis, keepdims)
    zeros = sum(z, axis=axis, keepdims=keepdims)
    none = expand(eq_mask(zeros, 0.0), a.shape, axis, keepdims)
    one = expand(eq_mask(zeros, 1.0), a.shape, axis, keepdims)
    return pe * (none * (1.0 - z) / nz + one * z)   # the masks never multiply an inf


PROD = register(Op(
    name="prod", forward=lambda xp, a, axis=None, keepdims=False:
        xp.prod(a, axis=_ax(a, axis), keepdims=keepdims),
    shape=_rshape, fresh=True, latex=r"y = \prod_i x_i",
    vjp=lambda g, out, a, axis=None, keepdims=False:
        (lambda: expand(g, a.shape, axis, keepdims) * _prod_weights(a, axis, keepdims),),
    jvp=lambda t, out, a, axis=None, keepdims=False: None if t[0] is None else sum(
        t[0] * _prod_weights(a, axis, keepdims), axis=axis, keepdims=keepdims),
    numpy="xp.prod({0}, axis={axis}, keepdims={keepdims})", label="Π",
    trace=tt("dX = dY * prod(X) / X (with zeros: prod of the others)"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceProd"),
              imports={"ReduceProd": orr.import_reduce("prod")}),
    doc="product over dim (1 for an empty set; the gradient is exact with zeros)",
))


# == logsumexp ============================================================================

def _logsumexp(xp: Any, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    ax = None if a.ndim == 0 else axis
    if a.size == 0:
        m = xp.zeros(xp.sum(a, axis=ax, keepdims=True).shape, dtype=a.dtype)
    else:
        m = xp.max(a, axis=ax, keepdims=True)
        m = xp.where(xp.isinf(m), xp.zeros_like(m), m)
    r = xp.log(xp.sum(xp.exp(a - m), axis=ax, keepdims=True)) + m
    if keepdims:
        return r
    return xp.reshape(r, ()) if ax is None else xp.squeeze(r, axis=ax)


def _lse_sympy(sp: Any, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
    e = np.frompyfunc(sp.exp, 1, 1)(a)
    s = np.sum(e, axis=None if a.ndim == 0 else axis, keepdims=keepdims)
    return np.frompyfunc(sp.log, 1, 1)(s)


def _softmax_of(a: Any, out: Any, axis: Any, keepdims: bool) -> Any:
    return exp(a - expand(out, a.shape, axis, keepdims))


LOGSUMEXP = register(Op(
    name="logsumexp", forward=_logsumexp, shape=_rshape, fresh=True,
    latex=r"y = \log \sum_i e^{x_i}", sympy=_lse_sympy,
    vjp=lambda g, out, a, axis=None, keepdims=False:
        (lambda: expand(g, a.shape, axis, keepdims) * _softmax_of(a, out, axis, keepdims),),
    jvp=lambda t, out, a, axis=None, keepdims=False: None if t[0] is None else sum(
        t[0] * _softmax_of(a, out, axis, keepdims), axis=axis, keepdims=keepdims),
    numpy="_logsumexp(xp, {0}, {axis}, {keepdims})", helpers=(_logsumexp,),
    label="logsumexp", trace=tt("dX = dY * softmax(X)"), cost=_red_cost,
    onnx=Onnx(export=ox.export_reduce("ReduceLogSumExp"),
              imports={"ReduceLogSumExp": orr.import_reduce("logsumexp")}),
    doc="log(sum(exp(x))) over dim, shifted by the max (-inf for an empty set)",
))


# == var / std ============================================================================

def _var(xp: Any, a: Any, axis: Any = None, correction: float = 1,
         keepdims: bool = False) -> Any:
    ax = None if a.ndim == 0 else axis
    s = xp.sum(a, axis=ax, keepdims=True)
    n = a.size // s.size if s.size else 0
    d = a - s / n if n else a
    v = xp.sum(d * d, axis=ax, keepdims=keepdims)
    dof = n - correction
    return v / dof if dof > 0 else v * float("inf")  # PyTorch: 0 / 0 = nan, v / 0 = inf


def _std(xp: Any, a: Any, axis: Any = None, correction: float = 1,
         keepdims: bool = False) -> Any:
    return xp.sqrt(_var(xp, a, axis, correction, keepdims))


def _dev(a: Any, axis: Any) -> Any:
    """``a`` minus its mean over ``axis`` (the mean broadcast back)."""
    return a - expand(mean(a, axis=axis, keepdims=True), a.shape, axis, True)


def _var_weights(a: Any, axis: Any, correction: float) -> Any:
    """d var / d a: 2 (a - mean) / (N - correction); where N - correction <= 0, +inf (nan
    where a equals the mean), as PyTorch."""
    dof = _count(a.shape, axis) - correction
    if dof <= 0:
        return abs(_dev(a, axis)) * float("inf")
    return _dev(a, axis) * (2.0 / dof)


def _var_vjp(g: Any, out: Any, a: Any, axis: Any = None, correction: float = 1,
             keepdims: bool = False) -> tuple[Any]:
    return (lambda: expand(g, a.shape, axis, keepdims) * _var_weights(a, axis, correction),)


def _var_jvp(t: Any, out: Any, a: Any, axis: Any = None, correction: float = 1,
             keepdims: bool = False) -> Any:
    if t[0] is None:
        return None
    return sum(t[0] * _var_weights(a, axis, correction), axis=axis, keepdims=keepdims)


def _half_inv(out: Any) -> Any:
    """1 / (2 std), 0 where std is 0 (PyTorch's std gradient at zero variance)."""
    z = eq_mask(out, 0.0)
    return (1.0 - z) / (out * 2.0 + z)


def _std_vjp(g: Any, out: Any, a: Any, axis: Any = None, correction: float = 1,
             keepdims: bool = False) -> tuple[Any]:
    return (lambda: _var_vjp(g * _half_inv(out), out, a, axis, correction, keepdims)[0](),)


def _std_jvp(t: Any, out: Any, a: Any, axis: Any = None, correction: float = 1,
             keepdims: bool = False) -> Any:
    tv = _var_jvp(t, out, a, axis, correction, keepdims)
    return None if tv is None else tv * _half_inv(out)


def _var_check(a: S.Shape, axis: Any = None, correction: float = 1,
               keepdims: bool = False) -> None:
    if not isinstance(correction, (int, float, np.integer, np.floating)) or \
            isinstance(correction, bool) or not np.isfinite(correction):
        raise ValueError(f"correction must be a finite number, got {correction!r}")
    S.norm_axes(axis, len(a))


VAR = register(Op(
    name="var", forward=_var, shape=lambda a, axis=None, correction=1, keepdims=False:
        _rshape(a, axis, keepdims), check=_var_check, fresh=True,
    latex=r"y = \frac{1}{N - c} \sum_i (x_i - \bar{x})^2",
    vjp=_var_vjp, jvp=_var_jvp, numpy="_var(xp, {0}, {axis}, {correction}, {keepdims})",
    helpers=(_var,), label="var", cost=_red_cost,
    trace=tt("dX = dY * 2 (X - mean(X)) / (N - correction)"),
    onnx=Onnx(export=orr.export_var(False), imports=Unsupported(
        "ONNX has no variance op; the export is ReduceMean, Sub, Mul, ReduceSum and Mul, "
        "which import back as those ops, not as var")),
    doc="variance over dim with Bessel's correction (default 1), as torch.var",
))
STD = register(Op(
    name="std", forward=_std, shape=lambda a, axis=None, correction=1, keepdims=False:
        _rshape(a, axis, keepdims), check=_var_check, fresh=True,
    latex=r"y = \sqrt{\frac{1}{N - c} \sum_i (x_i - \bar{x})^2}",
    sympy=lambda sp, a, axis=None, correction=1, keepdims=False:
        np.frompyfunc(sp.sqrt, 1, 1)(_var(np, a, axis, correction, keepdims)),
    vjp=_std_vjp, jvp=_std_jvp,
    numpy="xp.sqrt(_var(xp, {0}, {axis}, {correction}, {keepdims}))",
    helpers=(_var,), label="std", cost=_red_cost,
    trace=tt("dX = dY * (X - mean(X)) / ((N - correction) std) (0 where std = 0)"),
    onnx=Onnx(export=orr.export_var(True), imports=Unsupported(
        "ONNX has no standard-deviation op; the export is ReduceMean, Sub, Mul, ReduceSum, "
        "Mul and Sqrt, which import back as those ops, not as std")),
    doc="standard deviation over dim with correction (default 1); gradient 0 at std 0",
))


# == norm =================================================================================

def _pnorm(xp: Any, a: Any, p: float = 2.0, axis: Any = None, keepdims: bool = False) -> Any:
    ax = None if a.ndim == 0 else axis
    if p == 1.0:
        return xp.sum(xp.abs(a), axis=ax, keepdims=keepdims)
    if p == 2.0:
        return xp.sqrt(xp.sum(a * a, axis=ax, keepdims=keepdims))
    return xp.max(xp.abs(a), axis=ax, keepdims=keepdims)


def _norm_check(a: S.Shape, p: float = 2.0, axis: Any = None, keepdims: bool = False) -> None:
    if p not in (1.0, 2.0, float("inf")):
        raise ValueError(f"norm: p must be 1, 2, inf or 'fro', got {p!r}")
    if p == float("inf"):
        _extreme_check("inf-norm (max |x|)")(a, axis)
    S.norm_axes(axis, len(a))


def _norm_forward(xp: Any, a: Any, p: float = 2.0, axis: Any = None,
                  keepdims: bool = False) -> Any:
    _norm_check(np.shape(a), p, axis, keepdims)
    return _pnorm(xp, a, p, axis, keepdims)


def _norm_weights(a: Any, out: Any, p: float, axis: Any, keepdims: bool) -> Any:
    """d norm / d a: sign(a) for p=1; a / norm (0 at norm 0) for p=2; for p=inf sign(a)
    on the entries of largest |a|, shared among ties (as PyTorch)."""
    if p == 1.0:
        return sign(a)
    oe = expand(out, a.shape, axis, keepdims)
    if p == 2.0:
        z = eq_mask(oe, 0.0)
        return a * (1.0 - z) / (oe + z)
    return sign(a) * _tie_weights(abs(a), out, axis, keepdims)


def _norm_sympy(sp: Any, a: np.ndarray, p: float = 2.0, axis: Any = None,
                keepdims: bool = False) -> Any:
    ab = np.frompyfunc(sp.Abs, 1, 1)(a)
    if p == 1.0:
        return np.sum(ab, axis=None if a.ndim == 0 else axis, keepdims=keepdims)
    if p == 2.0:
        s = np.sum(a * a, axis=None if a.ndim == 0 else axis, keepdims=keepdims)
        return np.frompyfunc(sp.sqrt, 1, 1)(s)
    return _sym_reduce("Max")(sp, ab, axis, keepdims)


NORM = register(Op(
    name="norm", forward=_norm_forward, check=_norm_check, fresh=True,
    shape=lambda a, p=2.0, axis=None, keepdims=False: _rshape(a, axis, keepdims),
    latex=r"y = \|x\|_p", sympy=_norm_sympy,
    vjp=lambda g, out, a, p=2.0, axis=None, keepdims=False:
        (lambda: expand(g, a.shape, axis, keepdims) * _norm_weights(a, out, p, axis, keepdims),),
    jvp=lambda t, out, a, p=2.0, axis=None, keepdims=False: None if t[0] is None else sum(
        t[0] * _norm_weights(a, out, p, axis, keepdims), axis=axis, keepdims=keepdims),
    numpy="_pnorm(xp, {0}, {p}, {axis}, {keepdims})", helpers=(_pnorm,), label="‖·‖",
    trace=tt("dX = dY * sign(X) (p=1), dY * X / ‖X‖ (p=2, 0 at 0), dY at the max |X| (inf)"),
    cost=_red_cost, onnx=Onnx(export=orr.export_norm, imports={
        "ReduceL1": orr.import_reduce("norm", p=1), "ReduceL2": orr.import_reduce("norm", p=2)}),
    doc="vector p-norm over dim (p = 1, 2, inf; 'fro' = 2), as torch.norm",
))


# == cumsum / cumprod =====================================================================

def _cum_check(a: S.Shape, axis: int = 0, **_: Any) -> None:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ValueError(f"dim must be an int, got {axis!r}")
    S.norm_axes(int(axis), len(a))


def _cum_dtype(a: Any, **_: Any) -> Any:
    """PyTorch's: integer and bool inputs accumulate in int64; floats keep their dtype."""
    return np.dtype(np.int64) if np.dtype(a).kind in "biu" else np.dtype(a)


def _cumsum(xp: Any, a: Any, axis: int = 0, reverse: bool = False) -> Any:
    dt = "int64" if a.dtype.kind in "biu" else None
    if a.ndim == 0:
        return (a + 0 * a).astype(dt or a.dtype)
    if not reverse:
        return xp.cumsum(a, axis=axis, dtype=dt)
    return xp.flip(xp.cumsum(xp.flip(a, axis=axis), axis=axis, dtype=dt), axis=axis)


def _cumprod(xp: Any, a: Any, axis: int = 0) -> Any:
    dt = "int64" if a.dtype.kind in "biu" else None
    return (a * 1).astype(dt or a.dtype) if a.ndim == 0 else xp.cumprod(a, axis=axis, dtype=dt)


def _same_shape(a: S.Shape, **_: Any) -> S.Shape:
    return tuple(a)


CUMSUM = register(Op(
    name="cumsum", forward=_cumsum, shape=_same_shape, check=_cum_check, fresh=True,
    dtype=_cum_dtype,
    latex=r"y_i = \sum_{j \le i} x_j",
    vjp=lambda g, out, a, axis=0, reverse=False:
        (bind(CUMSUM, g, axis=axis, reverse=not reverse),),
    jvp=lambda t, out, a, axis=0, reverse=False:
        None if t[0] is None else bind(CUMSUM, t[0], axis=axis, reverse=reverse),
    numpy="_cumsum(xp, {0}, {axis}, {reverse})", helpers=(_cumsum,), label="cumsum",
    trace=tt("dX = reverse cumsum(dY)"), cost=_red_cost,
    onnx=Onnx(export=orr.export_cumsum, imports={"CumSum": orr.import_cumsum}),
    doc="cumulative sum along dim (reverse=True: from the end, the gradient's form)",
))


def _cumprod_parts(a: Any, axis: int) -> tuple[Any, Any, Any, Any]:
    """Masks for cumprod's exact derivative: ``before`` (no zero up to i), ``first`` (the
    first zero), ``safe`` (a with zeros replaced by 1) and cumprod of a with its first
    zero replaced by 1 (the products that skip that zero)."""
    z = eq_mask(a, 0.0)
    seen = cumsum(z, axis)
    before = eq_mask(seen, 0.0)
    first = z * eq_mask(seen - z, 0.0)
    safe = a * (1.0 - z) + z
    skip = cumprod(a * (1.0 - first) + first, axis)
    return before, first, safe, skip


def _cumprod_vjp(g: Any, out: Any, a: Any, axis: int = 0) -> tuple[Any]:
    def grad() -> Any:
        before, first, safe, skip = _cumprod_parts(a, axis)
        rev = lambda v: bind(CUMSUM, v, axis=axis, reverse=True)  # noqa: E731
        return before * rev(g * out) / safe + first * rev(g * skip)
    return (grad,)


def _cumprod_jvp(t: Any, out: Any, a: Any, axis: int = 0) -> Any:
    if t[0] is None:
        return None
    before, first, safe, skip = _cumprod_parts(a, axis)
    return out * cumsum(before * t[0] / safe, axis) + cumsum(first * t[0], axis) * skip


CUMPROD = register(Op(
    name="cumprod", forward=_cumprod, shape=_same_shape, check=_cum_check, fresh=True,
    dtype=_cum_dtype,
    latex=r"y_i = \prod_{j \le i} x_j", vjp=_cumprod_vjp, jvp=_cumprod_jvp,
    numpy="_cumprod(xp, {0}, {axis})", helpers=(_cumprod,), label="cumprod",
    trace=tt("dX_k = sum_{i >= k} dY_i * prod_{j <= i, j != k} X_j"), cost=_red_cost,
    onnx=Unsupported("ONNX has no cumulative product (only CumSum)"),
    doc="cumulative product along dim (the gradient is exact with zeros)",
))


# == sort / argsort / topk / cummax / cummin: indices ops + take_along_dim ================

def _argsort(xp: Any, a: Any, axis: int = -1, descending: bool = False) -> Any:
    """Stable: ties keep their order (descending too); NaN sorts as the largest."""
    if a.ndim == 0:
        return xp.zeros((), dtype="int64")
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable").astype("int64")
    r = xp.flip(xp.argsort(xp.flip(a, axis=axis), axis=axis, kind="stable"), axis=axis)
    return (a.shape[axis] - 1 - r).astype("int64")


def _topk_indices(xp: Any, a: Any, k: int, axis: int = -1, largest: bool = True) -> Any:
    r = _argsort(xp, a, axis, largest)
    if a.ndim == 0:
        return r
    return xp.take(r, xp.arange(k), axis=axis)


def _scan(xp: Any, v: Any, axis: int, f: Any) -> Any:
    """Inclusive scan of the binary ufunc ``f`` along ``axis`` by doubling (log2 n
    vectorized steps)."""
    n, k = v.shape[axis], 1
    lead = (slice(None),) * (axis % v.ndim)
    while k < n:
        v = xp.concatenate([v[lead + (slice(0, k),)],
                            f(v[lead + (slice(k, None),)], v[lead + (slice(0, n - k),)])],
                           axis=axis)
        k *= 2
    return v


def _cum_indices(xp: Any, a: Any, axis: int = 0, largest: bool = True) -> Any:
    """PyTorch's cummax / cummin indices: the LAST position of the running extreme (ties
    move it forward); a NaN becomes the extreme from there on."""
    if a.ndim == 0:
        return xp.zeros((), dtype="int64")
    ext = _scan(xp, a, axis, xp.maximum if largest else xp.minimum)
    record = (a == ext) | xp.isnan(a)
    shape = [1] * a.ndim
    shape[axis % a.ndim] = a.shape[axis]
    pos = xp.reshape(xp.arange(a.shape[axis], dtype="int64"), tuple(shape))
    return _scan(xp, xp.where(record, pos, xp.zeros_like(pos)), axis, xp.maximum)


def _idx_check_axis(a: S.Shape, axis: Any) -> None:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ValueError(f"dim must be an int, got {axis!r}")
    S.norm_axes(int(axis), len(a))


def _topk_check(a: S.Shape, k: int = 1, axis: int = -1, largest: bool = True) -> None:
    _idx_check_axis(a, axis)
    n = a[int(axis) % len(a)] if a else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= n:
        raise ValueError(f"topk: k must be an int in [0, {n}] (the size of dim {axis} of "
                         f"shape {tuple(a)}), got {k!r}")


def _topk_shape(a: S.Shape, k: int = 1, axis: int = -1, largest: bool = True) -> S.Shape:
    if not a:
        return ()
    s = list(a)
    s[int(axis) % len(a)] = int(k)
    return tuple(s)


def _index_record(name: str, forward: Any, shape: Any, check: Any, numpy: str,
                  helpers: tuple[Any, ...], onnx: Any, doc: str) -> Op:
    return register(Op(
        name=name, forward=forward, shape=shape, check=check, dtype=_int_dtype, fresh=True,
        nondiff=(0,), vjp=lambda g, out, a, **_: (None,), jvp=lambda t, out, a, **_: None,
        sympy=Unsupported("integer indices, not a formula of the inputs"), numpy=numpy,
        helpers=helpers, trace=tt("no gradient (integer output)"), cost=_red_cost,
        label=name, onnx=onnx, doc=doc))


ARGSORT = _index_record(
    "argsort", _argsort, lambda a, axis=-1, descending=False: tuple(a),
    lambda a, axis=-1, descending=False: _idx_check_axis(a, axis),
    "_argsort(xp, {0}, {axis}, {descending})", (_argsort,),
    Onnx(export=orr.export_topk_indices, imports=Unsupported(
        "ONNX has no argsort; the export is TopK with k = the dim's size, which imports "
        "as topk")),
    "indices that sort x along dim (stable; no gradient)")
TOPK_INDICES = _index_record(
    "topk_indices", _topk_indices, _topk_shape, _topk_check,
    "_topk_indices(xp, {0}, {k}, {axis}, {largest})", (_argsort, _topk_indices),
    Onnx(export=orr.export_topk_indices, imports={"TopK": orr.import_topk}),
    "indices of the k largest (smallest) along dim, sorted (no gradient)")
_NO_CUM_ONNX = Unsupported("ONNX has no cumulative max / min")
CUMMAX_INDICES = _index_record(
    "cummax_indices", lambda xp, a, axis=0: _cum_indices(xp, a, axis, True), _same_shape,
    _cum_check, "_cum_indices(xp, {0}, {axis}, True)", (_scan, _cum_indices), _NO_CUM_ONNX,
    "index of the running max along dim (the last among ties, as PyTorch; no gradient)")
CUMMIN_INDICES = _index_record(
    "cummin_indices", lambda xp, a, axis=0: _cum_indices(xp, a, axis, False), _same_shape,
    _cum_check, "_cum_indices(xp, {0}, {axis}, False)", (_scan, _cum_indices), _NO_CUM_ONNX,
    "index of the running min along dim (the last among ties, as PyTorch; no gradient)")


def _gather_check(a: S.Shape, i: S.Shape, axis: int = 0) -> None:
    _idx_check_axis(a, axis)
    if len(a) != len(i) or builtins.any(x != y for d, (x, y) in enumerate(zip(a, i))
                               if d != int(axis) % builtins.max(len(a), 1)):
        raise ValueError(f"take_along_dim: indices of shape {tuple(i)} do not fit input "
                         f"shape {tuple(a)} along dim {axis} (same rank, same sizes "
                         "except along dim)")


def _gather(xp: Any, a: Any, i: Any, axis: int = 0) -> Any:
    return a * 1 if a.ndim == 0 else xp.take_along_axis(a, i, axis=axis)


def _scatter_add(xp: Any, g: Any, i: Any, axis: int = 0, size: int = 1) -> Any:
    """Zeros of ``i``'s shape with ``size`` along ``axis``, ``g`` added at the indices
    (repeated indices add up): one bincount over flat positions."""
    if g.ndim == 0:
        return g * 1
    ax = axis % g.ndim
    oshape = list(i.shape)
    oshape[ax] = size
    flat = xp.zeros(i.shape, dtype="int64")
    stride = 1
    for d in range(g.ndim - 1, -1, -1):
        if d == ax:
            c = i
        else:
            shp = [1] * g.ndim
            shp[d] = i.shape[d]
            c = xp.reshape(xp.arange(i.shape[d], dtype="int64"), tuple(shp))
        flat = flat + c * stride
        stride *= oshape[d]
    total = stride
    r = xp.bincount(xp.reshape(flat, (-1,)), weights=xp.reshape(g, (-1,)), minlength=total)
    return xp.reshape(r, tuple(oshape)).astype(g.dtype)


TAKE_ALONG_DIM = register(Op(
    name="take_along_dim", forward=_gather, check=_gather_check, fresh=True,
    shape=lambda a, i, axis=0: tuple(i), nondiff=(1,),
    dtype=lambda a, i, axis=0: a,
    vjp=lambda g, out, a, i, axis=0: (
        lambda: bind(TAKE_ALONG_DIM_GRAD, g, i, axis=axis, size=a.shape[axis] if a.shape
                     else 1), None),
    jvp=lambda t, out, a, i, axis=0: None if t[0] is None else take_along_dim(t[0], i, axis),
    sympy=Unsupported("run-time integer indices select the elements"),
    numpy="_gather(xp, {0}, {1}, {axis})", helpers=(_gather,), label="take",
    trace=tt("dX = dY scattered back to the indexed positions"), moves_data=False,
    onnx=Onnx(export=lambda ex, n: ex.direct("GatherElements", n, axis=int(
        n.params["axis"]) % builtins.max(n.ndim, 1)), imports=Unsupported(
            "ONNX GatherElements with indices fed at run time: graphnn imports integer "
            "tensors only as static values (GatherElements after a TopK imports with "
            "topk_indices' rules)")),
    doc="x's elements at the given indices along dim (torch.take_along_dim)",
))


def _scatter_onnx(ex: Any, n: Any) -> None:
    g, i = n.inputs
    zero = ex.const(n.name + "__zeros", np.zeros(n.shape, dtype=n.dtype))
    ex.emit("ScatterElements", [zero, i.name, g.name], n.name,
            axis=int(n.params["axis"]) % builtins.max(n.ndim, 1), reduction="add")


TAKE_ALONG_DIM_GRAD = register(Op(
    name="take_along_dim_grad", forward=_scatter_add, fresh=True, nondiff=(1,),
    shape=lambda g, i, axis=0, size=1: _topk_shape(i, size, axis),
    dtype=lambda g, i, axis=0, size=1: g,
    check=lambda g, i, axis=0, size=1: _idx_check_axis(g, axis),
    vjp=lambda gg, out, g, i, axis=0, size=1: (take_along_dim(gg, i, axis), None),
    jvp=lambda t, out, g, i, axis=0, size=1: None if t[0] is None else bind(
        TAKE_ALONG_DIM_GRAD, t[0], i, axis=axis, size=size),
    sympy=Unsupported("run-time integer indices place the elements"),
    numpy="_scatter_add(xp, {0}, {1}, {axis}, {size})", helpers=(_scatter_add,),
    label="scatter+", trace=tt("dG = take_along_dim(dY, indices)"),
    onnx=Onnx(export=_scatter_onnx, imports=Unsupported(
        "ONNX ScatterElements scatters onto arbitrary data; graphnn's scatter-add starts "
        "from zeros and is only made by autodiff")),
    doc="zeros with g added at the indices along dim (take_along_dim's gradient)",
))


# -- public functions of this section -----------------------------------------------------

class ValuesIndices(NamedTuple):
    """What sort, topk, cummax and cummin return (PyTorch's named tuple): two nodes."""

    values: Any
    indices: Any


def _one_dim(fn: str, a: Any, dim: Any, axis: Any, default: Any = None) -> int:
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{fn}: pass dim or axis, not both")
        dim = axis
    if dim is None:
        dim = default
    if dim is None:
        raise TypeError(f"{fn}() missing the dim argument")
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{fn}: dim must be an int, got {dim!r}")
    return int(dim)


def amax(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None, name: str | None = None) -> Any:
    """Maximum over ``dim`` (all when None); the gradient is shared evenly among ties.

    >>> float(amax(np.array([[1.0, 5.0], [4.0, 2.0]])))
    5.0
    """
    ax, keep = _dims("amax", x, dim, keepdim, axis, keepdims)
    return bind(MAX, x, axis=ax, keepdims=keep, name=name)


def min(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, name: str | None = None) -> Any:
    """Minimum over ``dim`` (all when None), the mirror of :func:`max`: the gradient is
    shared evenly among tied minima (PyTorch's ``amin``); an empty reduction raises.

    >>> min(np.array([[3.0, 1.0], [0.0, 2.0]]), dim=1).tolist()
    [1.0, 0.0]
    """
    ax, keep = _dims("min", x, dim, keepdim, axis, keepdims)
    return bind(MIN, x, axis=ax, keepdims=keep, name=name)


def amin(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None, name: str | None = None) -> Any:
    """Minimum over ``dim``; the same op as :func:`min` (PyTorch's ``amin``).

    >>> float(amin(np.array([2.0, -1.0, 3.0])))
    -1.0
    """
    return min(x, dim, keepdim, axis=axis, keepdims=keepdims, name=name)


def argmax(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None, name: str | None = None) -> Any:
    """Index of the (first) maximum along ``dim``; of the flattened input when None
    (int64, no gradient).

    >>> argmax(np.array([[1.0, 7.0, 7.0], [9.0, 0.0, 1.0]]), dim=1).tolist()
    [1, 0]
    """
    ax, keep = _dims("argmax", x, dim, keepdim, axis, keepdims)
    return bind(ARGMAX, x, axis=ax, keepdims=keep, name=name)


def argmin(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None, name: str | None = None) -> Any:
    """Index of the (first) minimum along ``dim``; of the flattened input when None.

    >>> int(argmin(np.array([3.0, -1.0, -1.0])))
    1
    """
    ax, keep = _dims("argmin", x, dim, keepdim, axis, keepdims)
    return bind(ARGMIN, x, axis=ax, keepdims=keep, name=name)


def any(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, name: str | None = None) -> Any:
    """True where some element along ``dim`` is nonzero (bool, no gradient; False when
    empty).

    >>> any(np.array([[0.0, 0.0], [0.0, 2.0]]), dim=1).tolist()
    [False, True]
    """
    ax, keep = _dims("any", x, dim, keepdim, axis, keepdims)
    return bind(ANY, x, axis=ax, keepdims=keep, name=name)


def all(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, name: str | None = None) -> Any:
    """True where every element along ``dim`` is nonzero (bool, no gradient; True when
    empty).

    >>> bool(all(np.array([1.0, -2.0, 0.5])))
    True
    """
    ax, keep = _dims("all", x, dim, keepdim, axis, keepdims)
    return bind(ALL, x, axis=ax, keepdims=keep, name=name)


def prod(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None, name: str | None = None) -> Any:
    """Product over ``dim`` (1 when empty); the gradient is exact with zeros in ``x``.

    >>> float(prod(np.array([2.0, 3.0, 4.0])))
    24.0
    """
    ax, keep = _dims("prod", x, dim, keepdim, axis, keepdims)
    return bind(PROD, x, axis=ax, keepdims=keep, name=name)


def logsumexp(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None, name: str | None = None) -> Any:
    """``log(sum(exp(x)))`` over ``dim``, computed stably; its gradient is the softmax.
    An all ``-inf`` (or empty) reduction gives ``-inf``.

    >>> round(float(logsumexp(np.array([1000.0, 1000.0]))), 4)
    1000.6931
    """
    ax, keep = _dims("logsumexp", x, dim, keepdim, axis, keepdims)
    return bind(LOGSUMEXP, x, axis=ax, keepdims=keep, name=name)


def var(x: Any, dim: Any = None, *, correction: float = 1, keepdim: bool = False,
        axis: Any = None, keepdims: bool | None = None, name: str | None = None) -> Any:
    """Variance over ``dim``: ``sum((x - mean)^2) / (N - correction)`` (nan / inf when
    ``N - correction <= 0``, as PyTorch).

    >>> float(var(np.array([1.0, 2.0, 3.0, 4.0])))
    1.6666666666666667
    >>> float(var(np.array([1.0, 2.0, 3.0, 4.0]), correction=0))
    1.25
    """
    ax, keep = _dims("var", x, dim, keepdim, axis, keepdims)
    return bind(VAR, x, axis=ax, correction=correction, keepdims=keep, name=name)


def std(x: Any, dim: Any = None, *, correction: float = 1, keepdim: bool = False,
        axis: Any = None, keepdims: bool | None = None, name: str | None = None) -> Any:
    """Standard deviation over ``dim`` with ``correction``; the gradient is 0 where the
    standard deviation is 0 (as PyTorch).

    >>> float(std(np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]), correction=0))
    2.0
    """
    ax, keep = _dims("std", x, dim, keepdim, axis, keepdims)
    return bind(STD, x, axis=ax, correction=correction, keepdims=keep, name=name)


def norm(x: Any, p: Any = 2, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None, name: str | None = None) -> Any:
    """Vector ``p``-norm over ``dim`` (all when None): p = 1, 2, ``inf`` or ``'fro'`` (= 2
    over the given dims). Gradient at 0: 0 for p = 2, sign(x) = 0 for p = 1.

    >>> float(norm(np.array([3.0, -4.0])))
    5.0
    >>> float(norm(np.array([3.0, -4.0]), p=1)), float(norm(np.array([3.0, -4.0]), p=np.inf))
    (7.0, 4.0)
    """
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(f"norm: p must be 1, 2, inf or 'fro', got {p!r}")
        p = 2.0
    ax, keep = _dims("norm", x, dim, keepdim, axis, keepdims)
    return bind(NORM, x, p=float(p), axis=ax, keepdims=keep, name=name)


def cumsum(x: Any, dim: Any = None, *, axis: Any = None, name: str | None = None) -> Any:
    """Cumulative sum along ``dim`` (required, as in PyTorch).

    >>> cumsum(np.array([1.0, 2.0, 3.0]), 0).tolist()
    [1.0, 3.0, 6.0]
    """
    return bind(CUMSUM, x, axis=_one_dim("cumsum", x, dim, axis), reverse=False, name=name)


def cumprod(x: Any, dim: Any = None, *, axis: Any = None, name: str | None = None) -> Any:
    """Cumulative product along ``dim``; the gradient is exact with zeros in ``x``.

    >>> cumprod(np.array([2.0, 0.0, 3.0]), 0).tolist()
    [2.0, 0.0, 0.0]
    """
    return bind(CUMPROD, x, axis=_one_dim("cumprod", x, dim, axis), name=name)


def take_along_dim(x: Any, indices: Any, dim: Any = None, *, axis: Any = None,
                   name: str | None = None) -> Any:
    """The elements of ``x`` at ``indices`` along ``dim`` (same rank; the other sizes
    equal); the gradient scatters back to the indexed positions (adding repeats).

    >>> take_along_dim(np.array([[10.0, 20.0, 30.0]]), np.array([[2, 0]]), 1).tolist()
    [[30.0, 10.0]]
    """
    return bind(TAKE_ALONG_DIM, x, indices, axis=_one_dim("take_along_dim", x, dim, axis),
                name=name)


def argsort(x: Any, dim: Any = -1, descending: bool = False, *, axis: Any = None,
            name: str | None = None) -> Any:
    """Indices that sort ``x`` along ``dim`` (stable: ties keep their order; NaN is the
    largest). No gradient.

    >>> argsort(np.array([3.0, 1.0, 2.0])).tolist()
    [1, 2, 0]
    """
    d = _one_dim("argsort", x, None if axis is not None else dim, axis, -1)
    return bind(ARGSORT, x, axis=d, descending=bool(descending), name=name)


def sort(x: Any, dim: Any = -1, descending: bool = False, *, axis: Any = None,
         name: str | None = None) -> ValuesIndices:
    """``(values, indices)`` of ``x`` sorted along ``dim`` (stable), as torch.sort: two
    nodes, the values differentiable (their gradient goes back to the source positions).

    >>> v, i = sort(np.array([3.0, 1.0, 2.0]), descending=True)
    >>> v.tolist(), i.tolist()
    ([3.0, 2.0, 1.0], [0, 2, 1])
    """
    i = argsort(x, dim, descending, axis=axis,
                name=None if name is None else name + "_indices")
    d = _one_dim("sort", x, None if axis is not None else dim, axis, -1)
    return ValuesIndices(take_along_dim(x, i, d, name=name), i)


def topk(x: Any, k: int, dim: Any = -1, largest: bool = True, sorted: bool = True,  # noqa: A002
         *, axis: Any = None, name: str | None = None) -> ValuesIndices:
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) along
    ``dim``, sorted, as torch.topk; the values' gradient goes back to the source positions.

    >>> v, i = topk(np.array([1.0, 5.0, 3.0, 4.0]), 2)
    >>> v.tolist(), i.tolist()
    ([5.0, 4.0], [1, 3])
    """
    if not sorted:
        raise ValueError("topk: graphnn returns sorted values (sorted=False is not offered)")
    d = _one_dim("topk", x, None if axis is not None else dim, axis, -1)
    i = bind(TOPK_INDICES, x, k=k, axis=d, largest=bool(largest),
             name=None if name is None else name + "_indices")
    return ValuesIndices(take_along_dim(x, i, d, name=name), i)


def cummax(x: Any, dim: Any = None, *, axis: Any = None,
           name: str | None = None) -> ValuesIndices:
    """``(values, indices)`` of the running maximum along ``dim``, as torch.cummax (the
    index of the last tie); the values' gradient goes to those indices.

    >>> v, i = cummax(np.array([1.0, 3.0, 2.0, 3.0]), 0)
    >>> v.tolist(), i.tolist()
    ([1.0, 3.0, 3.0, 3.0], [0, 1, 1, 3])
    """
    d = _one_dim("cummax", x, dim, axis)
    i = bind(CUMMAX_INDICES, x, axis=d, name=None if name is None else name + "_indices")
    return ValuesIndices(take_along_dim(x, i, d, name=name), i)


def cummin(x: Any, dim: Any = None, *, axis: Any = None,
           name: str | None = None) -> ValuesIndices:
    """``(values, indices)`` of the running minimum along ``dim``, as torch.cummin.

    >>> v, i = cummin(np.array([2.0, 1.0, 3.0, 1.0]), 0)
    >>> v.tolist(), i.tolist()
    ([2.0, 1.0, 1.0, 1.0], [0, 1, 1, 3])
    """
    d = _one_dim("cummin", x, dim, axis)
    i = bind(CUMMIN_INDICES, x, axis=d, name=None if name is None else name + "_indices")
    return ValuesIndices(take_along_dim(x, i, d, name=name), i)
