"""A node's dtype is the dtype of the value the interpreter computes for it, for every
registered op and case of tests/op_cases.py with its floating-point inputs turned into
int64, int8 or bool (exp of int64 is float64, of int8 float16; sum of bool is int64;
mean of int64 float64...), as NumPy computes them. Compiled code types its buffers and
its CuPy kernels' C locals by the node's dtype, so a wrong one truncates (int64 k / 3
was an integer division in a CuPy kernel)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphnn as gn
from tests.op_cases import CASES

#: ops whose dtype rule takes the logits' dtype, integer logits being refused by PyTorch
#: (graphnn's NumPy helpers compute them in floating point anyway)
INTEGER_LOGITS = {"cross_entropy", "nll_loss"}
OPS = sorted(n for n, op in gn.REGISTRY.items() if not op.leaf and n in CASES
             and n not in INTEGER_LOGITS)


@pytest.mark.parametrize("name", OPS)
def test_node_dtype_is_the_value_dtype_for_integer_inputs(name: str) -> None:
    checked = 0
    for case in CASES[name][:3]:
        for dtype in ("int64", "int8", "bool"):
            feeds = {f"x{i}": v.astype(dtype) if v.dtype.kind == "f" else v
                     for i, v in enumerate(case.inputs)}
            try:
                with gn.Graph() as g:
                    out = gn.bind(gn.REGISTRY[name], *[g.input(k, v.shape, v.dtype)
                                                      for k, v in feeds.items()], **case.params)
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    value = gn.run(g, feeds, outputs=[out]).value(out)
            except (gn.GraphError, TypeError, ValueError):
                continue  # the op refuses these inputs (at build or run time)
            assert np.asarray(value).dtype == out.dtype, (dtype, out.dtype, value.dtype)
            checked += 1
    if not checked:
        pytest.skip(f"{name} takes no integer or bool inputs")
