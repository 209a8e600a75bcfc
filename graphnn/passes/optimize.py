"""The default optimization: simplify, fold, cse and dce in ONE traversal per round
(``passes.sweep``), repeated by ``gn.compile`` while a round changes something. A round
that would change nothing copies nothing.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x")
...     y = (gn.exp(x * 1.0) + gn.exp(x) * (gn.const(2.0) - 1.0)).named("y")
>>> h, (y2,), counts = optimize(g, [y])   # the constants folding orphaned go too
>>> str(counts), [n.name for n in h.nodes]
('2 simplified, 1 folded, 2 merged, 3 dropped', ['x', 'exp_1', 'y'])
>>> optimize(h, [y2])[0] is h   # a fixed point: the next round copies nothing
True
"""

from __future__ import annotations

from collections.abc import Sequence

from graphnn.core.ir import Graph, Node
from graphnn.passes.cse import _key
from graphnn.passes.fold import _fold_rule
from graphnn.passes.simplify import _apply
from graphnn.passes.sweep import Counts, Plan, sweep

#: simplify first, then fold what is left, merging as nodes are copied, dead ones skipped
PLAN = Plan(rules=(("simplify", _apply), ("fold", _fold_rule)), key=_key, dce=True)


def optimize(graph: Graph, outputs: Sequence[Node]) -> tuple[Graph, list[Node], Counts]:
    """One round of every default pass. Returns (graph, outputs, counts); ``graph``
    itself when the round would change nothing."""
    return sweep(graph, outputs, PLAN)
