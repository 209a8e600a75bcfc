"""Full Jacobians from JVP columns (forward mode) or VJP rows (reverse mode), with the
cost of each mode counted in sweeps and scalar multiply-adds, and Hessians
(forward-over-reverse) for small graphs.

Cost model: one sweep visits every node on a path from ``wrt`` to ``of`` once per input
on that path and costs the op's ``cost`` (multiply-adds; the output size for ops that
give none). Forward mode needs one sweep per element of ``wrt``, reverse mode one per
element of ``of``: reverse wins for a scalar loss, forward for few inputs and many
outputs.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(3,))
...     W = gn.param("W", np.arange(6.0).reshape(2, 3))
...     y = gn.tanh(W @ x)
>>> J = gn.jacobian(g, y, x, {"x": np.zeros(3)}, mode="reverse")
>>> J.shape, J.sweeps, np.allclose(J, g.value_of(W))
((2, 3), 2, True)
>>> gn.jacobian_cost(g, y, x).best
'reverse'
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphnn.core.errors import GradError, describe, fmt_shape
from graphnn.core.ir import Graph, Node
from graphnn.core.traverse import backward_mask
from graphnn.ops.batching import Basis, dense
from graphnn.run.autodiff import backprop
from graphnn.run.batched import backprop_batched, propagate_batched, sliced_ops
from graphnn.run.forward import propagate
from graphnn.run.interpret import run

MODES = ("forward", "reverse", "auto")
MEMORY_BUDGET = 1 << 26   # bytes of the widest batched tangent when chunk=None (64 MiB)


def node_cost(n: Node) -> int:
    """Multiply-adds of one evaluation of ``n`` (its op's ``cost``, else its size)."""
    if n.op.leaf:
        return 0
    if n.op.cost is not None:
        try:
            return int(n.op.cost(*[i.shape for i in n.inputs], n.shape, **dict(n.params)))
        except Exception:  # noqa: BLE001 - a cost rule must not break a Jacobian
            pass
    return max(n.size, 1)


@dataclass(frozen=True)
class JacobianCost:
    """Sweeps and multiply-adds of forward and reverse mode for d ``of`` / d ``wrt``."""

    of: str
    wrt: str
    of_shape: tuple[int, ...]
    wrt_shape: tuple[int, ...]
    sweep_madds: int
    primal_madds: int

    @property
    def forward_sweeps(self) -> int:
        return math.prod(self.wrt_shape)

    @property
    def reverse_sweeps(self) -> int:
        return math.prod(self.of_shape)

    @property
    def forward_madds(self) -> int:
        return self.forward_sweeps * self.sweep_madds

    @property
    def reverse_madds(self) -> int:
        return self.reverse_sweeps * self.sweep_madds

    @property
    def best(self) -> str:
        """The cheaper mode ("reverse" on ties)."""
        return "forward" if self.forward_madds < self.reverse_madds else "reverse"

    def madds(self, mode: str) -> int:
        return self.forward_madds if mode == "forward" else self.reverse_madds

    def sweeps(self, mode: str) -> int:
        return self.forward_sweeps if mode == "forward" else self.reverse_sweeps

    def __str__(self) -> str:
        m, n = self.reverse_sweeps, self.forward_sweeps
        rows = [f"Jacobian d{self.of}/d{self.wrt}: {fmt_shape(self.of_shape)} x "
                f"{fmt_shape(self.wrt_shape)} = {m} x {n} entries "
                f"(one forward pass: {self.primal_madds:,} multiply-adds)",
                f"{'mode':<8} {'sweeps':>8} {'madds/sweep':>12} {'total madds':>14}",
                f"{'forward':<8} {n:>8} {self.sweep_madds:>12,} {self.forward_madds:>14,}"
                "   (one JVP column per input element)",
                f"{'reverse':<8} {m:>8} {self.sweep_madds:>12,} {self.reverse_madds:>14,}"
                "   (one VJP row per output element)"]
        lo, hi = sorted([self.forward_madds, self.reverse_madds])
        ratio = hi / lo if lo else float("inf")
        rows.append(f"{self.best} mode is {ratio:.3g}x cheaper here" if ratio != 1 else
                    "both modes cost the same here")
        return "\n".join(rows)


def _nodes(g: Graph, of: Any, wrt: Any) -> tuple[Node, Node]:
    of_n, wrt_n = g.node(of), g.node(wrt)
    if wrt_n.dtype.kind != "f":
        raise GradError(f"jacobian: cannot differentiate w.r.t. the non-float {describe(wrt_n)}",
                        node=wrt_n)
    return of_n, wrt_n


def jacobian_cost(g: Graph, of: str | Node, wrt: str | Node) -> JacobianCost:
    """Count sweeps and multiply-adds of both modes (no values needed).

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x", shape=(100,)); L = gn.sum(gn.tanh(x))
    >>> c = gn.jacobian_cost(g, L, x)
    >>> c.forward_sweeps, c.reverse_sweeps, c.best
    (100, 1, 'reverse')
    """
    of_n, wrt_n = _nodes(g, of, wrt)
    needed = backward_mask([of_n], [wrt_n])
    sweep = 0
    for n in g.nodes:
        if needed[n.id] and n is not wrt_n and not n.op.leaf:
            k = sum(1 for i in n.inputs if needed[i.id])
            sweep += k * node_cost(n)
    from graphnn.core.traverse import ancestors

    anc = ancestors([of_n])
    primal = sum(node_cost(n) for n in g.nodes if anc[n.id])
    return JacobianCost(of_n.name, wrt_n.name, of_n.shape, wrt_n.shape, sweep, primal)


class Jacobian(np.ndarray):
    """A Jacobian array (shape ``of.shape + wrt.shape``) that also knows how it was
    made: ``mode``, ``sweeps`` (basis vectors pushed: one per column in forward mode, per
    row in reverse; the teaching count the cost model uses), ``passes`` (graph traversals
    actually run: ``ceil(sweeps / chunk)`` when batched, ``sweeps`` when not), ``chunk``,
    ``sliced`` (ops whose rules ran slice by slice inside a batched pass), ``madds``
    (model count), ``seconds`` and ``cost`` (a :class:`JacobianCost` comparing both
    modes). ``np.asarray(J)`` drops the extras.
    """

    mode: str
    sweeps: int
    madds: int
    seconds: float
    cost: JacobianCost | None
    passes: int
    chunk: int
    sliced: tuple[str, ...]
    _EXTRA = {"mode": "", "sweeps": 0, "madds": 0, "seconds": 0.0, "cost": None,
              "passes": 0, "chunk": 1, "sliced": ()}

    def __new__(cls, arr: np.ndarray, mode: str = "", sweeps: int = 0, madds: int = 0,
                seconds: float = 0.0, cost: JacobianCost | None = None,
                **extra: Any) -> Jacobian:
        obj = np.asarray(arr).view(cls)
        obj.mode, obj.sweeps, obj.madds, obj.seconds, obj.cost = mode, sweeps, madds, seconds, cost
        for k in ("passes", "chunk", "sliced"):
            setattr(obj, k, extra.get(k, cls._EXTRA[k]))
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        for k, d in self._EXTRA.items():
            setattr(self, k, getattr(obj, k, d))

    @property
    def matrix(self) -> np.ndarray:
        """The Jacobian flattened to (of.size, wrt.size)."""
        c = self.cost
        m = int(np.prod(c.of_shape, dtype=np.int64)) if c else self.shape[0]
        return np.asarray(self).reshape(m, -1)


@dataclass(frozen=True)
class JacobianPlan:
    """What a Jacobian of ``of`` w.r.t. ``wrt`` needs from the graph's structure alone,
    cached per graph (``Graph._cache`` is cleared whenever a node is added)."""

    needed: list[bool]
    order: list[Node]
    cost: JacobianCost
    sliced: tuple[str, ...]
    widest: int


def plan(g: Graph, of: str | Node, wrt: str | Node) -> JacobianPlan:
    """The cached :class:`JacobianPlan` for d ``of`` / d ``wrt``.

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x", shape=(4,)); y = gn.softmax(gn.exp(x))
    >>> p = plan(g, y, x)
    >>> [n.op.name for n in p.order], p.sliced, plan(g, y, x) is p
    (['input', 'exp', 'softmax'], (), True)
    """
    of_n, wrt_n = _nodes(g, of, wrt)
    key = ("jacobian", of_n.id, wrt_n.id)
    p = g._cache.get(key)
    if p is None:
        needed = backward_mask([of_n], [wrt_n])
        order = [x for x in g.nodes if needed[x.id]]
        widest = max([x.size for x in order] + [1])
        p = JacobianPlan(needed, order, jacobian_cost(g, of_n, wrt_n), sliced_ops(order),
                         widest)
        g._cache[key] = p
    return p


def _chunk(chunk: int | None, total: int, widest: int, itemsize: int) -> int:
    """Basis vectors per batched pass: ``chunk``, or as many as fit MEMORY_BUDGET."""
    if chunk is None:
        chunk = MEMORY_BUDGET // max(widest * itemsize, 1)
    if int(chunk) < 1:
        raise GradError(f"jacobian: chunk must be a positive number of sweeps, got {chunk!r}")
    return max(1, min(int(chunk), total))


def _forward(p: JacobianPlan, value: Any, of_n: Node, wrt_n: Node, J: np.ndarray,
             chunk: int) -> None:
    m, n = J.shape
    for j0 in range(0, n, chunk):
        b = min(chunk, n - j0)
        seed = Basis(wrt_n.shape, wrt_n.dtype, j0, j0 + b)
        tan = propagate_batched(p.order, value, {wrt_n.id: seed}, b)
        if of_n.id in tan:
            J[:, j0:j0 + b] = np.asarray(dense(tan[of_n.id])).reshape(b, m).T


def _reverse(p: JacobianPlan, value: Any, of_n: Node, wrt_n: Node, J: np.ndarray,
             chunk: int) -> None:
    m, n = J.shape
    rev = p.order[::-1]
    for i0 in range(0, m, chunk):
        b = min(chunk, m - i0)
        E = np.zeros((b, m), dtype=of_n.dtype)
        E[np.arange(b), i0 + np.arange(b)] = 1.0
        grads = backprop_batched(rev, value, {of_n.id: E.reshape((b,) + of_n.shape)},
                                 p.needed)
        if wrt_n.id in grads:
            J[i0:i0 + b, :] = np.asarray(grads[wrt_n.id]).reshape(b, n)


def _one_by_one(p: JacobianPlan, value: Any, of_n: Node, wrt_n: Node, J: np.ndarray,
                mode: str) -> None:
    """The teaching loop: one unbatched jvp (column) or vjp (row) sweep at a time."""
    m, n = J.shape
    for j in range(n if mode == "forward" else m):
        if mode == "forward":
            e = np.zeros(n, dtype=wrt_n.dtype)
            e[j] = 1.0
            tan = propagate(p.order, value, {wrt_n.id: e.reshape(wrt_n.shape)})
            if of_n.id in tan:
                J[:, j] = np.asarray(tan[of_n.id]).reshape(-1)
        else:
            e = np.zeros(m, dtype=of_n.dtype)
            e[j] = 1.0
            grads = backprop(p.order[::-1], value, {of_n.id: e.reshape(of_n.shape)}, p.needed)
            if wrt_n.id in grads:
                J[j, :] = np.asarray(grads[wrt_n.id]).reshape(-1)


def jacobian(g: Graph, of: str | Node, wrt: str | Node, feeds: Mapping[str | Node, Any] | None
             = None, mode: str = "auto", chunk: int | None = None,
             batched: bool = True) -> Jacobian:
    """The full Jacobian d ``of`` / d ``wrt`` at ``feeds``, shape ``of.shape + wrt.shape``.

    ``mode="forward"`` pushes basis tangents (one per element of ``wrt``) through the
    ops' jvp rules (columns); ``"reverse"`` pulls basis cotangents (one per element of
    ``of``) back through the vjp rules (rows); ``"auto"`` picks the cheaper. Batched (the
    default), ``chunk`` basis vectors travel together as a leading batch axis, so each
    pass is matrix-matrix products (``chunk=None``: as many as MEMORY_BUDGET bytes of the
    widest tangent allow); ``batched=False`` runs the one-vector-per-sweep loop.
    ``wrt`` may be an input, a param or any intermediate node (held fixed upstream).

    >>> import numpy as np, graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x", shape=(5,)); y = gn.exp(x) * 2.0
    >>> J = gn.jacobian(g, y, x, {"x": np.zeros(5)}, mode="forward", chunk=2)
    >>> np.array_equal(J, 2 * np.eye(5)), J.sweeps, J.passes
    (True, 5, 3)
    """
    if mode not in MODES:
        raise GradError(f"jacobian: mode must be one of {MODES}, got {mode!r}")
    of_n, wrt_n = _nodes(g, of, wrt)
    p = plan(g, of_n, wrt_n)
    mode = p.cost.best if mode == "auto" else mode
    t0 = time.perf_counter()
    r = run(g, feeds, outputs=[of_n] + ([wrt_n] if not wrt_n.op.leaf else []))
    m, n = of_n.size, wrt_n.size
    J = np.zeros((m, n), dtype=np.result_type(of_n.dtype, wrt_n.dtype, np.float64))
    total = n if mode == "forward" else m
    size = _chunk(chunk, total, p.widest, J.itemsize) if batched else 1
    if p.needed[of_n.id]:
        vals = r._values  # every ancestor of ``of`` ran: read them by id, not by name
        value = r.value if any(n.id >= len(vals) or vals[n.id] is None for n in p.order) else (
            lambda n: vals[n.id])
        with np.errstate(all="ignore"):
            if not batched:
                _one_by_one(p, value, of_n, wrt_n, J, mode)
            elif mode == "forward":
                _forward(p, value, of_n, wrt_n, J, size)
            else:
                _reverse(p, value, of_n, wrt_n, J, size)
    secs = time.perf_counter() - t0
    passes = -(-total // size) if batched else total
    return Jacobian(J.reshape(of_n.shape + wrt_n.shape), mode, p.cost.sweeps(mode),
                    p.cost.madds(mode), secs, p.cost, passes=passes, chunk=size,
                    sliced=p.sliced if batched else ())


def hessian(g: Graph, of: str | Node, wrt: str | Node,
            feeds: Mapping[str | Node, Any] | None = None, mode: str = "forward") -> Jacobian:
    """The Hessian of the scalar ``of`` w.r.t. ``wrt`` (shape ``wrt.shape * 2``):
    ``gn.grad`` adds the gradient nodes to ``g`` (once; they are reused on later
    calls), then ``jacobian`` differentiates them: ``mode="forward"`` is
    forward-over-reverse (one sweep per element of ``wrt``), ``"reverse"`` is
    reverse-over-reverse.

    >>> import numpy as np, graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x", shape=(2,)); f = gn.sum(x * x * x).named("f")
    >>> np.asarray(gn.hessian(g, f, x, {"x": [1.0, 2.0]})).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    from graphnn.run.autodiff import grad

    of_n, wrt_n = _nodes(g, of, wrt)
    if of_n.shape != ():
        raise GradError(f"hessian needs a scalar; {describe(of_n)} has shape "
                        f"{fmt_shape(of_n.shape)} (reduce it with gn.sum first)", node=of_n)
    name = f"d{of_n.name}_d{wrt_n.name}"
    gnode = g._by_name.get(name)
    if gnode is None or gnode.role != "grad" or gnode.shape != wrt_n.shape:
        gnode = grad(of_n, wrt_n)
    return jacobian(g, gnode, wrt_n, feeds, mode=mode)
