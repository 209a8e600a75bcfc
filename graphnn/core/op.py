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

import numpy as np

from graphnn.core import ir
from graphnn.core.errors import GraphMismatchError, ParamError, ShapeError, describe, fmt_shape

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


def _graph_of(args: tuple[Any, ...], op: Op) -> ir.Graph | None:
    graph = None
    first = None
    for a in args:
        if isinstance(a, ir.Node):
            if graph is None:
                graph, first = a.graph, a
            elif a.graph is not graph:
                raise GraphMismatchError(
                    f"{op.name}: inputs come from different graphs: {describe(first)} is in "
                    f"graph '{graph.name}', {describe(a)} is in graph '{a.graph.name}'",
                    node=a,
                )
    return graph


def bind(op: Op, *args: Any, name: str | None = None, **params: Any) -> Any:
    """Apply ``op`` to ``args``.

    With at least one Node among ``args`` this adds a node to that node's graph
    (Python and NumPy constants become const nodes) and returns it. With only arrays
    and numbers it runs ``op.forward`` eagerly and returns an array: this is how the
    same vjp/jvp rules serve both symbolic differentiation and the numeric interpreter.
    """
    graph = _graph_of(args, op)
    if graph is None:
        return op.forward(np, *args, **params)
    like = next(a for a in args if isinstance(a, ir.Node))
    inputs = tuple(a if isinstance(a, ir.Node) else graph.constant(a, like=like) for a in args)
    shapes = [i.shape for i in inputs]
    try:
        if op.check is not None:
            op.check(*shapes, **params)
    except (ValueError, TypeError) as e:
        raise ParamError(_context(op, inputs, str(e)), node=inputs[0] if inputs else None) from None
    try:
        shape = tuple(int(s) for s in op.shape(*shapes, **params))
    except (ValueError, TypeError, IndexError) as e:
        raise ShapeError(_context(op, inputs, str(e)), node=inputs[0] if inputs else None) from None
    if op.dtype is not None:
        dtype = np.dtype(op.dtype(*[i.dtype for i in inputs], **params))
    else:
        dt = inputs[0].dtype
        dtype = dt if all(i.dtype == dt for i in inputs) else np.result_type(
            *[i.dtype for i in inputs])
    return graph.add_node(op, inputs, params, shape, dtype, name)


def _context(op: Op, inputs: tuple[ir.Node, ...], msg: str) -> str:
    lines = [f"{op.name}: {msg}"]
    for i, n in enumerate(inputs):
        lines.append(f"  input {i}: '{n.name}' shape {fmt_shape(n.shape)} created at {n.loc}")
    lines.append(f"  {op.name} called at {ir.user_location()}")
    return "\n".join(lines)
