"""Activations: sigmoid tanh relu leaky_relu prelu elu softmax log_softmax, and maxout
(a composite of maximum). softmax and log_softmax subtract the max first (stable at
|logits| = 1000).

>>> import numpy as np
>>> float(sigmoid(0.0)), float(relu(-2.0))
(0.5, 0.0)
>>> np.round(softmax(np.array([1000.0, 1000.0])), 3)
array([0.5, 0.5])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Gpu, Onnx, Op, Unsupported, register, tt
from graphnn.ops import batching as BT
from graphnn.ops import onnx_rules as ox
from graphnn.ops import symrules as R
from graphnn.ops.elementwise import abs as _abs
from graphnn.ops.elementwise import exp, ge_mask, minimum, step, ufunc
from graphnn.ops.kernels import _kernel
from graphnn.ops.reduce import sum
from graphnn.ops.unary import _erf


def _sigmoid(xp: Any, a: Any) -> Any:
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


SIGMOID = register(Op(
    name="sigmoid", label="σ", elementwise=True, shape=S.same, value_range=(0.0, 1.0),
    forward=_sigmoid, helpers=(_sigmoid,),
    deriv=lambda out, a: (out * (1.0 - out),),
    vjp=lambda g, out, a: (g * out * (1.0 - out),),
    sympy=lambda sp, a: 1 / (1 + sp.exp(-a)),
    numpy="_sigmoid(xp, {0})",
    # 1 / (1 + e^-a): the stable two-sided form of the interpreter agrees to a few ulps
    inplace=("xp.negative({0}, out={out})", "xp.exp({out}, out={out})",
             "xp.add({out}, 1, out={out})", "xp.reciprocal({out}, out={out})"),
    numexpr="(1 / (1 + exp(-{0})))", cuda="(1 / (1 + exp(-{0})))",
    onnx=Onnx(op_type="Sigmoid", imports={"Sigmoid": None}),
    doc="logistic function 1 / (1 + e^-a); derivative σ(1 - σ)"))
TANH = register(Op(
    name="tanh", label="tanh", elementwise=True, shape=S.same, value_range=(-1.0, 1.0),
    forward=lambda xp, a: xp.tanh(a),
    deriv=lambda out, a: (1.0 - out * out,),
    sympy=lambda sp, a: sp.tanh(a),
    numpy="xp.tanh({0})", inplace=ufunc("tanh", 1), numexpr="tanh({0})", cuda="tanh({0})",
    onnx=Onnx(op_type="Tanh", imports={"Tanh": None}),
    doc="hyperbolic tangent; derivative 1 - tanh²"))
RELU = register(Op(
    name="relu", label="ReLU", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.maximum(a, 0),
    deriv=lambda out, a: (step(a),),
    sympy=lambda sp, a: sp.Max(0, a),
    numpy="xp.maximum({0}, 0)", inplace=("xp.maximum({0}, 0, out={out})",),
    numexpr="where({0} > 0, {0}, 0)", cuda="({0} > 0 ? {0} : 0)",
    onnx=Onnx(op_type="Relu", imports={"Relu": None}),
    doc="max(0, a); derivative 1 for a > 0 else 0"))
LEAKY_RELU = register(Op(
    name="leaky_relu", label="LReLU", elementwise=True, shape=S.same,
    forward=lambda xp, a, negative_slope=0.01: xp.where(a > 0, a, a * negative_slope),
    deriv=lambda out, a, negative_slope=0.01:
        (negative_slope + (1.0 - negative_slope) * step(a),),
    sympy=lambda sp, a, negative_slope=0.01:
        sp.Piecewise((a, a > 0), (negative_slope * a, True)),
    numpy="xp.where({0} > 0, {0}, {0} * {negative_slope})",
    inplace=Unsupported("xp.where has no out= argument"),
    numexpr="where({0} > 0, {0}, {0} * {negative_slope})",
    cuda="({0} > 0 ? {0} : {0} * {negative_slope})",
    onnx=Onnx(export=lambda ex, n: ex.alpha("LeakyRelu", "negative_slope", n),
              imports={"LeakyRelu": lambda im, n, x, a: [leaky_relu(x[0], a.get("alpha",
                                                                              0.01))]}),
    doc="a if a > 0 else negative_slope * a (the lectures use 0.1)"))
PRELU = register(Op(
    name="prelu", label="PReLU", elementwise=True, shape=S.elementwise,
    forward=lambda xp, a, w: xp.where(a > 0, a, a * w),
    deriv=lambda out, a, w: (lambda: w + (1.0 - w) * step(a), lambda: a * (1.0 - step(a))),
    sympy=lambda sp, a, w: sp.Piecewise((a, a > 0), (w * a, True)),
    numpy="xp.where({0} > 0, {0}, {0} * {1})",
    inplace=Unsupported("xp.where has no out= argument"),
    numexpr="where({0} > 0, {0}, {0} * {1})", cuda="({0} > 0 ? {0} : {0} * {1})",
    onnx=Onnx(export=lambda ex, n: _prelu_export(ex, n), imports={"PRelu": None}),
    doc="parametric ReLU: a if a > 0 else weight * a (weight broadcast against a)"))

def _prelu_export(ex: Any, n: Any) -> None:
    """PRelu broadcasts the slope to x only (one direction): when the slope is the
    larger operand, x is expanded to the output's shape first."""
    x, w = (i.name for i in n.inputs)
    if tuple(n.inputs[0].shape) != tuple(n.shape):
        x = ex.emit("Expand", [x, ex.const(n.name + "__shape", np.array(n.shape, np.int64))],
                    ex.name(n.name + "__x"))
    ex.emit("PRelu", [x, w], n.name)


