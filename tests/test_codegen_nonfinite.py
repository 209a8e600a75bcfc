"""inf / NaN constants and params in generated code (issue 14.4): the module imports and
gives the interpreter's values."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

import graphnn as gn
from graphnn.codegen.emit import array_literal, literal
from tests.cli_util import invoke

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("value", [
    np.float64(INF), np.float32(-INF), np.float64(NAN), np.array([1.0, NAN, -INF]),
    np.array([[INF]], dtype=np.float32), np.array([complex(NAN, INF)]),
    np.full(40, -INF)])
def test_array_literal_round_trips_non_finite(value: np.ndarray) -> None:
    got = eval(array_literal(np.asarray(value)), {"np": np, "base64": __import__("base64")})  # noqa: S307
    np.testing.assert_array_equal(got, value)
    assert np.asarray(got).dtype == np.asarray(value).dtype


def test_literal_of_static_params() -> None:
    assert literal((1, INF, (NAN,))) == "(1, float('inf'), (float('nan'),))"
    assert literal([np.float64(-INF)]) == "[np.float64(float('-inf'))]"
    assert eval(literal({"a": complex(INF, 1)}))["a"] == complex(INF, 1)  # noqa: S307


@pytest.mark.parametrize("expr,want", [("1/0", INF), ("log(0)", -INF), ("0*log(0)", NAN)])
def test_cli_compile_of_non_finite_constants(tmp_path: Path, expr: str, want: float) -> None:
    out = tmp_path / "m.py"
    res = invoke("compile", "--expr", expr, "-o", out)
    assert res.exit_code == 0, res.output
    with np.errstate(all="ignore"):
        values, _ = runpy.run_path(str(out))["run"]()
    np.testing.assert_array_equal(values["f"], want)


def test_leaky_relu_with_infinite_slope() -> None:
    with gn.Graph("g") as g:
        x = gn.input("x", shape=(2,))
        y = gn.leaky_relu(x, INF).named("y")
    with np.errstate(all="ignore"):
        got = gn.compile(g, [y])(x=[-1.0, 2.0])["y"]
    np.testing.assert_array_equal(got, [-INF, 2.0])


def test_saved_module_with_nan_and_inf_params(tmp_path: Path) -> None:
    with gn.Graph("g") as g:
        x = gn.input("x", shape=(2,))
        w = gn.param("w", np.array([NAN, INF]))
        b = gn.param("b", -INF)
        gn.sum(x * w + b).named("o")
    path = gn.compile(g).save(tmp_path / "m.py")
    mod = runpy.run_path(path)
    np.testing.assert_array_equal(mod["PARAMS"]["w"], [NAN, INF])
    assert mod["PARAMS"]["b"] == -INF
    with np.errstate(all="ignore"):
        assert np.isnan(mod["run"](x=[1.0, 1.0])[0]["o"])
