"""``graphnn render``: draw a graph with its values and gradients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from graphnn_cli.common import (
    atomic_path,
    echo,
    model_options,
    output_options,
    parse_feeds,
    split_names,
    wrote,
)

FORMATS = ("svg", "png", "pdf", "dot")


def resolve_output(output: str | None, fmt: str | None, stem: str,
                   formats: tuple[str, ...] = FORMATS, default: str = "svg") -> tuple[Path, str]:
    """The output path and format: from -o's suffix, --format, or ``<stem>.<default>``."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt not in formats:
            raise click.BadParameter(f"{fmt!r} is not one of {', '.join(formats)}",
                                     param_hint="--format")
    if output is None:
        fmt = fmt or default
        return Path(f"{stem}.{fmt}"), fmt
    path = Path(output)
    suffix = path.suffix.lower().lstrip(".")
    if fmt is None:
        if suffix not in formats:
            raise click.BadParameter(
                f"cannot tell the format from {output!r}: use a suffix "
                f"({', '.join('.' + f for f in formats)}) or --format", param_hint="-o")
        fmt = suffix
    return path, fmt


@click.command(epilog="""\b
Examples:
  graphnn render                          # lecture graph (x + y) * z -> lecture.svg
  graphnn render -o lecture.png
  graphnn render examples/models/neuron.py --wrt w,b -o neuron.pdf
  graphnn render --expr "sigmoid(w * x)" --feed x=2 --feed w=0.5 -o sig.svg
  graphnn render model.py --no-grads --format dot -o -   # DOT source on stdout
""")
@model_options
@output_options("Image file; the suffix picks the format (default: <model>.svg); "
                "'-' writes to stdout.")
@click.option("--of", "of", metavar="NODE", help="Output node to differentiate (default: "
              "the graph's only output).")
@click.option("--no-grads", is_flag=True, help="Show values only, no backward pass.")
@click.option("--no-values", is_flag=True, help="Draw the bare graph (no run at all).")
@click.option("--rankdir", type=click.Choice(["LR", "TB"]), default=None,
              help="Layout direction (left-to-right or top-to-bottom).")
@click.option("--collapse", is_flag=True, help="Draw each layer (scope) as one box.")
@click.option("--health", is_flag=True,
              help="Colour edges by gradient size (vanishing / exploding).")
@click.option("--no-consts", is_flag=True, help="Hide constant nodes.")
@click.option("--no-shapes", is_flag=True, help="Hide shapes on edges and nodes.")
@click.option("--title", metavar="TEXT", help="Caption under the graph.")
@click.option("--engine", type=click.Choice(["auto", "dot", "wasm"]), default=None,
              help="Graphviz: the system `dot`, the bundled WebAssembly build, or auto.")
@click.option("--max-nodes", type=click.IntRange(min=1), metavar="N", default=None,
              help="Lay out at most N nodes (default: the engine's budget, 2000 for the "
              "WebAssembly Graphviz, 4000 for dot); a bigger drawing stops at once with "
              "a hint (--collapse, --no-grads, --format dot).")
@click.option("--step", type=click.IntRange(min=1), metavar="N",
              help="Draw the state after step N of `graphnn trace` (values and gradients "
              "known so far, step N highlighted).")
def render(model: str | None, expr: str | None, feeds: tuple[str, ...], wrt: tuple[str, ...],
           seed: int, output: str | None, fmt: str | None, of: str | None, no_grads: bool,
           no_values: bool, rankdir: str | None, collapse: bool, health: bool, no_consts: bool,
           no_shapes: bool, title: str | None, engine: str | None, max_nodes: int | None,
           step: int | None) -> None:
    """Draw the graph of MODEL with values (and gradients) on it.

    Without MODEL this draws the lecture example f = (x + y) * z at x = 1, y = -3,
    z = 4: forward values d = -2, f = -8 and gradients df/dx = df/dy = 4,
    df/dz = -2, and prints where it wrote the image.
    """
    from graphnn_cli.loader import load, run_model

    m = load(model, expr, parse_feeds(feeds))
    to_stdout = output == "-"
    if to_stdout:
        fmt = (fmt or "dot").lower()
        if fmt not in ("dot", "svg"):
            raise click.BadParameter("only dot or svg can be written to stdout",
                                     param_hint="--format")
    else:
        path, fmt = resolve_output(output, fmt, m.stem)
    from graphnn import render as draw

    run = None
    options: dict[str, Any] = {"engine": engine, "max_nodes": max_nodes}
    if step is not None:
        options.update(_step_state(m, seed, split_names(wrt), of, step))
    elif not no_values:
        run = run_model(m, seed, split_names(wrt), of, grads=not no_grads)
    for key, value in (("rankdir", rankdir), ("title", title)):
        if value:
            options[key] = value
    for key, flag in (("collapse", collapse), ("health", health)):
        if flag:
            options[key] = True
    for key, flag in (("show_consts", no_consts), ("show_shapes", no_shapes)):
        if flag:
            options[key] = False
    if to_stdout:
        result = draw(m.graph, run=run, format=fmt, **options)
        echo(result if isinstance(result, str) else str(result))
        return
    with atomic_path(path) as tmp:
        draw(m.graph, run=run, path=str(tmp), format=fmt, **options)
    what = ("" if run is None else ", values" + (", gradients" if run.wrt else ""))
    if step is not None:
        what = f", step {step}"
    wrote(path, f"wrote {path} ({fmt}, {len(m.graph.nodes)} nodes{what})")


def _step_state(m: Any, seed: int, wrt: list[str], of: str | None, step: int) -> dict[str, Any]:
    """render() keywords showing the state after trace step ``step`` (1-based)."""
    from graphnn_cli.cmd_trace import make_trace

    tr = make_trace(m, seed, wrt, of)
    if step > len(tr.steps):
        raise click.BadParameter(f"there is no step {step}: the trace has steps 1 to "
                                 f"{len(tr.steps)}", param_hint="--step")
    values, grads = tr.state_at(step - 1)
    return {"step": tr.steps[step - 1], "values": values, "grads": grads}
