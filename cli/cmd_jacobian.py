"""``graphnn jacobian``: materialize a Jacobian in forward and/or reverse mode."""

from __future__ import annotations

from typing import Any

import click

from graphnn_cli.common import (
    CliError,
    atomic_path,
    echo,
    model_options,
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

    The Jacobian is m x n with m = size of OF and n = the total size of the WRT nodes
    (comma separated, every input and param by default; shapes are flattened and the
    blocks put side by side). With --mode both, forward and reverse mode are computed, checked to
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
    nodes = wrt_nodes(m, split_names(wrt))  # every input and param by default
    if not nodes:
        raise CliError("the graph has no inputs or params to differentiate with respect to")
    fed = complete_feeds(m, seed)
    modes = ["forward", "reverse"] if mode == "both" else [mode]
    results = {md: [gn.jacobian(m.graph, of=out, wrt=w, feeds=fed, mode=md) for w in nodes]
               for md in modes}
    mats = {md: np.hstack([_matrix(r, out) for r in rs]) for md, rs in results.items()}
    J = mats[modes[-1]]
    if output is not None:
        _save(output, J)
    else:
        names = nodes[0].name if len(nodes) == 1 else f"({', '.join(w.name for w in nodes)})"
        shapes = ", ".join(f"{w.name} {w.shape}" for w in nodes)
        echo(f"Jacobian d{out.name}/d{names}: {J.shape[0]} x {J.shape[1]}"
             f"  ({out.name} {out.shape}, {shapes})")
        with np.printoptions(precision=precision, suppress=True, linewidth=100):
            echo(str(J))
    echo("")
    _report(results, mats, J)


def _save(output: str, J: Any) -> None:
    import numpy as np

    with atomic_path(output) as tmp:
        if output.endswith(".npy"):
            with open(tmp, "wb") as fh:
                np.save(fh, J)
        else:
            np.savetxt(tmp, J, delimiter="," if output.endswith(".csv") else " ")
    wrote(output, f"wrote {output} (shape {J.shape[0]} x {J.shape[1]})")


def _report(results: dict[str, list[Any]], mats: dict[str, Any], J: Any) -> None:
    """Costs, sweeps and multiply-adds per mode; the forward/reverse agreement check."""
    import numpy as np

    for r in results[list(results)[-1]]:
        cost = getattr(r, "cost", None)
        if cost is not None:
            echo(str(cost))
    for md, rs in results.items():
        secs = [getattr(r, "seconds", None) for r in rs]
        total = sum(s for s in secs if s is not None) if None not in secs else None
        echo(f"computed in {getattr(rs[0], 'mode', '') or md} mode: "
             f"{_count(rs, 'sweeps', 'sweep')}, {_count(rs, 'madds', 'multiply-add')}"
             + (f", {total * 1e3:.2f} ms" if total is not None else ""))
    if len(mats) == 2:
        diff = float(np.max(np.abs(mats["forward"] - mats["reverse"]), initial=0.0))
        scale = max(1.0, float(np.max(np.abs(J), initial=0.0)))
        if diff > 1e-9 * scale:
            raise CliError(f"forward and reverse mode disagree (max difference {diff:.2e})")
        echo(f"forward and reverse mode agree (max difference {diff:.1e})")


def _matrix(result: Any, of: Any) -> Any:
    import numpy as np

    a = np.asarray(getattr(result, "matrix", result), dtype=np.float64)
    rows = int(np.prod(of.shape, dtype=np.int64))
    return a.reshape(rows, -1)


def plural(n: int, word: str) -> str:
    """``1 sweep``, ``3 sweeps``, ``1,024 multiply-adds``.

    >>> plural(1, "sweep"), plural(3, "sweep"), plural(1024, "multiply-add")
    ('1 sweep', '3 sweeps', '1,024 multiply-adds')
    """
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _count(results: list[Any], attr: str, word: str) -> str:
    vals = [getattr(r, attr, None) for r in results]
    return f"? {word}s" if None in vals else plural(sum(int(v) for v in vals), word)
