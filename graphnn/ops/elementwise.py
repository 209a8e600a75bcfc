"""Broadcasting elementwise ops: add sub mul div neg pow exp log sqrt abs maximum minimum,
plus the non-differentiable float masks (sign, step, ge_mask, eq_mask) that other ops' rules use.

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

import math
from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, Unsupported, register
from graphnn.ops import rewrites as RW

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


def ufunc(f: str, nargs: int) -> tuple[str, ...]:
    """The in-place form of a NumPy ufunc call: one step writing into ``{out}``."""
    args = ", ".join("{" + str(k) + "}" for k in range(nargs))
    return (f"xp.{f}({args}, out={{out}})",)


def _mask_dtype(*dtypes: Any, **_: Any) -> Any:
    dt = np.result_type(*dtypes)
    return dt if dt.kind == "f" else np.float64


def _mask(xp: Any, m: Any, *args: Any) -> Any:
    dt = np.result_type(*[a.dtype if hasattr(a, "dtype") else a for a in args])
    return xp.asarray(m).astype(dt if dt.kind == "f" else np.float64)


def _onnx(op_type: str) -> Onnx:
    return Onnx(op_type=op_type, imports={op_type: None})


def _cast_inputs_export(op_type: str) -> Any:
    """Export with each input cast to the node's dtype first: graphnn's int / int and
    int ** float are float, ONNX's Div / Pow keep the first input's type."""
    def export(ex: Any, n: Any) -> None:
        ins = [i.name if i.dtype == n.dtype else
               ex.emit("Cast", [i.name], ex.name(f"{n.name}__in{k}"), to=ex.elem(n.dtype))
               for k, i in enumerate(n.inputs)]
        ex.emit(op_type, ins, n.name)
    return export


def _import_div(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    """ONNX Div: true division of floats, truncation toward 0 of integers."""
    q = div(x[0], x[1])
    if x[0].dtype.kind not in "iu" or x[1].dtype.kind not in "iu":
        return [q]
    from graphnn.ops.index import logical_and, lt, ne, where
    from graphnn.ops.integer import cast, floor_divide, remainder

    fl = floor_divide(x[0], x[1])
    up = logical_and(ne(remainder(x[0], x[1]), 0), ne(lt(x[0], 0), lt(x[1], 0)))
    return [cast(where(up, fl + 1, fl), x[0].dtype.name)]


def _import_pow(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    """ONNX Pow keeps the base's type (int ** float is an int there)."""
    p = pow(x[0], x[1])
    if p.dtype == x[0].dtype:
        return [p]
    from graphnn.ops.integer import cast

    return [cast(p, x[0].dtype.name)]


def _pow_partials(out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a ** b)/da and d/db with PyTorch's values at base 0 (lazy): the textbook forms
    ``b * a ** (b - 1)`` and ``out * log(a)`` with the exponent / argument nudged by an
    exact 0/1 mask so that ``0 * inf`` never arises where PyTorch's rule gives 0."""
    return (lambda: b * a ** (b - 1.0 + eq_mask(b, 0.0)),
            lambda: out * log(a + eq_mask(a, 0.0) * ge_mask(b, 0.0)))


def _wins(other: Any, x: Any) -> Any:
    """d max(x, other)/dx as PyTorch has it: 1 where x > other, 1/2 at a tie, 0 where
    x < other, 1 where either is NaN (``step(other - x)`` is 0 for a NaN and for equal
    infinities, whose difference is NaN)."""
    return 1.0 - step(other - x) - 0.5 * eq_mask(x, other)


_NO_GRAD = "a 0/1 mask: its derivative is 0 almost everywhere, so no gradient flows"

ADD = register(Op(
    name="add", label="+", elementwise=True, shape=S.elementwise,
    simplify=(RW.add_zero, RW.add_neg),
    forward=lambda xp, a, b: xp.add(a, b),
    deriv=lambda out, a, b: (1, 1),
    sympy=lambda sp, a, b: a + b,
    numpy="({0} + {1})", inplace=ufunc("add", 2), numexpr="({0} + {1})", cuda="({0} + {1})",
    onnx=_onnx("Add"), doc="a + b with NumPy broadcasting"))
