"""``graphnn ops``: the op table with forward and derivative formulas."""

from __future__ import annotations

import inspect
from typing import Any

import click

from graphnn_cli.common import CliError, echo, style

_SYMS = "abcdefgh"


def op_rows(names: list[str] | None = None, latex: bool = False) -> list[dict[str, str]]:
    """One row per registered (non-leaf) op: name, label, kind, forward, derivative.

    Elementwise ops show their sympy formula and its derivatives (derived, not typed);
    the others show their docstring and the derivative rule they record.

    >>> row = op_rows(["mul"])[0]
    >>> row["forward"], row["derivative"]
    ('a*b', 'd/da = b;  d/db = a')
    """
    import graphnn as gn

    reg = gn.REGISTRY
    if names:
        unknown = [n for n in names if n not in reg]
        if unknown:
            raise CliError(f"unknown op {unknown[0]!r}; `graphnn ops` lists them all")
        ops = [reg[n] for n in names]
    else:
        ops = [reg[k] for k in sorted(reg) if not reg[k].leaf]
    rows = []
    for op in ops:
        fwd, der = _formulas(op, latex)
        kind = "elementwise" if op.elementwise else "structural"
        rows.append({"name": op.name, "label": op.display, "kind": kind, "forward": fwd,
                     "derivative": der})
    return rows


def _formulas(op: Any, latex: bool) -> tuple[str, str]:
    import graphnn as gn

    if latex and hasattr(gn, "formula"):  # the same LaTeX the trace and the notebooks show
        f = gn.formula(op.name)
        return f.forward, ";  ".join(f.derivatives) or "no gradient"
    if op.formula is not None:
        try:
            return _sympy_formulas(op, latex)
        except Exception:  # noqa: BLE001 - a formula sympy cannot handle: fall back to text
            pass
    fn = getattr(gn, op.name, None)
    doc = inspect.getdoc(fn) if fn is not None else ""
    fwd = (doc or "").strip().splitlines()[0] if doc else (op.template or "")
    der = op.derivative or ("no gradient" if op.vjp is None else "see the vjp rule")
    return fwd, der


def _sympy_formulas(op: Any, latex: bool) -> tuple[str, str]:
    import sympy as sp

    sig = inspect.signature(op.formula)
    pos = [p for p in list(sig.parameters.values())[1:]
           if p.default is inspect.Parameter.empty
           and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    syms = [sp.Symbol(c, real=True) for c in _SYMS[: len(pos)]]
    expr = op.formula(sp, *syms)
    show = sp.latex if latex else _plain
    parts = []
    y = sp.Symbol("y", real=True)
    for k, s in enumerate(syms):
        if k in op.nondiff or op.vjp is None:
            continue
        raw = sp.diff(expr, s)
        form = None
        if len(syms) == 1:  # the lectures' form in terms of the output y, when it has one
            form = next((f for f in (y, y * (1 - y), 1 - y**2)
                         if sp.simplify(raw - f.subs(y, expr)) == 0), None)
        simple = sp.simplify(raw) if form is None else raw
        d = simple if sp.count_ops(simple) + 2 <= sp.count_ops(raw) else raw
        text = f"d/d{s} = {show(d)}"
        if form is not None:
            text += f" = {show(form)}  (y = output)"
        parts.append(text)
    if op.vjp is None:
        return show(expr), "none (not differentiable)"
    return show(expr), ";  ".join(parts) if parts else "no gradient"


def _plain(expr: Any) -> str:
    return str(expr).replace("**", "^")


@click.command(epilog="""\b
Examples:
  graphnn ops                      # every op
  graphnn ops sigmoid tanh relu    # just these
  graphnn ops --latex sigmoid      # LaTeX formulas (for slides)
  graphnn ops --markdown > ops.md
""")
@click.argument("names", nargs=-1, metavar="[OP]...")
@click.option("--latex", is_flag=True, help="Formulas as LaTeX (gn.formula).")
@click.option("--markdown", is_flag=True, help="A Markdown table.")
def ops(names: tuple[str, ...], latex: bool, markdown: bool) -> None:
    """List the registered ops with their forward formula and derivative.

    Elementwise derivatives are derived with sympy from each op's own formula; the
    other ops show the derivative rule recorded with them.
    """
    rows = op_rows(list(names), latex)
    if markdown:
        echo("| op | label | kind | forward | derivative |")
        echo("|---|---|---|---|---|")
        for r in rows:
            cells = [r[k].replace("|", "\\|") for k in ("name", "label", "kind", "forward",
                                                        "derivative")]
            echo("| " + " | ".join(f"`{c}`" if i in (0, 3, 4) else c
                                   for i, c in enumerate(cells)) + " |")
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        head = style(f"{r['name']:<{width}}", None, bold=True)
        echo(f"{head}  {r['label']:<8} {r['kind']}")
        echo(f"{'':<{width}}  forward:    {r['forward']}")
        echo(f"{'':<{width}}  derivative: {r['derivative']}")
