"""The op test table: every registered op needs an entry here (test_registry_complete).

A case gives input values (float64) and static params. ``nondiff`` ops are masks with
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
}
