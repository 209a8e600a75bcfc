"""Training on the GPU: ``gn.fit(..., device="cuda")``, ``gn.predict``/``gn.evaluate`` and
``graphnn train --device cuda``, executed on the CPU through the stand-in ``cupy``
(tests/cupy_standin.py: a distinct array type that rejects host arrays where CuPy does).

Each device run is compared with the same training on the host: the histories and the
trained params agree (different kernels, so to rounding), the params live on the device
during training and come back into the model's own arrays afterwards."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from tests.cli_util import invoke
from tests.cupy_standin import counting_uploads
from tests.test_codegen_cupy_run import needs_gxx

ENGINES = [pytest.param("compiled", marks=needs_gxx), "interpret"]


@pytest.fixture
def cp() -> Iterator[Any]:
    """The stand-in ``cupy``; ``uploads`` counts host arrays copied to the device."""
    with counting_uploads() as mod:
        yield mod


def _data() -> tuple[np.ndarray, np.ndarray]:
    return gn.data.xor(48, seed=3)


def _model(bn: bool = False) -> gn.nn.Module:
    if not bn:
        return gn.nn.MLP([2, 6, 2], activation="tanh", seed=1)
    return gn.nn.Sequential(gn.nn.Linear(2, 6), gn.nn.BatchNorm1d(6), gn.nn.Tanh(),
                            gn.nn.Dropout(0.2), gn.nn.Linear(6, 2), seed=1)


def _params(model: gn.nn.Module) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("bn", [False, True], ids=["mlp", "batchnorm-dropout"])
def test_fit_on_the_device_matches_the_host(cp: Any, engine: str, bn: bool) -> None:
    X, y = _data()
    kw = dict(loss="cross_entropy", optimizer=gn.optim.Adam(lr=0.05), epochs=3,
              batch_size=16, val=(X[:20], y[:20]), seed=0, engine=engine, eval_batch=8)
    host_model, dev_model = _model(bn), _model(bn)
    h_host = gn.fit(host_model, X, y, **kw)
    kw["optimizer"] = gn.optim.Adam(lr=0.05)
    h_dev = gn.fit(dev_model, X, y, device="cuda", **kw)
    assert h_dev.stopped == "completed" and h_dev.epochs == 3
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        np.testing.assert_allclose(getattr(h_dev, key), getattr(h_host, key), rtol=1e-9,
                                   err_msg=key)
    want, got = _params(host_model), _params(dev_model)
    assert want.keys() == got.keys()
    for k in want:  # trained params, BatchNorm running stats (a bias before BatchNorm gets
        # rounding-size gradients only, which Adam scales up: hence the absolute tolerance)
        np.testing.assert_allclose(got[k], want[k], rtol=1e-9, atol=1e-8, err_msg=k)
    for p in h_dev.graph.params:  # the graph's store holds host arrays again
        assert type(h_dev.graph.value_of(p)) is np.ndarray


@pytest.mark.parametrize("engine", ENGINES)
def test_params_and_data_stay_on_the_device(cp: Any, engine: str) -> None:
    """Per training step only the batch's row indices go up, and with the update fused
    into the compiled step its scalars (one small float64 table): the data was moved once
    and the params never leave the device (the optimizer updates them there)."""
    X, y = _data()

    def uploads(epochs: int) -> int:
        cp.uploads = 0
        gn.fit(_model(), X, y, epochs=epochs, batch_size=16, seed=0, engine=engine,
               device="cuda", optimizer="sgd", lr=0.1)
        return cp.uploads

    steps_per_epoch = len(X) // 16
    per_step = 1 + (engine == "compiled")  # row indices; the fused update's scalars
    assert uploads(3) - uploads(1) == 2 * steps_per_epoch * per_step  # two more epochs

    seen: list[Any] = []
    model = _model()
    orig = gn.optim.SGD.update

    def spy(self: Any, w: Any, g: Any, st: Any) -> Any:
        seen.append((type(w), type(g)))
        return orig(self, w, g, st)

    gn.optim.SGD.update = spy  # type: ignore[method-assign]
    try:  # the unfused path: the optimizer updates the device arrays after each step
        gn.fit(model, X, y, epochs=1, batch_size=16, engine=engine, device="cuda",
               optimizer="sgd", lr=0.1, fused_update=False)
    finally:
        gn.optim.SGD.update = orig  # type: ignore[method-assign]
    assert seen and all(t == (cp.ndarray, cp.ndarray) for t in seen)
    # the fused path (compiled engine): the update runs in the step, its momenta are
    # device arrays the step updates in place
    opt = gn.optim.SGD(lr=0.1, momentum=0.9)
    h = gn.fit(_model(), X, y, epochs=1, batch_size=16, engine=engine, device="cuda",
               optimizer=opt)
    assert h.fused_update is (engine == "compiled")
    assert all(type(st["v"]) is cp.ndarray for st in opt.state.values())


def test_an_error_mid_training_leaves_the_trained_params_on_the_host(cp: Any) -> None:
    """An exception after an epoch (here from the LR schedule) still copies the device
    params back: the model holds what one epoch trained, as on the host."""
    X, y = _data()

    class Boom(Exception):
        pass

    class Stop:
        def __init__(self, opt: Any) -> None:
            pass

        def step(self) -> None:
            raise Boom

    trained = {}
    for device in ("cpu", "cuda"):
        model = _model()
        before = _params(model)
        with pytest.raises(Boom):
            gn.fit(model, X, y, epochs=2, batch_size=16, engine="interpret", device=device,
                   optimizer="sgd", lr=0.5, schedule=Stop)
        trained[device] = model.state_dict()
        assert all(type(v) is np.ndarray for v in trained[device].values())
        assert any(not np.array_equal(trained[device][k], before[k]) for k in before)
    for k, v in trained["cpu"].items():
        np.testing.assert_allclose(trained["cuda"][k], v, rtol=1e-12, err_msg=k)


def test_nan_on_the_device_names_the_node(cp: Any) -> None:
    with gn.Graph("blowup") as g:
        x = g.input("x", (4, 1))
        w = gn.param("w", np.array([[1.0]]))
        loss = gn.sum(gn.log(x @ w - 10.0)).named("loss")
    h = gn.fit(g, {"x": np.ones((8, 1))}, loss=loss, engine="interpret", device="cuda",
               epochs=1, optimizer="sgd", lr=0.1)
    assert h.stopped == "nan" and "log" in h.anomaly
    assert type(g.value_of(w)) is np.ndarray and g.value_of(w)[0, 0] == 1.0


@pytest.mark.parametrize("engine", ENGINES)
def test_graph_training_on_the_device(cp: Any, engine: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 3))
    t = X @ np.array([[1.0], [-2.0], [0.5]])

    def build() -> tuple[gn.Graph, gn.Node]:
        with gn.Graph("regress") as g:
            x, tt = g.input("x", (8, 3)), g.input("t", (8, 1))
            w = gn.param("w", np.zeros((3, 1)))
            gn.mse_loss(x @ w, tt).named("loss")
        return g, w

    (g1, w1), (g2, w2) = build(), build()
    kw = dict(loss="loss", epochs=4, optimizer="sgd", lr=0.1, engine=engine, seed=2,
              val={"x": X[:16], "t": t[:16]})
    h1 = gn.fit(g1, {"x": X, "t": t}, **kw)
    h2 = gn.fit(g2, {"x": X, "t": t}, device="cuda", **kw)
    np.testing.assert_allclose(h2.train_loss, h1.train_loss, rtol=1e-10)
    np.testing.assert_allclose(h2.val_loss, h1.val_loss, rtol=1e-10)
    np.testing.assert_allclose(g2.value_of(w2), g1.value_of(w1), rtol=1e-10)


@needs_gxx
def test_predict_and_evaluate_on_the_device(cp: Any) -> None:
    X, y = _data()
    model = _model()
    gn.fit(model, X, y, epochs=2, batch_size=16, engine="interpret", optimizer="adam", lr=0.05)
    out = gn.predict(model, X, batch_size=20, device="cuda")
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, gn.predict(model, X, batch_size=20), rtol=1e-12)
    assert gn.evaluate(model, X, y, device="cuda") == gn.evaluate(model, X, y)


def test_device_errors_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data()
    model = _model()
    before = _params(model)
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(gn.DeviceError) as e:
        gn.fit(model, X, y, epochs=1, device="cuda")
    assert "CuPy is not installed" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(gn.DeviceError, match="unknown device 'gpu'"):
        gn.fit(model, X, y, epochs=1, device="gpu")
    with pytest.raises(gn.DeviceError, match="CuPy is not installed"):
        gn.predict(model, X, device="cuda")
    assert all(np.array_equal(v, before[k]) for k, v in _params(model).items())
    r = invoke("train", "examples/models/xor_mlp.py", "--epochs", "1", "--device", "cuda",
               "-q", "-o", "unused.npz")
    assert r.exit_code != 0 and "CuPy is not installed" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_train_on_the_device(cp: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
                                 ) -> None:
    monkeypatch.chdir(tmp_path)
    import pathlib

    model = pathlib.Path(__file__).resolve().parents[1] / "examples/models/xor_mlp.py"
    out = {}
    for device in ("cpu", "cuda"):
        r = invoke("train", model, "--epochs", "2", "--device", device, "-q",
                   "-o", f"{device}.npz", "--history", f"{device}.json")
        assert r.exit_code == 0, r.stderr
        out[device] = np.load(f"{device}.npz")
    assert out["cpu"].files == out["cuda"].files
    for k in out["cpu"].files:
        np.testing.assert_allclose(out["cuda"][k], out["cpu"][k], rtol=1e-9, err_msg=k)
