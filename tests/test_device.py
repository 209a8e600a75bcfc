"""Data on the device: compiled CuPy graphs keep params on the GPU between calls, take
device feeds without a copy and return device arrays; ``gn.run(device="cuda")`` runs node
by node on CuPy arrays; clear errors without CuPy or a GPU. All through the CPU stand-in
``cupy`` (tests/cupy_standin.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.optim import SGD
from tests.cupy_standin import counting_uploads, installed
from tests.op_cases import CASES
from tests.test_codegen import EXAMPLES, mlp
from tests.test_codegen_cupy_run import needs_gxx


@pytest.fixture
def cp() -> Iterator[Any]:
    """The stand-in ``cupy``, with ``uploads``: how many host arrays went to the device."""
    with counting_uploads() as mod:
        yield mod


def _mlp_compiled(cp: Any) -> tuple[gn.Graph, dict[str, Any], Any]:
    g, feeds, outs, wrt = mlp("float64", batch=4)
    return g, feeds, gn.compile(g, outputs=outs, wrt=wrt, backend="cupy")


def _host(cp: Any, table: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: cp.asnumpy(v) for k, v in table.items()}


# -- compiled CuPy graphs: params resident, device feeds, device results ------------------
@needs_gxx
def test_compiled_cupy_uploads_params_once(cp: Any) -> None:
    g, feeds, f = _mlp_compiled(cp)
    n_params = sum(1 for _, _, p in f._args if p)
    r1 = f(feeds)
    assert f.device_params.uploads == n_params
    dev = {k: f.device_params.get(cp, g.node(k)) for k in g.param_values()}
    before = cp.uploads
    r2 = f(feeds)
    assert f.device_params.uploads == n_params
    assert cp.uploads - before == len(feeds)  # only the host feeds went up
    assert all(f.device_params.get(cp, g.node(k)) is v for k, v in dev.items())
    for k in r1.values:
        np.testing.assert_array_equal(cp.asnumpy(r1.value(k)), cp.asnumpy(r2.value(k)))


@needs_gxx
def test_device_feeds_are_not_copied_and_results_stay_on_the_device(cp: Any) -> None:
    g, feeds, f = _mlp_compiled(cp)
    ref = gn.run(g, feeds, outputs=f.output_names, wrt=f.grad_names)
    dev_feeds = {k: cp.asarray(v) for k, v in feeds.items()}
    f(dev_feeds)
    before = cp.uploads
    r = f(dev_feeds)
    assert cp.uploads == before, "device feeds and resident params: nothing uploaded"
    for k in f.output_names:
        assert isinstance(r[k], cp.ndarray)
        got = r.value(k, host=True)
        assert isinstance(got, np.ndarray)
        np.testing.assert_allclose(got, ref.value(k), rtol=1e-10)
    for k in f.grad_names:
        assert isinstance(r.grad(k), cp.ndarray)
        np.testing.assert_allclose(r.grad(k, host=True), ref.grad(k), rtol=1e-10, atol=1e-13)
    h = f(dev_feeds, host=True)
    assert all(isinstance(v, np.ndarray) for v in [*h.values.values(), *h.grads.values()])


@needs_gxx
def test_param_writes_refresh_the_device_copies(cp: Any) -> None:
    g, feeds, f = _mlp_compiled(cp)
    w = g.params[0]
    f(feeds)
    ups = f.device_params.uploads
    g.set_value(w, np.zeros(w.shape))
    out = f.output_names[0]
    got = f(feeds, host=True).value(out)
    np.testing.assert_allclose(got, gn.run(g, feeds, outputs=[out]).value(out), rtol=1e-10)
    assert f.device_params.uploads > ups
    # an optimizer step writes through the store: refreshed too
    SGD(g.params, lr=0.5).step(f(feeds, host=True))
    np.testing.assert_allclose(f(feeds, host=True).value(out),
                               gn.run(g, feeds, outputs=[out]).value(out), rtol=1e-10)
    # a direct in-place write is not seen until sync_params()
    g.value_of(w)[...] = 1.0
    stale = f(feeds, host=True).value(out)
    f.sync_params()
    fresh = f(feeds, host=True).value(out)
    np.testing.assert_allclose(fresh, gn.run(g, feeds, outputs=[out]).value(out), rtol=1e-10)
    assert not np.allclose(stale, fresh)


@needs_gxx
def test_fed_params_override_the_resident_copies(cp: Any) -> None:
    g, feeds, f = _mlp_compiled(cp)
    w = g.params[0]
    out = f.output_names[0]
    other = np.full(w.shape, 0.25)
    got = f({**feeds, w.name: cp.asarray(other)}, host=True).value(out)
    np.testing.assert_allclose(got, gn.run(g, {**feeds, w.name: other}, outputs=[out])
                               .value(out), rtol=1e-10)


def test_shared_values_bump_the_version_of_every_sharer() -> None:
    with gn.Graph("a") as a:
        wa = gn.param("w", [1.0, 2.0])
    with gn.Graph("b") as b:
        wb = gn.param("w", [0.0, 0.0])
    b.share_value(wb, wa)
    v = b.param_version
    a.set_value(wa, [3.0, 4.0])
    assert b.param_version > v and b.value_of(wb).tolist() == [3.0, 4.0]


@needs_gxx
def test_device_feed_errors(cp: Any) -> None:
    g, feeds, f = _mlp_compiled(cp)
    bad = {**feeds, "x": cp.asarray(np.zeros((3, 3)))}
    with pytest.raises(gn.FeedError, match="has shape"):
        f(bad)
    with pytest.raises(gn.FeedError, match="has shape"):
        gn.run(g, bad, device="cuda")


# -- gn.run(device="cuda") -------------------------------------------------------------------
def _compare_runs(cp: Any, g: gn.Graph, feeds: dict[str, Any], outs: list[Any],
                  wrt: list[Any] | None, loss: Any = None, tol: float = 1e-10) -> None:
    ref = gn.run(g, feeds, outputs=outs, wrt=wrt or None, loss=loss)
    r = gn.run(g, feeds, outputs=outs, wrt=wrt or None, loss=loss, device="cuda")
    assert r.device == "cuda"
    for o in outs:
        assert isinstance(r.value(o), cp.ndarray), o
        np.testing.assert_allclose(r.value(o, host=True), ref.value(o), rtol=tol, atol=tol)
    for w in wrt or []:
        assert isinstance(r.grad(w), cp.ndarray), w
        np.testing.assert_allclose(r.grad(w, host=True), ref.grad(w), rtol=tol, atol=tol)


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_run_on_the_device_matches_numpy(cp: Any, example: str) -> None:
    g, feeds, outs, wrt = EXAMPLES[example]()
    _compare_runs(cp, g, feeds, outs if isinstance(outs, list) else [outs], wrt)


OPS = sorted(n for n, op in gn.REGISTRY.items() if not op.leaf)


@pytest.mark.parametrize("name", OPS)
def test_every_op_runs_on_the_device(cp: Any, name: str) -> None:
    op = gn.REGISTRY[name]
    for case in CASES[name]:
        g = gn.Graph(f"dev_{name}")
        ins = [g.input(f"x{i}", v.shape, v.dtype) for i, v in enumerate(case.inputs)]
        with g:  # ops without inputs (creation ops) build in the active graph
            out = gn.bind(op, *ins, **case.params).named("out")
        wrt = [x for i, x in enumerate(ins) if i not in op.nondiff and not case.nondiff
               and case.inputs[i].dtype.kind == "f"
               and (case.diff_inputs is None or i in case.diff_inputs)]
        loss = (gn.sum(out) * 1.0).named("loss") if wrt and out.dtype.kind == "f" else None
        feeds = {f"x{i}": v for i, v in enumerate(case.inputs)}
        _compare_runs(cp, g, feeds, [out] + ([loss] if loss is not None else []),
                      wrt if loss is not None else None, loss, tol=1e-9)


def test_device_run_params_resident_and_device_feeds(cp: Any) -> None:
    g, feeds, outs, wrt = mlp("float64", batch=4)
    dev = {k: cp.asarray(v) for k, v in feeds.items()}
    gn.run(g, dev, outputs=outs, device="cuda")
    before = cp.uploads
    r = gn.run(g, dev, outputs=outs, wrt=wrt, device="cuda")
    assert cp.uploads == before
    host = r.to_host()
    assert host.device == "cpu" and all(isinstance(v, np.ndarray) for v in host.grads.values())
    g.set_value(g.params[0], np.zeros(g.params[0].shape))
    r2 = gn.run(g, dev, outputs=outs, device="cuda")
    np.testing.assert_allclose(r2.value(outs[0], host=True),
                               gn.run(g, feeds, outputs=outs).value(outs[0]), rtol=1e-10)


def test_device_run_seed_anomaly_zero_grads_and_bind(cp: Any) -> None:
    with gn.Graph("s") as g:
        x = gn.input("x", shape=(3,))
        z = gn.input("z", shape=(3,))
        y = (gn.log(x) * 2.0).named("y")
    r = gn.run(g, {"x": [1.0, 2.0, 4.0], "z": np.zeros(3)}, wrt=[x, z], loss=y,
               seed=cp.asarray(np.ones(3)), device="cuda")
    np.testing.assert_allclose(r.grad(x, host=True), [2.0, 1.0, 0.5])
    assert isinstance(r.grad(z), cp.ndarray) and not r.has_grad(z)
    with pytest.raises(gn.AnomalyError, match="NaN|Inf"):
        gn.run(g, {"x": [1.0, -1.0, 0.0]}, outputs=[y], anomaly=True, device="cuda")
    assert isinstance(gn.bind(gn.REGISTRY["exp"], cp.asarray(np.zeros(2))), cp.ndarray)
    assert "y=array(3,)" in repr(gn.run(g, {"x": [1.0, 2.0, 4.0]}, outputs=[y], device="cuda"))


def test_trace_and_render_of_a_device_run(cp: Any) -> None:
    g, feeds, outs, wrt = EXAMPLES["neuron"]()
    t = gn.trace(g, feeds, device="cuda")
    ref = gn.trace(g, feeds)
    assert [s.kind for s in t.steps] == [s.kind for s in ref.steps]
    for s, s0 in zip(t.steps, ref.steps):
        assert not isinstance(s.value, cp.ndarray)
        np.testing.assert_allclose(np.asarray(s.value, float), np.asarray(s0.value, float))
    r = gn.run(g, feeds, outputs=outs, wrt=wrt, device="cuda")
    assert gn.render(g, run=r, format="dot") == gn.render(
        g, run=gn.run(g, feeds, outputs=outs, wrt=wrt), format="dot")


# -- errors without CuPy or without a GPU ----------------------------------------------------
def _one_line(e: pytest.ExceptionInfo[Any]) -> str:
    msg = str(e.value)
    assert "\n" not in msg and e.value.__cause__ is None and isinstance(e.value, gn.GraphError)
    return msg


def test_errors_without_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    g, feeds, outs, wrt = EXAMPLES["neuron"]()
    with pytest.raises(gn.DeviceError) as e:
        gn.run(g, feeds, device="cuda")
    assert "CuPy is not installed" in _one_line(e)
    f = gn.compile(g, outputs=outs, wrt=wrt, backend="cupy")
    assert f.function is None and "import cupy" in f.source
    with pytest.raises(gn.DeviceError) as e:
        f(feeds)
    assert "CuPy is not installed" in _one_line(e)
    with pytest.raises(gn.DeviceError, match="unknown device 'tpu'"):
        gn.run(g, feeds, device="tpu")


def test_errors_with_cupy_but_no_gpu() -> None:
    g, feeds, outs, wrt = EXAMPLES["neuron"]()
    with installed() as mod:
        mod.cuda.is_available = lambda: False
        with pytest.raises(gn.DeviceError) as e:
            gn.run(g, feeds, device="cuda")
        assert "no CUDA GPU" in _one_line(e)
        f = gn.compile(g, outputs=outs, wrt=wrt, backend="cupy")
        with pytest.raises(gn.DeviceError) as e:
            f(feeds)
        assert "no CUDA GPU" in _one_line(e)


def test_compiled_jacobian_on_the_device(cp: Any) -> None:
    """gn.compile_jacobian(backend="cupy"): the batched sweep as CuPy code, host results."""
    rng = np.random.default_rng(3)
    with gn.Graph() as g:
        x = gn.input("x", shape=(5,))
        W = gn.param("W", rng.normal(size=(4, 5)))
        y = gn.sigmoid(W @ gn.tanh(x))
    feeds = {"x": rng.normal(size=5)}
    for mode in ("forward", "reverse"):
        J = gn.compile_jacobian(g, y, x, mode=mode, backend="cupy")(feeds)
        assert isinstance(J, np.ndarray) and J.shape == (4, 5)
        np.testing.assert_allclose(J, gn.jacobian(g, y, x, feeds, mode=mode), rtol=1e-12)
