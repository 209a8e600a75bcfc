"""The node-by-node interpreter: a value table and a loop (forward), then the same loop
over the reversed order with a gradient table (reverse). Hooks let the tracer see
every step; without hooks the loops stay lean (see bench/interpreter.py).

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x"); y = gn.input("y"); z = gn.input("z")
...     f = ((x + y) * z).named("f")
>>> r = gn.run(g, {"x": 1, "y": -3, "z": 4}, wrt=[x, y, z])
>>> float(r.value(f)), float(r.grad(x)), float(r.grad("z"))
(-8.0, 4.0, -2.0)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphnn.core.device import check_device, is_device_array, require_cupy, to_host
from graphnn.core.errors import AnomalyError, FeedError, GradError, GraphError, describe, fmt_shape
from graphnn.core.ir import CONST, INPUT, PARAM, Graph, Node
from graphnn.core.traverse import ancestors, backward_mask
from graphnn.run.autodiff import backprop
from graphnn.run.results import MISSING, Results, ref_name

Hook = Callable[..., None]


class Run(Results):
    """Values (and gradients) of one execution; nodes never hold them.

    ``value(n)`` and ``grad(n)`` take a node or its name (the result protocol of
    :mod:`graphnn.run.results`). ``grad`` of a requested ``wrt`` node that does not
    influence the loss is zeros; ``has_grad`` says whether a gradient arrived at all.
    ``device`` is where the arrays live ("cpu" or "cuda": CuPy arrays; ``to_host()``
    copies such a run to NumPy, ``value(n, host=True)`` one value).
    """

    kind = "run"

    def __init__(self, graph: Graph, values: list[Any], grads: dict[int, Any],
                 outputs: list[Node], wrt: list[Node], loss: Node | None,
                 device: str = "cpu") -> None:
        self.graph = graph
        self.device = device
        self._values = values
        self._grads = grads
        self.outputs = outputs
        self.wrt = wrt
        self.loss = loss

    def _node(self, ref: str | Node) -> Node | None:
        if isinstance(ref, Node):
            return ref if ref.graph is self.graph else None
        return self.graph._by_name.get(ref_name(ref))

    def _lookup(self, what: str, ref: str | Node) -> Any:
        n = self._node(ref)
        if n is None or what == "tangent":
            return MISSING
        if what == "value":
            v = self._values[n.id] if n.id < len(self._values) else None
            return MISSING if v is None else v
        g = self._grads.get(n.id)
        if g is None:
            if not any(w is n for w in self.wrt):
                return MISSING
            return (require_cupy("a device run") if self.device == "cuda" else np).zeros(
                n.shape, n.dtype)
        return _array(g)

    def _available(self, what: str) -> list[str]:
        if what == "value":
            return list(self.values)
        return list(self.grads) if what == "grad" else []

    def _hint(self, what: str, ref: str | Node) -> str:
        if isinstance(ref, Node) and ref.graph is not self.graph:
            return f"the node belongs to graph '{ref.graph.name}', not '{self.graph.name}'"
        if isinstance(ref, str) and ref not in self.graph:
            return f"graph '{self.graph.name}' has no node of that name"
        return {"value": "it is not needed by the requested outputs",
                "grad": "pass it in wrt=", "tangent": "gn.run takes no tangents; use gn.jvp"
                }[what]

    def has_grad(self, node: str | Node) -> bool:
        """Whether ``node`` received a gradient in the backward pass."""
        n = self._node(node)
        return n is not None and n.id in self._grads

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Name -> value of every computed node."""
        return {n.name: v for n, v in zip(self.graph.nodes, self._values) if v is not None}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Name -> gradient of every node that received one."""
        return {self.graph.nodes[i].name: _array(g) for i, g in self._grads.items()}

    def to_host(self) -> Run:
        """This run with NumPy copies of its values and gradients (itself on the CPU)."""
        if self.device == "cpu":
            return self
        return Run(self.graph, [to_host(v) for v in self._values],
                   {i: to_host(g) for i, g in self._grads.items()}, self.outputs, self.wrt,
                   self.loss)

    def __getitem__(self, node: str | Node) -> np.ndarray:
        return self.value(node)

    def __repr__(self) -> str:
        outs = ", ".join(f"{o.name}={_short(self._values[o.id])}" for o in self.outputs)
        return f"<Run of {self.graph.name!r}: {outs}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from graphnn.viz.draw import repr_mimebundle  # lazy: drawing is optional

        return repr_mimebundle(self)

    def _repr_svg_(self) -> str | None:
        return self._repr_mimebundle_().get("image/svg+xml")


def _array(g: Any) -> Any:
    """A gradient as an array: NumPy scalars and numbers become arrays; CuPy arrays stay."""
    return g if is_device_array(g) else np.asarray(g)


def _short(v: Any) -> str:
    a = np.asarray(to_host(v))
    return f"{a.item():.4g}" if a.size == 1 else f"array{fmt_shape(a.shape)}"


def resolve_nodes(graph: Graph, refs: Any) -> list[Node]:
    """The nodes of ``graph`` that ``refs`` names: None (none), a node or a name, a list of
    them, or the string ``"params"`` (every param).

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     w = gn.param("w", 1.0)
    ...     y = (w * 2.0).named("y")
    >>> [n.name for n in resolve_nodes(g, "y")], resolve_nodes(g, "params") == [w]
    (['y'], True)
    """
    if refs is None:
        return []
    if isinstance(refs, str) and refs == "params":
        return graph.params
    if isinstance(refs, (str, Node)):
        refs = [refs]
    return [graph.node(r) for r in refs]


def resolve_targets(graph: Graph, outputs: Any, wrt: Any, loss: Any,
                    caller: str) -> tuple[list[Node], list[Node], Node | None]:
    """``(outputs, wrt, loss)`` as nodes for ``gn.run`` / ``gn.compile``: outputs default to
    ``graph.default_outputs()``; with ``wrt`` the loss defaults to the only output (a
    GradError naming ``caller`` when there are several)."""
    outs = resolve_nodes(graph, outputs) or graph.default_outputs()
    if not outs:
        raise GraphError(f"{caller}: graph {graph.name!r} has no nodes, so nothing to "
                         "compute; build it inside `with gn.Graph() as g:`")
    wrt_nodes = resolve_nodes(graph, wrt)
    if isinstance(wrt, str) and wrt == "params":  # a selector: float params only
        wrt_nodes = [w for w in wrt_nodes if w.dtype.kind in "fc"]
    for w in wrt_nodes:
        if w.dtype.kind not in "fc":
            raise GradError(f"{caller}: {describe(w)} holds {w.dtype.name} values; "
                            "gradients flow through floating point only (an integer or "
                            "bool node has no gradient)", node=w)
    loss_node = graph.node(loss) if loss is not None else None
    if wrt_nodes and loss_node is None:
        if len(outs) != 1:
            raise GradError(f"{caller}: {len(outs)} outputs "
                            f"({', '.join(o.name for o in outs)}); "
                            "say which one to differentiate with loss=")
        loss_node = outs[0]
    return outs, wrt_nodes, loss_node


def convert_feed(node: Node, value: Any) -> np.ndarray:
    """Check and convert one feed to ``node``'s dtype; FeedError with details otherwise."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as e:  # ragged lists and the like
        raise FeedError(f"feed for input {describe(node)} is not an array: {e}",
                        node=node) from None
    kind = arr.dtype.kind
    want = node.dtype.kind
    if (kind not in "fiu" or (kind == "f" and want in "iu")) and not (kind == want == "b"):
        if kind == "f" and want in "iu" and np.all(np.mod(arr, 1) == 0):
            pass
        else:
            what = ("graphnn computes with real numbers only: complex inputs cannot be fed"
                    if kind == "c" else f"expected {node.dtype} (real numbers)")
            raise FeedError(f"feed for input {describe(node)} has dtype {arr.dtype}; {what}",
                            node=node)
    if arr.shape != node.shape:
        raise FeedError(f"feed for input {describe(node)} has shape {fmt_shape(arr.shape)}; "
                        "expected "
                        f"{fmt_shape(node.shape)}", node=node)
    return arr.astype(node.dtype, copy=False)


