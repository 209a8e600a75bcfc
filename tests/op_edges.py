"""Edge points per op: values at ties, zeros, +-inf (and the domain ends) where the
value and gradient are easy to get wrong, with the PyTorch function that defines them.

``EDGES[name]`` is a list of :class:`Edge`; tests/test_edges_torch.py compares graphnn
with torch at every point (values, and gradients of sum(out) for ``grad=True``), and
tests/test_edges_torch.py::test_every_elementwise_op_has_edge_points keeps the table
complete. ``torch`` maps torch and the input tensors to torch's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

INF, NAN = np.inf, np.nan


def arr(*v: float) -> np.ndarray:
    return np.array(v, dtype=np.float64)


@dataclass
class Edge:
    inputs: list[np.ndarray]
    torch: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)
    grad: bool = True      # compare gradients too (False: torch has none to compare)


SPECIAL = arr(0.0, -0.0, 1.0, -1.0, INF, -INF, 0.5, -0.5, 2.0)
ZERO_INF = arr(0.0, -0.0, INF, -INF, 1.0, -1.0)
# pairs: ties (incl. signed zeros and equal infinities), zero against +-inf, inf against
# finite numbers
PAIR_A = arr(1.0, 0.0, 0.0, INF, -INF, 0.0, 0.0, INF, -INF, 2.0, -3.0)
PAIR_B = arr(1.0, -0.0, 0.0, INF, -INF, INF, -INF, 1.0, 1.0, 2.0, 0.5)
POW_X = arr(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, 2.0, INF, 1.0, -2.0, 0.0, 0.0)
POW_Y = arr(0.0, 2.0, 1.0, 0.5, -1.0, -0.5, 2.0, 0.0, 0.0, INF, 2.0, INF, -INF)


def _unary(f: str, x: np.ndarray = SPECIAL, grad: bool = True) -> list[Edge]:
    return [Edge([x], lambda t, a: getattr(t, f)(a), grad=grad)]


EDGES: dict[str, list[Edge]] = {
    "add": [Edge([PAIR_A, PAIR_B], lambda t, a, b: a + b)],
    "sub": [Edge([PAIR_A, PAIR_B], lambda t, a, b: a - b)],
    "mul": [Edge([PAIR_A, PAIR_B], lambda t, a, b: a * b)],
    "div": [Edge([PAIR_A, PAIR_B], lambda t, a, b: a / b)],
    "neg": _unary("neg"),
    "pow": [Edge([POW_X, POW_Y], lambda t, a, b: t.pow(a, b))],
    "exp": _unary("exp"),
    "log": _unary("log", arr(0.0, -0.0, INF, 1.0, 0.5, -1.0)),
    "sqrt": _unary("sqrt", arr(0.0, INF, 1.0, 0.25, -1.0)),
    "abs": _unary("abs"),
    "maximum": [Edge([PAIR_A, PAIR_B], lambda t, a, b: t.maximum(a, b))],
    "minimum": [Edge([PAIR_A, PAIR_B], lambda t, a, b: t.minimum(a, b))],
    "sign": _unary("sign"),
    "step": [Edge([SPECIAL], lambda t, a: (a > 0).double(), grad=False)],
    "ge": [Edge([PAIR_A, PAIR_B], lambda t, a, b: (a >= b).double(), grad=False)],
    "eq": [Edge([PAIR_A, PAIR_B], lambda t, a, b: (a == b).double(), grad=False)],
    "sigmoid": _unary("sigmoid"),
    "tanh": _unary("tanh"),
    "relu": _unary("relu"),
    "leaky_relu": [Edge([SPECIAL], lambda t, a: t.nn.functional.leaky_relu(a, 0.1),
                        {"negative_slope": 0.1})],
    "prelu": [Edge([SPECIAL, np.full(9, 0.25)], lambda t, a, w: t.where(a > 0, a, w * a))],
    "elu": [Edge([SPECIAL], lambda t, a: t.nn.functional.elu(a, 0.5), {"alpha": 0.5})],
    "softmax": [Edge([arr(0.0, -0.0, 1.0, 1.0)], lambda t, a: t.softmax(a, -1), {"axis": -1}),
                Edge([arr(3.0)[0]], lambda t, a: t.softmax(a, 0), {"axis": 0}),
                Edge([arr(-INF, 0.0, 1.0)], lambda t, a: t.softmax(a, 0), {"axis": 0})],
    "log_softmax": [Edge([arr(0.0, -0.0, 1.0, 1.0)], lambda t, a: t.log_softmax(a, -1),
                         {"axis": -1}),
                    Edge([arr(3.0)[0]], lambda t, a: t.log_softmax(a, -1), {"axis": -1})],
    "sum": [Edge([ZERO_INF], lambda t, a: t.sum(a), {"axis": None, "keepdims": False}),
            Edge([arr(3.0)[0]], lambda t, a: t.sum(a, 0), {"axis": None, "keepdims": False}),
            Edge([np.zeros(0)], lambda t, a: t.sum(a), {"axis": None, "keepdims": False})],
    "mean": [Edge([ZERO_INF[:4]], lambda t, a: t.mean(a), {"axis": None, "keepdims": False}),
             Edge([np.zeros((2, 0))], lambda t, a: t.mean(a, 1),
                  {"axis": 1, "keepdims": False})],
    "max": [Edge([arr(1.0, 3.0, 3.0, -INF)], lambda t, a: t.amax(a),
                 {"axis": None, "keepdims": False}),
            Edge([arr(INF, INF, 0.0)], lambda t, a: t.amax(a, 0), {"axis": 0, "keepdims": False}),
            Edge([arr(0.0, -0.0)], lambda t, a: t.amax(a), {"axis": None, "keepdims": False})],
    # graphnn/ops/unary.py
    "sin": _unary("sin", arr(0.0, -0.0, 1.0, -2.5, INF)),
    "cos": _unary("cos", arr(0.0, -0.0, 1.0, -2.5, INF)),
    "tan": _unary("tan", arr(0.0, -0.0, 1.0, -1.5, INF)),
    "asin": _unary("asin", arr(0.0, -0.0, 0.5, 1.0, -1.0, 2.0)),
    "acos": _unary("acos", arr(0.0, -0.0, 0.5, 1.0, -1.0, 2.0)),
    "atan": _unary("atan"),
    "sinh": _unary("sinh"),
    "cosh": _unary("cosh"),
    "log1p": _unary("log1p", arr(0.0, -0.0, -1.0, INF, 1e-300, -2.0)),
    "expm1": _unary("expm1", arr(0.0, -0.0, INF, -INF, 1e-300, 800.0)),
    "log2": _unary("log2", arr(0.0, -0.0, INF, 1.0, 8.0, -1.0)),
    "log10": _unary("log10", arr(0.0, -0.0, INF, 1.0, 1000.0, -1.0)),
    "exp2": _unary("exp2", arr(0.0, -0.0, INF, -INF, 10.0, 1100.0)),
    "rsqrt": _unary("rsqrt", arr(0.0, -0.0, INF, 4.0, -1.0)),
    "reciprocal": _unary("reciprocal", arr(0.0, -0.0, INF, -INF, 4.0)),
    "square": _unary("square"),
    "erf": _unary("erf", arr(0.0, -0.0, INF, -INF, 0.5, -0.5, 4.0, -4.0, 6.5, 30.0, 1e-300)),
    "floor": _unary("floor", arr(0.0, -0.0, INF, -INF, -0.5, 2.5, -2.5, 1e300)),
    "ceil": _unary("ceil", arr(0.0, -0.0, INF, -INF, -0.5, 2.5, -2.5, 1e300)),
    "round": _unary("round", arr(0.0, -0.0, INF, -INF, -0.5, 0.5, 1.5, 2.5, -2.5, 1e300)),
    "trunc": _unary("trunc", arr(0.0, -0.0, INF, -INF, -0.5, 2.7, -2.7, 1e300)),
}


# --- convolution and pooling ops ---
# ties (first maximum), -inf windows next to -inf padding, NaN, +-inf, signed zeros,
# ceil_mode windows that run past the input
_POOL_X = arr(1.0, 1.0, -INF, -INF, -INF, 0.0, -0.0, NAN, 2.0, INF, INF, 3.0)[None, None]


def _tf(name: str) -> Any:
    def fn(t: Any, *a: Any, **kw: Any) -> Any:
        return getattr(t.nn.functional, name)(*a, **kw)
    return fn


EDGES.update({
    "max_pool1d": [
        Edge([_POOL_X], lambda t, a: _tf("max_pool1d")(t, a, 2), {"kernel_size": 2}),
        Edge([_POOL_X], lambda t, a: _tf("max_pool1d")(t, a, 3, 2, 1, 2, True),
             {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}),
        Edge([_POOL_X[..., :5]], lambda t, a: _tf("max_pool1d")(t, a, 3, 1, 1),
             {"kernel_size": 3, "stride": 1, "padding": 1}),
    ],
    "max_pool2d": [
        Edge([_POOL_X.reshape(1, 1, 3, 4)], lambda t, a: _tf("max_pool2d")(t, a, 2, 1, 1),
             {"kernel_size": 2, "stride": 1, "padding": 1}),
        Edge([_POOL_X.reshape(1, 1, 4, 3)], lambda t, a: _tf("max_pool2d")(t, a, 2, 2, 0, 1,
                                                                          True),
             {"kernel_size": 2, "stride": 2, "ceil_mode": True}),
    ],
    "avg_pool1d": [
        Edge([arr(1.0, INF, -INF, 0.0, -0.0, -0.0, 2.0)[None, None]],
             lambda t, a: _tf("avg_pool1d")(t, a, 2, 2, 1, True, False),
             {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True,
              "count_include_pad": False}),
    ],
    "avg_pool2d": [
        Edge([arr(1.0, INF, 0.0, -0.0, -0.0, 2.0).reshape(1, 1, 2, 3)],
             lambda t, a: _tf("avg_pool2d")(t, a, 2, 1, 1, True, True, 3),
             {"kernel_size": 2, "stride": 1, "padding": 1, "ceil_mode": True,
              "divisor_override": 3}),
    ],
    "conv1d": [
        Edge([arr(0.0, -0.0, INF, 1.0, 2.0)[None, None], arr(1.0, 0.5)[None, None]],
             lambda t, a, w: _tf("conv1d")(t, a, w, padding=1), {"padding": 1}),
    ],
    "conv_transpose1d": [
        Edge([arr(0.0, -0.0, 1.0)[None, None], arr(1.0, -0.5, 2.0)[None, None]],
             lambda t, a, w: _tf("conv_transpose1d")(t, a, w, stride=2, padding=1,
                                                     output_padding=1),
             {"stride": 2, "padding": 1, "output_padding": 1}),
    ],
})
