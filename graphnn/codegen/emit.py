"""Graph -> straight-line Python source: names, constants, helpers, templates, and the
module around the function. Backends (numpy_backend, cupy_backend) emit the statements.

Variables are named after nodes (sanitized into identifiers); every statement carries a
comment naming the node(s) and op(s) it computes; dead values are freed with ``del`` or
their buffers reused (memplan).

>>> sanitize("dloss/dW1"), sanitize("2x"), sanitize("lambda")
('dloss_dW1', 'n_2x', 'lambda_')
"""

from __future__ import annotations

import base64
import builtins
import inspect
import keyword
import re
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphnn.codegen import memplan
from graphnn.codegen.fuse import Group
from graphnn.core.errors import GraphError, describe
from graphnn.core.ir import CONST, INPUT, PARAM, Node

RESERVED = {"xp", "np", "base64", "run", "PARAMS", "INPUTS", "PARAM_NAMES", "OUTPUTS",
            "GRADS", "ARGS", "compute", "forward", "main"} | set(dir(builtins))
#: Constants with at most this many elements are written as literals.
LITERAL_SIZE = 16


def sanitize(name: str) -> str:
    """A Python identifier close to ``name``."""
    s = re.sub(r"\W", "_", name)
    if not s or s[0].isdigit():
        s = "n_" + s
    if keyword.iskeyword(s) or s in RESERVED:
        s += "_"
    return s


def array_literal(arr: np.ndarray, xp_wrap: bool = False) -> str:
    """Python source that rebuilds ``arr`` exactly (literal or base64 of its bytes)."""
    arr = np.asarray(arr)
    dt = arr.dtype.name
    if arr.ndim == 0:
        src = f"np.{dt}({arr.item()!r})"
    elif arr.size <= LITERAL_SIZE:
        src = f"np.array({arr.tolist()!r}, dtype={dt!r})"
    else:
        data = base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()
        src = (f"np.frombuffer(base64.b64decode({data!r}), dtype={arr.dtype.str!r})"
               f".reshape({arr.shape!r})")
    return f"xp.asarray({src})" if xp_wrap and arr.ndim else src


_DEFAULTS: dict[int, dict[str, Any]] = {}


def param_defaults(op: Any) -> dict[str, Any]:
    """Defaults of the op's static params (keyword defaults of its forward)."""
    d = _DEFAULTS.get(id(op))
    if d is None:
        try:
            sig = inspect.signature(op.forward)
            d = {k: p.default for k, p in sig.parameters.items()
                 if p.default is not inspect.Parameter.empty}
        except (TypeError, ValueError):
            d = {}
        _DEFAULTS[id(op)] = d
    return d


def template_fields(n: Node) -> dict[str, str]:
    """Format fields of ``n``'s template: its params (repr; defaults of its forward for
    params not given), ``out_shape`` and ``out_dtype``."""
    fields = {k: repr(v) for k, v in {**param_defaults(n.op), **n.params}.items()}
    fields["out_shape"] = repr(tuple(n.shape))
    fields["out_dtype"] = repr(n.dtype.name)
    return fields


def fill(template: str, n: Node, args: Sequence[str], **extra: str) -> str:
    """Substitute ``args`` ({0}, {1}, ...) and the node's fields into ``template``; a
    trailing optional input that the node does not have (conv2d's bias) reads ``None``."""
    return template.format(*args, *(["None"] * 4), **template_fields(n), **extra)


def helpers_of(n: Node) -> list[Any]:
    return list(n.op.helpers)


