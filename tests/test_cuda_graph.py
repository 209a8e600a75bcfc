"""CUDA graph replay of a compiled CuPy step (``gn.compile(..., cuda_graph=True)``,
``gn.fit(cuda_graph=True)``), executed on the CPU by the stand-in ``cupy``, whose streams
record the ops of a capture and replay them on the same arrays
(tests/cupy_standin_graph.py): replays equal the uncaptured step across calls with
different feeds (also with the optimizer's update fused in and the lr changing), the
fallback when the step cannot be captured, recapture when a param array is replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from tests.cupy_standin import installed
from tests.test_codegen_cupy_run import needs_gxx

pytestmark = needs_gxx


@pytest.fixture
def cp() -> Iterator[Any]:
    with installed() as mod:
        yield mod


def _net(seed: int = 0) -> tuple[gn.Graph, list[gn.Node]]:
    rng = np.random.default_rng(seed)
    with gn.Graph("net") as g:
        x, t = g.input("x", (8, 3)), g.input("t", (8, 2))
        w1 = gn.param("w1", rng.normal(size=(3, 5)))
        b1 = gn.param("b1", np.zeros(5))
        w2 = gn.param("w2", rng.normal(size=(5, 2)))
        h = gn.relu(x @ w1 + b1)
        gn.mse_loss(gn.sigmoid(h @ w2) * 2.0 - 1.0, t).named("loss")
    return g, [w1, b1, w2]


def _feeds(cp: Any, k: int) -> dict[str, Any]:
    rng = np.random.default_rng(50 + k)
    return {"x": cp.asarray(rng.normal(size=(8, 3))), "t": cp.asarray(rng.normal(size=(8, 2)))}


def test_replay_equals_the_uncaptured_step(cp: Any) -> None:
    g, ps = _net()
    plain = gn.compile(g, ["loss"], wrt=ps, backend="cupy")
    graphed = gn.compile(g, ["loss"], wrt=ps, backend="cupy", cuda_graph=True)
    statuses = []
    for k in range(5):
        feeds = _feeds(cp, k)
        want, got = plain(feeds, host=True), graphed(feeds, host=True)
        statuses.append(graphed.cuda_graph.status)  # type: ignore[union-attr]
        assert float(got["loss"]) == float(want["loss"])
        for p in ps:
            np.testing.assert_array_equal(got.grad(p), want.grad(p))
    cg = graphed.cuda_graph
    assert statuses == ["warm-up"] + ["captured"] * 4
    assert cg is not None and cg.captures == 1 and cg.launches == 4


def test_replay_with_the_fused_update_and_a_changing_lr(cp: Any) -> None:
    """Adam's scalars (lr, bias corrections) change every step: a replay reads them from
    a device buffer, so it matches the unfused host training step by step."""
    (g1, p1), (g2, p2) = _net(), _net()
    o1, o2 = gn.optim.Adam(p1, lr=0.05), gn.optim.Adam(p2, lr=0.05)
    s1, s2 = gn.optim.StepLR(o1, 1, 0.7), gn.optim.StepLR(o2, 1, 0.7)
    host = gn.compile(g1, ["loss"], wrt=p1)
    graphed = gn.compile(g2, ["loss"], wrt=p2, backend="cupy", cuda_graph=True, optimizer=o2)
    for k in range(5):
        feeds = _feeds(cp, k)
        r1 = host({n: cp.asnumpy(v) for n, v in feeds.items()})
        o1.step(r1)
        r2 = graphed(feeds, host=True)
        s1.step()
        s2.step()
        assert float(r2["loss"]) == pytest.approx(float(r1["loss"]), rel=1e-12)
        for a, b in zip(p1, p2):
            np.testing.assert_allclose(g2.value_of(b), g1.value_of(a), rtol=1e-12,
                                       atol=1e-15)
    assert graphed.cuda_graph.status == "captured"  # type: ignore[union-attr]


def test_results_are_the_captured_arrays(cp: Any) -> None:
    g, ps = _net()
    f = gn.compile(g, ["loss"], wrt=ps, backend="cupy", cuda_graph=True)
    f(_feeds(cp, 0))
    a = f(_feeds(cp, 1))
    b = f(_feeds(cp, 2))
    assert a.value("loss") is b.value("loss")  # overwritten by each replay (documented)


def _ce_graph(rng: np.random.Generator) -> tuple[gn.Graph, gn.Node]:
    with gn.Graph("ce") as g:
        x, t = g.input("x", (6, 3)), g.input("t", (6,), "int64")
        w = gn.param("w", rng.normal(size=(3, 4)))
        gn.cross_entropy(x @ w, t, ignore_index=2).named("loss")
    return g, w


def test_a_step_with_a_host_sync_falls_back(cp: Any) -> None:
    """index_select checks its indices on the host: a sync the capture refuses; the step
    then runs uncaptured, with the reason recorded."""
    rng = np.random.default_rng(0)
    with gn.Graph("pick") as g:
        x, t = g.input("x", (6, 3)), g.input("t", (6,), "int64")
        w = gn.param("w", rng.normal(size=(4, 3)))
        gn.sum(gn.index_select(w, 0, t) * x).named("loss")
    plain = gn.compile(g, ["loss"], wrt=[w], backend="cupy")
    graphed = gn.compile(g, ["loss"], wrt=[w], backend="cupy", cuda_graph=True)
    w_before = g.value_of(w).copy()
    for _ in range(3):
        feeds = {"x": cp.asarray(rng.normal(size=(6, 3))),
                 "t": cp.asarray(rng.integers(0, 4, 6))}
        want, got = plain(feeds, host=True), graphed(feeds, host=True)
        np.testing.assert_array_equal(got.grad(w), want.grad(w))
    status = graphed.cuda_graph.status  # type: ignore[union-attr]
    assert status.startswith("off: CUDARuntimeError") and "capturing" in status
    np.testing.assert_array_equal(g.value_of(w), w_before)  # the failed capture changed nothing


def test_cross_entropy_with_class_indices_is_captured(cp: Any) -> None:
    """Under capture the class indices are checked on the device (no host sync): the step
    is captured, and replays equal the uncaptured step (ignored targets included)."""
    rng = np.random.default_rng(0)
    g, w = _ce_graph(rng)
    plain = gn.compile(g, ["loss"], wrt=[w], backend="cupy")
    graphed = gn.compile(g, ["loss"], wrt=[w], backend="cupy", cuda_graph=True)
    for _ in range(4):
        feeds = {"x": cp.asarray(rng.normal(size=(6, 3))),
                 "t": cp.asarray(rng.integers(0, 4, 6))}
        want, got = plain(feeds, host=True), graphed(feeds, host=True)
        assert float(got["loss"]) == float(want["loss"])
        np.testing.assert_array_equal(got.grad(w), want.grad(w))
    assert graphed.cuda_graph.status == "captured"  # type: ignore[union-attr]


def test_a_bad_class_index_in_a_replay_is_nan_and_skips_the_update(cp: Any) -> None:
    """A replay cannot raise: an index out of range makes its loss and gradient NaN, the
    fused update then skips the step; the uncaptured step raises as always."""
    rng = np.random.default_rng(1)
    g, w = _ce_graph(rng)
    graphed = gn.compile(g, ["loss"], wrt=[w], backend="cupy", cuda_graph=True,
                         optimizer=gn.optim.SGD([w], lr=0.1))
    x = cp.asarray(rng.normal(size=(6, 3)))
    for _ in range(2):  # warm-up, capture
        graphed({"x": x, "t": cp.asarray(rng.integers(0, 4, 6))})
    before = np.array(g.value_of(w))
    for bad in (4, -1):
        t = rng.integers(0, 4, 6)
        t[3] = bad
        r = graphed({"x": x, "t": cp.asarray(t)}, host=True)
        assert np.isnan(float(r["loss"])) and np.isnan(r.grad(w)).any()
        np.testing.assert_array_equal(np.array(g.value_of(w)), before)
    assert graphed.cuda_graph.status == "captured"  # type: ignore[union-attr]
    plain = gn.compile(g, ["loss"], wrt=[w], backend="cupy")
    with pytest.raises(gn.GraphError, match=r"cross_entropy failed at 'loss' .* class index "
                       r"out of range \[0, 4\): found -1"):
        plain({"x": x, "t": cp.asarray(t)})


def test_fit_names_a_bad_class_index_in_a_captured_step(cp: Any) -> None:
    """gn.fit reruns a batch whose loss is not finite without the graph (its anomaly
    check), so a bad class index in a replayed step raises the same error, naming the
    node and where it was made, as the uncaptured step does."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    T = rng.integers(0, 4, 60)
    T[np.random.default_rng(0).permutation(60)[40]] = 7  # in a late batch: a replay
    errors = []
    for cg in (True, False):
        g, _ = _ce_graph(np.random.default_rng(2))
        with pytest.raises(Exception, match=r"class index out of range \[0, 4\): found 7") as e:
            gn.fit(g, {"x": X, "t": T}, loss="loss", epochs=1, batch_size=6, device="cuda",
                   cuda_graph=cg, engine="compiled", seed=0, optimizer=gn.optim.SGD(lr=0.1))
        errors.append(f"{type(e.value).__name__}: {e.value}")
    assert errors[0] == errors[1] and errors[0].startswith("GraphError: cross_entropy failed "
                                                           "at 'loss'")


