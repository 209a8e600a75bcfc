"""Constant folding: an op whose inputs are all constants becomes a constant.

The value is computed once, at compile time, with the op's own forward rule (the same
code the interpreter runs), so folding never changes a result.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x")
...     y = (x * (gn.const(2.0) + 1.0)).named("y")
>>> h, (y2,), n = fold(g, [y])
>>> n, y2.inputs[1].op.name, float(y2.inputs[1].params["value"])
(1, 'const', 3.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphnn.core.ir import CONST, Graph, Node
from graphnn.passes.rewrite import Rebuilder
from graphnn.passes.sweep import Plan, sweep

#: Results larger than this many elements stay computed at run time (keeps sources small).
MAX_FOLD_SIZE = 1 << 16
#: Folds reading more than this many operand elements (a sum over a broadcast) are skipped.
MAX_FOLD_WORK = 1 << 20


def const_value(n: Node) -> np.ndarray | None:
    """The value of a constant node, or of ``broadcast_to(scalar constant)`` (the compact
    form of a uniform constant); None otherwise."""
    if n.op is CONST:
        return n.params["value"]
    if n.op.name == "broadcast_to" and n.inputs[0].op is CONST:
        return np.broadcast_to(n.inputs[0].params["value"], n.shape)
    return None


def uniform(value: np.ndarray) -> bool:
    """Every element has the same bits as the first (``==`` would merge ``-0.0`` with
    ``0.0`` and never match NaN).

    >>> uniform(np.array([0.0, 0.0])), uniform(np.array([0.0, -0.0]))
    (True, False)
    """
    flat = np.ascontiguousarray(value).reshape(-1)
    cells = flat.view(np.uint8).reshape(flat.size, -1)
    return bool(np.all(cells == cells[:1]))


def _fold_rule(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    if n.op.leaf or not ins:
        return None
    for i in ins:  # cheap test first: every input constant (or a broadcast constant)?
        if i.op is not CONST and not (i.op.name == "broadcast_to" and i.inputs[0].op is CONST):
            return None
    if n.op.name == "broadcast_to" and ins[0].op is CONST and ins[0].shape == ():
        return None  # already the compact form of a uniform constant
    vals = [const_value(i) for i in ins]
    if any(v is None for v in vals):
        return None
    if n.size > MAX_FOLD_SIZE or not n.op.pure or sum(
            np.size(v) for v in vals) > MAX_FOLD_WORK:
        return None  # large results or large (broadcast) operands: left to run time
    with np.errstate(all="ignore"):
        value = n.op.forward(np, *vals, **n.params)
    value = np.asarray(value, dtype=n.dtype)
    if value.size > 1 and uniform(value):
        # a uniform array stays a scalar plus broadcast_to, which elementwise consumers
        # absorb (simplify), instead of a large literal
        from graphnn.ops.linalg import broadcast_to

        return broadcast_to(rb.const(value.flat[0], n), n.shape)
    return rb.const(value.copy(), n)


def fold(graph: Graph, outputs: Sequence[Node]) -> tuple[Graph, list[Node], int]:
    """Fold constant subexpressions. Returns (graph, outputs, nodes folded); the graph
    itself when nothing folds."""
    new, outs, counts = sweep(graph, outputs, PLAN)
    return new, outs, int(counts)


PLAN = Plan(rules=(("fold", _fold_rule),))
