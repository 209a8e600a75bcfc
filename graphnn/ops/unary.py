"""Unary math ops with NumPy / PyTorch names: sin cos tan asin acos atan sinh cosh log1p
expm1 log2 log10 exp2 rsqrt reciprocal square erf, and the rounding ops floor ceil round
trunc (zero gradient, as in PyTorch; round is half-to-even like torch.round).

Each op is one ``Op`` record; its ``deriv`` gives the vjp, the jvp and the trace text.

>>> import numpy as np
>>> float(sin(0.0)), float(log1p(0.0)), float(round(2.5)), float(trunc(-1.7))
(0.0, 0.0, 2.0, -1.0)
>>> abs(float(erf(1.0)) - 0.8427007929497149) < 1e-15
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, Unsupported, register
from graphnn.ops.elementwise import exp, ufunc

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_NE_OLD = "numexpr {} (graphnn supports numexpr >= 2.8) has no {}"

def _erf(xp: Any, a: Any) -> Any:
    """erf, vectorised (NumPy has no erf ufunc) with W. J. Cody's rational Chebyshev
    approximations (Math. Comp. 23, 1969; his CALERF routine; about 1e-16 relative error)
    on |a| <= 0.5, <= 4 and > 4, each evaluated on inputs clipped into its range (no
    overflow warnings). NaN stays NaN, erf(+-inf) = +-1, erf(-0.0) = -0.0. Self-contained:
    generated modules copy its source."""
    ca = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
    cb = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
    cc = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
    cd = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
    cp = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
    cq = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)

    def ratio(num: tuple[float, ...], den: tuple[float, ...], t: Any) -> Any:
        xn, xd = num[-1] * t, t
        for k in range(len(den) - 1):
            xn, xd = (xn + num[k]) * t, (xd + den[k]) * t
        return (xn + num[-2]) / (xd + den[-1])

    a = xp.asarray(a)
    dt = a.dtype if a.dtype.kind == "f" else xp.dtype("float64")
    z = a.astype("float64")
    y = xp.abs(z)
    zs = xp.clip(z, -0.5, 0.5)
    small = zs * ratio(ca, cb, zs * zs)
    ym = xp.clip(y, 0.5, 4.0)
    mid = xp.exp(-ym * ym) * ratio(cc, cd, ym)
    yl = xp.clip(y, 4.0, 30.0)  # erfc(30) underflows to 0: no overflow in yl * yl
    inv = 1.0 / (yl * yl)
    large = xp.exp(-yl * yl) * (5.6418958354775628695e-1 - inv * ratio(cp, cq, inv)) / yl
    erfc = xp.where(y <= 4.0, mid, large)
    return xp.where(y <= 0.5, small, xp.copysign(1.0 - erfc, z)).astype(dt)


def _export(*steps: tuple[str, Any]) -> Callable[[Any, Any], None]:
    """An ONNX exporter chaining single-input ops: ``("Log", None)`` applies Log;
    ``("Add", 1.0)`` combines with a constant (in the input's dtype) as second input,
    ``("Pow", ("lhs", 2.0))`` as first input."""
    def export(ex: Any, n: Any) -> None:
        cur, dt = n.inputs[0].name, n.inputs[0].dtype
        for k, (op_type, c) in enumerate(steps):
            out = n.name if k == len(steps) - 1 else ex.name(f"{n.name}_{op_type.lower()}")
            if c is None:
                ex.emit(op_type, [cur], out)
            else:
                lhs = isinstance(c, tuple)
                const = ex.const(f"{n.name}_c", np.asarray(c[1] if lhs else c, dtype=dt))
                ex.emit(op_type, [const, cur] if lhs else [cur, const], out)
            cur = out
    return export


def _composite(onnx_form: str, *steps: tuple[str, Any]) -> Onnx:
    return Onnx(export=_export(*steps), imports=Unsupported(
        f"ONNX has no single op for it; it exports as {onnx_form}, which imports as that "
        "composite"))


def _onnx(op_type: str) -> Onnx:
    return Onnx(op_type=op_type, imports={op_type: None})


def _round_half_even(sp: Any, a: Any) -> Any:
    """Round half to even in sympy: floor(a + 1/2), less 1 where a + 1/2 is an odd integer."""
    f = sp.floor(a + sp.Rational(1, 2))
    tie_odd = sp.And(sp.Eq(a + sp.Rational(1, 2), f), sp.Eq(sp.Mod(f, 2), 1))
    return sp.Piecewise((f - 1, tie_odd), (f, True))


_ZERO_GRAD = "rounding: piecewise constant, so its gradient is 0 (as in PyTorch)"


def _rounding(name: str, ufunc_name: str, sym: Callable[..., Any], numexpr: Any, cuda: str,
              onnx: Any, doc: str) -> Op:
    """A rounding op: no gradient (``nondiff``, like ``sign``), value kept in the float dtype."""
    return register(Op(
        name=name, label=name, elementwise=True, shape=S.same,
        forward=lambda xp, a: getattr(xp, ufunc_name)(a),
        deriv=lambda out, a: (None,), nondiff=(0,), sympy=sym,
        numpy=f"xp.{ufunc_name}({{0}})", inplace=ufunc(ufunc_name, 1), numexpr=numexpr,
        cuda=cuda, onnx=onnx, doc=f"{doc}; {_ZERO_GRAD}"))


SIN = register(Op(
    name="sin", label="sin", elementwise=True, shape=S.same, value_range=(-1.0, 1.0),
    forward=lambda xp, a: xp.sin(a), deriv=lambda out, a: (cos(a),),
    sympy=lambda sp, a: sp.sin(a), numpy="xp.sin({0})", inplace=ufunc("sin", 1),
    numexpr="sin({0})", cuda="sin({0})", onnx=_onnx("Sin"), doc="sine; derivative cos a"))
COS = register(Op(
    name="cos", label="cos", elementwise=True, shape=S.same, value_range=(-1.0, 1.0),
    forward=lambda xp, a: xp.cos(a), deriv=lambda out, a: (-sin(a),),
    sympy=lambda sp, a: sp.cos(a), numpy="xp.cos({0})", inplace=ufunc("cos", 1),
    numexpr="cos({0})", cuda="cos({0})", onnx=_onnx("Cos"), doc="cosine; derivative -sin a"))
TAN = register(Op(
    name="tan", label="tan", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.tan(a), deriv=lambda out, a: (1.0 + out * out,),
    sympy=lambda sp, a: sp.tan(a), numpy="xp.tan({0})", inplace=ufunc("tan", 1),
    numexpr="tan({0})", cuda="tan({0})", onnx=_onnx("Tan"), doc="tangent; derivative 1 + tan²"))
ASIN = register(Op(
    name="asin", label="asin", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.arcsin(a), deriv=lambda out, a: (rsqrt(1.0 - a * a),),
    sympy=lambda sp, a: sp.asin(a), numpy="xp.arcsin({0})", inplace=ufunc("arcsin", 1),
    numexpr="arcsin({0})", cuda="asin({0})", onnx=_onnx("Asin"),
    doc="arcsine (NaN outside [-1, 1]); derivative 1 / sqrt(1 - a²)"))
ACOS = register(Op(
    name="acos", label="acos", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.arccos(a), deriv=lambda out, a: (-rsqrt(1.0 - a * a),),
    sympy=lambda sp, a: sp.acos(a), numpy="xp.arccos({0})", inplace=ufunc("arccos", 1),
    numexpr="arccos({0})", cuda="acos({0})", onnx=_onnx("Acos"),
    doc="arccosine (NaN outside [-1, 1]); derivative -1 / sqrt(1 - a²)"))
ATAN = register(Op(
    name="atan", label="atan", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.arctan(a), deriv=lambda out, a: (1.0 / (1.0 + a * a),),
    sympy=lambda sp, a: sp.atan(a), numpy="xp.arctan({0})", inplace=ufunc("arctan", 1),
    numexpr="arctan({0})", cuda="atan({0})", onnx=_onnx("Atan"),
    doc="arctangent; derivative 1 / (1 + a²)"))
SINH = register(Op(
    name="sinh", label="sinh", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.sinh(a), deriv=lambda out, a: (cosh(a),),
    sympy=lambda sp, a: sp.sinh(a), numpy="xp.sinh({0})", inplace=ufunc("sinh", 1),
    numexpr="sinh({0})", cuda="sinh({0})", onnx=_onnx("Sinh"),
    doc="hyperbolic sine; derivative cosh a"))
COSH = register(Op(
    name="cosh", label="cosh", elementwise=True, shape=S.same, value_range=(1.0, math.inf),
    forward=lambda xp, a: xp.cosh(a), deriv=lambda out, a: (sinh(a),),
    sympy=lambda sp, a: sp.cosh(a), numpy="xp.cosh({0})", inplace=ufunc("cosh", 1),
    numexpr="cosh({0})", cuda="cosh({0})", onnx=_onnx("Cosh"),
    doc="hyperbolic cosine; derivative sinh a"))
LOG1P = register(Op(
    name="log1p", label="log1p", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.log1p(a), deriv=lambda out, a: (1.0 / (1.0 + a),),
    sympy=lambda sp, a: sp.log(1 + a), numpy="xp.log1p({0})", inplace=ufunc("log1p", 1),
    numexpr="log1p({0})", cuda="log1p({0})",
    onnx=_composite("Log(Add(a, 1))", ("Add", 1.0), ("Log", None)),
    doc="log(1 + a), accurate for small a; derivative 1 / (1 + a)"))
EXPM1 = register(Op(
    name="expm1", label="expm1", elementwise=True, shape=S.same, value_range=(-1.0, math.inf),
    forward=lambda xp, a: xp.expm1(a), deriv=lambda out, a: (out + 1.0,),
    sympy=lambda sp, a: sp.exp(a) - 1, numpy="xp.expm1({0})", inplace=ufunc("expm1", 1),
    numexpr="expm1({0})", cuda="expm1({0})",
    onnx=_composite("Sub(Exp(a), 1)", ("Exp", None), ("Sub", 1.0)),
    doc="e ** a - 1, accurate for small a; derivative e ** a"))
LOG2 = register(Op(
    name="log2", label="log2", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.log2(a), deriv=lambda out, a: (1.0 / (a * _LN2),),
    sympy=lambda sp, a: sp.log(a) / sp.log(2), numpy="xp.log2({0})", inplace=ufunc("log2", 1),
    numexpr="(log({0}) * 1.4426950408889634)", cuda="log2({0})",
    onnx=_composite("Div(Log(a), ln 2)", ("Log", None), ("Div", _LN2)),
    doc="base-2 logarithm; derivative 1 / (a ln 2)"))
LOG10 = register(Op(
    name="log10", label="log10", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.log10(a), deriv=lambda out, a: (1.0 / (a * _LN10),),
    sympy=lambda sp, a: sp.log(a) / sp.log(10), numpy="xp.log10({0})",
    inplace=ufunc("log10", 1), numexpr="log10({0})", cuda="log10({0})",
    onnx=_composite("Div(Log(a), ln 10)", ("Log", None), ("Div", _LN10)),
    doc="base-10 logarithm; derivative 1 / (a ln 10)"))
EXP2 = register(Op(
    name="exp2", label="exp2", elementwise=True, shape=S.same, value_range=(0.0, math.inf),
    forward=lambda xp, a: xp.exp2(a), deriv=lambda out, a: (out * _LN2,),
    sympy=lambda sp, a: 2 ** a, numpy="xp.exp2({0})", inplace=ufunc("exp2", 1),
    numexpr="(2.0 ** {0})", cuda="exp2({0})",
    onnx=_composite("Pow(2, a)", ("Pow", ("lhs", 2.0))), doc="2 ** a; derivative 2 ** a ln 2"))
RSQRT = register(Op(
    name="rsqrt", label="rsqrt", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.divide(1.0, xp.sqrt(a)),
    deriv=lambda out, a: (-0.5 * out * out * out,),
    sympy=lambda sp, a: 1 / sp.sqrt(a), numpy="(1.0 / xp.sqrt({0}))",
    inplace=("xp.sqrt({0}, out={out})", "xp.divide(1.0, {out}, out={out})"),
    numexpr="(1.0 / sqrt({0}))", cuda="rsqrt({0})",
    onnx=_composite("Reciprocal(Sqrt(a))", ("Sqrt", None), ("Reciprocal", None)),
    doc="1 / sqrt(a); derivative -rsqrt(a)³ / 2"))
RECIPROCAL = register(Op(
    name="reciprocal", label="1/x", elementwise=True, shape=S.same,
    forward=lambda xp, a: xp.divide(1.0, a), deriv=lambda out, a: (-out * out,),
    sympy=lambda sp, a: 1 / a, numpy="(1.0 / {0})",
    inplace=("xp.divide(1.0, {0}, out={out})",), numexpr="(1.0 / {0})", cuda="(1.0 / {0})",
    onnx=_onnx("Reciprocal"), doc="1 / a; derivative -1 / a²"))
SQUARE = register(Op(
    name="square", label="x²", elementwise=True, shape=S.same, value_range=(0.0, math.inf),
    forward=lambda xp, a: xp.multiply(a, a), deriv=lambda out, a: (2.0 * a,),
    sympy=lambda sp, a: a ** 2, numpy="({0} * {0})", inplace=ufunc("square", 1),
    numexpr="({0} * {0})", cuda="({0} * {0})",
    onnx=Onnx(export=lambda ex, n: ex.emit("Mul", [n.inputs[0].name] * 2, n.name),
              imports=Unsupported("ONNX has no Square op; it exports as Mul(a, a), which "
                                  "imports as that product")),
    doc="a * a; derivative 2a"))
ERF = register(Op(
    name="erf", label="erf", elementwise=True, shape=S.same, value_range=(-1.0, 1.0),
    forward=_erf, helpers=(_erf,),
    deriv=lambda out, a: ((2.0 / math.sqrt(math.pi)) * exp(-(a * a)),),
    sympy=lambda sp, a: sp.erf(a), numpy="_erf(xp, {0})",
    inplace=Unsupported("NumPy has no erf ufunc to write into out= (graphnn's erf is a "
                        "vectorised rational approximation)"),
    numexpr=Unsupported("numexpr has no erf function"), cuda="erf({0})",
    onnx=_onnx("Erf"), doc="the error function; derivative 2 / sqrt(pi) e ** -a²"))
FLOOR = _rounding("floor", "floor", lambda sp, a: sp.floor(a), "floor({0})", "floor({0})",
                  _onnx("Floor"), "largest integer <= a")
CEIL = _rounding("ceil", "ceil", lambda sp, a: sp.ceiling(a), "ceil({0})", "ceil({0})",
                 _onnx("Ceil"), "smallest integer >= a")
ROUND = _rounding("round", "rint", _round_half_even,
                  Unsupported(_NE_OLD.format("< 2.13", "round")), "rint({0})",
                  _onnx("Round"), "nearest integer, halves to even (as torch.round)")
TRUNC = _rounding("trunc", "trunc",
                  lambda sp, a: sp.Piecewise((sp.floor(a), a >= 0), (sp.ceiling(a), True)),
                  "where({0} < 0, ceil({0}), floor({0}))", "trunc({0})",
                  Onnx(export=lambda ex, n: _trunc_export(ex, n), imports=Unsupported(
                      "ONNX has no Trunc op; it exports as Mul(Sign(a), Floor(Abs(a))), "
                      "which imports as that composite")),
                  "integer part, towards 0")


def _trunc_export(ex: Any, n: Any) -> None:
    x = n.inputs[0].name
    s = ex.emit("Sign", [x], ex.name(f"{n.name}_sign"))
    f = ex.emit("Floor", [ex.emit("Abs", [x], ex.name(f"{n.name}_abs"))],
                ex.name(f"{n.name}_floor"))
    ex.emit("Mul", [s, f], n.name)


def sin(a: Any, *, name: str | None = None) -> Any:
    """Sine."""
    return bind(SIN, a, name=name)


def cos(a: Any, *, name: str | None = None) -> Any:
    """Cosine."""
    return bind(COS, a, name=name)


def tan(a: Any, *, name: str | None = None) -> Any:
    """Tangent."""
    return bind(TAN, a, name=name)


def asin(a: Any, *, name: str | None = None) -> Any:
    """Arcsine (NaN outside [-1, 1])."""
    return bind(ASIN, a, name=name)


def acos(a: Any, *, name: str | None = None) -> Any:
    """Arccosine (NaN outside [-1, 1])."""
    return bind(ACOS, a, name=name)


def atan(a: Any, *, name: str | None = None) -> Any:
    """Arctangent."""
    return bind(ATAN, a, name=name)


def sinh(a: Any, *, name: str | None = None) -> Any:
    """Hyperbolic sine."""
    return bind(SINH, a, name=name)


def cosh(a: Any, *, name: str | None = None) -> Any:
    """Hyperbolic cosine."""
    return bind(COSH, a, name=name)


def log1p(a: Any, *, name: str | None = None) -> Any:
    """log(1 + a), accurate for small ``a``."""
    return bind(LOG1P, a, name=name)


def expm1(a: Any, *, name: str | None = None) -> Any:
    """e ** a - 1, accurate for small ``a``."""
    return bind(EXPM1, a, name=name)


def log2(a: Any, *, name: str | None = None) -> Any:
    """Base-2 logarithm."""
    return bind(LOG2, a, name=name)


def log10(a: Any, *, name: str | None = None) -> Any:
    """Base-10 logarithm."""
    return bind(LOG10, a, name=name)


def exp2(a: Any, *, name: str | None = None) -> Any:
    """2 ** a."""
    return bind(EXP2, a, name=name)


def rsqrt(a: Any, *, name: str | None = None) -> Any:
    """1 / sqrt(a)."""
    return bind(RSQRT, a, name=name)


def reciprocal(a: Any, *, name: str | None = None) -> Any:
    """1 / a."""
    return bind(RECIPROCAL, a, name=name)


def square(a: Any, *, name: str | None = None) -> Any:
    """a * a."""
    return bind(SQUARE, a, name=name)


def erf(a: Any, *, name: str | None = None) -> Any:
    """The error function 2 / sqrt(pi) * integral of e ** -t² from 0 to a."""
    return bind(ERF, a, name=name)


def floor(a: Any, *, name: str | None = None) -> Any:
    """Largest integer <= a (zero gradient, as in PyTorch)."""
    return bind(FLOOR, a, name=name)


def ceil(a: Any, *, name: str | None = None) -> Any:
    """Smallest integer >= a (zero gradient)."""
    return bind(CEIL, a, name=name)


def round(a: Any, *, name: str | None = None) -> Any:  # noqa: A001
    """Nearest integer, halves to even like torch.round and np.round (zero gradient)."""
    return bind(ROUND, a, name=name)


def trunc(a: Any, *, name: str | None = None) -> Any:
    """Integer part, rounding towards 0 (zero gradient)."""
    return bind(TRUNC, a, name=name)


__all__ = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "log1p", "expm1",
           "log2", "log10", "exp2", "rsqrt", "reciprocal", "square", "erf", "floor", "ceil",
           "round", "trunc"]
