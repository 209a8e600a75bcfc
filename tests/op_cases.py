"""The op test table: every registered op needs an entry here (test_registry_complete).

A case gives input values (float64; integer arrays such as class indices become int
inputs that are never differentiated) and static params exactly as the op stores them
(conv/pool pairs as tuples). ``nondiff`` ops are masks with
no gradient; ``second`` enables the grad-of-grad check; ``sympy`` the formula check.
Add an entry in the same commit as a new op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

R = np.random.default_rng(1234)


def rnd(*shape: int, lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    return R.uniform(lo, hi, size=shape)


def pos(*shape: int) -> np.ndarray:
    return R.uniform(0.5, 2.0, size=shape)


def away(*shape: int) -> np.ndarray:
    """Values bounded away from 0 (kinks of relu/abs/step)."""
    v = R.uniform(0.2, 2.0, size=shape)
    return v * R.choice([-1.0, 1.0], size=shape)


@dataclass
class Case:
    inputs: list[np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    second: bool = False          # check second-order (grad of grad) too
    nondiff: bool = False         # op has no gradient (masks)
    diff_inputs: tuple[int, ...] | None = None  # which inputs to differentiate (None: all)
    rtol: float = 1e-6


CASES: dict[str, list[Case]] = {
    "add": [Case([rnd(3, 4), rnd(4)], second=True), Case([rnd(), rnd(2, 3)])],
    "sub": [Case([rnd(3, 1), rnd(1, 4)], second=True)],
    "mul": [Case([rnd(2, 3), rnd(2, 3)], second=True), Case([rnd(3), rnd()])],
    "div": [Case([rnd(2, 3), pos(3)], second=True)],
    "neg": [Case([rnd(5)], second=True)],
    "pow": [Case([pos(2, 3), rnd(2, 3)], second=True), Case([rnd(4), np.array(3.0)],
                                                           diff_inputs=(0,))],
    "exp": [Case([rnd(2, 3)], second=True)],
    "log": [Case([pos(2, 3)], second=True)],
    "sqrt": [Case([pos(4)], second=True)],
    "abs": [Case([away(3, 2)], second=True)],
    "maximum": [Case([rnd(3, 4), rnd(4)], second=True)],
    "minimum": [Case([rnd(3, 4), rnd(3, 1)], second=True)],
    "sign": [Case([away(4)], nondiff=True)],
    "step": [Case([away(4)], nondiff=True)],
    "ge_mask": [Case([rnd(3), rnd(3)], nondiff=True)],
    "eq_mask": [Case([rnd(3), rnd(3)], nondiff=True)],
    "matmul": [
        Case([rnd(3, 4), rnd(4, 2)], second=True),
        Case([rnd(4), rnd(4, 2)], second=True),
        Case([rnd(3, 4), rnd(4)], second=True),
        Case([rnd(4), rnd(4)], second=True),
        Case([rnd(2, 3, 4), rnd(4, 5)], second=True),
        Case([rnd(2, 1, 3, 4), rnd(5, 4, 2)]),
        Case([rnd(4), rnd(2, 4, 3)]),
        Case([rnd(2, 3, 4), rnd(4)]),
    ],
    "transpose": [Case([rnd(2, 3)], second=True), Case([rnd(2, 3, 4)], {"axes": (1, 2, 0)})],
    "reshape": [Case([rnd(2, 6)], {"shape": (3, -1)}, second=True)],
    "flatten": [Case([rnd(2, 3, 4)], {"start_dim": 1, "end_dim": -1})],
    "broadcast_to": [Case([rnd(3, 1)], {"shape": (2, 3, 4)}, second=True)],
    "sum_to": [Case([rnd(2, 3, 4)], {"shape": (3, 1)}, second=True)],
    "sum": [Case([rnd(2, 3)], {"axis": None, "keepdims": False}, second=True),
            Case([rnd(2, 3, 4)], {"axis": (0, 2), "keepdims": True})],
    "mean": [Case([rnd(2, 3)], {"axis": 1, "keepdims": False}, second=True)],
    "max": [Case([rnd(2, 5)], {"axis": 1, "keepdims": False}),
            Case([rnd(3, 4)], {"axis": None, "keepdims": False})],
    "sigmoid": [Case([rnd(3, 2)], second=True)],
    "tanh": [Case([rnd(3, 2)], second=True)],
    "relu": [Case([away(3, 2)], second=True)],
    "leaky_relu": [Case([away(6)], {"negative_slope": 0.1}, second=True)],
    "prelu": [Case([away(2, 3), rnd(3)], second=True)],
    "elu": [Case([away(6)], {"alpha": 1.0}, second=True)],
    "softmax": [Case([rnd(2, 4)], {"axis": -1}, second=True), Case([rnd(3, 2)], {"axis": 0})],
    "log_softmax": [Case([rnd(2, 4)], {"axis": -1}, second=True)],
    # graphnn/ops/unary.py: inputs inside each domain, rounding ops away from their jumps
    "sin": [Case([rnd(2, 3)], second=True)],
    "cos": [Case([rnd(2, 3)], second=True)],
    "tan": [Case([rnd(5, lo=-1.2, hi=1.2)], second=True)],
    "asin": [Case([rnd(5, lo=-0.9, hi=0.9)], second=True)],
    "acos": [Case([rnd(5, lo=-0.9, hi=0.9)], second=True)],
    "atan": [Case([rnd(2, 3, lo=-4.0, hi=4.0)], second=True)],
    "sinh": [Case([rnd(5)], second=True)],
    "cosh": [Case([rnd(5)], second=True)],
    "log1p": [Case([rnd(5, lo=-0.8, hi=3.0)], second=True)],
    "expm1": [Case([rnd(5)], second=True)],
    "log2": [Case([pos(5)], second=True)],
    "log10": [Case([pos(5)], second=True)],
    "exp2": [Case([rnd(5)], second=True)],
    "rsqrt": [Case([pos(5)], second=True)],
    "reciprocal": [Case([away(5)], second=True)],
    "square": [Case([rnd(2, 3)], second=True)],
    "erf": [Case([rnd(6, lo=-3.0, hi=3.0)], second=True)],
    "floor": [Case([rnd(6, lo=-3.0, hi=3.0)], nondiff=True)],
    "ceil": [Case([rnd(6, lo=-3.0, hi=3.0)], nondiff=True)],
    "round": [Case([np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 0.7])], nondiff=True)],
    "trunc": [Case([rnd(6, lo=-3.0, hi=3.0)], nondiff=True)],
}


# -- conv / pool / losses (helper "convloss") -----------------------------------------


def _cp(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1) -> dict[str, Any]:
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def _pp(k, s, p, **kw) -> dict[str, Any]:
    return {"kernel_size": k, "stride": s, "padding": p, **kw}


def labels(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def prob(*shape: int) -> np.ndarray:
    return R.uniform(0.1, 0.9, size=shape)


def soft(n: int, c: int) -> np.ndarray:
    e = R.uniform(0.1, 1.0, size=(n, c))
    return e / e.sum(axis=1, keepdims=True)


_C1 = _cp((2, 1), (1, 0), (1, 1), 2)      # x (2,4,6,5), w (6,2,3,2) -> (2,6,3,4)
_C2 = _cp((1, 1), (1, 1), (2, 1), 1)      # x (1,3,5,5), w (2,3,3,3) -> (1,2,3,5)
CASES.update({
    "conv2d": [
        Case([rnd(2, 4, 6, 5), rnd(6, 2, 3, 2), rnd(6)], _C1, second=True),
        Case([rnd(1, 3, 5, 5), rnd(2, 3, 3, 3)], _C2, second=True),
        Case([rnd(2, 1, 6, 6), rnd(3, 1, 2, 2), rnd(3)], _cp((2, 2))),
    ],
    "conv2d_grad_input": [
        Case([rnd(2, 6, 3, 4), rnd(6, 2, 3, 2)], {"input_size": (6, 5), **_C1}, second=True),
        Case([rnd(1, 2, 3, 5), rnd(2, 3, 3, 3)], {"input_size": (5, 5), **_C2}),
    ],
    "conv2d_grad_weight": [
        Case([rnd(2, 4, 6, 5), rnd(2, 6, 3, 4)], {"kernel_size": (3, 2), **_C1}, second=True),
        Case([rnd(1, 3, 5, 5), rnd(1, 2, 3, 5)], {"kernel_size": (3, 3), **_C2}),
    ],
    "max_pool2d": [
        Case([rnd(2, 3, 4, 6)], _pp((2, 2), (2, 2), (0, 0)), second=True),
        Case([rnd(1, 2, 5, 6)], _pp((3, 3), (2, 1), (1, 1)), second=True),
    ],
    "max_pool2d_grad": [Case([rnd(1, 2, 5, 6), rnd(1, 2, 3, 6)], _pp((3, 3), (2, 1), (1, 1)),
                             second=True)],
    "max_pool2d_select": [Case([rnd(1, 2, 5, 6), rnd(1, 2, 5, 6)], _pp((3, 3), (2, 1), (1, 1)),
                               second=True)],
    "avg_pool2d": [
        Case([rnd(2, 3, 4, 6)], _pp((2, 2), (2, 2), (0, 0), count_include_pad=True),
             second=True),
        Case([rnd(1, 2, 5, 6)], _pp((3, 2), (2, 1), (1, 1), count_include_pad=False),
             second=True),
    ],
    "avg_pool2d_grad": [
        Case([rnd(1, 2, 3, 7)], {"input_size": (5, 6), **_pp((3, 2), (2, 1), (1, 1)),
                                 "count_include_pad": False}, second=True),
    ],
    "mse_loss": [Case([rnd(3, 4), rnd(3, 4)], {"reduction": "mean"}, second=True),
                 Case([rnd(5), rnd(5)], {"reduction": "none"}),
                 Case([rnd(2, 3), rnd(2, 3)], {"reduction": "sum"})],
    "l1_loss": [Case([away(3, 4), away(3, 4) * 3.0], {"reduction": "mean"}, second=True),
                Case([away(5), away(5) * 3.0], {"reduction": "none"})],
    "bce_loss": [Case([prob(3, 4), prob(3, 4)], {"reduction": "mean"}, second=True),
                 Case([prob(6), prob(6)], {"reduction": "none"}),
                 Case([prob(2, 2), prob(2, 2)], {"reduction": "sum"})],
    "bce_with_logits": [Case([rnd(3, 4), prob(3, 4)], {"reduction": "mean"}, second=True),
                        Case([rnd(6) * 4, prob(6)], {"reduction": "none"})],
    "cross_entropy": [
        Case([rnd(4, 3), labels(0, 2, 1, 2)], {"reduction": "mean"}, second=True),
        Case([rnd(4, 5), labels(4, 0, 0, 3)], {"reduction": "none"}),
        Case([rnd(3, 4), soft(3, 4)], {"reduction": "mean"}, second=True),
        Case([rnd(3, 4), soft(3, 4)], {"reduction": "sum"}),
        Case([rnd(5), labels(3)[0]], {"reduction": "mean"}),
    ],
    "one_hot": [Case([labels(0, 2, 1, 2)], {"num_classes": 3, "dtype": "float64"},
                     nondiff=True)],
    # --- activations ops ---
    # graphnn/ops/activations.py: inputs away from the kinks (hardtanh's ±1 and 0.5 / 2,
    # relu6's 0 and 6, hardsigmoid / hardswish's ±3, selu / celu's 0); softplus both sides
    # of its threshold
    "gelu": [Case([rnd(2, 3, lo=-3.0, hi=3.0)], {"approximate": "none"}, second=True),
             Case([rnd(5, lo=-3.0, hi=3.0)], {"approximate": "tanh"}, second=True)],
    "silu": [Case([rnd(2, 3, lo=-4.0, hi=4.0)], second=True)],
    "softplus": [Case([rnd(6, lo=-4.0, hi=4.0)], {"beta": 1.0, "threshold": 20.0}, second=True),
                 Case([np.array([-3.1, -0.4, 0.7, 1.3, 2.9, 4.2])],
                      {"beta": 2.0, "threshold": 5.0}, second=True)],
    "mish": [Case([rnd(2, 3, lo=-4.0, hi=4.0)], second=True)],
    "hardtanh": [Case([np.array([-1.7, -0.6, 0.2, 0.9, 1.4, 2.6])],
                      {"min_val": -1.0, "max_val": 1.0}, second=True),
                 Case([np.array([-0.9, -0.2, 0.8, 1.7, 2.5])],
                      {"min_val": -0.5, "max_val": 2.0})],
    "relu6": [Case([np.array([-1.5, 0.4, 2.2, 5.1, 6.7, 9.0])], second=True)],
    "hardsigmoid": [Case([np.array([-4.2, -2.5, -0.3, 1.1, 2.8, 3.6])], second=True)],
    "hardswish": [Case([np.array([-4.2, -2.5, -0.3, 1.1, 2.8, 3.6])], second=True)],
    "selu": [Case([away(2, 3)], second=True)],
    "celu": [Case([away(6)], {"alpha": 1.0}, second=True),
             Case([away(5)], {"alpha": 0.3}, second=True)],
    "softsign": [Case([rnd(2, 3, lo=-4.0, hi=4.0)], second=True)],
    "logsigmoid": [Case([rnd(2, 3, lo=-5.0, hi=5.0)], second=True)],
})


# --- shape ops --- (graphnn/ops/shape.py; first cases small so the sympy check runs)
CASES.update({
    "cat": [Case([rnd(2, 3), rnd(2, 1), rnd(2, 2)], {"dim": 1}, second=True),
            Case([rnd(1, 2, 3), rnd(2, 2, 3)], {"dim": -3})],
    "narrow": [Case([rnd(3, 5)], {"dim": 1, "start": 1, "length": 3}, second=True),
               Case([rnd(4, 2, 3)], {"dim": 0, "start": 3, "length": 1})],
    "pad": [Case([rnd(2, 3)], {"pad": (1, 2), "mode": "constant", "value": 0.5}, second=True),
            Case([rnd(2, 3, 4)], {"pad": (1, -2, -1, 2), "mode": "constant", "value": -1.0}),
            Case([rnd(2, 3, 4)], {"pad": (2, 1, 1, 2), "mode": "reflect", "value": 0.0},
                 second=True),
            Case([rnd(1, 2, 6)], {"pad": (3, -3), "mode": "reflect", "value": 0.0}),
            Case([rnd(2, 3, 4)], {"pad": (2, 3, 0, 1), "mode": "replicate", "value": 0.0},
                 second=True),
            Case([rnd(2, 5)], {"pad": (-2, 2), "mode": "replicate", "value": 0.0}),
            Case([rnd(1, 3, 4)], {"pad": (2, 1, -1, 2), "mode": "circular", "value": 0.0},
                 second=True)],
    "pad_grad": [
        Case([rnd(2, 6, 7)], {"pad": (2, 1, 1, 2), "mode": "reflect", "shape": (2, 3, 4)},
             second=True),
        Case([rnd(1, 2, 4)], {"pad": (3, -3), "mode": "reflect", "shape": (1, 2, 4)}),
        Case([rnd(2, 4, 9)], {"pad": (2, 3, 0, 1), "mode": "replicate", "shape": (2, 3, 4)},
             second=True),
        Case([rnd(1, 4, 7)], {"pad": (2, 1, -1, 2), "mode": "circular", "shape": (1, 3, 4)},
             second=True)],
    "flip": [Case([rnd(2, 3)], {"dims": (1,)}, second=True),
             Case([rnd(2, 3, 4)], {"dims": (0, 2)})],
    "roll": [Case([rnd(3, 4)], {"shifts": (1, -2), "dims": (0, 1)}, second=True),
             Case([rnd(2, 3)], {"shifts": (4,), "dims": None})],
    "repeat": [Case([rnd(2, 3)], {"repeats": (2, 1, 2)}, second=True),
               Case([rnd(3)], {"repeats": (3,)})],
    "squeeze": [Case([rnd(2, 1, 3, 1)], {"dims": (1, 3)}, second=True),
                Case([rnd(1, 4)], {"dims": ()})],
    "unsqueeze": [Case([rnd(2, 3)], {"dim": 1}, second=True), Case([rnd(3)], {"dim": 1})],
    "tril": [Case([rnd(3, 4)], {"diagonal": 0}, second=True),
             Case([rnd(2, 3, 4)], {"diagonal": 1})],
    "triu": [Case([rnd(4, 3)], {"diagonal": -1}, second=True),
             Case([rnd(2, 3, 3)], {"diagonal": 0})],
})


# --- indexing ops ---
def _ix(*v: int) -> np.ndarray:
    return np.array(v, dtype=np.int64)


def _spec(key: object) -> tuple:
    from graphnn.ops.index import normalize_index

    return normalize_index(key)


CASES.update({
    "getitem": [Case([rnd(4, 5)], {"index": _spec((slice(1, None), slice(None, None, -2)))},
                     second=True),
                Case([rnd(3, 4)], {"index": _spec((_ix(0, 2, 0), slice(1, 3)))}, second=True),
                Case([rnd(3, 4)], {"index": _spec((None, -1, Ellipsis))})],
    "getitem_grad": [Case([rnd(3, 2)], {"index": _spec((_ix(0, 2, 0), slice(1, 3))),
                                        "shape": (3, 4)}, second=True),
                     Case([rnd(3, 3)], {"index": _spec((slice(1, None), slice(None, None, -2))),
                                        "shape": (4, 5)})],
    "gather": [Case([rnd(3, 4), _ix(0, 2, 2, 1, 0, 0).reshape(2, 3)], {"dim": 0}, second=True),
               Case([rnd(3, 4), _ix(3, 3, 0, 1, 2, 0).reshape(3, 2)], {"dim": -1})],
    "scatter_add": [Case([rnd(3, 4), _ix(0, 2, 2, 1, 0, 0).reshape(2, 3), rnd(2, 3)],
                         {"dim": 0}, second=True),
                    Case([rnd(3, 4), _ix(3, 3, 0, 1).reshape(2, 2), rnd(3, 3)], {"dim": 1})],
    "index_select": [Case([rnd(3, 4), _ix(2, 0, 2)], {"dim": 0}, second=True),
                     Case([rnd(2, 3, 4), _ix(1, 1)], {"dim": -1})],
    "index_add": [Case([rnd(3, 4), _ix(2, 0, 2), rnd(3, 4)], {"dim": 0}, second=True),
                  Case([rnd(2, 3), _ix(1, 1, 0, 2), rnd(2, 4)], {"dim": 1})],
    "where": [Case([rnd(3, 4) > 0, rnd(3, 4), rnd(4)], second=True)],
    "clamp": [Case([away(3, 4), np.array(-0.1), np.array(0.1) + 1.0], second=True),
              Case([rnd(6), rnd(6) - 3.0, rnd(6) + 3.0])],
    **{n: [Case([np.round(rnd(3, 4)), np.round(rnd(4))], nondiff=True)]
       for n in ("lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or",
                 "logical_xor")},
    "logical_not": [Case([np.round(rnd(6))], nondiff=True)],
})


# --- reductions ops ---
def _perm(*shape: int, axis: int = -1) -> np.ndarray:
    """Distinct random indices: a permutation along ``axis`` (int64)."""
    return np.argsort(R.uniform(size=shape), axis=axis).astype(np.int64)


CASES.update({
    "min": [Case([rnd(2, 5)], {"axis": 1, "keepdims": False}, second=True),
            Case([rnd(3, 4)], {"axis": None, "keepdims": True})],
    "argmax": [Case([rnd(3, 4)], {"axis": 1, "keepdims": False}, nondiff=True),
               Case([rnd(3, 4)], {"axis": None, "keepdims": False}, nondiff=True)],
    "argmin": [Case([rnd(3, 4)], {"axis": 0, "keepdims": True}, nondiff=True)],
    "any": [Case([np.array([[0.0, 1.0], [0.0, 0.0]])], {"axis": 1, "keepdims": False},
                 nondiff=True)],
    "all": [Case([np.array([[2.0, 1.0], [0.0, 3.0]])], {"axis": None, "keepdims": False},
                 nondiff=True)],
    "prod": [Case([rnd(2, 3)], {"axis": 1, "keepdims": False}, second=True),
             Case([rnd(2, 3, 2)], {"axis": (0, 2), "keepdims": True}, second=True),
             Case([np.array([[1.5, 0.0, -2.0], [0.0, 3.0, 0.0]])], {"axis": 1,
                                                                   "keepdims": False})],
    "logsumexp": [Case([rnd(2, 4)], {"axis": -1, "keepdims": False}, second=True),
                  Case([rnd(3, 2)], {"axis": None, "keepdims": True}, second=True)],
    "var": [Case([rnd(3, 4)], {"axis": 1, "correction": 1, "keepdims": False}, second=True),
            Case([rnd(2, 3, 2)], {"axis": (0, 2), "correction": 0, "keepdims": True})],
    "std": [Case([rnd(3, 4)], {"axis": 0, "correction": 1, "keepdims": False}, second=True),
            Case([rnd(5)], {"axis": None, "correction": 2, "keepdims": False})],
    "norm": [Case([away(3, 4)], {"p": 2.0, "axis": 1, "keepdims": False}, second=True),
             Case([away(3, 4)], {"p": 1.0, "axis": None, "keepdims": False}),
             Case([rnd(2, 5)], {"p": float("inf"), "axis": 1, "keepdims": True})],
    "cumsum": [Case([rnd(3, 4)], {"axis": 1, "reverse": False}, second=True),
               Case([rnd(4, 2)], {"axis": 0, "reverse": True})],
    "cumprod": [Case([rnd(3, 4)], {"axis": 1}, second=True),
                Case([np.array([[2.0, 0.0, 3.0, 0.5], [1.5, -1.0, 0.0, 0.0]])], {"axis": 1})],
    "argsort": [Case([rnd(3, 4)], {"axis": -1, "descending": False}, nondiff=True),
                Case([rnd(3, 4)], {"axis": 0, "descending": True}, nondiff=True)],
    "topk_indices": [Case([rnd(3, 5)], {"k": 2, "axis": 1, "largest": True}, nondiff=True),
                     Case([rnd(4, 3)], {"k": 3, "axis": 0, "largest": False}, nondiff=True)],
    "cummax_indices": [Case([rnd(3, 5)], {"axis": 1}, nondiff=True)],
    "cummin_indices": [Case([rnd(4, 2)], {"axis": 0}, nondiff=True)],
    "take_along_dim": [Case([rnd(3, 4), _perm(3, 4)], {"axis": 1}, second=True),
                       Case([rnd(3, 2), np.array([[0, 1], [0, 0], [2, 2]])], {"axis": 0})],
    "take_along_dim_grad": [
        Case([rnd(3, 4), _perm(3, 4)], {"axis": 1, "size": 4}, second=True),
        Case([rnd(3, 2), np.array([[0, 1], [0, 0], [2, 2]])], {"axis": 0, "size": 4})],
})


# --- losses ops ---


def logp(*shape: int) -> np.ndarray:
    """Log-probabilities along axis 1 (axis 0 for one axis)."""
    ax = 1 if len(shape) >= 2 else 0
    e = R.uniform(0.1, 1.0, size=shape)
    return np.log(e / e.sum(axis=ax, keepdims=True))


CASES.update({
    "nll_loss": [
        Case([logp(4, 3), labels(0, 2, 1, 2)], {"reduction": "mean", "ignore_index": -100}),
        Case([logp(4, 3), labels(0, 2, -100, 1), pos(3)],
             {"reduction": "mean", "ignore_index": -100}, diff_inputs=(0,)),
        Case([logp(2, 3, 2), np.array([[0, 2], [1, 1]]), pos(3)],
             {"reduction": "none", "ignore_index": 1}, diff_inputs=(0,)),
        Case([logp(3), labels(2)[0]], {"reduction": "sum", "ignore_index": -100}),
    ],
    "nll_grad_mask": [Case([labels(0, 2, -100, 1), pos(3)], {
        "num_classes": 3, "ignore_index": -100, "label_smoothing": 0.1, "dtype": "float64"},
        nondiff=True)],
    "huber_loss": [Case([rnd(3, 4) * 2, rnd(3, 4)], {"reduction": "mean", "delta": 1.0},
                        second=True),
                   Case([rnd(6) * 3, rnd(6)], {"reduction": "none", "delta": 0.5})],
    "smooth_l1_loss": [Case([rnd(3, 4) * 2, rnd(3, 4)], {"reduction": "mean", "beta": 1.0},
                            second=True),
                       Case([away(6) * 3, np.zeros(6)], {"reduction": "sum", "beta": 0.0})],
    "kl_div": [Case([logp(3, 4), soft(3, 4)], {"reduction": "batchmean", "log_target": False},
                    second=True),
               Case([logp(3, 4), logp(3, 4)], {"reduction": "none", "log_target": True}),
               Case([rnd(5), prob(5)], {"reduction": "mean", "log_target": False})],
    "margin_ranking_loss": [
        Case([rnd(6), rnd(6), np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])],
             {"margin": 0.1, "reduction": "mean"}),
        Case([rnd(2, 3), rnd(1, 3), np.array([[1.0, -1.0, 1.0]])],
             {"margin": 0.0, "reduction": "none"})],
    "cosine_similarity": [Case([rnd(3, 4), rnd(3, 4)], {"dim": 1, "eps": 1e-8}, second=True),
                          Case([rnd(2, 3, 4), rnd(3, 1)], {"dim": -2, "eps": 1e-8})],
})
CASES["cross_entropy"] += [
    Case([rnd(4, 3), labels(0, 2, -100, 1), pos(3)],
         {"reduction": "mean", "ignore_index": -100, "label_smoothing": 0.2}, second=True,
         diff_inputs=(0,)),
    Case([rnd(2, 3, 2, 2), np.array([[[0, 1], [2, 2]], [[1, 5], [0, 0]]]), pos(3)],
         {"reduction": "none", "ignore_index": 5, "label_smoothing": 0.0}, diff_inputs=(0,)),
    Case([rnd(2, 3, 2, 2), np.array([[[0, 1], [2, 2]], [[1, 0], [0, 0]]])],
         {"reduction": "sum", "ignore_index": -100, "label_smoothing": 0.0}),
    Case([rnd(3, 4), soft(3, 4), pos(4)],
         {"reduction": "mean", "ignore_index": -100, "label_smoothing": 0.1}, second=True),
]
CASES["bce_loss"] += [Case([prob(3, 4), prob(3, 4), pos(4)], {"reduction": "mean"},
                           diff_inputs=(0, 1))]
CASES["bce_with_logits"] += [Case([rnd(3, 4), prob(3, 4), pos(3, 4), pos(4)],
                                  {"reduction": "sum"}, diff_inputs=(0, 1))]
for _c in CASES["cross_entropy"]:  # the record's defaults, spelled out for template tests
    _c.params = {"ignore_index": -100, "label_smoothing": 0.0, **_c.params}
CASES.update({  # creation ops (graphnn/ops/creation.py): no gradient
    "full": [Case([], {"shape": (2, 3), "fill_value": 1.5, "dtype": "float64"}, nondiff=True),
             Case([], {"shape": (4,), "fill_value": 0.0, "dtype": "float64"}, nondiff=True)],
    "arange": [Case([], {"start": 0.5, "end": 3.0, "step": 0.5, "dtype": "float64"},
                    nondiff=True),
               Case([], {"start": 5.0, "end": -1.0, "step": -2.0, "dtype": "float64"},
                    nondiff=True)],
    "linspace": [Case([], {"start": -1.0, "end": 2.0, "steps": 7, "dtype": "float64"},
                      nondiff=True)],
    "eye": [Case([], {"n": 3, "m": 4, "dtype": "float64"}, nondiff=True)],
    "rand": [Case([], {"shape": (3, 2), "seed": 5, "normal": False, "dtype": "float64"},
                  nondiff=True),
             Case([], {"shape": (4,), "seed": 6, "normal": True, "dtype": "float64"},
                  nondiff=True)],
    "full_like": [Case([rnd(2, 3)], {"fill_value": 2.5}, nondiff=True)],
    "rand_like": [Case([rnd(2, 3)], {"seed": 3, "normal": False}, nondiff=True),
                  Case([rnd(5)], {"seed": 4, "normal": True}, nondiff=True)],
})


# --- convolution and pooling ops ---
# N-d conv / pool records (conv1d..3d, max/avg_pool1d..3d + their gradient, select and
# indices ops); the 2-D pool entries above are restated with every stored parameter.


def _cn(nd: int, s: int = 1, p: int = 0, d: int = 1, groups: int = 1) -> dict[str, Any]:
    return {"stride": (s,) * nd, "padding": (p,) * nd, "dilation": (d,) * nd,
            "groups": groups}


def _mp(k, s, p, d=None, ceil=False) -> dict[str, Any]:
    return {"kernel_size": k, "stride": s, "padding": p, "dilation": d or (1,) * len(k),
            "ceil_mode": ceil}


def _ap(k, s, p, ceil=False, cip=True, dv=None) -> dict[str, Any]:
    return {"kernel_size": k, "stride": s, "padding": p, "count_include_pad": cip,
            "ceil_mode": ceil, "divisor_override": dv}


_C1D = _cn(1, 2, 1, 2, 2)          # x (2,4,9), w (6,2,3) -> (2,6,4)
_C3D = _cn(3, 1, 1, 1, 1)          # x (1,2,3,4,3), w (2,2,2,3,2) -> (1,2,4,4,4)
_M1 = _mp((3,), (2,), (1,), (2,), True)           # x (2,3,8) -> (2,3,4)
_M2 = _mp((3, 2), (2, 1), (1, 1), (1, 2), True)   # x (1,2,6,7) -> (1,2,4,7)
_M3 = _mp((2, 2, 2), (2, 1, 2), (0, 0, 0), None, True)   # x (1,2,3,4,5) -> (1,2,2,3,3)
_A1 = _ap((3,), (2,), (1,), True, False)          # x (2,3,8) -> (2,3,5)
_A2 = _ap((3, 2), (2, 2), (1, 0), True, True)     # x (1,2,6,7) -> (1,2,4,4)
_A3 = _ap((2, 2, 2), (2, 1, 2), (1, 0, 1), False, True, 3)
CASES.update({
    "conv1d": [Case([rnd(2, 4, 9), rnd(6, 2, 3), rnd(6)], _C1D, second=True),
               Case([rnd(1, 3, 7), rnd(2, 3, 2)], _cn(1))],
    "conv1d_grad_input": [Case([rnd(2, 6, 4), rnd(6, 2, 3)], {"input_size": (9,), **_C1D},
                               second=True)],
    "conv1d_grad_weight": [Case([rnd(2, 4, 9), rnd(2, 6, 4)], {"kernel_size": (3,), **_C1D},
                                second=True)],
    "conv3d": [Case([rnd(1, 2, 3, 4, 3), rnd(2, 2, 2, 3, 2), rnd(2)], _C3D, second=True),
               Case([rnd(2, 2, 5, 4, 4), rnd(4, 1, 2, 2, 2)], _cn(3, 2, 0, 1, 2))],
    "conv3d_grad_input": [Case([rnd(1, 2, 4, 4, 4), rnd(2, 2, 2, 3, 2)],
                               {"input_size": (3, 4, 3), **_C3D}, second=True)],
    "conv3d_grad_weight": [Case([rnd(1, 2, 3, 4, 3), rnd(1, 2, 4, 4, 4)],
                                {"kernel_size": (2, 3, 2), **_C3D}, second=True)],
    "max_pool1d": [Case([rnd(2, 3, 8)], _M1, second=True)],
    "max_pool1d_grad": [Case([rnd(2, 3, 8), rnd(2, 3, 4)], _M1, second=True)],
    "max_pool1d_select": [Case([rnd(2, 3, 8), rnd(2, 3, 8)], _M1, second=True)],
    "max_pool1d_indices": [Case([rnd(2, 3, 8)], _M1, nondiff=True)],
    "max_pool2d": [
        Case([rnd(2, 3, 4, 6)], _mp((2, 2), (2, 2), (0, 0)), second=True),
        Case([rnd(1, 2, 5, 6)], _mp((3, 3), (2, 1), (1, 1)), second=True),
        Case([rnd(1, 2, 6, 7)], _M2, second=True),
    ],
    "max_pool2d_grad": [Case([rnd(1, 2, 5, 6), rnd(1, 2, 3, 6)], _mp((3, 3), (2, 1), (1, 1)),
                             second=True),
                        Case([rnd(1, 2, 6, 7), rnd(1, 2, 4, 7)], _M2)],
    "max_pool2d_select": [Case([rnd(1, 2, 5, 6), rnd(1, 2, 5, 6)],
                               _mp((3, 3), (2, 1), (1, 1)), second=True),
                          Case([rnd(1, 2, 6, 7), rnd(1, 2, 6, 7)], _M2)],
    "max_pool2d_indices": [Case([rnd(1, 2, 6, 7)], _M2, nondiff=True)],
    "max_pool3d": [Case([rnd(1, 2, 3, 4, 5)], _M3, second=True)],
    "max_pool3d_grad": [Case([rnd(1, 2, 3, 4, 5), rnd(1, 2, 2, 3, 3)], _M3, second=True)],
    "max_pool3d_select": [Case([rnd(1, 2, 3, 4, 5), rnd(1, 2, 3, 4, 5)], _M3, second=True)],
    "max_pool3d_indices": [Case([rnd(1, 2, 3, 4, 5)], _M3, nondiff=True)],
    "avg_pool1d": [Case([rnd(2, 3, 8)], _A1, second=True)],
    "avg_pool1d_grad": [Case([rnd(2, 3, 5)], {"input_size": (8,), **_A1}, second=True)],
    "avg_pool2d": [
        Case([rnd(2, 3, 4, 6)], _ap((2, 2), (2, 2), (0, 0)), second=True),
        Case([rnd(1, 2, 5, 6)], _ap((3, 2), (2, 1), (1, 1), cip=False), second=True),
        Case([rnd(1, 2, 6, 7)], _A2, second=True),
        Case([rnd(1, 2, 6, 7)], _ap((3, 2), (2, 2), (1, 1), dv=5)),
    ],
    "avg_pool2d_grad": [
        Case([rnd(1, 2, 3, 7)], {"input_size": (5, 6), **_ap((3, 2), (2, 1), (1, 1),
                                                              cip=False)}, second=True),
        Case([rnd(1, 2, 4, 4)], {"input_size": (6, 7), **_A2}),
    ],
    "avg_pool3d": [Case([rnd(1, 2, 3, 4, 5)], _A3, second=True),
                   Case([rnd(1, 2, 3, 4, 5)], _ap((2, 2, 2), (2, 1, 2), (0, 0, 0), True, False))],
    "avg_pool3d_grad": [Case([rnd(1, 2, 2, 3, 3)], {"input_size": (3, 4, 5), **_A3},
                             second=True)],
})


CASES.update({  # integer and bit ops (graphnn/ops/integer.py)
    "floor_divide": [Case([rnd(3, 4), away(4)], nondiff=True),
                     Case([_ix(-7, -1, 5, 9, 0), _ix(3, -2, 2, -4, 5)], nondiff=True)],
    "remainder": [Case([rnd(3, 4), away(4)], second=True),
                  Case([_ix(-7, -1, 5, 9, 0), _ix(3, -2, 2, -4, 5)])],
    **{n: [Case([_ix(6, 3, -5, 0), _ix(3, 5, 12, -1)], nondiff=True),
           Case([rnd(2, 3) > 0, rnd(3) > 0], nondiff=True)]
       for n in ("bitwise_and", "bitwise_or", "bitwise_xor")},
    "bitwise_not": [Case([_ix(0, 5, -6, 7)], nondiff=True), Case([rnd(5) > 0], nondiff=True)],
    "cast": [Case([rnd(3, 4)], {"dtype": "float64"}, second=True),
             Case([rnd(3, 4) * 3.0], {"dtype": "int64"}, nondiff=True),
             Case([np.round(rnd(6))], {"dtype": "bool"}, nondiff=True),
             Case([_ix(1, -2, 3)], {"dtype": "float64"}, nondiff=True)],
})


# --- adaptive pooling and interpolate (graphnn/ops/adaptive.py, interp.py) ---
# uneven, overlapping adaptive windows (7 -> 3, 5 -> 3) and outputs larger than the input;
# scale factors exact in float32 so the ONNX Resize round trip reproduces the coordinates


def _ip(size, mode="nearest", sf=None, ac=False) -> dict[str, Any]:
    return {"size": size, "scale_factor": sf, "mode": mode, "align_corners": ac}


_AD = {1: ((2, 3, 7), (3,)), 2: ((1, 2, 5, 7), (3, 4)), 3: ((1, 2, 3, 5, 4), (2, 3, 3))}
for _n, (_xs, _os) in _AD.items():
    _g = _xs[:2] + _os
    CASES.update({
        f"adaptive_avg_pool{_n}d": [Case([rnd(*_xs)], {"output_size": _os}, second=True),
                                    Case([rnd(*_xs[:2], *(2,) * _n)],
                                         {"output_size": (3,) * _n})],
        f"adaptive_avg_pool{_n}d_grad": [Case([rnd(*_g)], {"input_size": _xs[2:]},
                                              second=True)],
        f"adaptive_max_pool{_n}d": [Case([rnd(*_xs)], {"output_size": _os}, second=True),
                                    Case([rnd(*_xs[:2], *(2,) * _n)],
                                         {"output_size": (3,) * _n})],
        f"adaptive_max_pool{_n}d_grad": [Case([rnd(*_xs), rnd(*_g)], {"output_size": _os},
                                              second=True)],
        f"adaptive_max_pool{_n}d_select": [Case([rnd(*_xs), rnd(*_xs)], {"output_size": _os},
                                                second=True)],
        f"adaptive_max_pool{_n}d_indices": [Case([rnd(*_xs)], {"output_size": _os},
                                                 nondiff=True)],
    })
CASES.update({
    "interpolate": [
        Case([rnd(2, 3, 5)], _ip((7,)), second=True),
        Case([rnd(1, 2, 3, 4)], _ip((4, 6), "nearest-exact", (1.5, 1.5)), second=True),
        Case([rnd(2, 2, 5)], _ip((8,), "linear", None, True), second=True),
        Case([rnd(1, 2, 3, 4)], _ip((6, 5), "bilinear", (2.0, 1.25)), second=True),
        Case([rnd(1, 2, 5, 4)], _ip((3, 2), "bilinear", None, False)),
        Case([rnd(1, 1, 2, 3, 2)], _ip((3, 4, 4), "trilinear", None, True)),
        Case([rnd(1, 2, 2, 3, 2)], _ip((4, 3, 3), "nearest", (2.0, 1.0, 1.5))),
        Case([rnd(1, 2, 3, 4)], _ip((5, 6), "bicubic"), second=True),
        Case([rnd(1, 1, 4, 3)], _ip((3, 5), "bicubic", None, True)),
    ],
    "interpolate_grad": [
        Case([rnd(2, 3, 7)], {"input_size": (5,), **_ip((7,))}, second=True),
        Case([rnd(1, 2, 6, 5)], {"input_size": (3, 4), **_ip((6, 5), "bilinear",
                                                             (2.0, 1.25))}, second=True),
        Case([rnd(1, 1, 3, 4, 4)], {"input_size": (2, 3, 2),
                                    **_ip((3, 4, 4), "trilinear", None, True)}),
        Case([rnd(1, 2, 5, 6)], {"input_size": (3, 4), **_ip((5, 6), "bicubic")},
             second=True),
    ],
})


# --- einsum (graphnn/ops/einsum.py): equations as the record stores them (letters only,
# explicit output); diagonals, letters summed inside one operand, several operands ---
CASES.update({
    "einsum": [
        Case([rnd(3, 4), rnd(4, 2)], {"equation": "ij,jk->ik"}, second=True),
        Case([rnd(2, 3, 4), rnd(2, 4, 2)], {"equation": "bij,bjk->bik"}, second=True),
        Case([rnd(3, 3)], {"equation": "ii->i"}, second=True),
        Case([rnd(2, 3)], {"equation": "ij->i"}, second=True),
        Case([rnd(3), rnd(2)], {"equation": "i,j->ij"}, second=True),
        Case([rnd(2, 2, 3), rnd(3)], {"equation": "iij,j->"}, second=True),
        Case([rnd(2, 3), rnd(3, 2), rnd(2, 2)], {"equation": "ij,jk,kl->li"}, second=True),
        Case([rnd(2, 3)], {"equation": "ij->ji"}),
    ],
})
