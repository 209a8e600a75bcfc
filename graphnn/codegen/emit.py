r"""Graph -> straight-line Python source: names, constants, helpers, templates, and the
module around the function. Backends (numpy_backend, cupy_backend) emit the statements.

Variables are named after nodes (sanitized into identifiers); every statement carries a
comment naming the node(s) and op(s) it computes; dead values are freed with ``del`` or
their buffers reused (memplan).

User text (node and graph names) never reaches the source raw: identifiers are rebuilt
from it (``sanitize``), comments and docstrings carry it escaped on one line (``note``,
``docstring``), and values go through ``literal`` (``repr`` plus ``float("inf")``).

>>> sanitize("dloss/dW1"), sanitize("2x"), sanitize("lambda"), sanitize("a\nb")
('dloss_dW1', 'n_2x', 'lambda_', 'a_b')
>>> note("t\n  import os #"), literal(float("-inf")), literal((1.5, float("nan")))
('t\\n  import os #', "float('-inf')", "(1.5, float('nan'))")
"""

from __future__ import annotations

import ast
import base64
import builtins
import inspect
import keyword
import math
import re
import string
import textwrap
import unicodedata
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
#: Identifiers made from names keep at most this many characters (uniqueness is added).
IDENT_MAX = 48
#: Names in comments and docstrings keep at most this many characters.
NOTE_MAX = 80
#: Functions with more statements than this are emitted as a sequence of part functions
#: of ``PART_SIZE`` statements each, which ``compute`` calls in order passing the live
#: variables (below it the body is one plain function). CPython's parser and compiler
#: hold ~4 KB per statement of the unit being compiled; parts compiled one at a time
#: (``exec_source``) keep that bounded (100,000-node chain: 749 -> see bench).
CHUNK_MIN = 2000
PART_SIZE = 1000
#: Marks the start of each part function in the module (``exec_source`` splits there).
PART_MARK = "\n\n\ndef _part_"
#: A function keeps at most this many bytes of buffers between calls (per thread).
KEEP_MAX = 1 << 28
#: Module-level source of the kept buffers (``Emitter.kept``), and its import.
KEPT_IMPORT = "import threading as _threading"
KEPT_SRC = '''_KEPT = _threading.local()  # buffers kept between calls, one set per thread


def _kept(k, shape, dtype):
    """Buffer ``k`` of this thread: an intermediate that never leaves the function, made
    on the first call and written again by every later one (no allocation, so no page
    faults, per call)."""
    bufs = _KEPT.__dict__
    buf = bufs.get(k)
    if buf is None:
        buf = bufs[k] = xp.empty(shape, dtype=dtype)
    return buf'''


def sanitize(name: str) -> str:
    """A Python identifier close to ``name``: NFKC-normal (so two different results never
    denote the same variable), only identifier characters, at most ``IDENT_MAX`` long."""
    if (type(name) is str and len(name) <= IDENT_MAX and name.isascii()  # most names:
            and name.isidentifier() and not keyword.iskeyword(name)  # already fine
            and name not in RESERVED):
        return name
    s = unicodedata.normalize("NFKC", str(name))[:IDENT_MAX]
    s = "".join(c if ("_" + c).isidentifier() else "_" for c in s)
    if not s.isidentifier():
        s = "n_" + s
    if keyword.iskeyword(s) or s in RESERVED:
        s += "_"
    if not s.isidentifier() or unicodedata.normalize("NFKC", s) != s:
        s = "n_" + re.sub(r"[^0-9A-Za-z_]", "_", s)
    return s


def c_ident(name: str, taken: set[str]) -> str:
    """A new ASCII C identifier after ``name``, not in ``taken`` (and added to it)."""
    base = "v_" + re.sub(r"[^0-9A-Za-z_]", "_", str(name))[:IDENT_MAX]
    cand, k = base, 1
    while cand in taken:
        k += 1
        cand = f"{base}_{k}"
    taken.add(cand)
    return cand


def note(text: str, limit: int = NOTE_MAX) -> str:
    """``text`` for a comment or docstring: one line, control and separator characters
    (newlines, U+2028, NUL, ...) escaped, shortened to ``limit`` characters."""
    if type(text) is str and len(text) <= limit and text.isprintable():
        return text  # most names: nothing to escape or shorten
    text = str(text)
    short = text[:limit]
    out = short if short.isprintable() else repr(short)[1:-1]
    return out + ("..." if len(text) > limit else "")