SUB = register(Op(
    name="sub", label="-", elementwise=True, shape=S.elementwise,
    simplify=(RW.sub_zero, RW.sub_self, RW.zero_sub, RW.sub_neg),
    forward=lambda xp, a, b: xp.subtract(a, b),
    deriv=lambda out, a, b: (1, -1),
    sympy=lambda sp, a, b: a - b,
    numpy="({0} - {1})", inplace=ufunc("subtract", 2), numexpr="({0} - {1})",
    cuda="({0} - {1})", onnx=_onnx("Sub"), doc="a - b"))
MUL = register(Op(
    name="mul", label="*", elementwise=True, shape=S.elementwise,
    simplify=(RW.mul_one, RW.mul_minus_one),
    forward=lambda xp, a, b: xp.multiply(a, b),
    deriv=lambda out, a, b: (b, a),
    sympy=lambda sp, a, b: a * b,
    numpy="({0} * {1})", inplace=ufunc("multiply", 2), numexpr="({0} * {1})",
    cuda="({0} * {1})", onnx=_onnx("Mul"), doc="a * b (elementwise)"))
DIV = register(Op(
    name="div", label="/", elementwise=True, shape=S.elementwise,
    simplify=(RW.div_one,),
    forward=lambda xp, a, b: xp.divide(a, b),
    deriv=lambda out, a, b: (lambda: 1.0 / b, lambda: -out / b),
    vjp=lambda g, out, a, b: (lambda: g / b, lambda: -g * out / b),  # g / b: one rounding
    sympy=lambda sp, a, b: a / b,
    numpy="({0} / {1})", inplace=ufunc("divide", 2), numexpr="({0} / {1})",
    cuda="({0} / {1})", doc="a / b",
    onnx=Onnx(export=_cast_inputs_export("Div"), imports={"Div": _import_div})))
NEG = register(Op(
    name="neg", label="-", elementwise=True, shape=S.same,
    simplify=(RW.neg_neg, RW.neg_sub),
    forward=lambda xp, a: xp.negative(a),
    deriv=lambda out, a: (-1,),
    sympy=lambda sp, a: -a,
    numpy="(-{0})", inplace=ufunc("negative", 1), numexpr="(-{0})", cuda="(-{0})",
    onnx=_onnx("Neg"), doc="-a"))
POW = register(Op(
    name="pow", label="**", elementwise=True, shape=S.elementwise,
    simplify=(RW.pow_small,),
    forward=lambda xp, a, b: xp.power(a, b),
    deriv=lambda out, a, b: (lambda: b * a ** (b - 1), lambda: out * log(a)),
    vjp=lambda g, out, a, b: tuple(lambda d=d: g * d() for d in _pow_partials(out, a, b)),
    jvp=lambda t, out, a, b: tsum(*[None if ti is None else ti * d()
                                    for ti, d in zip(t, _pow_partials(out, a, b))]),
    sympy=lambda sp, a, b: a ** b,
    numpy="({0} ** {1})", inplace=ufunc("power", 2), numexpr="({0} ** {1})",
    cuda="pow({0}, {1})",
    onnx=Onnx(export=_cast_inputs_export("Pow"), imports={"Pow": _import_pow}),
    doc="a ** b; as in PyTorch d/da is 0 where b == 0 and d/db is 0 where a == 0 and "
        "b >= 0 (elsewhere d/db = a ** b log a, NaN for a < 0)"))
EXP = register(Op(
    name="exp", label="exp", elementwise=True, shape=S.same, value_range=(0.0, math.inf),
    simplify=(RW.exp_log,),
    forward=lambda xp, a: xp.exp(a),
    deriv=lambda out, a: (out,),
    sympy=lambda sp, a: sp.exp(a),
    numpy="xp.exp({0})", inplace=ufunc("exp", 1), numexpr="exp({0})", cuda="exp({0})",
    onnx=_onnx("Exp"), doc="e ** a"))
