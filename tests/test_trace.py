"""Step-through tracing: lecture numbers, fan-out accumulation, tables, forward mode."""

from __future__ import annotations

import pathlib
import runpy

import numpy as np
import pytest

import graphnn as gn

ROOT = pathlib.Path(__file__).resolve().parents[1]


def lecture_graph():
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        f = (d * z).named("f")
    return g, x, y, z, d, f


def test_lecture_trace_matches_the_lecture_numbers() -> None:
    g, x, y, z, d, f = lecture_graph()
    t = gn.trace(g, {"x": 1, "y": -3, "z": 4})
    fwd = [(s.node.name, float(s.value)) for s in t.forward]
    assert fwd == [("x", 1.0), ("y", -3.0), ("z", 4.0), ("d", -2.0), ("f", -8.0)]
    assert all(s.kind == "eval" for s in t.forward)
    b = t.backward
    assert [(s.kind, s.node.name) for s in b] == [("vjp", "f"), ("vjp", "d")]
    # at f: upstream df/df = 1; df/dd = z = 4, df/dz = d = -2
    assert float(b[0].upstream) == 1.0
    assert [t.name for t in b[0].targets] == ["d", "z"]
    assert [float(c) for c in b[0].contributions] == [4.0, -2.0]
    assert [float(v) for v in b[0].local_value] == [4.0, -2.0]
    assert [loc.text for loc in b[0].local] == ["∂f/∂d = z", "∂f/∂z = d"]
    # at d: upstream df/dd = 4; df/dx = df/dy = 4
    assert float(b[1].upstream) == 4.0
    assert [float(c) for c in b[1].contributions] == [4.0, 4.0]
    assert [float(v) for v in b[1].local_value] == [1.0, 1.0]
    # the lectures' notation: totals ∂f/∂•, local derivatives marked "local"
    assert b[0].text.splitlines() == [
        "seed ∂f/∂f = 1   (L = f: the output being differentiated)",
        "local ∂f/∂d = z = 4", "∂f/∂d = ∂f/∂f · local ∂f/∂d = 1 · 4 = 4",
        "local ∂f/∂z = d = -2", "∂f/∂z = ∂f/∂f · local ∂f/∂z = 1 · (-2) = -2"]
    assert b[1].text.splitlines()[:3] == [
        "upstream ∂f/∂d = 4", "local ∂d/∂x = 1", "∂f/∂x = ∂f/∂d · local ∂d/∂x = 4 · 1 = 4"]
    assert str(b[1]).startswith("step 7 of 7  backward vjp at d = x + y: upstream ∂f/∂d = 4")
    assert "df/d" not in t.to_table() and "local ∂f/∂d = z = 4" in t.to_table()
    values, grads = t.state_at(len(t) - 1)
    assert {g.nodes[i].name: float(v) for i, v in grads.items()} == {
        "f": 1.0, "d": 4.0, "z": -2.0, "x": 4.0, "y": 4.0}
    assert float(values[f.id]) == -8.0
    assert float(t.run.grad(x)) == 4.0 and float(t.run.grad("z")) == -2.0


def test_sequence_protocol_replay_and_step_links() -> None:
    g, *_ = lecture_graph()
    t = gn.trace(g, {"x": 1, "y": -3, "z": 4})
    assert len(t) == 7 and t[-1] is t.steps[-1] and list(t) == t.steps
    assert list(t.replay()) == t.steps and list(t.replay()) == t.steps  # fresh generators
    assert [s.index for s in t] == list(range(len(t)))
    assert all(s.trace is t for s in t) and t.graph is g and isinstance(t.run, gn.Run)
    assert all("\n" not in str(s) for s in t)
    assert t[3].formula == "x + y" and "x + y = 1 + (-3) = -2" in str(t[3])
    with pytest.raises(IndexError):
        t.state_at(len(t))
    v0, g0 = t.state_at(0)
    assert list(v0) == [0] and g0 == {}


@pytest.mark.parametrize("build", ["square_plus", "diamond", "shared_weight"])
def test_accumulation_exactly_at_fan_out(build: str) -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        w = gn.param("w", 0.7)
        if build == "square_plus":
            (x * x + x).named("f")
        elif build == "diamond":
            a = gn.tanh(x * w)
            (gn.sigmoid(a) * a + gn.exp(-a)).named("f")
        else:
            h = gn.tanh(w * x)
            (gn.tanh(w * h) + w).named("f")
    t = gn.trace(g, {"x": 0.3})
    r = gn.run(g, {"x": 0.3}, wrt=[x, w])
    # count gradient-carrying edges into each node from the vjp steps
    arrivals: dict[int, int] = {}
    for s in t.backward:
        if s.kind == "vjp":
            for c, i in zip(s.contributions, s.inputs):
                if c is not None:
                    arrivals[i.id] = arrivals.get(i.id, 0) + 1
    acc = [s for s in t.backward if s.kind == "accumulate"]
    acc_count: dict[int, int] = {}
    for s in acc:
        acc_count[s.node.id] = acc_count.get(s.node.id, 0) + 1
        assert np.allclose(s.previous + s.contribution, s.total)
        prev = t[s.index - 1]
        assert prev.kind in ("vjp", "accumulate")
    assert acc_count == {i: n - 1 for i, n in arrivals.items() if n > 1}
    assert acc  # every case above has fan-out
    _, grads = t.state_at(len(t) - 1)
    for node in t.run.wrt:
        assert np.allclose(grads[node.id], r.grad(node))
    if build == "square_plus":
        assert np.allclose([float(s.total) for s in acc], [1.3, 1.6])  # 1, +x, +x = 2x+1


