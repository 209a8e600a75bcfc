"""NumPy functions on graph nodes: ufuncs dispatch to the graphnn op whose record runs
them; everything else is a one-line GraphError naming the gn.* function to use."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from graphnn.core.node import ufunc_ops


def test_ufuncs_build_the_matching_op():
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        y = (np.exp(x) + np.sin(x) * np.abs(x) - np.negative(x)).named("y")
        z = np.add(np.array([1.0, 2.0, 3.0]), x).named("z")
    xv = np.array([-1.0, 0.5, 2.0])
    r = gn.run(g, {"x": xv})
    np.testing.assert_allclose(r.value(y), np.exp(xv) + np.sin(xv) * np.abs(xv) + xv)
    np.testing.assert_allclose(r.value(z), xv + [1.0, 2.0, 3.0])
    assert {n.op.name for n in g.nodes} >= {"exp", "sin", "abs", "neg", "add", "mul", "sub"}


def test_the_ufunc_table_comes_from_the_records():
    table = ufunc_ops()
    assert table["exp"] == "exp" and table["absolute"] == "abs" and table["multiply"] == "mul"
    for ufunc_name, op_name in table.items():
        assert isinstance(getattr(np, ufunc_name), np.ufunc)
        assert gn.REGISTRY[op_name].elementwise


@pytest.mark.parametrize("call, hint", [
    (lambda x: np.sum(x), "use gn.sum"),
    (lambda x: np.cumsum(x), "use gn.cumsum"),
    (lambda x: np.diff(x), "build it from gn.* ops"),
    (lambda x: np.greater(x, 1.0), "no graphnn op computes it"),
    (lambda x: np.add.reduce(x), "use gn.add"),
])
def test_other_numpy_calls_are_one_line_errors(call, hint):
    with gn.Graph():
        x = gn.input("x", shape=(3,))
        with pytest.raises(gn.GraphError) as e:
            call(x)
    msg = str(e.value)
    assert "\n" not in msg and hint in msg and "'x' (input" in msg


@pytest.mark.parametrize("text, hint", [
    ("sigmod(x)", "did you mean 'sigmoid'?"),
    ("leaky_relu(x, slope=0.1)", "did you mean 'negative_slope'?"),
])
def test_misspellings_get_a_suggestion(text, hint):
    with pytest.raises(gn.ParseError, match=hint.replace("?", r"\?")):
        gn.io.parse(text)


def test_misspelled_node_and_op_names_get_a_suggestion():
    with gn.Graph() as g:
        gn.input("input_x")
    with pytest.raises(gn.GraphError, match=r"did you mean 'input_x'\?"):
        g.node("input_y")
    with pytest.raises(KeyError, match=r"did you mean 'sigmoid'\?"):
        gn.get_op("sigmod")
