"""Graph traversal shared by every layer: ancestor and descendant masks over node ids.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x"); y = gn.input("y")
...     z = (x * 2.0).named("z")
>>> ancestors([z])[y.id], ancestors([z])[x.id]
(False, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphnn.core.ir import Graph, Node


def ancestors(outputs: Sequence[Node]) -> list[bool]:
    """Mask over node ids: True for ``outputs`` and everything they depend on."""
    graph = outputs[0].graph
    nodes = graph.nodes
    mark = [False] * len(nodes)
    last = -1
    for n in outputs:
        mark[n.id] = True
        last = max(last, n.id)
    # nodes are in topological order: one backward sweep marks every input of a marked node
    for k in range(last, -1, -1):
        if mark[k]:
            for i in nodes[k].inputs:
                mark[i.id] = True
    return mark


def descendants_mask(graph: Graph, sources: Sequence[Node], within: list[bool]) -> list[bool]:
    """Mask of nodes (inside ``within``) that depend on any of ``sources``."""
    mark = [False] * len(graph.nodes)
    for s in sources:
        mark[s.id] = within[s.id]
    for n in graph.nodes:
        if within[n.id] and not mark[n.id]:
            for i in n.inputs:
                if mark[i.id]:
                    mark[n.id] = True
                    break
    return mark


def backward_mask(outputs: Sequence[Node], wrt: Sequence[Node]) -> list[bool]:
    """Nodes on a path from some ``wrt`` node to some output: those carrying gradients."""
    anc = ancestors(outputs)
    return descendants_mask(outputs[0].graph, wrt, anc)


def shape_of(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else ()