def feed_node(graph: Graph, key: str | Node) -> Node:
    """The input or param of ``graph`` a feed key names; FeedError (with a close name)
    for a node of another graph or an unknown name."""
    name = key.name if isinstance(key, Node) else key
    node = graph._by_name.get(name) if isinstance(name, str) else None
    if isinstance(key, Node) and key.graph is not graph:
        raise FeedError(f"feed key {describe(key)} belongs to graph '{key.graph.name}'")
    if node is None or node.op not in (INPUT, PARAM):
        names = [n.name for n in graph.inputs]
        hint = difflib.get_close_matches(str(name), names, n=1)
        msg = f"unexpected feed {name!r}: graph '{graph.name}' has no input of that name"
        msg += f" (did you mean {hint[0]!r}?)" if hint else f"; its inputs are {names}"
        raise FeedError(msg)
    return node


def check_feeds(graph: Graph, feeds: Mapping[str | Node, Any] | None,
                needed: Sequence[Node]) -> dict[int, np.ndarray]:
    """Resolve feed keys, reject unknown ones, convert values; returns id -> array.

    Params may be fed too (overriding their stored value for this run).
    """
    out: dict[int, np.ndarray] = {}
    for key, v in dict(feeds or {}).items():
        node = feed_node(graph, key)
        out[node.id] = convert_feed(node, v)
    _check_missing(out, needed)
    return out


