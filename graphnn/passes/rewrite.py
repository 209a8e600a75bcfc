"""Graph-to-graph rewriting: copy a graph, rebuild it node by node with a rule, and keep
a before/after record of every pass (text listing, unified diff, both Graph objects so a
renderer can draw them).

Nodes are immutable, so a pass never edits a graph: it builds a new one. The copy keeps
names, roles, groups and source locations; params share their stored arrays.

>>> import graphnn as gn
>>> with gn.Graph("g") as g:
...     x = gn.input("x")
...     y = (x * 1.0).named("y")
>>> h, (y2,) = copy_graph(g, [y])
>>> h is g, y2.name, len(h)
(False, 'y', 3)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphnn.core.bind import bind
from graphnn.core.ir import CONST, PARAM, Graph, Node
from graphnn.core.op import Op, get_op

Rule = Callable[["Rebuilder", Node, tuple[Node, ...]], "Node | None"]


class Rebuilder:
    """Builds ``dst`` from ``src``: ``map`` takes a source node id to its new node.

    Passes make nodes only through ``copy``, ``op`` and ``const`` (all end in
    ``Graph.add_node`` or ``Graph.copy_node``; nodes are never edited after they are
    made). ``copies`` counts the nodes ``copy`` made (the sweep calls
    ``Graph.copy_node`` itself).
    """

    def __init__(self, src: Graph, name: str | None = None) -> None:
        self.src = src
        self.dst = Graph(name or src.name)
        self.map: dict[int, Node] = {}
        self.changed = 0
        self.copies = 0

    def copy(self, n: Node, inputs: tuple[Node, ...]) -> Node:
        """A node like ``n`` (same op, params, name, role, group, location) over ``inputs``."""
        new = self.dst.copy_node(n, inputs)
        self.copies += 1
        if n.op is PARAM:
            self.dst._state[new] = self.src._state[n]
        return new

    def op(self, op: str | Op, *args: Node, **params: Any) -> Node:
        """A new op node over nodes of ``dst`` (through ``bind``: shape and dtype derived)."""
        return bind(get_op(op) if isinstance(op, str) else op, *args, **params)

    def const(self, value: Any, like: Node) -> Node:
        """A new constant with ``like``'s dtype."""
        arr = np.asarray(value, dtype=like.dtype)
        with self.dst.role("grad" if like.role == "grad" else None):
            return self.dst.constant(arr)

    def apply(self, rule: Rule, n: Node, ins: tuple[Node, ...]) -> Node | None:
        """``rule(self, n, ins)`` with the nodes it makes taking ``n``'s role (grad or not),
        group and location; a new op node it returns takes ``n``'s name when free."""
        dst = self.dst
        first_new = len(dst.nodes)
        saved = dst._role, dst._origin
        dst._role, dst._origin = ("grad" if n.role == "grad" else None), (n.group, n._loc)
        try:
            new = rule(self, n, ins)
        finally:
            dst._role, dst._origin = saved
        if (new is not None and new.id >= first_new and not new.op.leaf
                and n.name not in dst):
            dst.rename(new, n.name)  # the replacement keeps the node's name
        return new

    def finish(self, outputs: Sequence[Node]) -> list[Node]:
        """Set ``dst.outputs`` from ``src``'s and return ``outputs``' new nodes."""
        self.dst.outputs = [self.map[o.id] for o in self.src.outputs if o.id in self.map]
        return [self.map[o.id] for o in outputs]


class WouldRewrite(Exception):
    """Raised by :class:`DryRun` when a rule asks for a new node: the rule would fire."""


class DryRun:
    """The rule context of a dry run: it builds nothing, so a pass can tell whether it
    would change a graph without copying it (any node a rule asks for means it would;
    rules must let ``WouldRewrite`` through)."""

    def op(self, op: str | Op, *args: Node, **params: Any) -> Node:
        raise WouldRewrite

    def const(self, value: Any, like: Node) -> Node:
        raise WouldRewrite


