"""``graphnn grad-check``: finite differences against autodiff, node by node."""

from __future__ import annotations

import sys
from typing import Any

import click

from graphnn_cli.common import (
    POSITIVE_FLOAT,
    echo,
    model_options,
    parse_feeds,
    passes_tol,
    progress,
    split_names,
    style,
)

KINK = 1e-3  # one-sided slopes differing by more than this (relative) mark a kink


def sampled_fd(f: Any, x: Any, grad: Any, rng: Any, eps: float,
               max_entries: int) -> tuple[float, int]:
    """Compare ``grad`` (the claimed gradient of the scalar ``f`` at ``x``) with central
    differences at up to ``max_entries`` sampled entries of ``x``.

    Returns (relative error, entries skipped). Entries where the left and right slopes
    differ (ReLU at 0, tied maxima in a pooling window) have no derivative to compare
    and are skipped.

    >>> import numpy as np
    >>> x = np.array([1.0, -2.0, 0.0])
    >>> err, skipped = sampled_fd(lambda v: float(np.sum(np.abs(v))), x, np.sign(x),
    ...                           np.random.default_rng(0), 1e-6, 8)
    >>> err < 1e-8, skipped   # |x| has a kink at 0: that entry is skipped
    (True, 1)
    """
    import numpy as np

    from graphnn.testing import rel_err

    idx = np.arange(x.size)
    if x.size > max_entries:
        idx = rng.choice(x.size, size=max_entries, replace=False)
    f0 = f(x)
    keep, num = [], []
    for i in idx:
        xp_, xm_ = x.copy(), x.copy()
        xp_.flat[i] += eps
        xm_.flat[i] -= eps
        fp, fm = f(xp_), f(xm_)
        right, left = (fp - f0) / eps, (f0 - fm) / eps
        if abs(right - left) > KINK * max(1.0, abs(right), abs(left)):
            continue
        keep.append(i)
        num.append((fp - fm) / (2 * eps))
    err = rel_err(np.asarray(grad).reshape(-1)[keep], num) if keep else 0.0
    return err, len(idx) - len(keep)


def local_checks(run: Any, nodes: list[Any], rng: Any, eps: float, max_entries: int,
                 progress: Any = None) -> list[tuple[Any, int, float, int]]:
    """Check each op node's vjp rule at the run's values.

    Returns (node, input index, relative error, entries skipped at kinks). For a random
    cotangent u, the vjp of input k must equal the gradient of <u, forward(inputs)>
    with respect to input k (see :func:`sampled_fd`).
    """
    import numpy as np

    from graphnn.ops.linalg import sum_to

    rows = []
    for n in nodes:
        if progress is not None:
            progress.update(1)
        if n.op.leaf or n.op.vjp is None:
            continue
        ins = [np.array(run.value(i), dtype=np.float64) for i in n.inputs]
        out = np.asarray(run.value(n), dtype=np.float64)
        u = rng.standard_normal(out.shape)
        with np.errstate(all="ignore"):
            cts = n.op.vjp(u, out, *ins, **n.params)
        for k, x in enumerate(ins):
            if (k in n.op.nondiff or n.inputs[k].dtype.kind != "f" or cts[k] is None
                    or not run.has_grad(n.inputs[k])):
                continue
            with np.errstate(all="ignore"):
                ct = cts[k]() if callable(cts[k]) else cts[k]
            if ct is None:
                continue
            ct = np.asarray(ct, dtype=np.float64)
            if ct.shape != x.shape:
                ct = np.asarray(sum_to(ct, x.shape), dtype=np.float64)

            def f(v: Any, k: int = k) -> float:
                args = list(ins)
                args[k] = v
                with np.errstate(all="ignore"):
                    return float(np.sum(u * n.op.forward(np, *args, **n.params)))

            rows.append((n, k, *sampled_fd(f, x, ct, rng, eps, max_entries)))
    return rows


def end_to_end(graph: Any, feeds: dict[str, Any], run: Any, loss: Any, rng: Any, eps: float,
               max_entries: int, progress: Any = None) -> list[tuple[Any, float, int]]:
    """d loss / d each ``run.wrt`` node against central differences of whole runs."""
    import numpy as np

    import graphnn as gn

    rows = []
    for w in run.wrt:
        if progress is not None:
            progress.update(1)
        base = np.array(feeds[w.name] if w.name in feeds else graph.value_of(w),
                        dtype=np.float64)

        def f(v: Any, name: str = w.name) -> float:
            return float(gn.run(graph, {**feeds, name: v}, outputs=[loss]).value(loss))

        rows.append((w, *sampled_fd(f, base, run.grad(w), rng, eps, max_entries)))
    return rows


@click.command(epilog="""\b
Examples:
  graphnn grad-check                             # lecture graph (x + y) * z
  graphnn grad-check examples/models/mlp_342.py --tol 1e-7
  graphnn grad-check --expr "sum(tanh(w * x))" --feed x=[1,2,3] --feed w=[0.5,-1,2]
""")
@model_options
@click.option("--of", "of", metavar="NODE", help="Output to differentiate (a non-scalar "
              "output is summed).")