def _check_missing(fed: Mapping[int, Any], needed: Sequence[Node]) -> None:
    missing = [n for n in needed if n.op is INPUT and n.id not in fed]
    if missing:
        lst = ", ".join(f"'{n.name}' {fmt_shape(n.shape)} (created at {n.loc})" for n in missing)
        raise FeedError(f"missing feed for input(s) {lst}", node=missing[0])


class Plan:
    """What to execute for given outputs and wrt: cached on the graph until it grows."""

    __slots__ = ("forward", "backward", "needed", "steps")

    def __init__(self, graph: Graph, outputs: list[Node], wrt: list[Node], loss: Node | None):
        anc = ancestors(outputs + ([loss] if loss is not None else []))
        self.forward = [n for n in graph.nodes if anc[n.id]]
        self.steps = [(n.id, n.op, n.op.forward, tuple(i.id for i in n.inputs), n.params)
                      for n in self.forward]
        if loss is not None and wrt:
            self.needed = backward_mask([loss], wrt)
            self.backward = [n for n in reversed(graph.nodes[: loss.id + 1]) if self.needed[n.id]]
        else:
            self.needed, self.backward = [], []


def plan_for(graph: Graph, outputs: list[Node], wrt: list[Node], loss: Node | None) -> Plan:
    key = ("plan", tuple(n.id for n in outputs), tuple(n.id for n in wrt),
           None if loss is None else loss.id)
    plan = graph._cache.get(key)
    if plan is None:
        plan = graph._cache[key] = Plan(graph, outputs, wrt, loss)
    return plan


def _anomaly(node: Node, v: Any, what: str) -> None:
    a = np.asarray(to_host(v))
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        bad = "NaN" if np.isnan(a).any() else "Inf"
        ins = ", ".join(f"'{i.name}'" for i in node.inputs)
        raise AnomalyError(f"anomaly: {what} of {describe(node)} contains {bad}"
                           + (f" (inputs: {ins})" if ins else ""), node=node)


