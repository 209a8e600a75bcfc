"""Core IR, DSL, interpreter and autodiff: lecture numbers, errors, scale."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphnn as gn
from graphnn.testing import check_grads, rel_err


def lecture():
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        f = (d * z).named("f")
    return g, x, y, z, d, f


def test_lecture_numbers_forward_and_backward() -> None:
    g, x, y, z, d, f = lecture()
    r = gn.run(g, {"x": 1, "y": -3, "z": 4}, wrt=[x, y, z])
    assert float(r.value(d)) == -2.0 and float(r.value(f)) == -8.0
    assert float(r.grad(z)) == -2.0            # df/dz = d
    assert float(r.grad(d)) == 4.0             # df/dd = z
    assert float(r.grad(x)) == float(r.grad(y)) == 4.0
    assert r.value("f") == r["f"] == r.value(f)


def test_fan_out_sums_gradients() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        f = x * x + 3.0 * x            # x feeds three consumers
    seen = []
    r = gn.run(g, {"x": 2.0}, wrt=[x],
               on_accumulate=lambda tgt, src, prev, c, tot: seen.append((tgt.name, prev, c, tot)))
    assert float(r.grad(x)) == 2 * 2.0 + 3.0
    assert [s[0] for s in seen] == ["x", "x"]
    assert all(np.isclose(p + c, t) for _, p, c, t in seen)
    assert float(r.value(f)) == 10.0


def test_operators_with_scalars_on_either_side_keep_dtype() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(2,), dtype="float32")
        y = 2 - x * 3.0 / (1 + x) ** 2 + np.float64(1.0) * -x
    assert y.dtype == np.float32
    r = gn.run(g, {"x": [1.0, 2.0]}, wrt=[x], seed=np.ones(2))
    assert r.value(y).dtype == np.float32 and r.grad(x).dtype == np.float32
    xv = np.array([1.0, 2.0])
    np.testing.assert_allclose(r.value(y), 2 - xv * 3 / (1 + xv) ** 2 - xv, rtol=1e-6)


def test_broadcasting_gradients_are_summed_back() -> None:
    rng = np.random.default_rng(0)
    with gn.Graph() as g:
        a = gn.input("a", shape=(4, 3))
        b = gn.param("b", rng.normal(size=(3,)))
        c = gn.param("c", 0.5)
        gn.sum(gn.tanh(a * b + c) ** 2)
    rep = check_grads(g, {"a": rng.normal(size=(4, 3))}, wrt=["b", "c"])
    assert rep.ok, str(rep)
    r = gn.run(g, {"a": np.ones((4, 3))}, wrt=["b", "c"])
    assert r.grad("b").shape == (3,) and r.grad("c").shape == ()


def test_neuron_layer_and_mlp_match_finite_differences() -> None:
    rng = np.random.default_rng(1)
    with gn.Graph("mlp") as g:
        x = gn.input("x", shape=(3, 1))
        W1 = gn.param("W1", rng.normal(size=(4, 3)))
        b1 = gn.param("b1", rng.normal(size=(4, 1)))
        W2 = gn.param("W2", rng.normal(size=(2, 4)))
        b2 = gn.param("b2", rng.normal(size=(2, 1)))
        h = gn.sigmoid(W1 @ x + b1)
        o = gn.sigmoid(W2 @ h + b2)
        t = gn.input("t", shape=(2, 1))
        gn.mul(0.5, gn.sum((o - t) ** 2), name="loss")
    assert h.shape == (4, 1) and o.shape == (2, 1)
    rep = check_grads(g, {"x": rng.normal(size=(3, 1)), "t": rng.normal(size=(2, 1))},
                      wrt=["W1", "b1", "W2", "b2", "x"])
    assert rep.ok, str(rep)


def test_symbolic_grad_and_grad_of_grad() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        y = x ** 3 + gn.exp(x)
    dy = gn.grad(y, x)
    d2y = gn.grad(dy, x)
    assert dy.role == "grad" and dy.name == f"d{y.name}_dx"
    r = gn.run(g, {"x": 0.7}, outputs=[dy, d2y])
    np.testing.assert_allclose(r.value(dy), 3 * 0.7 ** 2 + np.exp(0.7))
    np.testing.assert_allclose(r.value(d2y), 6 * 0.7 + np.exp(0.7))
    assert g.default_outputs() == [y]  # gradient nodes read y but y stays the output


def test_hessian_vector_product_of_matmul_graph() -> None:
    rng = np.random.default_rng(2)
    A = rng.normal(size=(3, 3))
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        f = gn.sum(gn.tanh(gn.const(A) @ x) ** 2)
    (gx,) = gn.grad(f, [x])
    v = rng.normal(size=3)
    with g:
        hv_scalar = gn.sum(gx * gn.const(v))
    (hv,) = gn.grad(hv_scalar, [x])
    x0 = rng.normal(size=3)
    got = gn.run(g, {"x": x0}, outputs=[hv]).value(hv)

    def grad_at(xv):
        return gn.run(g, {"x": xv}, outputs=[gx]).value(gx)

    eps = 1e-6
    fd = (grad_at(x0 + eps * v) - grad_at(x0 - eps * v)) / (2 * eps)
    assert rel_err(got, fd) < 1e-6


def test_names_are_readable_unique_and_kept() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        a = x + 1.0
        b = x + 2.0
        c = (a * b).named("c")
    assert a.name == "add_1" and b.name == "add_2" and c.name == "c"
    with pytest.raises(gn.GraphError, match="already used"):
        with g:
            gn.input("x")
    with pytest.raises(gn.GraphError, match="already used"):
        b.named("c")
    assert g["c"] is c and "c" in g


def test_nodes_are_immutable() -> None:
    with gn.Graph():
        x = gn.input("x")
    with pytest.raises(AttributeError):
        x.shape = (2,)
    with pytest.raises(TypeError):
        x.params["shape"] = (3,)


LOC = re.compile(r"test_core\.py:\d+")


def test_shape_mismatch_names_op_nodes_shapes_and_location() -> None:
    with gn.Graph():
        a = gn.input("a", shape=(2, 3))
        b = gn.input("b", shape=(4,))
        with pytest.raises(gn.ShapeError) as ei:
            a + b
    msg = str(ei.value)
    assert "add" in msg and "'a'" in msg and "'b'" in msg and "(2, 3)" in msg and "(4,)" in msg
    assert LOC.search(msg)
    with gn.Graph():
        W = gn.input("W", shape=(4, 3))
        x = gn.input("x", shape=(4,))
        with pytest.raises(gn.ShapeError, match=r"matmul.*inner dimensions"):
            W @ x


def test_feed_errors() -> None:
    g, *_ = lecture()
    with pytest.raises(gn.FeedError, match=r"missing feed.*'z'"):
        gn.run(g, {"x": 1, "y": 2})
    with pytest.raises(gn.FeedError, match=r"unexpected feed 'zz'.*did you mean 'z'"):
        gn.run(g, {"x": 1, "y": 2, "z": 3, "zz": 4})
    with gn.Graph() as g2:
        v = gn.input("v", shape=(3,))
        gn.sum(v)
    with pytest.raises(gn.FeedError, match=r"'v'.*shape \(2,\); expected \(3,\)"):
        gn.run(g2, {"v": [1.0, 2.0]})
    for bad in (["a", "b", "c"], [True, False, True], [1 + 1j, 2, 3], [object()] * 3):
        with pytest.raises(gn.FeedError, match="dtype"):
            gn.run(g2, {"v": bad})
    with pytest.raises(gn.FeedError, match="not an array"):
        gn.run(g2, {"v": [[1.0], [1.0, 2.0], 3]})
    # ints are fine for float inputs
    assert float(gn.run(g2, {"v": [1, 2, 3]}).value(g2.default_outputs()[0])) == 6.0


def test_grad_errors() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        y = gn.exp(x)
    with pytest.raises(gn.GradError, match="non-scalar"):
        gn.run(g, {"x": [1, 2, 3]}, wrt=[x])
    r = gn.run(g, {"x": [0.0, 0.0, 0.0]}, wrt=[x], seed=[1.0, 2.0, 3.0])
    np.testing.assert_allclose(r.grad(x), [1, 2, 3])
    with pytest.raises(gn.GradError, match="not a scalar"):
        gn.grad(y, x)


def test_nodes_from_another_graph() -> None:
    with gn.Graph("one"):
        a = gn.input("a")
    with gn.Graph("two"):
        b = gn.input("b")
    with pytest.raises(gn.GraphMismatchError, match="different graphs"):
        a + b


def test_leaf_outside_graph_and_bool() -> None:
    with pytest.raises(gn.GraphError, match="no active graph"):
        gn.input("x")
    with gn.Graph():
        x = gn.input("x")
        with pytest.raises(gn.GraphError, match="truth value"):
            if x:
                pass


def test_anomaly_mode_names_the_first_bad_node() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(2,))
        y = gn.log(x).named("logx")
        gn.sum(y * 2.0)
    gn.run(g, {"x": [0.0, 1.0]})  # without anomaly mode: -inf flows silently
    with pytest.raises(gn.AnomalyError, match=r"'logx'.*Inf"):
        gn.run(g, {"x": [0.0, 1.0]}, anomaly=True)
    with gn.Graph() as g2:
        x = gn.input("x")
        gn.sqrt(x * 0.0).named("s")
    with pytest.raises(gn.AnomalyError, match="gradient.*NaN|gradient.*Inf"):
        gn.run(g2, {"x": 1.0}, wrt=[x], anomaly=True)


def test_invalid_op_parameters() -> None:
    with gn.Graph():
        x = gn.input("x", shape=(2, 3))
        with pytest.raises(gn.ShapeError, match="axis 2 is out of range"):
            gn.sum(x, axis=2)
        with pytest.raises(gn.ShapeError, match="cannot reshape"):
            gn.reshape(x, (4,))


def test_long_chain_builds_runs_and_differentiates_without_recursion() -> None:
    n = 100_000
    with gn.Graph("chain") as g:
        x = gn.input("x")
        one = gn.const(1.0)
        h = x
        for i in range(n):
            h = gn.tanh(h) if i % 2 else h * one
    assert len(g) >= n
    r = gn.run(g, {"x": 0.3}, wrt=[x])
    # d/dx of tanh applied n/4 times: product of (1 - tanh^2) along the chain
    v, d = 0.3, 1.0
    for _ in range(n // 2):
        v = np.tanh(v)
        d *= 1 - v * v
    np.testing.assert_allclose(r.value(h), v, rtol=1e-9)
    np.testing.assert_allclose(r.grad(x), d, rtol=1e-6)
    (gx,) = gn.grad(h, [x])
    assert float(gn.run(g, {"x": 0.3}, outputs=[gx]).value(gx)) == pytest.approx(d, rel=1e-6)


def test_to_networkx_adapter() -> None:
    g, *_ = lecture()
    G = g.to_networkx()
    assert G.number_of_nodes() == len(g) and G.number_of_edges() == 4
    assert G.nodes[g["f"].id]["op"] == "mul"


def test_params_store_and_feed_override() -> None:
    with gn.Graph() as g:
        w = gn.param("w", [1.0, 2.0])
        x = gn.input("x", shape=(2,))
        y = gn.sum(w * x)
    assert float(gn.run(g, {"x": [1, 1]}).value(y)) == 3.0
    g.set_value(w, [2.0, 2.0])
    assert float(gn.run(g, {"x": [1, 1]}).value(y)) == 4.0
    assert float(gn.run(g, {"x": [1, 1], "w": [0.0, 1.0]}).value(y)) == 1.0
    with pytest.raises(gn.FeedError, match="shape"):
        g.set_value(w, [1.0])
    assert g.param_values()["w"].tolist() == [2.0, 2.0]
    r = gn.run(g, {"x": [3.0, 4.0]}, wrt="params")
    assert r.grad(w).tolist() == [3.0, 4.0]
