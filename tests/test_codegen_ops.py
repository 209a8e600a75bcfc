"""Op-table-driven codegen test: every registered op (tests/op_cases.py) compiles, and its
compiled value and gradients (through the op's vjp graph) equal the interpreter's; the
CuPy source of each compiles as Python."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from tests.test_ops_table import ALL, with_loss


@pytest.mark.parametrize("fused", [True, False], ids=["optimized", "unoptimized"])
@pytest.mark.parametrize("name,k", ALL)
def test_every_op_compiles_and_matches(name: str, k: int, fused: bool) -> None:
    g, out, loss, feeds, wrt = with_loss(name, k)
    f = gn.compile(g, outputs=[out, loss], wrt=wrt, loss=loss, optimize=fused)
    r = gn.run(g, feeds, outputs=[out, loss], wrt=wrt, loss=loss)
    assert "graphnn" not in f.source.replace(f"graphnn-compiled graph {g.name!r}", ""), \
        "generated modules must not import graphnn (helpers must be self-contained)"
    c = f(feeds)
    np.testing.assert_allclose(c[out.name], r.value(out), rtol=1e-10, atol=1e-13)
    assert np.asarray(c[out.name]).dtype == np.asarray(r.value(out)).dtype
    for x in wrt:
        np.testing.assert_allclose(c.grad(x), r.grad(x), rtol=1e-10, atol=1e-13,
                                   err_msg=f"grad {x.name}")
    fc = gn.compile(g, outputs=[out, loss], wrt=wrt, loss=loss, backend="cupy", optimize=fused)
    compile(fc.source, f"<cupy {name}>", "exec")
