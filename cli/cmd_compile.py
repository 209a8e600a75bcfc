"""``graphnn compile``: write the generated NumPy or CuPy source of a graph."""

from __future__ import annotations

from typing import Any

import click

from graphnn_cli.common import echo, model_options, parse_feeds, split_names, write_text_atomic


@click.command(epilog="""\b
Examples:
  graphnn compile                                  # lecture graph, source on stdout
  graphnn compile examples/models/mlp_342.py -o mlp.py
  graphnn compile model.py --backend cupy --wrt params -o model_cupy.py
  graphnn compile --expr "sigmoid(w * x + b)" --show-passes
""")
@model_options
@click.option("--of", "of", multiple=True, metavar="NODE",
              help="Outputs to compute (default: the graph's outputs).")
@click.option("--backend", type=click.Choice(["numpy", "cupy"]), default="numpy",
              show_default=True, help="Array library of the generated code.")
@click.option("--no-grad", is_flag=True, help="Forward only (no gradient outputs).")
@click.option("--show-passes", is_flag=True,
              help="Show what each compiler pass did (before and after).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the source to this .py file (default: stdout).")
def compile_(model: str | None, expr: str | None, feeds: tuple[str, ...], wrt: tuple[str, ...],
             seed: int, of: tuple[str, ...], backend: str, no_grad: bool, show_passes: bool,
             output: str | None) -> None:
    """Compile MODEL to straight-line Python source for NumPy or CuPy.

    By default the generated function returns the outputs and the gradients with
    respect to every input and param (--wrt to choose, --no-grad for none).
    """
    from graphnn_cli.cmd_render import need
    from graphnn_cli.loader import load, wrt_nodes

    m = load(model, expr, parse_feeds(feeds))
    comp = need("compile", "the codegen module")
    g = m.graph
    outs = [g.node(n) for n in split_names(of)] or g.default_outputs()
    names = split_names(wrt)
    if names == ["params"]:
        nodes: Any = g.params
    else:
        nodes = [] if no_grad else wrt_nodes(m, names)
    cg = comp(g, outputs=outs, wrt=nodes or None, backend=backend)
    if show_passes:
        for text in pass_views(cg):
            echo(text)
    if output is None:
        if not show_passes:
            echo(cg.source.rstrip("\n"))
        return
    write_text_atomic(output, cg.source)
    lines = cg.source.count("\n")
    echo(f"wrote {output} ({backend}, {lines} lines)")


def pass_views(cg: Any) -> list[str]:
    """Text blocks describing each pass: its name, and the code before and after."""
    passes = getattr(cg, "passes", None)
    if passes is None:
        return ["(this compiler does not record its passes)"]
    blocks = []
    for p in passes:
        name = getattr(p, "name", None) or (p[0] if isinstance(p, tuple) else str(p))
        summary = getattr(p, "summary", "") or ""
        before = getattr(p, "before", None)
        after = getattr(p, "after", None)
        if before is None and isinstance(p, tuple) and len(p) >= 3:
            before, after = p[1], p[2]
        head = f"== pass {name}" + (f": {summary}" if summary else "")
        body = []
        if before is not None:
            body.append("-- before\n" + str(before).rstrip())
        if after is not None:
            body.append("-- after\n" + str(after).rstrip())
        blocks.append("\n".join([head, *body]))
    return blocks