LOG = register(Op(
    name="log", label="log", elementwise=True, shape=S.same,
    simplify=(RW.log_exp,),
    forward=lambda xp, a: xp.log(a),
    deriv=lambda out, a: (1.0 / a,),
    vjp=lambda g, out, a: (g / a,),
    sympy=lambda sp, a: sp.log(a),
    numpy="xp.log({0})", inplace=ufunc("log", 1), numexpr="log({0})", cuda="log({0})",
    onnx=_onnx("Log"), doc="natural logarithm"))
SQRT = register(Op(
    name="sqrt", label="sqrt", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.sqrt(a),
    deriv=lambda out, a: (0.5 / out,),
    vjp=lambda g, out, a: (g / (2.0 * out),),
    sympy=lambda sp, a: sp.sqrt(a),
    numpy="xp.sqrt({0})", inplace=ufunc("sqrt", 1), numexpr="sqrt({0})", cuda="sqrt({0})",
    onnx=_onnx("Sqrt"), doc="square root"))
ABS = register(Op(
    name="abs", label="|x|", elementwise=True, shape=S.same, value_range=(0.0, math.inf),
    forward=lambda xp, a: xp.abs(a),
    deriv=lambda out, a: (sign(a),),
    sympy=lambda sp, a: sp.Abs(a),
    numpy="xp.abs({0})", inplace=ufunc("absolute", 1), numexpr="abs({0})", cuda="fabs({0})",
    onnx=_onnx("Abs"), doc="|a| (derivative sign(a), 0 at 0)"))
MAXIMUM = register(Op(
    name="maximum", label="max", elementwise=True, shape=S.elementwise,
    forward=lambda xp, a, b: xp.maximum(a, b),
    deriv=lambda out, a, b: (lambda: _wins(b, a), lambda: _wins(a, b)),
    sympy=lambda sp, a, b: sp.Max(a, b),
    numpy="xp.maximum({0}, {1})", inplace=ufunc("maximum", 2),
    numexpr="where({0} >= {1}, {0}, {1})", cuda="({0} >= {1} ? {0} : {1})",
    onnx=Onnx(op_type="Max", imports={"Max": None}),
    doc="elementwise maximum; at ties a and b get half the gradient each (as in "
        "PyTorch)"))
MINIMUM = register(Op(
    name="minimum", label="min", elementwise=True, shape=S.elementwise,
    forward=lambda xp, a, b: xp.minimum(a, b),
    deriv=lambda out, a, b: (lambda: _wins(a, b), lambda: _wins(b, a)),
    sympy=lambda sp, a, b: sp.Min(a, b),
    numpy="xp.minimum({0}, {1})", inplace=ufunc("minimum", 2),
    numexpr="where({0} <= {1}, {0}, {1})", cuda="({0} <= {1} ? {0} : {1})",
    onnx=Onnx(op_type="Min", imports={"Min": None}),
    doc="elementwise minimum; at ties a and b get half the gradient each (as in "
        "PyTorch)"))

# Non-differentiable masks used by other rules (their own gradient is zero a.e.).
SIGN = register(Op(
    name="sign", label="sign", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.sign(a),
    deriv=lambda out, a: (None,), nondiff=(0,),
    sympy=lambda sp, a: sp.sign(a),
    numpy="xp.sign({0})", inplace=ufunc("sign", 1), numexpr=Unsupported(
        "numexpr has no sign function"), cuda="(({0} > 0) - ({0} < 0))",
    onnx=_onnx("Sign"), doc="-1, 0 or 1 (no gradient)"))
