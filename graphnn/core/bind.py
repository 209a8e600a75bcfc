"""``bind``: the one way op nodes are made (and, on plain arrays, how ops compute).

>>> import numpy as np, graphnn as gn
>>> bind(gn.REGISTRY["exp"], np.array(0.0))
np.float64(1.0)
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import numpy as np

from graphnn.core import ir
from graphnn.core.context import graph_stack, user_location
from graphnn.core.device import array_module
from graphnn.core.errors import GraphMismatchError, ParamError, ShapeError, describe, fmt_shape
from graphnn.core.op import Op
from graphnn.core.shapes import elementwise, same


class Traced:
    """Marker base of values that rules can run on besides nodes and arrays: ``bind`` hands
    an op applied to any of them to the value's ``bind(op, args, params)`` method, which
    every subclass defines (teach/symval.py's sympy values use this to print an elementwise
    op's ``deriv`` as a formula). A plain class, not an ABC: ``isinstance`` against it runs
    for every argument on the interpreter's backward path."""

    __slots__ = ()


def _graph_of(args: tuple[Any, ...], op: Op) -> Any:
    graph = None
    first = None
    for a in args:
        if isinstance(a, Traced):
            return a
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
    The array module is the arguments' (``cupy`` for CuPy arrays, else ``numpy``).
    """
    graph = _graph_of(args, op)
    if graph is None:
        if not args and graph_stack():  # an op without inputs (zeros, arange...) in a graph
            shape, dtype = infer(op, (), params)
            return graph_stack()[-1].add_node(op, (), params, shape, dtype, name)
        # hot path of the numeric backward pass: no call while CuPy is not even loaded
        xp = np if "cupy" not in sys.modules else array_module(*args)
        return op.forward(xp, *args, **params)
    if isinstance(graph, Traced):  # e.g. sympy values: the rule's formula, not a node
        return graph.bind(op, args, params)
    Node = ir.Node
    for like in args:
        if isinstance(like, Node):
            break
    inputs = tuple([a if isinstance(a, Node) else graph.constant(a, like=like) for a in args])
    shape, dtype = infer(op, inputs, params)
    return graph.add_node(op, inputs, params, shape, dtype, name)


_SAME_SHAPE = (elementwise, same)


def infer(op: Op, inputs: tuple[ir.Node, ...], params: dict[str, Any]) -> tuple[
        tuple[int, ...], np.dtype]:
    """The shape and dtype ``op`` gives ``inputs`` with ``params`` (its check, shape and
    dtype rules); raises ParamError or ShapeError naming the inputs. ``bind`` uses it to
    make a node, ``passes.verify`` to re-derive an existing node's.

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     x = gn.input("x", shape=(2, 3))
    ...     infer(gn.REGISTRY["sum"], (x,), {"axis": 0, "keepdims": False})
    ((3,), dtype('float64'))
    """
    if op.shape in _SAME_SHAPE and op.check is None and op.dtype is None and inputs:
        # the common cases while building: an elementwise op over inputs of one dtype and
        # one shape, or a shape and a scalar, gives that shape and dtype (no rule to run)
        first = inputs[0]
        dt = first.dtype
        for i in inputs:
            if i.dtype != dt:
                break
        else:
            s0 = first.shape
            for i in inputs:
                if i.shape != s0:
                    break
            else:
                if dt.kind in "fc" or not op.elementwise:
                    return s0, dt
                return s0, computed_dtype(op, inputs, params, dt)
            if len(inputs) == 2 and op.shape is elementwise and dt.kind in "fc":
                s1 = inputs[1].shape
                if not s1:
                    return s0, dt
                if not s0:
                    return s1, dt
    shapes = [i.shape for i in inputs]
    try:
        if op.check is not None:
            op.check(*shapes, **params)
    except (ValueError, TypeError) as e:
        raise ParamError(_context(op, inputs, str(e)), node=inputs[0] if inputs else None) from None
    try:
        shape = tuple(map(int, op.shape(*shapes, **params)))
    except (ValueError, TypeError, IndexError) as e:
        raise ShapeError(_context(op, inputs, str(e)), node=inputs[0] if inputs else None) from None
    if op.dtype is not None:
        try:
            dtype = np.dtype(op.dtype(*[i.dtype for i in inputs], **params))
        except (ValueError, TypeError) as e:  # a dtype the op does not take
            raise ParamError(_context(op, inputs, str(e)),
                             node=inputs[0] if inputs else None) from None
    else:
        dt = inputs[0].dtype
        for i in inputs:
            if i.dtype != dt:
                dtype = np.result_type(*[i.dtype for i in inputs])
                break
        else:
            dtype = dt
        if inputs and any(i.dtype.kind not in "fc" for i in inputs) and (
                op.elementwise or (math.prod(shape) <= PROBE_MAX
                                   and all(i.size <= PROBE_IN for i in inputs))):
            dtype = computed_dtype(op, inputs, params, dtype)
    return shape, dtype


#: largest result and inputs (elements) of a non-elementwise op probed at its real shapes
#: (larger ones keep the rule's dtype)
PROBE_MAX, PROBE_IN = 1 << 16, 1 << 22


_COMPUTED: dict[Any, np.dtype] = {}


def computed_dtype(op: Op, inputs: tuple[ir.Node, ...], params: dict[str, Any],
                   declared: np.dtype) -> np.dtype:
    """The dtype an op without a dtype rule gives integer or bool inputs, as its forward
    computes it: exp, division, sigmoid... compute in floating point (NumPy's
    loops: int64 -> float64, int8 -> float16; ``relu`` of bool -> int64), so the node's
    dtype is the value's, and compiled code (CuPy kernels: C locals of the node's type)
    computes what the interpreter does. Probed once per (op, dtypes, params): an
    elementwise op on 0-d arrays, any other at its inputs' shapes on one-element views;
    ``declared`` (the inputs' common type) when the probe cannot run.

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     k = gn.input("k", shape=(3,), dtype="int64")
    ...     (gn.exp(k).dtype, (k / 2).dtype, (k + 1).dtype)
    (dtype('float64'), dtype('float64'), dtype('int64'))
    """
    dtypes = tuple(i.dtype for i in inputs)
    # elementwise ops on 0-d arrays; the others at their inputs' shapes (read-only views
    # of one element, so no input memory), their results being small (PROBE_MAX)
    shapes = tuple(() if op.elementwise else i.shape for i in inputs)
    try:
        key: Any = (op.name, dtypes, shapes, tuple(sorted(params.items())))
        hit = _COMPUTED.get(key)
    except TypeError:  # an unhashable param: probe every time
        key, hit = None, None
    if hit is not None:
        return hit
    got = declared
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # ones, empty shapes: the probe's, not the user's
            out = op.forward(np, *[np.broadcast_to(np.ones((), dt), sh)
                                   for dt, sh in zip(dtypes, shapes)], **params)
        if isinstance(out, (np.ndarray, np.generic)):
            got = np.dtype(out.dtype)
    except Exception:  # noqa: BLE001 - a forward that needs real values: keep the rule's
        got = declared
    if key is not None:
        _COMPUTED[key] = got
    return got


def _context(op: Op, inputs: tuple[ir.Node, ...], msg: str) -> str:
    lines = [f"{op.name}: {msg}"]
    for i, n in enumerate(inputs):
        lines.append(f"  input {i}: '{n.name}' shape {fmt_shape(n.shape)} created at {n.loc}")
    lines.append(f"  {op.name} called at {user_location()}")
    return "\n".join(lines)
