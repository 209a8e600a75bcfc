"""Common-subexpression elimination: two nodes with the same op, the same inputs and the
same static params (or two equal constants) become one.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x")
...     y = (gn.exp(x) + gn.exp(x)).named("y")
>>> h, (y2,), merged = cse(g, [y])
>>> merged, y2.inputs[0] is y2.inputs[1]
(1, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphnn.core.ir import CONST, Graph, Node
from graphnn.passes.sweep import Plan, sweep

#: Constants up to this many elements are compared by value.
MAX_CONST_KEY = 1 << 16


def freeze(v: Any) -> Any:
    """A hashable stand-in for a static parameter value; floats by their bits, so ``0.0``
    and ``-0.0`` stay apart and ``nan`` matches itself.

    >>> freeze(0.0) == freeze(-0.0), freeze(float("nan")) == freeze(float("nan"))
    (False, True)
    """
    if isinstance(v, (float, np.floating)):
        return (type(v).__name__, np.asarray(v).tobytes())
    if isinstance(v, np.ndarray):
        return ("array", v.dtype, v.shape, v.tobytes())
    if isinstance(v, (list, tuple)):
        return tuple(freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, freeze(x)) for k, x in v.items()))
    try:
        hash(v)
    except TypeError:
        return ("repr", repr(v))
    return (type(v).__name__, v)


def _key(n: Node, ins: tuple[Node, ...]) -> Any:
    if n.op is CONST:
        v = n.params["value"]
        if np.size(v) > MAX_CONST_KEY:
            return None
        return ("const", freeze(np.asarray(v, dtype=n.dtype)))
    op = n.op
    if op.leaf or not op.pure:
        return None
    params = n.params
    # the dtype itself, not ``dtype.str`` (which builds a string per call): equal dtypes
    # compare and hash equal
    return (op.name, tuple([i.id for i in ins]), freeze(dict(params)) if params else (),
            n.dtype)


def cse(graph: Graph, outputs: Sequence[Node]) -> tuple[Graph, list[Node], int]:
    """Merge duplicate nodes. Returns (graph, outputs, nodes merged); the graph itself
    when there are none."""
    new, outs, counts = sweep(graph, outputs, Plan(key=_key))
    return new, outs, int(counts)