STEP = register(Op(
    name="step", label="step", elementwise=True, shape=S.same, dtype=_mask_dtype,
    forward=lambda xp, a: _mask(xp, a > 0, a),
    deriv=lambda out, a: (None,), nondiff=(0,),
    sympy=lambda sp, a: sp.Heaviside(a, 0),
    numpy="({0} > 0).astype({out_dtype})", inplace=("xp.greater({0}, 0, out={out})",),
    numexpr=Unsupported("numexpr cannot cast a comparison to float"),
    cuda="({0} > 0 ? 1 : 0)",
    onnx=Onnx(export=lambda ex, n: ex.mask("Greater", n), imports=Unsupported(
        "ONNX Greater(a, b) imports as the composite step(a - b)")),
    doc="1 where a > 0 else 0 (the derivative of relu; no gradient)"))
GE = register(Op(
    name="ge_mask", label=">=", elementwise=True, shape=S.elementwise, dtype=_mask_dtype,
    forward=lambda xp, a, b: _mask(xp, a >= b, a, b),
    deriv=lambda out, a, b: (None, None), nondiff=(0, 1),
    sympy=lambda sp, a, b: sp.Heaviside(a - b, 1),
    numpy="({0} >= {1}).astype({out_dtype})", inplace=ufunc("greater_equal", 2),
    numexpr=Unsupported("numexpr cannot cast a comparison to float"),
    cuda="({0} >= {1} ? 1 : 0)",
    onnx=Onnx(export=lambda ex, n: ex.mask("GreaterOrEqual", n),
              imports=Unsupported("ONNX GreaterOrEqual imports as the boolean ge (a Cast "
                                  "to float follows it in exported graphs)")),
    doc="1 where a >= b else 0 (no gradient)"))
EQ = register(Op(
    name="eq_mask", label="==", elementwise=True, shape=S.elementwise, dtype=_mask_dtype,
    forward=lambda xp, a, b: _mask(xp, a == b, a, b),
    deriv=lambda out, a, b: (None, None), nondiff=(0, 1),
    sympy=lambda sp, a, b: sp.Piecewise((1, sp.Eq(a, b)), (0, True)),
    numpy="({0} == {1}).astype({out_dtype})", inplace=ufunc("equal", 2),
    numexpr=Unsupported("numexpr cannot cast a comparison to float"),
    cuda="({0} == {1} ? 1 : 0)",
    onnx=Onnx(export=lambda ex, n: ex.mask("Equal", n), imports=Unsupported(
        "ONNX Equal imports as the boolean eq (a Cast to float follows it in exported "
        "graphs)")),
    doc="1 where a == b else 0 (no gradient)"))


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
    """``a ** b``. As in PyTorch, d/da is 0 where ``b == 0`` and d/db is 0 where ``a == 0``
    and ``b >= 0``; elsewhere d/db is ``a ** b * log(a)`` (NaN for ``a < 0``)."""
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
    """Elementwise maximum; at ties ``a`` and ``b`` get half the gradient each (PyTorch's
    rule; where either is NaN both get all of it)."""
    return bind(MAXIMUM, a, b, name=name)


def minimum(a: Any, b: Any, *, name: str | None = None) -> Any:
    """Elementwise minimum; at ties ``a`` and ``b`` get half the gradient each (PyTorch's
    rule; where either is NaN both get all of it)."""
    return bind(MINIMUM, a, b, name=name)


def sign(a: Any, *, name: str | None = None) -> Any:
    """-1, 0 or 1 (no gradient)."""
    return bind(SIGN, a, name=name)


def step(a: Any, *, name: str | None = None) -> Any:
    """1 where ``a > 0`` else 0 (the derivative of relu; no gradient)."""
    return bind(STEP, a, name=name)


def ge_mask(a: Any, b: Any, *, name: str | None = None) -> Any:
    """1 where ``a >= b`` else 0, in the operands' float dtype (no gradient; the boolean
    comparison is :func:`graphnn.ge`)."""
    return bind(GE, a, b, name=name)


def eq_mask(a: Any, b: Any, *, name: str | None = None) -> Any:
    """1 where ``a == b`` else 0, in the operands' float dtype (no gradient; the boolean
    comparison is :func:`graphnn.eq`)."""
    return bind(EQ, a, b, name=name)
