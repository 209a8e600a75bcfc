"""Local derivative formulas for trace steps (``∂c/∂a = b``), cached per op pattern.

An elementwise op's formula comes from its sympy ``deriv`` rule. sympy is slow (a
differentiation plus printing costs about a millisecond), so it runs once per *pattern*:
the op, its params, which inputs are integer constants (they take part in the algebra),
which symbols coincide and how their names sort (sympy orders factors and terms by
name). The pattern's formula is printed with placeholder names in the same order and the
node's names are filled in as text, which gives exactly what printing with the real
names gives. A 100,000-node chain of ``h * c`` and ``tanh(h)`` needs two sympy runs,
not 100,000. LaTeX forms are made on demand (the tables do not need them).

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     a, b = gn.input("a"), gn.input("b"); c = (a * b).named("c")
>>> [loc.text for loc in local_formulas(c)]
['∂c/∂a = b', '∂c/∂b = a']
>>> local_formulas(c)[0].latex
'\\\\frac{\\\\partial c}{\\\\partial a} = b'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from graphnn.core.op import TraceText, tt
from graphnn.teach.numfmt import fmt_num
from graphnn.teach.symval import partials

if TYPE_CHECKING:  # pragma: no cover
    from graphnn.core.ir import Node


class Local:
    """A local derivative of one node w.r.t. one input: ``text`` is a full equation
    (``"∂f/∂d = z"`` or ``"dA = dY @ B^T"``), ``latex`` the same in LaTeX (computed on
    first use) and ``expr`` the right-hand side alone when it is an expression in the
    inputs (elementwise ops)."""

    __slots__ = ("text", "expr", "_latex")

    def __init__(self, text: str, latex: str | Callable[[], str],
                 expr: str | None = None) -> None:
        self.text = text
        self.expr = expr
        self._latex = latex

    @property
    def latex(self) -> str:
        """The equation in LaTeX."""
        if callable(self._latex):
            self._latex = self._latex()
        return self._latex

    def __iter__(self) -> Any:  # unpacks like the (text, latex, expr) tuple it was
        return iter((self.text, self.latex, self.expr))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Local) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash((self.text, self.expr))

    def __repr__(self) -> str:
        return f"Local(text={self.text!r}, expr={self.expr!r})"

    def __str__(self) -> str:
        return self.text


# -- elementwise ops: one sympy run per pattern ----------------------------------------

_MARK = re.compile("\ue000(\\d{6})\ue001")
_TEMPLATES: dict[Any, tuple[Any, ...]] = {}


def _placeholder(rank: int) -> str:
    """A symbol name that sorts by ``rank`` and cannot occur in a printed formula."""
    return f"\ue000{rank:06d}\ue001"


def _shown_as(node: Node) -> str | int:
    """What an input is in the formula: an integer for an integer-valued scalar
    constant, else the name of its symbol (a scalar constant's number, or the node name)."""
    if node.op.name == "const" and node.size == 1:
        v = float(np.asarray(node.params["value"]).reshape(-1)[0])
        return int(v) if v.is_integer() else fmt_num(v)
    return node.name


def _pattern(node: Node) -> tuple[Any, list[str]]:
    """The cache key of ``node``'s formulas and the symbol names in sort order."""
    shown = [i.name if i.op.name != "const" else _shown_as(i) for i in node.inputs]
    names = {node.name}
    names.update(s for s in shown if s.__class__ is str)
    order = sorted(names)
    rank = {name: r for r, name in enumerate(order)}
    kinds = tuple(rank[s] if s.__class__ is str else ("int", s) for s in shown)
    p = node.params
    params = tuple(sorted((k, repr(v)) for k, v in p.items())) if p else ()
    return (node.op.name, params, rank[node.name], kinds), order


def _template(node: Node, key: tuple[Any, ...]) -> tuple[Any, ...]:
    """The sympy partials of ``node``'s op for pattern ``key``, in placeholder symbols
    (None where no gradient flows)."""
    import sympy as sp

    op, n_in = node.op, len(node.inputs)
    syms = sp.symbols(f"a0:{n_in}", real=True)
    parts = partials(op, sp.Symbol(_placeholder(key[2])), syms, **dict(node.params))
    sub = {s: sp.Integer(k[1]) if isinstance(k, tuple) else sp.Symbol(_placeholder(k))
           for s, k in zip(syms, key[3])}
    return tuple(None if k in op.nondiff or d is None else d.subs(sub)
                 for k, d in enumerate(parts))


def _split(text: str) -> tuple[str | int, ...]:
    """``text`` as literal pieces and placeholder ranks (ints), for :func:`_fill`."""
    parts = _MARK.split(text)
    return tuple(int(p) if k % 2 else p for k, p in enumerate(parts))


def _fill(parts: tuple[str | int, ...], order: list[str]) -> str:
    """The text with each placeholder rank replaced by its name."""
    return "".join(order[p] if isinstance(p, int) else p for p in parts)


def _texts(key: tuple[Any, ...], node: Node) -> tuple[tuple[Any, tuple[str | int, ...]] | None,
                                                        ...]:
    """Cached (placeholder expression, its printed text in pieces) per input."""
    hit = _TEMPLATES.get(key)
    if hit is None:
        import sympy as sp

        hit = tuple(None if d is None else (d, _split(sp.sstr(d)))
                    for d in _template(node, key))
        if len(_TEMPLATES) > 4096:
            _TEMPLATES.clear()
        _TEMPLATES[key] = hit
    return hit


def _latex_of(expr: Any, order: list[str], node: Node, inp: Node) -> Callable[[], str]:
    def make() -> str:
        import sympy as sp

        from graphnn.teach.tracefmt import latex_name

        real = {sp.Symbol(_placeholder(r)): sp.Symbol(name) for r, name in enumerate(order)}
        lhs = (r"\frac{\partial " + latex_name(node.name) + r"}{\partial "
               + latex_name(inp.name) + "}")
        return f"{lhs} = {sp.latex(expr.subs(real, simultaneous=True))}"
    return make


def _elementwise(node: Node) -> tuple[Local | None, ...]:
    key, order = _pattern(node)
    name = node.name
    out: list[Local | None] = []
    for inp, t in zip(node.inputs, _texts(key, node)):
        if t is None:
            out.append(None)
            continue
        rhs = _fill(t[1], order)
        out.append(Local(f"∂{name}/∂{inp.name} = {rhs}", _latex_of(t[0], order, node, inp),
                         rhs))
    return tuple(out)


# -- other ops: the record's derivative text --------------------------------------------


def _rule_texts(node: Node) -> tuple[Local | None, ...]:
    op, n_in = node.op, len(node.inputs)
    text = op.trace.text if isinstance(op.trace, TraceText) else ""
    rules = [r.strip() for r in text.split(";") if r.strip()]
    names = _placeholders(rules, node) if len(rules) == n_in else {}
    out: list[Local | None] = []
    for k in range(n_in):
        if k in op.nondiff:
            out.append(None)
            continue
        if not rules:
            out.append(Local(f"(no derivative text for op '{op.name}')", r"\text{?}"))
            continue
        rule = rules[k] if len(rules) == n_in else "; ".join(rules)
        used = [f"{c} = {names[c]}" for c in sorted(set(re.findall(r"\b[dD]?([A-Z])\b",
                                                                rule))) if c in names]
        where = f"  [{', '.join(used)}]" if used else ""
        out.append(Local(rule + where, tt(rule).latex))
    return tuple(out)


def _placeholders(rules: list[str], node: Node) -> dict[str, str]:
    """Map the capital letters of derivative rules (``dA = dY @ B^T``) to node names:
    each rule's left-hand side names its input, ``Y`` the node itself."""
    out: dict[str, str] = {}
    for rule, inp in zip(rules, node.inputs):
        m = re.match(r"d([A-Z])\b", rule)
        if m:
            out[m.group(1)] = inp.name
    if "Y" not in out:
        out["Y"] = node.name
    return out


def local_formulas(node: Node) -> tuple[Local | None, ...]:
    """Per input: the local derivative of ``node`` as a :class:`Local` (None for inputs
    without a gradient). Elementwise ops differentiate their sympy formula (once per
    pattern, see the module docstring); other ops show their ``derivative`` rule text."""
    op = node.op
    if op.leaf or not node.inputs:
        return ()
    if op.elementwise and op.deriv is not None:
        return _elementwise(node)
    return _rule_texts(node)
