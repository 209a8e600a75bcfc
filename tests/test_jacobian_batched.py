"""Batched Jacobians: batched (chunks 1, 7, all) == one-vector-per-sweep == finite
differences, on the fixed graphs, on random elementwise/reduction graphs and on random
linear-algebra graphs (matmul of every rank, transpose, reshape, flatten, broadcasting);
sliced fallback for ops without batched rules; Hessians; plan caching."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import graphnn as gn
from graphnn.run.jacobian import plan
from graphnn.testing import rel_err
from tests.test_jacobian import fd_jacobian, mlp
from tests.test_properties import build, recipes

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
CHUNKS = (1, 7, None)


def all_agree(g: gn.Graph, of: gn.Node, wrt: gn.Node, feeds: dict, fd: Any = None,
              tol: float = 1e-6) -> np.ndarray:
    """Every mode and chunk size gives the unbatched Jacobian (and ``fd`` when given)."""
    ref = np.asarray(gn.jacobian(g, of, wrt, feeds, mode="reverse", batched=False))
    for mode in ("forward", "reverse"):
        one = gn.jacobian(g, of, wrt, feeds, mode=mode, batched=False)
        assert rel_err(one, ref) < 1e-12 and one.passes == one.sweeps
        for chunk in CHUNKS:
            J = gn.jacobian(g, of, wrt, feeds, mode=mode, chunk=chunk)
            assert J.shape == of.shape + wrt.shape
            assert rel_err(J, ref) < 1e-12, (mode, chunk, rel_err(J, ref))
            total = wrt.size if mode == "forward" else of.size
            assert J.sweeps == total and J.chunk == min(chunk or total, total)
            assert J.passes == -(-total // J.chunk)
    if not plan(g, of, wrt).sliced:  # the same sweeps built as nodes and compiled
        for mode in ("forward", "reverse"):
            Jc = gn.compile_jacobian(g, of, wrt, mode=mode)(feeds)
            assert Jc.shape == of.shape + wrt.shape and Jc.passes == 1
            assert rel_err(Jc, ref) < 1e-12, (mode, rel_err(Jc, ref))
    if fd is not None:
        assert rel_err(ref, fd) < tol, rel_err(ref, fd)
    return ref


def test_fixed_graphs_batched(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    for of, wrt in ((y, x), (y, W1), (L, x)):
        all_agree(g, of, wrt, feeds, fd_jacobian(g, of, wrt, feeds))
    with gn.Graph() as g2:
        z = gn.input("z", shape=(2, 4))
        outs = [gn.softmax(z, axis=-1), gn.log_softmax(z, axis=0), gn.max(z, axis=1),
                gn.mean(z, axis=0, keepdims=True), gn.transpose(z), gn.flatten(z),
                gn.sum(gn.reshape(z, (4, 2)) @ z, axis=0)]
    zf = {"z": rng.normal(size=(2, 4))}
    for o in outs:
        all_agree(g2, o, z, zf, fd_jacobian(g2, o, z, zf))


def test_conv_and_pool_fall_back_to_slices(rng: np.random.Generator) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(1, 2, 4, 4))
        w = gn.param("w", rng.normal(size=(3, 2, 3, 3)))
        y = gn.max_pool2d(gn.tanh(gn.conv2d(x, w, stride=1, padding=1)), 2)
    feeds = {"x": rng.normal(size=(1, 2, 4, 4))}
    all_agree(g, y, x, feeds, fd_jacobian(g, y, x, feeds))
    J = gn.jacobian(g, y, w, feeds, mode="forward")
    assert set(J.sliced) == {"conv2d", "max_pool2d"}
    assert gn.jacobian(g, y, x, feeds, batched=False).sliced == ()
    with pytest.raises(gn.GradError, match="conv2d, max_pool2d have batched rules for arrays"):
        gn.compile_jacobian(g, y, x)


def test_compiled_jacobian(rng: np.random.Generator) -> None:
    """Compiled once, evaluated at several points; wrt an intermediate node or a param;
    an output that does not depend on wrt; the generated code is plain NumPy."""
    g, x, W1, y, L, feeds = mlp(rng)
    jac = gn.compile_jacobian(g, y, x)
    assert jac.mode == "reverse" and "def compute(" in jac.source and "@" in jac.source
    for _ in range(3):
        f = {"x": rng.normal(size=x.shape)}
        assert rel_err(jac(f), gn.jacobian(g, y, x, f)) < 1e-12
    h = y.inputs[0]
    for wrt in (h, W1):
        for mode in ("forward", "reverse"):
            Jc = gn.compile_jacobian(g, y, wrt, mode=mode)(feeds)
            assert rel_err(Jc, gn.jacobian(g, y, wrt, feeds, mode=mode)) < 1e-12
    with g:
        other = gn.input("other", shape=(2,))
    z = gn.compile_jacobian(g, y, other)(feeds)
    assert z.shape == y.shape + (2,) and not np.any(z)
    n = len(g.nodes)
    gn.compile_jacobian(g, L, x, mode="forward")
    assert len(g.nodes) == n        # the user's graph is left as it was
    with pytest.raises(gn.GradError, match="mode must be"):
        gn.compile_jacobian(g, y, x, mode="sideways")


@SETTINGS
@given(recipes())
def test_random_graphs_batched_equal_unbatched_and_fd(recipe: dict) -> None:
    g, feeds, _ = build(recipe)
    out = g.node("loss").inputs[0].inputs[0]      # the recipe's last node (before the loss)
    for name in feeds:
        x = g.node(name)
        fd, fd2 = fd_jacobian(g, out, x, feeds), fd_jacobian(g, out, x, feeds, eps=1e-4)
        assume(rel_err(fd, fd2) < 1e-4)            # not on a kink
        all_agree(g, out, x, feeds, fd, tol=1e-5)


@st.composite
def linalg_graphs(draw: Any) -> tuple[gn.Graph, gn.Node, gn.Node, dict]:
    """x of a random rank through matmuls (vector, matrix, batched), transposes,
    reshapes, flattens, broadcasting adds and axis reductions."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    shape = draw(st.sampled_from([(3,), (2, 3), (2, 2, 3)]))
    with gn.Graph("linalg") as g:
        x = gn.input("x", shape=shape)
        h = x
        for _ in range(draw(st.integers(1, 5))):
            kind = draw(st.sampled_from(["left", "right", "T", "reshape", "flatten", "bcast",
                                         "sum", "tanh", "batch"]))
            h = _step(kind, h, rng, draw(st.booleans()))
    return g, h, x, {"x": rng.normal(size=shape)}


