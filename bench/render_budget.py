"""Where the in-process WebAssembly Graphviz stops being practical, and how fast an
over-budget render is refused: layout+SVG time of scalar chains (x -> alternating
``h * c`` and ``tanh(h)``, one shared constant c, drawn once per consumer) and of deep
tanh MLPs with their gn.grad backward pass, at growing sizes; then the time gn.render
takes to refuse graphs over the budget (graphnn.viz.engine.MAX_NODES).

    .venv/bin/python bench/render_budget.py [--chains 500,1000,2000]
        [--mlps 30,60,118] [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import graphnn as gn  # noqa: E402
from bench.graphs import deep_mlp, scalar_chain  # noqa: E402
from bench.trace_scale import machine  # noqa: E402
from graphnn.viz import engine as E  # noqa: E402
from graphnn.viz.dot import dot_size  # noqa: E402


def chain(n: int) -> gn.Graph:
    return scalar_chain(n)[0]


def timed_render(g: gn.Graph, run: object = None, **kw: object) -> tuple[float, str]:
    t = time.perf_counter()
    try:
        gn.render(g, run=run, engine="wasm", max_nodes=10**9, **kw)
        ok = "ok"
    except gn.GraphError as e:
        ok = "fails: " + str(e).split(";")[0][:70]
    return time.perf_counter() - t, ok


def refusal(g: gn.Graph, run: object = None) -> float:
    t = time.perf_counter()
    try:
        gn.render(g, run=run, engine="wasm")
    except gn.GraphError:
        return time.perf_counter() - t
    raise SystemExit(f"{len(g.nodes)}-node graph was not refused")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chains", default="500,1000,2000")
    ap.add_argument("--mlps", default="30,60,118")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    E.dot_to_svg("digraph { a -> b }", "wasm")  # load the engine once, not timed
    lines = ["# Render budget of the in-process WebAssembly Graphviz", "",
             f"Machine: {machine()}.", "",
             "Command: `python bench/render_budget.py " + " ".join(sys.argv[1:]) + "`.", "",
             "| graph | graph nodes | DOT nodes | DOT edges | wasm layout+SVG (s) | result |",
             "|---|---|---|---|---|---|"]
    for n in (int(s) for s in a.chains.split(",")):
        g = chain(n)
        t, ok = timed_render(g, show_values=False)
        lines.append(f"| chain, shared const | {len(g.nodes):,} | {dot_size(g)[0]:,} | "
                     f"{dot_size(g)[1]:,} | {t:.2f} | {ok} |")
    for layers in (int(s) for s in a.mlps.split(",")):
        g, feeds = deep_mlp(layers)
        r = gn.run(g, feeds)
        t, ok = timed_render(g, r)
        lines.append(f"| tanh MLP {layers} layers + grad | {len(g.nodes):,} | "
                     f"{dot_size(g)[0]:,} | {dot_size(g)[1]:,} | {t:.2f} | {ok} |")
    lines += ["", f"Budget: {E.MAX_NODES} DOT nodes, {E.EDGES_PER_NODE} edges per node.", ""]
    for n in (5_000, 100_000):
        lines.append(f"Refusing a {n:,}-node chain: {refusal(chain(n)):.3f} s.")
    g, feeds = deep_mlp(300)
    lines.append(f"Refusing a {len(g.nodes):,}-node MLP with its run: "
                 f"{refusal(g, gn.run(g, feeds)):.3f} s.")
    lines.append(f"\nLoad average after the run: "
                 f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}.")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.write:
        (Path(__file__).resolve().parent / "results_render_budget.md").write_text(text)


if __name__ == "__main__":
    main()
