"""The IR verifier: checks the invariants every pass must keep, and names the node and the
problem when one is broken.

* single assignment: node ``k`` sits at ``graph.nodes[k]`` with id ``k``, once;
* inputs belong to the same graph and precede the node;
* each op node's shape and dtype equal what its op's rules derive from its inputs; leaves
  agree with their params (and a param with its stored value);
* names are non-empty and unique, roles known;
* outputs (and ``graph.outputs``) are nodes of the graph; with ``dead=False`` every node
  is needed by some output (what DCE guarantees).

>>> import graphnn as gn
>>> with gn.Graph("g") as g:
...     x = gn.input("x", shape=(2,))
...     y = gn.exp(x).named("y")
...     unused = gn.log(x)
>>> verify(g, [y])
>>> try:
...     verify(g, [y], dead=False)
... except VerifyError as e:
...     print(e.node.name, str(e).rsplit(": ", 1)[1])
log_1 no output depends on it
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphnn.core.bind import infer
from graphnn.core.errors import GraphError, describe, fmt_shape
from graphnn.core.ir import CONST, INPUT, PARAM, ROLES, Graph, Node
from graphnn.core.traverse import ancestors


class VerifyError(GraphError):
    """A graph breaks an IR invariant (a bug in the pass that made it)."""


def _fail(graph: Graph, n: Node | None, problem: str) -> VerifyError:
    where = f"node {describe(n)}" if n is not None else "the graph"
    return VerifyError(f"graph '{graph.name}': {where}: {problem}", node=n)


def _check_structure(graph: Graph, k: int, n: Node, seen: dict[str, Node]) -> None:
    if not isinstance(n, Node) or n.graph is not graph:
        raise _fail(graph, n if isinstance(n, Node) else None,
                    f"nodes[{k}] is not a node of this graph")
    if n.id != k:
        raise _fail(graph, n, f"has id {n.id} but sits at position {k} "
                              "(each node is assigned exactly once, in order)")
    for pos, i in enumerate(n.inputs):
        if not isinstance(i, Node) or i.graph is not graph:
            raise _fail(graph, n, f"input {pos} is not a node of this graph")
        if i.id >= k or graph.nodes[i.id] is not i:
            raise _fail(graph, n, f"input {pos} '{i.name}' does not precede it")
    name = n.name
    if not name or name in seen or graph.node(name) is not n:
        raise _fail(graph, n, f"name {name!r} is empty or not unique")
    seen[name] = n
    if n.role not in ROLES:
        raise _fail(graph, n, f"unknown role {n.role!r}")


def _expected(graph: Graph, n: Node) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype ``n`` must have."""
    if n.op is CONST:
        v = np.asarray(n.params["value"])
        return v.shape, v.dtype
    if n.op is PARAM:
        if n not in graph._state:
            raise _fail(graph, n, "param has no stored value")
        v = graph.value_of(n)
        return v.shape, v.dtype
    if n.op is INPUT:
        return tuple(n.params["shape"]), n.dtype
    try:
        return infer(n.op, n.inputs, dict(n.params))
    except GraphError as e:
        raise _fail(graph, n, f"its op rejects its inputs: {e}") from None


def _check_types(graph: Graph, n: Node) -> None:
    shape, dtype = _expected(graph, n)
    if tuple(n.shape) != tuple(shape):
        raise _fail(graph, n, f"shape {fmt_shape(n.shape)} but its op derives "
                              f"{fmt_shape(tuple(shape))}")
    if np.dtype(n.dtype) != np.dtype(dtype):
        raise _fail(graph, n, f"dtype {n.dtype} but its op derives {np.dtype(dtype)}")


def verify(graph: Graph, outputs: Sequence[Node] = (), *, dead: bool = True) -> None:
    """Raise :class:`VerifyError` unless ``graph`` keeps every IR invariant (see the
    module doc). ``dead=False`` also requires every node to feed some output."""
    seen: dict[str, Node] = {}
    for k, n in enumerate(graph.nodes):
        _check_structure(graph, k, n, seen)
        _check_types(graph, n)
    for o in list(outputs) + list(graph.outputs):
        if not isinstance(o, Node) or o.graph is not graph or graph.nodes[o.id] is not o:
            raise _fail(graph, o if isinstance(o, Node) else None,
                        "an output is not a node of this graph")
    if not dead:
        if not outputs and graph.nodes:
            raise _fail(graph, None, "has nodes but no outputs")
        live = ancestors(list(outputs)) if outputs else []
        for n in graph.nodes:
            if not live[n.id]:
                raise _fail(graph, n, "no output depends on it")
