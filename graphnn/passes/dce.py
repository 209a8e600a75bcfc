"""Dead-code elimination: keep only the nodes the outputs depend on.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x")
...     y = gn.exp(x).named("y")
...     unused = gn.log(x)
>>> h, outs, removed = dce(g, [y])
>>> [n.name for n in h.nodes], removed
(['x', 'y'], 1)
"""

from __future__ import annotations

from collections.abc import Sequence

from graphnn.core.ir import Graph, Node
from graphnn.passes.sweep import Plan, sweep


def dce(graph: Graph, outputs: Sequence[Node]) -> tuple[Graph, list[Node], int]:
    """Drop every node no output depends on. Returns (graph, outputs, nodes removed);
    the graph itself when every node is needed."""
    new, outs, counts = sweep(graph, outputs, Plan(dce=True))
    return new, outs, int(counts)
