"""Broadcasting elementwise ops: add sub mul div neg pow exp log sqrt abs maximum minimum,
plus the non-differentiable masks (sign, step, ge, eq) that other ops' rules use.

Each op is one ``Op`` record with all its rules; the public function binds it.

>>> import graphnn as gn
>>> with gn.Graph():
...     x = gn.input("x", shape=(3,))
...     y = gn.exp(x) * 2.0
>>> y.op.name, y.shape
('mul', (3,))
>>> float(gn.exp(0.0))   # without nodes the same functions compute numbers
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Op, register

# -- small helpers for forward-mode rules (None is a zero tangent) -------------------


def tsum(*terms: Any) -> Any:
    """Sum of the tangent terms that are not None (None when all are)."""
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return out


def tscale(t: Any, f: Any) -> Any:
    """``t * f`` with None (zero) passing through."""
    return None if t is None else t * f


def _ew(name: str, forward: Any, vjp: Any, jvp: Any, formula: Any, template: str,
        label: str, shape: Any = S.elementwise, **kw: Any) -> Op:
    return register(Op(name, forward, shape, vjp=vjp, jvp=jvp, formula=formula,
                       template=template, label=label, elementwise=True, **kw))


def _mask_dtype(*dtypes: Any, **_: Any) -> Any:
    dt = np.result_type(*dtypes)
    return dt if dt.kind == "f" else np.float64


def _mask(xp: Any, m: Any, *args: Any) -> Any:
    dt = np.result_type(*[a.dtype if hasattr(a, "dtype") else a for a in args])
    return xp.asarray(m).astype(dt if dt.kind == "f" else np.float64)


ADD = _ew("add", lambda xp, a, b: xp.add(a, b), lambda g, out, a, b: (g, g),
          lambda t, out, a, b: tsum(t[0], t[1]), lambda sp, a, b: a + b, "({0} + {1})", "+")
SUB = _ew("sub", lambda xp, a, b: xp.subtract(a, b), lambda g, out, a, b: (g, lambda: -g),
          lambda t, out, a, b: tsum(t[0], None if t[1] is None else -t[1]),
          lambda sp, a, b: a - b, "({0} - {1})", "-")
MUL = _ew("mul", lambda xp, a, b: xp.multiply(a, b),
          lambda g, out, a, b: (lambda: g * b, lambda: g * a),
          lambda t, out, a, b: tsum(tscale(t[0], b), tscale(t[1], a)),
          lambda sp, a, b: a * b, "({0} * {1})", "*")
DIV = _ew("div", lambda xp, a, b: xp.divide(a, b),
          lambda g, out, a, b: (lambda: g / b, lambda: -g * out / b),
          lambda t, out, a, b: tsum(tscale(t[0], 1.0 / b), tscale(t[1], -out / b)),
          lambda sp, a, b: a / b, "({0} / {1})", "/")
NEG = _ew("neg", lambda xp, a: xp.negative(a), lambda g, out, a: (-g,),
          lambda t, out, a: None if t[0] is None else -t[0],
          lambda sp, a: -a, "(-{0})", "-", shape=S.same)
POW = _ew("pow", lambda xp, a, b: xp.power(a, b),
          lambda g, out, a, b: (lambda: g * b * a ** (b - 1), lambda: g * out * log(a)),
          lambda t, out, a, b: tsum(tscale(t[0], b * a ** (b - 1)),
                                    None if t[1] is None else t[1] * out * log(a)),
          lambda sp, a, b: a ** b, "({0} ** {1})", "**")
EXP = _ew("exp", lambda xp, a: xp.exp(a), lambda g, out, a: (g * out,),
          lambda t, out, a: tscale(t[0], out), lambda sp, a: sp.exp(a), "xp.exp({0})", "exp",
          shape=S.same)
LOG = _ew("log", lambda xp, a: xp.log(a), lambda g, out, a: (g / a,),
          lambda t, out, a: None if t[0] is None else t[0] / a, lambda sp, a: sp.log(a),
          "xp.log({0})", "log", shape=S.same)
SQRT = _ew("sqrt", lambda xp, a: xp.sqrt(a), lambda g, out, a: (g / (2.0 * out),),
           lambda t, out, a: None if t[0] is None else t[0] / (2.0 * out),
           lambda sp, a: sp.sqrt(a), "xp.sqrt({0})", "sqrt", shape=S.same)
ABS = _ew("abs", lambda xp, a: xp.abs(a), lambda g, out, a: (g * sign(a),),
          lambda t, out, a: tscale(t[0], sign(a)), lambda sp, a: sp.Abs(a), "xp.abs({0})", "|x|",
          shape=S.same)
MAXIMUM = _ew("maximum", lambda xp, a, b: xp.maximum(a, b),
              lambda g, out, a, b: (lambda: g * ge(a, b), lambda: g * (1.0 - ge(a, b))),
              lambda t, out, a, b: tsum(tscale(t[0], ge(a, b)), tscale(t[1], 1.0 - ge(a, b))),
              lambda sp, a, b: sp.Max(a, b), "xp.maximum({0}, {1})", "max")
MINIMUM = _ew("minimum", lambda xp, a, b: xp.minimum(a, b),
              lambda g, out, a, b: (lambda: g * ge(b, a), lambda: g * (1.0 - ge(b, a))),
              lambda t, out, a, b: tsum(tscale(t[0], ge(b, a)), tscale(t[1], 1.0 - ge(b, a))),
              lambda sp, a, b: sp.Min(a, b), "xp.minimum({0}, {1})", "min")

# Non-differentiable helpers used by other rules (their own gradient is zero a.e.).
_ZERO1 = (lambda g, out, a: (None,))
_ZERO2 = (lambda g, out, a, b: (None, None))
SIGN = _ew("sign", lambda xp, a: xp.sign(a), _ZERO1, lambda t, out, a: None,
           lambda sp, a: sp.sign(a), "xp.sign({0})", "sign", shape=S.same)
STEP = _ew("step", lambda xp, a: _mask(xp, a > 0, a), _ZERO1, lambda t, out, a: None,
           lambda sp, a: sp.Heaviside(a, 0), "({0} > 0).astype({out_dtype})", "step",
           shape=S.same, dtype=_mask_dtype)
GE = _ew("ge", lambda xp, a, b: _mask(xp, a >= b, a, b), _ZERO2, lambda t, out, a, b: None,
         lambda sp, a, b: sp.Heaviside(a - b, 1), "({0} >= {1}).astype({out_dtype})", ">=",
         dtype=_mask_dtype)
EQ = _ew("eq", lambda xp, a, b: _mask(xp, a == b, a, b), _ZERO2, lambda t, out, a, b: None,
         lambda sp, a, b: sp.Piecewise((1, sp.Eq(a, b)), (0, True)),
         "({0} == {1}).astype({out_dtype})", "==",
         dtype=_mask_dtype)


def add(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a + b`` with NumPy broadcasting."""
    return bind(ADD, a, b, name=name)


