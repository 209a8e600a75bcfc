"""Full Jacobians (forward = reverse = finite differences), costs, Hessians, local
Jacobians and the chain of Jacobian products."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from graphnn.testing import rel_err


def fd_jacobian(g: gn.Graph, of: gn.Node, wrt: gn.Node, feeds: dict, eps: float = 1e-6):
    """Central finite differences of ``of`` w.r.t. the input or param ``wrt``."""
    base = np.array(feeds[wrt.name] if wrt.name in feeds else g.value_of(wrt), dtype=float)
    J = np.zeros((of.size, base.size))
    flat = base.reshape(-1)
    for j in range(base.size):
        vals = []
        for s in (+1, -1):
            x = flat.copy()
            x[j] += s * eps
            r = gn.run(g, {**feeds, wrt.name: x.reshape(base.shape)}, outputs=[of])
            vals.append(np.asarray(r.value(of)).reshape(-1))
        J[:, j] = (vals[0] - vals[1]) / (2 * eps)
    return J.reshape(of.shape + wrt.shape)


def check_all_modes(g, of, wrt, feeds, tol=1e-6):
    Jf = gn.jacobian(g, of, wrt, feeds, mode="forward")
    Jr = gn.jacobian(g, of, wrt, feeds, mode="reverse")
    Jfd = fd_jacobian(g, of, wrt, feeds)
    assert Jf.shape == Jr.shape == of.shape + wrt.shape
    assert rel_err(Jf, Jr) < 1e-12
    assert rel_err(Jr, Jfd) < tol, rel_err(Jr, Jfd)
    assert Jf.sweeps == wrt.size and Jr.sweeps == of.size
    return Jf, Jr


def mlp(rng: np.random.Generator):
    with gn.Graph("mlp") as g:
        x = gn.input("x", shape=(5,))
        W1 = gn.param("W1", rng.normal(size=(4, 5)))
        b1 = gn.param("b1", rng.normal(size=4))
        W2 = gn.param("W2", rng.normal(size=(3, 4)))
        h = gn.tanh(W1 @ x + b1)
        y = gn.sigmoid(W2 @ h).named("y")
        L = gn.sum(y * y).named("L")
    return g, x, W1, y, L, {"x": rng.normal(size=5)}


def test_mlp_jacobians_forward_reverse_fd(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    check_all_modes(g, y, x, feeds)
    check_all_modes(g, y, W1, feeds)   # w.r.t. a param: shape (3, 4, 5)
    check_all_modes(g, L, x, feeds)


def test_softmax_jacobian(rng: np.random.Generator) -> None:
    with gn.Graph() as g:
        z = gn.input("z", shape=(2, 4))
        s = gn.softmax(z, axis=-1)
        ls = gn.log_softmax(z, axis=0)
    feeds = {"z": rng.normal(size=(2, 4))}
    Jf, _ = check_all_modes(g, s, z, feeds)
    sv = gn.run(g, feeds, outputs=[s]).value(s)[0]
    assert np.allclose(np.asarray(Jf)[0, :, 0, :], np.diag(sv) - np.outer(sv, sv))
    check_all_modes(g, ls, z, feeds)


def test_conv_jacobian(rng: np.random.Generator) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(1, 2, 5, 5))
        w = gn.param("w", rng.normal(size=(3, 2, 3, 3)))
        y = gn.conv2d(x, w, stride=1, padding=1)
    feeds = {"x": rng.normal(size=(1, 2, 5, 5))}
    check_all_modes(g, y, x, feeds)
    check_all_modes(g, y, w, feeds)
    lj = gn.local_jacobians(gn.run(g, feeds))
    assert lj[y, x].kind == "sparse"


def test_pool_jacobian(rng: np.random.Generator) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(1, 2, 4, 4))
        y = gn.max_pool2d(x, 2)
        a = gn.avg_pool2d(x, 2)
    feeds = {"x": rng.permutation(32).reshape(1, 2, 4, 4).astype(float)}  # no ties
    check_all_modes(g, y, x, feeds)
    check_all_modes(g, a, x, feeds)
    assert gn.local_jacobians(gn.run(g, feeds, outputs=[y]))[y, x].kind == "sparse"


def test_jacobian_is_an_array_with_cost_info(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    J = gn.jacobian(g, y, x, feeds)
    assert isinstance(J, np.ndarray) and type(np.asarray(J)) is np.ndarray
    assert np.asarray(J).shape == (3, 5) and J.matrix.shape == (3, 5)
    assert J.mode == "reverse" and J.cost is not None and J.madds == J.cost.reverse_madds
    assert J.seconds >= 0
    with pytest.raises(gn.GradError):
        gn.jacobian(g, y, x, feeds, mode="sideways")


def test_cost_shows_reverse_wins_for_scalar_loss_forward_for_few_inputs() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(50,))
        W = gn.param("W", np.ones((20, 50)))
        L = gn.sum(gn.tanh(W @ x))
        s = gn.input("s")
        V = gn.param("V", np.ones((30,)))
        wide = gn.sigmoid(V * s)            # 1 input element, 30 outputs
    c = gn.jacobian_cost(g, L, x)
    assert (c.forward_sweeps, c.reverse_sweeps) == (50, 1)
    assert c.best == "reverse" and c.reverse_madds * 50 == c.forward_madds
    assert c.sweep_madds == 20 * 50 + 20 + 20  # matmul + tanh + sum
    c2 = gn.jacobian_cost(g, wide, s)
    assert c2.best == "forward" and c2.reverse_madds == 30 * c2.forward_madds
    assert "forward mode is 30x cheaper" in str(c2)
    assert gn.jacobian(g, wide, s, {"s": 0.5}).mode == "forward"


def test_jacobian_wrt_intermediate_and_unrelated(rng: np.random.Generator) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        u = gn.input("u", shape=(2,))
        h = gn.exp(x).named("h")
        y = gn.tanh(h * 2.0).named("y")
    feeds = {"x": rng.normal(size=3), "u": np.zeros(2)}
    hv = np.exp(feeds["x"])
    expect = np.diag(2.0 * (1 - np.tanh(2 * hv) ** 2))
    for mode in ("forward", "reverse"):
        assert np.allclose(gn.jacobian(g, y, h, feeds, mode=mode), expect)
        assert np.array_equal(gn.jacobian(g, y, u, feeds, mode=mode), np.zeros((3, 2)))


def test_hessian_matches_finite_differences_of_the_gradient(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    H = gn.hessian(g, L, x, feeds)
    assert H.shape == (5, 5) and np.allclose(H, np.asarray(H).T, atol=1e-10)
    n_nodes = len(g.nodes)
    H2 = gn.hessian(g, L, x, feeds)   # gradient nodes are reused
    assert len(g.nodes) == n_nodes and np.array_equal(H, H2)
    assert np.allclose(gn.hessian(g, L, x, feeds, mode="reverse"), H, atol=1e-12)

    def grad_at(v):
        return gn.run(g, {"x": v}, wrt=[x]).grad(x)

    fd = np.zeros((5, 5))
    for j in range(5):
        e = np.zeros(5)
        e[j] = 1e-5
        fd[:, j] = (grad_at(feeds["x"] + e) - grad_at(feeds["x"] - e)) / 2e-5
    assert rel_err(H, fd) < 1e-6
    with pytest.raises(gn.GradError):
        gn.hessian(g, y, x, feeds)


def test_local_jacobians_are_the_nodes_jacobians(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    r = gn.run(g, feeds)
    lj = gn.local_jacobians(r)
    assert len(lj) > 5
    total: dict[tuple[int, int], np.ndarray] = {}   # y * y: one entry per input slot
    for e in lj:
        key = (e.node.id, e.input.id)
        total[key] = total.get(key, 0) + e.matrix
    for (n, i), M in total.items():
        J = gn.jacobian(g, g.nodes[n], g.nodes[i], feeds, mode="forward")
        assert np.allclose(M, J.reshape(M.shape)), (g.nodes[n], g.nodes[i])
    mm = next(e for e in lj if e.node.op.name == "matmul" and e.input is x)
    assert mm.kind == "dense" and np.array_equal(mm.matrix, g.value_of(W1))
    assert next(e for e in lj if e.node.op.name == "tanh").kind == "diagonal"
    assert next(e for e in lj if e.node.op.name == "add").kind == "identity"
    assert lj[mm.node, W1].kind == "sparse"   # d(Wx)/dW: one x per row
    small = gn.local_jacobians(r, max_entries=10)
    assert any(e.kind == "skipped" for e in small)
    assert "4 x 5 dense" in str(lj)


def test_jacobian_chain_orders_agree_and_count_products(rng: np.random.Generator) -> None:
    g, x, W1, y, L, feeds = mlp(rng)
    r = gn.run(g, feeds)
    for of in (y, L):
        ch = gn.jacobian_chain(r, of, x)
        J = np.asarray(gn.jacobian(g, of, x, feeds)).reshape(of.size, -1)
        assert np.allclose(ch.matrix, J) and np.allclose(ch.matrix_reverse, J)
        for p in ch.forward + ch.reverse:
            (a, b), (b2, c) = p.shapes
            assert b == b2 and p.madds == a * b * c
    ch = gn.jacobian_chain(r, L, x)
    assert ch.reverse_madds < ch.forward_madds     # scalar output: reverse is cheaper
    assert "reverse order" in str(ch) and "forward order" in str(ch)
