"""Algebraic simplification driven by a per-op rule table.

``RULES[op name]`` lists rules ``(rb, node, new_inputs) -> replacement | None``;
``ELEMENTWISE_RULES`` apply to every elementwise op. An op defined elsewhere can add its
own rules in the record's ``simplify``. A replacement must have the node's dtype; a smaller
shape is broadcast back (``broadcast_to``), so every rule keeps values identical.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(3,))
...     y = (-(-(x * 1.0)) + 0.0).named("y")
>>> h, (y2,), n = simplify(g, [y])
>>> y2.name, n
('x', 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.ir import CONST, Graph, Node
from graphnn.core.op import get_op
from graphnn.passes.rewrite import Rebuilder, rebuild

Rule = Callable[[Rebuilder, Node, tuple[Node, ...]], "Node | None"]


def is_const(n: Node, value: float | None = None) -> bool:
    """``n`` is a constant (equal to ``value`` everywhere, when given)."""
    if n.op is not CONST:
        return False
    return value is None or bool(np.all(np.asarray(n.params["value"]) == value))


def _op(name: str, *args: Node, **params: object) -> Node:
    from graphnn.core.bind import bind

    return bind(get_op(name), *args, **params)


def _zeros(rb: Rebuilder, n: Node) -> Node:
    z = rb.const(0, n)
    return z if n.shape == () else _op("broadcast_to", z, shape=n.shape)


# -- rules ---------------------------------------------------------------------------
def _right_identity(value: float) -> Rule:
    return lambda rb, n, ins: ins[0] if is_const(ins[1], value) else None


def _left_identity(value: float) -> Rule:
    return lambda rb, n, ins: ins[1] if is_const(ins[0], value) else None


def _x_minus_x(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    return _zeros(rb, n) if ins[0] is ins[1] else None


def _zero_minus_x(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    return _op("neg", ins[1]) if is_const(ins[0], 0) else None


def _times_minus_one(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    if is_const(ins[1], -1):
        return _op("neg", ins[0])
    return _op("neg", ins[1]) if is_const(ins[0], -1) else None


def _inverse_of(inner: str) -> Rule:
    """``f(g(x)) -> x`` for inverse pairs (neg/neg, exp/log, log/exp)."""
    return lambda rb, n, ins: ins[0].inputs[0] if ins[0].op.name == inner else None


def _neg_sub(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    a = ins[0]
    return _op("sub", a.inputs[1], a.inputs[0]) if a.op.name == "sub" else None


def _sub_neg(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    return _op("add", ins[0], ins[1].inputs[0]) if ins[1].op.name == "neg" else None


def _add_neg(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    if ins[1].op.name == "neg":
        return _op("sub", ins[0], ins[1].inputs[0])
    return _op("sub", ins[1], ins[0].inputs[0]) if ins[0].op.name == "neg" else None


def _pow_small(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    if is_const(ins[1], 1):
        return ins[0]
    if is_const(ins[1], 2):
        return _op("mul", ins[0], ins[0])
    return None


def _same_shape(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """reshape / broadcast_to / sum_to to the shape the input already has."""
    return ins[0] if ins[0].shape == n.shape else None


def _reshape_chain(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    a = ins[0]
    if a.op.name in ("reshape", "flatten"):
        return _op("reshape", a.inputs[0], shape=n.shape)
    return None


def _transpose_pair(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    a = ins[0]
    if a.op.name != "transpose":
        return None
    nd = len(n.shape)
    inner = a.params["axes"] or tuple(range(nd))[::-1]
    outer = n.params["axes"] or tuple(range(nd))[::-1]
    composed = tuple(inner[i] for i in outer)
    return a.inputs[0] if composed == tuple(range(nd)) else None


def _unbroadcast_operands(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """An elementwise op broadcasts by itself: drop ``broadcast_to`` on its operands."""
    new = list(ins)
    for k, i in enumerate(ins):
        if i.op.name == "broadcast_to":
            trial = new[:k] + [i.inputs[0]] + new[k + 1:]
            try:
                if S.broadcast(*[t.shape for t in trial]) == n.shape:
                    new = trial
            except ValueError:
                pass
    if all(a is b for a, b in zip(new, ins)):
        return None
    return rb.dst.add_node(n.op, tuple(new), dict(n.params), n.shape, n.dtype)


RULES: dict[str, list[Rule]] = {
    "add": [_right_identity(0), _left_identity(0), _add_neg],
    "sub": [_right_identity(0), _x_minus_x, _zero_minus_x, _sub_neg],
    "mul": [_right_identity(1), _left_identity(1), _times_minus_one],
    "div": [_right_identity(1)],
    "neg": [_inverse_of("neg"), _neg_sub],
    "exp": [_inverse_of("log")],
    "log": [_inverse_of("exp")],
    "pow": [_pow_small],
    "reshape": [_same_shape, _reshape_chain],
    "flatten": [_same_shape],
    "broadcast_to": [_same_shape],
    "sum_to": [_same_shape],
    "transpose": [_transpose_pair],
}
ELEMENTWISE_RULES: list[Rule] = [_unbroadcast_operands]


def _rules_for(n: Node) -> list[Rule]:
    rules = list(RULES.get(n.op.name, ())) + list(n.op.simplify)
    if n.op.elementwise:
        rules += ELEMENTWISE_RULES
    return rules


def _apply(rb: Rebuilder, n: Node, ins: tuple[Node, ...]) -> Node | None:
    if n.op.leaf:
        return None
    for rule in _rules_for(n):
        out = rule(rb, n, ins)
        if out is None or out.dtype != n.dtype:
            continue
        if out.shape != n.shape:
            try:
                out = _op("broadcast_to", out, shape=n.shape)
            except Exception:  # noqa: BLE001 - not broadcastable: rule does not apply
                continue
        return out
    return None


def simplify(graph: Graph, outputs: Sequence[Node]) -> tuple[Graph, list[Node], int]:
    """Apply the rule table once over the graph (rules see already-simplified inputs).

    Returns (graph, outputs, nodes rewritten).
    """
    return rebuild(graph, outputs, _apply)
