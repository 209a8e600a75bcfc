"""The Op record, the op registry, and ``bind`` (the one way nodes get made).

An op is ONE record holding all of its rules: forward implementation, shape rule,
vjp and jvp (which build graph nodes when given nodes, numbers when given arrays),
sympy formula, codegen template and display label.

>>> import numpy as np, graphnn as gn
>>> gn.REGISTRY["exp"].forward(np, np.array(0.0))
np.float64(1.0)
>>> sorted(gn.REGISTRY)[:2]
['abs', 'add']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Op:
    """Everything graphnn knows about one operation.

    Attributes:
        name: registry key and the DSL function name (``"exp"``).
        forward: ``(xp, *arrays, **params) -> array``; ``xp`` is numpy or cupy.
        shape: ``(*input_shapes, **params) -> output shape``; raises ValueError with a
            plain message when shapes do not fit (bind adds the nodes and locations).
        vjp: ``(g, out, *inputs, **params) -> tuple`` with one cotangent per input
            (``None`` where there is none, or a zero-argument callable that builds it
            only when autodiff needs that input's gradient). Written with operators and graphnn op
            functions, so it builds nodes when given nodes and numbers when given arrays.
            Cotangents may have a broadcast shape; autodiff sums them back centrally.
        jvp: ``(tangents, out, *inputs, **params) -> tangent of out``; ``tangents`` has
            one entry per input, ``None`` for a zero tangent.
        formula: sympy rule ``(sp, *symbols, **params) -> Expr`` for elementwise ops
            (``sp`` is the sympy module, imported only when a formula is asked for).
        template: codegen expression, e.g. ``"xp.exp({0})"``; params as ``{name}``.
        label: short display text (``"+"``, ``"exp"``, ``"@"``).
        dtype: optional ``(*input_dtypes, **params) -> dtype``; default result_type.
        check: optional ``(*input_shapes, **params) -> None`` raising ValueError for
            invalid static parameters.
        elementwise: True for broadcasting elementwise ops (fusable; sympy-derived).
        derivative: text of the local derivative for non-elementwise ops
            (``"dA = dY @ B^T;  dB = A^T @ dY"``), shown by the trace.
        nondiff: indices of inputs that never carry a gradient (integer targets...).
        cost: optional ``(*input_shapes, out_shape, **params) -> multiply-adds``.
    """

    name: str
    forward: Callable[..., Any]
    shape: Callable[..., Shape]
    vjp: Callable[..., tuple[Any, ...]] | None = None
    jvp: Callable[..., Any] | None = None
    formula: Callable[..., Any] | None = None
    template: str | None = None
    label: str | None = None
    dtype: Callable[..., Any] | None = None
    check: Callable[..., None] | None = None
    elementwise: bool = False
    derivative: str | None = None
    nondiff: tuple[int, ...] = ()
    cost: Callable[..., int] | None = None
    leaf: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def display(self) -> str:
        """The label the renderer and printers show."""
        return self.label or self.name

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


REGISTRY: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to the registry (names are unique) and return it."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is already registered")
    REGISTRY[op.name] = op
    return op


def get_op(name: str) -> Op:
    """Look up a registered op by name, with a clear error for unknown names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; known ops: {', '.join(sorted(REGISTRY))}") from None


# Public op functions by name (``"add" -> graphnn.ops.add``), filled by graphnn.ops as
# it is imported. Node operators (``x + y``, ``x @ w``, ``x.sum()``) reach the ops through
# it, so core never imports the op library above it.
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
