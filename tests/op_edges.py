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
    "ge_mask": [Edge([PAIR_A, PAIR_B], lambda t, a, b: (a >= b).double(), grad=False)],
    "eq_mask": [Edge([PAIR_A, PAIR_B], lambda t, a, b: (a == b).double(), grad=False)],
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
    # --- shape ops --- (graphnn/ops/shape.py; cat and stack take a list: tests/test_shape_ops.py)
    "narrow": [Edge([SPECIAL], lambda t, a: t.narrow(a, 0, -4, 3),
                    {"dim": 0, "start": -4, "length": 3}),
               Edge([np.zeros((2, 0))], lambda t, a: t.narrow(a, 1, 0, 0),
                    {"dim": -1, "start": 0, "length": 0})],
    "pad": [Edge([SPECIAL.reshape(1, 9)], lambda t, a: t.nn.functional.pad(a, (2, -1), value=INF),
                 {"pad": (2, -1), "value": INF}),
            Edge([SPECIAL.reshape(1, 9)],
                 lambda t, a: t.nn.functional.pad(a, (3, -2), mode="reflect"),
                 {"pad": (3, -2), "mode": "reflect"}),
            Edge([SPECIAL.reshape(1, 1, 9)],
                 lambda t, a: t.nn.functional.pad(a, (-8, 4), mode="replicate"),
                 {"pad": (-8, 4), "mode": "replicate"}),
            Edge([SPECIAL.reshape(1, 3, 3)],
                 lambda t, a: t.nn.functional.pad(a, (2, -1, 1, 2), mode="circular"),
                 {"pad": (2, -1, 1, 2), "mode": "circular"}),
            Edge([np.zeros((0, 3))], lambda t, a: t.nn.functional.pad(a, (1, 1, 2, 0)),
                 {"pad": (1, 1, 2, 0)})],
    "flip": [Edge([SPECIAL.reshape(3, 3)], lambda t, a: t.flip(a, [0, 1]), {"dims": (0, -1)}),
             Edge([arr(3.0)[0]], lambda t, a: t.flip(a, [0]), {"dims": (0,)}),
             Edge([np.zeros((0, 2))], lambda t, a: t.flip(a, [0]), {"dims": 0})],
    "roll": [Edge([SPECIAL.reshape(3, 3)], lambda t, a: t.roll(a, 4), {"shifts": 4}),
             Edge([SPECIAL.reshape(3, 3)], lambda t, a: t.roll(a, (1, -5), (0, 1)),
                  {"shifts": (1, -5), "dims": (0, 1)}),
             Edge([np.zeros((0, 2))], lambda t, a: t.roll(a, 1, 0), {"shifts": 1, "dims": 0})],
    "squeeze": [Edge([SPECIAL.reshape(1, 9, 1)], lambda t, a: t.squeeze(a, (0, 1)),
                     {"dim": (0, 1)}),
                Edge([arr(2.0)[0]], lambda t, a: t.squeeze(a)),
                Edge([np.zeros((1, 0))], lambda t, a: t.squeeze(a))],
    "unsqueeze": [Edge([SPECIAL], lambda t, a: t.unsqueeze(a, -1), {"dim": -1}),
                  Edge([arr(2.0)[0]], lambda t, a: t.unsqueeze(a, 0), {"dim": 0})],
    "tril": [Edge([SPECIAL.reshape(3, 3)], lambda t, a: t.tril(a, -1), {"diagonal": -1}),
             Edge([np.zeros((0, 3))], lambda t, a: t.tril(a))],
    "triu": [Edge([SPECIAL.reshape(3, 3)], lambda t, a: t.triu(a, 5), {"diagonal": 5}),
             Edge([SPECIAL.reshape(1, 3, 3)], lambda t, a: t.triu(a))],
}