def _step(kind: str, h: gn.Node, rng: np.random.Generator, flag: bool) -> gn.Node:
    s = h.shape
    if kind == "left" and s:                       # W @ h (h a vector or a stack)
        k = s[-2] if len(s) > 1 else s[0]
        return gn.param(None, rng.normal(size=(2, k))) @ h if len(s) <= 2 else \
            gn.matmul(gn.param(None, rng.normal(size=(2, k))), h)
    if kind == "right" and s:                      # h @ W, W a vector when flag
        return h @ gn.param(None, rng.normal(size=(s[-1],) if flag else (s[-1], 2)))
    if kind == "batch" and len(s) >= 2:           # a batched matrix on one side
        return gn.matmul(gn.param(None, rng.normal(size=(2,) + (s[-2], s[-2]))), h)
    if kind == "T" and len(s) >= 2:
        return gn.transpose(h) if flag else gn.transpose(h, axes=(len(s) - 1,) + tuple(
            range(len(s) - 1)))
    if kind == "reshape" and h.size > 1:
        return gn.reshape(h, (-1,) if flag else (1, h.size))
    if kind == "flatten" and len(s) >= 2:
        return gn.flatten(h, start_dim=0 if flag else 1)
    if kind == "bcast":
        return h + gn.param(None, rng.normal(size=(2,) + s if flag else s))
    if kind == "sum" and s:
        return gn.sum(h, axis=-1 if flag else 0, keepdims=flag)
    return gn.tanh(h) if s else h * h


@SETTINGS
@given(linalg_graphs())
def test_random_linalg_graphs_batched(case: tuple) -> None:
    g, out, x, feeds = case
    all_agree(g, out, x, feeds, fd_jacobian(g, out, x, feeds))


def test_hessian_batched(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    ref = gn.hessian(g, L, x, feeds)
    gnode = g.node("dL_dx")
    H = all_agree(g, gnode, x, feeds)
    assert np.allclose(H, ref, atol=1e-12) and np.allclose(H, H.T, atol=1e-10)
    Hw = gn.hessian(g, L, W1, feeds, mode="reverse")
    Hw1 = gn.jacobian(g, g.node("dL_dW1"), W1, feeds, mode="forward", batched=False)
    assert Hw.shape == (4, 5, 4, 5) and rel_err(Hw, Hw1) < 1e-12


def test_plan_is_cached_until_the_graph_changes(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    p = plan(g, y, x)
    assert plan(g, "y", "x") is p and gn.jacobian(g, y, x, feeds).cost is p.cost
    with g:
        gn.exp(y)
    assert plan(g, y, x) is not p


def test_bad_chunk_is_refused(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    with pytest.raises(gn.GradError, match="chunk"):
        gn.jacobian(g, y, x, feeds, chunk=0)


def test_forward_seed_is_not_multiplied_by_the_identity(rng: np.random.Generator) -> None:
    """The forward sweep's seed stays symbolic (``Basis``) into the matmul that reads it:
    d(W @ x)/dx is W itself (exact even where W holds inf, which a product with the
    identity would turn into NaN: 0 * inf), and so is d(x @ M)/dx = M.T, in chunks too
    and compiled (no identity in the generated code). Elsewhere the seed is the identity
    as an array: wrt itself, and a dtype-changing product."""
    W = rng.normal(size=(4, 5))
    W[1, 3] = np.inf
    M = rng.normal(size=(5, 3))
    with gn.Graph() as g:
        x = gn.input("x", shape=(5,))
        y = gn.param("W", W) @ x
        z = x @ gn.param("M", M)
        w32 = gn.param("W32", rng.normal(size=(4, 5)).astype("float32")) @ x
    feeds = {"x": rng.normal(size=5)}
    for chunk in (None, 2):
        np.testing.assert_array_equal(gn.jacobian(g, y, x, feeds, mode="forward",
                                                  chunk=chunk), W)
        np.testing.assert_array_equal(gn.jacobian(g, z, x, feeds, mode="forward",
                                                  chunk=chunk), M.T)
    jac = gn.compile_jacobian(g, y, x, mode="forward")
    assert "eye" not in jac.source
    np.testing.assert_array_equal(jac(feeds), W)
    np.testing.assert_array_equal(gn.jacobian(g, x, x, feeds, mode="forward"), np.eye(5))
    J32 = gn.jacobian(g, w32, x, feeds, mode="forward")
    np.testing.assert_allclose(J32, g.value_of("W32").astype("float64"), rtol=0, atol=0)
    assert J32.dtype == np.float64
