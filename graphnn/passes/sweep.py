"""One traversal per pass: every enabled rewrite is applied to a node as it is copied.

A pass is a :class:`Plan`: rewrite rules (the op records' simplify rules, constant
folding), a key for merging common subexpressions, and whether nodes no output needs are
dropped (dead-code elimination as a mask: they are simply not copied). :func:`sweep`
walks the topological order once, so simplify, fold, cse and dce together cost one copy
of the graph. A dry run comes first: rules run against :class:`~graphnn.passes.rewrite.
DryRun`, which builds nothing, so a pass that would change nothing returns the graph it
was given, uncopied.

>>> import graphnn as gn
>>> from graphnn.passes.cse import _key
>>> with gn.Graph() as g:
...     x = gn.input("x")
...     y = (gn.exp(x) + gn.exp(x)).named("y")
...     unused = gn.log(x)
>>> h, (y2,), counts = sweep(g, [y], Plan(key=_key, dce=True))
>>> str(counts), [n.name for n in h.nodes]
('1 merged, 1 dropped', ['x', 'exp_1', 'y'])
>>> h2, _, counts = sweep(h, [y2], Plan(key=_key, dce=True))
>>> h2 is h, counts.final   # nothing to do: no copy
(True, True)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphnn.core.ir import CONST, PARAM, Graph, Node
from graphnn.core.traverse import ancestors
from graphnn.passes.rewrite import DryRun, Rebuilder, Rule, WouldRewrite, rebuild

#: The key of a node for merging (equal keys compute equal values), or None: never merged.
KeyFn = Callable[[Node, tuple[Node, ...]], Any]


@dataclass
class Counts:
    """Nodes one sweep rewrote, by kind: ``int(counts)`` is the total; ``final`` when
    its result is known to be a fixed point."""

    simplify: int = 0
    fold: int = 0
    cse: int = 0
    dce: int = 0
    #: the result is a fixed point: the same plan would change nothing more
    final: bool = False

    def __int__(self) -> int:
        return self.simplify + self.fold + self.cse + self.dce

    def __str__(self) -> str:
        words = (("simplify", "simplified"), ("fold", "folded"), ("cse", "merged"),
                 ("dce", "dropped"))
        parts = [f"{getattr(self, k)} {w}" for k, w in words if getattr(self, k)]
        return ", ".join(parts) or "no change"


@dataclass(frozen=True)
class Plan:
    """What one sweep does: ``rules`` as ``(kind, rule)`` pairs tried in order at every op
    node (the first replacement wins; ``kind`` is a field of :class:`Counts`), ``key``
    for merging, ``dce`` to drop nodes no output needs."""

    rules: tuple[tuple[str, Rule], ...] = ()
    key: KeyFn | None = None
    dce: bool = False


def live(graph: Graph, outputs: Sequence[Node]) -> list[bool]:
    """Mask of the nodes some output needs (all False without outputs)."""
    return ancestors(list(outputs)) if outputs else [False] * len(graph.nodes)


def sweep(graph: Graph, outputs: Sequence[Node], plan: Plan) -> tuple[Graph, list[Node], Counts]:
    """Apply ``plan`` in one traversal. Returns (graph, outputs, counts); when nothing
    would change, ``graph`` and ``outputs`` themselves (no copy). When no rule would fire
    and only dead nodes go, the copy is plain and its result final (``counts.final``)."""
    outputs = list(outputs)
    keep = live(graph, outputs) if plan.dce else None
    if _CLEAN.get(graph) == (plan, len(graph.nodes), [o.id for o in outputs]):
        # the sweep that made ``graph`` checked every node its rules made: no rule fires
        # and nothing merges, so only its dead nodes can go (no dry run over all nodes)
        if keep is None or all(keep):
            return graph, outputs, Counts(final=True)
        new, outs, _ = rebuild(graph, outputs, keep=keep)
        return new, outs, Counts(dce=len(graph.nodes) - len(new.nodes), final=True)
    if would_change(graph, plan, keep):
        return _rebuild(graph, outputs, plan, keep)
    if keep is None or all(keep):
        return graph, outputs, Counts(final=True)
    new, outs, _ = rebuild(graph, outputs, keep=keep)
    return new, outs, Counts(dce=len(graph.nodes) - len(new.nodes), final=True)


def would_change(graph: Graph, plan: Plan, keep: list[bool] | None = None) -> bool:
    """Would a rule or a merge of ``plan`` change a node of ``graph`` (one ``keep`` masks
    in)? Rules run against a :class:`DryRun` context, merge keys over the graph's own
    nodes; nothing is built."""
    dry, rules, key = DryRun(), plan.rules, plan.key
    seen: set[Any] = set()
    for n in graph.nodes:
        leaf = n.op.leaf
        if (leaf and n.op is not CONST) or (keep is not None and not keep[n.id]):
            continue
        if rules and not leaf:
            try:
                for _, rule in rules:
                    if rule(dry, n, n.inputs) is not None:
                        return True
            except WouldRewrite:
                return True
        if key is not None:
            k = key(n, n.inputs)
            if k is not None:
                if k in seen:
                    return True
                seen.add(k)
    return False


def _combined(plan: Plan, counts: Counts) -> Rule:
    """One rule trying ``plan.rules`` in order and counting the one that fires."""
    def rule(rb: Any, n: Node, ins: tuple[Node, ...]) -> Node | None:
        for kind, r in plan.rules:
            out = r(rb, n, ins)
            if out is not None:
                setattr(counts, kind, getattr(counts, kind) + 1)
                return out
        return None

    return rule


def _rebuild(graph: Graph, outputs: list[Node], plan: Plan,
             keep: list[bool] | None) -> tuple[Graph, list[Node], Counts]:
    counts = Counts()
    rb = Rebuilder(graph)
    mp, key = rb.map, plan.key
    rule = _combined(plan, counts) if plan.rules else None
    seen: dict[Any, Node] = {}
    made: list[int] = []  # ids of the nodes rules made (the only ones no rule has seen)
    dst = rb.dst
    made_nodes = dst.nodes
    copy_node, state = dst.copy_node, graph._state
    for n in graph.nodes:
        if keep is not None and not keep[n.id]:
            counts.dce += 1
            continue
        ins = tuple([mp[i.id] for i in n.inputs])
        op = n.op
        if rule is not None and not op.leaf:
            first = len(made_nodes)
            new = rb.apply(rule, n, ins)
            if len(made_nodes) != first:
                made.extend(range(first, len(made_nodes)))
        else:
            new = None
        if new is not None:  # a replacement: merge it with an equal earlier node
            k = key(new, new.inputs) if key is not None else None
            if k is not None:
                new = seen.setdefault(k, new)
        elif key is not None and (not op.leaf or op is CONST):
            k = key(n, ins)
            hit = seen.get(k) if k is not None else None
            if hit is not None:
                counts.cse += 1
                new = hit
            else:
                new = copy_node(n, ins)
                if k is not None:
                    seen[k] = new
        if new is None:
            new = copy_node(n, ins)
            if op is PARAM:
                dst._state[new] = state[n]
        mp[n.id] = new
    outs = rb.finish(outputs)
    fresh: list[Node] = []
    if made or plan.dce:
        alive = live(dst, outs)
        fresh = [dst.nodes[i] for i in made if alive[i]]
        if plan.dce and not all(alive):
            # inputs a rewrite orphaned (a folded node's constants): drop them now, in
            # place (``dst`` is this sweep's own), instead of a second sweep copying all
            counts.dce += dst._drop_unused(alive)
    if _settled(fresh, plan, seen):
        _CLEAN[dst] = (plan, len(dst.nodes), [o.id for o in outs])
    return dst, outs, counts


#: graph -> (plan, its node count, output ids) when the sweep that made it found it a
#: fixed point of ``plan`` for those outputs apart from dead nodes (``_settled``); a next
#: sweep with the same plan and outputs then skips its dry run over every node
_CLEAN: weakref.WeakKeyDictionary[Graph, tuple[Plan, int, list[int]]] = (
    weakref.WeakKeyDictionary())


def _settled(made: list[Node], plan: Plan, seen: dict[Any, Node]) -> bool:
    """Would another sweep of ``plan`` over the graph ``_rebuild`` made change only dead
    nodes? Every node it copied had the rules tried on its final inputs and its key
    merged, so only the live nodes rules made (``made``) are unchecked: none may be
    rewritten by a rule or merge with another node."""
    dry, key = DryRun(), plan.key
    for m in made:
        if plan.rules and not m.op.leaf:
            try:
                for _, rule in plan.rules:
                    if rule(dry, m, m.inputs) is not None:
                        return False
            except WouldRewrite:
                return False
        if key is not None and (not m.op.leaf or m.op is CONST):
            k = key(m, m.inputs)
            if k is not None and seen.setdefault(k, m) is not m:
                return False
    return True