ELU = register(Op(
    name="elu", label="ELU", elementwise=True, shape=S.same,
    forward=lambda xp, a, alpha=1.0: xp.where(a > 0, a, alpha * xp.expm1(xp.minimum(a, 0))),
    # alpha e^min(a, 0) rather than out + alpha: finite at a = +inf (torch's gradient 1)
    deriv=lambda out, a, alpha=1.0:
        (step(a) + (1.0 - step(a)) * (alpha * exp(minimum(a, 0.0))),),
    sympy=lambda sp, a, alpha=1.0: sp.Piecewise((a, a > 0), (alpha * (sp.exp(a) - 1), True)),
    numpy="xp.where({0} > 0, {0}, {alpha} * xp.expm1(xp.minimum({0}, 0)))",
    inplace=Unsupported("xp.where has no out= argument"),
    numexpr="where({0} > 0, {0}, {alpha} * (exp({0}) - 1))",
    cuda="({0} > 0 ? {0} : {alpha} * expm1({0}))",
    onnx=Onnx(export=lambda ex, n: ex.alpha("Elu", "alpha", n),
              imports={"Elu": lambda im, n, x, a: [elu(x[0], a.get("alpha", 1.0))]}),
    doc="a if a > 0 else alpha (e^a - 1)"))


def _softmax(xp: Any, a: Any, axis: int = -1) -> Any:
    if not a.size:  # PyTorch: an empty result (NumPy's max has no identity)
        return xp.exp(a)
    axis = axis if a.ndim else None  # PyTorch: axis 0 / -1 of a 0-d tensor
    e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _log_softmax(xp: Any, a: Any, axis: int = -1) -> Any:
    if not a.size:
        return xp.exp(a)
    axis = axis if a.ndim else None
    s = a - xp.max(a, axis=axis, keepdims=True)
    return s - xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))


def _row_cuda(acc: str, a: str) -> str:
    """CUDA C for the row of thread ``i`` (C values of raw array ``a``, ``inner`` apart,
    from ``base``): its maximum ``m`` (NaN if any) and sum of exponentials ``se`` of the
    values minus ``m``, in type ``A`` = ``acc``. Shared by the softmax and cross-entropy
    kernels."""
    return f"typedef {acc} A;\n" + """
const long long base = (i / inner) * C * inner + i % inner;
A m = (A)a[base];
for (long long c = 1; c < C; ++c) {
    const A v = (A)a[base + c * inner];
    if (v > m || v != v) m = v;
}
A se = 0;
for (long long c = 0; c < C; ++c) se += exp((A)a[base + c * inner] - m);
""".replace("a[", f"{a}[")


def _softmax_cuda(xp: Any, log: bool, acc: str) -> Any:
    """The CuPy ElementwiseKernel of (log-)softmax (made once, then kept): one thread per
    row of C values ``inner`` apart: max, sum of exponentials and the outputs, in
    ``acc``."""
    return _kernel(xp, ("softmax", log, acc), lambda: _softmax_source(log, acc))


def _softmax_source(log: bool, acc: str) -> tuple[str, ...]:
    """(ins, outs, body, name, preamble) of ``_softmax_cuda``'s kernel."""
    out = ("const A lse = log(se);\n"
           "for (long long c = 0; c < C; ++c)\n"
           "    y[base + c * inner] = T(((A)a[base + c * inner] - m) - lse);") if log else (
           "for (long long c = 0; c < C; ++c)\n"
           "    y[base + c * inner] = T(exp((A)a[base + c * inner] - m) / se);")
    body = _row_cuda(acc, "a") + out
    return ("raw T a, int64 C, int64 inner", "raw T y", body,
            "graphnn_log_softmax" if log else "graphnn_softmax", "")


