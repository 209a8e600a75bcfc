"""The one expression parser (graphnn.io.expr): what --expr and gn.from_sympy accept, and
that every hostile or pathological string is a ParseError naming the position."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from graphnn.io.expr import expression, parse
from tests.cli_util import invoke


def test_cli_uses_the_one_parser() -> None:
    import graphnn_cli.loader as loader

    src = open(loader.__file__).read()
    assert "ast.parse" not in src and "import ast" not in src


@pytest.mark.parametrize("text,feeds,want", [
    ("sum(leaky_relu(x, 0.2))", {"x": [1.0, -2.0]}, 0.6),
    ("sum(x, 0, True)", {"x": [1.0, 2.0]}, 3.0),
    ("sum(reshape(x, (2, 1)), axis=(0, 1))", {"x": [1.0, 2.0]}, 3.0),
    ("sum(x, -1)", {"x": [1.0, 2.0]}, 3.0),
    ("exp(0) * x", {"x": 2.0}, 2.0),
    ("max(x, 1, 3) + min(x, 0)", {"x": 2.0}, 3.0),
])
def test_static_arguments(text: str, feeds: dict, want: float) -> None:
    g = gn.Graph("t")
    shapes = {k: np.shape(v) for k, v in feeds.items()}
    out = expression(text, g, shapes=shapes)
    assert float(np.sum(gn.run(g, feeds, outputs=[out]).value(out))) == pytest.approx(want)


@pytest.mark.parametrize("text,where", [
    ("sum(x, name=1)", "name=1"),
    ('bce_loss(x, y, reduction="sum")', '"sum"'),
    ('sum(x, axis="0")', '"0"'),
    ("leaky_relu(x, inf)", "'inf' as negative_slope="),
    ("leaky_relu(x, 1e999)", "non-finite"),
    ("leaky_relu(x, y * 2)", "negative_slope"),
    ("exp(x, x, x)", "exp() with 3 argument(s)"),
    ("sum()", "sum() with 0 argument(s)"),
    ("1" + "0" * 400, "too large"),
    ("1" + "0" * 5000, "syntax error"),
    ("-" * 5000 + "x", "nested too deeply"),
    ("+".join(["x"] * 4999), "nested too deeply"),
    ("exp(" * 3000 + "x" + ")" * 3000, "too long"),
    ("(" * 300 + "x" + ")" * 300, "syntax error"),
    ("x\x00", "cannot parse"),
    ("exp(x)(1)", "call"),
    ("reshape(x, (10**30,))", "reshape"),
])
def test_hostile_strings_are_parse_errors(text: str, where: str) -> None:
    with pytest.raises(gn.GraphError) as e:
        parse(text)
    assert where in str(e.value)
    if isinstance(e.value, gn.ParseError) and "too long" not in where:
        assert "column" in str(e.value)


def test_sympy_pathologies_are_parse_errors() -> None:
    sp = pytest.importorskip("sympy")
    x = sp.Symbol("x")
    e = x
    for _ in range(3000):
        e = sp.exp(e)
    with pytest.raises(gn.ParseError, match="exp"):
        gn.from_sympy(e)
    g = gn.from_sympy(sp.Add(*sp.symbols("a0:4999")))
    assert len(g.inputs) == 4999


@pytest.mark.parametrize("text,want", [("1/0", np.inf), ("9**9**9", np.inf),
                                       ("(-8)**(1/3)", np.nan), ("2*3", 6.0)])
def test_arithmetic_on_numbers_builds_nodes(text: str, want: float) -> None:
    g = gn.from_sympy(text, name="f")  # nothing is computed while parsing
    assert len(g.nodes) > 1
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(gn.run(g, {}).value("f"), want)


@pytest.mark.parametrize("expr", ["exp(x,x,x)", "sum()", "leaky_relu(x, inf)",
                                  "sum(x, name='a')", "-" * 5000 + "x"])
def test_cli_expr_errors_exit_1_without_traceback(expr: str) -> None:
    r = invoke("compile", "--expr", expr)
    assert r.exit_code == 1 and "Traceback" not in r.stderr and "--debug" not in r.stderr
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) <= 2
