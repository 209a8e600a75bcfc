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
    "ge": [Case([rnd(3), rnd(3)], nondiff=True)],
    "eq": [Case([rnd(3), rnd(3)], nondiff=True)],
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
