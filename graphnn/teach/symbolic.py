"""The sympy bridge: closed forms of nodes (``to_sympy``), op formulas in LaTeX
(``formula``) and the collapse of stacked linear layers into one linear map
(``collapse_linear``). Graphs from formulas live in ``exprparse`` (``from_sympy``).
sympy is imported only when one of these is called.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     f = ((x + y) * z).named("f")
>>> gn.to_sympy(g, f)
z*(x + y)
>>> print(gn.formula("tanh"))
y = tanh(x); dy/dx = 1 - tanh(x)**2 = 1 - y**2
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphnn.core.errors import GraphError, describe
from graphnn.core.ir import CONST, PARAM, Graph, Node
from graphnn.core.op import Op, TraceText, Unsupported, get_op, tt
from graphnn.core.traverse import ancestors
from graphnn.ops.symrules import obj
from graphnn.teach.symval import partials

_PRINTER: list[Any] = []


def math_text(expr: Any) -> str:
    """``expr`` on one line as a reader writes it (sympy's ``sstr`` otherwise): cases as
    ``{x if x > 0, 0.01*x otherwise}``, ``max`` / ``min``, ``≥ ≤ ≠``, ``and`` / ``or``,
    Heaviside steps as Iverson brackets ``[x > 0]`` (``H(x)`` where H(0) = 1/2).

    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> math_text(sp.Piecewise((x, x > 0), (0.01 * x, True)))
    '{x if x > 0, 0.01*x otherwise}'
    >>> math_text(sp.Heaviside(x, 1)), math_text(sp.Max(0, x))
    ('[x ≥ 0]', 'max(0, x)')
    """
    if not _PRINTER:
        from sympy.printing.str import StrPrinter

        class MathText(StrPrinter):  # type: ignore[misc]
            def _print_Piecewise(self, e: Any) -> str:
                parts = [f"{self._print(v)} otherwise" if c == True  # noqa: E712
                         else f"{self._print(v)} if {self._print(c)}" for v, c in e.args]
                return "{" + ", ".join(parts) + "}"

            def _print_Heaviside(self, e: Any) -> str:
                x = self._print(e.args[0])
                h0 = e.args[1] if len(e.args) > 1 else None
                if h0 == 0:
                    return f"[{x} > 0]"
                if h0 == 1:
                    return f"[{x} ≥ 0]"
                return f"H({x})"

            def _print_Relational(self, e: Any) -> str:
                op = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}.get(e.rel_op, e.rel_op)
                return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

            def _print_And(self, e: Any) -> str:
                return " and ".join(self.parenthesize(a, 1) for a in e.args)

            def _print_Or(self, e: Any) -> str:
                return " or ".join(self.parenthesize(a, 1) for a in e.args)

            def _print_Max(self, e: Any) -> str:
                return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

            def _print_Min(self, e: Any) -> str:
                return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

        _PRINTER.append(MathText())
    return str(_PRINTER[0].doprint(expr))


def _number(sp: Any, v: float) -> Any:
    if float(v).is_integer():
        return sp.Integer(int(v))
    r = sp.Rational(v).limit_denominator(1000)
    return r if float(r) == v else sp.Float(v)


def _leaf_array(sp: Any, n: Node, params: str) -> np.ndarray:
    if n.op is CONST or (n.op is PARAM and params == "values"):
        vals = np.asarray(n.graph.value_of(n), dtype=float)
        return obj(n.shape, lambda i: _number(sp, float(vals[i])))
    if n.shape == ():
        return obj((), lambda i: sp.Symbol(n.name, real=True))
    base = sp.IndexedBase(n.name, real=True)
    return obj(n.shape, lambda i: base[i])


def _apply(sp: Any, n: Node, args: list[np.ndarray]) -> np.ndarray:
    op, params = n.op, dict(n.params)
    rule = op.sympy
    try:
        if isinstance(rule, Unsupported):
            raise GraphError(f"to_sympy: op '{op.name}' has no symbolic form: {rule.reason} "
                             f"({describe(n)})", node=n)
        if rule is not None and op.elementwise:
            out = np.frompyfunc(lambda *a: rule(sp, *a, **params), len(args), 1)(*args)
        elif rule is not None:
            out = rule(sp, *args, **params)
        else:  # the forward runs on object arrays of sympy values
            out = op.forward(np, *args, **params)
    except GraphError:
        raise
    except Exception as e:  # noqa: BLE001
        raise GraphError(f"to_sympy: op '{op.name}' has no symbolic form ({describe(n)}): "
                         f"{type(e).__name__}: {e}", node=n) from None
    arr = np.empty((), dtype=object)
    if not isinstance(out, np.ndarray):
        arr[()] = out
        out = arr
    return np.broadcast_to(out, n.shape) if out.shape != n.shape else out


def _result(sp: Any, a: np.ndarray) -> Any:
    if a.ndim == 0:
        return a[()]
    if a.ndim == 1:
        return sp.Matrix(list(a))
    if a.ndim == 2:
        return sp.Matrix(a.tolist())
    return sp.Array(a.tolist())


def to_sympy(g: Graph, node: str | Node, *, params: str = "symbols",
             matrices: str = "explicit", simplify: bool = False) -> Any:
    """The closed-form sympy expression of ``node`` in terms of inputs and params.

    Scalars are sympy Symbols; tensors are indexed symbols (``x[0]``, ``W[1, 2]``) and the
    result is a Matrix (1-D as a column) or an Array. ``params="values"`` substitutes the
    params' stored values. ``matrices="symbols"`` keeps matrices whole as MatrixSymbols
    (``W2*(W1*x + b1) + b2``), for graphs of +, -, @, transpose and scalar *.

    >>> import numpy as np, graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x", shape=(2,)); W = gn.param("W", np.eye(2))
    ...     y = gn.tanh(W @ x)
    >>> gn.to_sympy(g, y, params="values")
    Matrix([
    [tanh(x[0])],
    [tanh(x[1])]])
    """
    import sympy as sp

    target = g.node(node)
    if matrices == "symbols":
        return _to_matrix_expr(sp, g, target, params)
    if matrices != "explicit":
        raise GraphError(f"to_sympy: matrices must be 'explicit' or 'symbols', got {matrices!r}")
    anc = ancestors([target])
    vals: dict[int, np.ndarray] = {}
    for n in g.nodes:
        if not anc[n.id]:
            continue
        if n.op.leaf:
            vals[n.id] = _leaf_array(sp, n, params)
        else:
            vals[n.id] = _apply(sp, n, [vals[i.id] for i in n.inputs])
    out = vals[target.id]
    if simplify:
        out = np.frompyfunc(sp.simplify, 1, 1)(out) if out.ndim else obj((), lambda i: sp.simplify(
            out[()]))
    return _result(sp, out)


# -- matrix-symbol form ----------------------------------------------------------------

def _msym(sp: Any, n: Node, params: str) -> Any:
    if n.op is CONST or (n.op is PARAM and params == "values"):
        v = np.asarray(n.graph.value_of(n), dtype=float)
        if v.ndim == 0:
            return _number(sp, float(v))
        v2 = v.reshape(-1, 1) if v.ndim == 1 else v
        return sp.Matrix([[_number(sp, float(x)) for x in row] for row in v2])
    if n.shape == ():
        return sp.Symbol(n.name, real=True)
    if len(n.shape) > 2:
        raise GraphError(f"to_sympy(matrices='symbols'): {describe(n)} has more than 2 dims",
                         node=n)
    rows, cols = (n.shape[0], 1) if len(n.shape) == 1 else n.shape
    return sp.MatrixSymbol(n.name, rows, cols)


_MATRIX_RULES: dict[str, Callable[..., Any]] = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "neg": lambda a: -a,
    "matmul": lambda a, b: a * b, "transpose": lambda a, axes=None: a.T,
    "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
}


def _to_matrix_expr(sp: Any, g: Graph, target: Node, params: str) -> Any:
    anc = ancestors([target])
    vals: dict[int, Any] = {}
    for n in g.nodes:
        if not anc[n.id]:
            continue
        if n.op.leaf:
            vals[n.id] = _msym(sp, n, params)
            continue
        rule = _MATRIX_RULES.get(n.op.name)
        args = [vals[i.id] for i in n.inputs]
        scalar_ok = n.op.name in ("mul", "div") and any(i.shape == () for i in n.inputs)
        if rule is None or (n.op.name in ("mul", "div") and not scalar_ok):
            raise GraphError(f"to_sympy(matrices='symbols') supports +, -, @, transpose and "
                             f"scaling by scalars; {describe(n)} is not one of them "
                             "(use matrices='explicit')", node=n)
        vals[n.id] = rule(*args, **dict(n.params))
    return vals[target.id]


# -- linear collapse -------------------------------------------------------------------

@dataclass
class LinearCollapse:
    """``out = A x + c`` when ``out`` is affine in ``x``: ``A`` and ``c`` are explicit
    sympy Matrices; ``matrix_form`` is the expanded MatrixSymbol expression (e.g.
    ``W2*W1*x + W2*b1 + b2``) when the graph allows it; ``is_linear`` is False when
    ``A`` still depends on ``x`` (an activation between the layers)."""

    A: Any
    c: Any
    is_linear: bool
    matrix_form: Any = None

    def __str__(self) -> str:
        if not self.is_linear:
            return "not affine in the input: the Jacobian still depends on it"
        mf = f"{self.matrix_form}" if self.matrix_form is not None else "A x + c"
        return f"affine map: {mf}\nA = {self.A}\nc = {self.c}"


def collapse_linear(g: Graph, out: str | Node, x: str | Node) -> LinearCollapse:
    """Show that ``out`` is one linear (affine) map of ``x``: ``A = d out / d x`` is
    constant in ``x`` (for stacked linear layers without activations ``A = W2 W1``).

    >>> import numpy as np, graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x", shape=(2,))
    ...     W1 = gn.param("W1", np.ones((3, 2))); W2 = gn.param("W2", np.ones((2, 3)))
    ...     y = W2 @ (W1 @ x)
    >>> lc = gn.collapse_linear(g, y, x)
    >>> lc.is_linear, lc.matrix_form
    (True, W2*W1*x)
    """
    import sympy as sp

    xn = g.node(x)
    E = to_sympy(g, out)
    E = E if isinstance(E, sp.MatrixBase) else sp.Matrix([E])
    X = to_sympy(g, xn)
    xs = list(X) if isinstance(X, sp.MatrixBase) else [X]
    A = sp.expand(E.jacobian(xs))
    linear = not (A.free_symbols & set(xs))
    c = sp.expand(E.subs({s: 0 for s in xs}))
    try:
        mf = sp.expand(to_sympy(g, out, matrices="symbols"))
    except GraphError:
        mf = None
    return LinearCollapse(A, c, bool(linear), mf)


# -- op formulas ----------------------------------------------------------------------

@dataclass
class OpFormula:
    """An op's forward formula and its derivative(s), in LaTeX (``derivatives`` has one
    entry per input; ``derivative`` joins them) and plain ``text``."""

    name: str
    forward: str
    derivatives: tuple[str, ...]
    text: str

    @property
    def derivative(self) -> str:
        return r",\quad ".join(self.derivatives)

    def _repr_latex_(self) -> str:
        return f"$${self.forward},\\qquad {self.derivative}$$"

    def __str__(self) -> str:
        return self.text


def _arg_names(op: Op) -> list[str]:
    ps = list(inspect.signature(op.sympy).parameters.values())[1:]
    names = [p.name for p in ps if p.default is inspect.Parameter.empty
             and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return ["x"] if len(names) == 1 else names


def formula(op: str | Op) -> OpFormula:
    """LaTeX of an op's forward formula and derivative (sympy-derived for elementwise
    ops, the op's ``derivative`` rule text otherwise).

    >>> import graphnn as gn
    >>> gn.formula("mul").forward
    'y = a b'
    >>> gn.formula("matmul").derivatives
    ('dA = dY B^{\\\\top}', 'dB = A^{\\\\top} dY')
    """
    o = op if isinstance(op, Op) else get_op(op)
    if o.elementwise and callable(o.sympy):
        import sympy as sp

        names = _arg_names(o)
        syms = [sp.Symbol(s, real=True) for s in names]
        expr = o.sympy(sp, *syms)
        y = sp.Symbol("y", real=True)
        alts = partials(o, y, syms) if o.deriv is not None else (None,) * len(syms)
        ders, texts = [], [f"y = {math_text(expr)}"]
        for k, s in enumerate(syms):
            if k in o.nondiff:
                continue
            d = sp.diff(expr, s)
            if d.has(sp.Derivative) and alts[k] is not None:  # floor: sympy leaves it
                d = alts[k]
            alt = d if alts[k] is None or not (alts[k].free_symbols & {y}) else alts[k]
            tex = rf"\frac{{\partial y}}{{\partial {sp.latex(s)}}} = {sp.latex(d)}"
            txt = f"dy/d{s} = {math_text(d)}"
            if alt != d:
                tex += f" = {sp.latex(alt)}"
                txt += f" = {math_text(alt)}"
            ders.append(tex)
            texts.append(txt)
        return OpFormula(o.name, f"y = {sp.latex(expr)}", tuple(ders), "; ".join(texts))
    fwd = o.latex or (r"Y = \operatorname{" + o.name.replace("_", r"\_") + "}(X)")
    text = o.trace.text if isinstance(o.trace, TraceText) else ""
    rules = [r.strip() for r in text.split(";") if r.strip()]
    return OpFormula(o.name, fwd, tuple(tt(r).latex for r in rules),
                     f"{o.name}: " + ("; ".join(rules) or "no derivative rule text"))

