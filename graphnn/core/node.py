"""``Node``: one immutable op node (its graph keeps it in topological order; see ir.py).

Operators on nodes (``+ - * / // % ** @``, unary ``-``, ``< <= > >=``, ``& | ^ ~``,
``x[...]``, ``.T``, ``.reshape``, ``.sum``, ``.mean``, ``.to(dtype)``) build nodes
through the public op functions (``core.op.FUNCTIONS``).

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(2,))
...     y = (x * 2.0).named("y")
>>> y, y.inputs[0] is x
(<Node y: mul (2,) float64>, True)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from graphnn.core import op as _op
from graphnn.core.context import fmt_loc
from graphnn.core.errors import GraphError, describe, fmt_shape

if TYPE_CHECKING:  # pragma: no cover
    from graphnn.core.ir import Graph


class _Fields:
    """The slots of a Node (shared by :class:`Node` and its builder ``_NewNode``)."""

    __slots__ = ("graph", "id", "op", "inputs", "params", "shape", "dtype", "role", "group",
                 "_loc")


class Node(_Fields):
    """One immutable op node. Build nodes with the DSL (operators and ``gn.*`` ops).

    Attributes: ``graph``, ``id`` (position in the graph), ``op`` (an Op record),
    ``inputs`` (tuple of Nodes), ``params`` (read-only mapping of static parameters),
    ``shape``, ``dtype``, ``role`` (input, param, const, op or grad), ``group`` (the
    nn layer path it was made in, or ""), ``loc`` (the user's ``file:line``).
    """

    __slots__ = ()
    __array_priority__ = 1000  # numpy scalars/arrays on the left defer to our operators

    def __new__(cls, graph: Graph, id: int, op: _op.Op, inputs: tuple[Node, ...],
                params: Mapping[str, Any], shape: tuple[int, ...], dtype: np.dtype,
                role: str, group: str, loc: tuple[str, int]) -> Node:
        return _NewNode(graph, id, op, inputs, params, shape, dtype, role, group, loc)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"graphnn nodes are immutable (tried to set {key!r})")

    # -- identity and description -------------------------------------------------
    @property
    def name(self) -> str:
        """The node's unique name in its graph."""
        return self.graph._names[self.id]

    @property
    def loc(self) -> str:
        """Where the user created this node, as ``file:line``."""
        return fmt_loc(self._loc)

    @property
    def origin(self) -> tuple[str, tuple[str, int]]:
        """``(group, (file, line))``: what ``Graph.origin`` takes to give a new node the
        same provenance."""
        return self.group, self._loc

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # exact Python ints, no NumPy reduction per call

    def named(self, name: str) -> Node:
        """Give this node a (unique) display name and return it: ``(x + y).named("d")``."""
        self.graph.rename(self, name)
        return self

    def __repr__(self) -> str:
        return f"<Node {self.name}: {self.op.name} {fmt_shape(self.shape)} {self.dtype}>"

    def __bool__(self) -> bool:
        raise GraphError(
            f"the truth value of node {describe(self)} is not known while building the graph; "
            "use gn.maximum / gn.minimum / gn.relu instead of Python if/and/or"
        )

    __hash__ = object.__hash__

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.exp(node)`` builds the graphnn op whose record runs that ufunc (found from
        the records' in-place forms); anything else is a one-line error naming gn.*."""
        op_name = ufunc_ops().get(ufunc.__name__)
        if method == "__call__" and not kwargs and op_name in _op.FUNCTIONS:
            return _op.FUNCTIONS[op_name](*inputs)
        hint = f"use gn.{op_name}" if op_name else "no graphnn op computes it"
        raise GraphError(f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method}"
                         f"{' with ' + ', '.join(kwargs) if kwargs else ''} cannot take graph "
                         f"nodes ({describe(self)}); {hint}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        hint = f"use gn.{name}" if name in _op.FUNCTIONS else "build it from gn.* ops"
        raise GraphError(f"numpy.{name} cannot take graph nodes ({describe(self)}); {hint}")

    # -- operators build nodes ----------------------------------------------------
    def __add__(self, o: Any) -> Node:
        return _call("add", self, o)

    def __radd__(self, o: Any) -> Node:
        return _call("add", o, self)

    def __sub__(self, o: Any) -> Node:
        return _call("sub", self, o)

    def __rsub__(self, o: Any) -> Node:
        return _call("sub", o, self)

    def __mul__(self, o: Any) -> Node:
        return _call("mul", self, o)

    def __rmul__(self, o: Any) -> Node:
        return _call("mul", o, self)

    def __truediv__(self, o: Any) -> Node:
        return _call("div", self, o)

    def __rtruediv__(self, o: Any) -> Node:
        return _call("div", o, self)

    def __floordiv__(self, o: Any) -> Node:
        return _call("floor_divide", self, o)

    def __rfloordiv__(self, o: Any) -> Node:
        return _call("floor_divide", o, self)

    def __mod__(self, o: Any) -> Node:
        return _call("remainder", self, o)

    def __rmod__(self, o: Any) -> Node:
        return _call("remainder", o, self)

    def __and__(self, o: Any) -> Node:
        return _call("bitwise_and", self, o)

    def __rand__(self, o: Any) -> Node:
        return _call("bitwise_and", o, self)

    def __or__(self, o: Any) -> Node:
        return _call("bitwise_or", self, o)

    def __ror__(self, o: Any) -> Node:
        return _call("bitwise_or", o, self)

    def __xor__(self, o: Any) -> Node:
        return _call("bitwise_xor", self, o)

    def __rxor__(self, o: Any) -> Node:
        return _call("bitwise_xor", o, self)

    def __invert__(self) -> Node:
        return _call("bitwise_not", self)

    def to(self, dtype: Any) -> Node:
        """This node converted to ``dtype`` (``gn.cast``; PyTorch's ``Tensor.to``)."""
        return _call("cast", self, dtype)

    def __pow__(self, o: Any) -> Node:
        return _call("pow", self, o)

    def __rpow__(self, o: Any) -> Node:
        return _call("pow", o, self)

    def __matmul__(self, o: Any) -> Node:
        return _call("matmul", self, o)

    def __rmatmul__(self, o: Any) -> Node:
        return _call("matmul", o, self)

    def __neg__(self) -> Node:
        return _call("neg", self)

    def __pos__(self) -> Node:
        return self

    # comparisons build bool nodes; ``==`` / ``!=`` stay identity (nodes are dict keys and
    # set members, and list membership calls ``==``): use gn.eq / gn.ne
    def __lt__(self, o: Any) -> Node:
        return _call("lt", self, o)

    def __le__(self, o: Any) -> Node:
        return _call("le", self, o)

    def __gt__(self, o: Any) -> Node:
        return _call("gt", self, o)

    def __ge__(self, o: Any) -> Node:
        return _call("ge", self, o)

    def __getitem__(self, index: Any) -> Node:
        """``x[index]`` (``gn.getitem``): ints, slices, None, ..., integer arrays, masks."""
        return _call("getitem", self, index)

    @property
    def T(self) -> Node:
        """Reverse the axes (``gn.transpose``)."""
        return _call("transpose", self)

    def reshape(self, *shape: Any) -> Node:
        """``gn.reshape(self, shape)``; accepts ``reshape(2, 3)`` or ``reshape((2, 3))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _call("reshape", self, shape=tuple(shape))

    def sum(self, axis: Any = None, keepdims: bool = False) -> Node:
        return _call("sum", self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Node:
        return _call("mean", self, axis=axis, keepdims=keepdims)


def _call(opname: str, *args: Any, **params: Any) -> Any:
    return _op.FUNCTIONS[opname](*args, **params)  # the public op functions (graphnn.ops)


_UFUNCS: dict[str, str] = {}
_SEEN = [0]


def ufunc_ops() -> dict[str, str]:
    """NumPy ufunc name -> op name, read from the records whose in-place form is one ufunc
    call (``xp.exp({0}, out={out})`` -> ``"exp": "exp"``; ``absolute`` -> ``abs``)."""
    if _SEEN[0] != len(_op.REGISTRY):
        _UFUNCS.clear()
        for op in _op.REGISTRY.values():
            steps = op.inplace if isinstance(op.inplace, tuple) else ()
            m = re.fullmatch(r"xp\.(\w+)\((\{\d\}(, )?)+out=\{out\}\)", steps[0]) \
                if len(steps) == 1 else None
            if m and op.elementwise and op.dtype is None:  # masks: graphnn gives floats
                _UFUNCS.setdefault(m.group(1), op.name)
        _SEEN[0] = len(_op.REGISTRY)
    return _UFUNCS


class _NewNode(_Fields):
    """A node being made: plain attribute stores (Node's immutability guard makes each
    store a Python call, 3x the cost of making a node), then it becomes a ``Node`` (the
    same slot layout, so the class switch is allowed and costs one store). Graphs make
    every node through this: a 100,000-node compile makes about 400,000."""

    __slots__ = ()

    def __init__(self, graph: Graph, id: int, op: _op.Op, inputs: tuple[Node, ...],
                 params: Mapping[str, Any], shape: tuple[int, ...], dtype: np.dtype,
                 role: str, group: str, loc: tuple[str, int]) -> None:
        # a read-only view is shared as is (graph passes copy nodes without copying params)
        self.params = params if type(params) is MappingProxyType else MappingProxyType(params)
        self.graph = graph
        self.id = id
        self.op = op
        self.inputs = inputs
        self.shape = shape
        self.dtype = dtype
        self.role = role
        self.group = group
        self._loc = loc
        self.__class__ = Node  # type: ignore[assignment]
