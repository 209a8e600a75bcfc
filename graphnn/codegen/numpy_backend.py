"""NumPy backend: a fused group is one expression (small arrays) or a sequence of ufunc
calls writing into one reused buffer with ``out=`` (large arrays: no temporaries, no page
faults for fresh memory). Other ops are one line each, from their templates.

``INPLACE`` is the per-op table of in-place forms: a list of steps with ``{0}``, ``{1}``
(operands) and ``{out}`` (the buffer); ops may bring their own in ``op.meta["inplace"]``.
Ops without one are evaluated by their template and copied into the buffer.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(4,))
...     y = (gn.tanh(x) * 2.0 + 1.0).named("y")
>>> print(gn.compile(g, [y]).body)
# y: fused [tanh_1:tanh mul_1:mul y:add]  (4,) float64
y = ((xp.tanh(x) * const_1) + const_2)
"""

from __future__ import annotations

from typing import Any

from graphnn.codegen.emit import Emitter
from graphnn.codegen.fuse import Group
from graphnn.core.ir import Node

_U2 = "xp.{f}({{0}}, {{1}}, out={{out}})"
_U1 = "xp.{f}({{0}}, out={{out}})"

INPLACE: dict[str, list[str]] = {
    "add": [_U2.format(f="add")],
    "sub": [_U2.format(f="subtract")],
    "mul": [_U2.format(f="multiply")],
    "div": [_U2.format(f="divide")],
    "pow": [_U2.format(f="power")],
    "maximum": [_U2.format(f="maximum")],
    "minimum": [_U2.format(f="minimum")],
    "neg": [_U1.format(f="negative")],
    "exp": [_U1.format(f="exp")],
    "log": [_U1.format(f="log")],
    "sqrt": [_U1.format(f="sqrt")],
    "abs": [_U1.format(f="absolute")],
    "sign": [_U1.format(f="sign")],
    "tanh": [_U1.format(f="tanh")],
    "relu": ["xp.maximum({0}, 0, out={out})"],
    "step": ["xp.greater({0}, 0, out={out})"],
    "ge": ["xp.greater_equal({0}, {1}, out={out})"],
    "eq": ["xp.equal({0}, {1}, out={out})"],
    # 1 / (1 + e^-a): the stable two-sided form of the interpreter agrees to a few ulps
    "sigmoid": ["xp.negative({0}, out={out})", "xp.exp({out}, out={out})",
                "xp.add({out}, 1, out={out})", "xp.reciprocal({out}, out={out})"],
}

#: Fused groups with at least this many elements run in place (measured in bench/codegen.py:
#: below it the extra ufunc keyword calls cost more than the temporaries they save).
INPLACE_MIN_SIZE = 1 << 15


def inplace_form(n: Node) -> list[str] | None:
    return n.op.meta.get("inplace") or INPLACE.get(n.op.name)


class NumpyBackend:
    """Emits NumPy statements; ``inplace`` = "auto" (by size), True or False."""

    name = "numpy"
    imports = ["from __future__ import annotations", "", "import base64  # noqa: F401", "",
               "import numpy as np", "import numpy as xp"]
    wrap_consts = False
    reuses_buffers = True

    def __init__(self, inplace: Any = "auto", inplace_min_size: int = INPLACE_MIN_SIZE) -> None:
        self.inplace = inplace
        self.min_size = inplace_min_size

    def use_inplace(self, g: Group) -> bool:
        if not g.fused or g.root.shape == () or self.inplace is False:
            return False
        same = [m for m in g.nodes if m.shape == g.root.shape]
        if not all(inplace_form(m) and m.dtype == g.root.dtype for m in same):
            return False
        return self.inplace is True or g.root.size >= self.min_size

    def emit_group(self, em: Emitter, g: Group) -> list[str]:
        r = g.root
        if not self.use_inplace(g):
            return [f"{em.var(r)} = {em.expr(r, g)}"]
        lines: list[str] = []
        out = em.var(r)
        buf, old = em.scratch(r.shape, r.dtype)
        if old is None:
            em.used.discard(buf)
            lines.append(f"{out} = xp.empty({tuple(r.shape)!r}, dtype={r.dtype.name!r})")
        else:
            lines.append(f"{out} = {old}; del {old}  # reuse a dead buffer")
        scratch: list[tuple[str, str | None]] = []
        self._into(em, g, r, out, lines, scratch)
        for name, _ in scratch:
            em.release(name, r.shape, r.dtype)
        return lines

    def _into(self, em: Emitter, g: Group, n: Node, dest: str, lines: list[str],
              scratch: list[tuple[str, str | None]]) -> None:
        """Compute member ``n`` into buffer ``dest`` (same shape as the group's root)."""
        inside = g.members
        ops: list[str] = []
        placed = False
        extra: list[str] = []  # scratch buffers borrowed for this node
        for i in n.inputs:
            if i.id in inside and i.shape == n.shape and inplace_form(i):
                if not placed:
                    self._into(em, g, i, dest, lines, scratch)
                    ops.append(dest)
                    placed = True
                else:
                    name, old = em.scratch(n.shape, n.dtype)
                    if old is None:
                        lines.append(f"{name} = xp.empty({tuple(n.shape)!r}, "
                                     f"dtype={n.dtype.name!r})")
                    scratch.append((name, old))
                    self._into(em, g, i, name, lines, scratch)
                    ops.append(name)
                    extra.append(name)
            elif i.id in inside:
                ops.append(em.expr(i, g))
            else:
                ops.append(em.var(i))
        steps = inplace_form(n) or []
        em.use_helpers(n)
        for step in steps:
            lines.append(step.format(*ops, out=dest))