# --- activations ops ---
# graphnn/ops/activations.py against torch.nn.functional at the points where a rule's
# branches meet and at both infinities; NaN only where graphnn's rule gives torch's gradient
# (selu / celu / hardswish give NaN there, torch scale or 1: a 0/1 mask times a NaN branch)
ACT_X = arr(0.0, -0.0, 1.0, -1.0, INF, -INF, 0.5, -0.5, 2.0, 3.0, -3.0, 6.0, 1e-300, NAN)


def _act(f: str, x: np.ndarray, **params: Any) -> list[Edge]:
    return [Edge([x], lambda t, a: getattr(t.nn.functional, f)(a, **params), params)]


def _torch_hardsigmoid(t: Any, a: Any) -> Any:
    """torch's hardsigmoid, its gradient 1/6 exact in float64: torch's float64 backward
    multiplies by a float32 1/6 (0.16666667163...), which graphnn does not copy; the kinks
    (0 at ±3 and for NaN) and the values are torch's own."""
    inside = (a > -3) & (a < 3)
    slope = t.where(inside, a / 6 - (a / 6).detach(), t.zeros_like(a))
    return t.nn.functional.hardsigmoid(a).detach() + slope


EDGES.update({
    "gelu": _act("gelu", arr(0.0, -0.0, 1.0, -1.0, INF, -INF, 0.5, -0.5, 2.0, 1e3, -1e3,
                             40.0, -40.0, 1e-300, NAN), approximate="none")
    + _act("gelu", arr(0.0, -0.0, 1.0, -1.0, INF, -INF, 0.5, -2.0, 1e3, -1e3, NAN),
           approximate="tanh"),
    "silu": _act("silu", np.append(ACT_X, [-1e3, 1e3, -40.0])),
    "softplus": _act("softplus", np.append(ACT_X, [20.0, 19.0, 21.0, -1e3, 1e3]))
    + _act("softplus", arr(0.0, -0.0, 5.0, 4.0, 5.5, -3.0, INF, -INF, 1e3, -1e3, NAN),
           beta=2.0, threshold=10.0)
    + _act("softplus", arr(0.0, -1.0, -2.0, 2.0, 3.0, INF, -INF), beta=-1.5, threshold=3.0),
    "mish": _act("mish", np.append(ACT_X, [-1e3, 1e3, 25.0])),
    "hardtanh": _act("hardtanh", ACT_X)
    + _act("hardtanh", arr(-0.5, 2.0, -0.0, 0.0, -0.6, 2.1, 1.0, INF, -INF, NAN),
           min_val=-0.5, max_val=2.0),
    "relu6": _act("relu6", arr(0.0, -0.0, 6.0, 5.9, 6.1, -1.0, 3.0, INF, -INF, NAN)),
    "hardsigmoid": [Edge([arr(3.0, -3.0, 0.0, -0.0, 2.9, -2.9, 3.1, -3.1, INF, -INF, NAN)],
                         _torch_hardsigmoid)],
    "hardswish": _act("hardswish", arr(3.0, -3.0, 0.0, -0.0, 2.9, -2.9, 3.1, -3.1, 1.0,
                                       INF, -INF)),
    "selu": _act("selu", ACT_X[:-1]),
    "celu": _act("celu", ACT_X[:-1], alpha=0.5) + _act("celu", ACT_X[:-1], alpha=-2.0),
    "softsign": _act("softsign", ACT_X),
    "logsigmoid": _act("logsigmoid", np.append(ACT_X, [-1e3, 1e3, 40.0, -40.0])),
})


