"""Modules: objects that add their nodes to a graph when called on a node.

Calling a module on a node ``x`` adds param nodes named after the layer path
(``"fc1.weight"``) to ``x.graph``, once per graph. Each value has ONE owner: a module keeps
its (lazily drawn, seeded) initial arrays only until a graph has a node for them; the
first such graph (its *home*) then owns the array in its param store and the module reads
and writes through it (``named_values``, ``load_state_dict``, ``reset_parameters``,
BatchNorm's running statistics). Every other graph built from the module later gets
param nodes that share the home graph's storage (``Graph.share_value``), and the store
writes in place (``set_value``, optimizers, ``gn.load``), so the module and all its
graphs always agree. Each layer's nodes are made inside ``g.scope(path)`` so renderers
can draw the layer as a cluster.

Train vs eval is decided when nodes are BUILT (``model(x, train=False)`` or
``model.eval()``): Dropout builds ``x * mask`` with the mask an input fed per step
(:func:`random_feeds`, seeded), BatchNorm builds batch statistics in training mode and
uses its running statistics (state params, never trained) in evaluation mode;
:func:`update_state` folds a run's batch statistics into the running ones.

>>> import graphnn as gn
>>> net = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.Sigmoid(), gn.nn.Linear(4, 2), seed=0)
>>> with gn.Graph("mlp") as g:
...     y = net(gn.input("x", shape=(5, 3)))
>>> y.shape, [p.name for p in g.params]
((5, 2), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'])
>>> g.set_value("fc2.bias", [1.0, 2.0])      # the graph owns the values ...
>>> net.named_values()["fc2.bias"]            # ... and the model reads them from it
array([1., 2.])
>>> print(net.summary((3,)))
layer  type     output  params
fc1    Linear   (4,)        16
act1   Sigmoid  (4,)         0
fc2    Linear   (2,)        10
total                       26
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphnn.core.device import to_host
from graphnn.core.errors import GraphError
from graphnn.core.ir import Graph, Node
from graphnn.core.op import ADAPTERS
from graphnn.io.values import load_values
from graphnn.nn.init import Init, get_init

_GLOBAL = {"rng": np.random.default_rng(0)}


def manual_seed(seed: int) -> None:
    """Reseed the generator used to initialise modules that have no ``seed`` of their own."""
    _GLOBAL["rng"] = np.random.default_rng(seed)


@dataclass
class GraphState:
    """What layers recorded while building into one graph (kept beside the graph)."""

    masks: list[tuple[Node, float]] = field(default_factory=list)  # dropout inputs, p
    stats: list[tuple[Module, Node, Node, int]] = field(default_factory=list)  # bn, mean, var, n
    buffers: list[Node] = field(default_factory=list)  # state params: never trained
    shape_only: bool = False


_STATES: weakref.WeakKeyDictionary[Graph, GraphState] = weakref.WeakKeyDictionary()


def graph_state(g: Graph) -> GraphState:
    """The :class:`GraphState` of ``g`` (created on first use)."""
    st = _STATES.get(g)
    if st is None:
        st = _STATES[g] = GraphState()
    return st


def random_feeds(g: Graph, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Fresh inverted-dropout masks (0 or 1/(1-p)) for every Dropout input of ``g``."""
    return {n.name: (rng.random(n.shape) >= p) / (1.0 - p)
            for n, p in graph_state(g).masks}


def record_stats(g: Graph, entry: tuple[Any, Node, Node, int]) -> None:
    """Record (updater, batch mean, batch var, count) for :func:`update_state`: the
    functional ``gn.batch_norm`` / ``gn.instance_norm`` reach it through the
    ``record_stats`` adapter (ops sit below nn)."""
    graph_state(g).stats.append(entry)


ADAPTERS["record_stats"] = record_stats


def trainable_params(g: Graph) -> list[Node]:
    """The params of ``g`` an optimizer should update (all but layers' state buffers)."""
    buffers = set(graph_state(g).buffers)
    return [p for p in g.params if p not in buffers]


