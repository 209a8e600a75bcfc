"""Unit tests of the graph passes: each rewrite is checked structurally AND by running
the graph before and after with the interpreter (values must not change)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.passes.cse import cse
from graphnn.passes.dce import dce
from graphnn.passes.fold import fold
from graphnn.passes.rewrite import PassRecord, copy_graph, listing
from graphnn.passes.simplify import simplify


def same_values(g: gn.Graph, h: gn.Graph, out: Any, out2: Any, feeds: dict[str, Any]) -> None:
    a = gn.run(g, feeds, outputs=[out]).value(out)
    b = gn.run(h, {k: v for k, v in feeds.items() if k in h}, outputs=[out2]).value(out2)
    np.testing.assert_allclose(b, a, rtol=1e-14)
    assert np.shape(a) == np.shape(b)


def test_copy_graph_is_independent() -> None:
    with gn.Graph("g") as g:
        x = gn.input("x", shape=(2,))
        w = gn.param("w", [1.0, 2.0])
        y = (x * w).named("y")
    h, (y2,) = copy_graph(g, [y])
    assert [n.name for n in h.nodes] == [n.name for n in g.nodes]
    assert y2.graph is h and y2.loc == y.loc and y2.role == y.role
    gn.grad(gn.sum(y2), [h["w"]])
    assert len(g.nodes) == 3 and len(h.nodes) > 3


def test_dce_removes_dead_nodes_and_unused_leaves() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        unused_in = gn.input("u")
        y = gn.exp(x).named("y")
        gn.log(x) + unused_in
    h, (y2,), removed = dce(g, [y])
    assert [n.name for n in h.nodes] == ["x", "y"] and removed == 3
    same_values(g, h, y, y2, {"x": 0.3, "u": 1.0})


def test_cse_merges_duplicates_and_equal_constants() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        a = gn.tanh(x * 2.0)
        b = gn.tanh(x * 2.0)
        c = gn.sum(x, axis=0)
        d = gn.sum(x, axis=None)  # different params: not merged
        y = (a + b + c + d).named("y")
    h, (y2,), merged = cse(g, [y])
    ops = [n.op.name for n in h.nodes]
    assert ops.count("tanh") == 1 and ops.count("mul") == 1 and ops.count("const") == 1
    assert ops.count("sum") == 2 and merged == 3
    same_values(g, h, y, y2, {"x": np.array([0.1, -0.4, 2.0])})


def test_fold_constants_uniform_stay_compact() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        c = gn.exp(gn.const(np.array([0.0, 1.0, 2.0]))) * 2.0
        u = gn.broadcast_to(gn.const(3.0), (3,)) * 2.0  # uniform: scalar + broadcast
        y = (x * c + u).named("y")
    h, (y2,), folded = fold(g, [y])
    h, (y2,), _ = dce(h, [y2])
    assert folded >= 3
    assert [n.op.name for n in h.nodes].count("exp") == 0
    bc = [n for n in h.nodes if n.op.name == "broadcast_to"]
    assert len(bc) == 1 and bc[0].inputs[0].shape == () and float(
        bc[0].inputs[0].params["value"]) == 6.0
    same_values(g, h, y, y2, {"x": np.array([1.0, 2.0, 3.0])})


def _one(make: Any, shape: tuple[int, ...] = (3,)) -> tuple[gn.Graph, Any, Any, gn.Graph]:
    with gn.Graph() as g:
        x = gn.input("x", shape=shape)
        y = make(x).named("y")
    h, (y2,), n = simplify(g, [y])
    h, (y2,), _ = dce(h, [y2])
    assert n >= 1
    same_values(g, h, y, y2, {"x": np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape)})
    return g, y, y2, h


@pytest.mark.parametrize("make, expect", [
    (lambda x: x * 1.0, "x"), (lambda x: 1.0 * x, "x"), (lambda x: x + (-0.0), "x"),
    (lambda x: -0.0 + x, "x"), (lambda x: x - 0.0, "x"), (lambda x: x / 1.0, "x"),
    (lambda x: gn.neg(gn.neg(x)), "x"), (lambda x: x ** 1.0, "x"),
    (lambda x: gn.reshape(x, (3,)), "x"), (lambda x: gn.broadcast_to(x, (3,)), "x"),
    (lambda x: gn.sum_to(x, (3,)), "x"),
])
def test_simplify_identities(make: Any, expect: str) -> None:
    _, _, y2, _ = _one(make)
    assert y2.name == expect


@pytest.mark.parametrize("make, op", [
    (lambda x: -0.0 - x, "neg"), (lambda x: x * -1.0, "neg"), (lambda x: -1.0 * x, "neg"),
    (lambda x: x ** 2.0, "mul"), (lambda x: x + gn.neg(gn.exp(x)), "sub"),
    (lambda x: gn.exp(x) - gn.neg(x), "add"), (lambda x: gn.exp(x) + 0.0, "exp"),
    (lambda x: gn.exp(gn.log(gn.exp(x))), "exp"), (lambda x: gn.exp(gn.log(x * x)), "mul"),
    (lambda x: gn.log(gn.exp(gn.sigmoid(x))), "sigmoid"),
    (lambda x: gn.exp(gn.log(gn.abs(x) + 0.0)), "abs"),
])
def test_simplify_rewrites(make: Any, op: str) -> None:
    _, _, y2, _ = _one(make)
    assert y2.op.name == op


@pytest.mark.parametrize("make", [
    lambda x: x + 0.0, lambda x: 0.0 + x, lambda x: 0.0 - x, lambda x: x - (-0.0),
    lambda x: x - x, lambda x: gn.neg(x - gn.exp(x)), lambda x: gn.exp(gn.log(x)),
    lambda x: gn.log(gn.exp(x)), lambda x: gn.log(gn.exp(gn.tanh(x))),
    lambda x: gn.exp(gn.log(gn.sqrt(x))), lambda x: x * 0.0,
])
def test_simplify_leaves_unsafe_patterns(make: Any) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        y = make(x).named("y")
    assert simplify(g, [y])[2] == 0


def test_integer_rewrites() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,), dtype="int64")
        y = gn.input("y", shape=(3,), dtype="int64")
        z = ((x - x) + (0 - y) + gn.neg(x - y)).named("z")
    h, (z2,), n = simplify(g, [z])
    ops = [m.op.name for m in dce(h, [z2])[0].nodes]
    assert n >= 3 and ops == ["input", "input", "sub", "sub"], ops
    same_values(g, h, z, z2, {"x": np.array([1, -2, 7]), "y": np.array([0, 5, -3])})


def test_simplify_shape_ops() -> None:
    _, _, y2, _ = _one(lambda x: gn.transpose(gn.transpose(x)), shape=(2, 3))
    assert y2.name == "x"
    _, _, y2, _ = _one(lambda x: gn.reshape(gn.reshape(x, (3, 2)), (6,)), shape=(2, 3))
    assert y2.op.name == "reshape" and y2.inputs[0].name == "x"
    _, _, y2, _ = _one(lambda x: gn.broadcast_to(x, (2, 3)) * gn.const(np.full((2, 3), 2.0)))
    assert [i.op.name for i in y2.inputs] == ["input", "const"] and y2.shape == (2, 3)


def test_simplify_keeps_broadcast_shape() -> None:
    # x (3,) * ones (2, 3) must keep shape (2, 3): the rule result is broadcast back
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        y = (x * gn.const(np.ones((2, 3)))).named("y")
    h, (y2,), _ = simplify(g, [y])
    assert y2.shape == (2, 3)
    same_values(g, h, y, y2, {"x": np.array([1.0, 2.0, 3.0])})


def test_rules_live_in_the_op_records() -> None:
    import graphnn.passes.simplify as simplify_module

    with_rules = {name for name, op in gn.REGISTRY.items() if op.simplify}
    assert {"add", "sub", "mul", "div", "neg", "exp", "log", "pow", "reshape",
            "transpose"} <= with_rules
    tables = [v for k, v in vars(simplify_module).items() if not k.startswith("__")
              and isinstance(v, dict) and set(v) & set(gn.REGISTRY)]
    assert not tables, "no table keyed by op name outside graphnn/ops"


def test_pass_record_views() -> None:
    g, y, y2, h = _one(lambda x: gn.neg(gn.neg(x)) * 1.0)
    rec = PassRecord("simplify", g, h, [y], [y2], 2)
    before, after = rec.listings()
    assert "neg" in before and "neg" not in after
    assert rec.diff().startswith("--- before simplify")
    assert "<- out" in listing(h, [y2])


def test_compiled_pass_records_expose_graphs() -> None:
    with gn.Graph("r") as g:
        x = gn.input("x", shape=(3,))
        y = gn.sum(gn.exp(x) * 1.0 + gn.exp(x)).named("y")
    f = gn.compile(g, outputs=[y], wrt=[x])
    names = [r.name for r in f.passes]
    assert set(names) == {"optimize"}  # simplify, fold, cse and dce: one sweep per round
    for r in f.passes:
        assert isinstance(r.before, gn.Graph) and isinstance(r.after, gn.Graph)
    assert "simplified" in f.passes[0].detail and "merged" in f.passes[0].detail
    assert "== optimize" in f.pass_report() and "== fuse:" in f.pass_report()


def test_render_hook_draws_before_and_after(tmp_path: Any) -> None:
    g, y, y2, h = _one(lambda x: gn.neg(gn.neg(x)) * 1.0)
    rec = PassRecord("simplify", g, h, [y], [y2], 2)
    rec.render(str(tmp_path / "a.dot"), str(tmp_path / "b.dot"))
    assert (tmp_path / "a.dot").exists() and (tmp_path / "b.dot").exists()


def test_compile_wrt_params_string() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(2,))
        w = gn.param("w", [1.0, 2.0])
        y = gn.sum(gn.tanh(x * w)).named("y")
    f = gn.compile(g, outputs=[y], wrt="params")
    r = f(x=[0.3, -0.2])
    np.testing.assert_allclose(r.grad("w"), gn.run(g, {"x": [0.3, -0.2]}, wrt=[w]).grad(w))


def _optimized(g: gn.Graph, outs: list[Any], wrt: list[Any]) -> tuple[list[str], list[str]]:
    f = gn.compile(g, outputs=outs, wrt=wrt, verify=True)
    return listing(f.graph).splitlines(), [f"{r.name} {r.changed} {r.detail}" for r in f.passes]


@pytest.mark.parametrize("seed", range(8))
def test_settled_sweep_skips_only_what_a_dry_run_would_not_change(
        seed: int, monkeypatch: Any) -> None:
    """A sweep whose rule-made nodes are settled marks its graph, and the next round
    skips the dry run: the optimized graph and the pass records are those of the full
    dry run (``_settled`` forced False)."""
    from graphnn.passes import sweep
    from tests.test_codegen import random_graph

    g, _, loss, wrt = random_graph(seed)
    fast = _optimized(g, [loss], wrt)
    monkeypatch.setattr(sweep, "_settled", lambda *a: False)
    assert _optimized(g, [loss], wrt) == fast


def test_settled_mark_needs_the_same_outputs() -> None:
    from graphnn.passes import sweep
    from graphnn.passes.optimize import PLAN, optimize

    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        y = (gn.exp(x * 1.0) + gn.exp(x) * (gn.const(2.0) - 1.0)).named("y")
    h, (y2,), counts = optimize(g, [y])
    assert sweep._CLEAN.get(h) == (PLAN, len(h.nodes), [y2.id])
    again = optimize(h, [y2])[2]
    assert again.final and int(again) == again.dce
