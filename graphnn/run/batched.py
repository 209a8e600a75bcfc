"""Batched forward and reverse sweeps: tangents and cotangents carry a leading batch axis
(one basis vector per slice), so a Jacobian takes one sweep of matrix-matrix products
per chunk of columns or rows instead of one matrix-vector sweep per column or row.

Each op's rules apply to a batch in one of three ways (read from its record):
elementwise rules broadcast over the leading axis once the tangents are aligned;
``op.batched`` (:class:`graphnn.core.op.Batched`) gives explicit batched rules or the
attributes for which the op's own rules act on a batch; anything else runs its rules
slice by slice (correct, slower; :func:`sliced_ops` names those ops).

>>> import numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(3,))
...     W = gn.param("W", np.arange(6.0).reshape(2, 3))
...     y = gn.tanh(W @ x)
>>> r = gn.run(g, {"x": np.zeros(3)})
>>> tan = propagate_batched(g.nodes, r.value, {x.id: np.eye(3)}, 3)
>>> np.array_equal(tan[y.id].T, g.value_of(W))           # columns of dy/dx at x = 0
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphnn.core.errors import GradError, GraphError, describe
from graphnn.core.ir import Node
from graphnn.core.op import Batched, force
from graphnn.ops.batching import Basis, align, dense, fit, xp_of
from graphnn.ops.linalg import _sum_to

Value = Callable[[Node], Any]


def how(n: Node, rule: str = "vjp") -> str:
    """How ``n``'s ``rule`` ("vjp" or "jvp") runs on a batch: "elementwise", "rule",
    "attrs" or "sliced"."""
    b = n.op.batched
    if n.op.elementwise and not isinstance(b, Batched):
        return "elementwise"
    if isinstance(b, Batched):
        if b.attrs is not None:
            return "attrs"
        if getattr(b, rule) is not None:
            return "rule"
    return "sliced"


def sliced_ops(nodes: Sequence[Node]) -> tuple[str, ...]:
    """Names of the ops among ``nodes`` (non-leaf) whose rules run slice by slice."""
    return tuple(sorted({n.op.name for n in nodes if not n.op.leaf
                         and "sliced" in (how(n, "vjp"), how(n, "jvp"))}))


def _fail(n: Node, kind: str, e: Exception) -> GradError:
    return GradError(f"the batched {kind} of {describe(n)} failed: {type(e).__name__}: {e}",
                     node=n)


def _bcast(v: Any, B: int) -> Any:
    X = xp_of(v)
    v = X.asarray(v)
    return X.broadcast_to(v, (B,) + tuple(v.shape))


def _jvp(n: Node, ts: list[Any], value: Value, B: int) -> Any:
    op, kind = n.op, how(n, "jvp")
    out, prim = value(n), [value(i) for i in n.inputs]
    if kind == "elementwise":
        return op.jvp([None if t is None else align(t, len(n.shape)) for t in ts], out,
                      *prim, **n.params)
    if kind == "rule":
        return op.batched.jvp(ts, out, *prim, **n.params)
    if kind == "attrs":
        attrs = op.batched.attrs(len(n.inputs[0].shape), **n.params)
        return op.jvp(ts, _bcast(out, B), *[_bcast(p, B) for p in prim], **attrs)
    cols = []
    for b in range(B):
        t = op.jvp([None if t is None else t[b] for t in ts], out, *prim, **n.params)
        cols.append(np.zeros(n.shape, n.dtype) if t is None else np.broadcast_to(t, n.shape))
    return np.stack(cols)


def propagate_batched(order: Sequence[Node], value: Value, tangents: dict[int, Any],
                      B: int) -> dict[int, Any]:
    """Fill ``tangents`` (node id -> array of shape ``(B,) + node.shape``) through
    ``order`` (topological): the batched form of :func:`graphnn.run.forward.propagate`.
    A seed may be a :class:`~graphnn.ops.batching.Basis` (its consumers with a basis rule
    skip the product with the identity); the tangents filled in are arrays (or nodes)."""
    for n in order:
        if n.op.leaf or n.id in tangents:
            continue
        ts = [None if k in n.op.nondiff else tangents.get(i.id) for k, i in enumerate(n.inputs)]
        if all(t is None for t in ts):
            continue
        if n.op.jvp is None:
            raise GradError(f"op '{n.op.name}' has no forward-mode rule ({describe(n)})", node=n)
        try:
            t = None
            seeds = [k for k, x in enumerate(ts) if isinstance(x, Basis)]
            if seeds:  # a consumer of the seed: its basis rule, else the seed as an array
                rule = n.op.batched.basis if isinstance(n.op.batched, Batched) else None
                if rule is not None and len(seeds) == 1 and sum(x is not None for x in ts) == 1:
                    k = seeds[0]
                    t = rule(k, ts[k], value(n), *[value(i) for i in n.inputs], **n.params)
                ts = [dense(x) for x in ts]
            if t is None:
                t = _jvp(n, ts, value, B)
        except GraphError:
            raise
        except Exception as e:  # name the node, not a traceback
            raise _fail(n, "jvp", e) from e
        if t is not None:
            tangents[n.id] = fit(t, n.shape)
    return tangents


def _sliced_vjp(n: Node, g: Any, value: Value, needed: list[bool]) -> list[Any]:
    out, prim = value(n), [value(i) for i in n.inputs]
    rows: list[list[Any]] = [[] for _ in n.inputs]
    for b in range(g.shape[0]):
        cts = n.op.vjp(g[b], out, *prim, **n.params)
        for k, i in enumerate(n.inputs):
            ct = force(cts[k]) if needed[i.id] and k not in n.op.nondiff else None
            ct = np.zeros(i.shape, i.dtype) if ct is None else np.asarray(ct)
            rows[k].append(np.broadcast_to(_sum_to(np, ct, i.shape), i.shape))
    return [np.stack(r) for r in rows]


def _vjp(n: Node, g: Any, value: Value, needed: list[bool]) -> Any:
    op, kind = n.op, how(n, "vjp")
    if kind == "sliced":
        return _sliced_vjp(n, g, value, needed)
    out, prim = value(n), [value(i) for i in n.inputs]
    if kind == "rule":
        return op.batched.vjp(g, out, *prim, **n.params)
    if kind == "attrs":
        B = g.shape[0]
        attrs = op.batched.attrs(len(n.inputs[0].shape), **n.params)
        return op.vjp(g, _bcast(out, B), *[_bcast(p, B) for p in prim], **attrs)
    return op.vjp(g, out, *prim, **n.params)


def backprop_batched(order: Sequence[Node], value: Value, grads: dict[int, Any],
                     needed: list[bool]) -> dict[int, Any]:
    """Pull ``grads`` (node id -> array of shape ``(B,) + node.shape``) back through
    ``order`` (reverse topological): the batched form of
    :func:`graphnn.run.autodiff.backprop`."""
    for n in order:
        g = grads.get(n.id)
        if g is None or n.op.leaf:
            continue
        if n.op.vjp is None:
            raise GradError(f"op '{n.op.name}' has no gradient rule; cannot differentiate "
                            f"through {describe(n)}", node=n)
        try:
            cts = _vjp(n, g, value, needed)
            for k, i in enumerate(n.inputs):
                ct = cts[k]
                if ct is None or not needed[i.id] or k in n.op.nondiff:
                    continue
                ct = force(ct)
                if ct is None:
                    continue
                ct = fit(ct, i.shape)
                prev = grads.get(i.id)
                grads[i.id] = ct if prev is None else prev + ct
        except GraphError:
            raise
        except Exception as e:
            raise _fail(n, "vjp", e) from e
    return grads
