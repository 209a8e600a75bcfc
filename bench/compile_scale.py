"""Compile time and peak memory of ``gn.compile`` against graph size (issue 14 item 11,
issue 15 item 1).

Each size runs in a fresh subprocess (so peak RSS is that size's alone): build a chain
``h = tanh(h * 0.5)`` over ``x * w`` (``--graph scale``: ``tanh(h * w) + 0.1``, the graph
tests/test_scale.py builds), compile it with the gradient of ``sum(h)`` w.r.t. ``w``, call
the compiled function once and compare it with the interpreter. Prints one row per size
and the fitted exponent (slope of log time against log nodes; 1.0 is linear).

``--old DIR`` runs the same measurement against another checkout (e.g. made with
``git worktree add /tmp/scale-old <commit>``) side by side, through PYTHONPATH.

    python bench/compile_scale.py --sizes 1000 5000 20000 100000 --old /tmp/scale-old
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = r"""
import json, resource, sys, time
import numpy as np
import graphnn as gn

n, kind, trace = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
sys.setrecursionlimit(400)  # no pass may recurse over nodes
t0 = time.perf_counter()
with gn.Graph("chain") as g:
    x = gn.input("x", shape=(4,))
    w = gn.param("w", np.full(4, 0.5))
    h = x * w
    while len(g.nodes) < n:
        h = gn.tanh(h * w) + 0.1 if kind == "scale" else gn.tanh(h * 0.5)
    loss = gn.sum(h).named("loss")
build = time.perf_counter() - t0
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if trace:
    import tracemalloc
    tracemalloc.start()
t0 = time.perf_counter()
fn = gn.compile(g, outputs=[loss], wrt=[w])
comp = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1] if trace else 0
if trace:
    tracemalloc.stop()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
xv = np.linspace(-1, 1, 4)
r = fn(x=xv)
ref = gn.run(g, {"x": xv}).value(loss)
ok = bool(np.allclose(r.value(loss), ref, rtol=1e-10))
print(json.dumps({"nodes": len(g.nodes), "build_s": build, "compile_s": comp,
                  "rss_before_mb": rss0 / 1024, "peak_rss_mb": rss1 / 1024,
                  "traced_peak_mb": peak / 2**20, "optimized": len(fn.graph),
                  "source_mb": len(fn.source) / 2**20, "matches": ok}))
"""


def measure(src: str, n: int, kind: str, trace: bool) -> dict[str, Any]:
    """One size in a fresh interpreter with ``src`` first on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), kind, "1" if trace else "0"],
                         env=env, capture_output=True, text=True, check=True, cwd=src)
    return json.loads(out.stdout.strip().splitlines()[-1])


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(ys) against log(xs)."""
    lx, ly = [math.log(v) for v in xs], [math.log(v) for v in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    num = sum((a - mx) * (b - my) for a, b in zip(lx, ly))
    den = sum((a - mx) ** 2 for a in lx)
    return num / den if den else float("nan")


def table(label: str, rows: list[dict[str, Any]]) -> str:
    """Markdown rows for one checkout, then the fitted exponents."""
    lines = [f"### {label}", "",
             "| nodes | build s | compile s | us/node | peak RSS MB | RSS before compile MB "
             "| traced peak MB | optimized nodes | source MB | matches |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['nodes']} | {r['build_s']:.2f} | {r['compile_s']:.2f} | "
                     f"{1e6 * r['compile_s'] / r['nodes']:.0f} | {r['peak_rss_mb']:.0f} | "
                     f"{r['rss_before_mb']:.0f} | {r['traced_peak_mb']:.0f} | "
                     f"{r['optimized']} | {r['source_mb']:.1f} | {r['matches']} |")
    ns = [r["nodes"] for r in rows]
    if len(rows) > 1:
        lines += ["", f"exponent (log-log slope): compile time "
                  f"{slope(ns, [r['compile_s'] for r in rows]):.2f}, build time "
                  f"{slope(ns, [r['build_s'] for r in rows]):.2f}, peak RSS "
                  f"{slope(ns, [r['peak_rss_mb'] for r in rows]):.2f}"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 100000])
    ap.add_argument("--graph", choices=["mulconst", "scale"], default="mulconst")
    ap.add_argument("--old", help="another checkout to measure side by side")
    ap.add_argument("--old-max", type=int, default=10**9,
                    help="skip sizes above this for --old (the old code is slow)")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="also trace Python allocations during compile (slower)")
    a = ap.parse_args()
    runs = [("this checkout", ROOT, 10**9)]
    if a.old:
        runs.append((f"old: {a.old}", os.path.abspath(a.old), a.old_max))
    for label, src, limit in runs:
        rows = []
        for n in a.sizes:
            if n <= limit:
                rows.append(measure(src, n, a.graph, a.tracemalloc))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        print(table(f"{label} (graph {a.graph})", rows), "\n", flush=True)


if __name__ == "__main__":
    main()
