"""One owner of parameter values: the graph. A gn.nn module reads and writes through the
graph it was first built into; later graphs share that storage; writes are in place."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn


def _linear_graph(m, rows=3, name="g"):
    with gn.Graph(name) as g:
        y = m(gn.input("x", (rows, 2)))
        gn.sum(y * y).named("loss")
    return g


def test_set_value_on_the_graph_is_seen_by_the_module():
    m = gn.nn.Linear(2, 1)
    g = _linear_graph(m)
    g.set_value(g.params[0], np.zeros((1, 2)))
    np.testing.assert_array_equal(m.named_values()["fc.weight"], np.zeros((1, 2)))
    assert m.named_values()["fc.weight"] is g.value_of("fc.weight")  # one array, not two


def test_gn_load_into_the_graph_is_seen_by_the_module(tmp_path):
    src = gn.nn.Linear(2, 1, name="fc")
    path = gn.save(src, tmp_path / "v.npz")
    m = gn.nn.Linear(2, 1, name="fc")
    g = _linear_graph(m)
    g.set_value("fc.bias", [5.0])
    gn.load(path, g)
    np.testing.assert_array_equal(m.named_values()["fc.weight"], src.named_values()["fc.weight"])
    np.testing.assert_array_equal(m.named_values()["fc.bias"], src.named_values()["fc.bias"])


def test_gn_load_and_load_state_dict_into_the_model_are_seen_by_the_graph(tmp_path):
    src = gn.nn.MLP([2, 3, 1], seed=4)
    path = gn.save(src, tmp_path / "v.npz")
    m = gn.nn.MLP([2, 3, 1], seed=5)
    g = _linear_graph(m)
    g.set_value("fc1.bias", np.ones(3))  # used to cut the graph off the module's arrays
    gn.load(path, m)
    for name, v in src.named_values().items():
        np.testing.assert_array_equal(g.value_of(name), v)
    m.load_state_dict({k: np.zeros_like(v) for k, v in src.named_values().items()})
    assert not np.any(g.value_of("fc2.weight"))
    m.set_value("fc2.bias", [7.0])
    np.testing.assert_array_equal(g.value_of("fc2.bias"), [7.0])


def test_load_state_dict_checks_everything_before_writing():
    m = gn.nn.Linear(2, 1)
    g = _linear_graph(m)
    before = g.value_of("fc.weight").copy()
    with pytest.raises(gn.FeedError, match=r"no values for params \['fc.bias'\]"):
        m.load_state_dict({"fc.weight": np.zeros((1, 2))})
    with pytest.raises(gn.FeedError, match=r"unexpected \['nope'\]"):
        m.load_state_dict({"fc.weight": np.zeros((1, 2)), "fc.bias": [0.0], "nope": 1.0})
    with pytest.raises(gn.FeedError, match=r"'fc.bias' has shape \(2,\)"):
        m.load_state_dict({"fc.weight": np.zeros((1, 2)), "fc.bias": [0.0, 1.0]})
    np.testing.assert_array_equal(g.value_of("fc.weight"), before)
    with pytest.raises(gn.GraphError, match="no param 'fc.nope'"):
        m.set_value("fc.nope", 1.0)


def test_fit_on_a_graph_and_on_a_model_leaves_the_trained_values_in_the_module():
    X, y = gn.data.moons(40, seed=0)
    m = gn.nn.MLP([2, 4, 2], activation="tanh", seed=0)
    with gn.Graph("hand") as g:
        out = m(gn.input("x", (20, 2)))
        loss = gn.cross_entropy(out, gn.input("t", (20,), dtype="int64")).named("loss")
    g.set_value("fc1.bias", np.full(4, 0.1))  # set_value first: must not cut the link
    gn.fit(g, {"x": X, "t": y}, loss=loss, lr=0.1, epochs=2, engine="interpret")
    assert not np.allclose(g.value_of("fc1.bias"), 0.1)
    for name, v in m.named_values().items():
        assert v is g.value_of(name)
    h = gn.fit(m, X, y, epochs=2, batch_size=20, engine="compiled")
    for name, v in m.named_values().items():
        np.testing.assert_array_equal(h.graph.value_of(name), v)
        np.testing.assert_array_equal(g.value_of(name), v)  # fit's graph shares g's storage


def test_a_module_in_two_graphs_shares_one_storage():
    m = gn.nn.Linear(2, 1)
    g1 = _linear_graph(m, 3, "g1")
    g2 = _linear_graph(m, 5, "g2")
    assert m.param_nodes(g1)[0].graph is g1 and m.param_nodes(g2)[0].graph is g2
    g2.set_value("fc.weight", [[1.0, 2.0]])  # through the second graph ...
    np.testing.assert_array_equal(g1.value_of("fc.weight"), [[1.0, 2.0]])  # ... the first
    np.testing.assert_array_equal(m.named_values()["fc.weight"], [[1.0, 2.0]])
    opt = gn.optim.SGD(m.param_nodes(g1), lr=0.1)
    opt.step(gn.run(g1, {"x": np.ones((3, 2))}, wrt=m.param_nodes(g1)))
    np.testing.assert_array_equal(g2.value_of("fc.weight"), g1.value_of("fc.weight"))
    m.reset_parameters(seed=3)
    np.testing.assert_array_equal(g2.value_of("fc.bias"), g1.value_of("fc.bias"))
    np.testing.assert_array_equal(m.named_values()["fc.bias"], g2.value_of("fc.bias"))


def test_an_unbuilt_module_hands_its_values_to_the_graph():
    m = gn.nn.Linear(2, 1, name="fc")
    m.set_value("fc.weight", [[3.0, 4.0]])  # before any graph: the module holds it
    g = _linear_graph(m)
    np.testing.assert_array_equal(g.value_of("fc.weight"), [[3.0, 4.0]])
    assert m._values == {}  # nothing left behind: the graph is the one owner


def test_batchnorm_running_statistics_live_in_the_graph():
    bn = gn.nn.BatchNorm1d(2)
    with gn.Graph("eval") as ge:
        ye = bn(gn.input("x", (4, 2)), train=False)
    with gn.Graph("train") as gt:
        bn(gn.input("x", (4, 2)), train=True)
    ge.set_value("bn.running_mean", [1.0, 2.0])
    np.testing.assert_array_equal(bn.named_values()["bn.running_mean"], [1.0, 2.0])
    xv = np.arange(8.0).reshape(4, 2)
    r = gn.run(gt, {"x": xv}, outputs=gn.nn.state_outputs(gt))
    gn.nn.update_state(gt, r)  # folds batch statistics into the ONE running mean
    want = 0.9 * np.array([1.0, 2.0]) + 0.1 * xv.mean(0)
    np.testing.assert_allclose(ge.value_of("bn.running_mean"), want)
    out = gn.run(ge, {"x": xv}, outputs=[ye]).value(ye)
    rv = ge.value_of("bn.running_var")
    np.testing.assert_allclose(out, (xv - want) / np.sqrt(rv + 1e-5))


def test_set_value_writes_in_place_and_still_checks():
    with gn.Graph() as g:
        w = gn.param("w", [1.0, 2.0])
    arr = g.value_of(w)
    g.set_value(w, [3, 4])
    assert arr is g.value_of(w) and arr.tolist() == [3.0, 4.0]
    with pytest.raises(gn.FeedError, match="shape"):
        g.set_value(w, [1.0])
    with gn.Graph() as h:
        v = gn.param("v", [0.0, 0.0])
        u = gn.param("u", 0.0)
    h.share_value(v, w)
    h.set_value(v, [5.0, 6.0])
    assert g.value_of(w).tolist() == [5.0, 6.0]
    with pytest.raises(gn.FeedError, match="cannot share"):
        h.share_value(u, w)
