"""Graph data on a CUDA GPU: device copies of params and constants kept between calls, and
feeds checked and moved to the device (CuPy arrays are taken as they are, no copy).

Params are uploaded once and re-uploaded only when the graph's param store changes:
every write through it (``Graph.set_value``, ``share_value``, ``gn.load``, the optimizers)
bumps ``Graph.param_version``; code that writes into ``g.value_of(p)`` in place calls
``g.params_changed()`` (or ``CompiledGraph.sync_params()``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from graphnn.core.errors import FeedError, describe, fmt_shape
from graphnn.core.ir import CONST, Graph, Node
from graphnn.run.interpret import convert_feed


class DeviceParams:
    """Device copies of ``graph``'s params (and constants) for one CuPy module.

    ``get(cp, node)`` uploads a param on first use and again after the graph's
    :attr:`~graphnn.core.ir.Graph.param_version` moved (or its stored array was
    replaced, or :meth:`sync` was called); ``uploads`` counts the copies made."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.uploads = 0
        self._cp: Any = None
        self._version = -1
        self._arrays: dict[int, tuple[Any, Any]] = {}  # node id -> (host array, device array)

    def sync(self) -> None:
        """Forget the device copies of params: the next call uploads them again."""
        self._version = -1

    def current(self) -> None:
        """The device copies are as new as the param store (a fused step wrote the same
        values into both): the version bump it made does not make them stale."""
        self._version = self.graph.param_version

    def get(self, cp: Any, node: Node) -> Any:
        """The device copy of param or constant ``node`` (uploaded when stale)."""
        if cp is not self._cp:
            self._arrays.clear()
            self._cp = cp
        if node.op is CONST:
            hit = self._arrays.get(node.id)
            if hit is None:
                hit = self._arrays[node.id] = (None, cp.asarray(node.params["value"]))
            return hit[1]
        if self.graph.param_version != self._version:
            self._arrays = {k: v for k, v in self._arrays.items() if v[0] is None}
            self._version = self.graph.param_version
        host = self.graph._state[node]
        if isinstance(host, cp.ndarray):  # resident on the device (params_on_device)
            return host
        hit = self._arrays.get(node.id)
        if hit is None or hit[0] is not host:
            self.uploads += 1
            hit = self._arrays[node.id] = (host, cp.asarray(host))
        return hit[1]


def device_feed(cp: Any, node: Node, value: Any) -> Any:
    """A feed for ``node`` on the device: a CuPy array is checked (shape, real dtype) and
    used as it is (cast on the device if its dtype differs); anything else is converted
    like a host feed and uploaded."""
    if not isinstance(value, cp.ndarray):
        return cp.asarray(convert_feed(node, value))
    if value.dtype.kind not in "fiu" or (value.dtype.kind == "f" and node.dtype.kind in "iu"):
        raise FeedError(f"feed for input {describe(node)} has dtype {value.dtype}; expected "
                        f"{node.dtype} (real numbers)", node=node)
    if tuple(value.shape) != node.shape:
        raise FeedError(f"feed for input {describe(node)} has shape "
                        f"{fmt_shape(tuple(value.shape))}; expected {fmt_shape(node.shape)}",
                        node=node)
    return value if value.dtype == node.dtype else value.astype(node.dtype)


@contextlib.contextmanager
def params_on_device(cp: Any, graph: Graph, params: Iterable[Node]) -> Iterator[None]:
    """While the block runs, ``params`` hold device arrays in ``graph``'s param store, so
    compiled CuPy steps, device runs and the optimizers read and update them there with
    no host copy. On the way out (also after an error) each device value is copied back
    INTO the original host array, so every reference to it (shared values, the model's
    own arrays) sees the trained value and nothing is half-updated."""
    hosts = {p: graph._state[p] for p in params}
    try:
        for p, h in hosts.items():
            graph._state[p] = cp.asarray(h)
        graph.params_changed()
        yield
    finally:
        for p, h in hosts.items():
            dev = graph._state[p]
            if isinstance(dev, cp.ndarray):
                h[...] = cp.asnumpy(dev)
            graph._state[p] = h
        graph.params_changed()


__all__ = ["DeviceParams", "device_feed", "params_on_device"]
