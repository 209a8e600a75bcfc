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

from typing import Any

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, Unsupported, register, tt
from graphnn.ops import batching as BT
from graphnn.ops import onnx_rules as ox
from graphnn.ops import symrules as R
from graphnn.ops.elementwise import exp, minimum, step, ufunc
from graphnn.ops.reduce import sum


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
    onnx=Onnx(op_type="PRelu", imports={"PRelu": None}),
    doc="parametric ReLU: a if a > 0 else weight * a (weight broadcast against a)"))
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
    axis = axis if a.ndim else None  # PyTorch: axis 0 / -1 of a 0-d tensor
    e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _log_softmax(xp: Any, a: Any, axis: int = -1) -> Any:
    axis = axis if a.ndim else None
    s = a - xp.max(a, axis=axis, keepdims=True)
    return s - xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))


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
