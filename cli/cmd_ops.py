"""``graphnn ops``: the op table with forward and derivative formulas."""

from __future__ import annotations

import inspect
from typing import Any

import click

from graphnn_cli.common import CliError, echo, style


def readable(text: str) -> str:
    """sympy's text as a terminal reader wants it: ``|x|``, ``x²``, ``·``.

    >>> readable("dy/dx = 1 - y^2 = Abs(x)*2")
    'dy/dx = 1 - y² = |x|·2'
    """
    import re

    text = re.sub(r"Abs\(([^()]*)\)", r"|\1|", text)
    text = re.sub(r"\*\*2\b|\^2\b", "²", text)
    return text.replace("**", "^").replace("*", "·")


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring, on one line, without reST markup."""
    para = " ".join(doc.strip().split("\n\n")[0].split())
    end = para.find(". ")
    return (para if end < 0 else para[:end + 1]).replace("``", "").replace("`", "")


def op_rows(names: list[str] | None = None, latex: bool = False,
            show_all: bool = False) -> list[dict[str, str]]:
    """One row per registered (non-leaf) op: name, label, kind, forward, derivative.

    The formulas come from ``gn.formula``: derived with sympy from the op's own formula
    for elementwise ops (shown in terms of the output y where that is shorter), the
    recorded derivative rule for the others.

    >>> row = op_rows(["mul"])[0]
    >>> row["forward"], row["derivative"]
    ('y = a*b', 'dy/da = b;  dy/db = a')
    """
    import graphnn as gn
    from graphnn.ops.support import internal

    reg = gn.REGISTRY
    if names:
        unknown = [n for n in names if n not in reg or reg[n].leaf]
        if unknown:
            raise CliError(f"unknown op {unknown[0]!r}; `graphnn ops` lists them all")
        ops = [reg[n] for n in names]
    else:
        ops = [reg[k] for k in sorted(reg) if not reg[k].leaf
               and (show_all or not internal(reg[k]))]
    rows = []
    for op in ops:
        fwd, der = _formulas(op, latex)
        kind = "elementwise" if op.elementwise else "structural"
        rows.append({"name": op.name, "label": op.display, "kind": kind, "forward": fwd,
                     "derivative": der})
    return rows


def _formulas(op: Any, latex: bool) -> tuple[str, str]:
    import graphnn as gn

    f = gn.formula(op.name)
    if f is not None and latex:
        return f.forward, ";  ".join(f.derivatives) or "no gradient"
    if f is not None and op.elementwise and callable(op.sympy):  # "y = ...; dy/da = ..."
        forward, *ders = [p.strip().replace("**", "^") for p in f.text.split("; ")]
        return forward, ";  ".join(ders) or "no gradient"
    fn = getattr(gn, op.name, None)
    doc = op.doc or ((inspect.getdoc(fn) or "").strip() if fn is not None else "")
    forward = first_sentence(doc) if doc else (op.numpy or op.name)
    if f is not None:
        derivative = ";  ".join(f.derivatives)
    else:
        derivative = op.trace.text if isinstance(op.trace, gn.TraceText) else ""
    return forward, derivative or ("none" if op.vjp is None else "see the vjp rule")


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
@click.option("--all", "show_all", is_flag=True,
              help="Also the internal ops autodiff makes (conv2d_grad_input, ...).")
def ops(names: tuple[str, ...], latex: bool, markdown: bool, show_all: bool) -> None:
    """List the registered ops with their forward formula and derivative.

    Elementwise derivatives are derived with sympy from each op's own formula (and
    shown in terms of the output y where the lectures do so); the other ops show the
    derivative rule recorded with them.
    """
    rows = op_rows(list(names), latex, show_all)
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
        echo(f"{'':<{width}}  forward:    {readable(r['forward'])}")
        echo(f"{'':<{width}}  derivative: {readable(r['derivative'])}")
    if any("H(" in r["forward"] + r["derivative"] or "[" in r["forward"] + r["derivative"]
           for r in rows):
        echo("\n{a if c, b otherwise}: cases; [c]: 1 where c holds, else 0; H(x): the unit "
             "step, [x > 0] with H(0) = 1/2")
