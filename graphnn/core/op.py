"""The Op record and the op registry.

An op is ONE keyword-only record holding every rule graphnn has for it: forward, shape and
dtype rules, derivatives, sympy formula, trace text, NumPy / in-place / numexpr / CUDA
code, ONNX export and import, rewrite rules, display label and doc line. Every part of
graphnn reads the record; no other module keeps a table keyed by op name.

Where a rule cannot exist, the record says so with :class:`Unsupported` and a reason. A
field left at its default means "derive it" (e.g. an elementwise op's CUDA C from its
sympy formula); tests/test_support_matrix.py checks that every op either has a working
rule for every capability or an explicit reason, and docs/ops.md shows the matrix.

For an elementwise op ONE derivative, ``deriv=``, gives the vjp, the jvp and the trace
text: ``deriv(out, *inputs, **attrs)`` returns the partial derivative with respect to each
input (written with operators and op functions, so it builds nodes from nodes, numbers
from arrays and sympy expressions from sympy values; ``None`` where there is none; a
zero-argument callable to build it only when needed).

>>> import numpy as np, graphnn as gn
>>> gn.REGISTRY["exp"].forward(np, np.array(0.0))
np.float64(1.0)
>>> gn.REGISTRY["exp"].vjp(np.array(2.0), np.array(3.0), np.array(1.0))  # g * exp(x)
(np.float64(6.0),)
>>> sorted(gn.REGISTRY)[:2]
['abs', 'acos']
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphnn.core.errors import did_you_mean

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Unsupported:
    """A rule that does not exist for an op, and why (``Unsupported("integer output")``)."""

    reason: str

    def __bool__(self) -> bool:
        return False


def supported(rule: Any) -> bool:
    """True for a rule that is there (not None, not :class:`Unsupported`)."""
    return rule is not None and not isinstance(rule, Unsupported)


@dataclass(frozen=True)
class TraceText:
    """A non-elementwise op's local derivative as the trace shows it: plain text with one
    rule per input separated by ``;`` (``dA = dY @ B^T; dB = A^T @ dY``) and LaTeX."""

    text: str
    latex: str


def tt(text: str, latex: str | None = None) -> TraceText:
    """Trace text from its plain form; the LaTeX is derived when not given
    (``^T`` -> transpose, `` @ `` -> juxtaposition, `` * `` -> Hadamard product).

    >>> print(tt("dA = dY @ B^T").latex)
    dA = dY B^{\\top}
    """
    if latex is None:
        latex = text.replace("^T", r"^{\top}").replace(" @ ", " ").replace(" * ", r" \odot ")
        latex = latex.replace("sum(", r"\textstyle\sum(")
    return TraceText(text, latex)


@dataclass(frozen=True)
class Onnx:
    """How an op crosses to ONNX. ``op_type``: the ONNX op it exports to one-to-one, with
    ``attrs(params) -> dict`` for its attributes; ``export(ex, node)``: a custom exporter
    (``ex`` offers ``emit``, ``const`` and ``fresh`` names) for ops that need several ONNX
    nodes; ``imports``: ONNX op type -> converter ``(im, onnx_node, inputs, attrs) ->
    outputs`` (None: call the op function on the inputs); ``tested``: a reason when
    ONNX Runtime cannot check the export numerically."""

    op_type: str | None = None
    attrs: Callable[[Any], dict[str, Any]] | None = None
    export: Callable[[Any, Any], None] | None = None
    imports: dict[str, Callable[..., Any] | None] | Unsupported | None = None


@dataclass(frozen=True)
class Batched:
    """How an op's derivative rules act on tangents / cotangents that carry a leading batch
    axis (batched Jacobians push many basis vectors through one sweep; arrays only).

    ``attrs(ndim, **attrs) -> attrs``: the op's own vjp and jvp rules work on a batch when
    given primals broadcast to it and these attributes (``ndim``: the first input's rank
    without the batch; axes shifted by one...). ``jvp(tangents, out, *inputs, **attrs)``
    and ``vjp(g, out, *inputs, **attrs)``: explicit batched rules taking the unbatched
    primals. Elementwise ops need neither: their rules broadcast over a leading axis.
    ``basis(k, seed, out, *inputs, **attrs)``: the batched jvp when input ``k``'s tangent
    is a forward sweep's seed (``graphnn.ops.batching.Basis``: rows of the identity) and
    the other inputs have none, without multiplying by the identity; None where it does
    not apply (the seed is then made an array and ``jvp`` runs).
    """

    attrs: Callable[..., dict[str, Any]] | None = None
    jvp: Callable[..., Any] | None = None
    vjp: Callable[..., tuple[Any, ...]] | None = None
    basis: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Gpu:
    """An op's own CuPy code (custom kernels), used for CuPy arrays in place of the
    NumPy code that otherwise runs with ``xp = cupy``. ``forward(xp, *arrays, **attrs)``:
    what the interpreter runs (the op's ``forward`` hands CuPy arrays to it); ``call``: its
    expression template in generated CuPy modules (the placeholders of ``numpy``);
    ``helpers``: the functions ``call`` needs, copied into the module.

    >>> import numpy as np, graphnn as gn
    >>> def twice_gpu(xp, a):  # one CUDA kernel
    ...     return xp.ElementwiseKernel("T a", "T y", "y = a + a", "twice")(a)
    >>> op = gn.Op(name="twice", forward=lambda xp, a: a * 2, shape=lambda s: s,
    ...            numpy="{0} * 2", gpu=gn.Gpu(forward=twice_gpu, call="twice_gpu(xp, {0})",
    ...                                        helpers=(twice_gpu,)))
    >>> op.forward(np, np.arange(3))  # NumPy arrays: the NumPy forward
    array([0, 2, 4])
    """

    forward: Callable[..., Any]
    call: str
    helpers: tuple[Callable[..., Any], ...] = ()


@dataclass(frozen=True, eq=False, kw_only=True)
class Op:
    """Everything graphnn knows about one operation (keyword-only; see the module doc).

    Core rules: ``name``; ``forward(xp, *arrays, **attrs)`` (``xp`` is numpy or cupy);
    ``shape(*input_shapes, **attrs)`` raising ValueError when shapes do not fit;
    ``dtype(*input_dtypes, **attrs)`` (default: result_type; for an elementwise op over
    integer or bool inputs, the dtype its forward computes: ``bind.computed_dtype``);
    ``check(*shapes, **attrs)`` validating static attributes; ``elementwise``
    (broadcasting, fusable); ``leaf``.

    Derivatives: ``deriv`` (elementwise: partials, generates vjp/jvp/trace text); ``vjp(g,
    out, *inputs, **attrs)`` -> one cotangent per input (None, or a zero-argument callable
    built only when needed); ``jvp(tangents, out, *inputs, **attrs)``; ``nondiff`` (input
    indices that never carry a gradient); ``trace`` (:class:`TraceText`, non-elementwise);
    ``batched`` (:class:`Batched`): the rules on a leading batch axis (None for a
    non-elementwise op: batched Jacobians run its rules slice by slice).

    Symbolic: ``sympy`` - elementwise: ``(sp, *scalars, **attrs) -> Expr``; other ops:
    ``(sp, *object_arrays, **attrs) -> object array``; None: the forward runs on object
    arrays of sympy values. ``parse_names``: extra names the expression parser accepts.

    Code: ``numpy`` expression template (``"xp.exp({0})"``, attributes as ``{name}``,
    ``{out_dtype}``); ``inplace``: steps writing into ``{out}``; ``numexpr`` expression;
    ``cuda`` C expression; ``helpers``: functions the generated module needs; ``fresh``:
    the result is new memory (never a view of an input); ``numpy_out``: the ``numpy`` call
    taking a buffer ``{out}`` (the node's shape and dtype) to write the result into (it
    may ignore one it cannot use; the emitter binds the node to what the call returns);
    ``gpu`` (:class:`Gpu`): the op's own CuPy kernels, for CuPy arrays and CuPy modules.

    Other: ``onnx`` (:class:`Onnx`); ``simplify``: rewrite rules ``(ctx, node,
    inputs) -> replacement | None``; ``latex``: the forward formula in LaTeX (for
    non-elementwise ops; elementwise ones print their sympy formula); ``pure`` (False for
    random ops: never merged or folded); ``value_range=(lo, hi)``: every non-NaN output lies
    in [lo, hi] (lo == 0 also promises no -0.0), facts the guarded rewrites use;
    ``moves_data``: outputs are input elements rearranged (reshape, transpose...);
    ``cost(*shapes, out_shape, **attrs)`` multiply-adds; ``label``; ``doc``.
    """

    name: str
    forward: Callable[..., Any]
    shape: Callable[..., Shape]
    dtype: Callable[..., Any] | None = None
    check: Callable[..., None] | None = None
    elementwise: bool = False
    leaf: bool = False
    deriv: Callable[..., tuple[Any, ...]] | None = None
    vjp: Callable[..., tuple[Any, ...]] | Unsupported | None = None
    jvp: Callable[..., Any] | Unsupported | None = None
    nondiff: tuple[int, ...] = ()
    batched: Batched | Unsupported | None = None
    trace: TraceText | Unsupported | None = None
    sympy: Callable[..., Any] | Unsupported | None = None
    parse_names: tuple[str, ...] = ()
    numpy: str | None = None
    numpy_out: str | None = None
    inplace: tuple[str, ...] | Unsupported | None = None
    numexpr: str | Unsupported | None = None
    cuda: str | Unsupported | None = None
    helpers: tuple[Callable[..., Any], ...] = ()
    gpu: Gpu | None = None
    fresh: bool = False
    onnx: Onnx | Unsupported | None = None
    simplify: tuple[Callable[..., Any], ...] = ()
    pure: bool = True
    value_range: tuple[float, float] | None = None
    moves_data: bool = False
    cost: Callable[..., int] | None = None
    label: str | None = None
    latex: str | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        if self.deriv is not None:
            if not self.elementwise:
                raise ValueError(f"op {self.name!r}: deriv= is for elementwise ops")
            if self.vjp is None:
                object.__setattr__(self, "vjp", _vjp_from(self.deriv))
            if self.jvp is None:
                object.__setattr__(self, "jvp", _jvp_from(self.deriv))
        if self.gpu is not None:
            object.__setattr__(self, "forward", _by_device(self.forward, self.gpu.forward))

    @property
    def display(self) -> str:
        """The label the renderer and printers show."""
        return self.label or self.name

    @property
    def differentiable(self) -> bool:
        return supported(self.vjp)

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


_FN = type(lambda: None)


def _by_device(cpu: Callable[..., Any], gpu: Callable[..., Any]) -> Callable[..., Any]:
    """A forward that runs ``cpu`` for NumPy and ``gpu`` for any other array module."""
    @functools.wraps(cpu)  # the NumPy function's name, module and doc
    def forward(xp: Any, *arrays: Any, **attrs: Any) -> Any:
        return (cpu if xp.__name__ == "numpy" else gpu)(xp, *arrays, **attrs)
    return forward


def force(d: Any) -> Any:
    """A partial derivative that may be given lazily as a zero-argument function."""
    return d() if type(d) is _FN else d


def _vjp_from(deriv: Callable[..., tuple[Any, ...]]) -> Callable[..., tuple[Any, ...]]:
    def vjp(g: Any, out: Any, *inputs: Any, **attrs: Any) -> tuple[Any, ...]:
        parts = deriv(out, *inputs, **attrs)
        if len(parts) == 1:  # a unary op is only asked when its input needs the gradient
            d = parts[0]
            if d is None:
                return (None,)
            if type(d) is _FN:
                d = d()
            t = type(d)
            return (_times(g, d) if t is int or t is float else g * d,)
        # several inputs: zero-argument callables, so autodiff builds only what it needs
        cts: list[Any] = []
        for d in parts:
            t = type(d)
            if d is None:
                cts.append(None)
            elif t is _FN:
                cts.append(lambda d=d: _times(g, d()))
            elif t is int or t is float:
                cts.append(g if d == 1 else (lambda d=d: _times(g, d)))
            else:
                cts.append(lambda d=d: g * d)
        return tuple(cts)
    return vjp


def _jvp_from(deriv: Callable[..., tuple[Any, ...]]) -> Callable[..., Any]:
    def jvp(tangents: Any, out: Any, *inputs: Any, **attrs: Any) -> Any:
        parts = deriv(out, *inputs, **attrs)
        total = None
        for t, d in zip(tangents, parts):
            if t is None or d is None:
                continue
            term = _times(t, force(d))
            total = term if total is None else total + term
        return total
    return jvp


def _times(g: Any, d: Any) -> Any:
    """``g * d`` without building a multiplication by a literal 1 or -1 of a ``deriv``."""
    t = type(d)
    if t is int or t is float:
        if d == 1:
            return g
        if d == -1:
            return -g
    return g * d


REGISTRY: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to the registry (names are unique) and return it."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is already registered")
    REGISTRY[op.name] = op
    return op


def unregister(name: str) -> None:
    """Remove an op (tests register throwaway ops and take them out again)."""
    op = REGISTRY.pop(name)
    if FUNCTIONS.get(name) is not None and getattr(FUNCTIONS[name], "__op__", None) is op:
        del FUNCTIONS[name]


def get_op(name: str) -> Op:
    """Look up a registered op by name, with a clear error for unknown names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}{did_you_mean(name, REGISTRY)}; known ops: "
                       f"{', '.join(sorted(REGISTRY))}") from None


# Public op functions by name (``"add" -> graphnn.ops.add``), filled by graphnn.ops as
# it is imported. Node operators (``x + y``, ``x @ w``, ``x.sum()``) and the expression
# parser reach the ops through it, so core never imports the op library above it.
FUNCTIONS: dict[str, Callable[..., Any]] = {}

# Adapters that layers above core provide for Graph/Run methods (``"save"``,
# ``"to_dot"``, ``"repr_mimebundle"``), filled when those packages are imported.
ADAPTERS: dict[str, Callable[..., Any]] = {}


def adapter(name: str) -> Callable[..., Any]:
    """The adapter registered under ``name`` (``import graphnn`` registers them all)."""
    try:
        return ADAPTERS[name]
    except KeyError:
        raise RuntimeError(f"graphnn: no {name!r} adapter registered; `import graphnn` "
                           "loads every package") from None