def state_outputs(g: Graph) -> list[Node]:
    """Nodes whose values :func:`update_state` needs (BatchNorm batch statistics)."""
    return [n for _, m, v, _ in graph_state(g).stats for n in (m, v)]


def update_state(g: Graph, run: Any) -> None:
    """Fold a training run's batch statistics into the BatchNorm running statistics."""
    for bn, m, v, count in graph_state(g).stats:
        bn.update_running(np.asarray(to_host(run.value(m))).reshape(-1),
                          np.asarray(to_host(run.value(v))).reshape(-1), count)


class Module:
    """Base class of layers: subclasses declare params in ``__init__`` with
    :meth:`declare` and build nodes in ``forward(x, train)``."""

    kind = "layer"  # prefix of automatic names (fc, conv, bn, ...)

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.path: str | None = None
        self.training = True
        self.seed: int | None = None
        self._specs: dict[str, tuple[tuple[int, ...], Init, bool]] = {}
        self._values: dict[str, np.ndarray] = {}  # values no graph owns yet
        self._home: dict[str, Node] = {}  # the param node whose graph owns the value
        self._nodes: weakref.WeakKeyDictionary[Graph, dict[str, Node]] = (
            weakref.WeakKeyDictionary())

    # -- structure -----------------------------------------------------------------
    def children(self) -> list[tuple[str, Module]]:
        return []

    def modules(self) -> Iterator[Module]:
        """This module and all modules below it, depth first."""
        yield self
        for _, c in self.children():
            yield from c.modules()

    def _assign_paths(self, path: str) -> None:
        self.path = path
        for local, c in self.children():
            c._assign_paths(f"{path}.{local}" if path else local)

    def _ensure_paths(self) -> None:
        if self.path is None:
            self._assign_paths(self.name or ("" if self.children() else self.kind))

    def declare(self, key: str, shape: Sequence[int], init: str | Init,
                trainable: bool = True) -> None:
        """Declare a param (``trainable``) or a state buffer (running statistics)."""
        self._specs[key] = (tuple(int(s) for s in shape), get_init(init), trainable)

    def train(self, mode: bool = True) -> Module:
        """Build training-mode nodes from now on (Dropout masks, batch statistics)."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Build evaluation-mode nodes from now on (no dropout, running statistics)."""
        return self.train(False)

    # -- values --------------------------------------------------------------------
    def _has(self, key: str) -> bool:
        return key in self._home or key in self._values

    def _array(self, key: str) -> np.ndarray:
        """The one stored array of ``key``: its home graph's, else the module's own."""
        node = self._home.get(key)
        return node.graph.value_of(node) if node is not None else self._values[key]

    def _write(self, key: str, value: Any) -> None:
        node = self._home.get(key)
        if node is not None:
            node.graph.set_value(node, value)
        else:
            self._values[key][...] = value

    def _entries(self, trainable: bool | None = None) -> Iterator[tuple[str, Module, str]]:
        self._ensure_paths()
        for m in self.modules():
            for key, (_, _, tr) in m._specs.items():
                if trainable is None or tr == trainable:
                    yield (f"{m.path}.{key}" if m.path else key), m, key

    def reset_parameters(self, seed: int | None = None) -> Module:
        """(Re)initialise every param and buffer in place, in a fixed order.

        ``seed`` (or the module's ``seed``) makes the draw independent of anything else;
        without one the global generator (:func:`manual_seed`) is used.
        """
        self._draw(self.seed if seed is None else seed, only_missing=False)
        return self

    def _draw(self, seed: int | None, only_missing: bool) -> None:
        rng = _GLOBAL["rng"] if seed is None else np.random.default_rng(seed)
        for m in self.modules():
            for key, (shape, init, _) in m._specs.items():
                if only_missing and m._has(key):
                    continue
                new = np.asarray(init(shape, rng), dtype=np.float64)
                if m._has(key):
                    m._write(key, new)
                else:
                    m._values[key] = new

    def _ensure_values(self) -> None:
        if any(not m._has(k) for m in self.modules() for k in m._specs):
            self._draw(self.seed, only_missing=True)

    def named_values(self, trainable: bool | None = None) -> dict[str, np.ndarray]:
        """Full name -> array of params (``trainable=True``), buffers (False) or both:
        the stored arrays themselves (the home graph's once built), not copies."""
        self._ensure_values()
        return {full: m._array(key) for full, m, key in self._entries(trainable)}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every param and buffer, by full name (what :func:`gn.save` writes)."""
        return {k: v.copy() for k, v in self.named_values().items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Write values by full name into their owner (graphs built from this model see
        them at once); every name must be given, with its shape, or nothing is written."""
        load_values(self, state, "load_state_dict")

    def set_value(self, name: str, value: Any) -> None:
        """Write one param or buffer by full name (``"fc1.weight"``) into its owner: the
        home graph once built (like ``Graph.set_value``), else the module."""
        entries = {full: (m, key) for full, m, key in self._entries()}
        if name not in entries:
            raise GraphError(f"{type(self).__name__} has no param {name!r}; params: "
                             f"{list(entries)}")
        m, key = entries[name]
        self._ensure_values()
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != m._specs[key][0]:
            raise GraphError(f"{name!r} has shape {m._specs[key][0]}, got {arr.shape}")
        m._write(key, arr)

    def num_params(self) -> int:
        """Number of trainable scalars (from declared shapes; allocates nothing)."""
        return sum(int(np.prod(s, dtype=np.int64)) for m in self.modules()
                   for s, _, tr in m._specs.values() if tr)

    # -- building ------------------------------------------------------------------
    def param_nodes(self, g: Graph, trainable: bool | None = True) -> list[Node]:
        """The param nodes this model has created in ``g`` (trainable ones by default)."""
        out = []
        for m in self.modules():
            nodes = m._nodes.get(g, {})
            for key, (_, _, tr) in m._specs.items():
                if key in nodes and (trainable is None or tr == trainable):
                    out.append(nodes[key])
        return out

    def param(self, g: Graph, key: str) -> Node:
        """The node of param ``key`` in ``g``, created once per graph (see the module doc)."""
        nodes = self._nodes.setdefault(g, {})
        if key in nodes:
            return nodes[key]
        shape = self._specs[key][0]
        full = f"{self.path}.{key}" if self.path else key
        name, k = full, 1
        while name in g:
            k += 1
            name = f"{full}_{k}"
        if graph_state(g).shape_only:
            node = g.input(name, shape)  # shapes only: no value is ever allocated
        else:
            home = self._home.get(key)
            node = g.param(name, self._array(key))
            if home is None:  # the first graph to hold it owns it from now on
                self._home[key] = node
                del self._values[key]
            else:  # later graphs share the owner's storage
                g.share_value(node, home)
            if not self._specs[key][2]:
                graph_state(g).buffers.append(node)
        nodes[key] = node
        return node

    def __call__(self, x: Node, *, train: bool | None = None) -> Node:
        if not isinstance(x, Node):
            raise GraphError(f"{type(self).__name__} must be called on a graph node, got "
                             f"{type(x).__name__}; make one with gn.input(...)")
        self._ensure_paths()
        if not graph_state(x.graph).shape_only:
            self._ensure_values()
        return self._build(x, self.training if train is None else train)

    def _build(self, x: Node, train: bool) -> Node:
        g = x.graph
        with g.scope((self.path or self.kind).replace(".", "/")):
            return self.forward(x, train)

    def forward(self, x: Node, train: bool) -> Node:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    # -- summary -------------------------------------------------------------------
    def summary(self, input_shape: Sequence[int], batch: int | None = None) -> Summary:
        """Layers, output shapes and parameter counts for one input (shape without the
        batch axis, or give ``batch``). Built on a shapes-only graph: params become
        inputs, nothing is allocated or run — node shapes are static."""
        self._ensure_paths()
        g = Graph("summary")
        graph_state(g).shape_only = True
        full = tuple(input_shape) if batch is None else (batch, *input_shape)
        x = g.input("x", (1, *full) if batch is None else full)
        rows: list[tuple[str, str, tuple[int, ...], int]] = []
        for name, m in self._summary_layers():
            x = m._build(x, False)
            shape = x.shape[1:] if batch is None else x.shape
            rows.append((name, type(m).__name__, shape, m.num_params()))
        return Summary(rows, g)

    def _summary_layers(self) -> list[tuple[str, Module]]:
        return [(self.path or self.kind, self)]


