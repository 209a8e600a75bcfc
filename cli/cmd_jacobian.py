"""``graphnn jacobian``: materialize a Jacobian in forward and/or reverse mode."""

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
    split_names,
    wrote,
)


@click.command(epilog="""\b
Examples:
  graphnn jacobian --expr "tanh(W @ x)" --feed W=[[1,2],[3,4],[5,6]] --feed x=[0.1,0.2]
  graphnn jacobian examples/models/mlp_342.py --of o --wrt x --mode reverse
  graphnn jacobian model.py --of h --wrt x -o J.npy     # save the matrix
""")
@model_options
@click.option("--of", "of", metavar="NODE", help="Node to differentiate (default: the output).")
@click.option("--mode", type=click.Choice(["forward", "reverse", "auto", "both"]),
              default="both", show_default=True,
              help="Forward mode (one sweep per input entry), reverse mode (one sweep per "
              "output entry), auto (the cheaper), or both, compared.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Save the Jacobian as .npy (or .txt / .csv).")
@click.option("--precision", type=click.IntRange(0, 17), default=4, show_default=True,
              help="Digits shown when printing.")
def jacobian(model: str | None, expr: str | None, feeds: tuple[str, ...], wrt: tuple[str, ...],
             seed: int, of: str | None, mode: str, output: str | None, precision: int) -> None:
    """Print (or save) the Jacobian d OF / d WRT of MODEL at the given feeds.

    The Jacobian is m x n with m = size of OF and n = size of WRT (shapes are
    flattened). With --mode both, forward and reverse mode are computed, checked to
    agree, and their sweeps and multiply-add counts are compared: reverse is cheaper
    for few outputs, forward for few inputs.
    """
    import numpy as np

    import graphnn as gn
    from graphnn_cli.loader import complete_feeds, load, output_node, wrt_nodes

    m = load(model, expr, parse_feeds(feeds))
    if output is not None and not output.endswith((".npy", ".txt", ".csv")):
        raise click.BadParameter(f"{output!r}: use a .npy, .txt or .csv file", param_hint="-o")
    out = output_node(m, of)
    names = split_names(wrt)
    nodes = wrt_nodes(m, names)
    if not nodes:
        raise CliError("the graph has no inputs or params to differentiate with respect to")
    if len(nodes) > 1:
        if names:
            raise click.BadParameter("give one node (the Jacobian is per input)",
                                     param_hint="--wrt")
        nodes = nodes[:1]
        note(f"no --wrt given: differentiating with respect to '{nodes[0].name}'")
    w = nodes[0]
    fed = complete_feeds(m, seed)
    modes = ["forward", "reverse"] if mode == "both" else [mode]
    results = {md: gn.jacobian(m.graph, of=out, wrt=w, feeds=fed, mode=md) for md in modes}
    mats = {md: _matrix(r, out, w) for md, r in results.items()}
    J = mats[modes[-1]]
    if output is not None:
        with atomic_path(output) as tmp:
            if output.endswith(".npy"):
                with open(tmp, "wb") as fh:
                    np.save(fh, J)
            else:
                np.savetxt(tmp, J, delimiter="," if output.endswith(".csv") else " ")
        wrote(output, f"wrote {output} (shape {J.shape[0]} x {J.shape[1]})")
    else:
        echo(f"Jacobian d{out.name}/d{w.name}: {J.shape[0]} x {J.shape[1]}"
             f"  ({out.name} {out.shape}, {w.name} {w.shape})")
        with np.printoptions(precision=precision, suppress=True, linewidth=100):
            echo(str(J))
    echo("")
    cost = getattr(results[modes[-1]], "cost", None)
    if cost is not None:
        echo(str(cost))
    for md, r in results.items():
        secs = getattr(r, "seconds", None)
        echo(f"computed in {getattr(r, 'mode', '') or md} mode: {_count(r, 'sweeps')} sweeps, "
             f"{_count(r, 'madds')} multiply-adds"
             + (f", {secs * 1e3:.2f} ms" if secs is not None else ""))
    if len(mats) == 2:
        diff = float(np.max(np.abs(mats["forward"] - mats["reverse"]), initial=0.0))
        scale = max(1.0, float(np.max(np.abs(J), initial=0.0)))
        if diff > 1e-9 * scale:
            raise CliError(f"forward and reverse mode disagree (max difference {diff:.2e})")
        echo(f"forward and reverse mode agree (max difference {diff:.1e})")


def _matrix(result: Any, of: Any, wrt: Any) -> Any:
    import numpy as np

    a = np.asarray(getattr(result, "matrix", result), dtype=np.float64)
    rows = int(np.prod(of.shape, dtype=np.int64))
    return a.reshape(rows, -1)


def _count(result: Any, attr: str) -> str:
    v = getattr(result, attr, None)
    return "?" if v is None else f"{int(v):,}"
