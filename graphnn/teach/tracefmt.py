"""Text for traces: value summaries, node expressions, local-derivative formulas (from
an elementwise op's ``deriv`` rule, from the record's ``trace`` text otherwise),
chain-rule narratives and the plain-text / Markdown / LaTeX tables. sympy is imported only
when a formula is asked for.

Numbers come from :mod:`graphnn.teach.numfmt`, the backward narratives from
:mod:`graphnn.teach.narrate`.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     a, b = gn.input("a"), gn.input("b"); c = (a * b).named("c")
>>> node_expr(c), latex_name("x1"), [loc.text for loc in local_formulas(c)]
('a * b', 'x_{1}', ['∂c/∂a = b', '∂c/∂b = a'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphnn.core.context import paused_gc
from graphnn.teach.localform import Local, local_formulas  # noqa: F401 (re-export)
from graphnn.teach.numfmt import fmt_num, fmt_value, is_scalar, paren  # noqa: F401 (re-export)

if TYPE_CHECKING:  # pragma: no cover
    from graphnn.core.ir import Node
    from graphnn.teach.trace import Step, Trace

_INFIX = {"+", "-", "*", "/", "**", "@"}
_LATEX_INFIX = {"+": "+", "-": "-", "*": r"\cdot", "/": "/", "@": "", "**": "^"}

_LATEX_ESC = {"\\": r"\backslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "%": r"\%",
              "&": r"\&", "#": r"\#", "_": r"\_", "^": r"\hat{}", "~": r"\sim{}"}


def one_line(text: str) -> str:
    """``text`` with newlines, NUL, U+2028 and other non-printables as visible escapes."""
    return text if text.isprintable() else "".join(
        c if c.isprintable() else repr(c)[1:-1] for c in text)


def latex_name(name: str) -> str:
    """A node name in LaTeX: ``x`` stays, ``add_1`` becomes ``\\mathrm{add\\_1}``; LaTeX
    specials are escaped and line breaks shown as escapes."""
    if len(name) == 1 and name.isalpha():
        return name
    if len(name) > 1 and name[0].isalpha() and name[1:].isdigit() and len(name) <= 3:
        return f"{name[0]}_{{{name[1:]}}}"
    return r"\mathrm{" + "".join(_LATEX_ESC.get(c, c) for c in one_line(name)) + "}"


def latex_value(v: Any) -> str:
    s = fmt_value(v)
    return s.replace("…", r"\ldots").replace("—", "-")


# -- node expressions -----------------------------------------------------------------


def _param_text(node: Node) -> str:
    skip = {"shape", "value"}
    parts = [f"{k}={v}" for k, v in node.params.items()
             if k not in skip and v is not None and v is not False]
    return ", ".join(parts)


def node_expr(node: Node, args: Sequence[str] | None = None) -> str:
    """``"x + y"``, ``"σ(z)"`` or ``"softmax(z, axis=-1)"`` for a node (args default to
    its input names)."""
    args = [i.name for i in node.inputs] if args is None else list(args)
    label = node.op.display
    if len(args) == 2 and label in _INFIX:
        return f"{args[0]} {label} {args[1]}"
    if len(args) == 1 and label == "-":
        return f"-{args[0]}"
    extra = _param_text(node)
    return f"{label}({', '.join(args + ([extra] if extra else []))})"


def node_latex(node: Node) -> str:
    args = [latex_name(i.name) for i in node.inputs]
    label = node.op.display
    if len(args) == 2 and label in _INFIX:
        if label == "**":
            return f"{args[0]}^{{{args[1]}}}"
        return f"{args[0]} {_LATEX_INFIX[label]} {args[1]}".replace("  ", " ")
    if len(args) == 1 and label == "-":
        return f"-{args[0]}"
    return r"\operatorname{" + node.op.name.replace("_", r"\_") + "}(" + ", ".join(args) + ")"


def forward_text(step: Step) -> str:
    """``d = x + y = 1 + (-3) = -2`` (numbers substituted for scalar inputs)."""
    n = step.node
    if n.op.leaf:
        return f"{n.name} = {fmt_value(step.value)}  ({n.role})"
    expr = node_expr(n)
    if all(is_scalar(v) for v in step.input_values) and n.inputs:
        nums = node_expr(n, [paren(fmt_num(v)) for v in step.input_values])
        return f"{n.name} = {expr} = {nums} = {fmt_value(step.value)}"
    return f"{n.name} = {expr} = {fmt_value(step.value)}"


# -- tables ----------------------------------------------------------------------------


def _cells(r: list[str]) -> list[str]:
    return [c if c.isprintable() else one_line(c) for c in r]


def _rows(trace: Trace) -> tuple[list[str], list[list[str]]]:
    from graphnn.teach import narrate as N

    fwd = trace.mode == "forward"
    head = ["#", "phase", "node", "op", "value", "tangent" if fwd else "gradient", "explanation"]
    rows = []
    for s in trace:
        op = s.node.op.display if not s.node.op.leaf else s.node.role
        num = str(s.number)
        if s.kind == "eval":
            grad = (fmt_value(s.tangent) if s.tangent is not None else "0") if fwd else ""
            expl = forward_text(s) + (("   " + N.tangent_text(s)) if fwd else "")
            rows.append([num, s.phase, s.node.name, op, fmt_value(s.value), grad, expl])
        elif s.kind == "vjp":
            rows.append([num, s.phase, s.node.name, op, fmt_value(s.value),
                         fmt_value(s.upstream), N.summary(s)])
        else:
            rows.append([num, s.phase, s.node.name, "+=", fmt_value(s.value),
                         fmt_value(s.total), N.accumulate_text(s)])
    return head, rows


def _local_rows(step: Step) -> list[str]:
    from graphnn.teach import narrate as N

    if step.kind != "vjp":
        return []
    return [N.local_line(step, k) for k, c in enumerate(step.contributions) if c is not None]


def to_table(trace: Trace) -> str:
    """A plain-text table with aligned columns (``#`` counts from 1, as ``step k of n``
    does everywhere); the local derivatives follow each vjp row."""
    with paused_gc():
        head, rows = _rows(trace)
        rows = [_cells(r) for r in rows]
        widths = [max(len(r[c]) for r in [head] + rows) for c in range(len(head) - 1)]
        line = "".join(f"{{:<{w}}}  " for w in widths) + "{}"
        out = [line.format(*head), "  ".join("-" * w for w in widths) + "  " + "-" * 11]
        pad = " " * (sum(widths) + 2 * len(widths))
        for s, r in zip(trace, rows):
            out.append(line.format(*r))
            if s.kind == "vjp":
                out += [pad + one_line(loc) for loc in _local_rows(s)]
        return "\n".join(out)


def to_markdown(trace: Trace) -> str:
    """The trace as a Markdown table; local derivatives join the vjp explanations."""
    with paused_gc():
        head, rows = _rows(trace)
        for s, r in zip(trace, rows):
            r[-1] = "; ".join([r[-1], *_local_rows(s)])
    esc = [[one_line(c).replace("|", "\\|").replace("*", "\\*").replace("<", "&lt;")
            for c in r] for r in rows]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in esc]
    return "\n".join(out)


def to_latex(trace: Trace) -> str:
    """The trace as a LaTeX ``tabular`` (totals as fractions, locals marked local)."""
    with paused_gc():
        return "\n".join(_latex_lines(trace))


def _latex_lines(trace: Trace) -> list[str]:
    from graphnn.teach import narrate as N

    fwd = trace.mode == "forward"
    lines = [r"\begin{tabular}{rlll}", r"\hline",
             r"\# & phase & node & step \\", r"\hline"]
    for s in trace:
        name = latex_name(s.node.name)
        if s.kind == "eval":
            body = f"{name} = {latex_value(s.value)}" if s.node.op.leaf else (
                f"{name} = {node_latex(s.node)} = {latex_value(s.value)}")
            if fwd:
                body += r",\quad \dot{" + name + "} = " + latex_value(s.tangent)
        elif s.kind == "vjp":
            body = N.backward_latex(s)
        else:
            body = N.accumulate_latex(s)
        phase = s.phase + ("" if s.kind != "accumulate" else " (+=)")
        lines.append(f"{s.number} & {phase} & ${name}$ & ${body}$ \\\\")
    lines += [r"\hline", r"\end{tabular}"]
    return lines