# --- indexing ops ---
_CMP = [PAIR_A, PAIR_B]
_NAN2 = arr(NAN, 1.0, 0.0, -0.0, INF)
_B = arr(0.0, NAN, -0.0, 0.0, 2.0)
EDGES.update({
    "lt": [Edge(_CMP, lambda t, a, b: a < b, grad=False)],
    "le": [Edge(_CMP, lambda t, a, b: a <= b, grad=False)],
    "gt": [Edge(_CMP, lambda t, a, b: a > b, grad=False)],
    "ge": [Edge(_CMP, lambda t, a, b: a >= b, grad=False)],
    "eq": [Edge(_CMP, lambda t, a, b: a == b, grad=False),
           Edge([_NAN2, _B], lambda t, a, b: a == b, grad=False)],
    "ne": [Edge([_NAN2, _B], lambda t, a, b: a != b, grad=False)],
    "logical_and": [Edge([_NAN2, _B], lambda t, a, b: t.logical_and(a, b), grad=False)],
    "logical_or": [Edge([_NAN2, _B], lambda t, a, b: t.logical_or(a, b), grad=False)],
    "logical_xor": [Edge([_NAN2, _B], lambda t, a, b: t.logical_xor(a, b), grad=False)],
    "logical_not": [Edge([SPECIAL], lambda t, a: t.logical_not(a), grad=False)],
    # x at and beyond the bounds (inclusive: the gradient passes at x == min and x == max),
    # NaN, infinities, min > max (max wins)
    "clamp": [Edge([arr(-1.0, 1.0, -2.0, 2.0, 0.0, NAN, INF, -INF, 0.5),
                    arr(-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 1.0),
                    arr(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0)],
                   lambda t, a, lo, hi: t.clamp(a, lo, hi)),
              # ties between the bounds and x, min == max, min > max
              Edge([arr(0.5, 0.5, 0.5, 1.0, 1.0, 2.0, NAN, -3.0, 0.0),
                    arr(1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, -3.0, 1.0),
                    arr(0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, -3.0, 0.0)],
                   lambda t, a, lo, hi: t.clamp(a, lo, hi))],
    "where": [Edge([arr(1.0, 0.0, 1.0, 0.0).astype(bool), arr(INF, INF, NAN, 1.0),
                    arr(2.0, NAN, 3.0, -INF)], lambda t, c, a, b: t.where(c, a, b))],
})


# --- reductions ops ---
def _d(dim: Any = None, keepdim: bool = False) -> dict[str, Any]:
    return {"dim": dim, "keepdim": keepdim}


