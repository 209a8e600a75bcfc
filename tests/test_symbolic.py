"""The sympy bridge: to_sympy / from_sympy round trips over the op registry, the safe
string parser, op formulas, and the collapse of stacked linear layers."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from tests.op_cases import CASES

sp = pytest.importorskip("sympy")

FORMULA_OPS = sorted(n for n, op in gn.REGISTRY.items() if op.elementwise and callable(op.sympy))


def lecture():
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        f = ((x + y) * z).named("f")
    return g, f


def test_lecture_closed_form_and_string_graph() -> None:
    g, f = lecture()
    x, y, z = sp.symbols("x y z", real=True)
    assert sp.simplify(gn.to_sympy(g, f) - (x + y) * z) == 0
    g2 = gn.from_sympy("(x + y) * z", name="f")
    assert [n.name for n in g2.inputs] == ["x", "y", "z"] and g2.outputs[0].name == "f"
    t = gn.trace(g2, {"x": 1, "y": -3, "z": 4})
    vals = {s.node.name: float(s.value) for s in t.forward}
    assert vals == {"x": 1.0, "y": -3.0, "add_1": -2.0, "z": 4.0, "f": -8.0}
    assert float(t.run.grad("x")) == 4.0 and float(t.run.grad("z")) == -2.0


# ops whose case inputs stay in the (real) domain only when scaled down, sign kept
IN_DOMAIN = ("log2", "log10", "rsqrt", "log1p", "asin", "acos")


@pytest.mark.parametrize("name", FORMULA_OPS)
def test_round_trip_every_op_with_a_formula(name: str) -> None:
    op = gn.REGISTRY[name]
    case = CASES[name][0]
    with gn.Graph() as g:
        ins = [gn.input(f"a{k}") for k in range(len(case.inputs))]
        out = gn.bind(op, *ins, **case.params)
    expr = gn.to_sympy(g, out)
    if isinstance(expr, sp.Symbol):
        pytest.skip(f"{name}'s formula for this case is its input (a float-to-float cast): "
                    "there is no op to rebuild")
    g2 = gn.from_sympy(expr, name="out")
    out2 = g2.outputs[0]
    expr2 = gn.to_sympy(g2, out2)
    diff = sp.simplify((expr - expr2).rewrite(sp.Piecewise))
    assert diff == 0, (expr, expr2)
    rng = np.random.default_rng(7)
    for _ in range(5):
        vals = [float(np.asarray(c).reshape(-1)[0]) for c in case.inputs]
        vals = [abs(v) if name in ("log", "sqrt", "pow") else
                abs(v) * rng.uniform(0.5, 1.0) if name in IN_DOMAIN else
                v * rng.uniform(0.5, 1.5) * rng.choice([1, -1]) for v in vals]
        feeds = {f"a{k}": v for k, v in enumerate(vals)}
        v1 = gn.run(g, feeds).value(out)
        v2 = gn.run(g2, {k: v for k, v in feeds.items() if k in g2}).value(out2)
        np.testing.assert_allclose(v2, v1, rtol=1e-12, atol=1e-15)
        sym = float(expr.subs({sp.Symbol(k, real=True): v for k, v in feeds.items()}))
        np.testing.assert_allclose(sym, v1, rtol=1e-10, atol=1e-12)


def test_to_sympy_tensor_graph_matches_the_run(rng: np.random.Generator) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        W = gn.param("W", rng.normal(size=(2, 3)))
        b = gn.param("b", rng.normal(size=2))
        y = gn.softmax(gn.tanh(W @ x + b))
        m = gn.max(x) + gn.mean(x * x)
        ls = gn.log_softmax(x).T.reshape((3, 1))
    xv = rng.normal(size=3)
    r = gn.run(g, {"x": xv}, outputs=[y, m, ls])
    xs = sp.IndexedBase("x", real=True)
    subs = {xs[i]: xv[i] for i in range(3)}
    E = gn.to_sympy(g, y, params="values")
    assert E.shape == (2, 1)
    np.testing.assert_allclose([float(e.subs(subs)) for e in E], r.value(y), rtol=1e-12)
    assert abs(float(gn.to_sympy(g, m).subs(subs)) - float(r.value(m))) < 1e-12
    E3 = gn.to_sympy(g, ls)
    np.testing.assert_allclose(np.array(E3.subs(subs), dtype=float), r.value(ls), rtol=1e-12)
    Ws = gn.to_sympy(g, y)  # params as indexed symbols W[i, j]
    assert sp.IndexedBase("W", real=True)[1, 2] in Ws.free_symbols


def test_to_sympy_reports_ops_without_symbolic_form() -> None:
    odd = gn.Op(name="odd_op", forward=lambda xp, a: xp.sort(a), shape=lambda a: a)
    with gn.Graph() as g:
        x = gn.input("x", shape=(2,))
        y = gn.bind(odd, x)
    with pytest.raises(gn.GraphError, match="odd_op"):
        gn.to_sympy(g, y)


def test_from_sympy_reuses_graph_nodes_and_builds_functions() -> None:
    with gn.Graph() as g:
        w = gn.param("w", 2.0)
    gn.from_sympy("sigmoid(w * x) + max(x, 0, w) - relu(-x) / sqrt(abs(x) + 1) ** 2",
                  graph=g, name="out")
    assert g["w"] is w and g["x"].role == "input"
    xv = -0.7
    ref = 1 / (1 + np.exp(-2.0 * xv)) + max(xv, 0, 2.0) - max(-xv, 0) / (abs(xv) + 1)
    assert np.isclose(float(gn.run(g, {"x": xv}).value("out")), ref)
    x = sp.Symbol("x", real=True)
    g2 = gn.from_sympy(sp.exp(-x ** 2) * sp.log(1 + x ** 2) - sp.Max(x, 1) / 3)
    v = float(gn.run(g2, {"x": 0.5}).value(g2.outputs[0]))
    assert np.isclose(v, np.exp(-0.25) * np.log(1.25) - 1 / 3)
    with pytest.raises(gn.GraphError, match="no graphnn op"):
        gn.from_sympy(sp.gamma(x))
    with pytest.raises(gn.GraphError):
        gn.from_sympy(object())


UNSAFE = {
    "__import__('os')": "__import__",
    "x.__class__": "__class__",
    "a[0]": "a[0]",
    "lambda: 1": "lambda",
    "open('f')": "open",
    "x.real": ".real",
    "exp(x, y=1)": "keyword",
    "'a' + x": "'a'",
    "x if x else y": "IfExp",
    "[x for x in y]": "ListComp",
    "_secret + 1": "_secret",
    "(lambda: 0)()": "lambda",
    "exp(x).__globals__": "__globals__",
    "True + x": "True",
}


@pytest.mark.parametrize("text", sorted(UNSAFE))
def test_parser_rejects_unsafe_input(text: str) -> None:
    with pytest.raises(gn.ParseError) as e:
        gn.from_sympy(text)
    msg = str(e.value)
    assert UNSAFE[text] in msg and "column" in msg


def test_parser_error_details() -> None:
    with pytest.raises(gn.ParseError, match="column 2"):
        gn.from_sympy("x.__class__")
    with pytest.raises(gn.ParseError, match="column"):
        gn.from_sympy("x +")
    with pytest.raises(gn.ParseError, match="too long"):
        gn.from_sympy("x+" * 6000 + "x")
    with pytest.raises(gn.ParseError):
        gn.from_sympy("(" * 500 + "x" + ")" * 500)


def test_formula_latex() -> None:
    f = gn.formula("sigmoid")
    assert f.forward == r"y = \frac{1}{1 + e^{- x}}"
    assert f.derivatives[0].endswith(r"= y \left(1 - y\right)")
    assert gn.formula("tanh").text.endswith("1 - y**2")
    assert gn.formula(gn.REGISTRY["mul"]).derivatives == (
        r"\frac{\partial y}{\partial a} = b", r"\frac{\partial y}{\partial b} = a")
    mm = gn.formula("matmul")
    assert mm.forward == "Y = A B" and mm.derivatives == (r"dA = dY B^{\top}", r"dB = A^{\top} dY")
    assert "$$" in mm._repr_latex_()
    for name, op in gn.REGISTRY.items():   # every op has something to show
        if not op.leaf:
            assert gn.formula(name).forward


def test_stacked_linear_layers_collapse_to_one_linear_map(rng: np.random.Generator) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        W1, b1 = gn.param("W1", rng.normal(size=(4, 3))), gn.param("b1", rng.normal(size=4))
        W2, b2 = gn.param("W2", rng.normal(size=(2, 4))), gn.param("b2", rng.normal(size=2))
        W3 = gn.param("W3", rng.normal(size=(2, 2)))
        y2 = W2 @ (W1 @ x + b1) + b2
        y3 = W3 @ y2
        nonlin = W2 @ gn.relu(W1 @ x + b1)
    lc = gn.collapse_linear(g, y2, x)
    assert lc.is_linear
    M1, M2 = sp.MatrixSymbol("W1", 4, 3), sp.MatrixSymbol("W2", 2, 4)
    B1, B2, X = sp.MatrixSymbol("b1", 4, 1), sp.MatrixSymbol("b2", 2, 1), sp.MatrixSymbol("x", 3, 1)
    assert lc.matrix_form == sp.expand(M2 * M1 * X + M2 * B1 + B2)
    E1 = gn.to_sympy(g, W1)
    E2 = gn.to_sympy(g, W2)
    assert sp.simplify(lc.A - E2 * E1) == sp.zeros(2, 3)
    assert sp.simplify(lc.c - (E2 * gn.to_sympy(g, b1) + gn.to_sympy(g, b2))) == sp.zeros(2, 1)
    lc3 = gn.collapse_linear(g, y3, x)
    assert lc3.is_linear and sp.simplify(lc3.A - gn.to_sympy(g, W3) * E2 * E1) == sp.zeros(2, 3)
    assert str(lc3.matrix_form) == "W3*W2*W1*x + W3*W2*b1 + W3*b2"
    # numerically the collapsed map is the network
    A = np.array(gn.collapse_linear(g, y2, x).A.subs(_values(g)), dtype=float)
    c = np.array(lc.c.subs(_values(g)), dtype=float).reshape(-1)
    xv = rng.normal(size=3)
    assert np.allclose(A @ xv + c, gn.run(g, {"x": xv}, outputs=[y2]).value(y2))
    bad = gn.collapse_linear(g, nonlin, x)
    assert not bad.is_linear and bad.matrix_form is None and "not affine" in str(bad)


def _values(g: gn.Graph) -> dict:
    out = {}
    for p in g.params:
        base = sp.IndexedBase(p.name, real=True)
        for idx in np.ndindex(*p.shape):
            out[base[idx]] = float(g.value_of(p)[idx])
    return out


def test_losses_in_closed_form(rng: np.random.Generator) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(2,))
        y = gn.input("y", shape=(2,))
        w = gn.param("w", 0.3)
        z = gn.input("z", shape=(2, 3))
        p = gn.sigmoid(w * x)
        losses = [gn.bce_loss(p, y), gn.bce_with_logits(w * x, y, reduction="sum"),
                  gn.mse_loss(p, y), gn.cross_entropy(z, gn.const(np.array([2, 0]))),
                  gn.cross_entropy(z, gn.softmax(z * 2.0), reduction="none")]
    feeds = {"x": rng.normal(size=2), "y": np.array([1.0, 0.0]), "z": rng.normal(size=(2, 3))}
    r = gn.run(g, feeds, outputs=losses)
    subs = {sp.Symbol("w", real=True): 0.3}
    for name in ("x", "y", "z"):
        base = sp.IndexedBase(name, real=True)
        for idx in np.ndindex(*np.shape(feeds[name])):
            subs[base[idx if len(idx) > 1 else idx[0]]] = float(feeds[name][idx])
    for L in losses:
        e = gn.to_sympy(g, L)
        got = np.array((e.subs(subs) if hasattr(e, "subs") else e), dtype=float).reshape(-1)
        np.testing.assert_allclose(got, np.asarray(r.value(L)).reshape(-1), rtol=1e-10)
    bce = gn.to_sympy(g, losses[0])
    assert sp.Symbol("w", real=True) in bce.free_symbols and bce.has(sp.log)
