"""Explicit local Jacobians and the chain of Jacobian products.

``local_jacobians(run)`` materialises, for every node of a run and each of its inputs,
the matrix d node / d input (out.size x in.size) by pushing basis vectors through the
op's own jvp rule (or pulling them through its vjp when that takes fewer sweeps): it
works for every op, and shows that elementwise ops are diagonal, a linear layer's
Jacobian w.r.t. its input is W, and conv/pool are sparse. ``jacobian_chain`` multiplies
those matrices in forward order (as the input flows) and in reverse order (from the
output back), counting shapes and multiply-adds: what backprop avoids by propagating
vectors instead.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(3,))
...     W = gn.param("W", np.arange(6.0).reshape(2, 3))
...     h = (W @ x).named("h"); y = gn.sigmoid(h).named("y")
>>> lj = gn.local_jacobians(gn.run(g, {"x": [1.0, 0.0, -1.0]}))
>>> lj["h", "x"].kind, np.array_equal(lj["h", "x"].matrix, g.value_of(W)), lj["y", "h"].kind
('dense', True, 'diagonal')
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from graphnn.core.errors import GraphError
from graphnn.core.ir import Node
from graphnn.core.traverse import ancestors, backward_mask
from graphnn.ops.linalg import sum_to
from graphnn.run.interpret import Run


@dataclass
class LocalJacobian:
    """d ``node`` / d ``input`` (input slot ``k``) as an explicit matrix."""

    node: Node
    input: Node
    k: int
    matrix: np.ndarray | None
    note: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return (self.node.size, self.input.size)

    @property
    def nnz(self) -> int:
        return -1 if self.matrix is None else int(np.count_nonzero(self.matrix))

    @property
    def kind(self) -> str:
        """"zero", "scalar", "identity", "diagonal", "sparse", "dense" or "skipped"."""
        M = self.matrix
        if M is None:
            return "skipped"
        if M.size == 1:
            return "scalar"
        nnz = self.nnz
        if nnz == 0:
            return "zero"
        if M.shape[0] == M.shape[1] and nnz == np.count_nonzero(np.diag(M)):
            return "identity" if np.all(np.diag(M) == 1) else "diagonal"
        return "sparse" if nnz <= 0.5 * M.size else "dense"

    def __str__(self) -> str:
        m, n = self.shape
        dens = "" if self.matrix is None else f", {self.nnz}/{m * n} nonzero"
        return (f"d{self.node.name}/d{self.input.name}: {m} x {n} {self.kind}{dens}"
                + (f" ({self.note})" if self.note else ""))


def _local(run: Run, n: Node, k: int, max_entries: int) -> LocalJacobian:
    inp = n.inputs[k]
    m, p = n.size, inp.size
    if m * p > max_entries:
        return LocalJacobian(n, inp, k, None, f"{m * p:,} entries > max_entries")
    op = n.op
    out = np.asarray(run.value(n))
    ins = [np.asarray(run.value(i)) for i in n.inputs]
    params = dict(n.params)
    M = np.zeros((m, p))
    with np.errstate(all="ignore"):
        if op.jvp is not None and (p <= m or op.vjp is None):
            for j in range(p):
                e = np.zeros(p, dtype=inp.dtype)
                e[j] = 1.0
                ts: list[Any] = [None] * len(ins)
                ts[k] = e.reshape(inp.shape)
                t = op.jvp(ts, out, *ins, **params)
                if t is not None:
                    M[:, j] = np.broadcast_to(np.asarray(t), n.shape).reshape(-1)
        elif op.vjp is not None:
            for i in range(m):
                e = np.zeros(m, dtype=n.dtype)
                e[i] = 1.0
                ct = op.vjp(e.reshape(n.shape), out, *ins, **params)[k]
                ct = ct() if callable(ct) else ct
                if ct is not None:
                    ct = np.asarray(ct)
                    if ct.shape != inp.shape:
                        ct = sum_to(ct, inp.shape)
                    M[i, :] = np.asarray(ct).reshape(-1)
        else:
            return LocalJacobian(n, inp, k, None, f"op '{op.name}' has no jvp/vjp rule")
    return LocalJacobian(n, inp, k, M)


@dataclass
class LocalJacobians:
    """All local Jacobians of a run; index with ``[node, input]`` (nodes or names)."""

    entries: list[LocalJacobian] = field(default_factory=list)

    def __iter__(self) -> Iterator[LocalJacobian]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, key: tuple[Any, Any]) -> LocalJacobian:
        a, b = key
        for e in self.entries:
            if (e.node is a or e.node.name == a) and (e.input is b or e.input.name == b):
                return e
        raise KeyError(f"no local Jacobian d{a}/d{b}")

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.entries)


def local_jacobians(run: Run, nodes: Any = None, max_entries: int = 1_000_000) -> LocalJacobians:
    """Materialise every local Jacobian of ``run`` (or of ``nodes``) as a matrix
    (inputs that are constants are left out).

    Matrices larger than ``max_entries`` are skipped (``matrix`` None, kind "skipped").
    """
    g = run.graph
    sel = [g.node(x) for x in nodes] if nodes is not None else g.nodes
    out = LocalJacobians()
    for n in sel:
        if n.op.leaf or not run.has_value(n):
            continue
        for k, inp in enumerate(n.inputs):
            if k in n.op.nondiff or inp.dtype.kind != "f" or inp.role == "const":
                continue
            out.entries.append(_local(run, n, k, max_entries))
    return out


# -- the chain of Jacobian products -------------------------------------------------


@dataclass
class ChainProduct:
    """One product of the chain: ``text`` names the factors, ``shapes`` the matrix
    shapes ((a, b) x (b, c)), ``madds`` = a * b * c."""

    text: str
    shapes: tuple[tuple[int, int], tuple[int, int]]
    madds: int


@dataclass
class JacobianChain:
    """The Jacobian d of / d wrt assembled from explicit local Jacobians, in forward
    order (``forward``: as the input flows) and reverse order (``reverse``: from the
    output back). Both give ``matrix``; ``forward_madds`` / ``reverse_madds`` count
    the dense matrix products."""

    of: Node
    wrt: Node
    forward: list[ChainProduct]
    reverse: list[ChainProduct]
    matrix: np.ndarray
    matrix_reverse: np.ndarray

    @property
    def forward_madds(self) -> int:
        return sum(p.madds for p in self.forward)

    @property
    def reverse_madds(self) -> int:
        return sum(p.madds for p in self.reverse)

    def __str__(self) -> str:
        o, w = self.of.name, self.wrt.name
        lines = [f"Jacobian d{o}/d{w} ({self.of.size} x {self.wrt.size}) as a chain of "
                 "local Jacobian products", "", "forward order (tangent matrices, input to "
                 f"output; M[v] = dv/d{w}):"]
        for p in self.forward:
            (a, b), (_, c) = p.shapes
            lines.append(f"  {p.text:<40} ({a}x{b}) @ ({b}x{c})  {p.madds:>12,} madds")
        lines.append(f"  total {self.forward_madds:,} multiply-adds")
        lines += ["", f"reverse order (adjoint matrices, output to input; A[v] = d{o}/dv):"]
        for p in self.reverse:
            (a, b), (_, c) = p.shapes
            lines.append(f"  {p.text:<40} ({a}x{b}) @ ({b}x{c})  {p.madds:>12,} madds")
        lines.append(f"  total {self.reverse_madds:,} multiply-adds")
        return "\n".join(lines)


def jacobian_chain(run: Run, of: str | Node, wrt: str | Node,
                   max_entries: int = 1_000_000) -> JacobianChain:
    """Multiply the local Jacobians on the paths from ``wrt`` to ``of`` in both orders.

    >>> import numpy as np, graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x", shape=(3,)); W = gn.param("W", np.ones((4, 3)))
    ...     y = gn.tanh(W @ x).named("y"); L = gn.sum(y).named("L")
    >>> ch = gn.jacobian_chain(gn.run(g, {"x": [0.1, 0.2, 0.3]}), L, x)
    >>> ch.matrix.shape, ch.reverse_madds < ch.forward_madds
    ((1, 3), True)
    """
    g = run.graph
    of_n, wrt_n = g.node(of), g.node(wrt)
    needed = backward_mask([of_n], [wrt_n])
    path = [n for n in g.nodes if needed[n.id] and n is not wrt_n and not n.op.leaf]
    lj = {}
    for n in path:
        for k, i in enumerate(n.inputs):
            if needed[i.id] and k not in n.op.nondiff:
                e = _local(run, n, k, max_entries)
                if e.matrix is None:
                    raise GraphError(f"jacobian_chain: d{n.name}/d{i.name} is too large to "
                                     f"materialise ({e.note})", node=n)
                lj[(n.id, k)] = e
    p = wrt_n.size
    fwd_m: dict[int, np.ndarray] = {wrt_n.id: np.eye(p)}
    fwd: list[ChainProduct] = []
    for n in path:
        acc = np.zeros((n.size, p))
        for k, i in enumerate(n.inputs):
            e = lj.get((n.id, k))
            if e is None or i.id not in fwd_m:
                continue
            J = e.matrix
            assert J is not None
            Mi = fwd_m[i.id]
            acc += J @ Mi
            fwd.append(ChainProduct(f"M[{n.name}] += J[{n.name}<-{i.name}] @ M[{i.name}]",
                                    (J.shape, Mi.shape), J.shape[0] * J.shape[1] * Mi.shape[1]))
        fwd_m[n.id] = acc
    q = of_n.size
    adj: dict[int, np.ndarray] = {of_n.id: np.eye(q)}
    rev: list[ChainProduct] = []
    anc = ancestors([of_n])
    for n in reversed(path):
        A = adj.get(n.id)
        if A is None or not anc[n.id]:
            continue
        for k, i in enumerate(n.inputs):
            e = lj.get((n.id, k))
            if e is None:
                continue
            J = e.matrix
            assert J is not None
            adj[i.id] = adj.get(i.id, 0) + A @ J
            rev.append(ChainProduct(f"A[{i.name}] += A[{n.name}] @ J[{n.name}<-{i.name}]",
                                    (A.shape, J.shape), A.shape[0] * A.shape[1] * J.shape[1]))
    Mf = fwd_m.get(of_n.id, np.zeros((q, p)))
    Mr = adj.get(wrt_n.id, np.zeros((q, p)))
    return JacobianChain(of_n, wrt_n, fwd, rev, np.asarray(Mf), np.asarray(Mr))


@lru_cache(maxsize=256)
def _ones(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only array of ones (copy it: building one each time is slow)."""
    a = np.ones(shape, dtype=dtype)
    a.flags.writeable = False
    return a


