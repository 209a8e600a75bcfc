"""Algebraic rewrite rules with domain guards (op records list theirs in ``simplify``;
the ``graphnn.passes.simplify`` pass applies them).

Each rule is a standalone function ``rule(ctx, node, ins) -> replacement | None``: ``node``
is the node being rebuilt (read its op, params, shape and dtype), ``ins`` its inputs in the
new graph, ``ctx`` a :class:`Rewriter` that makes new nodes. A rule fires only when the
replacement computes the same IEEE-754 values as the node for EVERY input the guard
admits: the same NaNs, the same infinities with the same signs, and the same sign of zero
(``1 / x`` turns a wrong ``-0.0`` into a wrong ``-inf``). This module imports only ``graphnn.core``
(never ``graphnn.passes``).

Guards, one line each (why a rule is guarded or kept out):

* ``x * 1``, ``1 * x``, ``x / 1``, ``x ** 1`` -> ``x``; ``x * -1`` -> ``-x``; ``--x`` -> ``x``;
  ``x + -y`` -> ``x - y``; ``x - -y`` -> ``x + y``: exact for every value, no guard.
* ``x ** 2`` -> ``x * x``: same specials (NaN, inf, -0 -> +0); pow is within an ulp.
* ``x + 0`` / ``x - 0`` -> ``x``: ``-0.0 + 0.0`` is ``+0.0``, so only when the zero is
  ``-0.0`` (for ``+``; ``+0.0`` for ``-``), the dtype is an integer, or ``x`` is never -0.0.
* ``0 - x`` -> ``-x``: ``0.0 - 0.0`` is ``+0.0`` but ``-(0.0)`` is ``-0.0``: only for a
  ``-0.0`` constant or an integer dtype.
* ``x - x`` -> ``0``: ``inf - inf`` and ``NaN - NaN`` are NaN: integer dtypes only.
* ``-(a - b)`` -> ``b - a``: ``a == b`` gives ``-0.0`` vs ``+0.0``: integer dtypes only.
* ``exp(log x)`` -> ``x``: ``log`` of a negative is NaN and ``exp(log(-0.0))`` is ``+0.0``:
  only when ``x`` is known non-negative and never -0.0 (:func:`nonneg`).
* ``log(exp x)`` -> ``x``: ``exp`` overflows past ~709 (``log(inf)`` is inf, not x) and
  ``log(exp(-0.0))`` is ``+0.0``: only when ``|x|`` is known small and x is never -0.0.
* ``x * 0`` -> ``0``: not a rule (``NaN * 0``, ``inf * 0`` are NaN; ``-1 * 0`` is -0.0).
* reshape/flatten/broadcast_to/sum_to to the same shape, reshape chains, inverse transpose
  pairs, and dropping ``broadcast_to`` under a broadcasting elementwise op: pure data
  movement, exact.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x")
...     e = gn.exp(x)
>>> nonneg(e), nonneg(x), nonneg(gn.abs(x)), nonneg(x * x)
(True, False, True, True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.ir import CONST, Node


class Rewriter(Protocol):
    """What a rule may do besides reading nodes: make op nodes and constants."""

    def op(self, op: str, *args: Node, **params: Any) -> Node:
        """A new op node (``bind``: shape and dtype derived by the op's rules)."""
        ...

    def const(self, value: Any, like: Node) -> Node:
        """A new constant with ``like``'s dtype."""
        ...


Rule = Callable[[Rewriter, Node, tuple[Node, ...]], "Node | None"]

# -- facts about values --------------------------------------------------------------------
# The records say what the rules may assume: ``moves_data`` (a fact about the input holds
# for the output) and ``value_range`` (every non-NaN output in [lo, hi]; lo == 0 also
# promises no -0.0).


def _source(n: Node) -> Node:
    while n.op.moves_data:
        n = n.inputs[0]
    return n


def const_values(n: Node) -> np.ndarray | None:
    """The values of a constant seen through data movement (``broadcast_to(c)``,
    ``reshape(c)``...), or None when ``n`` is not constant."""
    s = _source(n)
    return np.asarray(s.params["value"]) if s.op is CONST else None


def is_const(n: Node, value: float, sign: bool | None = None) -> bool:
    """``n`` is constant and equal to ``value`` everywhere; with ``sign`` given, every
    element's sign bit is also ``sign`` (tells ``-0.0`` from ``+0.0``).

    >>> import graphnn as gn
    >>> z = gn.Graph().constant(-0.0)
    >>> is_const(z, 0), is_const(z, 0, sign=False)
    (True, False)
    """
    while n.op.moves_data:  # const_values, inlined: passes call this for every operand
        n = n.inputs[0]
    if n.op is not CONST:
        return False
    v = np.asarray(n.params["value"])
    if v.size == 1:  # the common case, without NumPy reductions
        x = v.item()
        return x == value and (sign is None or bool(np.signbit(x)) == sign)
    if not bool(np.all(v == value)):
        return False
    return sign is None or bool(np.all(np.signbit(v) == sign))


def integer(n: Node) -> bool:
    """Integer or bool dtype: no NaN, no infinities, no signed zero."""
    return n.dtype.kind in "iub"


def nonneg(n: Node) -> bool:
    """Every element of the float ``n`` is ``+0.0``, positive, +inf or NaN (never negative,
    never ``-0.0``): outputs of exp, sigmoid, softmax, abs, ``x * x``, such constants."""
    if n.dtype.kind != "f":
        return False
    s = _source(n)
    v = const_values(s)
    if v is not None:
        return bool(np.all(np.isnan(v) | (v > 0) | ((v == 0) & ~np.signbit(v))))
    if s.op.name == "mul":
        return s.inputs[0] is s.inputs[1]
    r = s.op.value_range
    return r is not None and r[0] >= 0


def no_neg_zero(n: Node) -> bool:
    """No element of ``n`` can be ``-0.0``."""
    v = const_values(n)
    if v is not None:
        return not bool(np.any((v == 0) & np.signbit(v)))
    return integer(n) or nonneg(n)


def within(n: Node, limit: float) -> bool:
    """Every element of ``n`` is NaN or at most ``limit`` in magnitude."""
    v = const_values(n)
    if v is not None:
        return bool(np.all(np.isnan(v) | (np.abs(v) <= limit)))
    r = _source(n).op.value_range
    return n.dtype.kind == "f" and r is not None and max(-r[0], r[1]) <= limit


# -- arithmetic identities ---------------------------------------------------------------
def mul_one(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x * 1`` and ``1 * x`` -> ``x`` (exact)."""
    if is_const(ins[1], 1):
        return ins[0]
    return ins[1] if is_const(ins[0], 1) else None


def div_one(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x / 1`` -> ``x`` (exact)."""
    return ins[0] if is_const(ins[1], 1) else None


def mul_minus_one(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x * -1`` and ``-1 * x`` -> ``-x`` (exact, NaN and signed zeros included)."""
    if is_const(ins[1], -1):
        return ctx.op("neg", ins[0])
    return ctx.op("neg", ins[1]) if is_const(ins[0], -1) else None


def add_zero(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x + z`` and ``z + x`` -> ``x`` where ``x + z == x`` bit for bit: ``z`` is
    ``-0.0``, or ``x`` is never ``-0.0`` (``-0.0 + 0.0`` is ``+0.0``)."""
    for x, z in ((ins[0], ins[1]), (ins[1], ins[0])):
        if is_const(z, 0) and (is_const(z, 0, sign=True) or no_neg_zero(x)):
            return x
    return None


def sub_zero(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x - z`` -> ``x`` where ``z`` is ``+0.0`` (exact), or ``x`` is never ``-0.0``."""
    x, z = ins
    if is_const(z, 0) and (is_const(z, 0, sign=False) or no_neg_zero(x)):
        return x
    return None


def zero_sub(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``z - x`` -> ``-x`` where ``z`` is ``-0.0`` or the dtype is an integer
    (``0.0 - 0.0`` is ``+0.0`` but ``-(0.0)`` is ``-0.0``)."""
    z, x = ins
    if is_const(z, 0) and (is_const(z, 0, sign=True) or integer(n)):
        return ctx.op("neg", x)
    return None


def sub_self(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x - x`` -> ``0`` for integer dtypes only (``inf - inf`` is NaN)."""
    return ctx.const(0, n) if ins[0] is ins[1] and integer(n) else None


def add_neg(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x + -y`` -> ``x - y`` and ``-x + y`` -> ``y - x`` (exact: IEEE subtraction is
    addition of the negation)."""
    if ins[1].op.name == "neg":
        return ctx.op("sub", ins[0], ins[1].inputs[0])
    return ctx.op("sub", ins[1], ins[0].inputs[0]) if ins[0].op.name == "neg" else None


def sub_neg(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x - -y`` -> ``x + y`` (exact)."""
    return ctx.op("add", ins[0], ins[1].inputs[0]) if ins[1].op.name == "neg" else None


def neg_neg(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``-(-x)`` -> ``x`` (exact)."""
    return ins[0].inputs[0] if ins[0].op.name == "neg" else None


def neg_sub(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``-(a - b)`` -> ``b - a`` for integer dtypes only (``a == b`` gives ``-0.0``)."""
    a = ins[0]
    if a.op.name == "sub" and integer(n):
        return ctx.op("sub", a.inputs[1], a.inputs[0])
    return None


def pow_small(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``x ** 1`` -> ``x`` (exact); ``x ** 2`` -> ``x * x`` (same NaN/inf/-0 results)."""
    if is_const(ins[1], 1):
        return ins[0]
    return ctx.op("mul", ins[0], ins[0]) if is_const(ins[1], 2) else None


# -- inverse pairs -------------------------------------------------------------------------
def exp_log(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``exp(log x)`` -> ``x`` only where ``x`` is known non-negative and never ``-0.0``
    (``exp(log(-1))`` is NaN). Equal up to rounding (an ulp of ``log x``)."""
    a = ins[0]
    return a.inputs[0] if a.op.name == "log" and nonneg(a.inputs[0]) else None


def log_exp(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``log(exp x)`` -> ``x`` only where ``|x|`` is known to keep ``exp`` finite and
    normal (``log(exp(1000))`` is inf) and ``x`` is never ``-0.0``."""
    a = ins[0]
    if a.op.name != "exp":
        return None
    x = a.inputs[0]
    if x.dtype.kind != "f" or not no_neg_zero(x):
        return None
    limit = -float(np.log(np.finfo(x.dtype).tiny))  # exp stays normal (and finite) within
    return x if within(x, limit) else None


# -- data movement -------------------------------------------------------------------------
def same_shape(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """reshape / flatten / broadcast_to / sum_to to the shape the input has -> the input."""
    return ins[0] if ins[0].shape == n.shape else None


def reshape_chain(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """``reshape(reshape(x))`` (or of ``flatten``) -> one reshape of ``x``."""
    a = ins[0]
    if a.op.name in ("reshape", "flatten"):
        return ctx.op("reshape", a.inputs[0], shape=n.shape)
    return None


def transpose_pair(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """Two transposes that compose to the identity -> the input."""
    a = ins[0]
    if a.op.name != "transpose":
        return None
    nd = len(n.shape)
    inner = a.params["axes"] or tuple(range(nd))[::-1]
    outer = n.params["axes"] or tuple(range(nd))[::-1]
    composed = tuple(inner[i] for i in outer)
    return a.inputs[0] if composed == tuple(range(nd)) else None


def unbroadcast(ctx: Rewriter, n: Node, ins: tuple[Node, ...]) -> Node | None:
    """An elementwise op broadcasts by itself: drop ``broadcast_to`` on its operands when
    the result keeps its shape."""
    for i in ins:
        if i.op.name == "broadcast_to":
            break
    else:
        return None
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
    return ctx.op(n.op.name, *new, **dict(n.params))