def docstring(text: str, indent: str = "") -> str:
    """A triple-quoted literal for ``text`` (whose user parts went through ``note``)."""
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'{indent}"""{body}"""'


def literal(v: Any) -> str:
    """Python source for a static value: ``repr`` for plain data, ``float('inf')`` /
    ``float('nan')`` for non-finite floats, arrays via ``array_literal``."""
    if isinstance(v, np.ndarray):
        return array_literal(v)
    if isinstance(v, np.generic) and v.dtype.kind in "biufc":
        return f"np.{v.dtype.name}({literal(v.item())})"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else f"float({str(v)!r})"
    if isinstance(v, complex):
        return f"complex({literal(v.real)}, {literal(v.imag)})"
    if isinstance(v, tuple):
        items = [literal(x) for x in v]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(x)}" for k, x in v.items()) + "}"
    src = repr(v)
    if v is None or isinstance(v, (bool, int, str, bytes, slice, range)) or v is Ellipsis:
        return src
    try:
        ok = "\n" not in src and isinstance(ast.parse(src, mode="eval").body,
                                            (ast.Constant, ast.Call, ast.Attribute))
    except (SyntaxError, ValueError):
        ok = False
    if not ok:
        raise GraphError(f"cannot write the value {note(src)} ({type(v).__name__}) into "
                         "generated code")
    return src


def array_literal(arr: np.ndarray, xp_wrap: bool = False) -> str:
    """Python source that rebuilds ``arr`` exactly (literal or base64 of its bytes).
    ``xp_wrap``: a device array (``xp.asarray(...)``), 0-d ones included: CuPy functions
    such as ``broadcast_to`` reject NumPy scalars and arrays."""
    arr = np.asarray(arr)
    dt = arr.dtype.name
    if arr.dtype.kind not in "biufc":
        raise GraphError(f"cannot write a {dt} array into generated code")
    if arr.ndim == 0:
        src = f"np.{dt}({literal(arr.item())})"
    elif arr.size == 0:  # tolist() of a (0, 3) array is [], which would lose the shape
        src = f"np.zeros({arr.shape!r}, dtype={dt!r})"
    elif arr.size <= LITERAL_SIZE:
        src = f"np.array({literal(arr.tolist())}, dtype={dt!r})"
    else:
        data = base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()
        src = (f"np.frombuffer(base64.b64decode({data!r}), dtype={arr.dtype.str!r})"
               f".reshape({arr.shape!r})")
    return f"xp.asarray({src})" if xp_wrap else src


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
    defaults, params = param_defaults(n.op), n.params
    given = {**defaults, **params} if defaults else params
    fields = {k: literal(v) for k, v in given.items()}
    fields["out_shape"] = repr(tuple(n.shape))
    name = _DTYPE_REPR.get(n.dtype)
    if name is None:  # dtype.name is slow to compute; one per dtype
        name = _DTYPE_REPR[n.dtype] = repr(n.dtype.name)
    fields["out_dtype"] = name
    return fields


_DTYPE_REPR: dict[np.dtype, str] = {}
_DTYPE_STR: dict[np.dtype, str] = {}


_NAMED: dict[str, bool] = {}
#: What {k} reads for the (up to 4) optional trailing inputs a node does not have.
_ABSENT = ("None",) * 4
_NO_MEMBERS: frozenset[int] = frozenset()


def _has_named_fields(template: str) -> bool:
    """Does ``template`` use a named field ({axis}, {out_shape}...)? Cached per template."""
    named = _NAMED.get(template)
    if named is None:
        named = _NAMED[template] = any(
            f is not None and f != "" and not f.split(".")[0].split("[")[0].isdigit()
            for _, f, _, _ in string.Formatter().parse(template))
    return named


def fill(template: str, n: Node, args: Sequence[str], **extra: str) -> str:
    """Substitute ``args`` ({0}, {1}, ...) and the node's fields into ``template``; a
    trailing optional input that the node does not have (conv2d's bias) reads ``None``;
    ``{inputs}`` is every argument, comma-separated (variadic ops such as cat)."""
    named = _NAMED.get(template)  # inlined cache hit of _has_named_fields
    if named is None:
        named = _has_named_fields(template)
    if not named:  # most templates: "({0} * {1})", "xp.tanh({0})"
        return template.format(*args, *_ABSENT)
    return template.format(*args, *_ABSENT, **{**template_fields(n),
                                               "inputs": ", ".join(args), **extra})


