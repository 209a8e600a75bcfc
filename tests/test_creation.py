"""Creation ops (graphnn/ops/creation.py) against NumPy / PyTorch, the passes' respect for
random ops (pure=False), size budgets before allocation, zero gradients of *_like, and
ONNX round trips of the random ops."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.passes.cse import cse
from graphnn.passes.fold import fold
from graphnn.passes.optimize import optimize


@pytest.mark.parametrize("ours,theirs", [
    (lambda: gn.zeros(2, 3), lambda t: t.zeros(2, 3, dtype=t.float64)),
    (lambda: gn.ones((4,)), lambda t: t.ones(4, dtype=t.float64)),
    (lambda: gn.full((2, 2), -1.5), lambda t: t.full((2, 2), -1.5, dtype=t.float64)),
    (lambda: gn.full((3,), 2), lambda t: t.full((3,), 2)),
    (lambda: gn.arange(5), lambda t: t.arange(5)),
    (lambda: gn.arange(1, 2.5, 0.5), lambda t: t.arange(1, 2.5, 0.5, dtype=t.float64)),
    (lambda: gn.arange(5, -3, -2), lambda t: t.arange(5, -3, -2)),
    (lambda: gn.arange(0, 1, 0.1), lambda t: t.arange(0, 1, 0.1, dtype=t.float64)),
    (lambda: gn.arange(3, 3), lambda t: t.arange(3, 3)),
    (lambda: gn.linspace(-1, 2, 7), lambda t: t.linspace(-1, 2, 7, dtype=t.float64)),
    (lambda: gn.linspace(0, 1, 1), lambda t: t.linspace(0, 1, 1, dtype=t.float64)),
    (lambda: gn.linspace(0, 1, 0), lambda t: t.linspace(0, 1, 0, dtype=t.float64)),
    (lambda: gn.eye(3), lambda t: t.eye(3, dtype=t.float64)),
    (lambda: gn.eye(2, 4), lambda t: t.eye(2, 4, dtype=t.float64)),
    (lambda: gn.zeros(0, 3), lambda t: t.zeros(0, 3, dtype=t.float64)),
])
def test_values_match_torch(ours: Any, theirs: Any) -> None:
    torch = pytest.importorskip("torch")
    want = theirs(torch).numpy()
    got = ours()  # outside a graph: arrays
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-15)
    with gn.Graph() as g:  # inside a graph: a node with the same numbers
        node = ours().named("out")
    assert node.shape == want.shape and node.dtype == want.dtype
    np.testing.assert_allclose(gn.run(g, {}).value(node), want, rtol=1e-15)


def test_like_ops_take_shape_and_dtype_and_have_zero_gradient() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(2, 3))
        y = gn.sum(x * gn.ones_like(x) + gn.zeros_like(x) + gn.full_like(x, 2.0)
                   + gn.rand_like(x, seed=1) + gn.randn_like(x, seed=2))
    r = gn.run(g, {"x": np.arange(6.0).reshape(2, 3)}, wrt=[x], loss=y)
    np.testing.assert_allclose(r.grad(x), np.ones((2, 3)))  # only x * 1 contributes
    assert gn.full_like(np.zeros(2, dtype=np.int64), 3.0).dtype == np.int64


def test_seeds_are_deterministic_and_backends_agree() -> None:
    np.testing.assert_array_equal(gn.rand(4, seed=3), gn.rand(4, seed=3))
    assert not np.array_equal(gn.rand(4, seed=3), gn.rand(4, seed=4))
    with gn.Graph() as g:
        r = gn.randn(3, 2, seed=9).named("r")
    f = gn.compile(g, outputs=[r])
    np.testing.assert_array_equal(f({}).value(r), gn.run(g, {}).value(r))
    np.testing.assert_array_equal(gn.run(g, {}).value(r),
                                  np.random.default_rng(9).standard_normal((3, 2)))


def test_unseeded_random_ops_draw_fresh_numbers_every_run() -> None:
    with gn.Graph() as g:
        r = gn.rand(50).named("r")
    assert not np.array_equal(gn.run(g, {}).value(r), gn.run(g, {}).value(r))


@pytest.mark.parametrize("pass_", [cse, fold, optimize])
def test_passes_never_merge_or_fold_random_ops(pass_: Any) -> None:
    with gn.Graph() as g:
        a = gn.rand(3)
        b = gn.rand(3)
        y = (a - b).named("y")
    g2, outs, _ = pass_(g, [y])
    names = [n.op.name for n in g2.nodes]
    assert names.count("rand") == 2, names
    assert not np.all(gn.run(g2, {}).value(outs[0]) == 0.0)


def test_pure_creation_ops_merge() -> None:
    with gn.Graph() as g:
        y = (gn.zeros(3) + gn.zeros(3)).named("y")
    g2, outs, _ = cse(g, [y])
    assert [n.op.name for n in g2.nodes].count("full") == 1
    np.testing.assert_array_equal(gn.run(g2, {}).value(outs[0]), np.zeros(3))


@pytest.mark.parametrize("make", [
    lambda: gn.zeros(10**6, 10**6), lambda: gn.rand(10**6, 10**6, seed=0),
    lambda: gn.arange(0, 10**13), lambda: gn.linspace(0, 1, 10**13), lambda: gn.eye(10**7)])
def test_sizes_are_checked_before_allocation(make: Any) -> None:
    with pytest.raises(ValueError, match="GRAPHNN_MAX_BYTES"):
        make()
    with gn.Graph(), pytest.raises(gn.GraphError, match="GRAPHNN_MAX_BYTES"):
        make()


@pytest.mark.parametrize("make,match", [
    (lambda: gn.arange(0, 5, 0), "step must be nonzero"),
    (lambda: gn.arange(0, 5, -1), "step sign"),
    (lambda: gn.arange(0, float("inf")), "finite"),
    (lambda: gn.linspace(0, 1, -1), "non-negative"),
    (lambda: gn.zeros(-1, 2), "non-negative"),
])
def test_bad_arguments_raise_at_build_time(make: Any, match: str) -> None:
    with gn.Graph(), pytest.raises(gn.GraphError, match=match):
        make()


def test_creation_ops_cannot_be_differentiated_through_to_nothing() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        y = gn.sum(x * gn.arange(3, dtype="float64"))
    r = gn.run(g, {"x": np.ones(3)}, wrt=[x], loss=y)
    np.testing.assert_allclose(r.grad(x), [0.0, 1.0, 2.0])


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None, reason="needs onnx")
@pytest.mark.parametrize("make", [lambda x: gn.rand(2, 3, seed=5),
                                  lambda x: gn.randn(4, seed=6),
                                  lambda x: gn.rand_like(x, seed=7),
                                  lambda x: gn.randn_like(x, seed=8),
                                  lambda x: gn.eye(3, 2) + 0.0 * gn.sum(x)])
def test_random_and_eye_round_trip_through_onnx(make: Any) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(2, 2))
        y = make(x).named("out")
    model = gn.to_onnx(g, outputs=[y])
    back = gn.from_onnx(model)
    feeds = {"x": np.ones((2, 2))} if "x" in back else {}
    np.testing.assert_allclose(gn.run(back, feeds).value("out"),
                               gn.run(g, {"x": np.ones((2, 2))}).value(y), rtol=1e-6)