def run(graph: Graph, feeds: Mapping[str | Node, Any] | None = None, *,
        wrt: Any = None, outputs: Any = None, loss: str | Node | None = None,
        seed: Any = None, anomaly: bool = False, on_forward: Hook | None = None,
        on_backward: Hook | None = None, on_accumulate: Hook | None = None,
        device: str = "cpu") -> Run:
    """Evaluate ``graph`` node by node, then (with ``wrt``) its reverse pass.

    Args:
        feeds: input name (or node) -> value; params may be fed to override them.
        wrt: nodes or names to differentiate with respect to ("params" for all params).
        outputs: nodes to compute (default: ``graph.outputs`` or its sinks).
        loss: the node whose gradient is taken (default: the only output).
        seed: upstream cotangent for a non-scalar loss.
        anomaly: stop at the first NaN/Inf value or gradient, naming its node.
        on_forward / on_backward / on_accumulate: step hooks (used by ``gn.trace``).
        device: "cpu" (NumPy) or "cuda": every op runs on CuPy arrays (feeds may be CuPy
            arrays; params and constants are copied to the GPU once, see
            :mod:`graphnn.run.device`) and the Run holds device arrays
            (``r.value(ref, host=True)`` or ``r.to_host()`` for NumPy copies).
    """
    outs, wrt_nodes, loss_node = resolve_targets(graph, outputs, wrt, loss, "run")
    plan = plan_for(graph, outs, wrt_nodes, loss_node)
    xp: Any = np
    if check_device(device, "run") == "cuda":
        xp = require_cupy("gn.run(device='cuda')")
        fed = _device_leaves(xp, graph, feeds, plan.forward)
    else:
        fed = check_feeds(graph, feeds, plan.forward)
    vals: list[Any] = [None] * len(graph.nodes)
    state = graph._state
    nodes = graph.nodes
    with np.errstate(all="ignore"):
        for i, op, fwd, ins, params in plan.steps:
            if op.leaf:
                if i in fed:
                    vals[i] = fed[i]
                elif op is PARAM:
                    vals[i] = state[nodes[i]]
                elif op is CONST:
                    vals[i] = params["value"]
                else:  # pragma: no cover - check_feeds reports missing inputs
                    raise FeedError(f"missing feed for {describe(nodes[i])}")
            else:
                try:
                    vals[i] = fwd(xp, *[vals[j] for j in ins], **params)
                except GraphError:
                    raise
                except Exception as e:  # an op failing at run time: name the node
                    raise GraphError(f"{op.name} failed at {describe(nodes[i])}: "
                                     f"{type(e).__name__}: {e}", node=nodes[i]) from e
            if anomaly:
                _anomaly(nodes[i], vals[i], "the value")
            if on_forward is not None:
                on_forward(nodes[i], vals[i], [vals[j] for j in ins])
        grads: dict[int, Any] = {}
        if wrt_nodes:
            assert loss_node is not None
            grads[loss_node.id] = _seed(xp, loss_node, seed)
            check = (lambda n, g: _anomaly(n, g, "the gradient")) if anomaly else None
            backprop(plan.backward, vals, grads, plan.needed,
                     on_node=on_backward, on_accumulate=on_accumulate, check=check)
    return Run(graph, vals, grads, outs, wrt_nodes, loss_node, device=device)


def _seed(xp: Any, loss_node: Node, seed: Any) -> Any:
    """The upstream cotangent of the loss (ones for a scalar loss) in ``xp``'s arrays."""
    if seed is None:
        if loss_node.shape != ():
            raise GradError(
                f"run: cannot differentiate the non-scalar {describe(loss_node)} without "
                "seed= (an array of its shape); or reduce it with gn.sum / gn.mean",
                node=loss_node)
        return xp.ones((), dtype=loss_node.dtype)
    seed_v = xp.asarray(to_host(seed) if xp is np else seed, dtype=loss_node.dtype)
    if seed_v.shape != loss_node.shape:
        raise GradError(f"run: seed shape {fmt_shape(seed_v.shape)} does not match "
                        f"{describe(loss_node)}", node=loss_node)
    return seed_v


def _device_leaves(cp: Any, graph: Graph, feeds: Mapping[str | Node, Any] | None,
                   needed: Sequence[Node]) -> dict[int, Any]:
    """Node id -> device array for every leaf of ``needed``: the feeds (checked like host
    feeds; CuPy arrays kept), then the params and constants from the graph's device copies."""
    from graphnn.run.device import DeviceParams, device_feed

    fed: dict[int, Any] = {}
    for key, v in dict(feeds or {}).items():
        node = feed_node(graph, key)
        fed[node.id] = device_feed(cp, node, v)
    _check_missing(fed, needed)
    mirror = graph._cache.get("device-params")
    if mirror is None:
        mirror = graph._cache["device-params"] = DeviceParams(graph)
    for n in needed:
        if n.id not in fed and n.op in (PARAM, CONST):
            fed[n.id] = mirror.get(cp, n)
    return fed
