"""Host (Python) work per call of a compiled CuPy training step replayed as a CUDA graph,
the replay itself excluded: what graphnn does on the CPU before each launch (feeds and
params checked and gathered, the fused optimizer's scalars and state buffers, the
capture's identity check, the result). On a GPU this time is added to every step and,
for a small step (an MLP at batch 64 is ~30 kernels), it is a large part of it.

Measured on the CPU through the CuPy stand-in (tests/cupy_standin.py) with the graph's
replay replaced by returning its outputs, best of 5 loops of 2,000 calls. The stand-in's
arrays answer ``shape`` / ``dtype`` through Python, real CuPy arrays in C, so absolute
numbers here are higher than on a GPU host; the ratio between trees is what counts.

    PYTHONPATH=. python3 bench/host_overhead.py                 # this tree
    PYTHONPATH=. python3 bench/host_overhead.py --base REV      # REV and this tree,
                                                                # alternating processes

With ``--base`` each tree runs in its own fresh process (a runtime change cannot be
imported twice into one process), alternating over ``--rounds`` rounds; the medians and
their ratio are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def step_graph(model: str, batch: int) -> tuple[Any, list[Any], dict[str, Any]]:
    """An MLP 784-256-128-10 or a LeNet-5 training step in float32 (bench/gpu_check.py's
    networks, written here again so that an older tree runs the same graph)."""
    import numpy as np

    import graphnn as gn

    rng = np.random.default_rng(2)
    f32 = "float32"

    def param(name: str, shape: tuple[int, ...]) -> Any:
        return gn.param(name, (rng.standard_normal(shape) * 0.1).astype(f32))

    xshape = (batch, 784) if model == "mlp" else (batch, 1, 28, 28)
    with gn.Graph(f"{model}_step") as g:
        x, t = gn.input("x", xshape, dtype=f32), gn.input("t", (batch, 10), dtype=f32)
        if model == "mlp":
            h, sizes = x, [784, 256, 128, 10]
        else:
            h = gn.max_pool2d(gn.relu(gn.conv2d(x, param("c1", (6, 1, 5, 5)),
                                                param("cb1", (6,)), padding=2)), 2)
            h = gn.max_pool2d(gn.relu(gn.conv2d(h, param("c2", (16, 6, 5, 5)),
                                                param("cb2", (16,)))), 2)
            h, sizes = gn.flatten(h, 1), [400, 120, 84, 10]
        for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
            h = h @ param(f"W{k}", (a, b)) + param(f"b{k}", (b,))
            h = gn.relu(h) if k < len(sizes) - 2 else h
        (-gn.mean(gn.sum(t * gn.log_softmax(h, axis=1), axis=1))).named("loss")
    feeds = {"x": rng.standard_normal(xshape).astype(f32),
             "t": np.eye(10, dtype=f32)[rng.integers(0, 10, batch)]}
    return g, list(g.params), feeds


def measure(calls: int = 2000, loops: int = 5) -> dict[str, float]:
    """Microseconds of host work per call, replay excluded, per model."""
    sys.path.insert(0, os.getcwd())
    import graphnn as gn
    from graphnn.run.device import params_on_device
    from tests.cupy_standin import installed

    out = {}
    with installed() as cp:
        for model in ("mlp", "lenet"):
            g, ps, host = step_graph(model, 8)
            feeds = {k: cp.asarray(v) for k, v in host.items()}
            opt = gn.optim.Adam(ps, lr=1e-3)
            with params_on_device(cp, g, ps):
                f = gn.compile(g, ["loss"], wrt=ps, backend="cupy", optimizer=opt,
                               cuda_graph=True)
                for _ in range(3):  # warm-up, capture, one replay
                    f(feeds)
                step = f.cuda_graph
                assert step is not None and step.status == "captured", step
                step._replay = lambda args, s=step: s._outs  # the launch, excluded
                best = float("inf")
                for _ in range(loops):
                    t0 = time.perf_counter()
                    for _ in range(calls):
                        f(feeds)
                    best = min(best, (time.perf_counter() - t0) / calls)
            out[model] = best * 1e6
    return out


def tree_of(rev: str) -> str:
    """A temporary folder holding ``rev``'s files (git archive)."""
    dest = tempfile.mkdtemp(prefix="graphnn_base_")
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def run_in(tree: str) -> dict[str, float]:
    """:func:`measure` in a fresh process whose graphnn is ``tree``'s."""
    env = dict(os.environ, PYTHONPATH=tree)
    code = (f"import sys, json; sys.path.insert(0, {HERE!r}); import host_overhead as h; "
            "print(json.dumps(h.measure()))")
    res = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", help="git revision to compare with (alternating processes)")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if not a.base:
        for model, us in measure().items():
            print(f"{model}: {us:.1f} us per call")
        return 0
    trees = {"base": tree_of(a.base), "this tree": ROOT}
    got: dict[str, dict[str, list[float]]] = {k: {} for k in trees}
    for _ in range(a.rounds):
        for name, tree in trees.items():
            for model, us in run_in(tree).items():
                got[name].setdefault(model, []).append(us)
    print(f"| step (batch 8, Adam, CUDA graph) | {a.base} | this tree | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for model in got["base"]:
        b, n = (statistics.median(got[k][model]) for k in ("base", "this tree"))
        print(f"| {model} | {b:.1f} us | {n:.1f} us | {b / n:.2f}x less |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
