"""Compiled Jacobians: the batched sweep of ``gn.jacobian`` built as graph nodes, then
compiled like any graph, so a Jacobian evaluated many times (at many points) costs one
call of generated NumPy code (or CuPy) instead of an interpreted sweep.

``compile_jacobian(g, of, wrt)`` copies the graph and runs the batched rules of
:mod:`graphnn.run.batched` on *nodes* (``graphnn.ops.batching`` takes nodes as well as
arrays): reverse mode pulls all ``of.size`` basis cotangents back at once (an identity
with a leading batch axis), forward mode pushes all ``wrt.size`` basis tangents. The
result is one graph computing the primal and the whole Jacobian; ``gn.compile`` then
simplifies, folds, fuses and emits it like any other (``.source`` shows the code).

Ops whose batched rules exist only as array code (they run slice by slice in
``gn.jacobian``: convolutions, pooling, indexing...) are refused with a GradError naming
them; use ``gn.jacobian`` for those graphs.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(3,))
...     W = gn.param("W", np.arange(6.0).reshape(2, 3))
...     y = gn.tanh(W @ x)
>>> jac = gn.compile_jacobian(g, y, x)
>>> J = jac({"x": np.zeros(3)})
>>> J.shape, J.mode, np.allclose(J, gn.jacobian(g, y, x, {"x": np.zeros(3)}))
((2, 3), 'reverse', True)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphnn.codegen.compiler import CompiledGraph, compile
from graphnn.core.errors import GradError, describe, fmt_shape
from graphnn.core.ir import Graph, Node
from graphnn.ops.batching import Basis, dense
from graphnn.ops.creation import eye
from graphnn.ops.linalg import reshape, transpose
from graphnn.passes.rewrite import copy_graph
from graphnn.run.autodiff import itself
from graphnn.run.batched import backprop_batched, propagate_batched
from graphnn.run.jacobian import MEMORY_BUDGET, MODES, Jacobian, _nodes, plan


class CompiledJacobian:
    """``jac(feeds)`` -> the :class:`~graphnn.run.jacobian.Jacobian` of ``of`` w.r.t.
    ``wrt`` at ``feeds`` (shape ``of.shape + wrt.shape``), from one call of the compiled
    function. ``.compiled`` is the :class:`~graphnn.codegen.compiler.CompiledGraph`
    (``.source``: the generated code), ``.mode`` the sweep direction, ``.cost`` the
    cost model of both modes."""

    def __init__(self, fn: CompiledGraph, out: str, of: Node, wrt: Node, mode: str,
                 cost: Any) -> None:
        self.compiled, self._out, self.mode, self.cost = fn, out, mode, cost
        self.of_shape, self.wrt_shape = tuple(of.shape), tuple(wrt.shape)
        self._batch = wrt.size if mode == "forward" else of.size

    @property
    def source(self) -> str:
        return self.compiled.source

    def __call__(self, feeds: Mapping[str | Node, Any] | None = None, /, **kw: Any) -> Jacobian:
        t0 = time.perf_counter()
        r = self.compiled(feeds, host=True, **kw)
        J = np.asarray(r.value(self._out))
        return Jacobian(J.reshape(self.of_shape + self.wrt_shape), self.mode,
                        self.cost.sweeps(self.mode), self.cost.madds(self.mode),
                        time.perf_counter() - t0, self.cost, passes=1, chunk=self._batch)


def compile_jacobian(graph: Graph, of: str | Node, wrt: str | Node, mode: str = "auto",
                     backend: str = "numpy") -> CompiledJacobian:
    """Compile d ``of`` / d ``wrt`` (all of it, one batched sweep) into a function of the
    graph's feeds; ``mode`` as in ``gn.jacobian`` ("auto" picks the cheaper)."""
    if mode not in MODES:
        raise GradError(f"compile_jacobian: mode must be one of {MODES}, got {mode!r}")
    of_n, wrt_n = _nodes(graph, of, wrt)
    p = plan(graph, of_n, wrt_n)
    mode = p.cost.best if mode == "auto" else mode
    if p.sliced:
        raise GradError(f"compile_jacobian: the ops {', '.join(p.sliced)} have batched rules "
                        "for arrays only (they run slice by slice); use gn.jacobian, which "
                        "interprets them")
    B = wrt_n.size if mode == "forward" else of_n.size
    if B * p.widest * of_n.dtype.itemsize > MEMORY_BUDGET:
        raise GradError(f"compile_jacobian: {B} basis vectors at once through nodes of up to "
                        f"{p.widest} values exceed {MEMORY_BUDGET >> 20} MiB; use "
                        "gn.jacobian(..., chunk=...), which takes them in chunks")
    # a full copy keeps every node's id, so the plan's order and mask apply to it
    work, _ = copy_graph(graph, [of_n])
    of_w, wrt_w = work.nodes[of_n.id], work.nodes[wrt_n.id]
    order = [work.nodes[x.id] for x in p.order]
    with work, work.role("grad"), work.shared_scalars():
        try:
            if mode == "reverse":
                seed = reshape(eye(B, dtype=of_n.dtype.name), (B,) + of_n.shape)
                grads = backprop_batched(order[::-1], itself, {of_w.id: seed}, p.needed)
                rows = grads.get(wrt_w.id)
                J = None if rows is None else reshape(rows, (B, wrt_n.size))
            else:
                seed = Basis(wrt_n.shape, wrt_n.dtype, 0, B, nodes=True)
                tan = propagate_batched(order, itself, {wrt_w.id: seed}, B)
                cols = dense(tan.get(of_w.id))
                J = None if cols is None else transpose(reshape(cols, (B, of_n.size)))
        except GradError:
            raise
        except Exception as e:  # a rule that cannot take nodes: say which, not a traceback
            raise GradError(f"compile_jacobian: the batched {mode} sweep cannot be built for "
                            f"d {describe(of_n)} / d {describe(wrt_n)}: {e}") from e
        if J is None:  # ``of`` does not depend on ``wrt``
            J = work.constant(np.zeros((of_n.size, wrt_n.size), dtype=of_n.dtype))
    if J.shape != (of_n.size, wrt_n.size):
        raise GradError(f"compile_jacobian: the sweep gave shape {fmt_shape(J.shape)}, "
                        f"expected {fmt_shape((of_n.size, wrt_n.size))}")
    name = f"d{of_n.name}_d{wrt_n.name}"
    if name not in work:
        J = J.named(name)
    fn = compile(work, outputs=[J], backend=backend)
    return CompiledJacobian(fn, J.name, of_n, wrt_n, mode, p.cost)


__all__ = ["CompiledJacobian", "compile_jacobian"]