def _nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def comment(g: Group) -> str:
    """The comment line above ``g``'s statement: the node(s) and op(s) it computes, its
    shape and dtype (names escaped by ``note``)."""
    r = g.root
    dt = _DTYPE_STR.get(r.dtype)
    if dt is None:  # str(dtype) is slow to compute; one per dtype
        dt = _DTYPE_STR[r.dtype] = str(r.dtype)
    if not g.fused:
        ins = ", ".join(note(i.name) for i in r.inputs)
        return f"# {note(r.name)} = {r.op.name}({ins})  {tuple(r.shape)} {dt}"
    parts = []
    for m in g.nodes:
        name = m.name
        if (type(name) is not str or len(name) > NOTE_MAX
                or not name.isprintable()):  # rare: escape / shorten (note's fast path)
            name = note(name)
        parts.append(f"{name}:{m.op.name}")
    ops = " ".join(parts)
    return f"# {note(r.name)}: fused [{ops}]  {tuple(r.shape)} {dt}"


def helpers_of(n: Node, backend: str = "numpy") -> list[Any]:
    """The functions ``n``'s code needs in a module for ``backend``."""
    gpu = n.op.gpu
    return list(gpu.helpers if gpu is not None and backend == "cupy" else n.op.helpers)


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
        #: per statement (group): its first line in ``body`` and the local names it uses
        self.starts: list[int] = []
        self.touched: list[set[str]] = []
        self._touch: set[str] = set()
        self.globals: set[str] = set()  # module-level names made by fresh (consts, kernels)
        self.pool: dict[tuple[Any, str], list[str]] = {}
        self.tmp = 0
        #: buffers kept between calls (backend's ``keep_min`` bytes and up; None: never):
        #: only for values that never leave the function (``private``: memplan)
        self.keep_min: int | None = getattr(backend, "keep_min", None)
        self.keep_left = KEEP_MAX
        self.private: set[int] = set()
        self.kept_names: set[str] = set()  # variables bound to a kept buffer
        self.slots = 0
        self.update_arg: str | None = None  # the fused optimizer update (emit_update)
        self.update_ret = ""
        self.update_lines: list[str] = []
        self.update_params: list[str] = []  # more arguments of the update (``=None``)
        self.update_head: list[str] = []  # the update's lines at the top of the function

    # -- names -------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        name = sanitize(base)
        cand, k = name, 1
        while cand in self.used:
            k += 1
            cand = f"{name}_{k}"
        self.used.add(cand)
        self._touch.add(cand)
        return cand

    def untouch(self, name: str) -> None:
        """``name`` (just made by ``fresh``) is not used after all."""
        self.used.discard(name)
        self._touch.discard(name)

    def var(self, n: Node) -> str:
        """The variable holding ``n`` (constants are declared at module level on first use)."""
        v = self.names.get(n.id)
        if v is None:
            base = sanitize(n.name)  # generated names (helpers, buffers) start with "_"
            v = self.names[n.id] = self.fresh("n" + base if base.startswith("_") else base)
            if n.op is CONST:
                self.globals.add(v)
                lit = array_literal(n.params["value"], self.backend.wrap_consts)
                self.consts.append(f"{v} = {lit}  # const {note(n.name)} {tuple(n.shape)}")
            elif n.op.leaf and n.op not in (INPUT, PARAM):
                raise GraphError(f"cannot compile leaf {describe(n)}", node=n)
        self._touch.add(v)
        return v

    def scratch(self, shape: tuple[int, ...], dtype: np.dtype,
                private: bool = True) -> tuple[str, str | None]:
        """A buffer name for ``shape``/``dtype``: a dead reusable one (and the name it had),
        or a new name to allocate (second item None). A value that leaves the function
        (not ``private``) never gets a kept buffer."""
        free = self.pool.get((tuple(shape), dtype.str))
        if free:
            k = len(free) - 1
            if not private:
                while k >= 0 and free[k] in self.kept_names:
                    k -= 1
            if k >= 0:
                old = free.pop(k)
                self._touch.add(old)
                return old, old
        self.tmp += 1
        return self.fresh(f"_buf{self.tmp}"), None

    def keeps(self, shape: tuple[int, ...], dtype: np.dtype, n: Node | None = None) -> bool:
        """Should a new buffer of ``shape``/``dtype`` be kept between calls? For node ``n``
        only when its value never leaves the function; scratch (``n`` None) always may."""
        if self.keep_min is None or (n is not None and n.id not in self.private):
            return False
        return self.keep_min <= _nbytes(shape, dtype) <= self.keep_left

    def kept(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> str:
        """The statement binding ``name`` to a new buffer kept between calls (``_kept``)."""
        self.kept_names.add(name)
        return f"{name} = {self.kept_buffer(shape, dtype)}"

    def kept_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> str:
        """An expression giving a new buffer kept between calls (``KEPT_SRC``)."""
        self.keep_left -= _nbytes(shape, dtype)
        self.slots += 1
        if "_kept" not in self.helpers:
            self.helpers["_kept"] = KEPT_SRC
            self.backend.imports.append(KEPT_IMPORT)
        return f"_kept({self.slots}, {tuple(shape)!r}, {dtype.name!r})"

    def rebind(self, old: str, new: str) -> None:
        """``new`` now holds the buffer of ``old`` (a reused dead buffer)."""
        if old in self.kept_names:
            self.kept_names.add(new)

    def release(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.pool.setdefault((tuple(shape), dtype.str), []).append(name)

    def use_helpers(self, n: Node) -> None:
        for fn in helpers_of(n, self.backend.name):
            if fn.__name__ not in self.helpers:
                self.helpers[fn.__name__] = textwrap.dedent(inspect.getsource(fn))

    # -- statements ----------------------------------------------------------------
    def expr(self, n: Node, group: Group | None = None) -> str:
        """``n`` as one expression: its template over its inputs' variables, inlining the
        members of ``group`` recursively."""
        # a one-node group inlines nothing (a node is never its own input)
        fused = group is not None and len(group.nodes) > 1
        return self._expr(n, group.members if fused else _NO_MEMBERS)

    def expr_into(self, n: Node, buf: str) -> str:
        """``n``'s ``numpy_out`` call, handed buffer ``buf`` to write into."""
        self.use_helpers(n)
        return fill(n.op.numpy_out, n, [self.var(i) for i in n.inputs], out=buf)

    def _expr(self, n: Node, inside: set[int] | frozenset[int]) -> str:
        names, touch = self.names, self._touch
        args: list[str] = []
        for i in n.inputs:
            if i.id in inside and i is not n:
                args.append(self._expr(i, inside))
                continue
            v = names.get(i.id)
            if v is None:
                v = self.var(i)
            else:  # fast path of var(): a value that already has its variable
                touch.add(v)
            args.append(v)
        op = n.op
        tpl = op.numpy
        if op.gpu is not None and self.backend.name == "cupy":
            tpl = op.gpu.call
        if tpl is None:
            raise GraphError(
                f"op '{op.name}' has no NumPy expression, so {describe(n)} cannot be "
                "compiled; give the op record a `numpy=` template", node=n)
        if op.helpers or op.gpu is not None:
            self.use_helpers(n)
        return fill(tpl, n, args)

    def emit(self) -> None:
        for a in self.args:
            self.var(a)
        mp = memplan.plan(self.groups, self.outputs)
        if self.keep_min is not None:
            self.private = {r.id for rs in mp.reusable for r in rs}
        reuses = self.backend.reuses_buffers
        min_size = getattr(self.backend, "min_size", 0)
        body, emit_group = self.body, self.backend.emit_group
        for k, g in enumerate(self.groups):
            self.starts.append(len(body))
            self._touch = set()
            self.touched.append(self._touch)
            body.append(comment(g))
            body.extend(emit_group(self, g))
            dies = mp.dies[k]
            if not dies:
                continue
            dead = []
            reuse = {r.id for r in mp.reusable[k]} if reuses and mp.reusable[k] else ()
            for d in dies:
                if d.id in reuse and d.size >= min_size:
                    self.release(self.var(d), d.shape, d.dtype)
                else:
                    dead.append(self.var(d))
            if dead:
                body.append(f"del {', '.join(dead)}")
        self._touch = set()

    def emit_update(self, rule: Any, params: Sequence[Node], grads: Sequence[Node],
                    loss: Node) -> None:
        """After the body: the optimizer's in-place update of ``params`` from ``grads``
        (outputs of the function) by ``rule`` (``codegen.update``), run only when
        ``loss`` is finite and the function's last argument (the per-param scalars and
        state buffers) is given. A gradient that is a leaf is read from the returned
        copy, so the update never reads a param it is writing."""
        self.update_arg = self.fresh("_upd")
        self.update_ret = self.fresh("_ret")
        pos = {o.id: k for k, o in enumerate(self.outputs)}
        gs = [f"{self.update_ret}[{pos[g.id]}]" if g.op.leaf else self.var(g) for g in grads]
        self.update_lines = self.backend.emit_update(
            self, rule, self.update_arg, [self.var(p) for p in params], gs, self.var(loss),
            list(params), loss.dtype)

    def source(self, graph_name: str, fn_name: str, doc: str) -> str:
        """The whole module as text."""
        args = ", ".join(self.var(a) for a in self.args)
        if self.update_arg is not None:
            args += "".join(f", {a}=None" for a in (self.update_arg, *self.update_params))
        # leaves (inputs, params, constants) are returned as copies: a caller that updates
        # a returned gradient in place must not change its inputs or the module's constants
        rets = ", ".join(f"xp.array({self.var(o)}, copy=True)" if o.op.leaf else self.var(o)
                         for o in self.outputs)
        lines = [docstring(doc), "", *self.backend.imports, ""]
        for src in self.helpers.values():
            lines += ["", src.rstrip(), ""]
        if self.consts:
            lines += ["", *self.consts]
        if self.prelude:
            lines += ["", *self.prelude]
        body = self.body
        if len(self.starts) > CHUNK_MIN:
            parts, body = self.parts()
            lines += parts
        lines += ["", "", f"def {fn_name}({args}):",
                  docstring(f"Graph '{note(graph_name)}': returns "
                            f"({', '.join(self.var(o) for o in self.outputs)}).", "    ")]
        lines += ["    " + ln for ln in self.update_head]
        if body:  # one join: no indented copy of every line (large bodies)
            lines.append("    " + "\n    ".join(body))
        ret = f"({rets}{',' if len(self.outputs) == 1 else ''})"
        if self.update_arg is not None:
            lines.append(f"    {self.update_ret} = {ret}")
            lines += ["    " + ln for ln in self.update_lines]
            ret = self.update_ret
        lines += [f"    return {ret}", ""]
        return "\n".join(lines)

    def parts(self) -> tuple[list[str], list[str]]:
        """The body split into functions of ``PART_SIZE`` statements: (module lines
        defining ``_part_1``, ``_part_2``..., the calling body). Each part takes the
        variables it uses that earlier statements made and returns the ones it makes that
        later statements (or the outputs) use; the caller drops what no later part needs.
        Variable names are unique (``fresh``) and a variable is never rebound, so a name a
        statement touches (``touched``) is live from its first statement to its last."""
        n = len(self.starts)
        bounds = list(range(0, n, PART_SIZE)) + [n]
        argnames = {self.var(a) for a in self.args}
        end = len(bounds) - 1  # "used after the last part": outputs
        first: dict[str, int] = dict.fromkeys(argnames, -1)
        last: dict[str, int] = {self.var(o): end for o in self.outputs}
        chunks: list[set[str]] = []
        for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
            names = set().union(*self.touched[a:b]) - self.globals
            chunks.append(names)
            for v in names:
                first.setdefault(v, i)
                if last.get(v, -1) < i:
                    last[v] = i
        mod: list[str] = []
        calls: list[str] = []
        for i, (names, (a, b)) in enumerate(zip(chunks, zip(bounds, bounds[1:]))):
            params = sorted(v for v in names if first[v] < i)
            outs = sorted(v for v in names if first[v] == i and last[v] > i)
            fn = f"_part_{i + 1}"
            mod += ["", "", f"def {fn}({', '.join(params)}):",
                    f'    """Statements {a + 1}-{b} of {n}."""']
            stop = self.starts[b] if b < n else len(self.body)
            mod.append("    " + "\n    ".join(self.body[self.starts[a]:stop]))
            ret = ", ".join(outs)
            call = f"{fn}({', '.join(params)})"
            if outs:
                mod.append(f"    return {ret}")
                calls.append(f"{ret} = {call}")
            else:
                calls.append(call)
            drop = [v for v in params if last[v] == i and v not in argnames]
            if drop:
                calls.append(f"del {', '.join(drop)}")
        return mod, calls


def exec_source(source: str, filename: str, namespace: dict[str, Any]) -> None:
    """``exec`` a generated module into ``namespace``, one part function at a time (see
    ``CHUNK_MIN``), so CPython never holds the syntax tree of the whole module; line
    numbers stay those of the whole source."""
    pieces = source.split(PART_MARK)
    line = 0
    for k, piece in enumerate(pieces):
        text = piece if k == 0 else "def _part_" + piece
        pad = "\n" * line
        exec(builtins.compile(pad + text, filename, "exec"), namespace)  # noqa: S102
        line += text.count("\n") + (3 if k + 1 < len(pieces) else 0)
