"""Full-Jacobian materialisation of a 784-256-10 MLP w.r.t. its input (10 x 784).

Side by side in one process:
- graphnn forward mode (784 JVP sweeps through the interpreter) and reverse mode
  (10 VJP sweeps), with the cost model's sweeps and multiply-adds;
- a hand-written NumPy closed form J = W2 diag(sigma'(z1)) W1 (the floor: what a
  human who knows the network writes);
- jax.jacfwd / jax.jacrev under jax.jit when jax is installed (optional extra),
  compile time reported separately.

    python bench/bench_jacobian.py [--repeat 5] [--out bench/results_trace.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

# One BLAS thread: on a shared 2-core machine a multi-threaded GEMM can stall for
# tens of milliseconds waiting for a core (measured: 0.16 ms vs 20 ms run to run).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from _timing import best_of  # noqa: E402

import graphnn as gn  # noqa: E402


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=None, help="write a Markdown report here")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    W1v = rng.normal(scale=784 ** -0.5, size=(256, 784))
    b1v = rng.normal(scale=0.1, size=256)
    W2v = rng.normal(scale=256 ** -0.5, size=(10, 256))
    b2v = rng.normal(scale=0.1, size=10)
    xv = rng.uniform(0, 1, size=784)

    with gn.Graph("mlp784") as g:
        x = gn.input("x", shape=(784,))
        W1, b1 = gn.param("W1", W1v), gn.param("b1", b1v)
        W2, b2 = gn.param("W2", W2v), gn.param("b2", b2v)
        y = (W2 @ gn.sigmoid(W1 @ x + b1) + b2).named("y")
    feeds = {"x": xv}

    def numpy_closed_form() -> np.ndarray:
        s = 1 / (1 + np.exp(-(W1v @ xv + b1v)))
        return (W2v * (s * (1 - s))) @ W1v

    ref = numpy_closed_form()
    rows = []
    cost = gn.jacobian_cost(g, y, x)
    for mode in ("forward", "reverse"):
        J = gn.jacobian(g, y, x, feeds, mode=mode)
        err = float(np.abs(np.asarray(J) - ref).max())
        t = best_of(lambda m=mode: gn.jacobian(g, y, x, feeds, mode=m), args.repeat)
        rows.append((f"graphnn {mode} mode", J.sweeps, f"{J.madds:,}", t, err, ""))
    t = best_of(numpy_closed_form, args.repeat * 4)
    rows.append(("NumPy closed form W2 diag(s') W1", "-", f"{10 * 256 * 784:,}", t, 0.0, ""))

    jax_note = "jax not installed (optional: pip install jax)"
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jW1, jb1, jW2, jb2 = map(jnp.asarray, (W1v, b1v, W2v, b2v))

        def f(v):
            return jW2 @ jax.nn.sigmoid(jW1 @ v + jb1) + jb2

        jx = jnp.asarray(xv)
        for name, tr in (("jax.jacfwd", jax.jacfwd), ("jax.jacrev", jax.jacrev)):
            fn = jax.jit(tr(f))
            t0 = time.perf_counter()
            Jj = fn(jx).block_until_ready()
            first = time.perf_counter() - t0
            t = best_of(lambda fn=fn: fn(jx).block_until_ready(), args.repeat * 4)
            err = float(np.abs(np.asarray(Jj) - ref).max())
            rows.append((f"{name} (jit, x64)", "vmap", "-", t, err, f"first call {first:.3f} s"))
        jax_note = f"jax {jax.__version__} on {jax.default_backend()}"
    except ImportError:
        pass

    base = rows[1][3]
    lines = [
        "# Jacobian materialisation: 784-256-10 sigmoid MLP, d y / d x (10 x 784)",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, NumPy {np.__version__} with "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; {jax_note}.",
        f"Best of {args.repeat} runs (more for the fast rows), float64, one process. "
        "Command: `python bench/bench_jacobian.py`.",
        "",
        "| method | sweeps | multiply-adds (model) | time | vs graphnn reverse | max abs err |",
        "|---|---|---|---|---|---|",
    ]
    for name, sweeps, madds, t, err, note in rows:
        ratio = t / base
        lines.append(f"| {name} | {sweeps} | {madds} | {t * 1e3:.2f} ms"
                     f"{' (' + note + ')' if note else ''} | {ratio:.3g}x | {err:.1e} |")
    lines += ["", "Cost model (gn.jacobian_cost):", "", "```", str(cost), "```", "",
              "Reading: the lecture claim with numbers. For 10 outputs and 784 inputs reverse "
              "mode needs 10 sweeps and forward mode 784; the measured time ratio between "
              "graphnn's two modes follows the multiply-add ratio of the cost model. graphnn "
              "sweeps one basis vector at a time through the node-by-node interpreter (each "
              "sweep is a real matrix-vector product per layer), while jax vmaps all basis "
              "vectors into one matrix-matrix product per layer and compiles it, and the "
              "closed form needs no sweeps at all; that is why they are faster in absolute "
              "terms even though they do the same work. jax's forward mode still pays for its "
              "784 columns (jacfwd vs jacrev)."]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
