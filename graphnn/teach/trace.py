"""Step-through tracing: ``gn.trace`` runs a graph with the interpreter's hooks and
records every forward evaluation, every vector-Jacobian product and every fan-out
accumulation as a :class:`Step`, in execution order.

>>> import graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     d = (x + y).named("d")
...     f = (d * z).named("f")
>>> t = gn.trace(g, {"x": 1, "y": -3, "z": 4})
>>> print(t[3])
step 4 of 7  forward eval  d = x + y = 1 + (-3) = -2
>>> t[3].number, t[3].index
(4, 3)
>>> for s in t.backward:
...     print(s)
step 6 of 7  backward vjp at f = d * z: seed ∂f/∂f = 1; ∂f/∂d = 1 · 4 = 4; ∂f/∂z = 1 · (-2) = -2
step 7 of 7  backward vjp at d = x + y: upstream ∂f/∂d = 4; ∂f/∂x = 4 · 1 = 4; ∂f/∂y = 4 · 1 = 4

Steps are numbered from 1 everywhere they are shown (``step.number``: terminal, tables,
the HTML player's ``#k`` links, ``graphnn render --step``); ``step.index`` is the 0-based
position in the sequence (``t[step.index] is step``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphnn.core.context import paused_gc
from graphnn.core.device import to_host
from graphnn.core.errors import GradError, GraphError, describe, fmt_shape
from graphnn.core.ir import Graph, Node
from graphnn.core.op import Op
from graphnn.core.traverse import ancestors
from graphnn.run.forward import propagate
from graphnn.run.interpret import Run, run
from graphnn.teach import narrate as N
from graphnn.teach import tracefmt as F
from graphnn.teach.localjac import step_local_values


@dataclass(eq=False)
class Step:
    """One event of a trace.

    ``phase`` is "forward" or "backward"; ``kind`` is "eval" (a forward evaluation),
    "vjp" (a node passes its gradient to its inputs) or "accumulate" (a fan-out sum:
    ``node`` already had a gradient and receives ``contribution`` from ``source``).
    ``local`` gives each input's local derivative (text and LaTeX), ``local_value`` its
    number (scalar inputs; the Jacobian diagonal for same-shape elementwise ops).
    In a forward-mode trace, ``tangent`` and ``input_tangents`` hold the JVP.
    """

    phase: str
    kind: str
    index: int
    node: Node
    op: Op
    inputs: tuple[Node, ...]
    input_values: tuple[Any, ...]
    value: Any
    upstream: Any = None
    contributions: tuple[Any, ...] = ()
    targets: tuple[Node, ...] = ()
    source: Node | None = None
    previous: Any = None
    contribution: Any = None
    total: Any = None
    tangent: Any = None
    input_tangents: tuple[Any, ...] = ()
    trace: Trace | None = field(default=None, repr=False)

    @property
    def local(self) -> tuple[F.Local | None, ...]:
        """Local derivative per input (None where no gradient flows)."""
        if self.kind == "accumulate":
            return ()
        cached = self.__dict__.get("_loc")
        if cached is None:
            cached = self.__dict__["_loc"] = F.local_formulas(self.node)
        return cached

    @property
    def local_value(self) -> tuple[Any, ...]:
        """Numeric local derivative per input where it is a scalar or a diagonal."""
        if self.kind == "accumulate" or self.op.leaf:
            return ()
        cached = self.__dict__.get("_lv")
        if cached is None:
            cached = self.__dict__["_lv"] = step_local_values(self)
        return cached

    @property
    def number(self) -> int:
        """The 1-based step number shown everywhere (``step 4 of 7``)."""
        return self.index + 1

    @property
    def grad(self) -> Any:
        """The gradient this step is about: upstream (vjp) or the new total (accumulate)."""
        return self.total if self.kind == "accumulate" else self.upstream

    @property
    def formula(self) -> str:
        """The forward expression of the node (``"x + y"``)."""
        return self.node.name if self.op.leaf else F.node_expr(self.node)

    @property
    def text(self) -> str:
        """The narrative lines of this step (one per target in the backward phase)."""
        if self.kind == "vjp":
            return "\n".join(N.backward_lines(self))
        if self.kind == "accumulate":
            return N.accumulate_text(self)
        out = F.forward_text(self)
        if self.trace is not None and self.trace.mode == "forward":
            out += "\n" + N.tangent_text(self)
        return out

    @property
    def latex(self) -> str:
        """The step as one LaTeX line (no surrounding $)."""
        if self.kind == "vjp":
            return N.backward_latex(self)
        name = F.latex_name(self.node.name)
        if self.kind == "accumulate":
            return N.accumulate_latex(self)
        if self.op.leaf:
            return f"{name} = {F.latex_value(self.value)}"
        return f"{name} = {F.node_latex(self.node)} = {F.latex_value(self.value)}"

    def __str__(self) -> str:
        return N.step_text(self)

    def __repr__(self) -> str:
        return (f"<Step {self.number} {self.phase}/{self.kind} {self.node.name} "
                f"{fmt_shape(tuple(np.shape(self.value)))}>")


class Trace:
    """The recorded steps of one run (a sequence: ``len``, indexing, iteration).

    ``graph`` and ``run`` give the graph and the :class:`Run`; ``loss`` the node whose
    gradient was traced; ``mode`` is "reverse" or "forward".
    """

    def __init__(self, graph: Graph, run: Run, steps: list[Step], mode: str = "reverse",
                 loss: Node | None = None, tangents: dict[int, Any] | None = None) -> None:
        self.graph = graph
        self.run = run
        self.steps = steps
        self.mode = mode
        self.loss = loss
        self.tangents = tangents or {}
        self._arrivals: dict[int, int] = {}
        self._state_cache: tuple[int, dict[int, Any], dict[int, Any]] | None = None
        self._fan_in: dict[int, N.FanIn] | None = None
        self.first_vjp: Step | None = next((s for s in steps if s.kind == "vjp"), None)
        for s in steps:
            s.trace = self
            if s.kind == "vjp":
                for t in s.targets:
                    self._arrivals[t.id] = self._arrivals.get(t.id, 0) + 1

    # -- sequence protocol --------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: Any) -> Any:
        return self.steps[i]

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def replay(self) -> Iterator[Step]:
        """Yield the steps again, in order (a fresh generator each call)."""
        yield from self.steps

    @property
    def forward(self) -> list[Step]:
        return [s for s in self.steps if s.phase == "forward"]

    @property
    def backward(self) -> list[Step]:
        return [s for s in self.steps if s.phase == "backward"]

    def partial(self, node: Node) -> bool:
        """True when ``node`` receives gradient contributions from several consumers."""
        return self._arrivals.get(node.id, 0) > 1

    def fan_in(self, step: Step) -> list[tuple[str, Any]]:
        """The (consumer, contribution) terms summed so far at accumulate ``step``."""
        if self._fan_in is None:
            self._fan_in = N.fan_in_index(self.steps)
        at, terms, sums = self._fan_in.get(step.node.id, ([], [], []))
        return terms[: bisect_right(at, step.index)][: bisect_right(sums, step.index) + 1]

    def steps_of(self, node: str | Node) -> list[Step]:
        n = self.graph.node(node)
        return [s for s in self.steps if s.node is n]

    def state_at(self, i: int) -> tuple[dict[int, Any], dict[int, Any]]:
        """(values, gradients) known after step ``i``, keyed by node id.

        In the backward phase the gradients include the loss's seed from the first
        vjp step on; a fan-out target shows its earlier partial sum until the
        accumulate step that follows the contributing vjp. In a forward-mode trace the
        second dict holds the tangents.

        >>> import graphnn as gn
        >>> with gn.Graph() as g:
        ...     x = gn.input("x"); y = gn.exp(x).named("y")
        >>> t = gn.trace(g, {"x": 0.0})
        >>> [len(d) for d in t.state_at(0)], [len(d) for d in t.state_at(-1)]
        ([1, 0], [2, 2])
        """
        n = len(self.steps)
        if not -n <= i < n:
            raise IndexError(f"step {i} out of range for a trace of {n} steps")
        i %= n
        start, values, grads = 0, {}, {}
        last = self._state_cache
        if last is not None and last[0] <= i:  # players step forward: resume from there
            start, values, grads = last[0] + 1, dict(last[1]), dict(last[2])
        for s in self.steps[start: i + 1]:
            if s.kind == "eval":
                values[s.node.id] = s.value
                if self.mode == "forward" and s.tangent is not None:
                    grads[s.node.id] = s.tangent
            elif s.kind == "vjp":
                grads.setdefault(s.node.id, s.upstream)
                for t, c in zip(s.inputs, s.contributions):
                    if c is not None and t.id not in grads:
                        grads[t.id] = c
            else:
                grads[s.node.id] = s.total
        self._state_cache = (i, dict(values), dict(grads))
        return values, grads

    # -- text ------------------------------------------------------------------------
    def to_table(self) -> str:
        """The whole trace as a plain-text table (one row per step)."""
        return F.to_table(self)

    def to_markdown(self) -> str:
        """The trace as a Markdown table (for lecture notes)."""
        return F.to_markdown(self)

    def to_latex(self) -> str:
        """The trace as a LaTeX ``tabular``."""
        return F.to_latex(self)

    def __str__(self) -> str:
        return self.to_table()

    def __repr__(self) -> str:
        return (f"<Trace of {self.graph.name!r} ({self.mode}): {len(self.forward)} forward, "
                f"{len(self.backward)} backward steps>")

    # -- rendering (delegated to graphnn.viz.player) ------------------------------------
    def _player(self) -> Any:
        try:
            from graphnn.viz import player
        except ImportError as e:
            raise GraphError("rendering is unavailable: graphnn.viz.player could not be "
                             f"imported ({e}); the text views (to_table, to_markdown, "
                             "to_latex) still work") from None
        return player

    def save(self, path: str, **options: Any) -> Any:
        """Write the step-through as an HTML player or an animated GIF (by suffix);
        ``options``: see :func:`graphnn.viz.player.save`."""
        return self._player().save(self, path, **options)

    def save_frames(self, folder: str, **options: Any) -> Any:
        """Write one numbered SVG per step into ``folder`` (``format="png"`` for PNG)."""
        return self._player().save_frames(self, folder, **options)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        try:
            player = self._player()
        except GraphError:
            return {"text/plain": self.to_table(), "text/markdown": self.to_markdown()}
        return player.mimebundle(self)


class _Recorder:
    def __init__(self, mode: str, tangents: dict[int, Any]) -> None:
        self.steps: list[Step] = []
        self.values: dict[int, Any] = {}
        self.pending: list[Step] = []
        self.mode = mode
        self.tangents = tangents

    def _step(self, phase: str, kind: str, node: Node, **kw: Any) -> Step:
        ins = tuple(self.values.get(i.id) for i in node.inputs)
        return Step(phase, kind, len(self.steps), node, node.op, tuple(node.inputs), ins,
                    self.values.get(node.id), **kw)

    def on_forward(self, node: Node, value: Any, input_values: Any) -> None:
        self.values[node.id] = value
        kw: dict[str, Any] = {}
        if self.mode == "forward":
            if not node.op.leaf:
                propagate([node], lambda n: self.values[n.id], self.tangents)
            kw["tangent"] = self.tangents.get(node.id)
            kw["input_tangents"] = tuple(self.tangents.get(i.id) for i in node.inputs)
        self.steps.append(self._step("forward", "eval", node, **kw))

    def on_accumulate(self, target: Node, source: Node, previous: Any, contribution: Any,
                      total: Any) -> None:
        self.pending.append(Step("backward", "accumulate", -1, target, target.op, (), (),
                                 self.values.get(target.id), source=source, previous=previous,
                                 contribution=contribution, total=total))

    def on_backward(self, node: Node, upstream: Any, contributions: Any) -> None:
        cs = tuple(contributions)
        targets = tuple(i for i, c in zip(node.inputs, cs) if c is not None)
        self.steps.append(self._step("backward", "vjp", node, upstream=upstream,
                                     contributions=cs, targets=targets))
        for s in self.pending:
            s.index = len(self.steps)
            self.steps.append(s)
        self.pending = []


def _default_wrt(graph: Graph, loss: Node) -> list[Node]:
    anc = ancestors([loss])
    return [n for n in graph.nodes if anc[n.id] and n.role in ("input", "param")
            and n.dtype.kind == "f"]


def trace(graph: Graph, feeds: Mapping[str | Node, Any] | None = None, *, wrt: Any = None,
          outputs: Any = None, loss: str | Node | None = None, seed: Any = None,
          mode: str = "reverse", tangents: Mapping[str | Node, Any] | None = None,
          device: str = "cpu") -> Trace:
    """Run ``graph`` node by node and record every step.

    Args:
        feeds: input values, as for ``gn.run``.
        wrt: nodes to differentiate with respect to. Default: every float input and
            param the loss depends on (when the loss is a scalar or ``seed`` is given);
            ``wrt=[]`` traces the forward pass only.
        outputs, loss, seed: as for ``gn.run``.
        mode: "reverse" (forward pass, then backprop) or "forward" (values and tangents
            side by side; give ``tangents``: input name -> direction).
        device: as for ``gn.run``; with "cuda" the ops run on the GPU and the steps and
            the trace's run hold NumPy copies (for display).

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x"); f = (x * x + x).named("f")
    >>> t = gn.trace(g, {"x": 3.0})
    >>> [s.kind for s in t.backward]
    ['vjp', 'vjp', 'accumulate', 'accumulate']
    >>> float(t.run.grad(x))
    7.0
    """
    if mode not in ("reverse", "forward"):
        raise GraphError(f"trace: mode must be 'reverse' or 'forward', got {mode!r}")
    outs = [graph.node(o) for o in ([outputs] if isinstance(outputs, (str, Node)) else
                                    (outputs or []))] or graph.default_outputs()
    loss_node = graph.node(loss) if loss is not None else (outs[0] if len(outs) == 1 else None)
    tan: dict[int, Any] = {}
    if mode == "forward":
        if not tangents:
            raise GradError("trace(mode='forward') needs tangents= (input name -> direction)")
        for k, v in tangents.items():
            n = graph.node(k)
            arr = np.asarray(v, dtype=n.dtype)
            if arr.shape != n.shape:
                raise GradError(f"tangent for {describe(n)} has shape {fmt_shape(arr.shape)}",
                                node=n)
            tan[n.id] = arr
        wrt_nodes: Any = None
    elif wrt is None:
        can = loss_node is not None and (loss_node.shape == () or seed is not None)
        wrt_nodes = _default_wrt(graph, loss_node) if can and loss_node is not None else None
    else:
        wrt_nodes = wrt
    rec = _Recorder(mode, tan)
    hooks = [rec.on_forward, rec.on_backward, rec.on_accumulate]
    if device != "cpu":
        hooks = [_on_host(h) for h in hooks]
    with paused_gc():
        r = run(graph, feeds, wrt=wrt_nodes or None, outputs=outs,
                loss=loss_node if wrt_nodes else None, seed=seed, on_forward=hooks[0],
                on_backward=hooks[1], on_accumulate=hooks[2], device=device).to_host()
    return Trace(graph, r, rec.steps, mode, r.loss if wrt_nodes else loss_node, tan)


def _on_host(hook: Any) -> Any:
    """``hook`` called with NumPy copies of its (device) array arguments."""
    def host(v: Any) -> Any:
        return type(v)(host(x) for x in v) if isinstance(v, (list, tuple)) else to_host(v)

    return lambda *args: hook(*[host(a) for a in args])


def trace_forward(graph: Graph, feeds: Mapping[str | Node, Any] | None,
                  tangents: Mapping[str | Node, Any], outputs: Any = None) -> Trace:
    """Forward-mode trace: ``gn.trace(graph, feeds, mode="forward", tangents=...)``.

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x"); y = (3.0 * x * x).named("y")
    >>> t = gn.trace_forward(g, {"x": 2.0}, {"x": 1.0})
    >>> float(t[-1].value), float(t[-1].tangent)
    (12.0, 12.0)
    """
    return trace(graph, feeds, outputs=outputs, mode="forward", tangents=tangents)