def test_a_replaced_param_is_captured_again(cp: Any) -> None:
    g, ps = _net()
    plain = gn.compile(g, ["loss"], wrt=ps, backend="cupy")
    graphed = gn.compile(g, ["loss"], wrt=ps, backend="cupy", cuda_graph=True)
    for k in range(4):
        if k == 2:  # a new value: uploaded again, so the step reads another array
            g.set_value(ps[0], g.value_of(ps[0]) * 0.5)
        feeds = _feeds(cp, k)
        np.testing.assert_array_equal(graphed(feeds, host=True).grad(ps[2]),
                                      plain(feeds, host=True).grad(ps[2]))
    assert graphed.cuda_graph.captures == 2  # type: ignore[union-attr]


def test_cuda_graph_needs_the_cupy_backend() -> None:
    g, ps = _net()
    with pytest.raises(ValueError, match="backend='cupy'"):
        gn.compile(g, ["loss"], wrt=ps, cuda_graph=True)


def test_fit_replays_the_training_step(cp: Any) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    T = np.tanh(X @ rng.normal(size=(3, 2)))
    out = {}
    for device, cg in (("cpu", False), ("cuda", True)):
        g, ps = _net()
        h = gn.fit(g, {"x": X, "t": T}, loss="loss", epochs=3, device=device,
                   cuda_graph=cg, engine="compiled", seed=1,
                   optimizer=gn.optim.SGD(lr=0.1, momentum=0.9, nesterov=True),
                   schedule=lambda o: gn.optim.CosineLR(o, 3))
        out[device] = (h, [np.array(g.value_of(p)) for p in ps])
    (h_cpu, p_cpu), (h_dev, p_dev) = out["cpu"], out["cuda"]
    assert h_dev.cuda_graph == "captured" and h_dev.fused_update
    assert h_cpu.cuda_graph is None
    np.testing.assert_allclose(h_dev.train_loss, h_cpu.train_loss, rtol=1e-12)
    for a, b in zip(p_dev, p_cpu):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_standin_capture_rules(cp: Any) -> None:
    """The stand-in records instead of running: memory that existed before a capture is
    unchanged after it; a host sync invalidates it; the null stream cannot capture."""
    a = cp.asarray(np.arange(3.0))
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        s.begin_capture()
        a += 1.0
        b = a * 2.0
        graph = s.end_capture()
    np.testing.assert_array_equal(cp.asnumpy(a), [0.0, 1.0, 2.0])
    graph.launch(s)
    graph.launch(s)
    np.testing.assert_array_equal(cp.asnumpy(a), [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(cp.asnumpy(b), [4.0, 6.0, 8.0])
    with s:
        s.begin_capture()
        with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="capturing"):
            float(a[0])
        with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="invalidated"):
            s.end_capture()
    with pytest.raises(RuntimeError, match="default"):
        cp.cuda.Stream.null.begin_capture()
