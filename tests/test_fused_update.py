"""The optimizer's update compiled into the step (``gn.compile(..., optimizer=)``,
``gn.fit(fused_update=True)``): the same params as the unfused path (a compiled step that
returns gradients, then ``opt.step``) after several steps, for every optimizer with a
fused rule, with the lr changed by a schedule between steps, on NumPy and on the CuPy
stand-in; hyperparameter values never in the source; the fallbacks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.codegen.cupy_backend import update_cuda_source
from graphnn.codegen.update import UpdateRule
from tests.cupy_standin import installed
from tests.test_codegen_cupy import NVCC, needs_nvcc
from tests.test_codegen_cupy_run import needs_gxx

OPTIMIZERS: dict[str, Callable[[], gn.optim.Optimizer]] = {
    "sgd": lambda: gn.optim.SGD(lr=0.1),
    "sgd_wd": lambda: gn.optim.SGD(lr=0.1, weight_decay=0.01),
    "momentum": lambda: gn.optim.SGD(lr=0.1, momentum=0.9),
    "momentum_dampening": lambda: gn.optim.SGD(lr=0.1, momentum=0.8, dampening=0.3),
    "nesterov_wd": lambda: gn.optim.SGD(lr=0.05, momentum=0.9, nesterov=True,
                                        weight_decay=0.02),
    "adam": lambda: gn.optim.Adam(lr=0.01),
    "adam_wd": lambda: gn.optim.Adam(lr=0.02, betas=(0.8, 0.99), eps=1e-6,
                                     weight_decay=0.1),
    "adagrad": lambda: gn.optim.Adagrad(lr=0.1, initial_accumulator_value=0.1),
    "rmsprop": lambda: gn.optim.RMSprop(lr=0.01),
    "rmsprop_momentum_wd": lambda: gn.optim.RMSprop(lr=0.01, momentum=0.5, weight_decay=0.01),
}
STEPS = 5


def _problem(dtype: str = "float64") -> tuple[gn.Graph, list[gn.Node]]:
    """A small regression net: two weight matrices, a bias and a scalar param."""
    rng = np.random.default_rng(4)
    with gn.Graph("fused") as g:
        x, t = g.input("x", (6, 3), dtype), g.input("t", (6, 2), dtype)
        w1 = gn.param("w1", rng.normal(size=(3, 4)).astype(dtype))
        b1 = gn.param("b1", np.zeros(4, dtype))
        w2 = gn.param("w2", rng.normal(size=(4, 2)).astype(dtype))
        s = gn.param("s", np.array(1.5, dtype))
        gn.mse_loss(gn.tanh(x @ w1 + b1) @ w2 * s, t).named("loss")
    return g, [w1, b1, w2, s]


def _feeds(k: int, dtype: str = "float64") -> dict[str, np.ndarray]:
    rng = np.random.default_rng(100 + k)
    return {"x": rng.normal(size=(6, 3)).astype(dtype),
            "t": rng.normal(size=(6, 2)).astype(dtype)}


def _train(make: Callable[[], gn.optim.Optimizer], fused: bool, backend: str = "numpy",
           dtype: str = "float64", cp: Any = None) -> tuple[list[np.ndarray], list[float]]:
    """STEPS steps; the lr halves after every step (a schedule stepped between steps)."""
    g, ps = _problem(dtype)
    opt = make()
    opt.add_params(ps)
    sched = gn.optim.StepLR(opt, step_size=1, gamma=0.5)
    f = gn.compile(g, ["loss"], wrt=ps, backend=backend, optimizer=opt if fused else None)
    losses = []
    for k in range(STEPS):
        feeds = _feeds(k, dtype)
        if cp is not None:
            feeds = {n: cp.asarray(v) for n, v in feeds.items()}
        r = f(feeds, host=True)
        if not fused:
            opt.step(r)
            f.sync_params()
        losses.append(float(r["loss"]))
        sched.step()
    assert opt.steps == STEPS
    return [np.array(g.value_of(p)) for p in ps], losses


@pytest.fixture
def cp() -> Iterator[Any]:
    with installed() as mod:
        yield mod


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_numpy_step_equals_the_unfused_path(name: str) -> None:
    want, want_loss = _train(OPTIMIZERS[name], fused=False)
    got, got_loss = _train(OPTIMIZERS[name], fused=True)
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-13)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@needs_gxx
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_cupy_step_equals_the_unfused_path(cp: Any, name: str) -> None:
    """The fused CUDA kernels (run by the stand-in) against the host optimizer."""
    want, want_loss = _train(OPTIMIZERS[name], fused=False)
    got, got_loss = _train(OPTIMIZERS[name], fused=True, backend="cupy", cp=cp)
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-12)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@needs_gxx
@pytest.mark.parametrize("name", ["momentum", "adam_wd", "rmsprop_momentum_wd"])
def test_fused_float32_on_both_backends(cp: Any, name: str) -> None:
    """float32 params: kernels typed float32, scalars rounded as NumPy rounds them."""
    want, _ = _train(OPTIMIZERS[name], fused=False, dtype="float32")
    for backend in ("numpy", "cupy"):
        got, _ = _train(OPTIMIZERS[name], fused=True, backend=backend, dtype="float32",
                        cp=cp if backend == "cupy" else None)
        for a, b in zip(got, want):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


def test_hyperparameters_are_arguments_not_code() -> None:
    g, ps = _problem()
    opt = gn.optim.Adam(lr=0.0123456789, betas=(0.8765, 0.9876), eps=3.21e-7,
                        weight_decay=0.04321)
    for backend in ("numpy", "cupy"):
        src = gn.compile(g, ["loss"], wrt=ps, backend=backend, optimizer=opt).source
        for v in ("0.0123456789", "0.8765", "0.9876", "3.21e-07", "0.04321", "0.1235"):
            assert v not in src, (backend, v)
        assert "adam_wd" in src


def test_the_state_is_the_optimizers() -> None:
    """Fused and unfused steps share ``opt.state``: they can follow each other."""
    g, ps = _problem()
    opt = gn.optim.SGD(ps, lr=0.1, momentum=0.9)
    fused = gn.compile(g, ["loss"], wrt=ps, optimizer=opt)
    plain = gn.compile(g, ["loss"], wrt=ps)
    for k in range(4):
        if k % 2:
            opt.step(plain(_feeds(k)))
        else:
            fused(_feeds(k))
    g2, ps2 = _problem()
    opt2 = gn.optim.SGD(ps2, lr=0.1, momentum=0.9)
    plain2 = gn.compile(g2, ["loss"], wrt=ps2)
    for k in range(4):
        opt2.step(plain2(_feeds(k)))
    for p, p2 in zip(ps, ps2):
        np.testing.assert_allclose(g.value_of(p), g2.value_of(p2), rtol=1e-12)
        np.testing.assert_allclose(opt.state[p]["v"], opt2.state[p2]["v"], rtol=1e-12)


def test_a_non_finite_loss_skips_the_update() -> None:
    with gn.Graph() as g:
        x = g.input("x", (2,))
        w = gn.param("w", np.array([1.0, 2.0]))
        gn.sum(gn.log(w * x)).named("loss")
    opt = gn.optim.Adam(lr=0.1)
    f = gn.compile(g, ["loss"], wrt=[w], optimizer=opt)
    f(x=[1.0, 1.0])
    before = g.value_of(w).copy()
    with np.errstate(all="ignore"):
        r = f(x=[-1.0, 1.0])
    assert np.isnan(float(r["loss"]))
    np.testing.assert_array_equal(g.value_of(w), before)


def test_fit_uses_the_fused_step_and_matches_the_unfused_one() -> None:
    X, y = gn.data.xor(48, seed=3)
    out = {}
    for fused in (True, False):
        model = gn.nn.Sequential(gn.nn.Linear(2, 6), gn.nn.BatchNorm1d(6), gn.nn.Tanh(),
                                 gn.nn.Dropout(0.2), gn.nn.Linear(6, 2), seed=1)
        h = gn.fit(model, X, y, optimizer=gn.optim.Adam(lr=0.05, weight_decay=0.01),
                   epochs=3, batch_size=16, engine="compiled", fused_update=fused,
                   schedule=lambda o: gn.optim.CosineLR(o, 3), val=(X[:20], y[:20]))
        assert h.fused_update is fused and h.stopped == "completed"
        assert h.grad("fc1.weight").shape == (6, 2)  # the step still returns gradients
        out[fused] = (h, {k: np.array(v) for k, v in model.state_dict().items()})
    (h1, p1), (h2, p2) = out[True], out[False]
    np.testing.assert_allclose(h1.train_loss, h2.train_loss, rtol=1e-12)
    np.testing.assert_allclose(h1.val_loss, h2.val_loss, rtol=1e-12)
    for k in p2:
        np.testing.assert_allclose(p1[k], p2[k], rtol=1e-12, atol=1e-14, err_msg=k)


def test_optimizers_without_a_rule_fall_back() -> None:
    class Halve(gn.optim.Optimizer):
        def update(self, w: Any, g: Any, st: Any) -> Any:
            return w - 0.5 * self.lr * g

    g, ps = _problem()
    with pytest.raises(gn.GraphError, match="no fused update"):
        gn.compile(g, ["loss"], wrt=ps, optimizer=Halve(lr=0.1))
    X, y = gn.data.xor(32, seed=0)
    model = gn.nn.MLP([2, 4, 2], seed=0)
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    h = gn.fit(model, X, y, optimizer=Halve(lr=0.5), epochs=1, batch_size=16,
               engine="compiled")
    assert not h.fused_update
    assert any(not np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_fused_step_refuses_fed_params_and_needs_gradients() -> None:
    g, ps = _problem()
    f = gn.compile(g, ["loss"], wrt=ps, optimizer=gn.optim.SGD(lr=0.1))
    with pytest.raises(gn.FeedError, match="cannot be fed"):
        f({**_feeds(0), "w1": np.zeros((3, 4))})
    with pytest.raises(gn.GraphError, match="needs wrt"):
        gn.compile(g, ["loss"], optimizer=gn.optim.SGD(lr=0.1))
    opt = gn.optim.SGD(lr=0.1)
    f = gn.compile(g, ["loss"], wrt=ps, optimizer=opt)
    opt.momentum = 0.9  # the rule's structure changed: compile again
    with pytest.raises(gn.GraphError, match="compile the step again"):
        f(_feeds(0))


@pytest.mark.parametrize("bad", ["w ** 2", "__import__('os')", "w.T", "g if w else g",
                                 "sqrt(w, g)", "lr"])
def test_update_rules_are_arithmetic_only(bad: str) -> None:
    with pytest.raises(gn.GraphError):
        UpdateRule("r", ("lr",), (), (("w", bad),) if bad != "lr" else (("lr", "w"),))
    with pytest.raises(gn.GraphError):
        UpdateRule("r", ("i",), (), (("w", "w - i * g"),))  # a CuPy kernel name


def test_saved_fused_modules_pass_ruff(tmp_path: Any) -> None:
    pytest.importorskip("ruff")
    g, ps = _problem()
    paths = [str(gn.compile(g, ["loss"], wrt=ps, backend=b, optimizer=OPTIMIZERS[n]())
                 .save(tmp_path / f"{n}_{b}.py"))
             for n in ("nesterov_wd", "adam_wd") for b in ("numpy", "cupy")]
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                           "--select", "E,F,W", "--ignore", "E501", *paths],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_nvcc
def test_update_kernels_compile_with_nvcc(tmp_path: Any) -> None:
    specs = {}
    for dtype in ("float16", "float32"):
        g, ps = _problem(dtype)
        for name in sorted(OPTIMIZERS):
            for spec in gn.compile(g, ["loss"], wrt=ps, backend="cupy",
                                   optimizer=OPTIMIZERS[name]()).update_kernels:
                specs[spec["name"]] = spec  # one rule, one kernel (momentum +- dampening)
    assert any(s["ctype"] == "float16" for s in specs.values())
    src = "\n".join(update_cuda_source(s) for s in specs.values())
    cu = tmp_path / "updates.cu"
    cu.write_text(src)
    proc = subprocess.run([str(NVCC), "-ptx", "-arch=compute_80", str(cu), "-o",
                           str(tmp_path / "updates.ptx")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr + "\n" + src


def _wide(n_layers: int, dtypes: tuple[str, ...]) -> tuple[gn.Graph, list[gn.Node]]:
    """A stack of linear layers whose params cycle through ``dtypes`` (each layer's
    input cast to its params' dtype)."""
    rng = np.random.default_rng(7)
    with gn.Graph("wide") as g:
        h = g.input("x", (4, 3), "float64")
        ps = []
        for k in range(n_layers):
            dt = dtypes[k % len(dtypes)]
            w = gn.param(f"w{k}", (rng.normal(size=(3, 3)) * 0.5).astype(dt))
            b = gn.param(f"b{k}", np.zeros((1, 1, 3), dt))  # a 3-D param (more argument bytes)
            h = gn.tanh(gn.cast(h, dt) @ w + b[0])
            ps += [w, b]
        gn.sum(gn.cast(h, "float64") ** 2).named("loss")
    return g, ps


@needs_gxx
def test_one_update_kernel_per_run_of_params(cp: Any) -> None:
    """Many params of two dtypes: the update is split into kernels of one dtype whose raw
    arguments fit CUDA's 4 KB (``UPDATE_ARG_BYTES``); every param ends where the unfused
    host optimizer puts it."""
    from graphnn.codegen.cupy_backend import UPDATE_ARG_BYTES, _raw_bytes

    x = np.random.default_rng(8).normal(size=(4, 3))
    results = {}
    for fused in (False, True):
        g, ps = _wide(24, ("float64", "float32"))
        opt = gn.optim.Adam(ps, lr=0.01)
        f = gn.compile(g, ["loss"], wrt=ps, backend="cupy" if fused else "numpy",
                       optimizer=opt if fused else None)
        for _ in range(3):
            r = f(x=cp.asarray(x) if fused else x)
            if not fused:
                opt.step(r)
        results[fused] = [np.asarray(cp.asnumpy(cp.asarray(g.value_of(p)))
                                     if fused else g.value_of(p)) for p in ps]
        if fused:
            specs = f.update_kernels
    assert len(specs) >= 4  # two dtypes, each over more than one kernel
    seen = []
    for spec in specs:
        dts = {t for n, t in spec["ins"] + spec["outs"] if n not in ("_L", "_sc")}
        assert len(dts) == 1
        # g, w, m, v per param (raw: pointer, size, shape, strides), the loss, the table
        args = sum(4 * _raw_bytes(g.node(n).ndim) for n in spec["params"])
        assert args + _raw_bytes(0) + _raw_bytes(2) <= UPDATE_ARG_BYTES
        seen += spec["params"]
    assert sorted(seen) == sorted(p.name for p in ps)  # each param in one kernel
    for a, b in zip(results[True], results[False]):  # float32 layers feed every gradient
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@needs_gxx
def test_plain_sgd_on_float32_is_captured(cp: Any) -> None:
    """SGD without momentum has no state buffers: its scalars still reach the captured
    update (before, the replay's scalar buffers took their dtype from a state buffer and
    a float32 step could not be captured)."""
    g, ps = _problem("float32")
    opt = gn.optim.SGD(ps, lr=0.1)
    f = gn.compile(g, ["loss"], wrt=ps, backend="cupy", optimizer=opt, cuda_graph=True)
    g2, ps2 = _problem("float32")
    opt2 = gn.optim.SGD(ps2, lr=0.1)
    plain = gn.compile(g2, ["loss"], wrt=ps2, backend="cupy", optimizer=opt2)
    for k in range(4):
        feeds = {n: cp.asarray(v) for n, v in _feeds(k, "float32").items()}
        f(feeds)
        plain(feeds)
    assert f.cuda_graph is not None and f.cuda_graph.status == "captured"
    for p, q in zip(ps, ps2):
        np.testing.assert_array_equal(cp.asnumpy(cp.asarray(g.value_of(p))),
                                      cp.asnumpy(cp.asarray(g2.value_of(q))))