def sub(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a - b``."""
    return bind(SUB, a, b, name=name)


def mul(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a * b`` (elementwise)."""
    return bind(MUL, a, b, name=name)


def div(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a / b``."""
    return bind(DIV, a, b, name=name)


def neg(a: Any, *, name: str | None = None) -> Any:
    """``-a``."""
    return bind(NEG, a, name=name)


def pow(a: Any, b: Any, *, name: str | None = None) -> Any:  # noqa: A001
    """``a ** b`` (d/db uses log a, so keep ``a > 0`` when differentiating w.r.t. b)."""
    return bind(POW, a, b, name=name)


def exp(a: Any, *, name: str | None = None) -> Any:
    """``e ** a``."""
    return bind(EXP, a, name=name)


def log(a: Any, *, name: str | None = None) -> Any:
    """Natural logarithm."""
    return bind(LOG, a, name=name)


def sqrt(a: Any, *, name: str | None = None) -> Any:
    """Square root."""
    return bind(SQRT, a, name=name)


def abs(a: Any, *, name: str | None = None) -> Any:  # noqa: A001
    """``|a|`` (derivative sign(a), 0 at 0)."""
    return bind(ABS, a, name=name)


def maximum(a: Any, b: Any, *, name: str | None = None) -> Any:
    """Elementwise maximum; at ties the gradient goes to ``a``."""
    return bind(MAXIMUM, a, b, name=name)


def minimum(a: Any, b: Any, *, name: str | None = None) -> Any:
    """Elementwise minimum; at ties the gradient goes to ``a``."""
    return bind(MINIMUM, a, b, name=name)


def sign(a: Any, *, name: str | None = None) -> Any:
    """-1, 0 or 1 (no gradient)."""
    return bind(SIGN, a, name=name)


def step(a: Any, *, name: str | None = None) -> Any:
    """1 where ``a > 0`` else 0 (the derivative of relu; no gradient)."""
    return bind(STEP, a, name=name)


def ge(a: Any, b: Any, *, name: str | None = None) -> Any:
    """1 where ``a >= b`` else 0 (no gradient)."""
    return bind(GE, a, b, name=name)


def eq(a: Any, b: Any, *, name: str | None = None) -> Any:
    """1 where ``a == b`` else 0 (no gradient)."""
    return bind(EQ, a, b, name=name)
