"""Build graphs from formulas: THE safe parser for strings such as ``"(x + y) * z"`` (used
by :func:`graphnn.from_sympy` and by the command line's ``--expr``). Nothing is ever
evaluated: strings are parsed with Python's ``ast`` and only a whitelist is accepted
(numbers, names, ``+ - * / ** @``, unary minus, and calls of the functions in
:func:`functions` with constant static arguments: numbers, tuples of numbers, True/False,
None). Anything else raises :class:`~graphnn.ParseError` naming the offending token and
its column. Arithmetic on numbers builds nodes too (``1/0`` is inf when run, as in NumPy),
so nothing is computed while parsing.

The tree is built without recursion, so depth is bounded only by Python's own parser
(whose limits also become a ParseError).

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
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphnn import ops
from graphnn.core import op as op_table
from graphnn.core.errors import GraphError, ParseError, did_you_mean
from graphnn.core.ir import Graph, Node

MAX_LEN = 10_000
_Fn = Callable[..., Any]


def _fold(f: _Fn) -> _Fn:
    def g(*args: Any) -> Any:
        out = args[0]
        for a in args[1:]:
            out = f(out, a)
        return out
    return g


# Parser names that are not op names: Python's max/min over several arguments.
_ALIASES: dict[str, tuple[_Fn, int, int]] = {
    "max": (_fold(ops.maximum), 2, 64), "min": (_fold(ops.minimum), 2, 64),
}
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def functions() -> dict[str, tuple[_Fn, int, int]]:
    """Name -> (builder, min args, max positional args): every public op function (the
    table graphnn.ops fills, so a newly registered op is known at once) plus the max/min
    aliases."""
    out: dict[str, tuple[_Fn, int, int]] = {}
    for name, f in op_table.FUNCTIONS.items():
        try:
            ps = list(inspect.signature(f).parameters.values())
        except (TypeError, ValueError):
            continue
        pos = [p for p in ps if p.kind in _POSITIONAL]
        need = sum(1 for p in pos if p.default is p.empty)
        if any(p.kind is p.VAR_POSITIONAL for p in ps):
            out[name] = (f, max(need, 1), 64)
        elif need:
            out[name] = (f, need, len(pos))
    out.update(_ALIASES)
    return out


def _keywords(f: _Fn) -> dict[str, inspect.Parameter]:
    """The static keyword parameters of ``f`` an expression may set (never ``name``)."""
    try:
        ps = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p for p in ps if p.name != "name" and p.default is not p.empty
            and p.kind in (*_POSITIONAL, p.KEYWORD_ONLY)}


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b, ast.MatMult: lambda a, b: a @ b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}
_NO_LITERAL = object()


def _literal(node: ast.AST) -> Any:
    """The value of a static argument (a number, optionally signed, True/False, None, or a
    tuple of numbers), or ``_NO_LITERAL``. Strings are never static arguments."""
    if isinstance(node, ast.Constant):
        v = node.value
        return v if v is None or isinstance(v, (bool, int, float)) else _NO_LITERAL
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        v = _literal(node.operand)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else v
        return _NO_LITERAL
    if isinstance(node, ast.Tuple) and len(node.elts) <= 8:
        vs = [_literal(e) for e in node.elts]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vs):
            return tuple(vs)
    return _NO_LITERAL


class _Builder:
    """Checks an ``ast`` tree against the whitelist and builds it, iteratively."""

    def __init__(self, src: str, graph: Graph, shapes: Mapping[str, Sequence[int]]) -> None:
        self.src = src
        self.graph = graph
        self.shapes = shapes
        self.table = functions()

    def fail(self, node: ast.AST, what: str, col: int | None = None) -> ParseError:
        col = getattr(node, "col_offset", 0) if col is None else col
        caret = " " * (col + 2) + "^"
        return ParseError(f"cannot parse {self.src!r}: {what} at column {col + 1} is not "
                          f"allowed\n  {self.src}\n{caret}")

    def token(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.src, node) or type(node).__name__

    def build(self, root: ast.AST) -> Any:
        """Post-order walk with an explicit stack: children first, then the node."""
        todo: list[tuple[ast.AST, list[ast.AST] | None]] = [(root, None)]
        vals: list[Any] = []
        while todo:
            node, kids = todo.pop()
            if kids is None:
                kids = self.children(node)
                todo.append((node, kids))
                todo.extend((k, None) for k in reversed(kids))
                continue
            args = vals[len(vals) - len(kids):] if kids else []
            del vals[len(vals) - len(kids):]
            vals.append(self.combine(node, args))
        return vals[0]

    def children(self, node: ast.AST) -> list[ast.AST]:
        """The sub-expressions to build first; raises for anything not whitelisted."""
        if isinstance(node, ast.Expression):
            return [node.body]
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(node, f"the constant {self.token(node)}")
            return []
        if isinstance(node, ast.Name):
            return []
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise self.fail(node, f"the operator in {self.token(node)!r}")
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise self.fail(node, f"the unary operator in {self.token(node)!r}")
            return [node.operand]
        if isinstance(node, ast.Call):
            return self.call_children(node)
        if isinstance(node, ast.Attribute):
            raise self.fail(node, f"attribute access '.{node.attr}'",
                            getattr(node.value, "end_col_offset", None))
        if isinstance(node, ast.Subscript):
            raise self.fail(node, f"subscript {self.token(node)!r}",
                            getattr(node.value, "end_col_offset", None))
        if isinstance(node, ast.Lambda):
            raise self.fail(node, "lambda")
        raise self.fail(node, f"{type(node).__name__} {self.token(node)!r}")

    def call_children(self, node: ast.Call) -> list[ast.AST]:
        if not isinstance(node.func, ast.Name):
            self.children(node.func)  # raises for attributes, subscripts, ...
            raise self.fail(node, f"the call {self.token(node)!r}")
        name = node.func.id
        spec = self.table.get(name)
        if spec is None:
            raise self.fail(node, f"call of {name!r} (unknown op {name!r}"
                            f"{did_you_mean(name, self.table)}; known ops: "
                            f"{', '.join(sorted(self.table))})")
        f, lo, hi = spec
        if not lo <= len(node.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(node, f"{name}() with {len(node.args)} argument(s) (it takes "
                            f"{want})")
        allowed = _keywords(f) if name not in _ALIASES else {}
        for k in node.keywords:
            if k.arg is None or k.arg not in allowed:
                raise self.fail(k, f"the keyword argument {self.token(k)!r} of {name}() "
                                f"(allowed: {', '.join(allowed) or 'none'}"
                                f"{did_you_mean(k.arg or '', allowed)})")
            if _literal(k.value) is _NO_LITERAL:
                raise self.fail(k.value, f"the value {self.token(k.value)!r} of {name}("
                                f"{k.arg}=...) (static arguments are numbers, tuples of "
                                "numbers, True/False or None)")
        self.check_static(node, f)
        return [a for a in node.args if _literal(a) is _NO_LITERAL]

    def check_static(self, node: ast.Call, f: _Fn) -> None:
        """Positional arguments for parameters with a non-None default (leaky_relu's
        ``negative_slope``, sum's ``keepdims``) must be finite literal numbers."""
        try:
            params = [p for p in inspect.signature(f).parameters.values()
                      if p.kind in _POSITIONAL]
        except (TypeError, ValueError):
            return
        for p, a in zip(params, node.args):
            v = _literal(a)
            static = p.default is not p.empty and p.default is not None
            if static and v is _NO_LITERAL:
                raise self.fail(a, f"the expression {self.token(a)!r} as {p.name}= of "
                                f"{node.func.id}() (it must be a constant number)")
            if isinstance(v, float) and not math.isfinite(v):
                raise self.fail(a, f"the non-finite number {self.token(a)!r} as an argument")

    def combine(self, node: ast.AST, args: list[Any]) -> Any:
        """Build ``node`` from its already-built children ``args``."""
        if isinstance(node, ast.Expression):
            return args[0]
        if isinstance(node, ast.Constant):
            try:
                return float(node.value)
            except OverflowError:
                raise self.fail(node, f"the number {self.token(node)[:20]}... (too large)") \
                    from None
        if isinstance(node, ast.Name):
            return self.leaf(node.id, node)
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            return self.arith(node, args)
        assert isinstance(node, ast.Call)
        return self.call(node, args)

    def arith(self, node: ast.BinOp | ast.UnaryOp, args: list[Any]) -> Any:
        try:
            if isinstance(node, ast.UnaryOp):
                return _UNARY[type(node.op)](args[0])
            a, b = args
            if isinstance(a, float) and isinstance(b, float):
                a = self.graph.constant(a)  # a node: numbers are never computed eagerly
            return _BINOPS[type(node.op)](a, b)
        except GraphError:
            raise
        except (ArithmeticError, TypeError, ValueError) as e:
            why = {OverflowError: "too large", ZeroDivisionError: "division by zero"}.get(
                type(e), str(e) or type(e).__name__)
            raise self.fail(node, f"{self.token(node)[:40]!r} ({why})") from None

    def leaf(self, name: str, node: ast.AST) -> Node:
        if name.startswith("_"):
            raise self.fail(node, f"the name {name!r} (names may not start with '_')")
        if name in self.table:
            raise self.fail(node, f"the function name {name!r} used as a variable")
        return name_node(self.graph, name, self.shapes.get(name, ()))

    def call(self, node: ast.Call, built: list[Any]) -> Any:
        f = self.table[node.func.id][0]  # type: ignore[attr-defined]
        it = iter(built)
        args = [next(it) if _literal(a) is _NO_LITERAL else _literal(a) for a in node.args]
        kwargs = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
        if not any(isinstance(a, Node) for a in args):
            if not isinstance(args[0], (int, float)) or isinstance(args[0], bool):
                raise self.fail(node, f"{self.token(node)!r} (no array argument)")
            args[0] = self.graph.constant(float(args[0]))
        try:
            return f(*args, **kwargs)
        except GraphError:
            raise
        except (ArithmeticError, TypeError, ValueError, IndexError, MemoryError) as e:
            raise self.fail(node, f"{self.token(node)[:60]!r} ({type(e).__name__}: "
                            f"{str(e)[:120]})") from None


def name_node(graph: Graph, name: str, shape: Sequence[int] = ()) -> Node:
    """The node called ``name`` in ``graph``, or a new input of that name (and shape)."""
    n = graph._by_name.get(name)
    return n if n is not None else graph.input(name, shape=shape)


def _finish(graph: Graph, out: Any, name: str | None) -> Graph:
    if not isinstance(out, Node):
        out = graph.constant(float(out))
    if name is not None and out.name != name:
        out.named(name)
    graph.mark_output(out)
    return graph


def _deepest(text: str) -> int:
    """The 1-based column where parentheses nest deepest (1 when there are none)."""
    depth = best = 0
    col = 1
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth > best:
            best, col = depth, i + 1
    return col


def _tree(text: str) -> ast.Expression:
    """``ast.parse`` with every failure (syntax, nesting, huge literals) a ParseError."""
    if not isinstance(text, str):
        raise ParseError(f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_LEN:
        raise ParseError(f"expression too long ({len(text)} characters > {MAX_LEN})")
    src = text.strip()
    try:
        return ast.parse(src, mode="eval")
    except SyntaxError as e:
        raise ParseError(f"cannot parse {text[:200]!r}: syntax error at column "
                         f"{e.offset or 1}: {e.msg}") from None
    except (RecursionError, MemoryError):
        raise ParseError(f"cannot parse {text[:40]!r}...: expression nested too deeply for "
                         f"Python's parser (deepest near column {_deepest(src)}; "
                         "long chains like x+x+...+x count as nesting too)") from None
    except ValueError as e:  # e.g. NUL characters
        raise ParseError(f"cannot parse {text[:40]!r}: {e}") from None


def expression(text: str, graph: Graph, *,
               shapes: Mapping[str, Sequence[int]] | None = None) -> Any:
    """Parse ``text`` safely into ``graph`` and return the result: a Node, or a float
    when the text has no names. Free names become inputs (shape from ``shapes``, scalar
    by default) or refer to existing nodes of ``graph``."""
    tree = _tree(text)
    builder = _Builder(text.strip(), graph, shapes or {})
    funcs = {id(c.func) for c in ast.walk(tree) if isinstance(c, ast.Call)}
    names = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in funcs),
                   key=lambda n: n.col_offset)
    for n in names:  # inputs in the order written: x, y, z for (x + y) * z
        builder.leaf(n.id, n)
    return builder.build(tree)


def parse(text: str, graph: Graph | None = None, name: str | None = None, *,
          shapes: Mapping[str, Sequence[int]] | None = None) -> Graph:
    """Parse ``text`` safely into ``graph`` (a new one by default); free names become
    inputs (see :func:`expression`). Returns the graph with the result marked as an
    output (named ``name`` when given)."""
    g = graph if graph is not None else Graph("expr")
    return _finish(g, expression(text, g, shapes=shapes), name)


__all__ = ["MAX_LEN", "expression", "functions", "name_node", "parse"]