@click.option("--eps", type=POSITIVE_FLOAT, default=1e-6, show_default=True,
              help="Finite-difference step.")
@click.option("--tol", type=POSITIVE_FLOAT, default=1e-6, show_default=True,
              help="Largest relative error that passes.")
@click.option("--max-entries", type=click.IntRange(min=1), default=64, show_default=True,
              help="Entries sampled per tensor for finite differences (all entries of "
              "smaller tensors).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary line.")
def grad_check(model: str | None, expr: str | None, feeds: tuple[str, ...],
               wrt: tuple[str, ...], seed: int, of: str | None, eps: float, tol: float,
               max_entries: int, quiet: bool) -> None:
    """Compare autodiff gradients of MODEL with central finite differences.

    Two checks: node by node (each op's local derivative rule at this run's values,
    so a wrong rule is pinned to its node), then end to end (d output / d each WRT
    node, from whole runs). Large tensors are checked at --max-entries sampled
    entries; points where the function has a kink (ReLU at 0, tied maxima) are
    skipped. Prints the worst relative error, max |a - b| / max(1, |b|); exits with
    status 1 when it exceeds --tol.
    """
    import numpy as np

    import graphnn as gn
    from graphnn_cli.loader import complete_feeds, load, output_node, wrt_nodes

    m = load(model, expr, parse_feeds(feeds))
    g = m.graph
    out = output_node(m, of)
    loss = out if out.shape == () else gn.sum(out, name=f"sum_{out.name}")
    nodes = wrt_nodes(m, split_names(wrt))
    fed = complete_feeds(m, seed)
    r = gn.run(g, fed, wrt=nodes, outputs=[loss], loss=loss)
    on_path = [n for n in g.nodes if r.has_grad(n) and not n.op.leaf]
    rng = np.random.default_rng(seed)
    with progress(len(on_path) + len(r.wrt), "checking gradients") as bar:
        rows = local_checks(r, on_path, rng, eps, max_entries, bar)
        ends = end_to_end(g, fed, r, loss, rng, eps, max_entries, bar)
    worst: tuple[float, str] = (0.0, "")
    table = [(n.name, n.op.name, n.inputs[k].name, str(n.inputs[k].shape), e, kinks)
             for n, k, e, kinks in rows]
    w = [max([len(h)] + [len(t[c]) for t in table]) for c, h in
         enumerate(("node", "op", "input", "shape"))]
    if not quiet:
        echo(f"{'node':<{w[0]}}  {'op':<{w[1]}}  {'input':<{w[2]}}  {'shape':<{w[3]}}  "
             f"{'rel. error':>10}")
    for name, op, inp, shape, e, kinks in table:
        if not quiet:
            echo(f"{name:<{w[0]}}  {op:<{w[1]}}  {inp:<{w[2]}}  {shape:<{w[3]}}  "
                 f"{_err(e, tol)}" + _kinks(kinks))
        if _worse(e, worst[0]):
            worst = (e, f"node '{name}' ({op}) w.r.t. input '{inp}'")
    head = f"d{loss.name}/d..."
    w0 = max([len(head)] + [len(x.name) for x, *_ in ends])
    w1 = max([5] + [len(str(x.shape)) for x, *_ in ends])
    if not quiet:
        echo("")
        echo(f"{head:<{w0}}  {'shape':<{w1}}  {'rel. error':>10}")
    for x, e, kinks in ends:
        if not quiet:
            echo(f"{x.name:<{w0}}  {str(x.shape):<{w1}}  {_err(e, tol)}" + _kinks(kinks))
        if _worse(e, worst[0]):
            worst = (e, f"d{loss.name}/d{x.name}")
    ok = passes_tol(worst[0], tol)  # a NaN error anywhere fails
    bad = [(n, k, e) for n, k, e, _ in rows if not passes_tol(e, tol)]
    if bad:
        n, k, e = bad[0]
        echo(f"first wrong local derivative: node '{n.name}' ({n.op.name}) w.r.t. input "
             f"'{n.inputs[k].name}' (rel. error {e:.2e}; created at {n.loc})")
    verdict = style("ok", None, fg="green") if ok else style("FAILED", None, fg="red", bold=True)
    echo(f"worst relative error {worst[0]:.2e} at {worst[1] or '-'}: {verdict} (tol {tol:g})")
    if not ok:
        sys.exit(1)


def _kinks(n: int) -> str:
    return f"  ({n} at kinks skipped)" if n else ""


def _worse(e: float, than: float) -> bool:
    """``e`` is at least as bad as ``than``; NaN is worse than any number."""
    if e != e:
        return True
    return than == than and e >= than


def _err(e: float, tol: float) -> str:
    text = f"{e:>10.2e}"
    return text if passes_tol(e, tol) else style(text + "  !", None, fg="red")
