"""Elementwise fusion: group maximal trees of elementwise ops into one statement.

A node is folded into its consumer when both are elementwise, the node has exactly one
use (so nothing is computed twice) and it is not an output. Each group has a root (the
value the rest of the program sees) and members in topological order, root last.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(4,))
...     y = (gn.exp(-x * x) + gn.tanh(x)).named("y")
>>> [(grp.root.name, len(grp.nodes)) for grp in fuse(g, [y])]
[('y', 5)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter

from graphnn.core.ir import Graph, Node
from graphnn.core.op import Op, Unsupported
from graphnn.core.traverse import ancestors


@dataclass
class Group:
    """One emitted statement: ``root`` is computed, ``nodes`` (root last) are fused into it."""

    root: Node
    nodes: list[Node] = field(default_factory=list)

    @property
    def fused(self) -> bool:
        return len(self.nodes) > 1

    @cached_property
    def members(self) -> set[int]:
        """Ids of the nodes in the group (computed once: the emitter asks per node)."""
        return {n.id for n in self.nodes}

    def external_inputs(self) -> list[Node]:
        """Inputs read from outside the group, in first-use order (no duplicates)."""
        if len(self.nodes) == 1:  # one node (most statements): its distinct inputs
            return list({i.id: i for i in self.root.inputs}.values())
        inside = self.members
        seen: dict[int, Node] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i.id not in inside and i.id not in seen:
                    seen[i.id] = i
        return list(seen.values())


_NODE_ID = attrgetter("id")

MAX_DEPTH = 32
"""Longest chain of ops inlined into one expression: deeper chains are split into several
statements, which keeps the source readable and the emitter's recursion bounded (a
100,000-node elementwise chain compiles)."""


def fusable(n: Node) -> bool:
    """Elementwise ops can join a fused group, unless their record says they have no C
    form (``cuda=Unsupported``: floor_divide, remainder), which run as their own call."""
    return n.op.elementwise and not n.op.leaf and not isinstance(n.op.cuda, Unsupported)


def fuse(graph: Graph, outputs: Sequence[Node], enabled: bool = True,
         accept: Callable[[Node], bool] | None = None) -> list[Group]:
    """The statements to emit for ``outputs``, in topological order.

    With ``enabled=False`` every op is its own statement (no fusion). ``accept``: the
    backend's own test of a node (its dtypes), both ends of every fused edge must pass.
    """
    needed = ancestors(list(outputs)) if outputs else [False] * len(graph.nodes)
    uses = [0] * len(graph.nodes)
    consumer: list[Node | None] = [None] * len(graph.nodes)
    for n in graph.nodes:
        if needed[n.id]:
            for i in n.inputs:
                uses[i.id] += 1
                consumer[i.id] = n
    out_ids = {o.id for o in outputs}
    inline = [False] * len(graph.nodes)
    if enabled:
        can_fuse: dict[Op, bool] = {}  # fusable() per op (ops hash by identity)
        accepted: dict[int, bool] = {}  # accept() per node (a consumer is asked per input)

        def _accepted(m: Node) -> bool:
            ok_m = accepted.get(m.id)
            if ok_m is None:
                ok_m = accepted[m.id] = accept(m)  # type: ignore[misc]
            return ok_m

        # longest inlined chain ending at each node; only read through inlined inputs, so
        # it is computed only for the nodes that may be inlined
        depth = [0] * len(graph.nodes)
        for n in graph.nodes:
            nid = n.id
            c = consumer[nid]
            if c is None or uses[nid] != 1 or not needed[nid] or nid in out_ids:
                continue
            ok = can_fuse.get(n.op)
            if ok is None:
                ok = can_fuse[n.op] = fusable(n)
            ok_c = can_fuse.get(c.op)
            if ok_c is None:
                ok_c = can_fuse[c.op] = fusable(c)
            if not (ok and ok_c) or (accept is not None and not (_accepted(n) and _accepted(c))):
                continue
            d = 0
            for i in n.inputs:
                if inline[i.id] and depth[i.id] > d:
                    d = depth[i.id]
            depth[nid] = d + 1
            inline[nid] = d + 1 < MAX_DEPTH
    groups: list[Group] = []
    for n in graph.nodes:
        if not needed[n.id] or n.op.leaf or inline[n.id]:
            continue
        members: list[Node] = []
        stack = [n]
        while stack:
            m = stack.pop()
            members.append(m)
            for i in m.inputs:
                if inline[i.id]:
                    stack.append(i)
        if len(members) > 1:
            members.sort(key=_NODE_ID)
        groups.append(Group(n, members))
    return groups
