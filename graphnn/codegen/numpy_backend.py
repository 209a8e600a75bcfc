"""NumPy backend: a fused group is one expression (small arrays) or a sequence of ufunc
calls writing into one (reused) buffer with ``out=`` (large arrays: no temporaries), run
block by block over cache-sized slices when the group is large; optionally numexpr for
arithmetic-only groups. Other ops are one line each, from their templates.

An op's in-place form is its record's ``inplace``: a list of steps with ``{0}``, ``{1}``
(operands) and ``{out}`` (the buffer); its numexpr form is ``numexpr``.
A group runs in place only when every member of the root's shape has such a form (members
of smaller, broadcast shapes are computed by their templates as operands).

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

import numpy as np

from graphnn.codegen.emit import Emitter, fill
from graphnn.codegen.fuse import Group
from graphnn.core.ir import Node
from graphnn.core.op import supported

#: Fused groups with at least this many elements run in place (measured in bench/codegen.py:
#: below it the extra ufunc keyword calls cost more than the temporaries they save).
INPLACE_MIN_SIZE = 1 << 15
#: In-place groups spanning several blocks of this many elements run block by block, so
#: their intermediates stay in cache (measured: 64K float64 blocks beat whole arrays ~1.4x).
CHUNK = 1 << 16
#: Buffers of at least this many bytes that never leave the function are kept between
#: calls (``keep_buffers``): glibc's malloc hands larger blocks back to the system when
#: they are freed, so each call page-faults them in again (LeNet at batch 256: 3,000
#: faults and ~8% of the step; bench/RESULTS.md). 128 KiB is glibc's initial mmap
#: threshold.
KEEP_MIN = 1 << 17


def inplace_form(n: Node) -> tuple[str, ...] | None:
    f = n.op.inplace
    return f if supported(f) else None


def numexpr_form(n: Node) -> str | None:
    f = n.op.numexpr
    return f if supported(f) else None


class NumpyBackend:
    """Emits NumPy statements; ``inplace`` = "auto" (by size), True or False."""

    name = "numpy"
    imports = ["from __future__ import annotations", "", "import base64  # noqa: F401",
               "from typing import Any  # noqa: F401  (helpers copied in are annotated)", "",
               "import numpy as np  # noqa: F401", "import numpy as xp"]
    wrap_consts = False
    reuses_buffers = True

    def __init__(self, inplace: Any = "auto", inplace_min_size: int | None = None,
                 chunk: int | None = -1, numexpr: bool = False,
                 keep_buffers: bool = True) -> None:
        self.imports = list(type(self).imports)
        self.keep_min = KEEP_MIN if keep_buffers else None
        self.numexpr = numexpr
        self.inplace = inplace
        self.min_size = INPLACE_MIN_SIZE if inplace_min_size is None else inplace_min_size
        self.chunk = CHUNK if chunk == -1 else chunk  # None: never block

    def use_inplace(self, g: Group, em: Emitter | None = None) -> bool:
        if g.root.shape == () or self.inplace is False:
            return False
        if not g.fused:  # one op: in place only into a buffer kept between calls
            r = g.root
            return (em is not None and inplace_form(r) is not None
                    and em.keeps(r.shape, r.dtype, r))
        if self.inplace is not True and g.root.size < self.min_size:
            return False  # "auto" and small: decided before looking at the members
        same = [m for m in g.nodes if m.shape == g.root.shape]
        if not all(inplace_form(m) and m.dtype == g.root.dtype for m in same):
            return False
        return self.inplace is True or g.root.size >= self.min_size

    def chunk_rows(self, g: Group) -> int | None:
        """Rows per block when the group is evaluated block by block (all members have the
        root's shape and the root spans several blocks), else None."""
        r = g.root
        if self.chunk is None or any(m.shape != r.shape for m in g.nodes):
            return None
        inner = int(np.prod(r.shape[1:], dtype=np.int64))
        rows = max(1, self.chunk // max(inner, 1))
        return rows if r.shape[0] >= 2 * rows else None

    def use_numexpr(self, g: Group) -> bool:
        return (self.numexpr and g.fused and g.root.size >= self.min_size
                and all(numexpr_form(m) for m in g.nodes))

    def emit_numexpr(self, em: Emitter, g: Group) -> list[str]:
        if "import numexpr as ne" not in self.imports:
            self.imports.append("import numexpr as ne")
        ext = g.external_inputs()
        local = {i.id: f"v{k}" for k, i in enumerate(ext)}

        def ne_expr(n: Node) -> str:
            args = [ne_expr(i) if i.id in g.members else local[i.id] for i in n.inputs]
            return fill(n.op.numexpr, n, args)

        d = ", ".join(f"{local[i.id]!r}: {em.var(i)}" for i in ext)
        return [f"{em.var(g.root)} = ne.evaluate({ne_expr(g.root)!r}, local_dict={{{d}}})"
                f".astype({g.root.dtype.name!r}, copy=False)"]

    def emit_group(self, em: Emitter, g: Group) -> list[str]:
        r = g.root
        if self.use_numexpr(g):
            return self.emit_numexpr(em, g)
        if not self.use_inplace(g, em):
            if r.op.numpy_out is not None and not g.fused and r.id in em.private:
                return self.emit_into(em, r)
            return [f"{em.var(r)} = {em.expr(r, g)}"]
        lines: list[str] = []
        out = em.var(r)
        buf, old = em.scratch(r.shape, r.dtype, r.id in em.private)
        if old is None:
            em.untouch(buf)
            if em.keeps(r.shape, r.dtype, r):
                lines.append(em.kept(out, r.shape, r.dtype))
            else:
                lines.append(f"{out} = xp.empty({tuple(r.shape)!r}, dtype={r.dtype.name!r})")
        else:
            em.rebind(old, out)
            lines += [f"{out} = {old}  # reuse a dead buffer", f"del {old}"]
        rows = self.chunk_rows(g) if g.fused else None
        taken: list[tuple[str, tuple[int, ...]]] = []
        if rows is None:
            def alloc(n: Node) -> str:
                name, old = em.scratch(n.shape, n.dtype)
                if old is None:
                    lines.append(em.kept(name, n.shape, n.dtype) if em.keeps(n.shape, n.dtype)
                                 else f"{name} = xp.empty({tuple(n.shape)!r}, "
                                      f"dtype={n.dtype.name!r})")
                taken.append((name, n.shape))
                return name

            self._into(em, g, r, out, lines, alloc, {})
        else:
            cshape = (rows,) + tuple(r.shape[1:])
            i, o, k = em.fresh("_i"), em.fresh("_o"), em.fresh("_k")
            body: list[str] = [f"{o} = {out}[{i}:{i} + {rows}]", f"{k} = {o}.shape[0]"]
            ext: dict[int, str] = {}
            for x in g.external_inputs():
                if x.ndim == r.ndim and x.shape[0] == r.shape[0]:
                    ext[x.id] = em.fresh(em.var(x) + "_blk")
                    body.append(f"{ext[x.id]} = {em.var(x)}[{i}:{i} + {rows}]")

            def alloc(n: Node) -> str:
                name, old = em.scratch(cshape, n.dtype)
                if old is None:
                    lines.append(em.kept(name, cshape, n.dtype) if em.keeps(cshape, n.dtype)
                                 else f"{name} = xp.empty({cshape!r}, dtype={n.dtype.name!r})")
                taken.append((name, cshape))
                return f"{name}[:{k}]"

            self._into(em, g, r, o, body, alloc, ext)
            lines.append(f"for {i} in range(0, {r.shape[0]}, {rows}):  # cache-sized blocks")
            lines += ["    " + b for b in body]
        for name, shape in taken:
            em.release(name, shape, r.dtype)
        return lines

    def emit_into(self, em: Emitter, r: Node) -> list[str]:
        """``r`` (a value that never leaves the function) by its op's ``numpy_out`` call,
        into a dead buffer of its shape or a new kept one; else by its template."""
        out = em.var(r)
        buf, old = em.scratch(r.shape, r.dtype)
        if old is not None:
            em.rebind(old, out)
            return [f"{out} = {em.expr_into(r, old)}  # into a dead buffer", f"del {old}"]
        em.untouch(buf)
        if em.keeps(r.shape, r.dtype, r):
            em.kept_names.add(out)
            return [f"{out} = {em.expr_into(r, em.kept_buffer(r.shape, r.dtype))}"]
        return [f"{out} = {em.expr(r)}"]

    def emit_update(self, em: Emitter, rule: Any, upd: str, ws: list[str], gs: list[str],
                    loss: str, params: list[Node], loss_dtype: np.dtype) -> list[str]:
        """The fused optimizer update: one helper function updating ``w`` and the state
        buffers in place (``codegen.update``), called per param when the loss is finite."""
        fn = em.fresh(f"_update_{rule.name}")
        em.globals.add(fn)
        args = ", ".join(["w", "g", *rule.scalars, *rule.state])
        em.helpers[fn] = "\n".join([
            f"def {fn}({args}):",
            f'    """The {rule.name} update of param w from its gradient g, in place."""',
            *("    " + ln for ln in rule.python_lines())])
        lines = [f"if {upd} is not None and xp.isfinite({loss}):  # the optimizer's update"]
        lines += [f"    {fn}({w}, {g}, *{upd}[{k}])" for k, (w, g) in enumerate(zip(ws, gs))]
        return lines

    def _into(self, em: Emitter, g: Group, n: Node, dest: str, lines: list[str],
              alloc: Any, ext: dict[int, str]) -> None:
        """Compute member ``n`` into buffer ``dest``; ``alloc(node)`` gives a scratch
        buffer, ``ext`` renames external operands (their blocks)."""
        inside = g.members
        ops: list[str] = []
        placed = False
        for i in n.inputs:
            if i.id in inside and i.shape == n.shape and inplace_form(i):
                if not placed:
                    self._into(em, g, i, dest, lines, alloc, ext)
                    ops.append(dest)
                    placed = True
                else:
                    name = alloc(n)
                    self._into(em, g, i, name, lines, alloc, ext)
                    ops.append(name)
            elif i.id in inside:
                ops.append(em.expr(i, g))
            else:
                ops.append(ext.get(i.id) or em.var(i))
        em.use_helpers(n)
        for step in inplace_form(n) or []:
            lines.append(step.format(*ops, out=dest))
