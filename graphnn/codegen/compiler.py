"""``gn.compile``: graph (+ symbolic gradients) -> optimized graph -> one Python function.

Pipeline: copy the graph (the user's graph never changes), add gradient nodes with
``gn.grad`` on the copy, run the graph passes (simplify, fold, cse, dce) to a fixed
point, fuse elementwise groups, plan memory, emit source for the backend, ``exec`` it.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph("neuron") as g:
...     x = gn.input("x", shape=(3,))
...     w = gn.param("w", np.array([0.5, -1.0, 2.0]))
...     o = gn.sigmoid(gn.sum(w * x)).named("o")
>>> f = gn.compile(g, outputs=[o], wrt=[w])
>>> r = f(x=[1.0, 2.0, 3.0])
>>> round(float(r["o"]), 4), np.round(r.grad("w"), 4).tolist()
(0.989, [0.0109, 0.0217, 0.0326])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphnn.codegen.cudagraph import CudaGraphStep
from graphnn.codegen.cupy_backend import CupyBackend
from graphnn.codegen.emit import PART_MARK, Emitter, comment, exec_source, note
from graphnn.codegen.fuse import fuse
from graphnn.codegen.numpy_backend import NumpyBackend
from graphnn.codegen.update import UpdatePlan, step_rule
from graphnn.core.context import paused_gc
from graphnn.core.device import cupy_problem, sync_matmul_precision, to_host
from graphnn.core.errors import DeviceError, FeedError, GraphError, describe
from graphnn.core.fileio import atomic_write
from graphnn.core.ir import INPUT, PARAM, Graph, Node
from graphnn.passes.cse import cse
from graphnn.passes.dce import dce
from graphnn.passes.fold import fold
from graphnn.passes.optimize import optimize
from graphnn.passes.rewrite import PassRecord, copy_graph, listing
from graphnn.passes.simplify import simplify
from graphnn.passes.sweep import Counts
from graphnn.passes.verify import VerifyError
from graphnn.passes.verify import verify as verify_graph
from graphnn.run.autodiff import grad as symbolic_grad
from graphnn.run.device import DeviceParams, device_feed
from graphnn.run.interpret import convert_feed, resolve_targets
from graphnn.run.results import TableResults
from graphnn.run.threads import blas_threads_for, largest_madds

Pass = Callable[[Graph, Sequence[Node]], tuple[Graph, list[Node], "int | Counts"]]
PASSES: dict[str, Pass] = {"simplify": simplify, "fold": fold, "cse": cse, "dce": dce,
                           "optimize": optimize}
#: What ``optimize=True`` runs, repeated while a round changes something: all four passes
#: in one traversal per round (``passes.optimize``).
DEFAULT_PASSES = ("optimize",)
#: Passes whose result has no dead nodes (checked by ``verify``); "optimize" only once a
#: round changes nothing (the nodes a round's rewrites orphan go in the next round).
NO_DEAD = {"dce"}
#: Rounds of the default passes at most (a round that changes nothing ends them).
MAX_ROUNDS = 4
BACKENDS: dict[str, Callable[..., Any]] = {"numpy": NumpyBackend, "cupy": CupyBackend}


def run_passes(graph: Graph, outputs: list[Node], passes: Sequence[str],
               rounds: int = 1, verify: bool = False) -> tuple[Graph, list[Node],
                                                              list[PassRecord]]:
    """Run named ``passes`` in order, repeating up to ``rounds`` times while any changes.
    A pass that changes nothing returns its input graph (no copy); it is recorded in the
    first round only. Rounds also end when every pass says its result is final.
    ``verify``: check the IR (``passes.verify``) before the first pass and after each one
    (no dead nodes after ``dce``, or after an ``optimize`` round that changed nothing or
    is final); a broken invariant raises VerifyError naming the pass."""
    records: list[PassRecord] = []
    if verify:
        _verify(graph, outputs, "the input graph", dead=True)
    for k in range(rounds):
        total, final = 0, True
        for name in passes:
            try:
                fn = PASSES[name]
            except KeyError:
                raise ValueError(f"unknown pass {name!r}; passes: {sorted(PASSES)}") from None
            new, new_outs, counts = fn(graph, outputs)
            changed = int(counts)
            total += changed
            final = final and isinstance(counts, Counts) and counts.final
            if verify:
                strict = name in NO_DEAD or (name == "optimize" and (not changed or final))
                _verify(new, new_outs, f"pass {name!r}", dead=not strict)
            if k == 0 or changed:
                records.append(PassRecord(name, graph, new, list(outputs), new_outs, changed,
                                          str(counts) if isinstance(counts, Counts) else ""))
            graph, outputs = new, new_outs
        if not total or final:
            break
    return graph, outputs, records


def _verify(graph: Graph, outputs: Sequence[Node], after: str, dead: bool) -> None:
    try:
        verify_graph(graph, outputs, dead=dead)
    except VerifyError as e:
        raise VerifyError(f"after {after}: {e}", node=e.node) from None


class CompiledResult(TableResults):
    """What a compiled call returns: ``values`` (output name -> array), ``grads`` (wrt name
    -> array), ``loss`` (the loss value when gradients were taken). ``r[name]`` and
    ``r.value(name)`` read outputs, ``r.grad(name)`` gradients; nodes work as keys too
    (the result protocol of :mod:`graphnn.run.results`; a compiled call has no tangents)."""

    __slots__ = ("loss_name",)
    kind = "compiled call"

    def __init__(self, values: dict[str, Any], grads: dict[str, Any], loss_name: str | None):
        super().__init__(values, grads)
        self.loss_name = loss_name

    def _hint(self, what: str, ref: str | Node) -> str:
        return {"value": "it is not an output of this compiled graph",
                "grad": "compile with it in wrt=",
                "tangent": "compiled graphs compute no tangents; use gn.jvp"}[what]

    def __getitem__(self, ref: str | Node) -> Any:
        return self.value(ref)

    @property
    def loss(self) -> Any:
        return None if self.loss_name is None else self.values.get(self.loss_name)

    def __repr__(self) -> str:
        return f"<CompiledResult values={list(self.values)} grads={list(self.grads)}>"


class CompiledGraph:
    """A compiled graph: call it with feeds (a dict and/or keywords; params may be fed to
    override their stored value), read ``.source``, ``.passes`` (before/after records),
    ``.graph`` (the optimized graph), ``.save(path)`` for a standalone module.

    A CuPy graph keeps its data on the GPU: params are uploaded on the first call and
    again only when the graph's param store changes (``Graph.param_version``: bumped by
    ``set_value``, ``gn.load``, the optimizers; after writing into ``g.value_of(p)``
    directly call :meth:`sync_params`); CuPy feeds are used without a copy; results are
    CuPy arrays (``fn(feeds, host=True)`` or ``r.value(name, host=True)`` for NumPy).

    Compiled with ``optimizer=``, each call is a whole training step: it also updates the
    ``wrt`` params in place (``update``: the optimizer and its rule; ``codegen.update``).
    Compiled with ``cuda_graph=True``, calls after the first replay a captured CUDA graph
    (``cuda_graph``: its ``status``; ``codegen.cudagraph``).
    """

    def __init__(self, graph: Graph, source: str, fn_name: str, args: list[Node],
                 out_names: list[str], grad_names: list[str], loss_name: str | None,
                 optimized: Graph, outputs: list[Node], passes: list[PassRecord],
                 backend: Any, groups: list[Any] | None = None,
                 update: UpdatePlan | None = None, cuda_graph: bool = False) -> None:
        self.source_graph = graph
        self.source = source
        self.graph = optimized
        self.outputs = outputs
        self.passes = passes
        self.groups = groups or []  # the emitted statements (codegen.fuse.Group)
        self.backend = backend.name
        self.kernels: list[dict[str, Any]] = getattr(backend, "kernels", [])
        self.output_names, self.grad_names, self.loss_name = out_names, grad_names, loss_name
        self.arg_names = [a.name for a in args]
        self._args = [(a.name, graph.node(a.name), a.op is PARAM) for a in args]
        self._inputs = {n.name for n in graph.nodes if n.op in (INPUT, PARAM)}
        self.function = None
        self._cp: Any = None
        self._problem = cupy_problem() if backend.name == "cupy" else None
        self.device_params = DeviceParams(graph)  # the params' GPU copies (CuPy only)
        if backend.name == "cupy" and self._problem is None:
            import cupy

            self._cp = cupy
        self._filename = f"<graphnn compiled {note(graph.name)}>"
        if self._problem is None:
            ns: dict[str, Any] = {"__name__": f"graphnn_compiled_{graph.name}"}
            exec_source(source, self._filename, ns)
            self.function = ns[fn_name]
        self._n_out = len(out_names)
        self._madds = largest_madds(optimized)   # small: one BLAS thread per call
        self.update_kernels: list[dict[str, Any]] = getattr(backend, "update_kernels", [])
        self.update = update
        names = [n for n, _, _ in self._args]
        self._update_pos = [names.index(p.name) for p in update.params] if update else []
        self._update_names = frozenset(names[k] for k in self._update_pos)
        self.cuda_graph: CudaGraphStep | None = None
        if cuda_graph and self.function is not None:
            self.cuda_graph = CudaGraphStep(
                self._cp, self.function, [k for k, a in enumerate(self._args) if not a[2]],
                len(update.rule.scalars) if update else None)

    @property
    def body(self) -> str:
        """Just the statements of the function (no imports, helpers or constants); for a
        function emitted in parts (``emit.CHUNK_MIN``), the statements of its parts."""
        if PART_MARK not in self.source:
            body = self.source.split("\n    \"\"\"Graph ", 1)[1].split("\n    return ", 1)[0]
            return "\n".join(ln[4:] for ln in body.splitlines()[1:])
        out: list[str] = []
        for piece in self.source.split(PART_MARK)[1:]:
            lines = piece.split("\n\n\n", 1)[0].splitlines()[2:]  # def line, docstring
            if lines and lines[-1].startswith("    return "):
                lines.pop()
            out += [ln[4:] for ln in lines]
        return "\n".join(out)

    def __call__(self, feeds: Mapping[str | Node, Any] | None = None, /, *,
                 host: bool = False, **kw: Any) -> CompiledResult:
        """Run on ``feeds`` (and keyword feeds); ``host=True``: NumPy results (CuPy)."""
        if self.function is None:
            raise DeviceError(f"this CuPy module needs CuPy and a CUDA GPU to run here: "
                              f"{self._problem}; use .source or .save()")
        given = {(k.name if isinstance(k, Node) else k): v for k, v in (feeds or {}).items()}
        given.update(kw)
        if self.update is not None and not self._update_names.isdisjoint(given):
            raise FeedError("a step compiled with optimizer= updates its params in place: "
                            "they cannot be fed")
        args = self._arguments(given)
        if self.update is not None:
            args.append(self.update.arguments([args[k] for k in self._update_pos]))
        if self._cp is not None:
            sync_matmul_precision(self._cp)
        try:
            if self.cuda_graph is not None:
                res = self.cuda_graph(args)
            else:
                with blas_threads_for(self._madds):
                    res = self.function(*args)
        except GraphError:
            raise
        except Exception as e:  # an op failing at run time: name its node, as gn.run does
            raise self._failure(e) from e
        if self.update is not None:
            self._updated([args[k] for k in self._update_pos])
        n = self._n_out
        values, grads = dict(zip(self.output_names, res[:n])), dict(zip(self.grad_names, res[n:]))
        if host:
            values = {k: to_host(v) for k, v in values.items()}
            grads = {k: to_host(v) for k, v in grads.items()}
        return CompiledResult(values, grads, self.loss_name)

    def _failure(self, e: Exception) -> Exception:
        """``e``, raised inside the generated function, as a GraphError naming the node
        whose statement raised it (the statement under the comment that names it), like
        the interpreter's; ``e`` itself when it came from no statement (the fused update
        or the return). The update runs after every statement, so a step that failed in
        a statement has updated nothing."""
        tb, line = e.__traceback__, 0
        while tb is not None:  # the innermost frame of compute or one of its parts
            code = tb.tb_frame.f_code
            if code.co_filename == self._filename and (
                    code.co_name == "compute" or code.co_name.startswith("_part_")):
                line = tb.tb_lineno
            tb = tb.tb_next
        lines = self.source.splitlines()
        for k in range(min(line, len(lines)) - 1, -1, -1):
            text = lines[k].strip()
            if text.startswith(("def ", "_ret")):  # not in a statement: the update, return
                return e
            if text.startswith("# "):
                node = next((gr.root for gr in self.groups if comment(gr) == text), None)
                if node is None:
                    return e
                return GraphError(f"{node.op.name} failed at {describe(node)}: "
                                  f"{type(e).__name__}: {e}", node=node)
        return e

    def _updated(self, values: list[Any]) -> None:
        """After a fused step: the param store changed. On CuPy, params that are not
        resident on the device (``params_on_device``) were updated in their device copies:
        those are copied back into the host arrays (a transfer per step; ``gn.fit`` keeps
        them resident), and the copies stay current."""
        g = self.source_graph
        cp = self._cp
        if cp is not None:
            for p, dev in zip(self.update.params, values):  # type: ignore[union-attr]
                host = g._state[p]
                if not isinstance(host, cp.ndarray):
                    host[...] = cp.asnumpy(dev)
        g.params_changed()
        if cp is not None:
            self.device_params.current()

    def _arguments(self, given: dict[str, Any]) -> list[Any]:
        """The function's arguments from the feeds (popped from ``given``) and the params
        (their resident device copies for CuPy); FeedError for missing or unknown feeds."""
        cp, args = self._cp, []
        for name, node, is_param in self._args:
            v = given.pop(name, None)
            if v is None:
                if not is_param:
                    raise FeedError(f"missing feed for input '{name}' {tuple(node.shape)} "
                                    f"(created at {node.loc})", node=node)
                v = (self.source_graph._state[node] if cp is None
                     else self.device_params.get(cp, node))
            else:
                v = convert_feed(node, v) if cp is None else device_feed(cp, node, v)
            args.append(v)
        unknown = [k for k in given if k not in self._inputs]
        if unknown:
            raise FeedError(f"unexpected feed(s) {unknown}: graph '{self.source_graph.name}' "
                            f"has inputs {sorted(self._inputs)}")
        return args

    def sync_params(self) -> None:
        """Upload the params to the GPU again on the next call (CuPy; after writing into
        ``g.value_of(p)`` in place, which the param store's version does not see)."""
        self.device_params.sync()

    def _kept(self) -> dict[int, Any]:
        """This thread's buffers kept between calls (the module's ``_KEPT``), by slot."""
        kept = self.function.__globals__.get("_KEPT") if self.function is not None else None
        return kept.__dict__ if kept is not None else {}

    def kept_bytes(self) -> int:
        """Bytes of the buffers this thread keeps between calls (``keep_buffers``; 0 before
        the first call or when nothing is kept)."""
        return sum(int(b.nbytes) for b in self._kept().values())

    def free_buffers(self) -> None:
        """Drop the buffers this thread keeps between calls: memory goes back now, and the
        next call makes them again (``keep_buffers``).

        >>> import numpy as np, graphnn as gn
        >>> with gn.Graph() as g:
        ...     x = gn.input("x", shape=(256, 256))
        ...     y = gn.sum(gn.tanh(x) * x).named("y")
        >>> f = gn.compile(g, [y])
        >>> _ = f(x=np.ones((256, 256)))
        >>> f.kept_bytes()                      # tanh(x): 256 * 256 float64
        524288
        >>> f.free_buffers(); f.kept_bytes()
        0
        """
        self._kept().clear()

    def pass_report(self) -> str:
        """Text of every pass: name, node counts, and the diff it made."""
        out = []
        for r in self.passes:
            out.append(f"== {r.name}: {len(r.before)} -> {len(r.after)} nodes, "
                       f"{r.changed} changed" + (f" ({r.detail})" if r.detail else ""))
            if r.changed:
                out.append(r.diff())
        fused = [g for g in self.groups if g.fused]
        out.append(f"== fuse: {len(self.groups)} statements for {len(self.graph)} nodes, "
                   f"{len(fused)} fused groups")
        out += [f"  {g.root.name} <- " + " ".join(f"{m.name}:{m.op.name}" for m in g.nodes)
                for g in fused]
        return "\n".join(out)

    def module_source(self, params: bool = True) -> str:
        """The standalone module: ``.source`` plus (optionally) the current param values."""
        if not params:
            return self.source
        from graphnn.codegen.emit import array_literal

        vals = [f"    {name!r}: {array_literal(self.source_graph._state[node])},"
                for name, node, is_param in self._args if is_param]
        block = "PARAMS = {\n" + "\n".join(vals) + "\n}" if vals else "PARAMS = {}"
        head, mark, tail = self.source.rpartition("\nPARAMS = {}  # saved modules embed the values")
        return head + "\n" + block + tail if mark else self.source

    def save(self, path: str | os.PathLike[str], params: bool = True) -> str:
        """Write the standalone module (imports only numpy or cupy) atomically; returns path."""
        path = os.fspath(path)
        atomic_write(path, self.module_source(params))
        return path

    def __repr__(self) -> str:
        return (f"<CompiledGraph {self.source_graph.name!r} ({self.backend}): "
                f"{len(self.graph)} nodes, outputs {self.output_names}, grads {self.grad_names}>")


def compile(graph: Graph, outputs: Any = None, wrt: Any = None, backend: str = "numpy",  # noqa: A001
            optimize: bool = True, passes: Sequence[str] | None = None,
            loss: str | Node | None = None, fuse_elementwise: bool | None = None,
            inplace: Any = "auto", numexpr: bool = False, verify: bool = False,
            optimizer: Any = None, cuda_graph: bool = False,
            keep_buffers: bool = True) -> CompiledGraph:
    """Compile ``graph`` (its ``outputs``, and the gradients of ``loss`` w.r.t. ``wrt``)
    into one Python function for ``backend`` ("numpy" or "cupy").

    Args:
        outputs: nodes or names (default: ``graph.outputs`` or its sinks).
        wrt: nodes or names to differentiate with respect to ("params" for all params).
        optimize: run the default passes (simplify, fold, cse, dce: one traversal per
            round, ``passes.optimize``) to a fixed point and fuse elementwise groups.
        passes: run exactly these passes, in order, once (overrides ``optimize``'s list).
        loss: the scalar to differentiate (default: the only output).
        fuse_elementwise: fuse groups (default: ``optimize``).
        inplace: NumPy in-place ``out=`` evaluation of fused groups: "auto" (large arrays),
            True or False. Large groups run block by block (cache-sized) in place.
        numexpr: evaluate large arithmetic-only fused groups with numexpr (the module then
            imports numexpr; measured slower than blocked in-place NumPy on 2 cores).
        verify: check the IR before and after every pass (``graphnn.passes.verify``);
            the tests compile with it on.
        optimizer: a gn.optim optimizer whose update is compiled into the step (SGD with
            momentum / Nesterov / weight decay, Adam, Adagrad, RMSprop): each call then
            also updates the ``wrt`` params in place, one fused elementwise update per
            param, skipped when the loss is not finite; the optimizer's state buffers live
            in ``optimizer.state`` (on the params' device) and its hyperparameters are
            read at every call (an lr schedule works; values never enter the source).
            The loss becomes an output if it is not one. An optimizer without a fused
            rule (``fused_rule()`` is None) raises GraphError: use ``opt.step(result)``.
        cuda_graph: (CuPy) replay the step as a CUDA graph after one warm-up call
            (``codegen.cudagraph``): results are then the same arrays every call; when
            the step cannot be captured it runs as usual and
            ``fn.cuda_graph.status`` says why.
        keep_buffers: (NumPy) intermediate arrays of 128 KiB and more that never leave
            the function are made on the first call and kept for the next ones, one set
            per thread (at most 256 MiB per function and thread): no allocation and no
            page faults per call. Results are always new arrays. False: every call
            allocates (less memory held between calls).

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     w = gn.param("w", [1.0, -2.0])
    ...     loss = gn.sum(w * w).named("loss")
    >>> step = gn.compile(g, [loss], wrt=[w], optimizer=gn.optim.SGD(lr=0.1))
    >>> float(step()["loss"]), g.value_of(w).tolist()   # the loss before the update
    (5.0, [0.8, -1.6])
    """
    with paused_gc():
        return _compile(graph, outputs, wrt, backend, optimize, passes, loss,
                        fuse_elementwise, inplace, numexpr, verify, optimizer, cuda_graph,
                        keep_buffers)


def _compile(graph: Graph, outputs: Any, wrt: Any, backend: str, optimize: bool,
             passes: Sequence[str] | None, loss: str | Node | None,
             fuse_elementwise: bool | None, inplace: Any, numexpr: bool,
             verify: bool, optimizer: Any = None, cuda_graph: bool = False,
             keep_buffers: bool = True) -> CompiledGraph:
    outs, wrt_nodes, loss_node = resolve_targets(graph, outputs, wrt, loss, "compile")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; backends: {sorted(BACKENDS)}")
    if cuda_graph and backend != "cupy":
        raise ValueError("cuda_graph=True needs backend='cupy'")
    rule = step_rule(optimizer, wrt_nodes, loss_node)
    if rule is not None and loss_node not in outs:
        outs = [*outs, loss_node]
    work, mapped = copy_graph(graph, outs + ([loss_node] if loss_node is not None else []))
    targets = mapped[: len(outs)]
    if wrt_nodes:
        assert loss_node is not None
        with work.shared_scalars():  # one node per scalar constant the gradient needs
            targets = targets + list(symbolic_grad(mapped[-1],
                                                   [work.node(w.name) for w in wrt_nodes]))
    if passes is None:
        names, rounds = (DEFAULT_PASSES, MAX_ROUNDS) if optimize else ((), 1)
    else:
        names, rounds = tuple(passes), 1
    work, targets, records = run_passes(work, targets, names, rounds, verify=verify)
    if passes is None and optimize and len(records) == rounds:
        # every round changed something (the rounds ran out): drop what the last one
        # orphaned (a mask over the graph; no copy when nothing is dead)
        work, targets, more = run_passes(work, targets, ["dce"], 1, verify=verify)
        records += [r for r in more if r.changed]
    be = BACKENDS[backend](**({"inplace": inplace, "numexpr": numexpr,
                               "keep_buffers": keep_buffers} if backend == "numpy" else {}))
    groups = fuse(work, targets, enabled=optimize if fuse_elementwise is None else fuse_elementwise,
                  accept=getattr(be, "fuses", None))
    needed_leaves = {i.id for g in groups for n in g.nodes for i in n.inputs} | {
        t.id for t in targets}
    if rule is not None:  # the update writes every param, also one no statement reads
        needed_leaves |= {work.node(w.name).id for w in wrt_nodes}
    args = [n for n in work.nodes if n.op in (INPUT, PARAM) and n.id in needed_leaves]
    em = Emitter(be, groups, targets, args)
    em.emit()
    update = None
    if rule is not None:
        assert loss_node is not None
        em.emit_update(rule, [work.node(w.name) for w in wrt_nodes], targets[len(outs):],
                       targets[[o.name for o in outs].index(loss_node.name)])
        update = UpdatePlan(optimizer, rule, list(wrt_nodes))
    out_names = [o.name for o in outs]
    grad_names = [w.name for w in wrt_nodes]
    grads = (f" then d{note(loss_node.name)}/d[{', '.join(note(w) for w in grad_names)}]"
             if wrt_nodes and loss_node is not None else "")
    lines = [f"graphnn-compiled graph '{note(graph.name)}' (backend {backend}).",
             "",
             f"compute({', '.join(note(a.name) for a in args)}) returns the outputs "
             f"[{', '.join(note(o) for o in out_names)}]" + grads + ".",
             "run(feeds=None, **kw) -> (values, grads) dicts; params default to PARAMS."]
    src = em.source(graph.name, "compute", "\n".join(lines))
    del em  # its statement lines: not kept alive while the source is compiled
    src += _trailer(args, out_names, grad_names)
    return CompiledGraph(graph, src, "compute", args, out_names, grad_names,
                         loss_node.name if loss_node is not None else None, work, targets,
                         records, be, groups, update, cuda_graph)


def _trailer(args: list[Node], out_names: list[str], grad_names: list[str]) -> str:
    ins = tuple(a.name for a in args if a.op is INPUT)
    ps = tuple(a.name for a in args if a.op is PARAM)
    order = tuple(a.name for a in args)
    return f'''

INPUTS = {ins!r}
PARAM_NAMES = {ps!r}
ARGS = {order!r}
OUTPUTS = {tuple(out_names)!r}
GRADS = {tuple(grad_names)!r}
PARAMS = {{}}  # saved modules embed the values


def run(feeds=None, **kw):
    """values, grads = run(x=..., ...): feeds by input name; params default to PARAMS."""
    given = {{**PARAMS, **(feeds or {{}}), **kw}}
    missing = [k for k in ARGS if k not in given]
    if missing:
        raise KeyError(f"missing feeds: {{missing}}")
    res = compute(*[xp.asarray(given[k]) for k in ARGS])
    n = len(OUTPUTS)
    return dict(zip(OUTPUTS, res[:n])), dict(zip(GRADS, res[n:]))
'''


__all__ = ["compile", "CompiledGraph", "CompiledResult", "PASSES", "run_passes", "listing"]