def rebuild(graph: Graph, outputs: Sequence[Node], rule: Rule | None = None,
            keep: Sequence[bool] | None = None) -> tuple[Graph, list[Node], int]:
    """Copy ``graph`` node by node; ``rule(rb, node, new_inputs)`` may return a replacement
    (a node of the new graph) or None to copy the node. ``keep`` masks nodes to copy.
    Nodes a rule makes take the replaced node's group and location.

    Returns (new graph, the outputs' new nodes, number of replaced nodes).
    """
    rb = Rebuilder(graph)
    mp = rb.map
    if rule is None:  # a plain copy (every compile starts with one): no per-node calls
        copy_node, state, dst_state = rb.dst.copy_node, graph._state, rb.dst._state
        for n in graph.nodes:
            if keep is None or keep[n.id]:
                new = mp[n.id] = copy_node(n, tuple([mp[i.id] for i in n.inputs]))
                if n.op is PARAM:
                    dst_state[new] = state[n]
        return rb.dst, rb.finish(outputs), 0
    for n in graph.nodes:
        if keep is not None and not keep[n.id]:
            continue
        ins = tuple([mp[i.id] for i in n.inputs])
        new = None
        if not n.op.leaf or n.op is CONST:
            new = rb.apply(rule, n, ins)
        if new is None:
            new = rb.copy(n, ins)
        else:
            rb.changed += 1
        mp[n.id] = new
    return rb.dst, rb.finish(outputs), rb.changed


def copy_graph(graph: Graph, outputs: Sequence[Node] = ()) -> tuple[Graph, list[Node]]:
    """A fresh copy of ``graph`` (so passes and ``gn.grad`` never touch the user's graph)."""
    g, outs, _ = rebuild(graph, outputs)
    return g, outs


# -- before/after records ---------------------------------------------------------------


def _fmt_param(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    return repr(v)


def node_line(n: Node) -> str:
    """One listing line: ``name = op(a, b) {params} : shape dtype``."""
    if n.op is CONST:
        v = n.params["value"]
        body = (f"const {np.asarray(v).item()!r}" if np.size(v) == 1
                else f"const array{tuple(np.shape(v))}")
    elif n.op.leaf:
        body = n.op.name
    else:
        ps = ", ".join(f"{k}={_fmt_param(v)}" for k, v in n.params.items())
        body = f"{n.op.name}({', '.join(i.name for i in n.inputs)})" + (f" {{{ps}}}" if ps else "")
    return f"{n.name} = {body} : {tuple(n.shape)} {n.dtype}"


def listing(graph: Graph, outputs: Sequence[Node] = ()) -> str:
    """The graph as text, one line per node; outputs are marked with ``<- out``
    (``gn.format_graph`` unaligned: one graph printer)."""
    from graphnn.viz.text import format_graph

    return format_graph(graph, outputs=outputs, align=False)


@dataclass
class PassRecord:
    """What one pass did: ``before``/``after`` graphs (draw them with a renderer),
    their outputs, ``changed`` (nodes rewritten or removed) and ``detail`` (the same by
    kind, e.g. ``"2 simplified, 1 folded"``, for passes that do several things)."""

    name: str
    before: Graph
    after: Graph
    before_outputs: list[Node] = field(default_factory=list)
    after_outputs: list[Node] = field(default_factory=list)
    changed: int = 0
    detail: str = ""

    def listings(self) -> tuple[str, str]:
        """Both listings (before, after)."""
        return (listing(self.before, self.before_outputs),
                listing(self.after, self.after_outputs))

    def diff(self) -> str:
        """A unified diff of the two listings."""
        a, b = self.listings()
        return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(),
                                              f"before {self.name}", f"after {self.name}",
                                              lineterm="", n=1))

    def render(self, before_path: str, after_path: str, **kw: Any) -> tuple[Any, Any]:
        """Draw both graphs with ``gn.render``."""
        from graphnn.viz.draw import render

        return (render(self.before, path=before_path, **kw),
                render(self.after, path=after_path, **kw))

    def __repr__(self) -> str:
        return (f"<PassRecord {self.name}: {len(self.before)} -> {len(self.after)} nodes, "
                f"{self.changed} changed>")
