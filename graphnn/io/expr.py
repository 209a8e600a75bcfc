"""Build graphs from formulas: a SAFE parser for strings such as ``"(x + y) * z"`` and a
converter for sympy expressions. Nothing is ever evaluated: strings are parsed with
Python's ``ast`` and only a whitelist is accepted (numbers, names, ``+ - * / ** @``,
unary minus, and calls to the functions in :data:`FUNCTIONS`); anything else raises
:class:`~graphnn.ParseError` naming the offending token and its column.

>>> import graphnn as gn
>>> g = gn.from_sympy("(x + y) * z", name="f")
>>> float(gn.run(g, {"x": 1, "y": -3, "z": 4}).value("f"))
-8.0
>>> gn.from_sympy("x.__class__")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
graphnn.core.errors.ParseError: cannot parse 'x.__class__': attribute access '.__class__' at ...
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from typing import Any

from graphnn import ops
from graphnn.core import op as op_table
from graphnn.core.errors import GraphError, ParseError
from graphnn.core.ir import Graph, Node


def _fold(f: Callable[..., Any]) -> Callable[..., Any]:
    def g(*args: Any) -> Any:
        out = args[0]
        for a in args[1:]:
            out = f(out, a)
        return out
    return g


# Parser names that are not op names: Python's max/min over several arguments.
_ALIASES: dict[str, tuple[Callable[..., Any], int, int]] = {
    "max": (_fold(ops.maximum), 2, 64), "min": (_fold(ops.minimum), 2, 64),
}
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def functions() -> dict[str, tuple[Callable[..., Any], int, int]]:
    """Name -> (builder, min args, max args): every public op function (the table graphnn.ops
    fills, so a newly registered op is known at once) plus the max/min aliases."""
    out: dict[str, tuple[Callable[..., Any], int, int]] = {}
    for name, f in op_table.FUNCTIONS.items():
        try:
            ps = inspect.signature(f).parameters.values()
        except (TypeError, ValueError):
            continue
        need = sum(1 for p in ps if p.kind in _POSITIONAL and p.default is p.empty)
        if need:
            out[name] = (f, need, need)
    out.update(_ALIASES)
    return out


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b, ast.MatMult: lambda a, b: a @ b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}
MAX_LEN = 10_000


class _Builder:
    def __init__(self, src: str, graph: Graph) -> None:
        self.src = src
        self.graph = graph

    def fail(self, node: ast.AST, what: str, col: int | None = None) -> ParseError:
        col = getattr(node, "col_offset", 0) if col is None else col
        caret = " " * (col + 2) + "^"
        return ParseError(f"cannot parse {self.src!r}: {what} at column {col + 1} is not "
                          f"allowed\n  {self.src}\n{caret}")

    def token(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.src, node) or type(node).__name__

    def leaf(self, name: str, node: ast.AST) -> Node:
        if name.startswith("_"):
            raise self.fail(node, f"the name {name!r} (names may not start with '_')")
        if name in functions():
            raise self.fail(node, f"the function name {name!r} used as a variable")
        return name_node(self.graph, name)

    def build(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.build(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(node, f"the constant {self.token(node)}")
            return float(v)
        if isinstance(node, ast.Name):
            return self.leaf(node.id, node)
        if isinstance(node, ast.BinOp):
            f = _BINOPS.get(type(node.op))
            if f is None:
                raise self.fail(node, f"the operator in {self.token(node)!r}")
            return f(self.build(node.left), self.build(node.right))
        if isinstance(node, ast.UnaryOp):
            u = _UNARY.get(type(node.op))
            if u is None:
                raise self.fail(node, f"the unary operator in {self.token(node)!r}")
            return u(self.build(node.operand))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            raise self.fail(node, f"attribute access '.{node.attr}'",
                            getattr(node.value, "end_col_offset", None))
        if isinstance(node, ast.Subscript):
            raise self.fail(node, f"subscript {self.token(node)!r}",
                            getattr(node.value, "end_col_offset", None))
        if isinstance(node, ast.Lambda):
            raise self.fail(node, "lambda")
        raise self.fail(node, f"{type(node).__name__} {self.token(node)!r}")

    def call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            return self.build(node.func)  # raises for attributes, subscripts, ...
        name = node.func.id
        table = functions()
        spec = table.get(name)
        if spec is None:
            raise self.fail(node, f"call of {name!r} (allowed functions: "
                            f"{', '.join(sorted(table))})")
        if node.keywords:
            raise self.fail(node.keywords[0], f"keyword argument in {self.token(node)!r}")
        f, lo, hi = spec
        if not lo <= len(node.args) <= hi:
            raise self.fail(node, f"{name}() with {len(node.args)} argument(s)")
        args = [self.build(a) for a in node.args]
        if not any(isinstance(a, Node) for a in args):
            args[0] = self.graph.constant(float(args[0]))
        return f(*args)


def name_node(graph: Graph, name: str) -> Node:
    """The node called ``name`` in ``graph``, or a new scalar input of that name."""
    n = graph._by_name.get(name)
    return n if n is not None else graph.input(name)


def _finish(graph: Graph, out: Any, name: str | None) -> Graph:
    if not isinstance(out, Node):
        out = graph.constant(float(out))
    if name is not None and out.name != name:
        out.named(name)
    graph.mark_output(out)
    return graph


def parse(text: str, graph: Graph | None = None, name: str | None = None) -> Graph:
    """Parse ``text`` safely into ``graph`` (a new one by default); free names become
    scalar inputs (or refer to existing nodes of ``graph``). Returns the graph with
    the result marked as an output."""
    if not isinstance(text, str):
        raise ParseError(f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_LEN:
        raise ParseError(f"expression too long ({len(text)} characters > {MAX_LEN})")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        col = (e.offset or 1)
        raise ParseError(f"cannot parse {text!r}: {e.msg} at column {col}") from None
    g = graph if graph is not None else Graph("expr")
    try:
        out = _Builder(text.strip(), g).build(tree)
    except RecursionError:
        raise ParseError(f"cannot parse {text[:40]!r}...: expression nested too deeply") from None
    return _finish(g, out, name)


# -- sympy expressions -> graph ----------------------------------------------------------


def _cond(sp: Any, c: Any, b: Callable[[Any], Any]) -> Any:
    lhs, rhs = (b(a) for a in c.args) if c.args else (None, None)
    table: dict[Any, Callable[[], Any]] = {
        sp.StrictGreaterThan: lambda: ops.step(lhs - rhs),
        sp.GreaterThan: lambda: ops.ge(lhs, rhs),
        sp.StrictLessThan: lambda: ops.step(rhs - lhs),
        sp.LessThan: lambda: ops.ge(rhs, lhs),
        sp.Equality: lambda: ops.eq(lhs, rhs),
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
        return ops.ge(x, 0.0)
    return ops.step(x) + h0 * ops.eq(x, 0.0)


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

    g = graph if graph is not None else Graph("expr")
    table = _sympy_table(sp)

    def b(e: Any) -> Any:
        if e.is_Symbol:
            return name_node(g, e.name)
        if e.is_Number:
            if not e.is_real:
                raise GraphError(f"from_sympy: non-real number {e}")
            return g.constant(float(e))
        f = table.get(e.func)
        if f is None:  # a registered op's formula (sp.sin -> sin, sp.erf -> erf, ...)
            hit = _match_op(sp, e, b)
            if hit is not None:
                return hit
            raise GraphError(f"from_sympy: no graphnn op for {e.func.__name__} (in {e}); "
                             f"supported: {', '.join(sorted(k.__name__ for k in table))}")
        return f(sp, e, b)

    if not isinstance(expr, sp.Basic):
        if isinstance(expr, (int, float)) and not isinstance(expr, bool):
            expr = sp.Float(expr)
        else:  # never sympify arbitrary objects (sympify evaluates strings)
            raise GraphError(f"from_sympy: expected a sympy expression or a string, got "
                             f"{type(expr).__name__}")
    out = b(expr)
    return _finish(g, out, name)
