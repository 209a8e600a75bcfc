"""Small problems stay single-threaded: while a compiled call or ``gn.fit`` runs a graph
whose largest op has between :data:`TINY_MADDS` and :data:`SMALL_MADDS` multiply-adds,
the BLAS library (found by threadpoolctl) runs one thread. A multi-threaded GEMM of a
small matrix spends more time waking and waiting for a second core than computing, and
on a shared machine the wait can last a scheduler slice (bench/RESULTS.md: a batch-norm
MLP trained 7x faster per epoch with one BLAS thread on a busy 2-core machine). Below
TINY_MADDS OpenBLAS stays on one thread by itself, and switching costs ~20 us a call.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(64, 64)); y = x @ gn.param("W", np.ones((64, 64)))
>>> largest_madds(g)
262144
>>> with blas_threads_for(largest_madds(g)) as limited:
...     limited == bool(blas_libraries())
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphnn.core.ir import Graph

SMALL_MADDS = 1 << 24   # ops under this (a 256 x 256 x 256 GEMM) run on one BLAS thread
TINY_MADDS = 1 << 16    # ... unless all are under this: then nothing is switched
_state: dict[str, Any] = {"depth": 0, "libs": None}


def largest_madds(graph: Graph) -> int:
    """Multiply-adds of the most expensive op node of ``graph`` (its op's ``cost``, else
    its size)."""
    from graphnn.run.jacobian import node_cost

    best, shapes = 0, set()
    for n in graph.nodes:  # ops without a cost rule cost their size: one per shape
        op = n.op
        if op.leaf:
            continue
        if op.cost is None:
            shapes.add(n.shape)
        else:
            best = max(best, node_cost(n))
    return max([best] + [max(math.prod(s), 1) for s in shapes])


def blas_libraries() -> list[Any]:
    """threadpoolctl's controllers of the loaded BLAS libraries (found once; empty when
    threadpoolctl is missing or finds none)."""
    if _state["libs"] is None:
        try:
            from threadpoolctl import ThreadpoolController

            _state["libs"] = list(ThreadpoolController().select(user_api="blas")
                                  .lib_controllers)
        except Exception:  # noqa: BLE001 - no BLAS control: leave threads alone
            _state["libs"] = []
    return _state["libs"]


@contextmanager
def blas_threads_for(madds: int) -> Iterator[bool]:
    """One BLAS thread inside the block when ``madds`` (the largest op's work) lies in
    [:data:`TINY_MADDS`, :data:`SMALL_MADDS`); yields whether it limited (nested blocks
    keep the outer setting). The previous thread counts come back on exit."""
    if not TINY_MADDS <= madds < SMALL_MADDS or _state["depth"] or not blas_libraries():
        yield False
        return
    saved = [(lib, lib.get_num_threads()) for lib in blas_libraries()]
    for lib, n in saved:
        if n != 1:
            lib.set_num_threads(1)
    _state["depth"] += 1
    try:
        yield True
    finally:
        _state["depth"] -= 1
        for lib, n in saved:
            if n != 1:
                lib.set_num_threads(n)
