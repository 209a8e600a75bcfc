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
from graphnn.core.traverse import ancestors
from graphnn.passes.rewrite import rebuild


def dce(graph: Graph, outputs: Sequence[Node]) -> tuple[Graph, list[Node], int]:
    """Drop every node no output depends on. Returns (graph, outputs, nodes removed)."""
    keep = ancestors(list(outputs)) if outputs else [False] * len(graph.nodes)
    new, outs, _ = rebuild(graph, outputs, keep=keep)
    return new, outs, len(graph.nodes) - len(new.nodes)