class Summary:
    """A layer table: ``rows`` of (name, type, output shape, params) and ``total``;
    ``graph`` is the shapes-only graph it was read from (params appear as inputs), which
    ``gn.render`` can draw."""

    def __init__(self, rows: list[tuple[str, str, tuple[int, ...], int]],
                 graph: Graph | None = None) -> None:
        self.rows = rows
        self.graph = graph
        self.total = sum(r[3] for r in rows)

    def hwc(self, shape: tuple[int, ...]) -> str:
        """An NCHW shape written the lectures' way: ``55x55x96``."""
        if len(shape) == 3:
            c, h, w = shape
            return f"{h}x{w}x{c}"
        return "x".join(str(s) for s in shape)

    def table(self, hwc: bool = False) -> list[list[str]]:
        head = ["layer", "type", "output", "params"]
        body = [[n, t, self.hwc(s) if hwc else str(s), f"{p:,}"] for n, t, s, p in self.rows]
        return [head, *body, ["total", "", "", f"{self.total:,}"]]

    def format(self, hwc: bool = False) -> str:
        t = self.table(hwc)
        widths = [max(len(r[i]) for r in t) for i in range(4)]
        lines = []
        for r in t:
            cells = [r[i].ljust(widths[i]) for i in range(3)] + [r[3].rjust(widths[3])]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return self.format()