EDGES.update({
    "min": [Edge([arr(1.0, -3.0, -3.0, INF)], lambda t, a: t.amin(a), _d()),
            Edge([arr(-INF, -INF, 0.0)], lambda t, a: t.amin(a, 0), _d(0)),
            Edge([arr(0.0, -0.0)], lambda t, a: t.amin(a), _d()),
            Edge([arr(3.0)[0]], lambda t, a: t.amin(a, 0), _d(0))],
    "amax": [Edge([np.array([[1.0, 5.0, 5.0], [2.0, 2.0, 2.0]])],
                  lambda t, a: t.amax(a, 1, keepdim=True), _d(1, True))],
    "amin": [Edge([np.array([[1.0, 1.0], [NAN, 0.0]])], lambda t, a: t.amin(a, 1), _d(1))],
    "argmax": [Edge([arr(1.0, 3.0, 3.0, -INF)], lambda t, a: t.argmax(a), _d(), grad=False),
               Edge([arr(1.0, NAN, 3.0, NAN)], lambda t, a: t.argmax(a, 0), _d(0), grad=False),
               Edge([np.ones((2, 3))], lambda t, a: t.argmax(a, keepdim=True), _d(None, True),
                    grad=False)],
    "argmin": [Edge([arr(1.0, -3.0, -3.0, INF)], lambda t, a: t.argmin(a), _d(), grad=False),
               Edge([arr(3.0)[0]], lambda t, a: t.argmin(a, 0), _d(0), grad=False)],
    "any": [Edge([np.array([[0.0, -0.0], [0.0, NAN]])], lambda t, a: t.any(a, 1), _d(1),
                 grad=False),
            Edge([np.zeros(0)], lambda t, a: t.any(a), _d(), grad=False)],
    "all": [Edge([np.array([[1.0, INF], [0.0, NAN]])], lambda t, a: t.all(a, 1), _d(1),
                 grad=False),
            Edge([np.zeros((2, 0))], lambda t, a: t.all(a, 1), _d(1), grad=False)],
    "prod": [Edge([arr(2.0, 0.0, 3.0)], lambda t, a: t.prod(a), _d()),
             Edge([arr(2.0, 0.0, 3.0, 0.0)], lambda t, a: t.prod(a), _d()),
             Edge([np.array([[0.0, 0.0, 0.0], [1.5, -2.0, 0.5]])],
                  lambda t, a: t.prod(a, 1), _d(1)),
             Edge([np.zeros(0)], lambda t, a: t.prod(a), _d()),
             Edge([arr(3.0)[0]], lambda t, a: t.prod(a, 0), _d(0)),
             Edge([arr(INF, 2.0)], lambda t, a: t.prod(a), _d())],
    "logsumexp": [Edge([arr(-INF, -INF)], lambda t, a: t.logsumexp(a, 0), _d(0)),
                  Edge([arr(INF, 1.0)], lambda t, a: t.logsumexp(a, 0), _d(0)),
                  Edge([arr(1000.0, 1000.0, -1000.0)], lambda t, a: t.logsumexp(a, 0), _d(0)),
                  Edge([np.zeros((2, 0))], lambda t, a: t.logsumexp(a, 1), _d(1)),
                  Edge([arr(-INF, 0.0)], lambda t, a: t.logsumexp(a, 0), _d(0)),
                  Edge([arr(2.0)[0]], lambda t, a: t.logsumexp(a, 0), _d(0))],
    "var": [Edge([arr(1.0, 1.0, 1.0)], lambda t, a: t.var(a), _d()),
            Edge([arr(4.0)], lambda t, a: t.var(a), _d()),
            Edge([arr(1.0, 2.0)], lambda t, a: t.var(a, correction=2),
                 {**_d(), "correction": 2}),
            Edge([np.zeros(0)], lambda t, a: t.var(a), _d(), grad=False),
            Edge([arr(1.0, 2.0, 4.0)], lambda t, a: t.var(a, correction=0),
                 {**_d(), "correction": 0})],
    "std": [Edge([arr(2.0, 2.0, 2.0)], lambda t, a: t.std(a), _d()),
            Edge([np.array([[1.0, 1.0], [1.0, 3.0]])], lambda t, a: t.std(a, 1), _d(1)),
            Edge([arr(-1.0, 0.5, 2.0)], lambda t, a: t.std(a, correction=0),
                 {**_d(), "correction": 0})],
    "norm": [Edge([arr(0.0, 0.0)], lambda t, a: t.norm(a), _d()),
             Edge([arr(0.0, -0.0, 1.0)], lambda t, a: t.norm(a, p=1), {"p": 1, **_d()}),
             Edge([arr(3.0, -3.0, 1.0)], lambda t, a: t.norm(a, p=INF), {"p": INF, **_d()}),
             Edge([arr(0.0, 0.0)], lambda t, a: t.norm(a, p=INF), {"p": INF, **_d()}),
             Edge([np.array([[3.0, 4.0], [0.0, 0.0]])], lambda t, a: t.norm(a, p="fro", dim=1),
                  {"p": "fro", **_d(1)}),
             Edge([np.zeros(0)], lambda t, a: t.norm(a), _d()),
             Edge([arr(-3.0)[0]], lambda t, a: t.norm(a), _d())],
    "cumsum": [Edge([arr(1.0, INF, -INF, 2.0)], lambda t, a: t.cumsum(a, 0), {"dim": 0}),
               Edge([arr(3.0)[0]], lambda t, a: t.cumsum(a, 0), {"dim": 0}),
               Edge([np.zeros((2, 0))], lambda t, a: t.cumsum(a, 1), {"dim": 1})],
    "cumprod": [Edge([arr(2.0, 0.0, 3.0, 4.0)], lambda t, a: t.cumprod(a, 0), {"dim": 0}),
                Edge([arr(2.0, 0.0, 3.0, 0.0, 5.0)], lambda t, a: t.cumprod(a, 0),
                     {"dim": 0}),
                Edge([arr(0.0, 0.0, 2.0)], lambda t, a: t.cumprod(a, 0), {"dim": 0}),
                Edge([np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0]])],
                     lambda t, a: t.cumprod(a, -1), {"dim": -1}),
                Edge([arr(3.0)[0]], lambda t, a: t.cumprod(a, 0), {"dim": 0})],
})


