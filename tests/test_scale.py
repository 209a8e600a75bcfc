"""Scale: 100,000-node graphs build, run, differentiate, save/load (and compile / render
when those land) with the recursion limit lowered to catch any recursive pass; repeated
runs do not grow memory."""

from __future__ import annotations

import gc
import sys
import tracemalloc
from contextlib import contextmanager

import numpy as np
import pytest

import graphnn as gn

N = 100_000


@contextmanager
def shallow_stack(extra: int = 120):
    """Allow only ``extra`` frames beyond the current depth: recursion over nodes fails."""
    depth, f = 0, sys._getframe()
    while f is not None:
        depth, f = depth + 1, f.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + extra)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


@pytest.fixture(scope="module")
def deep():
    with gn.Graph("deep") as g:
        x = gn.input("x", shape=(4,))
        w = gn.param("w", np.full(4, 0.5))
        h = x
        with shallow_stack():
            while len(g.nodes) < N:
                h = gn.tanh(h * w) + 0.1
            loss = gn.sum(h).named("loss")
    return g, x, w, loss


def _reference(n_steps: int, x: np.ndarray, w: np.ndarray) -> float:
    h = x
    for _ in range(n_steps):
        h = np.tanh(h * w) + 0.1
    return float(np.sum(h))


def test_build_and_run(deep):
    g, x, w, loss = deep
    assert len(g.nodes) >= N
    steps = sum(1 for n in g.nodes if n.op.name == "tanh")
    xv = np.linspace(-1, 1, 4)
    with shallow_stack():
        r = gn.run(g, {"x": xv})
    assert float(r.value(loss)) == pytest.approx(_reference(steps, xv, g.value_of(w)),
                                                 rel=1e-12)


@pytest.mark.slow
def test_run_with_wrt_and_symbolic_grad(deep):
    g, x, w, loss = deep
    xv = np.linspace(-1, 1, 4)
    with shallow_stack():
        r = gn.run(g, {"x": xv}, wrt=[w, x])
        before = len(g.nodes)
        dw = gn.grad(loss, [w])[0]
        r2 = gn.run(g, {"x": xv}, outputs=[dw])
    assert len(g.nodes) > before
    np.testing.assert_allclose(r2.value(dw), r.grad(w), rtol=1e-12)
    assert np.all(np.isfinite(r.grad(x)))


@pytest.mark.slow
def test_save_load_100k(deep, tmp_path):
    g, *_ = deep
    with gn.Graph("fresh") as h:  # a graph without the grad nodes of the test above
        x = gn.input("x", shape=(4,))
        y = x
        while len(h.nodes) < N:
            y = gn.tanh(y * 0.5) + 0.1
    with shallow_stack():
        h.save(tmp_path / "deep.json")
        back = gn.load(tmp_path / "deep.json")
    assert len(back.nodes) == len(h.nodes)
    xv = np.linspace(-1, 1, 4)
    assert np.array_equal(gn.run(back, {"x": xv}).value(y.name), gn.run(h, {"x": xv}).value(y))


def test_compile_100k(deep):
    g, x, w, loss = deep
    with shallow_stack():
        fn = gn.compile(g, outputs=[loss])
        out = fn(x=np.linspace(-1, 1, 4)).value(loss)
    xv = np.linspace(-1, 1, 4)
    assert float(out) == pytest.approx(float(gn.run(g, {"x": xv}).value(loss)), rel=1e-10)


def test_render_collapse_100k(deep, tmp_path):
    g, *_ = deep
    with shallow_stack(400):
        gn.render(g, path=str(tmp_path / "deep.dot"))
    assert (tmp_path / "deep.dot").stat().st_size > 0


def test_no_memory_growth_over_1000_runs():
    with gn.Graph("small") as g:
        x = gn.input("x", shape=(8,))
        w = gn.param("w", np.linspace(-1, 1, 8))
        gn.mean(gn.softmax(gn.tanh(x * w) + w) ** 2)
    xv = np.ones(8)
    for _ in range(50):  # warm up: plan caches, numpy internals
        gn.run(g, {"x": xv}, wrt=[w])
    tracemalloc.start()
    try:
        for _ in range(100):  # warm up under tracing too
            gn.run(g, {"x": xv}, wrt=[w])
        gc.collect()  # garbage awaiting the cycle collector is not growth
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(1000):
            gn.run(g, {"x": xv}, wrt=[w])
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - base < 16 * 1024, f"grew by {after - base} bytes over 1,000 runs"


# -- compile cost, as structure (no timing): how many times the passes copy the graph ----


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts Rebuilders made (full rebuilds) and nodes they copy."""
    from graphnn.passes import rewrite

    seen = {"rebuilds": 0, "nodes": 0}
    init, copy = rewrite.Rebuilder.__init__, rewrite.Rebuilder.copy

    def counting_init(self, *a, **kw):
        seen["rebuilds"] += 1
        init(self, *a, **kw)

    def counting_copy(self, *a, **kw):
        seen["nodes"] += 1
        return copy(self, *a, **kw)

    monkeypatch.setattr(rewrite.Rebuilder, "__init__", counting_init)
    monkeypatch.setattr(rewrite.Rebuilder, "copy", counting_copy)
    return seen


def _chain(n: int) -> tuple[gn.Graph, gn.Node, gn.Node]:
    with gn.Graph("chain") as g:
        x = gn.input("x", shape=(4,))
        w = gn.param("w", np.full(4, 0.5))
        h = x * w
        while len(g.nodes) < n:
            h = gn.tanh(h * 0.5)
        loss = gn.sum(h).named("loss")
    return g, w, loss


def test_compile_copies_the_graph_a_bounded_number_of_times(copies) -> None:
    g, w, loss = _chain(20_000)
    with shallow_stack():
        fn = gn.compile(g, outputs=[loss], wrt=[w])
    with_grad = max(len(r.before) for r in fn.passes)  # the copy plus its gradient nodes
    # one copy of the user's graph, then one sweep per round that changes something
    # (simplify, fold, cse and dce together); a round that changes nothing copies nothing
    assert copies["rebuilds"] <= 3, copies
    assert copies["nodes"] <= len(g) + 2 * with_grad, copies
    assert [r.name for r in fn.passes] == ["optimize"] * len(fn.passes)
    xv = np.linspace(-1, 1, 4)
    r = fn(x=xv)
    ref = gn.run(g, {"x": xv}, wrt=[w])
    np.testing.assert_allclose(r.value(loss), ref.value(loss), rtol=1e-12)
    np.testing.assert_allclose(r.grad(w), ref.grad(w), rtol=1e-10)


@pytest.mark.parametrize("name", ["simplify", "fold", "cse", "dce", "optimize"])
def test_a_pass_that_changes_nothing_does_not_copy(name: str, copies) -> None:
    from graphnn.codegen.compiler import PASSES

    g, w, loss = _chain(2_000)
    fn = gn.compile(g, outputs=[loss], wrt=[w])
    before = dict(copies)
    h, outs, changed = PASSES[name](fn.graph, fn.outputs)
    assert int(changed) == 0 and h is fn.graph and outs == fn.outputs
    assert copies == before


def test_graph_building_does_not_walk_the_stack_per_pass_node(monkeypatch) -> None:
    """Nodes the passes make take the provenance of the node they replace."""
    from graphnn.core import ir

    g, w, loss = _chain(500)
    calls = []
    real = ir.user_frame
    monkeypatch.setattr(ir, "user_frame", lambda skip=1: calls.append(1) or real(skip + 1))
    fn = gn.compile(g, outputs=[loss])
    assert fn.passes and not calls
