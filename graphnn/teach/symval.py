"""Sympy values that op rules can run on: an elementwise op's ONE derivative (``deriv=``)
evaluated on them gives the formula the trace and ``gn.formula`` print.

``bind`` hands an op applied to a :class:`SymVal` to :meth:`SymVal.bind`, which applies
the op's sympy formula; operators use sympy arithmetic. So the same ``deriv`` that
builds gradient nodes (on nodes) and numbers (on arrays) builds expressions here.

>>> import sympy as sp, graphnn as gn
>>> x, y = sp.Symbol("x"), sp.Symbol("y")
>>> partials(gn.REGISTRY["tanh"], y, [x])
(1 - y**2,)
>>> partials(gn.REGISTRY["mul"], y, [x, sp.Symbol("w")])
(w, x)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphnn.core.bind import Traced
from graphnn.core.op import Op, force


class SymVal(Traced):
    """A sympy expression that graphnn's op functions and operators accept."""

    __slots__ = ("e",)
    __array_priority__ = 1000

    def __init__(self, e: Any) -> None:
        self.e = e

    def bind(self, op: Op, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        import sympy as sp

        if not (op.elementwise and callable(op.sympy)):
            raise TypeError(f"op {op.name!r} has no elementwise sympy formula")
        return SymVal(op.sympy(sp, *[unwrap(a) for a in args], **params))

    def _bin(self, o: Any, f: Any) -> SymVal:
        return SymVal(f(self.e, unwrap(o)))

    def __add__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: a + b)  # noqa: E704
    def __radd__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: b + a)  # noqa: E704
    def __sub__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: a - b)  # noqa: E704
    def __rsub__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: b - a)  # noqa: E704
    def __mul__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: a * b)  # noqa: E704
    def __rmul__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: b * a)  # noqa: E704
    def __truediv__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: a / b)  # noqa: E704
    def __rtruediv__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: b / a)  # noqa: E704
    def __pow__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: a ** b)  # noqa: E704
    def __rpow__(self, o: Any) -> SymVal: return self._bin(o, lambda a, b: b ** a)  # noqa: E704
    def __neg__(self) -> SymVal: return SymVal(-self.e)  # noqa: E704


def unwrap(v: Any) -> Any:
    import sympy as sp

    v = force(v)
    if isinstance(v, SymVal):
        return v.e
    if isinstance(v, float):  # 1.0 - y**2 reads 1 - y**2; 0.5/y reads 1/(2*y)
        r = sp.Rational(v).limit_denominator(10)
        return r if float(r) == v else sp.Float(v)
    return sp.sympify(v) if v is not None else None


def partials(op: Op, out: Any, inputs: Sequence[Any], **params: Any) -> tuple[Any, ...]:
    """The sympy partial derivatives of elementwise ``op`` (one per input, None where no
    gradient flows), from its ``deriv`` rule; ``out`` stands for the op's output."""
    if op.deriv is None:
        raise ValueError(f"op {op.name!r} has no deriv= rule")
    parts = op.deriv(SymVal(out), *[SymVal(i) for i in inputs], **params)
    return tuple(None if d is None else unwrap(d) for d in parts)