# --- losses ops ---
_D = arr(1.0, -1.0, 0.5, 2.0, INF, -INF, 0.0, -0.0)
EDGES.update({
    "huber_loss": [Edge([_D, np.zeros(8)], lambda t, a, b: t.nn.functional.huber_loss(
        a, b, reduction="none", delta=1.0), {"reduction": "none", "delta": 1.0})],
    "smooth_l1_loss": [
        Edge([_D, np.zeros(8)], lambda t, a, b: t.nn.functional.smooth_l1_loss(
            a, b, reduction="none", beta=0.5), {"reduction": "none", "beta": 0.5}),
        Edge([_D, np.zeros(8)], lambda t, a, b: t.nn.functional.smooth_l1_loss(
            a, b, reduction="none", beta=0.0), {"reduction": "none", "beta": 0.0})],
    "kl_div": [Edge([arr(-1.0, -2.0, -INF, -0.5, 0.0), arr(0.0, 0.5, 0.0, 0.5, 1.0)],
                    lambda t, a, b: t.nn.functional.kl_div(a, b, reduction="none"),
                    {"reduction": "none"})],
    "margin_ranking_loss": [Edge(
        [arr(1.0, 2.0, INF, 0.0), arr(1.0, 1.0, 1.0, -0.0), arr(1.0, -1.0, 1.0, -1.0)],
        lambda t, a, b, y: t.nn.functional.margin_ranking_loss(a, b, y, reduction="none"),
        {"reduction": "none"})],
    "cosine_similarity": [Edge(
        [np.array([[0.0, 0.0], [1e-9, 0.0], [3.0, 4.0], [-0.0, 1.0]]),
         np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])],
        lambda t, a, b: t.nn.functional.cosine_similarity(a, b, dim=1))],
})


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
        # two NaNs in a window: PyTorch's scan keeps the last one
        Edge([arr(NAN, 1.0, NAN, 2.0, -INF, 5.0, NAN)[None, None]],
             lambda t, a: _tf("max_pool1d")(t, a, 4, 2, 1),
             {"kernel_size": 4, "stride": 2, "padding": 1}),
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


# --- adaptive pooling and interpolate ---
# ties (first maximum), -inf windows, NaN (PyTorch keeps the last NaN of a window), +-inf,
# outputs larger than the input (overlapping windows), inf next to zero weights
_AD_X = arr(1.0, 1.0, -INF, -INF, -INF, 0.0, -0.0, NAN, 2.0, INF, INF, 3.0)[None, None]
_AD_NAN = arr(NAN, 1.0, NAN, 2.0, -INF, 5.0)[None, None]

