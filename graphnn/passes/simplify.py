"""Algebraic simplification: each op record lists its own rewrite rules (``simplify``,
written in :mod:`graphnn.ops.rewrites`, where each rule documents its domain guard);
``ELEMENTWISE_RULES`` apply to every elementwise op. A rule is called as ``rule(ctx, node,
new_inputs)`` with the pass's Rebuilder as ``ctx``. A replacement must have the node's
dtype; a smaller shape is broadcast back (``broadcast_to``).

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(3,))
...     y = (-(-(x * 1.0)) - 0.0).named("y")
>>> h, (y2,), n = simplify(g, [y])
>>> y2.name, n
('x', 3)

``x + 0.0`` stays: for ``x = -0.0`` it is ``+0.0``.

>>> with gn.Graph() as g:
...     x = gn.input("x")
...     y = (x + 0.0).named("y")
>>> simplify(g, [y])[2]
0
"""

from __future__ import annotations

from collections.abc import Sequence

from graphnn.core.ir import Graph, Node
from graphnn.ops import rewrites as R
from graphnn.passes.rewrite import Rebuilder, WouldRewrite
from graphnn.passes.sweep import Plan, sweep

Rule = R.Rule

ELEMENTWISE_RULES: list[Rule] = [R.unbroadcast]
_EW = tuple(ELEMENTWISE_RULES)
_RULES: dict[object, tuple[Rule, ...]] = {}  # per op record: its rules, then _EW


def _apply(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    op = n.op
    if op.leaf or not (op.simplify or op.elementwise):
        return None
    rules = _RULES.get(op)
    if rules is None:
        rules = _RULES[op] = op.simplify + _EW if op.elementwise else op.simplify
    for rule in rules:
        out = rule(rb, n, ins)
        if out is None or out.dtype != n.dtype:
            continue
        if out.shape != n.shape:
            try:
                out = rb.op("broadcast_to", out, shape=n.shape)
            except WouldRewrite:  # a dry run: the rule fires
                raise
            except Exception:  # noqa: BLE001 - not broadcastable: rule does not apply
                continue
        return out
    return None


def simplify(graph: Graph, outputs: Sequence[Node]) -> tuple[Graph, list[Node], int]:
    """Apply the op records' rules once over the graph (rules see already-simplified inputs).

    Returns (graph, outputs, nodes rewritten); the graph itself when no rule applies.
    """
    new, outs, counts = sweep(graph, outputs, PLAN)
    return new, outs, int(counts)


PLAN = Plan(rules=(("simplify", _apply),))