class Emitter:
    """Shared state while emitting one function: variable names, module-level constants,
    helper sources and the function body."""

    def __init__(self, backend: Any, groups: list[Group], outputs: Sequence[Node],
                 args: Sequence[Node]) -> None:
        self.backend = backend
        self.groups = groups
        self.outputs = list(outputs)
        self.args = list(args)
        self.names: dict[int, str] = {}
        self.used: set[str] = set()
        self.consts: list[str] = []
        self.prelude: list[str] = []  # module-level definitions (kernels, ...)
        self.helpers: dict[str, str] = {}
        self.body: list[str] = []
        self.pool: dict[tuple[Any, str], list[str]] = {}
        self.tmp = 0

    # -- names -------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        name = sanitize(base)
        cand, k = name, 1
        while cand in self.used:
            k += 1
            cand = f"{name}_{k}"
        self.used.add(cand)
        return cand

    def var(self, n: Node) -> str:
        """The variable holding ``n`` (constants are declared at module level on first use)."""
        v = self.names.get(n.id)
        if v is None:
            v = self.names[n.id] = self.fresh(n.name)
            if n.op is CONST:
                lit = array_literal(n.params["value"], self.backend.wrap_consts)
                self.consts.append(f"{v} = {lit}  # const {n.name} {tuple(n.shape)}")
            elif n.op.leaf and n.op not in (INPUT, PARAM):
                raise GraphError(f"cannot compile leaf {describe(n)}", node=n)
        return v

    def scratch(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[str, str | None]:
        """A buffer name for ``shape``/``dtype``: a dead reusable one (and the name it had),
        or a new name to allocate (second item None)."""
        free = self.pool.get((tuple(shape), dtype.str))
        if free:
            old = free.pop()
            return old, old
        self.tmp += 1
        return self.fresh(f"_buf{self.tmp}"), None

    def release(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.pool.setdefault((tuple(shape), dtype.str), []).append(name)

    def use_helpers(self, n: Node) -> None:
        for fn in helpers_of(n):
            if fn.__name__ not in self.helpers:
                self.helpers[fn.__name__] = textwrap.dedent(inspect.getsource(fn))

    # -- statements ----------------------------------------------------------------
    def expr(self, n: Node, group: Group | None = None) -> str:
        """``n`` as one expression: its template over its inputs' variables, inlining the
        members of ``group`` recursively."""
        inside = group.members if group is not None else set()
        args = [self.expr(i, group) if i.id in inside and i is not n else self.var(i)
                for i in n.inputs]
        tpl = n.op.numpy
        if tpl is None:
            raise GraphError(
                f"op '{n.op.name}' has no NumPy expression, so {describe(n)} cannot be "
                "compiled; give the op record a `numpy=` template", node=n)
        self.use_helpers(n)
        return fill(tpl, n, args)

    def comment(self, g: Group) -> str:
        r = g.root
        if not g.fused:
            ins = ", ".join(i.name for i in r.inputs)
            return f"# {r.name} = {r.op.name}({ins})  {tuple(r.shape)} {r.dtype}"
        ops = " ".join(f"{m.name}:{m.op.name}" for m in g.nodes)
        return f"# {r.name}: fused [{ops}]  {tuple(r.shape)} {r.dtype}"

    def emit(self) -> None:
        for a in self.args:
            self.var(a)
        mp = memplan.plan(self.groups, self.outputs)
        for k, g in enumerate(self.groups):
            self.body.append(self.comment(g))
            self.body.extend(self.backend.emit_group(self, g))
            dead = []
            reuse = {r.id for r in mp.reusable[k]}
            for d in mp.dies[k]:
                if (d.id in reuse and self.backend.reuses_buffers
                        and d.size >= getattr(self.backend, "min_size", 0)):
                    self.release(self.var(d), d.shape, d.dtype)
                else:
                    dead.append(self.var(d))
            if dead:
                self.body.append(f"del {', '.join(dead)}")

    def source(self, graph_name: str, fn_name: str, doc: str) -> str:
        """The whole module as text."""
        args = ", ".join(self.var(a) for a in self.args)
        # leaves (inputs, params, constants) are returned as copies: a caller that updates
        # a returned gradient in place must not change its inputs or the module's constants
        rets = ", ".join(f"xp.array({self.var(o)}, copy=True)" if o.op.leaf else self.var(o)
                         for o in self.outputs)
        lines = [f'"""{doc}"""', "", *self.backend.imports, ""]
        for src in self.helpers.values():
            lines += ["", src.rstrip(), ""]
        if self.consts:
            lines += ["", *self.consts]
        if self.prelude:
            lines += ["", *self.prelude]
        lines += ["", "", f"def {fn_name}({args}):",
                  f'    """Graph {graph_name!r}: returns '
                  f'({", ".join(self.var(o) for o in self.outputs)})."""']
        lines += ["    " + b if b else "" for b in self.body]
        lines += [f"    return ({rets}{',' if len(self.outputs) == 1 else ''})", ""]
        return "\n".join(lines)
