"""Compiled code == the interpreter (float64, rtol 1e-10), on examples and random graphs,
with all passes on and with each pass alone; saved modules run without graphnn."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.codegen.compiler import PASSES

RTOL, ATOL = 1e-10, 1e-13

CONFIGS: list[dict[str, Any]] = (
    [{}, {"optimize": False}, {"inplace": True}, {"inplace": False}]
    + [{"passes": [p]} for p in PASSES]
    + [{"passes": [p], "fuse_elementwise": True, "inplace": True} for p in PASSES]
)
CONFIG_IDS = ["all", "none", "inplace", "expr"] + [f"only-{p}" for p in PASSES] + [
    f"fused-{p}" for p in PASSES]


def check(g: gn.Graph, feeds: dict[str, Any], outputs: list[Any], wrt: list[Any] | None = None,
          loss: Any = None, rtol: float = RTOL, atol: float = ATOL, **kw: Any) -> Any:
    """Compile with ``kw`` and compare every output and gradient with gn.run."""
    n_before = len(g.nodes)
    f = gn.compile(g, outputs=outputs, wrt=wrt, loss=loss, **kw)
    assert len(g.nodes) == n_before, "compile must not add nodes to the user's graph"
    r = gn.run(g, feeds, outputs=outputs, wrt=wrt, loss=loss)
    c = f(feeds)
    for o in outputs:
        name = o if isinstance(o, str) else o.name
        np.testing.assert_allclose(c[name], r.value(o), rtol=rtol, atol=atol, err_msg=name)
        assert np.asarray(c[name]).dtype == np.asarray(r.value(o)).dtype, name
    for w in wrt or []:
        name = w if isinstance(w, str) else w.name
        np.testing.assert_allclose(c.grad(name), r.grad(w), rtol=rtol, atol=atol,
                                   err_msg=f"grad {name}")
        assert np.shape(c.grad(name)) == np.shape(r.grad(w))
    return f


# -- examples -----------------------------------------------------------------------------
def neuron() -> tuple[gn.Graph, dict[str, Any], list[Any], list[Any]]:
    with gn.Graph("neuron") as g:
        x = gn.input("x", shape=(3,))
        w = gn.param("w", np.array([0.5, -1.0, 2.0]))
        b = gn.param("b", 0.1)
        o = gn.sigmoid(gn.sum(w * x) + b).named("o")
    return g, {"x": [1.0, 2.0, 3.0]}, [o], [w, b]


def lecture() -> tuple[gn.Graph, dict[str, Any], list[Any], list[Any]]:
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        f = ((x + y) * z).named("f")
    return g, {"x": -2.0, "y": 5.0, "z": -4.0}, [f], [x, y, z]


def mlp(dtype: str = "float64", batch: int = 5) -> tuple[gn.Graph, dict[str, Any], list[Any],
                                                          list[Any]]:
    rng = np.random.default_rng(3)
    with gn.Graph("mlp") as g:
        x = gn.input("x", shape=(batch, 6), dtype=dtype)
        t = gn.input("t", shape=(batch, 3), dtype=dtype)
        W1 = gn.param("W1", rng.normal(size=(6, 8)).astype(dtype))
        b1 = gn.param("b1", rng.normal(size=8).astype(dtype))
        W2 = gn.param("W2", rng.normal(size=(8, 3)).astype(dtype))
        b2 = gn.param("b2", np.zeros(3, dtype))
        h = gn.tanh(x @ W1 + b1)
        h2 = gn.leaky_relu(h @ W2 + b2, 0.1)
        loss = (-gn.mean(gn.sum(t * gn.log_softmax(h2), axis=1))).named("loss")
    feeds = {"x": rng.normal(size=(batch, 6)).astype(dtype),
             "t": np.eye(3, dtype=dtype)[rng.integers(0, 3, batch)]}
    return g, feeds, [loss], [W1, b1, W2, b2]


def activations() -> tuple[gn.Graph, dict[str, Any], list[Any], list[Any]]:
    rng = np.random.default_rng(4)
    with gn.Graph("acts") as g:
        x = gn.input("x", shape=(4, 5))
        a = gn.param("a", rng.uniform(0.1, 0.3, size=5))
        terms = [gn.relu(x), gn.elu(x, 0.7), gn.prelu(x, a), gn.softmax(x, axis=0),
                 gn.sqrt(gn.abs(x) + 1.0), gn.maximum(x, a) - gn.minimum(x, 0.5),
                 gn.pow(gn.exp(x), 1.5) / (1.0 + x * x), gn.log(gn.sigmoid(x)),
                 gn.max(x, axis=1, keepdims=True) * gn.mean(x, axis=0),
                 gn.flatten(gn.transpose(x)).reshape(5, 4).T]
        loss = gn.sum(sum(t if t.shape == (4, 5) else t * 1.0 for t in terms)).named("loss")
    return g, {"x": rng.uniform(-2, 2, size=(4, 5))}, [loss], [x, a]


EXAMPLES = {"neuron": neuron, "lecture": lecture, "mlp": mlp, "activations": activations}


@pytest.mark.parametrize("cfg", CONFIGS, ids=CONFIG_IDS)
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_examples_match_interpreter(example: str, cfg: dict[str, Any]) -> None:
    g, feeds, outs, wrt = EXAMPLES[example]()
    check(g, feeds, outs, wrt, **cfg)


def test_float32_mlp() -> None:
    g, feeds, outs, wrt = mlp("float32", batch=16)
    f = check(g, feeds, outs, wrt, rtol=2e-5, atol=1e-6)
    assert f(feeds).grad("W1").dtype == np.float32
    assert "float64" not in f.body


def large_chain(rng: np.random.Generator) -> tuple[gn.Graph, gn.Node, gn.Node, gn.Node,
                                                  gn.Node]:
    """An elementwise chain over (300, 200) arrays (in-place, block by block): (graph,
    loss, out, a, x)."""
    with gn.Graph("chain") as g:
        x = gn.input("x", shape=(300, 200))
        a = gn.param("a", rng.normal(size=200))
        out = (gn.sigmoid(a * x + 0.3) * gn.tanh(x) + gn.exp(-x * x)).named("out")
        loss = gn.sum(out * out).named("loss")
    return g, loss, out, a, x


def test_large_inplace_groups_match() -> None:
    rng = np.random.default_rng(0)
    g, loss, out, a, x = large_chain(rng)
    f = check(g, {"x": rng.normal(size=(300, 200))}, [loss, out], [a, x], loss=loss,
              inplace=True)
    assert "out=" in f.body and "reuse a dead buffer" in f.body


# -- random graphs ------------------------------------------------------------------------
UNARY = [gn.tanh, gn.sigmoid, gn.relu, gn.neg, gn.abs,
         lambda a: gn.exp(gn.tanh(a)), lambda a: gn.log(gn.sigmoid(a) + 0.5),
         lambda a: gn.sqrt(a * a + 1.0), lambda a: gn.leaky_relu(a, 0.2),
         lambda a: a * 1.0, lambda a: a + 0.0, lambda a: gn.neg(-a),
         lambda a: gn.exp(gn.log(a * a + 1)),
         lambda a: a ** 2.0, lambda a: gn.elu(a),
         lambda a: gn.transpose(gn.transpose(a)), lambda a: gn.tanh(a) * gn.tanh(a),
         lambda a: gn.pow(gn.sigmoid(a) + 0.1, 1.7),
         lambda a: gn.sum_to(gn.broadcast_to(a, (2,) + tuple(a.shape)), a.shape),
         lambda a: gn.reshape(gn.reshape(a, (-1,)), a.shape)]
BINARY = [gn.add, gn.sub, gn.mul, gn.maximum, gn.minimum,
          lambda a, b: a / (b * b + 1.0), lambda a, b: (a - b) + (a - b)]


def _fits(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def random_graph(seed: int) -> tuple[gn.Graph, dict[str, Any], Any, list[Any]]:
    rng = np.random.default_rng(seed)
    with gn.Graph(f"random{seed}") as g:
        x = gn.input("x", shape=(3, 4))
        v = gn.input("v", shape=(4,))
        p = gn.param("p", rng.normal(size=(4,)))
        W = gn.param("W", rng.normal(size=(4, 4)))
        vals = [x, v, p, W, x * 2.0 + gn.const(1.0) * 3.0]
        for _ in range(int(rng.integers(6, 16))):
            kind = rng.integers(0, 8)
            a = vals[rng.integers(0, len(vals))]
            b = vals[rng.integers(0, len(vals))]
            if kind < 3:
                vals.append(UNARY[rng.integers(0, len(UNARY))](a))
            elif kind < 6:
                if _fits(a.shape, b.shape):
                    vals.append(BINARY[rng.integers(0, len(BINARY))](a, b))
            elif kind == 6 and a.ndim == 2:
                vals.append(gn.tanh(a @ W))
            elif a.ndim == 2:
                red = [lambda t: gn.sum(t, axis=0), lambda t: gn.mean(t, axis=0),
                       lambda t: gn.max(t, axis=0), lambda t: gn.softmax(t, axis=1),
                       lambda t: gn.log_softmax(t, axis=0), lambda t: gn.mean(t, axis=1)]
                vals.append(red[rng.integers(0, len(red))](a))
        loss = gn.sum(vals[-1] * vals[-1]) + gn.sum(gn.tanh(vals[-2])) + gn.mean(vals[-3])
        loss = loss.named("loss")
    feeds = {"x": rng.normal(size=(3, 4)), "v": rng.normal(size=4)}
    return g, feeds, loss, [x, v, p, W]


@pytest.mark.parametrize("cfg", CONFIGS, ids=CONFIG_IDS)
@pytest.mark.parametrize("seed", range(20))
def test_random_graphs_match_interpreter(seed: int, cfg: dict[str, Any]) -> None:
    g, feeds, loss, wrt = random_graph(seed)
    check(g, feeds, [loss], wrt, **cfg)


# -- API ------------------------------------------------------------------------------------
def test_result_object_and_overrides() -> None:
    g, feeds, outs, wrt = neuron()
    f = gn.compile(g, outputs=outs, wrt=wrt)
    r = f(feeds)
    assert set(r.values) == {"o"} and set(r.grads) == {"w", "b"}
    assert r.loss == r["o"] == r.value(outs[0])
    assert np.array_equal(r.grad(wrt[0]), r.grads["w"])
    # keywords, param overrides and training updates are all seen
    r2 = f(x=feeds["x"], w=np.zeros(3))
    np.testing.assert_allclose(r2["o"], 1 / (1 + np.exp(-0.1)))
    g.set_value("b", 5.0)
    np.testing.assert_allclose(f(feeds)["o"], gn.run(g, feeds).value("o"), rtol=1e-12)
    with pytest.raises(gn.FeedError, match="missing feed for input 'x'"):
        f()
    with pytest.raises(gn.FeedError, match="unexpected feed"):
        f(feeds, nope=1.0)
    with pytest.raises(gn.FeedError, match="shape"):
        f(x=[1.0, 2.0])
    with pytest.raises(gn.GraphError, match="no gradient for 'x'"):
        r.grad("x")


def test_source_is_readable() -> None:
    g, feeds, outs, wrt = mlp()
    f = gn.compile(g, outputs=outs, wrt=wrt)
    src = f.source
    assert "def compute(x, t, W1, b1, W2, b2):" in src
    assert "# loss = neg(" in src or "loss" in src
    assert "del " in src
    assert "fused [" in src
    assert "import graphnn" not in src
    compile(src, "<check>", "exec")
    assert "simplified" in f.pass_report() and f.passes[0].before is not f.passes[0].after


def test_multiple_outputs_need_loss() -> None:
    g, feeds, outs, wrt = mlp()
    h = g.nodes[-5]
    with pytest.raises(gn.GradError, match="loss="):
        gn.compile(g, outputs=[outs[0], h], wrt=wrt)
    check(g, feeds, [outs[0], h], wrt, loss=outs[0])


def test_missing_template_is_a_clear_error() -> None:
    op = gn.Op(name="notemplate_cg", forward=lambda xp, a: a * 2, shape=lambda s: s,
               vjp=lambda g, o, a: (g * 2,))
    with gn.Graph() as g:
        x = gn.input("x", shape=(2,))
        y = gn.bind(op, x)
    with pytest.raises(gn.GraphError, match="op 'notemplate_cg' has no NumPy expression"):
        gn.compile(g, outputs=[y])


def test_unknown_pass_and_backend() -> None:
    g, _, outs, _ = lecture()
    with pytest.raises(ValueError, match="unknown pass"):
        gn.compile(g, outputs=outs, passes=["nope"])
    with pytest.raises(ValueError, match="unknown backend"):
        gn.compile(g, outputs=outs, backend="tpu")


# -- standalone module --------------------------------------------------------------------------
RUNNER = textwrap.dedent("""
    import importlib.util, json, sys
    sys.modules["graphnn"] = None          # importing graphnn now fails
    spec = importlib.util.spec_from_file_location("saved", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import numpy as np
    feeds = {k: np.asarray(v) for k, v in json.loads(sys.argv[2]).items()}
    values, grads = mod.run(feeds)
    print(json.dumps({"values": {k: np.asarray(v).tolist() for k, v in values.items()},
                      "grads": {k: np.asarray(v).tolist() for k, v in grads.items()},
                      "graphnn_loaded": any(m.startswith("graphnn") and sys.modules[m]
                                            for m in sys.modules)}))
""")


@pytest.mark.parametrize("example", ["mlp", "activations"])
def test_saved_module_runs_without_graphnn(tmp_path: Any, example: str) -> None:
    import json

    g, feeds, outs, wrt = EXAMPLES[example]()
    f = gn.compile(g, outputs=outs, wrt=wrt)
    path = f.save(tmp_path / "model.py")
    assert os.path.exists(path) and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    (tmp_path / "runner.py").write_text(RUNNER)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "runner.py"), str(path),
         json.dumps({k: np.asarray(v).tolist() for k, v in feeds.items()})],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["graphnn_loaded"] is False
    r = gn.run(g, feeds, outputs=outs, wrt=wrt)
    for o in outs:
        np.testing.assert_allclose(got["values"][o.name], r.value(o), rtol=RTOL)
    for w in wrt:
        np.testing.assert_allclose(got["grads"][w.name], r.grad(w), rtol=RTOL, atol=ATOL)


def test_blocked_inplace_groups_match() -> None:
    rng = np.random.default_rng(1)
    with gn.Graph("blocks") as g:
        x = gn.input("x", shape=(3000, 50))
        a = gn.param("a", rng.normal(size=50))
        out = (gn.sigmoid(a * x + 0.3) * gn.tanh(x) + gn.exp(-x * x)).named("out")
        loss = gn.sum(out * out).named("loss")
    f = check(g, {"x": rng.normal(size=(3000, 50))}, [loss, out], [a, x], loss=loss)
    assert "cache-sized blocks" in f.body


def test_numexpr_path() -> None:
    pytest.importorskip("numexpr", reason="numexpr is an optional extra")
    rng = np.random.default_rng(2)
    with gn.Graph("ne") as g:
        x = gn.input("x", shape=(200, 200))
        w = gn.param("w", rng.normal(size=200))
        y = gn.sum((x * w - 2.0) * x + gn.exp(x / (x * x + 1.0))).named("y")
    f = check(g, {"x": rng.normal(size=(200, 200))}, [y], [w, x], numexpr=True)
    assert "ne.evaluate(" in f.body and "import numexpr as ne" in f.source


def lenet(batch: int = 3, dtype: str = "float64") -> tuple[gn.Graph, dict[str, Any], list[Any],
                                                            list[Any]]:
    rng = np.random.default_rng(5)
    with gn.Graph("lenet") as g:
        x = gn.input("x", shape=(batch, 1, 12, 12), dtype=dtype)
        t = gn.input("t", shape=(batch,), dtype="int64")
        w1 = gn.param("w1", rng.normal(size=(4, 1, 3, 3)).astype(dtype) * 0.5)
        b1 = gn.param("b1", rng.normal(size=4).astype(dtype))
        w2 = gn.param("w2", rng.normal(size=(6, 4, 3, 3)).astype(dtype) * 0.3)
        b2 = gn.param("b2", rng.normal(size=6).astype(dtype))
        W = gn.param("W", rng.normal(size=(6 * 2 * 2, 5)).astype(dtype) * 0.3)
        h = gn.max_pool2d(gn.relu(gn.conv2d(x, w1, b1, padding=1)), 2)
        h = gn.avg_pool2d(gn.tanh(gn.conv2d(h, w2, b2, stride=1)), 2)
        logits = gn.flatten(h, 1) @ W
        half = gn.const(np.full((batch, 5), 0.5, dtype))
        loss = (gn.cross_entropy(logits, t) + 0.1 * gn.mse_loss(gn.sigmoid(logits),
                                                                 half)).named("loss")
    feeds = {"x": rng.normal(size=(batch, 1, 12, 12)).astype(dtype),
             "t": rng.integers(0, 5, size=batch)}
    return g, feeds, [loss], [w1, b1, w2, b2, W, x]


@pytest.mark.parametrize("cfg", CONFIGS[:4], ids=CONFIG_IDS[:4])
def test_lenet_conv_pool_loss_match_interpreter(cfg: dict[str, Any]) -> None:
    g, feeds, outs, wrt = lenet()
    f = check(g, feeds, outs, wrt, **cfg)
    assert "_im2col" in f.source and "def _conv2d(" in f.source


def test_lenet_saved_module_and_cupy_source(tmp_path: Any) -> None:
    g, feeds, outs, wrt = lenet(dtype="float32")
    check(g, feeds, outs, wrt, rtol=1e-4, atol=1e-6)
    EXAMPLES["lenet"] = lenet
    try:
        test_saved_module_runs_without_graphnn(tmp_path, "lenet")
    finally:
        del EXAMPLES["lenet"]
    f = gn.compile(g, outputs=outs, wrt=wrt, backend="cupy")
    compile(f.source, "<cupy lenet>", "exec")


def test_leaf_outputs_and_unreachable_wrt() -> None:
    with gn.Graph("edge") as g:
        x = gn.input("x", shape=(2,))
        u = gn.input("u", shape=(2,))
        w = gn.param("w", [1.0, 2.0])
        c = gn.const(np.array([3.0, 4.0]))
        y = gn.sum(x * w).named("y")
    xv = np.array([1.5, -2.0])
    f = check(g, {"x": xv, "u": xv}, [y, x, c, w], [w, u, x], loss=y)
    r = f(x=xv)
    r.grads["w"] += 1.0  # the gradient of w is x itself: a copy must come back
    r.values["const_1"][...] = 0.0
    np.testing.assert_array_equal(xv, [1.5, -2.0])
    np.testing.assert_array_equal(f(x=xv)["const_1"], [3.0, 4.0])
    assert not np.any(r.grad("u"))


def awkward_names() -> tuple[gn.Graph, gn.Node, gn.Node]:
    """A graph whose names clash with Python keywords, the module's own names and each
    other once sanitized: (graph, loss e, output d)."""
    with gn.Graph("names: odd/graph") as g:
        x = gn.input("xp", shape=(2,))
        y = gn.input("1-y", shape=(2,))
        a = gn.exp(x).named("a-b")
        b = gn.tanh(y).named("a_b")
        c = (a * b).named("del")
        d = (c + a).named("compute")
        e = gn.sum(d * b).named("np")
    return g, e, d


def test_awkward_node_names() -> None:
    g, e, d = awkward_names()
    f = check(g, {"xp": [0.1, 0.2], "1-y": [0.3, -0.4]}, [e, d], ["xp", "1-y"], loss=e)
    assert "def compute(xp_, n_1_y):" in f.source



@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_blocked_inplace(seed: int, monkeypatch: Any) -> None:
    """Tiny blocks, so every fused group of the random graphs runs block by block."""
    from graphnn.codegen import numpy_backend

    monkeypatch.setattr(numpy_backend, "CHUNK", 4)
    g, feeds, loss, wrt = random_graph(seed)
    f = check(g, feeds, [loss], wrt, inplace=True)
    assert "out=" in f.body or "fused" not in f.body


def test_long_function_is_emitted_in_parts(tmp_path: Any) -> None:
    """Above ``emit.CHUNK_MIN`` statements the body becomes several part functions that
    ``compute`` calls in order (so CPython never compiles one huge function); values and
    gradients are the interpreter's, in the process and from the saved module."""
    from graphnn.codegen import emit

    with gn.Graph("long") as g:
        x = gn.input("x", shape=(4,))
        w = gn.param("w", np.full(4, 0.5))
        h = x * w
        while len(g.nodes) < emit.CHUNK_MIN + 200:  # one statement per op: no fusion
            h = gn.tanh(h * w) + 0.1
        loss = gn.sum(h).named("loss")
    f = check(g, {"x": np.linspace(-1, 1, 4)}, [loss], [w], fuse_elementwise=False)
    parts = f.source.count("\ndef _part_")
    assert parts >= 2 and f.source.count("\ndef compute(") == 1
    assert f"= _part_{parts}(" in f.source or f"    _part_{parts}(" in f.source
    assert f.body.count("xp.tanh(") == f.source.count("xp.tanh(")  # body: every part's
    path = f.save(tmp_path / "long.py")
    ns: dict[str, Any] = {}
    exec(compile(open(path).read(), path, "exec"), ns)  # noqa: S102 - the saved module
    vals, grads = ns["run"](x=np.linspace(-1, 1, 4))
    r = gn.run(g, {"x": np.linspace(-1, 1, 4)}, outputs=[loss], wrt=[w])
    np.testing.assert_allclose(vals["loss"], r.value(loss), rtol=RTOL)
    np.testing.assert_allclose(grads["w"], r.grad(w), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_in_tiny_parts(seed: int, monkeypatch: Any) -> None:
    """Every statement its own part: the live variables passed between parts are right."""
    from graphnn.codegen import emit

    monkeypatch.setattr(emit, "CHUNK_MIN", 1)
    monkeypatch.setattr(emit, "PART_SIZE", 1)
    g, feeds, loss, wrt = random_graph(seed)
    f = check(g, feeds, [loss], wrt, inplace=True)
    assert "\ndef _part_1(" in f.source


def test_small_function_has_no_parts() -> None:
    g, feeds, outs, wrt = EXAMPLES["mlp"]()
    f = gn.compile(g, outputs=outs, wrt=wrt)
    assert "_part_" not in f.source
