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
    ``Graph.add_node``; nodes are never edited after they are made).
    """

    def __init__(self, src: Graph, name: str | None = None) -> None:
        self.src = src
        self.dst = Graph(name or src.name)
        self.map: dict[int, Node] = {}
        self.changed = 0

    def copy(self, n: Node, inputs: tuple[Node, ...]) -> Node:
        """A node like ``n`` (same op, params, name, role, group, location) over ``inputs``."""
        name = n.name
        if name in self.dst:
            k = 1
            while f"{name}_{k}" in self.dst:
                k += 1
            name = f"{name}_{k}"
        with self.dst.origin(*n.origin):
            new = self.dst.add_node(n.op, inputs, dict(n.params), n.shape, n.dtype, name,
                                    n.role)
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


def rebuild(graph: Graph, outputs: Sequence[Node], rule: Rule | None = None,
            keep: Sequence[bool] | None = None) -> tuple[Graph, list[Node], int]:
    """Copy ``graph`` node by node; ``rule(rb, node, new_inputs)`` may return a replacement
    (a node of the new graph) or None to copy the node. ``keep`` masks nodes to copy.
    Nodes a rule makes take the replaced node's group and location.

    Returns (new graph, the outputs' new nodes, number of replaced nodes).
    """
    rb = Rebuilder(graph)
    for n in graph.nodes:
        if keep is not None and not keep[n.id]:
            continue
        ins = tuple(rb.map[i.id] for i in n.inputs)
        new = None
        if rule is not None and (not n.op.leaf or n.op is CONST):
            first_new = len(rb.dst.nodes)
            with rb.dst.role("grad" if n.role == "grad" else None), rb.dst.origin(*n.origin):
                new = rule(rb, n, ins)
            if new is not None and new.id >= first_new and not new.op.leaf and (
                    n.name not in rb.dst):
                rb.dst.rename(new, n.name)  # the replacement keeps the node's name
        if new is None:
            new = rb.copy(n, ins)
        else:
            rb.changed += 1
        rb.map[n.id] = new
    rb.dst.outputs = [rb.map[o.id] for o in graph.outputs if o.id in rb.map]
    return rb.dst, [rb.map[o.id] for o in outputs], rb.changed


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
    their outputs, and ``changed`` (nodes rewritten or removed)."""

    name: str
    before: Graph
    after: Graph
    before_outputs: list[Node] = field(default_factory=list)
    after_outputs: list[Node] = field(default_factory=list)
    changed: int = 0

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
