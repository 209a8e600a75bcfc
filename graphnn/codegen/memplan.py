"""Memory planning for the straight-line program: when each value dies (so the emitter
frees it with ``del``) and which dead buffers may be reused as ``out=`` targets.

A buffer is reusable only when the statement that made it owns fresh memory (a fused
elementwise group, or an op whose record says ``fresh=True``: matmul, reductions...), it is
not an output, and no live value is a view of it (reshape, transpose, broadcast_to...
results alias their input: their liveness extends the base's).

>>> import graphnn as gn
>>> from graphnn.codegen.fuse import fuse
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(4,))
...     y = gn.exp(gn.exp(x) @ gn.exp(x).T).named("y")
>>> [grp.root.name for grp in fuse(g, [y])]
['exp_1', 'exp_2', 'transpose_1', 'matmul_1', 'y']
>>> p = plan(fuse(g, [y]), [y])
>>> [[n.name for n in d] for d in p.dies]
[[], [], ['exp_2'], ['exp_1', 'transpose_1'], ['matmul_1']]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graphnn.codegen.fuse import Group
from graphnn.core.ir import Node


def fresh(n: Node) -> bool:
    """Is ``n``'s value new memory (never a view of an input)?"""
    return bool(n.op.elementwise or n.op.fresh)


def owns_memory(n: Node) -> bool:
    """Does the statement computing ``n`` return a fresh, writable (non-scalar) array?"""
    return n.shape != () and fresh(n)


@dataclass
class MemPlan:
    """``dies[k]``: values whose last use is statement k (free them after it);
    ``reusable[k]``: those among them whose buffer may be written again (no view of it
    outlives it)."""

    dies: list[list[Node]]
    reusable: list[list[Node]]


def plan(groups: Sequence[Group], outputs: Sequence[Node]) -> MemPlan:
    """Liveness over statements (one per group), with views keeping their base alive."""
    index = {g.root.id: k for k, g in enumerate(groups)}
    n_st = len(groups)
    end = n_st  # outputs live past the last statement
    root_of: dict[int, int] = {}  # value id -> id of the value that owns its memory
    last: dict[int, int] = {}
    for k, g in enumerate(groups):
        r = g.root
        ins = g.external_inputs()
        if fresh(r) or not ins:
            root_of[r.id] = r.id
        else:  # may be a view of (any of) its inputs: tie it to the first computed one
            bases = [root_of.get(i.id) for i in ins if i.id in index]
            root_of[r.id] = bases[0] if bases and bases[0] is not None else r.id
            for b in bases[1:]:
                if b is not None:
                    last[b] = max(last.get(b, -1), end)  # conservatively never reused
        for i in ins:
            if last.get(i.id, -1) < k:  # max(last, k), without the call
                last[i.id] = k
    for o in outputs:
        last[o.id] = end
    # a base lives as long as its longest-living view
    base_last: dict[int, int] = {}
    for vid, b in root_of.items():
        t = last.get(vid, index[vid])
        if vid != b:
            t = max(t, last.get(b, -1))
        if base_last.get(b, -1) < t:
            base_last[b] = t
    dies: list[list[Node]] = [[] for _ in range(n_st)]
    reusable: list[list[Node]] = [[] for _ in range(n_st)]
    for k, g in enumerate(groups):
        r = g.root
        t = last.get(r.id, k)
        if t < end:
            dies[t].append(r)
            if (root_of[r.id] == r.id and base_last.get(r.id, t) == t
                    and owns_memory(r)):
                reusable[t].append(r)
    return MemPlan(dies, reusable)