def step_local_values(step: Any) -> tuple[Any, ...]:
    """Per input of a trace step's node: its local derivative as a number (scalar
    nodes and inputs) or as the Jacobian diagonal (same-shape elementwise ops); None
    otherwise. Shown by the trace narratives and asked by ``gn.quiz``.

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     a, b = gn.input("a"), gn.input("b"); c = (a * b).named("c")
    >>> [float(v) for v in step_local_values(gn.trace(g, {"a": 2.0, "b": 5.0})[2])]
    [5.0, 2.0]
    """
    node, op = step.node, step.op
    out: list[Any] = []
    ins = step.input_values
    if op.vjp is None:
        return tuple(None for _ in node.inputs)
    ones = _ones(node.shape, node.dtype).copy()
    with np.errstate(all="ignore"):
        try:
            cts = op.vjp(ones, np.asarray(step.value), *ins, **dict(node.params))
        except Exception:  # noqa: BLE001 - a display helper must never break the trace
            return tuple(None for _ in node.inputs)
        for k, inp in enumerate(node.inputs):
            ct = cts[k] if k not in op.nondiff else None
            scalar_case = node.size == 1 and inp.size == 1
            diag_case = op.elementwise and inp.shape == node.shape
            if ct is None or not (scalar_case or diag_case) or inp.dtype.kind != "f":
                out.append(None)
                continue
            ct = ct() if callable(ct) else ct
            if ct is None:
                out.append(None)
                continue
            a = np.asarray(ct)
            out.append(a.reshape(()) if scalar_case else a.reshape(inp.shape))
    return tuple(out)
