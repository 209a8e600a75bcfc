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

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphnn.core.errors import GradError, describe, fmt_shape
from graphnn.core.ir import Graph, Node
from graphnn.core.traverse import backward_mask
from graphnn.run.autodiff import backprop
from graphnn.run.forward import propagate
from graphnn.run.interpret import run

MODES = ("forward", "reverse", "auto")


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
        return int(np.prod(self.wrt_shape, dtype=np.int64))

    @property
    def reverse_sweeps(self) -> int:
        return int(np.prod(self.of_shape, dtype=np.int64))

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
    made: ``mode``, ``sweeps``, ``madds`` (model count), ``seconds`` and ``cost``
    (a :class:`JacobianCost` comparing both modes). ``np.asarray(J)`` drops the extras.
    """

    mode: str
    sweeps: int
    madds: int
    seconds: float
    cost: JacobianCost | None

    def __new__(cls, arr: np.ndarray, mode: str = "", sweeps: int = 0, madds: int = 0,
                seconds: float = 0.0, cost: JacobianCost | None = None) -> Jacobian:
        obj = np.asarray(arr).view(cls)
        obj.mode, obj.sweeps, obj.madds, obj.seconds, obj.cost = mode, sweeps, madds, seconds, cost
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.mode = getattr(obj, "mode", "")
        self.sweeps = getattr(obj, "sweeps", 0)
        self.madds = getattr(obj, "madds", 0)
        self.seconds = getattr(obj, "seconds", 0.0)
        self.cost = getattr(obj, "cost", None)

    @property
    def matrix(self) -> np.ndarray:
        """The Jacobian flattened to (of.size, wrt.size)."""
        c = self.cost
        m = int(np.prod(c.of_shape, dtype=np.int64)) if c else self.shape[0]
        return np.asarray(self).reshape(m, -1)


def jacobian(g: Graph, of: str | Node, wrt: str | Node, feeds: Mapping[str | Node, Any] | None
             = None, mode: str = "auto") -> Jacobian:
    """The full Jacobian d ``of`` / d ``wrt`` at ``feeds``, shape ``of.shape + wrt.shape``.

    ``mode="forward"`` pushes one basis tangent per element of ``wrt`` through the
    ops' jvp rules (columns); ``"reverse"`` pulls one basis cotangent per element of
    ``of`` back through the vjp rules (rows); ``"auto"`` picks the cheaper.
    ``wrt`` may be an input, a param or any intermediate node (held fixed upstream).
    """
    if mode not in MODES:
        raise GradError(f"jacobian: mode must be one of {MODES}, got {mode!r}")
    of_n, wrt_n = _nodes(g, of, wrt)
    cost = jacobian_cost(g, of_n, wrt_n)
    if mode == "auto":
        mode = cost.best
    t0 = time.perf_counter()
    outs = [of_n] + ([wrt_n] if not wrt_n.op.leaf else [])
    r = run(g, feeds, outputs=outs)
    needed = backward_mask([of_n], [wrt_n])
    m, n = of_n.size, wrt_n.size
    J = np.zeros((m, n), dtype=np.result_type(of_n.dtype, wrt_n.dtype, np.float64))
    if needed[of_n.id]:
        order = [x for x in g.nodes if needed[x.id]]

        def value(x: Node) -> Any:
            return r.value(x)

        with np.errstate(all="ignore"):
            if mode == "forward":
                for j in range(n):
                    e = np.zeros(n, dtype=wrt_n.dtype)
                    e[j] = 1.0
                    tan = propagate(order, value, {wrt_n.id: e.reshape(wrt_n.shape)})
                    if of_n.id in tan:
                        J[:, j] = np.asarray(tan[of_n.id]).reshape(-1)
            else:
                rev = order[::-1]
                for i in range(m):
                    e = np.zeros(m, dtype=of_n.dtype)
                    e[i] = 1.0
                    grads = backprop(rev, value, {of_n.id: e.reshape(of_n.shape)}, needed)
                    if wrt_n.id in grads:
                        J[i, :] = np.asarray(grads[wrt_n.id]).reshape(-1)
    secs = time.perf_counter() - t0
    return Jacobian(J.reshape(of_n.shape + wrt_n.shape), mode, cost.sweeps(mode),
                    cost.madds(mode), secs, cost)


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
