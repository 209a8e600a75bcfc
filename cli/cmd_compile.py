"""``graphnn compile``: write the generated NumPy or CuPy source of a graph."""

from __future__ import annotations

from typing import Any

import click

from graphnn_cli.common import (
    CliError,
    atomic_path,
    echo,
    model_options,
    note,
    parse_feeds,
    passes_tol,
    split_names,
    worst_error,
    wrote,
)


@click.command(epilog="""\b
Examples:
  graphnn compile                                  # lecture graph, source on stdout
  graphnn compile examples/models/mlp_342.py -o mlp_gen.py
  graphnn compile model.py --backend cupy --wrt params -o model_cupy.py
  graphnn compile --expr "sigmoid(w * x + b)" --show-passes
  graphnn compile examples/models/mlp_342.py --check   # compiled vs interpreter
""")
@model_options
@click.option("--of", "of", multiple=True, metavar="NODE",
              help="Outputs to compute (default: the graph's outputs).")
@click.option("--backend", type=click.Choice(["numpy", "cupy"]), default="numpy",
              show_default=True, help="Array library of the generated code.")
@click.option("--no-grad", is_flag=True, help="Forward only (no gradient outputs).")
@click.option("--no-optimize", is_flag=True, help="Skip the optimization passes and fusion.")
@click.option("--passes", metavar="NAMES", callback=lambda c, p, v: _check_passes(v),
              help="Run exactly these passes, in order (comma separated: simplify, fold, "
                   "cse, dce).")
@click.option("--show-passes", is_flag=True,
              help="Show what each compiler pass did (node counts and the diff).")
@click.option("--no-params", is_flag=True,
              help="Do not embed the current param values in the saved module.")
@click.option("--no-keep-buffers", is_flag=True,
              help="NumPy: allocate every intermediate on each call (by default those of "
                   "128 KiB and more that never leave the function are kept between calls, "
                   "one set per thread).")
@click.option("--check", is_flag=True, help="Run the compiled code and the interpreter at "
              "the feeds and compare outputs and gradients.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write a standalone module to this .py file (default: source on stdout).")
def compile_(model: str | None, expr: str | None, feeds: tuple[str, ...], wrt: tuple[str, ...],
             seed: int, of: tuple[str, ...], backend: str, no_grad: bool, no_optimize: bool,
             passes: str | None, show_passes: bool, no_params: bool, no_keep_buffers: bool,
             check: bool, output: str | None) -> None:
    """Compile MODEL to straight-line Python source for NumPy or CuPy.

    By default the generated function returns the outputs and the gradients with
    respect to every input and param (--wrt to choose, --wrt params for the params,
    --no-grad for none). One readable line per node, named after the node.
    """
    import graphnn as gn
    from graphnn_cli.loader import load, wrt_nodes

    m = load(model, expr, parse_feeds(feeds))
    g = m.graph
    outs = [g.node(n) for n in split_names(of)] or g.default_outputs()
    names = split_names(wrt)
    if no_grad:
        nodes: Any = []
    elif names == ["params"]:
        nodes = g.params
    else:
        nodes = wrt_nodes(m, names)
    if nodes and len(outs) == 1 and outs[0].shape != ():
        note(f"output '{outs[0].name}' has shape {outs[0].shape}: gradients are of its sum")
        loss = gn.sum(outs[0], name=f"sum_{outs[0].name}")
        kw: dict[str, Any] = {"loss": loss}
    else:
        kw = {}
    if passes is not None:
        kw["passes"] = split_names((passes,))
    cg = gn.compile(g, outputs=outs, wrt=nodes or None, backend=backend, optimize=not no_optimize,
                    keep_buffers=not no_keep_buffers, **kw)
    if show_passes:
        echo(pass_views(cg))
    if check:
        check_compiled(m, cg, seed, nodes, kw.get("loss"))
    if output is None:
        if not show_passes and not check:
            echo(cg.source.rstrip("\n"))
        return
    with atomic_path(output) as tmp:
        cg.save(str(tmp), params=not no_params)
    lines = cg.source.count("\n")
    wrote(output, f"wrote {output} ({backend}, {len(cg.graph)} nodes after optimization, "
         f"{lines} lines)")


def _check_passes(value: str | None) -> str | None:
    """``--passes``: every name must be a known pass (a usage error, exit 2, otherwise)."""
    if value is None:
        return None
    from graphnn.codegen.compiler import PASSES

    bad = [n for n in split_names((value,)) if n not in PASSES]
    if bad:
        raise click.BadParameter(f"unknown pass {bad[0]!r}; passes: "
                                 f"{', '.join(sorted(PASSES))}", param_hint="--passes")
    return value


def pass_views(cg: Any) -> str:
    """What each pass did: node counts and the before/after difference."""
    report = getattr(cg, "pass_report", None)
    if callable(report):
        return str(report())
    return "(this compiler does not record its passes)"


def _difference(a: Any, b: Any, rel_err: Any) -> float:
    """Relative difference of two results; equal non-finite entries (inf and inf, NaN and
    NaN at the same place) agree, any other NaN makes the difference NaN."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("nan")
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(all="ignore"):
        return rel_err(np.where(same, 0.0, a), np.where(same, 0.0, b))


def check_compiled(m: Any, cg: Any, seed: int, wrt: list[Any], loss: Any) -> None:
    """Compare the compiled function with the interpreter (values and gradients)."""
    import graphnn as gn
    from graphnn.testing import rel_err
    from graphnn_cli.loader import complete_feeds

    if getattr(cg, "function", None) is None:
        from graphnn.core.device import cupy_problem

        raise CliError(f"--check: the {cg.backend} module cannot run here "
                       f"({cupy_problem() or 'no GPU'})")
    fed = complete_feeds(m, seed)
    got = cg(fed, host=True)
    outs = [m.graph.node(n) for n in cg.output_names]
    r = gn.run(m.graph, fed, outputs=outs + ([loss] if loss is not None else []),
               wrt=wrt or None, loss=(loss or (outs[0] if wrt else None)))
    pairs = [(got.value(o.name), r.value(o)) for o in outs]
    pairs += [(got.grad(w.name), r.grad(w)) for w in wrt]
    worst = worst_error(_difference(a, b, rel_err) for a, b in pairs)
    verdict = "agree" if passes_tol(worst, 1e-9) else "DISAGREE"
    echo(f"compiled vs interpreter: {len(outs)} output(s), {len(wrt)} gradient(s) "
         f"{verdict} (max relative difference {worst:.1e})")
    if not passes_tol(worst, 1e-9):
        raise CliError(f"compiled code and interpreter differ (max relative difference "
                       f"{worst:.2e})")