def test_no_accumulation_without_fan_out() -> None:
    g, *_ = lecture_graph()
    assert not [s for s in gn.trace(g, {"x": 1, "y": -3, "z": 4}) if s.kind == "accumulate"]


def mlp():
    rng = np.random.default_rng(3)
    with gn.Graph("mlp342") as g:
        x = gn.input("x", shape=(3,))
        W1 = gn.param("W1", rng.normal(size=(4, 3)))
        b1 = gn.param("b1", rng.normal(size=4))
        W2 = gn.param("W2", rng.normal(size=(2, 4)))
        b2 = gn.param("b2", rng.normal(size=2))
        h = gn.sigmoid(W1 @ x + b1).named("h")
        y = gn.sigmoid(W2 @ h + b2).named("y")
        t = gn.input("t", shape=(2,))
        (0.5 * gn.sum((y - t) ** 2)).named("L")
    return g, {"x": [1.0, -0.5, 2.0], "t": [0.0, 1.0]}, (W1, b1, W2, b2)


def test_tensor_trace_tables_and_state() -> None:
    g, feeds, params = mlp()
    t = gn.trace(g, feeds, wrt=list(params))
    r = gn.run(g, feeds, wrt=list(params))
    _, grads = t.state_at(-1)
    for p in params:
        assert np.allclose(grads[p.id], r.grad(p))
    mm = next(s for s in t.backward if s.kind == "vjp" and s.op.name == "matmul")
    assert mm.local[0].text.startswith("dA = dY @ B^T")
    assert mm.local_value[0] is None  # no scalar local derivative for matmul
    sig = next(s for s in t.backward if s.kind == "vjp" and s.node.name == "h")
    assert np.allclose(sig.local_value[0], sig.value * (1 - sig.value))  # the diagonal
    assert sig.local[0].text == "∂h/∂add_1 = h*(1 - h)"
    table = t.to_table()
    assert "W1" in table and "∂L/∂W1" in table and "[[0.001198, -0.0005991, 0.002396], [" in table
    assert "seed ∂L/∂L = 1   (the output being differentiated)" in t.backward[0].text
    assert "local ∂add_1/∂b1 = 1\n" in t.steps_of("add_1")[-1].text  # not "= 1 = [1, 1]"
    assert "local ∂h/∂add_1 = h*(1 - h) = [" in table  # the diagonal, in full
    assert "∂L/∂add_1 = ∂L/∂h ⊙ local ∂h/∂add_1 = [" in sig.text
    assert "local ∂matmul_1/∂W1: dA = dY @ B^T  [A = W1, B = x, Y = matmul_1]" in table
    md = t.to_markdown()
    assert md.splitlines()[0].startswith("| # | phase") and len(md.splitlines()) == len(t) + 2
    tex = t.to_latex()
    assert tex.startswith(r"\begin{tabular}") and tex.rstrip().endswith(r"\end{tabular}")
    assert repr(t).startswith("<Trace of 'mlp342'")


def test_forward_mode_trace_lists_tangents() -> None:
    g, *_ = lecture_graph()
    t = gn.trace(g, {"x": 1, "y": -3, "z": 4}, mode="forward", tangents={"x": 1.0})
    assert t.mode == "forward" and not t.backward
    tans = {s.node.name: (None if s.tangent is None else float(s.tangent)) for s in t}
    assert tans == {"x": 1.0, "y": None, "z": None, "d": 1.0, "f": 4.0}
    _, ref = gn.jvp(g, {"x": 1, "y": -3, "z": 4}, {"x": 1.0})
    assert tans["f"] == float(ref["f"])
    assert "f\u0307 = ∂f/∂d·d\u0307 = 4·1 = 4" in str(t[-1])
    assert "tangent" in t.to_table().splitlines()[0]
    _, tg = t.state_at(-1)
    assert float(tg[t[-1].node.id]) == 4.0
    t2 = gn.trace_forward(g, {"x": 1, "y": -3, "z": 4}, {"z": 1.0})
    assert float(t2[-1].tangent) == -2.0


def test_forward_only_and_errors() -> None:
    g, *_ = lecture_graph()
    t = gn.trace(g, {"x": 1, "y": -3, "z": 4}, wrt=[])
    assert len(t) == 5 and not t.backward
    with pytest.raises(gn.GraphError):
        gn.trace(g, {"x": 1, "y": -3, "z": 4}, mode="sideways")
    with pytest.raises(gn.GradError):
        gn.trace(g, {"x": 1, "y": -3, "z": 4}, mode="forward")
    with pytest.raises(gn.FeedError):
        gn.trace(g, {"x": 1, "y": -3})


def test_trace_saves_through_the_player(tmp_path: pathlib.Path) -> None:
    g, *_ = lecture_graph()
    t = gn.trace(g, {"x": 1, "y": -3, "z": 4})
    t.save(str(tmp_path / "x.html"))
    assert (tmp_path / "x.html").read_text().count('"title": "step ') == len(t)
    frames = t.save_frames(str(tmp_path / "frames"))
    assert len(frames) == len(t)
    assert "text/html" in t._repr_mimebundle_()


EXAMPLES = ["trace_lecture.py", "trace_neuron.py", "trace_mlp_342.py", "trace_toy_net.py"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_run(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")
    out = capsys.readouterr().out
    assert "backward" in out and "forward" in out