EDGES.update({
    "adaptive_max_pool1d": [
        Edge([_AD_X], lambda t, a: _tf("adaptive_max_pool1d")(t, a, 5), {"output_size": 5}),
        Edge([_AD_X[..., :5]], lambda t, a: _tf("adaptive_max_pool1d")(t, a, 7),
             {"output_size": 7}),
        Edge([_AD_NAN], lambda t, a: _tf("adaptive_max_pool1d")(t, a, 2), {"output_size": 2}),
    ],
    "adaptive_max_pool2d": [
        Edge([_AD_X.reshape(1, 1, 3, 4)], lambda t, a: _tf("adaptive_max_pool2d")(t, a, 2),
             {"output_size": 2}),
        Edge([_AD_X.reshape(1, 1, 4, 3)],
             lambda t, a: _tf("adaptive_max_pool2d")(t, a, (5, None)),
             {"output_size": (5, None)}),
    ],
    "adaptive_avg_pool1d": [
        Edge([arr(1.0, INF, -INF, 0.0, -0.0, -0.0, 2.0)[None, None]],
             lambda t, a: _tf("adaptive_avg_pool1d")(t, a, 4), {"output_size": 4}),
    ],
    "adaptive_avg_pool2d": [
        Edge([arr(1.0, INF, 0.0, -0.0, -0.0, 2.0).reshape(1, 1, 2, 3)],
             lambda t, a: _tf("adaptive_avg_pool2d")(t, a, (3, 2)), {"output_size": (3, 2)}),
    ],
    "interpolate": [
        Edge([arr(1.0, INF, NAN, -0.0, 2.0)[None, None]],
             lambda t, a: _tf("interpolate")(t, a, size=8), {"size": 8}),
        Edge([arr(1.0, INF, -INF, 0.0, 2.0)[None, None]],
             lambda t, a: _tf("interpolate")(t, a, size=9, mode="linear"),
             {"size": 9, "mode": "linear"}),
        Edge([arr(1.0, INF, 0.0, -0.0, NAN, 2.0).reshape(1, 1, 2, 3)],
             lambda t, a: _tf("interpolate")(t, a, scale_factor=2, mode="bilinear",
                                             align_corners=True),
             {"scale_factor": 2, "mode": "bilinear", "align_corners": True}),
        Edge([arr(1.0, INF, 0.0, -0.0, NAN, 2.0).reshape(1, 1, 2, 3)],
             lambda t, a: _tf("interpolate")(t, a, size=(3, 5), mode="nearest-exact"),
             {"size": (3, 5), "mode": "nearest-exact"}),
        Edge([arr(1.0, 3.0, 0.0, -0.0, -1.0, 2.0).reshape(1, 1, 2, 3)],
             lambda t, a: _tf("interpolate")(t, a, size=(4, 7), mode="bicubic"),
             {"size": (4, 7), "mode": "bicubic"}),
    ],
})


# --- integer and bit ops (graphnn/ops/integer.py) ---
_DIV_A = arr(-7.5, 7.5, -0.0, 0.0, 1.0, -1.0, 5.0, -5.0, INF, 3.0, NAN, 0.3)
_DIV_B = arr(2.0, -2.0, 1.0, -1.0, 0.0, 0.0, INF, INF, 2.0, -INF, 1.0, 0.1)
_INTS = np.array([-7, 7, 0, -1, 9, -128], dtype=np.int64)
_INTS_B = np.array([2, -2, 5, 3, -4, 7], dtype=np.int64)
EDGES.update({
    "floor_divide": [Edge([_DIV_A, _DIV_B], lambda t, a, b: t.floor_divide(a, b), grad=False),
                     Edge([_INTS, _INTS_B], lambda t, a, b: t.floor_divide(a, b),
                          grad=False)],
    "remainder": [Edge([_DIV_A, _DIV_B], lambda t, a, b: t.remainder(a, b)),
                  Edge([_INTS, _INTS_B], lambda t, a, b: t.remainder(a, b), grad=False)],
    **{n: [Edge([_INTS, _INTS_B], lambda t, a, b, n=n: getattr(t, n)(a, b), grad=False),
           Edge([_INTS > 0, _INTS_B > 0], lambda t, a, b, n=n: getattr(t, n)(a, b),
                grad=False)]
       for n in ("bitwise_and", "bitwise_or", "bitwise_xor")},
    "bitwise_not": [Edge([_INTS], lambda t, a: t.bitwise_not(a), grad=False),
                    Edge([_INTS > 0], lambda t, a: t.bitwise_not(a), grad=False)],
    "cast": [Edge([arr(-1.7, 1.7, -0.0, 0.5, -0.5, 2.0**40)], lambda t, a: a.to(t.int64),
                  {"dtype": "int64"}, grad=False),
             Edge([arr(0.0, -0.0, NAN, INF, 1e-300, -2.0)], lambda t, a: a.to(t.bool),
                  {"dtype": "bool"}, grad=False),
             Edge([SPECIAL], lambda t, a: a.to(t.float32), {"dtype": "float32"}),
             Edge([_INTS], lambda t, a: a.to(t.float64), {"dtype": "float64"}, grad=False)],
})