def _softmax_gpu(xp: Any, a: Any, axis: int = -1, log: bool = False) -> Any:
    """(log-)softmax on CuPy arrays: rows of at most 1,024 floats as one kernel
    (``_softmax_cuda``, a thread per row); the NumPy code with ``xp = cupy`` otherwise."""
    c = a.shape[axis] if a.ndim else 1
    if not a.ndim or c > 1024 or a.dtype.kind != "f":
        return (_log_softmax if log else _softmax)(xp, a, axis)
    ax = axis % a.ndim
    inner = 1
    for e in a.shape[ax + 1:]:
        inner *= e
    y = xp.empty(a.shape, a.dtype)
    if y.size:
        _softmax_cuda(xp, log, "double" if a.dtype == xp.float64 else "float")(
            xp.ascontiguousarray(a), c, inner, y, size=y.size // c)
    return y


def _axis_check(a: S.Shape, axis: int = -1) -> None:
    S.norm_axes(axis, len(a))


SOFTMAX = register(Op(
    name="softmax", forward=_softmax, shape=S.same, fresh=True, value_range=(0.0, 1.0),
    sympy=lambda sp, a, axis=-1: R.softmax(sp, a, axis),
    latex=r"y_k = \frac{e^{z_k}}{\sum_j e^{z_j}}",
    vjp=lambda g, out, a, axis=-1: (out * (g - sum(g * out, axis=axis, keepdims=True)),),
    jvp=lambda t, out, a, axis=-1: None if t[0] is None else
        out * (t[0] - sum(t[0] * out, axis=axis, keepdims=True)),
    numpy="_softmax(xp, {0}, {axis})", label="softmax", check=_axis_check, batched=BT.AXIS,
    helpers=(_softmax,),
    gpu=Gpu(forward=_softmax_gpu, call="_softmax_gpu(xp, {0}, {axis})",
            helpers=(_softmax, _log_softmax, _kernel, _row_cuda, _softmax_cuda,
                     _softmax_source, _softmax_gpu)),
    trace=tt("dZ = S * (dS - sum(dS * S))"),
    onnx=Onnx(op_type="Softmax", attrs=ox.softmax_attrs,
              imports={"Softmax": ox.import_softmax("softmax")}),
))
LOG_SOFTMAX = register(Op(
    name="log_softmax", forward=_log_softmax, shape=S.same, fresh=True,
    sympy=lambda sp, a, axis=-1: R.softmax(sp, a, axis, log=True),
    latex=r"y_k = z_k - \log \sum_j e^{z_j}",
    vjp=lambda g, out, a, axis=-1: (g - exp(out) * sum(g, axis=axis, keepdims=True),),
    jvp=lambda t, out, a, axis=-1: None if t[0] is None else
        t[0] - sum(exp(out) * t[0], axis=axis, keepdims=True),
    numpy="_log_softmax(xp, {0}, {axis})", label="log softmax", check=_axis_check, batched=BT.AXIS,
    helpers=(_log_softmax,),
    gpu=Gpu(forward=lambda xp, a, axis=-1: _softmax_gpu(xp, a, axis, log=True),
            call="_softmax_gpu(xp, {0}, {axis}, log=True)",
            helpers=(_softmax, _log_softmax, _kernel, _row_cuda, _softmax_cuda,
                     _softmax_source, _softmax_gpu)),
    trace=tt("dZ = dL - softmax(Z) * sum(dL)"),
    onnx=Onnx(op_type="LogSoftmax", attrs=ox.softmax_attrs,
              imports={"LogSoftmax": ox.import_softmax("log_softmax")}),
))


def sigmoid(a: Any, *, name: str | None = None) -> Any:
    """Logistic function 1 / (1 + e^-a); derivative σ(1 - σ)."""
    return bind(SIGMOID, a, name=name)


def tanh(a: Any, *, name: str | None = None) -> Any:
    """Hyperbolic tangent; derivative 1 - tanh²."""
    return bind(TANH, a, name=name)


def relu(a: Any, *, name: str | None = None) -> Any:
    """max(0, a); derivative 1 for a > 0 else 0."""
    return bind(RELU, a, name=name)


def leaky_relu(a: Any, negative_slope: float = 0.01, *, name: str | None = None) -> Any:
    """a if a > 0 else negative_slope * a (the lectures use 0.1)."""
    return bind(LEAKY_RELU, a, negative_slope=float(negative_slope), name=name)


def prelu(a: Any, weight: Any, *, name: str | None = None) -> Any:
    """Parametric ReLU: a if a > 0 else weight * a, with a learnable ``weight``
    broadcast against ``a`` (NumPy rules)."""
    return bind(PRELU, a, weight, name=name)


def elu(a: Any, alpha: float = 1.0, *, name: str | None = None) -> Any:
    """a if a > 0 else alpha (e^a - 1)."""
    return bind(ELU, a, alpha=float(alpha), name=name)


def softmax(a: Any, axis: int = -1, *, name: str | None = None) -> Any:
    """exp(a_k) / sum_j exp(a_j) along ``axis`` (max-shifted, stable)."""
    return bind(SOFTMAX, a, axis=int(axis), name=name)


def log_softmax(a: Any, axis: int = -1, *, name: str | None = None) -> Any:
    """log(softmax(a)) computed stably along ``axis``."""
    return bind(LOG_SOFTMAX, a, axis=int(axis), name=name)


def maxout(*pieces: Any, name: str | None = None) -> Any:
    """Maxout: elementwise max of several affine pieces, e.g.
    ``maxout(w1 @ x + b1, w2 @ x + b2)`` (a composite of ``maximum``)."""
    from graphnn.ops.elementwise import maximum

    if len(pieces) < 2:
        raise ValueError("maxout needs at least two pieces")
    out = pieces[0]
    for i, p in enumerate(pieces[1:]):
        out = maximum(out, p, name=name if i == len(pieces) - 2 else None)
    return out


__all__ = ["sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "softmax", "log_softmax",
           "maxout"]


# -- PyTorch's other activations (torch.nn.functional names, arguments and defaults) -----
# Every one but glu is elementwise: ONE deriv= (vjp, jvp and trace text), a sympy formula
# (Piecewise at the kinks), NumPy / numexpr / CUDA templates and ONNX rules. The kinks
# follow PyTorch's backward formulas (checked against torch in tests/op_edges.py).

_SQRT1_2 = math.sqrt(0.5)                            # torch's M_SQRT1_2
_GELU_PDF = (2.0 / math.sqrt(math.pi)) * _SQRT1_2 * 0.5  # 1 / sqrt(2 pi)
_GELU_BETA = math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5  # sqrt(2 / pi)
_GELU_KAPPA = 0.044715
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_NEG = _SELU_ALPHA * _SELU_SCALE
_GELU_FORMS = ("none", "tanh")
_NO_OUT = "xp.where has no out= argument"
_NO_ATTRS = "in-place steps get no attributes (min_val / max_val are per node)"
_REREAD = "the formula reads its input again after the first step, and the step buffer " \
          "may be that input's"


def _gelu(xp: Any, a: Any, approximate: str = "none") -> Any:
    """GELU as torch computes it: x Φ(x) with erf, or the tanh approximation."""
    if approximate == "tanh":
        inner = 0.7978845608028654 * (a + 0.044715 * (a * a * a))
        return 0.5 * a * (1.0 + xp.tanh(inner))
    return a * 0.5 * (1.0 + _erf(xp, a * 0.7071067811865476))


def _softplus(xp: Any, a: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """log(1 + e^(beta a)) / beta, linear (a) where beta a > threshold; no overflow."""
    z = a * beta
    soft = (xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
    return xp.where(z > threshold, a, soft)


def _mish(xp: Any, a: Any) -> Any:
    """a tanh(softplus(a)) with the softplus computed without overflow."""
    return a * xp.tanh(xp.maximum(a, 0.0) + xp.log1p(xp.exp(-xp.abs(a))))


def _gelu_check(a: S.Shape, approximate: str = "none") -> None:
    if approximate not in _GELU_FORMS:
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def _finite(**values: float) -> None:
    for k, v in values.items():
        if not math.isfinite(v):
            raise ValueError(f"{k} must be a finite number, got {v}")


def _softplus_check(a: S.Shape, beta: float = 1.0, threshold: float = 20.0) -> None:
    _finite(beta=beta, threshold=threshold)
    if beta == 0:
        raise ValueError("beta must be nonzero (softplus divides by it)")


def _hardtanh_check(a: S.Shape, min_val: float = -1.0, max_val: float = 1.0) -> None:
    _finite(min_val=min_val, max_val=max_val)
    if min_val > max_val:
        raise ValueError(f"max_val ({max_val}) must be >= min_val ({min_val})")


def _celu_check(a: S.Shape, alpha: float = 1.0) -> None:
    _finite(alpha=alpha)
    if alpha == 0:
        raise ValueError("alpha must be nonzero (celu divides by it; torch raises "
                         "ZeroDivisionError)")


def _gelu_deriv(out: Any, a: Any, approximate: str = "none") -> tuple[Any]:
    from graphnn.ops.unary import erf

    if approximate == "tanh":  # torch's gelu_backward, tanh form
        t = tanh(_GELU_BETA * (a + _GELU_KAPPA * (a * a * a)))
        return (0.5 * (1.0 + t) + (0.5 * a) * (1.0 - t * t)
                * (_GELU_BETA * (1.0 + (3.0 * _GELU_KAPPA) * (a * a))),)
    return (0.5 * (1.0 + erf(a * _SQRT1_2)) + a * (_GELU_PDF * exp(-0.5 * (a * a))),)


def _gelu_sympy(sp: Any, a: Any, approximate: str = "none") -> Any:
    # numeric constants, not sqrt(2) / pi: sympy.ccode spells those M_SQRT2 / M_PI,
    # which CUDA's runtime compiler does not define
    if approximate == "tanh":
        inner = sp.Float(_GELU_BETA) * (a + sp.Float(_GELU_KAPPA) * a ** 3)
        return a * (1 + sp.tanh(inner)) / 2
    return a * (1 + sp.erf(sp.Float(_SQRT1_2) * a)) / 2


def _c(ex: Any, n: Any, v: float) -> str:
    """A scalar constant in the node's dtype."""
    return ex.const(f"{n.name}__c", np.array(v, dtype=n.dtype))


def _e(ex: Any, n: Any, op_type: str, *inputs: str, **attrs: Any) -> str:
    """One intermediate ONNX node of ``n``'s decomposition."""
    return ex.emit(op_type, list(inputs), ex.name(f"{n.name}__{op_type.lower()}"), **attrs)


def _gelu_export(ex: Any, n: Any) -> None:
    """ONNX Gelu is opset 20 and the exporter writes opset 18: the decomposition."""
    x = n.inputs[0].name
    if n.params.get("approximate", "none") == "tanh":
        cube = _e(ex, n, "Mul", _e(ex, n, "Mul", x, x), x)
        inner = _e(ex, n, "Mul", _e(ex, n, "Add", x, _e(ex, n, "Mul", cube,
                                                        _c(ex, n, _GELU_KAPPA))),
                   _c(ex, n, _GELU_BETA))
        half = _e(ex, n, "Mul", x, _c(ex, n, 0.5))
        ex.emit("Mul", [half, _e(ex, n, "Add", _e(ex, n, "Tanh", inner), _c(ex, n, 1.0))],
                n.name)
        return
    e = _e(ex, n, "Erf", _e(ex, n, "Mul", x, _c(ex, n, _SQRT1_2)))
    half = _e(ex, n, "Mul", x, _c(ex, n, 0.5))
    ex.emit("Mul", [half, _e(ex, n, "Add", e, _c(ex, n, 1.0))], n.name)


def _gelu_import(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    form = a.get("approximate", "none")
    form = form.decode() if isinstance(form, bytes) else str(form)
    if form not in _GELU_FORMS:
        raise im.unsupported(f"Gelu approximate={form!r}")
    return [gelu(x[0], approximate=form)]


def _softplus_export(ex: Any, n: Any) -> None:
    """Where(beta x > threshold, x, Softplus(beta x) / beta): ONNX Softplus has no
    beta and no threshold."""
    x, beta, thr = n.inputs[0].name, n.params.get("beta", 1.0), n.params.get("threshold", 20.0)
    z = x if beta == 1.0 else _e(ex, n, "Mul", x, _c(ex, n, beta))
    s = _e(ex, n, "Softplus", z)
    if beta != 1.0:
        s = _e(ex, n, "Div", s, _c(ex, n, beta))
    above = _e(ex, n, "Greater", z, _c(ex, n, thr))
    ex.emit("Where", [above, x, s], n.name)


def _clip_export(lo: float | None, hi: float | None) -> Callable[[Any, Any], None]:
    def export(ex: Any, n: Any) -> None:
        p = n.params
        mn = p.get("min_val", -1.0) if lo is None else lo
        mx = p.get("max_val", 1.0) if hi is None else hi
        ex.emit("Clip", [n.inputs[0].name, _c(ex, n, mn), _c(ex, n, mx)], n.name)
    return export


def _clip_import(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    """Clip: bounds as attributes before opset 11, optional inputs from then on. Scalar
    constant bounds: (0, 6) is relu6, other pairs hardtanh, one bound maximum / minimum;
    bounds computed at run time or given as arrays: clamp."""
    from graphnn.ops.elementwise import maximum
    from graphnn.ops.index import clamp

    if x[0].dtype.kind != "f":  # integer Clip: clamp keeps the dtype
        bounds = (x[1:] + [None] * 2)[:2]
        return [x[0] if bounds == [None, None] else clamp(x[0], *bounds)]
    if im.opset < 11:
        lo, hi = a.get("min"), a.get("max")
    else:
        names = [n.input[k] if len(n.input) > k and n.input[k] else None for k in (1, 2)]
        if any(b is not None and (b not in im.values or np.size(im.values[b]) != 1)
               for b in names):
            return [clamp(x[0], *(x[1:] + [None] * 2)[:2])]
        lo, hi = (None if b is None else float(np.asarray(im.values[b]).reshape(()))
                  for b in names)
    if lo is not None and hi is not None:
        if lo > hi:  # ONNX (and torch.clamp): every value becomes max
            return [clamp(x[0], lo, hi)]
        return [relu6(x[0]) if (lo, hi) == (0.0, 6.0) else hardtanh(x[0], lo, hi)]
    if lo is not None:
        return [maximum(x[0], float(lo))]
    return [x[0] if hi is None else minimum(x[0], float(hi))]


def _hardsigmoid_export(ex: Any, n: Any) -> None:
    """HardSigmoid(alpha=1/6, beta=1/2) stores 1/6 as a float32 attribute: exact for
    float32 graphs; float64 graphs export Div(Clip(Add(x, 3), 0, 6), 6)."""
    x = n.inputs[0].name
    if n.dtype != np.float64:
        ex.emit("HardSigmoid", [x], n.name, alpha=1.0 / 6.0, beta=0.5)
        return
    clip = _e(ex, n, "Clip", _e(ex, n, "Add", x, _c(ex, n, 3.0)), _c(ex, n, 0.0),
              _c(ex, n, 6.0))
    ex.emit("Div", [clip, _c(ex, n, 6.0)], n.name)


def _hardsigmoid_import(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    alpha, beta = float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))
    if np.float32(alpha) == np.float32(1.0 / 6.0) and beta == 0.5:
        return [hardsigmoid(x[0])]
    return [hardtanh(x[0] * alpha + beta, 0.0, 1.0)]


def _hardswish_export(ex: Any, n: Any) -> None:
    """HardSwish for float32 graphs; its alpha 1/6 is float32 in ONNX Runtime's float64
    kernel too, so float64 graphs export Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)."""
    x = n.inputs[0].name
    if n.dtype != np.float64:
        ex.emit("HardSwish", [x], n.name)
        return
    clip = _e(ex, n, "Clip", _e(ex, n, "Add", x, _c(ex, n, 3.0)), _c(ex, n, 0.0),
              _c(ex, n, 6.0))
    ex.emit("Div", [_e(ex, n, "Mul", x, clip), _c(ex, n, 6.0)], n.name)


def _selu_export(ex: Any, n: Any) -> None:
    """Selu's alpha and gamma attributes are float32: float64 graphs spell it out."""
    x = n.inputs[0].name
    if n.dtype != np.float64:
        ex.emit("Selu", [x], n.name, alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
        return
    zero = _c(ex, n, 0.0)
    neg = _e(ex, n, "Sub", _e(ex, n, "Exp", _e(ex, n, "Min", x, zero)), _c(ex, n, 1.0))
    ex.emit("Where", [_e(ex, n, "Greater", x, zero), _e(ex, n, "Mul", x, _c(ex, n, _SELU_SCALE)),
                      _e(ex, n, "Mul", neg, _c(ex, n, _SELU_NEG))], n.name)


def _selu_import(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    alpha = float(a.get("alpha", 1.67326319217681884765625))
    gamma = float(a.get("gamma", 1.05070102214813232421875))
    if np.float32(alpha) == np.float32(_SELU_ALPHA) and np.float32(gamma) == np.float32(
            _SELU_SCALE):
        return [selu(x[0])]
    return [elu(x[0], alpha) * gamma]


def _celu_export(ex: Any, n: Any) -> None:
    """Celu(alpha) for float32 graphs (ONNX Celu takes float32 only); other dtypes spell
    it out: Where(x > 0, x, alpha (Exp(Min(x, 0) / alpha) - 1))."""
    x, alpha = n.inputs[0].name, float(n.params.get("alpha", 1.0))
    if n.dtype == np.float32:
        ex.emit("Celu", [x], n.name, alpha=alpha)
        return
    zero = _c(ex, n, 0.0)
    e = _e(ex, n, "Exp", _e(ex, n, "Div", _e(ex, n, "Min", x, zero), _c(ex, n, alpha)))
    neg = _e(ex, n, "Mul", _e(ex, n, "Sub", e, _c(ex, n, 1.0)), _c(ex, n, alpha))
    ex.emit("Where", [_e(ex, n, "Greater", x, zero), x, neg], n.name)


def _composite(form: str) -> Unsupported:
    return Unsupported(f"ONNX has no such op; it exports as {form}, which imports as that "
                       "composite")


def _silu_export(ex: Any, n: Any) -> None:
    x = n.inputs[0].name
    ex.emit("Mul", [x, _e(ex, n, "Sigmoid", x)], n.name)


def _logsigmoid_export(ex: Any, n: Any) -> None:
    x = n.inputs[0].name
    ex.emit("Neg", [_e(ex, n, "Softplus", _e(ex, n, "Neg", x))], n.name)


def _silu_deriv(out: Any, a: Any) -> tuple[Any]:
    s = sigmoid(a)  # torch: σ (1 + a (1 - σ))
    return (s * (1.0 + a * (1.0 - s)),)


def _softplus_deriv(out: Any, a: Any, beta: float = 1.0,
                    threshold: float = 20.0) -> tuple[Any]:
    z = a if beta == 1.0 else a * beta
    m = step(z - threshold)  # 1 where the op is linear (beta a > threshold)
    return (m + (1.0 - m) * sigmoid(z),)


def _mish_deriv(out: Any, a: Any) -> tuple[Any]:
    t = tanh(softplus(a))  # torch: t + a σ(a) (1 - t²)
    return (t + a * sigmoid(a) * (1.0 - t * t),)


def _selu_deriv(out: Any, a: Any) -> tuple[Any]:
    p = step(a)  # torch: scale for a > 0, scale alpha e^a for a <= 0
    return (p * _SELU_SCALE + (1.0 - p) * (_SELU_NEG * exp(minimum(a, 0.0))),)


def _celu_deriv(out: Any, a: Any, alpha: float = 1.0) -> tuple[Any]:
    p = step(a)
    return (p + (1.0 - p) * exp(minimum(a, 0.0) * (1.0 / alpha)),)


def _mid(a: Any) -> Any:
    """1 where -3 < a < 3 (the linear part of hardsigmoid / hardswish), else 0 (NaN: 0)."""
    return step(a + 3.0) * step(3.0 - a)


GELU = register(Op(
    name="gelu", label="GELU", elementwise=True, shape=S.same, check=_gelu_check,
    forward=_gelu, helpers=(_erf, _gelu),
    deriv=_gelu_deriv, sympy=_gelu_sympy,
    numpy="_gelu(xp, {0}, {approximate})",
    inplace=Unsupported("a helper call (erf has no NumPy ufunc)"),
    numexpr=Unsupported("numexpr has no erf function (approximate='none'), and one "
                        "template serves both forms"),
    onnx=Onnx(export=_gelu_export, imports={"Gelu": _gelu_import}),
    doc="a Φ(a) with Φ the normal CDF (erf); approximate='tanh': "
        "a/2 (1 + tanh(sqrt(2/π) (a + 0.044715 a³)))"))
SILU = register(Op(
    name="silu", label="SiLU", elementwise=True, shape=S.same,
    forward=lambda xp, a: a * _sigmoid(xp, a), helpers=(_sigmoid,),
    deriv=_silu_deriv,
    sympy=lambda sp, a: a / (1 + sp.exp(-a)),
    numpy="({0} * _sigmoid(xp, {0}))", inplace=Unsupported(_REREAD),
    numexpr="({0} / (1 + exp(-{0})))", cuda="(({0}) / (1.0 + exp(-({0}))))",
    onnx=Onnx(export=_silu_export, imports=_composite("Mul(x, Sigmoid(x))")),
    doc="a σ(a) (swish); derivative σ(a) (1 + a (1 - σ(a)))"))
SOFTPLUS = register(Op(
    name="softplus", label="softplus", elementwise=True, shape=S.same, check=_softplus_check,
    forward=_softplus, helpers=(_softplus,),
    deriv=_softplus_deriv,
    sympy=lambda sp, a, beta=1.0, threshold=20.0: sp.Piecewise(
        (a, beta * a > threshold), (sp.log(1 + sp.exp(beta * a)) / beta, True)),
    numpy="_softplus(xp, {0}, {beta}, {threshold})", inplace=Unsupported(_NO_OUT),
    numexpr="where({0} * {beta} > {threshold}, {0}, log1p(exp({0} * {beta})) / {beta})",
    cuda="(({0}) * {beta} > {threshold} ? ({0}) : log1p(exp(({0}) * {beta})) / {beta})",
    onnx=Onnx(export=_softplus_export,
              imports={"Softplus": lambda im, n, x, a: [softplus(x[0])]}),
    doc="log(1 + e^(beta a)) / beta, and a where beta a > threshold (as PyTorch); "
        "derivative σ(beta a)"))
MISH = register(Op(
    name="mish", label="Mish", elementwise=True, shape=S.same,
    forward=_mish, helpers=(_mish,),
    deriv=_mish_deriv,
    sympy=lambda sp, a: a * sp.tanh(sp.log(1 + sp.exp(a))),
    numpy="_mish(xp, {0})", inplace=Unsupported(_REREAD),
    numexpr="({0} * tanh(log1p(exp({0}))))", cuda="(({0}) * tanh(log1p(exp({0}))))",
    onnx=Onnx(op_type="Mish", imports={"Mish": None}),
    doc="a tanh(softplus(a))"))
HARDTANH = register(Op(
    name="hardtanh", label="hardtanh", elementwise=True, shape=S.same, check=_hardtanh_check,
    forward=lambda xp, a, min_val=-1.0, max_val=1.0: xp.clip(a, min_val, max_val),
    deriv=lambda out, a, min_val=-1.0, max_val=1.0:
        ((1.0 - ge_mask(min_val, a)) * (1.0 - ge_mask(a, max_val)),),
    sympy=lambda sp, a, min_val=-1.0, max_val=1.0: sp.Piecewise(
        (min_val, a <= min_val), (max_val, a >= max_val), (a, True)),
    numpy="xp.clip({0}, {min_val}, {max_val})", inplace=Unsupported(_NO_ATTRS),
    numexpr="where({0} < {min_val}, {min_val}, where({0} > {max_val}, {max_val}, {0}))",
    cuda="(({0}) < {min_val} ? {min_val} : (({0}) > {max_val} ? {max_val} : ({0})))",
    onnx=Onnx(export=_clip_export(None, None), imports={"Clip": _clip_import}),
    doc="a clipped to [min_val, max_val]; derivative 1 strictly inside, 0 at and beyond "
        "the bounds (as PyTorch)"))
RELU6 = register(Op(
    name="relu6", label="ReLU6", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.clip(a, 0.0, 6.0),
    deriv=lambda out, a: ((1.0 - ge_mask(0.0, a)) * (1.0 - ge_mask(a, 6.0)),),
    # the formula of hardtanh(a, 0.0, 6.0), which from_sympy may match it as
    sympy=lambda sp, a: sp.Piecewise((0.0, a <= 0.0), (6.0, a >= 6.0), (a, True)),
    numpy="xp.clip({0}, 0.0, 6.0)", inplace=("xp.clip({0}, 0.0, 6.0, out={out})",),
    numexpr="where({0} < 0, 0.0, where({0} > 6, 6.0, {0}))",
    cuda="(({0}) < 0 ? 0.0 : (({0}) > 6 ? 6.0 : ({0})))",
    onnx=Onnx(export=_clip_export(0.0, 6.0), imports={"Clip": _clip_import}),
    doc="min(max(a, 0), 6) = hardtanh(a, 0, 6); derivative 0 at 0 and 6 (as PyTorch)"))
HARDSIGMOID = register(Op(
    name="hardsigmoid", label="hardσ", elementwise=True, shape=S.same, value_range=(0.0, 1.0),
    forward=lambda xp, a: xp.clip(a + 3.0, 0.0, 6.0) / 6.0,
    deriv=lambda out, a: (_mid(a) * (1.0 / 6.0),),
    sympy=lambda sp, a: sp.Piecewise((0, a <= -3), (1, a >= 3), (a / 6 + sp.Rational(1, 2),
                                                                 True)),
    numpy="(xp.clip({0} + 3.0, 0.0, 6.0) / 6.0)",
    inplace=("xp.add({0}, 3.0, out={out})", "xp.clip({out}, 0.0, 6.0, out={out})",
             "xp.divide({out}, 6.0, out={out})"),
    numexpr="(where({0} < -3.0, 0.0, where({0} > 3.0, 6.0, {0} + 3.0)) / 6.0)",
    cuda="((({0}) < -3.0 ? 0.0 : (({0}) > 3.0 ? 6.0 : ({0}) + 3.0)) / 6.0)",
    onnx=Onnx(export=_hardsigmoid_export, imports={"HardSigmoid": _hardsigmoid_import}),
    doc="relu6(a + 3) / 6; derivative 1/6 strictly inside (-3, 3), else 0 (as PyTorch)"))
HARDSWISH = register(Op(
    name="hardswish", label="hardswish", elementwise=True, shape=S.same,
    forward=lambda xp, a: a * xp.clip(a + 3.0, 0.0, 6.0) / 6.0,
    # torch: 0 for a <= -3, a/3 + 1/2 for -3 < a < 3, 1 for a >= 3 (a clipped inside the
    # linear part, so that a = ±inf gives 1 and 0 rather than 0 * inf)
    deriv=lambda out, a: (_mid(a) * (hardtanh(a, -3.0, 3.0) / 3.0 + 0.5) + ge_mask(a, 3.0),),
    sympy=lambda sp, a: sp.Piecewise((0, a <= -3), (a, a >= 3), (a * (a + 3) / 6, True)),
    numpy="({0} * xp.clip({0} + 3.0, 0.0, 6.0) / 6.0)", inplace=Unsupported(_REREAD),
    numexpr="({0} * where({0} < -3.0, 0.0, where({0} > 3.0, 6.0, {0} + 3.0)) / 6.0)",
    cuda="(({0}) * (({0}) < -3.0 ? 0.0 : (({0}) > 3.0 ? 6.0 : ({0}) + 3.0)) / 6.0)",
    onnx=Onnx(export=_hardswish_export, imports={"HardSwish": None}),
    doc="a relu6(a + 3) / 6; derivative 0 at a <= -3, a/3 + 1/2 inside, 1 at a >= 3 (as "
        "PyTorch)"))
SELU = register(Op(
    name="selu", label="SELU", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.where(a > 0, a * _SELU_SCALE,
                                   xp.expm1(xp.minimum(a, 0.0)) * _SELU_NEG),
    deriv=_selu_deriv,
    sympy=lambda sp, a: sp.Piecewise((sp.Float(_SELU_SCALE) * a, a > 0),
                                     (sp.Float(_SELU_NEG) * (sp.exp(a) - 1), True)),
    numpy=f"xp.where({{0}} > 0, {{0}} * {_SELU_SCALE!r}, xp.expm1(xp.minimum({{0}}, 0.0)) "
          f"* {_SELU_NEG!r})",
    inplace=Unsupported(_NO_OUT),
    numexpr=f"where({{0}} > 0, {{0}} * {_SELU_SCALE!r}, expm1({{0}}) * {_SELU_NEG!r})",
    cuda=f"(({{0}}) > 0 ? ({{0}}) * {_SELU_SCALE!r} : expm1({{0}}) * {_SELU_NEG!r})",
    onnx=Onnx(export=_selu_export, imports={"Selu": _selu_import}),
    doc="scale (a if a > 0 else alpha (e^a - 1)), alpha ≈ 1.6733, scale ≈ 1.0507"))
CELU = register(Op(
    name="celu", label="CELU", elementwise=True, shape=S.same, check=_celu_check,
    forward=lambda xp, a, alpha=1.0: xp.where(
        a > 0, a, xp.expm1(xp.minimum(a, 0.0) * (1.0 / alpha)) * alpha),
    deriv=_celu_deriv,
    sympy=lambda sp, a, alpha=1.0: sp.Piecewise(
        (a, a > 0), (alpha * (sp.exp(a if alpha == 1 else a / alpha) - 1), True)),
    numpy="xp.where({0} > 0, {0}, xp.expm1(xp.minimum({0}, 0.0) * (1.0 / {alpha})) * {alpha})",
    inplace=Unsupported(_NO_OUT),
    numexpr="where({0} > 0, {0}, expm1({0} * (1.0 / {alpha})) * {alpha})",
    cuda="(({0}) > 0 ? ({0}) : expm1(({0}) * (1.0 / {alpha})) * {alpha})",
    onnx=Onnx(export=_celu_export,
              imports={"Celu": lambda im, n, x, a: [celu(x[0], float(a.get("alpha", 1.0)))]}),
    doc="a if a > 0 else alpha (e^(a/alpha) - 1)"))
SOFTSIGN = register(Op(
    name="softsign", label="softsign", elementwise=True, shape=S.same, value_range=(-1.0, 1.0),
    forward=lambda xp, a: a / (1.0 + xp.abs(a)),
    # (1 - |y|) / (1 + |a|) = 1 / (1 + |a|)²; NaN at a = ±inf like torch's composite rule
    deriv=lambda out, a: ((1.0 - _abs(out)) / (1.0 + _abs(a)),),
    sympy=lambda sp, a: a / (1 + sp.Abs(a)),
    numpy="({0} / (1.0 + xp.abs({0})))", inplace=Unsupported(_REREAD),
    numexpr="({0} / (1 + abs({0})))", cuda="(({0}) / (1.0 + fabs({0})))",
    onnx=Onnx(op_type="Softsign", imports={"Softsign": None}),
    doc="a / (1 + |a|)"))
LOGSIGMOID = register(Op(
    name="logsigmoid", label="log σ", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.minimum(a, 0.0) - xp.log1p(xp.exp(-xp.abs(a))),
    deriv=lambda out, a: (sigmoid(-a),),
    sympy=lambda sp, a: -sp.log(1 + sp.exp(-a)),
    numpy="(xp.minimum({0}, 0.0) - xp.log1p(xp.exp(-xp.abs({0}))))",
    inplace=Unsupported(_REREAD),
    numexpr="(where({0} < 0, {0}, 0.0) - log1p(exp(-abs({0}))))",
    cuda="((({0}) < 0 ? ({0}) : 0.0) - log1p(exp(-fabs({0}))))",
    onnx=Onnx(export=_logsigmoid_export, imports=_composite("Neg(Softplus(Neg(x)))")),
    doc="log σ(a) = min(a, 0) - log(1 + e^-|a|) (stable for large |a|); derivative σ(-a)"))


def gelu(a: Any, approximate: str = "none", *, name: str | None = None) -> Any:
    """Gaussian error linear unit a Φ(a) (Φ: the standard normal CDF, via erf), or with
    ``approximate="tanh"`` a/2 (1 + tanh(sqrt(2/π) (a + 0.044715 a³))), as torch.

    >>> round(float(gelu(1.0)), 6), round(float(gelu(1.0, approximate="tanh")), 6)
    (0.841345, 0.841192)
    """
    _gelu_check((), approximate)
    return bind(GELU, a, approximate=str(approximate), name=name)


def silu(a: Any, *, name: str | None = None) -> Any:
    """SiLU (swish): a σ(a).

    >>> round(float(silu(1.0)), 6)
    0.731059
    """
    return bind(SILU, a, name=name)


def softplus(a: Any, beta: float = 1.0, threshold: float = 20.0, *,
             name: str | None = None) -> Any:
    """log(1 + e^(beta a)) / beta, reverting to ``a`` where beta a > threshold (PyTorch).

    >>> round(float(softplus(0.0)), 6), float(softplus(30.0)), float(softplus(-1000.0))
    (0.693147, 30.0, 0.0)
    """
    beta, threshold = float(beta), float(threshold)
    _softplus_check((), beta, threshold)
    return bind(SOFTPLUS, a, beta=beta, threshold=threshold, name=name)


def mish(a: Any, *, name: str | None = None) -> Any:
    """Mish: a tanh(softplus(a)).

    >>> round(float(mish(1.0)), 6)
    0.865098
    """
    return bind(MISH, a, name=name)


def hardtanh(a: Any, min_val: float = -1.0, max_val: float = 1.0, *,
             name: str | None = None) -> Any:
    """``a`` clipped to [min_val, max_val]; gradient 1 strictly inside, else 0 (PyTorch).

    >>> hardtanh(np.array([-2.0, 0.5, 3.0]))
    array([-1. ,  0.5,  1. ])
    """
    min_val, max_val = float(min_val), float(max_val)
    _hardtanh_check((), min_val, max_val)
    return bind(HARDTANH, a, min_val=min_val, max_val=max_val, name=name)


def relu6(a: Any, *, name: str | None = None) -> Any:
    """min(max(a, 0), 6); gradient 0 at 0 and at 6 (PyTorch).

    >>> relu6(np.array([-1.0, 3.0, 7.0]))
    array([0., 3., 6.])
    """
    return bind(RELU6, a, name=name)


def hardsigmoid(a: Any, *, name: str | None = None) -> Any:
    """relu6(a + 3) / 6; gradient 1/6 strictly inside (-3, 3), else 0 (PyTorch).

    >>> hardsigmoid(np.array([-4.0, 0.0, 1.5, 4.0]))
    array([0.  , 0.5 , 0.75, 1.  ])
    """
    return bind(HARDSIGMOID, a, name=name)


def hardswish(a: Any, *, name: str | None = None) -> Any:
    """a relu6(a + 3) / 6; gradient 0 for a <= -3, a/3 + 1/2 inside, 1 for a >= 3.

    >>> hardswish(np.array([-4.0, 0.0, 3.0, 4.0]))
    array([-0.,  0.,  3.,  4.])
    """
    return bind(HARDSWISH, a, name=name)


def selu(a: Any, *, name: str | None = None) -> Any:
    """Scaled ELU: scale (a if a > 0 else alpha (e^a - 1)) with PyTorch's constants
    alpha = 1.6732632423543772, scale = 1.0507009873554805.

    >>> round(float(selu(1.0)), 6), round(float(selu(-1.0)), 6)
    (1.050701, -1.111331)
    """
    return bind(SELU, a, name=name)


def celu(a: Any, alpha: float = 1.0, *, name: str | None = None) -> Any:
    """a if a > 0 else alpha (e^(a/alpha) - 1); alpha must be nonzero.

    >>> round(float(celu(-1.0, alpha=0.5)), 6)
    -0.432332
    """
    alpha = float(alpha)
    _celu_check((), alpha)
    return bind(CELU, a, alpha=alpha, name=name)


def softsign(a: Any, *, name: str | None = None) -> Any:
    """a / (1 + |a|).

    >>> softsign(np.array([-1.0, 0.0, 3.0]))
    array([-0.5 ,  0.  ,  0.75])
    """
    return bind(SOFTSIGN, a, name=name)


def logsigmoid(a: Any, *, name: str | None = None) -> Any:
    """log σ(a), computed as min(a, 0) - log1p(e^-|a|): finite for large |a|.

    >>> float(logsigmoid(-1000.0)), round(float(logsigmoid(0.0)), 6)
    (-1000.0, -0.693147)
    """
    return bind(LOGSIGMOID, a, name=name)


__all__ += ["gelu", "silu", "softplus", "mish", "hardtanh", "relu6", "hardsigmoid",
            "hardswish", "selu", "celu", "softsign", "logsigmoid"]
