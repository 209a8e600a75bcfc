"""graphnn against PyTorch (float64): every op's edge points (tests/op_edges.py) and the
unary ops of graphnn/ops/unary.py on random inputs. Skipped when torch is not installed,
except the check that the edge table covers every elementwise op."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.core.op import FUNCTIONS
from graphnn.ops import unary
from tests.op_cases import CASES
from tests.op_edges import EDGES, Edge

EDGE_CASES = [(n, k) for n, es in EDGES.items() for k in range(len(es))]


def test_every_elementwise_op_has_edge_points() -> None:
    missing = sorted(n for n, op in gn.REGISTRY.items() if op.elementwise and n not in EDGES)
    assert not missing, f"elementwise ops without edge points in tests/op_edges.py: {missing}"


def _graphnn(name: str, inputs: list[np.ndarray], params: dict[str, Any],
             grad: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    g = gn.Graph(f"edge_{name}")
    with g:
        xs = [gn.input(f"x{i}", shape=v.shape, dtype=v.dtype) for i, v in enumerate(inputs)]
        y = FUNCTIONS[name](*xs, **params).named("y") if name in FUNCTIONS else \
            gn.bind(gn.REGISTRY[name], *xs, **params).named("y")
        loss = gn.sum(y)
    feeds = {f"x{i}": v for i, v in enumerate(inputs)}
    with np.errstate(all="ignore"):
        wrt = [x for x in xs if x.dtype.kind == "f"]
        r = gn.run(g, feeds, outputs=[y], wrt=wrt if grad else None, loss=loss if grad else None)
    return r.value(y), [r.grad(x) if x.dtype.kind == "f" else np.zeros(x.shape)
                        for x in xs] if grad else []


def _torch(torch: Any, e: Edge) -> tuple[np.ndarray, list[np.ndarray]]:
    ts = [torch.tensor(v) if v.dtype.kind in "biu" else
          torch.tensor(v, dtype=torch.float64, requires_grad=e.grad) for v in e.inputs]
    out = e.torch(torch, *ts)
    if not e.grad:
        return out.detach().numpy(), []
    diff = [t for t in ts if t.requires_grad]
    dg = iter(torch.autograd.grad(out.sum(), diff, allow_unused=True))
    grads = [next(dg) if t.requires_grad else None for t in ts]
    return out.detach().numpy(), [np.zeros(v.shape) if gr is None else gr.numpy()
                                  for v, gr in zip(e.inputs, grads)]


def _same(got: Any, want: Any, what: str, rtol: float = 1e-13) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-300, equal_nan=True,
                               err_msg=what)


@pytest.mark.parametrize("name,k", EDGE_CASES)
def test_edge_points_match_torch(name: str, k: int) -> None:
    torch = pytest.importorskip("torch")
    e = EDGES[name][k]
    v, grads = _graphnn(name, e.inputs, e.params, e.grad)
    tv, tgrads = _torch(torch, e)
    _same(v, tv, f"{name} value at {e.inputs}")
    for i, (gv, tg) in enumerate(zip(grads, tgrads)):
        _same(gv, tg, f"{name} d/d input {i} at {e.inputs}")


@pytest.mark.parametrize("name", unary.__all__)
def test_unary_ops_match_torch_on_random_inputs(name: str) -> None:
    torch = pytest.importorskip("torch")
    x = np.resize(CASES[name][0].inputs[0], 500) * np.random.default_rng(5).uniform(
        0.9, 1.0, size=500)
    tname = {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}.get(name, name)
    v, (gx,) = _graphnn(name, [x], {}, True)
    tv, (tg,) = _torch(torch, Edge([x], lambda t, a: getattr(t, tname)(a)))
    _same(v, tv, f"{name} value", rtol=1e-14)
    _same(gx, tg, f"{name} gradient", rtol=1e-13)
