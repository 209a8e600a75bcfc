"""Full-Jacobian materialisation of a 784-256-10 MLP w.r.t. its input (10 x 784).

Side by side in one process, timed in interleaved rounds (every variant once per round,
so load from other jobs hits them alike), min and median per variant:
- graphnn forward / reverse mode, batched (all basis vectors in one sweep of matrix
  products), one vector per sweep (the teaching loop, ``batched=False``) and compiled
  (``gn.compile_jacobian``: the batched sweep as generated NumPy code);
- a hand-written NumPy closed form J = W2 diag(sigma'(z1)) W1 (the floor);
- jax.jit(jax.jacfwd / jax.jacrev) and torch.func.jacfwd / jacrev when installed
  (optional peers, never dependencies).
Also printed: load average, BLAS kernel and thread count (threadpoolctl), and the cost
model's predicted forward/reverse ratio beside the measured one.

    python bench/bench_jacobian.py [--rounds 15] [--out bench/results_trace.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

# One BLAS thread for every library: the comparison is per core, and on a shared 2-core
# machine a multi-threaded GEMM can stall waiting for a core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from _timing import cpu_model  # noqa: E402

import graphnn as gn  # noqa: E402

Row = tuple[str, Callable[[], object], np.ndarray]


def blas_info() -> str:
    from threadpoolctl import threadpool_info

    return "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
                     f"{i.get('num_threads')} threads)" for i in threadpool_info()
                     if i.get("user_api") == "blas") or "no BLAS found"


def interleaved(rows: list[Row], rounds: int) -> dict[str, list[float]]:
    """Seconds per call: each round calls every variant once (after one warm-up each)."""
    for _, fn, _ in rows:
        fn()
    times: dict[str, list[float]] = {name: [] for name, _, _ in rows}
    for _ in range(rounds):
        for name, fn, _ in rows:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def peers(Wv: list[np.ndarray], xv: np.ndarray) -> tuple[list[Row], list[str]]:
    """jax.jit(jacfwd/jacrev) and torch.func.jacfwd/jacrev rows, when installed."""
    rows: list[Row] = []
    notes: list[str] = []
    W1v, b1v, W2v, b2v = Wv
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jW = [jnp.asarray(w) for w in Wv]
        jx = jnp.asarray(xv)

        def f(v):
            return jW[2] @ jax.nn.sigmoid(jW[0] @ v + jW[1]) + jW[3]

        for name, tr in (("jacfwd", jax.jacfwd), ("jacrev", jax.jacrev)):
            fn = jax.jit(tr(f))
            t0 = time.perf_counter()
            J = np.asarray(fn(jx).block_until_ready())
            notes.append(f"jax.jit({name}) first call (trace + compile) "
                         f"{time.perf_counter() - t0:.3f} s")
            rows.append((f"jax.jit(jax.{name})", lambda fn=fn: fn(jx).block_until_ready(), J))
        notes.insert(0, f"jax {jax.__version__} ({jax.default_backend()}, x64)")
    except ImportError:
        notes.append("jax not installed")
    try:
        import torch
        from torch.func import jacfwd, jacrev

        torch.set_num_threads(1)
        tW = [torch.from_numpy(w) for w in Wv]
        tx = torch.from_numpy(xv)

        def tf(v):
            return tW[2] @ torch.sigmoid(tW[0] @ v + tW[1]) + tW[3]

        for name, tr in (("jacfwd", jacfwd), ("jacrev", jacrev)):
            fn = tr(tf)
            rows.append((f"torch.func.{name}", lambda fn=fn: fn(tx), fn(tx).numpy()))
        notes.insert(0, f"torch {torch.__version__} ({torch.get_num_threads()} thread)")
    except ImportError:
        notes.append("torch not installed")
    return rows, notes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", default=None, help="write a Markdown report here")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    Wv = [rng.normal(scale=784 ** -0.5, size=(256, 784)), rng.normal(scale=0.1, size=256),
          rng.normal(scale=256 ** -0.5, size=(10, 256)), rng.normal(scale=0.1, size=10)]
    xv = rng.uniform(0, 1, size=784)
    with gn.Graph("mlp784") as g:
        x = gn.input("x", shape=(784,))
        W1, b1, W2, b2 = (gn.param(n, v) for n, v in zip(("W1", "b1", "W2", "b2"), Wv))
        y = (W2 @ gn.sigmoid(W1 @ x + b1) + b2).named("y")
    feeds = {"x": xv}

    def closed_form() -> np.ndarray:
        s = 1 / (1 + np.exp(-(Wv[0] @ xv + Wv[1])))
        return (Wv[2] * (s * (1 - s))) @ Wv[0]

    ref = closed_form()
    rows: list[Row] = [("NumPy closed form W2 diag(s') W1", closed_form, ref)]
    for mode in ("reverse", "forward"):
        for batched in (True, False):
            def fn(m=mode, b=batched):
                return gn.jacobian(g, y, x, feeds, mode=m, batched=b)
            label = f"graphnn {mode}, {'batched' if batched else 'one vector per sweep'}"
            rows.append((label, fn, np.asarray(fn())))
        jac = gn.compile_jacobian(g, y, x, mode=mode)
        rows.append((f"graphnn {mode}, compiled (gn.compile_jacobian)",
                     lambda jac=jac: jac(feeds), np.asarray(jac(feeds))))
    peer_rows, notes = peers(Wv, xv)
    rows += peer_rows
    times = interleaved(rows, args.rounds)
    print(report(g, y, x, feeds, rows, times, notes, args.rounds))
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(report(g, y, x, feeds, rows, times, notes, args.rounds) + "\n")


def report(g: gn.Graph, y: gn.Node, x: gn.Node, feeds: dict, rows: list[Row],
           times: dict[str, list[float]], notes: list[str], rounds: int) -> str:
    cost = gn.jacobian_cost(g, y, x)
    ref = rows[0][2]
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        "# Jacobian materialisation: 784-256-10 sigmoid MLP, d y / d x (10 x 784)", "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores (shared with other jobs), Python "
        f"{platform.python_version()}, NumPy {np.__version__}, BLAS: {blas_info()}; "
        f"{'; '.join(notes)}. Load average (1/5/15 min) after the run: {load}.",
        f"{rounds} interleaved rounds (one call of every variant per round, after a warm-up),"
        " float64, one thread each. Command: `python bench/bench_jacobian.py`.", "",
        "| method | passes | min | median | min vs jax.jit | min vs torch.func | max abs err |",
        "|---|---|---|---|---|---|---|",
    ]
    best = {n: min(t) for n, t in times.items()}
    for name, _, J in rows:
        mode = "jacfwd" if "forward" in name or "jacfwd" in name else "jacrev"
        ratio = " | ".join(
            f"{best[name] / best[p]:.2f}x" if p in best and "closed" not in name else "-"
            for p in (f"jax.jit(jax.{mode})", f"torch.func.{mode}"))
        passes = ("1" if "batched" in name or "compiled" in name else "784" if "forward"
                  in name else "10" if "graphnn" in name else "-")
        lines.append(f"| {name} | {passes} | {best[name] * 1e3:.3f} ms | "
                     f"{statistics.median(times[name]) * 1e3:.3f} ms | {ratio} | "
                     f"{float(np.abs(J - ref).max()):.1e} |")
    fwd, rev = (best[f"graphnn {m}, batched"] for m in ("forward", "reverse"))
    one_f, one_r = (best[f"graphnn {m}, one vector per sweep"] for m in ("forward", "reverse"))
    model = cost.forward_madds / cost.reverse_madds
    lines += ["", "Forward / reverse time ratio: cost model (multiply-adds) "
              f"{model:.1f}x; measured batched {fwd / rev:.1f}x, one vector per sweep "
              f"{one_f / one_r:.1f}x.", "", "Cost model (gn.jacobian_cost):", "", "```",
              str(cost), "```"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
