"""One result protocol: Run, CompiledResult, JvpResult, a training step and History all
answer value/grad/tangent by node or by name, with one error (ResultError)."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from graphnn.run.results import MissingGradError, ResultError, Results
from graphnn.runner import Runner


def _graph():
    with gn.Graph("neuron") as g:
        x = gn.input("x", (3,))
        w = gn.param("w", [0.5, -1.0, 2.0])
        h = (w * x).named("h")
        o = gn.sum(h).named("o")
    return g, x, w, h, o


FEEDS = {"x": [1.0, 2.0, 3.0]}
WANT_O, WANT_GW, WANT_TO = 4.5, [1.0, 2.0, 3.0], 0.5 * 1 - 1.0 * 0 + 2.0 * 1


def _results():
    """Every result type for the same graph: (result, holds grad, holds tangent)."""
    g, x, w, h, o = _graph()
    run = gn.run(g, FEEDS, wrt=[w])
    compiled = gn.compile(g, outputs=[o], wrt=[w])(FEEDS)
    jvp = gn.jvp(g, FEEDS, {"x": [1.0, 0.0, 1.0]}, outputs=[o])
    step = Runner(g, [o], o, [w], "interpret")(FEEDS)
    step_c = Runner(g, [o], o, [w], "compiled")(FEEDS)
    hist = gn.fit(g, {"x": np.ones(6)}, loss=o, optimizer="sgd", lr=0.0, epochs=1,
                  engine="interpret")
    hist.last = gn.run(g, FEEDS, wrt=[w])  # read the same numbers as the others
    return g, o, w, {"run": (run, True, False), "compiled": (compiled, True, False),
                     "jvp": (jvp, False, True), "step": (step, True, False),
                     "step_compiled": (step_c, True, False), "history": (hist, True, False)}


KINDS = ["run", "compiled", "jvp", "step", "step_compiled", "history"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("by", ["node", "name"])
def test_every_result_answers_every_method_by_node_or_name(kind, by):
    g, o, w, results = _results()
    res, has_grad, has_tangent = results[kind]
    assert isinstance(res, Results)
    ref = (lambda n: n) if by == "node" else (lambda n: n.name)
    assert float(res.value(ref(o))) == pytest.approx(WANT_O)
    assert res.has_value(ref(o))
    if has_grad:
        np.testing.assert_allclose(res.grad(ref(w)), WANT_GW)
        assert res.has_grad(ref(w))
    else:
        assert not res.has_grad(ref(w))
        with pytest.raises(ResultError, match="no gradient for 'w'"):
            res.grad(ref(w))
    if has_tangent:
        assert float(res.tangent(ref(o))) == pytest.approx(WANT_TO)
        assert res.has_tangent(ref(o))
    else:
        assert not res.has_tangent(ref(o))
        with pytest.raises(ResultError, match="no tangent for 'o'"):
            res.tangent(ref(o))


@pytest.mark.parametrize("kind", KINDS)
def test_missing_refs_raise_one_error_naming_the_ref_and_what_is_available(kind):
    g, o, w, results = _results()
    res = results[kind][0]
    with pytest.raises(ResultError) as e:
        res.value("nope")
    err = e.value
    assert isinstance(err, gn.GraphError) and isinstance(err, KeyError)
    assert err.ref == "nope" and err.what == "value" and "o" in err.available
    assert "no value for 'nope'" in str(err) and "'o'" in str(err)
    assert not res.has_value("nope")
    with pytest.raises(MissingGradError) as e:  # also a GradError, as Run.grad always was
        res.grad("x")
    assert isinstance(e.value, gn.GradError) and e.value.what == "grad"
    assert "no gradient for 'x'" in str(e.value)
    with pytest.raises(ResultError, match="by node or name, not int 42"):
        res.value(42)


def test_run_errors_explain_why():
    g, x, w, h, o = _graph()
    r = gn.run(g, FEEDS, outputs=[h])
    with pytest.raises(ResultError, match="not needed by the requested outputs"):
        r.value(o)
    with pytest.raises(ResultError, match=r"pass it in wrt="):
        r.grad(w)
    with pytest.raises(ResultError, match="use gn.jvp"):
        r.tangent(h)
    with gn.Graph("other") as other:
        y = gn.input("y")
    with pytest.raises(ResultError, match="belongs to graph 'other'"):
        r.value(y)
    assert other is y.graph
    r2 = gn.run(g, FEEDS, wrt=[w, x], outputs=[o])
    assert r2.has_grad(w) and not r2.has_grad("h_missing")


def test_jvp_result_still_unpacks_and_indexes_like_before():
    g, x, w, h, o = _graph()
    res = gn.jvp(g, FEEDS, {w: [1.0, 1.0, 1.0]}, outputs=[o, h])
    vals, tans = res
    assert isinstance(res, tuple) and len(res) == 2 and res[0] is vals
    assert float(tans["o"]) == pytest.approx(6.0) and set(vals) == {"o", "h"}
    np.testing.assert_allclose(res.tangent(h), [1.0, 2.0, 3.0])
    with pytest.raises(ResultError, match="take gradients with gn.run"):
        res.grad(o)


def test_compiled_result_keeps_item_access_and_messages():
    g, x, w, h, o = _graph()
    r = gn.compile(g, outputs=[o])(FEEDS)
    assert float(r["o"]) == pytest.approx(WANT_O) and r.loss is None
    with pytest.raises(ResultError, match="not an output of this compiled graph"):
        r["h"]
    with pytest.raises(ResultError, match="holds no gradients"):
        r.grad(w)


def test_history_answers_for_its_last_training_step():
    X, y = gn.data.xor(32, seed=0)
    model = gn.nn.MLP([2, 4, 2], activation="tanh", seed=0)
    h = gn.fit(model, X, y, epochs=1, batch_size=16, engine="interpret")
    assert float(h.value("loss")) > 0 and h.grad("fc1.weight").shape == (4, 2)
    assert h.grad(h.graph["fc2.bias"]).shape == (2,)
    empty = gn.train.History()
    with pytest.raises(ResultError, match="no training step ran"):
        empty.value("loss")
