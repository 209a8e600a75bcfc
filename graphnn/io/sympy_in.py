"""sympy expressions -> graphs (:func:`from_sympy`); strings go to the one safe parser,
:func:`graphnn.io.expr.parse`. Every failure is a :class:`~graphnn.GraphError`: unsupported
functions and non-real numbers a GraphError, anything that goes wrong inside sympy or
Python arithmetic (deep nesting, overflow) a :class:`~graphnn.ParseError` naming the
subexpression.

>>> import sympy as sp, graphnn as gn
>>> gn.from_sympy(sp.I)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
graphnn.core.errors.GraphError: from_sympy: no graphnn op for ImaginaryUnit ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphnn import ops
from graphnn.core.errors import GraphError, ParseError
from graphnn.core.ir import Graph
from graphnn.io.expr import _finish, _fold, name_node, parse
from graphnn.ops.elementwise import eq_mask, ge_mask

MAX_DEPTH = 250


def _cond(sp: Any, c: Any, b: Callable[[Any], Any]) -> Any:
    lhs, rhs = (b(a) for a in c.args) if c.args else (None, None)
    table: dict[Any, Callable[[], Any]] = {
        sp.StrictGreaterThan: lambda: ops.step(lhs - rhs),
        sp.GreaterThan: lambda: ge_mask(lhs, rhs),
        sp.StrictLessThan: lambda: ops.step(rhs - lhs),
        sp.LessThan: lambda: ge_mask(rhs, lhs),
        sp.Equality: lambda: eq_mask(lhs, rhs),
    }
    f = table.get(type(c))
    if f is None:
        raise GraphError(f"from_sympy: unsupported condition {c}")
    return f()


def _match_op(sp: Any, e: Any, b: Callable[[Any], Any]) -> Any:
    """The registered elementwise op whose formula matches ``e`` (with numeric static
    params), applied to the matched arguments; None when no formula matches."""
    import inspect

    from graphnn.core.bind import bind
    from graphnn.core.op import REGISTRY

    cands = []
    for op in REGISTRY.values():
        if not op.elementwise or not callable(op.sympy):
            continue
        ps = list(inspect.signature(op.sympy).parameters.values())[1:]
        args = [p.name for p in ps if p.default is inspect.Parameter.empty]
        kws = [p.name for p in ps if isinstance(p.default, (int, float))]
        cands.append((len(args), op.name, op, args, kws))
    for _, _, op, args, kws in sorted(cands, key=lambda c: c[:2]):
        wa = [sp.Wild(f"A{k}_") for k in range(len(args))]
        for wk in ({k: sp.Wild(f"P_{k}") for k in kws}, {}):  # free params, then defaults
            try:
                pat = op.sympy(sp, *wa, **wk)
            except Exception:  # noqa: BLE001 - a formula that needs numeric params
                continue
            if getattr(pat, "func", None) is not e.func:
                continue
            m = e.match(pat)
            if not m or any(w not in m for w in wa) or any(
                    w not in m or not m[w].is_number for w in wk.values()):
                continue
            params = {k: float(m[w]) for k, w in wk.items()}
            return bind(op, *[b(m[w]) for w in wa], **params)
    return None


def _piecewise(sp: Any, e: Any, b: Callable[[Any], Any]) -> Any:
    hit = _match_op(sp, e, b)
    if hit is not None:
        return hit

    def branch(pairs: tuple[Any, ...]) -> Any:
        (val, cond), rest = pairs[0], pairs[1:]
        if cond is sp.true or not rest:
            return b(val)
        m = _cond(sp, cond, b)
        return b(val) * m + branch(rest) * (1.0 - m)

    return branch(tuple(e.args))


def _heaviside(sp: Any, e: Any, b: Callable[[Any], Any]) -> Any:
    x = b(e.args[0])
    h0 = float(e.args[1]) if len(e.args) > 1 else 0.5
    if h0 == 0.0:
        return ops.step(x)
    if h0 == 1.0:
        return ge_mask(x, 0.0)
    return ops.step(x) + h0 * eq_mask(x, 0.0)


def _add(sp: Any, e: Any, b: Callable[[Any], Any]) -> Any:
    pos, neg = [], []
    for t in e.args:
        c, rest = t.as_coeff_Mul()
        (neg if c < 0 else pos).append(-c * rest if c < 0 else t)
    out = b(pos[0]) if pos else -b(neg.pop(0))
    for t in pos[1:]:
        out = out + b(t)
    for t in neg:
        out = out - b(t)
    return out


def _mul(sp: Any, e: Any, b: Callable[[Any], Any]) -> Any:
    num, den = [], []
    for f in e.args:
        base, ex = f.as_base_exp()
        if ex.is_number and ex < 0:
            den.append(base if ex == -1 else base ** (-ex))
        else:
            num.append(f)
    sign = 1.0
    if num and num[0] == -1:
        sign, num = -1.0, num[1:]
    out = b(num[0]) if num else 1.0
    for f in num[1:]:
        out = out * b(f)
    for f in den:
        out = out / b(f)
    return -out if sign < 0 else out


def _pow(sp: Any, e: Any, b: Callable[[Any], Any]) -> Any:
    base, ex = e.args
    if ex == sp.Rational(1, 2):
        return ops.sqrt(b(base))
    if ex == -1:
        return 1.0 / b(base)
    if base == sp.E:
        return ops.exp(b(ex))
    return b(base) ** b(ex)


def _sympy_table(sp: Any) -> dict[Any, Callable[[Any, Any, Callable[[Any], Any]], Any]]:
    def unary(f: Callable[[Any], Any]) -> Callable[..., Any]:
        return lambda sp_, e, b: f(b(e.args[0]))

    return {
        sp.Add: _add, sp.Mul: _mul, sp.Pow: _pow,
        sp.exp: unary(ops.exp), sp.log: unary(ops.log), sp.tanh: unary(ops.tanh),
        sp.Abs: unary(ops.abs), sp.sign: unary(ops.sign),
        sp.Max: lambda sp_, e, b: _fold(ops.maximum)(*[b(a) for a in e.args]),
        sp.Min: lambda sp_, e, b: _fold(ops.minimum)(*[b(a) for a in e.args]),
        sp.Heaviside: _heaviside, sp.Piecewise: _piecewise,
    }


def from_sympy(expr: Any, graph: Graph | None = None, name: str | None = None) -> Graph:
    """Build a graph from a sympy expression or a formula string (parsed safely).

    Free symbols become scalar inputs (or refer to existing nodes of ``graph``);
    the result is marked as the graph's output (named ``name`` when given).

    >>> import sympy as sp, graphnn as gn
    >>> x, y = sp.symbols("x y")
    >>> g = gn.from_sympy(sp.exp(x) / (1 + y**2), name="f")
    >>> round(float(gn.run(g, {"x": 0.0, "y": 1.0}).value("f")), 6)
    0.5
    """
    if isinstance(expr, str):
        return parse(expr, graph, name)
    import sympy as sp

    if not isinstance(expr, sp.Basic):
        if isinstance(expr, (int, float)) and not isinstance(expr, bool):
            expr = sp.Float(expr)
        else:  # never sympify arbitrary objects (sympify evaluates strings)
            raise GraphError(f"from_sympy: expected a sympy expression or a string, got "
                             f"{type(expr).__name__}")
    g = graph if graph is not None else Graph("expr")
    conv = _Converter(sp, g)
    try:
        out = conv.b(expr)
    except GraphError:
        raise
    except (RecursionError, MemoryError, ArithmeticError, TypeError, ValueError,
            AttributeError, IndexError) as e:
        where = _short(conv.stack[-1] if conv.stack else expr)
        raise ParseError(f"from_sympy: cannot convert {where!r} (at depth {len(conv.stack)}): "
                         f"{type(e).__name__}: {str(e)[:120]}") from None
    return _finish(g, out, name)


def _short(e: Any) -> str:
    """At most 80 characters of ``str(e)``; deep trees print only their head."""
    try:
        return str(e)[:80]
    except (RecursionError, MemoryError):
        return f"{type(e).__name__}(...)"


class _Converter:
    """Converts sympy expressions node by node, tracking the path for error messages."""

    def __init__(self, sp: Any, graph: Graph) -> None:
        self.sp = sp
        self.g = graph
        self.table = _sympy_table(sp)
        self.stack: list[Any] = []

    def b(self, e: Any) -> Any:
        if len(self.stack) >= MAX_DEPTH:
            raise ParseError(f"from_sympy: expression nested more than {MAX_DEPTH} deep (at "
                             f"{_short(e)!r})")
        self.stack.append(e)
        out = self.one(e)
        self.stack.pop()
        return out

    def one(self, e: Any) -> Any:
        if e.is_Symbol:
            return name_node(self.g, e.name)
        if e.is_Number:
            if not e.is_real:
                raise GraphError(f"from_sympy: non-real number {e}")
            return self.g.constant(float(e))
        f = self.table.get(e.func)
        if f is None:  # a registered op's formula (sp.sin -> sin, sp.erf -> erf, ...)
            hit = _match_op(self.sp, e, self.b)
            if hit is not None:
                return hit
            raise GraphError(f"from_sympy: no graphnn op for {e.func.__name__} (in "
                             f"{_short(e)}); supported: "
                             f"{', '.join(sorted(k.__name__ for k in self.table))}")
        return f(self.sp, e, self.b)
