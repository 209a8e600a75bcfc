"""The graph IR: immutable op nodes in a Graph that keeps them in topological order.

Nodes are appended after their inputs exist, so creation order IS a topological
order and no pass ever needs recursion. A node's structural fields never change;
its display name and the values of params live in the Graph, values and gradients
of a run live in the Run.

>>> import graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     f = ((x + y) * z).named("f")
>>> [n.name for n in g.nodes]
['x', 'y', 'z', 'add_1', 'f']
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from graphnn.core import op as _op
from graphnn.core.context import current_graph, graph_stack, user_frame, user_location
from graphnn.core.errors import FeedError, GraphError, describe, did_you_mean, fmt_shape
from graphnn.core.leaves import (
    CONST,
    INPUT,
    PARAM,
    as_float_array,
    check_shape,
    const,
    input,
    param,
)
from graphnn.core.node import Node, _NewNode

__all__ = ["CONST", "INPUT", "PARAM", "ROLES", "Graph", "Node", "const", "current_graph",
           "input", "param", "user_location"]

if TYPE_CHECKING:  # pragma: no cover
    import networkx

ROLES = ("input", "param", "const", "op", "grad")


class Graph:
    """An explicit DAG of op nodes, kept in topological (creation) order.

    Use it as a context manager: leaves made inside belong to it. Ops on nodes
    always go to their inputs' graph, so ``gn.grad`` can add nodes later.

    >>> import graphnn as gn
    >>> with gn.Graph("g") as g:
    ...     w = gn.param("w", [1.0, 2.0])
    >>> g.params, g.value_of(w)
    ([<Node w: param (2,) float64>], array([1., 2.]))
    """

    def __init__(self, name: str = "graph") -> None:
        self.name = name
        self.nodes: list[Node] = []
        self._names: list[str] = []
        self._by_name: dict[str, Node] = {}
        self._counters: dict[str, int] = {}
        self._state: dict[Node, np.ndarray] = {}
        self.outputs: list[Node] = []
        self._role: str | None = None
        self._group: list[str] = []
        self._origin: tuple[str, tuple[str, int]] | None = None
        self._cache: dict[Any, Any] = {}
        self._scalars: dict[tuple[np.dtype, bytes], Node] | None = None  # see shared_scalars
        self.param_version = 0  # bumped by every write through the param store
        self._sharers: list[weakref.ref[Graph]] = []  # graphs linked by share_value

    # -- context -----------------------------------------------------------------
    def __enter__(self) -> Graph:
        graph_stack().append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        stack = graph_stack()
        if stack and stack[-1] is self:
            stack.pop()

    @contextmanager
    def scope(self, name: str) -> Iterator[str]:
        """Nodes made inside belong to the group ``name`` (nested groups join with '/')."""
        self._group.append(name)
        try:
            yield "/".join(self._group)
        finally:
            self._group.pop()

    @contextmanager
    def role(self, role: str) -> Iterator[None]:
        """Nodes made inside get ``role`` (autodiff uses "grad")."""
        prev, self._role = self._role, role
        try:
            yield
        finally:
            self._role = prev

    @contextmanager
    def origin(self, group: str, loc: tuple[str, int] | str) -> Iterator[None]:
        """Nodes made inside get this group and source location instead of the current
        scope and the caller's ``file:line`` (graph passes use it so a rewritten node keeps
        the provenance of the node it replaces; ``loc`` may be ``"file:line"`` text).

        >>> import graphnn as gn
        >>> with gn.Graph() as g:
        ...     x = gn.input("x")
        ...     with g.origin("layer1", "model.py:7"):
        ...         y = gn.exp(x)
        >>> y.group, y.loc
        ('layer1', 'model.py:7')
        """
        if isinstance(loc, str):
            file, _, line = loc.rpartition(":")
            loc = (file, int(line)) if line.isdigit() else (loc, 0)
        prev, self._origin = self._origin, (group, loc)
        try:
            yield
        finally:
            self._origin = prev

    def current_origin(self) -> tuple[str, tuple[str, int]]:
        """``(group, (file, line))`` a node made now would get: the active ``origin``, or
        the current scope and the first caller outside graphnn."""
        return self._origin or ("/".join(self._group), user_frame(2))

    # -- building ----------------------------------------------------------------
    def add_node(self, op: _op.Op, inputs: tuple[Node, ...], params: dict[str, Any],
                 shape: tuple[int, ...], dtype: Any, name: str | None = None,
                 role: str | None = None) -> Node:
        """Append a node: the one constructor behind ``bind``, the leaf constructors and
        the graph passes. Its group and location come from ``origin`` when one is active."""
        if role is None:
            role = self._role or ("op" if not op.leaf else op.name)
            if op.leaf and role == "grad" and op is not CONST:
                role = op.name
        group, loc = self._origin or ("/".join(self._group), user_frame(2))
        node = _NewNode(self, len(self.nodes), op, inputs, dict(params), shape,
                        dtype if isinstance(dtype, np.dtype) else np.dtype(dtype), role, group, loc)
        self.nodes.append(node)
        if self._cache:
            self._cache.clear()
        by_name = self._by_name
        if name is None:  # a fresh automatic name: no other checks needed
            base = op.name
            k = self._counters.get(base, 0) + 1
            name = f"{base}_{k}"
            while name in by_name:
                k += 1
                name = f"{base}_{k}"
            self._counters[base] = k
            self._names.append(name)
            by_name[name] = node
            return node
        self._names.append("")
        self.rename(node, name)
        return node

    def copy_node(self, n: Node, inputs: tuple[Node, ...]) -> Node:
        """Append a node like ``n`` (of any graph) over ``inputs`` (nodes of this graph):
        same op, params (shared: nodes are immutable), shape, dtype, role, group and
        location, and ``n``'s name (``name_1``, ``name_2``... when taken). Nothing is
        re-derived: no shape rule, no stack walk (graph passes copy through this)."""
        node = _NewNode(self, len(self.nodes), n.op, inputs, n.params, n.shape, n.dtype,
                    n.role, n.group, n._loc)
        name = n.name
        if name in self._by_name:
            k = 1
            while f"{name}_{k}" in self._by_name:
                k += 1
            name = f"{name}_{k}"
        self.nodes.append(node)
        self._names.append(name)
        self._by_name[name] = node
        if self._cache:
            self._cache.clear()
        return node

    def _drop_unused(self, keep: Sequence[bool]) -> int:
        """Remove the nodes ``keep`` marks False, renumbering the rest in place; returns
        how many went. Only for a graph no one else has seen yet (a pass's fresh result):
        ids change, so nodes already handed out would be stale. The removed nodes must
        have no kept consumer (``keep`` is closed under inputs, as a liveness mask is).

        >>> import graphnn as gn
        >>> g = gn.Graph()
        >>> x = g.input("x"); y = g.input("y"); z = gn.exp(x)
        >>> g._drop_unused([True, False, True]), [(n.id, n.name) for n in g.nodes]
        (1, [(0, 'x'), (1, 'exp_1')])
        """
        self.outputs = [o for o in self.outputs if keep[o.id]]
        kept: list[Node] = []
        names: list[str] = []
        setid = object.__setattr__
        for n in self.nodes:
            if keep[n.id]:
                names.append(self._names[n.id])
                setid(n, "id", len(kept))
                kept.append(n)
            else:
                self._by_name.pop(self._names[n.id], None)
                self._state.pop(n, None)
        dropped = len(self.nodes) - len(kept)
        self.nodes, self._names = kept, names
        self._cache.clear()
        return dropped

    def rename(self, node: Node, name: str) -> None:
        """Change a node's display name; names are unique within a graph."""
        if not isinstance(name, str) or not name:
            raise GraphError(f"node names must be non-empty strings, got {name!r}", node=node)
        other = self._by_name.get(name)
        if other is not None and other is not node:
            raise GraphError(
                f"name {name!r} is already used in graph '{self.name}' by {describe(other)}",
                node=node,
            )
        old = self._names[node.id]
        if old:
            del self._by_name[old]
        self._names[node.id] = name
        self._by_name[name] = node

    def input(self, name: str, shape: Sequence[int] = (), dtype: Any = "float64") -> Node:
        """A placeholder fed at run time."""
        shape = check_shape(shape, name)
        return self.add_node(INPUT, (), {"shape": shape}, shape, np.dtype(dtype), name, "input")

    def param(self, name: str, value: Any, dtype: Any = None) -> Node:
        """A trainable parameter holding ``value`` in this graph's parameter store."""
        arr = as_float_array(value, dtype, name)
        node = self.add_node(PARAM, (), {"shape": arr.shape}, arr.shape, arr.dtype, name, "param")
        self._state[node] = arr
        self.params_changed()
        return node

    def constant(self, value: Any, like: Node | None = None, name: str | None = None,
                 dtype: Any = None) -> Node:
        """A constant node. Python numbers take ``like``'s floating dtype (weak scalars)."""
        if isinstance(value, Node):
            return value
        if dtype is None and like is not None and np.isscalar(value) and like.dtype.kind == "f":
            dtype = like.dtype
        arr = np.array(value, dtype=dtype)
        if arr.dtype.kind not in "fiub":
            raise GraphError(f"cannot use {type(value).__name__} value {value!r} as a constant "
                             f"(at {user_location()})")
        if (arr.dtype.kind in "iub" and dtype is None and like is not None
                and like.dtype.kind == "f"):
            arr = arr.astype(like.dtype)
        arr.setflags(write=False)
        shared = self._scalars
        if shared is not None and name is None and arr.ndim == 0:
            key = (arr.dtype, arr.tobytes())
            node = shared.get(key)
            if node is None:
                node = shared[key] = self.add_node(CONST, (), {"shape": (), "value": arr}, (),
                                                   arr.dtype, None, "const")
            return node
        return self.add_node(CONST, (), {"shape": arr.shape, "value": arr}, arr.shape, arr.dtype,
                             name, "const")

    @contextmanager
    def shared_scalars(self) -> Iterator[None]:
        """Unnamed scalar constants made inside are one node per value and dtype (the
        compiler's private copy differentiates under it, so the gradient of a deep chain
        does not bring one ``1`` per layer; user graphs keep one node per use).

        >>> import graphnn as gn
        >>> with gn.Graph() as g:
        ...     x = gn.input("x")
        ...     with g.shared_scalars():
        ...         a, b = x * 2.0, x + 2.0
        >>> a.inputs[1] is b.inputs[1], len(g.nodes)
        (True, 4)
        """
        prev, self._scalars = self._scalars, {}
        try:
            yield
        finally:
            self._scalars = prev

    # -- lookup ------------------------------------------------------------------
    def __getitem__(self, name: str) -> Node:
        return self.node(name)

    def node(self, ref: str | Node) -> Node:
        """The node with this name (or the node itself, checked to belong here)."""
        if isinstance(ref, Node):
            if ref.graph is not self:
                raise GraphError(f"{describe(ref)} belongs to graph '{ref.graph.name}', "
                                 f"not '{self.name}'", node=ref)
            return ref
        try:
            return self._by_name[ref]
        except KeyError:
            raise GraphError(f"graph '{self.name}' has no node named {ref!r}"
                             f"{did_you_mean(ref, self._by_name)}") from None

    def __contains__(self, ref: str | Node) -> bool:
        return ref in self._by_name if isinstance(ref, str) else (
            isinstance(ref, Node) and ref.graph is self)

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    @property
    def inputs(self) -> list[Node]:
        return [n for n in self.nodes if n.op is INPUT]

    @property
    def params(self) -> list[Node]:
        return [n for n in self.nodes if n.op is PARAM]

    @property
    def consts(self) -> list[Node]:
        return [n for n in self.nodes if n.op is CONST]

    def sinks(self) -> list[Node]:
        """Non-gradient nodes that no other non-gradient node consumes (the default
        outputs; gradient nodes added by ``gn.grad`` read the forward nodes but do not
        change what the forward graph's outputs are)."""
        used = {i.id for n in self.nodes if n.role != "grad" for i in n.inputs}
        return [n for n in self.nodes if n.id not in used and not n.op.leaf and n.role != "grad"]

    def default_outputs(self) -> list[Node]:
        """``g.outputs`` when set, else the sinks, else the last node."""
        if self.outputs:
            return list(self.outputs)
        return self.sinks() or self.nodes[-1:]

    def mark_output(self, *nodes: Node) -> None:
        """Declare graph outputs (what run, compile and render show by default)."""
        for n in nodes:
            self.node(n)
            if n not in self.outputs:
                self.outputs.append(n)

    def consumers(self) -> list[list[Node]]:
        """For each node id, the nodes that read it (in order; a node twice if used twice)."""
        out: list[list[Node]] = [[] for _ in self.nodes]
        for n in self.nodes:
            for i in n.inputs:
                out[i.id].append(n)
        return out

    # -- parameter store -----------------------------------------------------------
    def value_of(self, param: str | Node) -> np.ndarray:
        """The current value of a param (or constant)."""
        node = self.node(param)
        if node.op is CONST:
            return node.params["value"]
        if node.op is not PARAM:
            raise GraphError(f"{describe(node)} is not a param; its value lives in a Run")
        return self._state[node]

    def set_value(self, param: str | Node, value: Any) -> None:
        """Write a param's value (same shape; cast to its dtype) INTO its stored array.

        The stored array is the param's one storage: ``set_value``, optimizers and
        ``gn.load`` write into it, so everything sharing it (a ``gn.nn`` module, other
        graphs built from that module, see :meth:`share_value`) sees the new value.
        """
        node = self.node(param)
        if node.op is not PARAM:
            raise GraphError(f"{describe(node)} is not a param")
        arr = np.asarray(value, dtype=node.dtype)
        if arr.shape != node.shape:
            raise FeedError(f"param {describe(node)} cannot take a value of shape "
                            f"{fmt_shape(arr.shape)}", node=node)
        old = self._state.get(node)
        if old is not None and old.flags.writeable and old.dtype == arr.dtype:
            old[...] = arr
        else:
            self._state[node] = arr.copy()
        self.params_changed()

    def params_changed(self) -> None:
        """Bump :attr:`param_version` here and in every graph sharing values with this one.

        ``set_value``, ``share_value``, ``gn.load`` and the optimizers call it; code that
        writes into ``value_of(p)`` directly should call it too (device copies of the
        params, e.g. a compiled CuPy graph's, are refreshed when the version moves)."""
        seen, todo = {id(self)}, [self]
        while todo:
            g = todo.pop()
            g.param_version += 1
            for ref in g._sharers:
                other = ref()
                if other is not None and id(other) not in seen:
                    seen.add(id(other))
                    todo.append(other)

    def share_value(self, param: str | Node, source: Node) -> None:
        """Make the param ``source`` (of any graph) the storage of ``param``: from now on
        both read and write the same array (``gn.nn`` modules built into several graphs)."""
        node = self.node(param)
        if node.op is not PARAM or source.op is not PARAM:
            raise GraphError(f"share_value links two params, got {describe(node)} and "
                             f"{describe(source)}")
        if node.shape != source.shape or node.dtype != source.dtype:
            raise FeedError(f"param {describe(node)} cannot share the value of "
                            f"{describe(source)}: shapes or dtypes differ", node=node)
        self._state[node] = source.graph._state[source]
        if source.graph is not self:
            self._sharers.append(weakref.ref(source.graph))
            source.graph._sharers.append(weakref.ref(self))
        self.params_changed()

    def param_values(self) -> dict[str, np.ndarray]:
        """Name -> value of every param."""
        return {n.name: self._state[n] for n in self.params}

    # -- adapters -------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, params: str = "embed") -> str:
        """Save to a versioned JSON file (``gn.save(g, path)``; ``gn.load`` reads it back)."""
        return _op.adapter("save")(self, path, params=params)

    def to_networkx(self) -> networkx.MultiDiGraph:
        """The graph as a networkx MultiDiGraph (node ids as keys, edges keep arg index)."""
        import networkx as nx

        G = nx.MultiDiGraph(name=self.name)
        for n in self.nodes:
            G.add_node(n.id, name=n.name, op=n.op.name, shape=n.shape, dtype=str(n.dtype),
                       role=n.role, group=n.group)
            for k, i in enumerate(n.inputs):
                G.add_edge(i.id, n.id, arg=k)
        return G

    def __repr__(self) -> str:
        return f"<Graph {self.name!r}: {len(self.nodes)} nodes>"

    # -- drawing (graphnn.viz registers the adapters) ---------------------------------------
    def to_dot(self, **options: Any) -> str:
        """Graphviz DOT text of this graph (options as for ``gn.render``)."""
        return _op.adapter("to_dot")(self, **options)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return _op.adapter("repr_mimebundle")(self)

    def _repr_svg_(self) -> str | None:
        return self._repr_mimebundle_().get("image/svg+xml")
