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
from graphnn.core.op import Op, register
from graphnn.ops.elementwise import exp, step, tscale, tsum
from graphnn.ops.reduce import sum


def _sigmoid(xp: Any, a: Any) -> Any:
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _act(name: str, forward: Any, vjp: Any, jvp: Any, formula: Any, template: str,
         label: str, shape: Any = S.same, **kw: Any) -> Op:
    return register(Op(name, forward, shape, vjp=vjp, jvp=jvp, formula=formula,
                       template=template, label=label, elementwise=True, **kw))


SIGMOID = _act("sigmoid", _sigmoid, lambda g, out, a: (g * out * (1.0 - out),),
               lambda t, out, a: tscale(t[0], out * (1.0 - out)),
               lambda sp, a: 1 / (1 + sp.exp(-a)), "_sigmoid(xp, {0})", "σ",
               meta={"helpers": (_sigmoid,)})
TANH = _act("tanh", lambda xp, a: xp.tanh(a), lambda g, out, a: (g * (1.0 - out * out),),
            lambda t, out, a: tscale(t[0], 1.0 - out * out), lambda sp, a: sp.tanh(a),
            "xp.tanh({0})", "tanh")
RELU = _act("relu", lambda xp, a: xp.maximum(a, 0), lambda g, out, a: (g * step(a),),
            lambda t, out, a: tscale(t[0], step(a)), lambda sp, a: sp.Max(0, a),
            "xp.maximum({0}, 0)", "ReLU")
LEAKY_RELU = _act(
    "leaky_relu",
    lambda xp, a, negative_slope=0.01: xp.where(a > 0, a, a * negative_slope),
    lambda g, out, a, negative_slope=0.01:
        (g * (negative_slope + (1.0 - negative_slope) * step(a)),),
    lambda t, out, a, negative_slope=0.01:
        tscale(t[0], negative_slope + (1.0 - negative_slope) * step(a)),
    lambda sp, a, negative_slope=0.01: sp.Piecewise((a, a > 0), (negative_slope * a, True)),
    "xp.where({0} > 0, {0}, {0} * {negative_slope})", "LReLU")
PRELU = _act(
    "prelu", lambda xp, a, w: xp.where(a > 0, a, a * w),
    lambda g, out, a, w: (lambda: g * (w + (1.0 - w) * step(a)),
                          lambda: g * a * (1.0 - step(a))),
    lambda t, out, a, w: tsum(tscale(t[0], w + (1.0 - w) * step(a)),
                              tscale(t[1], a * (1.0 - step(a)))),
    lambda sp, a, w: sp.Piecewise((a, a > 0), (w * a, True)),
    "xp.where({0} > 0, {0}, {0} * {1})", "PReLU", shape=S.elementwise)
ELU = _act(
    "elu", lambda xp, a, alpha=1.0: xp.where(a > 0, a, alpha * xp.expm1(xp.minimum(a, 0))),
    lambda g, out, a, alpha=1.0: (g * (step(a) + (1.0 - step(a)) * (out + alpha)),),
    lambda t, out, a, alpha=1.0: tscale(t[0], step(a) + (1.0 - step(a)) * (out + alpha)),
    lambda sp, a, alpha=1.0: sp.Piecewise((a, a > 0), (alpha * (sp.exp(a) - 1), True)),
    "xp.where({0} > 0, {0}, {alpha} * xp.expm1(xp.minimum({0}, 0)))", "ELU")


def _softmax(xp: Any, a: Any, axis: int = -1) -> Any:
    e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _log_softmax(xp: Any, a: Any, axis: int = -1) -> Any:
    s = a - xp.max(a, axis=axis, keepdims=True)
    return s - xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))


def _axis_check(a: S.Shape, axis: int = -1) -> None:
    S.norm_axes(axis, len(a))


SOFTMAX = register(Op(
    "softmax", _softmax, S.same,
    vjp=lambda g, out, a, axis=-1: (out * (g - sum(g * out, axis=axis, keepdims=True)),),
    jvp=lambda t, out, a, axis=-1: None if t[0] is None else
        out * (t[0] - sum(t[0] * out, axis=axis, keepdims=True)),
    template="_softmax(xp, {0}, {axis})", label="softmax", check=_axis_check,
    meta={"helpers": (_softmax,)},
    derivative="dZ = S * (dS - sum(dS * S))",
))
LOG_SOFTMAX = register(Op(
    "log_softmax", _log_softmax, S.same,
    vjp=lambda g, out, a, axis=-1: (g - exp(out) * sum(g, axis=axis, keepdims=True),),
    jvp=lambda t, out, a, axis=-1: None if t[0] is None else
        t[0] - sum(exp(out) * t[0], axis=axis, keepdims=True),
    template="_log_softmax(xp, {0}, {axis})", label="log softmax", check=_axis_check,
    meta={"helpers": (_log_softmax,)},
    derivative="dZ = dL - softmax(Z) * sum(dL)",
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
