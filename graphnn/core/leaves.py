"""Leaf nodes: the ``input`` / ``param`` / ``const`` op records, the checks on their
shapes and values, and the DSL constructors ``gn.input``, ``gn.param``, ``gn.const`` that
add them to the active graph (``Graph.input`` / ``Graph.param`` / ``Graph.constant`` do
the work).

>>> import graphnn as gn
>>> with gn.Graph():
...     gn.const(2.0)
<Node const_1: const () float64>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from graphnn.core import op as _op
from graphnn.core.context import current_graph, user_location
from graphnn.core.errors import GraphError

if TYPE_CHECKING:  # pragma: no cover
    from graphnn.core.ir import Node

def _leaf_shape(*_: Any, shape: tuple[int, ...], **__: Any) -> tuple[int, ...]:
    return shape


def _no_forward(xp: Any, **params: Any) -> Any:  # leaves are filled by the interpreter
    if "value" in params:
        return params["value"]
    raise GraphError("leaf nodes get their value from feeds or the graph's parameter store")


_LEAF_REASON = _op.Unsupported("a leaf: its value comes from feeds, params or the constant")
_LEAF = {k: _LEAF_REASON for k in ("vjp", "jvp", "trace", "inplace", "numexpr", "cuda")}
_DOCS = {"input": "a placeholder fed at run time", "param": "a trainable parameter",
         "const": "a constant value"}
INPUT = _op.register(_op.Op(name="input", forward=_no_forward, shape=_leaf_shape, leaf=True,
                                   label="input", doc=_DOCS["input"], **_LEAF))
PARAM = _op.register(_op.Op(name="param", forward=_no_forward, shape=_leaf_shape, leaf=True,
                                   label="param", doc=_DOCS["param"], **_LEAF))
CONST = _op.register(_op.Op(name="const", forward=_no_forward, shape=_leaf_shape, leaf=True,
                                   label="const", doc=_DOCS["const"], **_LEAF))


def check_shape(shape: Any, name: str) -> tuple[int, ...]:
    """``shape`` of input ``name`` as a tuple of non-negative ints; a GraphError otherwise."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise GraphError(f"input {name!r}: shape must be a tuple of ints, got {shape!r} "
                         f"(at {user_location()})") from None
    if any(s < 0 for s in shape):
        raise GraphError(f"input {name!r}: negative dimension in shape {shape} "
                         f"(at {user_location()})")
    return shape


def as_float_array(value: Any, dtype: Any, name: str) -> np.ndarray:
    """The value of param ``name`` as a real array (integers become float64)."""
    try:
        arr = np.array(value, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise GraphError(f"param {name!r}: cannot convert value to an array: {e} "
                         f"(at {user_location()})") from None
    if arr.dtype.kind in "iub" and dtype is None:
        arr = arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise GraphError(f"param {name!r}: values must be real numbers, got dtype {arr.dtype} "
                         f"(at {user_location()})")
    return arr


# -- DSL leaf constructors (use the active graph) -----------------------------------
def input(name: str, shape: Sequence[int] = (), dtype: Any = "float64") -> Node:  # noqa: A001
    """A placeholder in the active graph, fed at run time.

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     gn.input("x", shape=(3,))
    <Node x: input (3,) float64>
    """
    return current_graph().input(name, shape, dtype)


def param(name: str, value: Any, dtype: Any = None) -> Node:
    """A trainable parameter in the active graph, holding ``value``."""
    return current_graph().param(name, value, dtype)


def const(value: Any, name: str | None = None, dtype: Any = None) -> Node:
    """A constant in the active graph."""
    return current_graph().constant(value, name=name, dtype=dtype)
