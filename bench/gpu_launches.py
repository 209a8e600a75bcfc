"""Device work per training step of compiled CuPy graphs, counted on the CPU through the
CuPy stand-in (tests/cupy_standin.py): the LeNet and MLP steps of bench/gpu_check.py
with the ops' own GPU kernels (their records' ``gpu``: conv, pool, cross-entropy,
softmax), side by side with
the same steps compiled from the NumPy helpers run with ``xp = cupy`` (the path before
the kernels), in one process.

A launch is a device call that writes memory: a result in new memory (not a view of an
argument; ``empty`` / ``empty_like`` allocate without a kernel), an ``out=`` argument,
an item assignment, or a kernel's output argument. Views (reshape, transpose, basic
slices) are counted apart. Per-launch cost on a GPU is a few microseconds whatever the
size, so at small batches the step's time follows the launch count (issue 13: the
LeNet step at batch 64 was 2.4x PyTorch eager on an H200).

Then the same steps with gn.optim.Adam compiled in (``optimizer=``): the fused update is
one multi-tensor kernel per run of params (before: one kernel per param).

Run: ``PYTHONPATH=. python3 bench/gpu_launches.py`` (needs g++, no GPU).
"""

from __future__ import annotations

import collections
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

NO_KERNEL = {"empty", "empty_like"}


@contextmanager
def without_gpu_records() -> Iterator[None]:
    """The registry's ops without their ``gpu`` (compiled modules then use the NumPy
    helpers with ``xp = cupy``); restored afterwards."""
    import graphnn as gn

    saved = {op: op.gpu for op in gn.REGISTRY.values() if op.gpu is not None}
    for op in saved:
        object.__setattr__(op, "gpu", None)  # the record is frozen: a bench-only swap
    try:
        yield
    finally:
        for op, gpu in saved.items():
            object.__setattr__(op, "gpu", gpu)


def _name(fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """A readable name for one recorded device call."""
    inner = None
    for cell in getattr(fn, "__closure__", None) or ():
        v = cell.cell_contents
        if isinstance(v, str):
            return v
        inner = inner or getattr(v, "__name__", None)
    if inner:
        return inner
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        return getattr(owner, "name", type(owner).__name__)
    return getattr(fn, "__name__", "?")


def count_step(cp: Any, build: Callable[[], tuple[Any, ...]],
               adam: bool = False) -> collections.Counter[str]:
    """Launches and views of one call of a compiled CuPy step (after a warm-up call);
    ``adam``: with gn.optim.Adam's update compiled into the step (``update_kernels``: how
    many kernels it has)."""
    import graphnn as gn
    from tests import cupy_standin_graph as graph

    g, feeds, outs, wrt = build()
    opt = gn.optim.Adam(wrt, lr=1e-3) if adam else None
    f = gn.compile(g, outputs=outs, wrt=wrt, backend="cupy", optimizer=opt)
    dev = {k: cp.asarray(v) for k, v in feeds.items()}
    f(dev)
    counts: collections.Counter[str] = collections.Counter()
    real = graph.run_op

    def spy(fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any],
            writes: tuple[Any, ...] = ()) -> Any:
        ins = [a._h for a in args if isinstance(a, cp.ndarray)]
        res = real(fn, args, kw, writes)
        name = _name(fn, args)
        new = isinstance(res, cp.ndarray) and not any(
            np.may_share_memory(res._h, h) for h in ins)
        if name == "setitem" or writes or kw.get("out") is not None or (
                new and name not in NO_KERNEL):
            counts["launches"] += 1
            counts[f"launch:{name}"] += 1
        else:
            counts["views"] += 1
        return res

    graph.run_op = spy
    try:
        f(dev)
    finally:
        graph.run_op = real
    counts["update_kernels"] = len(f.update_kernels)
    counts["params"] = len(wrt)
    return counts


def models() -> list[tuple[str, Callable[[], tuple[Any, ...]]]]:
    """bench/gpu_check.py's training steps (float32)."""
    from gpu_check import train_step_graph

    def step(model: str, batch: int, index: bool) -> Callable[[], tuple[Any, ...]]:
        def build() -> tuple[Any, ...]:
            g, params, feeds = train_step_graph(model, batch, index)
            return g, feeds, [g.node("loss")], params
        return build

    return [("LeNet-5, batch 64, CE of class indices", step("lenet", 64, True)),
            ("LeNet-5, batch 64, one-hot targets (log_softmax)", step("lenet", 64, False)),
            ("MLP 784-256-128-10, batch 64, one-hot targets", step("mlp", 64, False)),
            ("MLP 784-256-128-10, batch 64, CE of class indices", step("mlp", 64, True))]


def main() -> int:
    from tests.cupy_standin import installed

    print("| step | launches: NumPy helpers on CuPy | launches: own kernels | ratio | "
          "views (before / after) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    with installed() as cp:
        for label, build in models():
            with without_gpu_records():
                before = count_step(cp, build)
            after = count_step(cp, build)
            print(f"| {label} | {before['launches']} | {after['launches']} | "
                  f"{before['launches'] / max(after['launches'], 1):.2f}x | "
                  f"{before['views']} / {after['views']} |", flush=True)
            if "--detail" in sys.argv:
                for name, c in (before, "before"), (after, "after"):
                    top = sorted(((k[7:], v) for k, v in name.items()
                                  if k.startswith("launch:")), key=lambda kv: -kv[1])
                    print(f"    {c}: " + ", ".join(f"{k} {v}" for k, v in top))
        print("\n| step with Adam compiled in (own kernels) | launches | of which the update "
              "| params |")
        print("| --- | ---: | ---: | ---: |")
        for label, build in models():
            c = count_step(cp, build, adam=True)
            print(f"| {label} | {c['launches']} | {c['update_kernels']} kernel(s) | "
                  f"{c['params']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