class Sequential(Module):
    """Layers applied in order. Children are named by kind and position among their kind
    (``fc1, act1, fc2``) unless given as ``(name, layer)`` pairs or a dict; names give
    the params (``"fc1.weight"``) and the renderer's clusters."""

    kind = "seq"

    def __init__(self, *layers: Any, seed: int | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.seed = seed
        if len(layers) == 1 and isinstance(layers[0], dict):
            items = list(layers[0].items())
        else:
            items = [lay if isinstance(lay, tuple) else (None, lay) for lay in layers]
        counts: dict[str, int] = {}
        self.layers: list[tuple[str, Module]] = []
        for local, lay in items:
            if not isinstance(lay, Module):
                raise TypeError(f"Sequential takes modules, got {type(lay).__name__}")
            if local is None:
                local = lay.name
            if local is None:
                counts[lay.kind] = counts.get(lay.kind, 0) + 1
                local = f"{lay.kind}{counts[lay.kind]}"
            self.layers.append((local, lay))
        # names are fixed now (an enclosing Sequential renames them with its prefix), so
        # a layer called on its own builds the same param names as inside the model
        self._assign_paths(self.name or "")

    def children(self) -> list[tuple[str, Module]]:
        return list(self.layers)

    def __getitem__(self, i: int | str) -> Module:
        if isinstance(i, str):
            return dict(self.layers)[i]
        return self.layers[i][1]

    def __len__(self) -> int:
        return len(self.layers)

    def _build(self, x: Node, train: bool) -> Node:
        for _, lay in self.layers:
            x = lay._build(x, train)
        return x

    def _summary_layers(self) -> list[tuple[str, Module]]:
        return [(str(lay.path), lay) for _, lay in self.layers]

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({n}): {lay!r}" for n, lay in self.layers)
        return f"Sequential(\n{inner}\n)"
