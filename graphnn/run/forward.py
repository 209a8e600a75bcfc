"""Forward-mode autodiff (JVP): push tangents through the graph alongside the values,
using each op's jvp rule. Numeric here; the same rules build nodes when given nodes.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x"); y = gn.input("y"); z = gn.input("z")
...     f = ((x + y) * z).named("f")
>>> vals, tans = gn.jvp(g, {"x": 1, "y": -3, "z": 4}, tangents={"x": 1.0}, outputs=[f])
>>> float(tans["f"])
4.0
>>> r = gn.jvp(g, {"x": 1, "y": -3, "z": 4}, tangents={"x": 1.0}, outputs=[f])
>>> float(r.value(f)), float(r.tangent("f"))
(-8.0, 4.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from graphnn.core.errors import GradError, describe, fmt_shape
from graphnn.core.ir import Graph, Node
from graphnn.core.traverse import shape_of
from graphnn.ops.linalg import broadcast_to
from graphnn.run.results import MISSING, Results, ref_name


def propagate(order: list[Node], value: Any, tangents: dict[int, Any]) -> dict[int, Any]:
    """Fill ``tangents`` (node id -> tangent) for every node of ``order`` (topological)
    whose inputs carry one. ``value(node)`` gives primals (arrays, or nodes)."""
    for n in order:
        if n.op.leaf or n.id in tangents:
            continue
        ts = [tangents.get(i.id) for i in n.inputs]
        if all(t is None for t in ts):
            continue
        ts = [None if k in n.op.nondiff else t for k, t in enumerate(ts)]
        if n.op.jvp is None:
            raise GradError(f"op '{n.op.name}' has no forward-mode rule ({describe(n)})", node=n)
        t = n.op.jvp(ts, value(n), *[value(i) for i in n.inputs], **n.params)
        if t is None:
            continue
        if shape_of(t) != n.shape:
            t = broadcast_to(t, n.shape)
        tangents[n.id] = t
    return tangents


class JvpResult(Results, tuple):
    """What ``gn.jvp`` returns: the pair ``(values, tangents)`` of name -> array dicts for
    the outputs (so ``vals, tans = gn.jvp(...)`` unpacks), answering the result protocol:
    ``value(ref)`` and ``tangent(ref)`` by node or name (a jvp takes no gradients)."""

    __slots__ = ()
    kind = "jvp"

    def __new__(cls, values: dict[str, Any], tangents: dict[str, Any]) -> JvpResult:
        return tuple.__new__(cls, (values, tangents))

    @property
    def values(self) -> dict[str, Any]:
        return self[0]

    @property
    def tangents(self) -> dict[str, Any]:
        return self[1]

    def _lookup(self, what: str, ref: str | Node) -> Any:
        table = {"value": self[0], "tangent": self[1]}.get(what, {})
        return table.get(ref_name(ref), MISSING)

    def _available(self, what: str) -> list[str]:
        return list(self[0]) if what == "value" else list(self[1]) if what == "tangent" else []

    def _hint(self, what: str, ref: str | Node) -> str:
        return ("a jvp pushes tangents forward; take gradients with gn.run(..., wrt=)"
                if what == "grad" else "it is not an output of this jvp")


def jvp(graph: Graph, feeds: Mapping[str | Node, Any] | None, tangents: Mapping[str | Node, Any],
        outputs: Any = None) -> JvpResult:
    """Values and tangents (directional derivatives) of ``outputs``.

    ``tangents`` maps input or param names/nodes to a direction of the same shape.
    Returns a :class:`JvpResult`: the pair (name -> value, name -> tangent) for the
    outputs (zero tangents included), also read with ``r.value(ref)`` / ``r.tangent(ref)``.
    """
    from graphnn.run.interpret import run

    r = run(graph, feeds, outputs=outputs)
    tan: dict[int, Any] = {}
    for k, v in tangents.items():
        n = graph.node(k)
        arr = np.asarray(v, dtype=n.dtype)
        if arr.shape != n.shape:
            raise GradError(f"tangent for {describe(n)} has shape {fmt_shape(arr.shape)}", node=n)
        tan[n.id] = arr
    order = [n for n in graph.nodes if r.has_value(n)]
    with np.errstate(all="ignore"):
        propagate(order, lambda n: r.value(n), tan)
    vals = {o.name: r.value(o) for o in r.outputs}
    tans = {o.name: np.asarray(tan[o.id]) if o.id in tan else np.zeros(o.shape, o.dtype)
            for o in r.outputs}
    return JvpResult(vals, tans)
