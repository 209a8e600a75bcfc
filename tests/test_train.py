"""gn.fit, predict, save/load, plots."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphnn as gn


def softmax_mse(out, t):
    """A loss built from core ops only: mean squared error of softmax vs one-hot."""
    return gn.mean((gn.softmax(out) - t) ** 2)


def test_fit_xor_custom_loss_reaches_100_percent():
    X, y = gn.data.xor(96, seed=0)
    model = gn.nn.MLP([2, 8, 2], activation="tanh", seed=0)
    h = gn.fit(model, X, np.eye(2)[y], loss=softmax_mse, optimizer=gn.optim.Adam(lr=0.05),
               epochs=25, batch_size=32, engine="interpret", val=(X, np.eye(2)[y]))
    assert h.epochs == 25 and len(h.val_loss) == 25 and len(h.seconds) == 25
    assert h.val_acc[-1] == 1.0 and h.train_loss[-1] < h.train_loss[0]
    assert gn.evaluate(model, X, y) == 1.0


def test_fit_xor_table_needs_a_hidden_layer():
    X, y = gn.data.xor_table()
    X, y = np.tile(X, (8, 1)), np.tile(y, 8)
    deep = gn.nn.MLP([2, 4, 2], activation="tanh", seed=1)
    h = gn.fit(deep, X, y, optimizer=gn.optim.Adam(lr=0.1), epochs=60, batch_size=32,
               engine="interpret", seed=0)
    assert gn.evaluate(deep, X, y) == 1.0, h.train_loss[-5:]
    linear = gn.nn.Linear(2, 2)
    gn.fit(linear, X, y, optimizer=gn.optim.Adam(lr=0.1), epochs=60, batch_size=32,
           engine="interpret")
    assert gn.evaluate(linear, X, y) <= 0.75  # a line cannot separate XOR


def test_fit_is_reproducible_and_handles_partial_batches():
    X, y = gn.data.moons(70, seed=2)
    Y = np.eye(2)[y]

    def once():
        model = gn.nn.Sequential(gn.nn.Linear(2, 16), gn.nn.ReLU(), gn.nn.Dropout(0.2),
                                 gn.nn.Linear(16, 2), seed=3)
        h = gn.fit(model, X, Y, loss=softmax_mse, optimizer="sgd", lr=0.5, epochs=3,
                   batch_size=32, val=(X[:37], Y[:37]), eval_batch=16, seed=9,
                   engine="interpret")
        return model, h

    m1, h1 = once()
    m2, h2 = once()
    assert h1.train_loss == h2.train_loss and h1.val_loss == h2.val_loss
    np.testing.assert_array_equal(m1.named_values()["fc2.weight"],
                                  m2.named_values()["fc2.weight"])
    g = h1.graph
    # training branch for 32 rows (70 = 2 x 32 + 6: the partial batch is dropped),
    # evaluation branches for 16 rows and for the 5-row remainder of 37
    assert g["x"].shape == (32, 2)
    assert {n.name for n in g.inputs} >= {"x_eval16", "x_eval5", "drop1.mask"}
    out = gn.predict(m1, X[:37], batch_size=16)
    assert out.shape == (37, 2)
    ref = gn.predict(m1, X[:37], batch_size=37)
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_fit_stops_on_nan_and_names_the_node():
    X = np.ones((8, 1))
    y = np.ones((8, 1))
    model = gn.nn.Linear(1, 1)

    def bad_loss(out, t):
        return gn.mean(gn.log(out - 1e6) * t)  # log of a negative number: NaN

    h = gn.fit(model, X, y, loss=bad_loss, epochs=5, batch_size=4, engine="interpret")
    assert h.stopped == "nan" and h.epochs == 0
    assert "log" in h.anomaly and "NaN" in h.anomaly


def test_fit_with_batchnorm_updates_running_statistics():
    X, y = gn.data.circles(64, seed=0)
    model = gn.nn.Sequential(gn.nn.Linear(2, 8), gn.nn.BatchNorm1d(8), gn.nn.ReLU(),
                             gn.nn.Linear(8, 2), seed=0)
    before = model.named_values()["bn1.running_mean"].copy()
    gn.fit(model, X, np.eye(2)[y], loss=softmax_mse, epochs=2, batch_size=16,
           engine="interpret")
    assert not np.allclose(model.named_values()["bn1.running_mean"], before)
    assert "bn1.running_mean" not in [p.name for p in model.param_nodes(gn.Graph())]


def test_progress_bar_and_verbose(capsys):
    X, y = gn.data.xor(32, seed=0)
    gn.fit(gn.nn.MLP([2, 3, 2], seed=0), X, np.eye(2)[y], loss=softmax_mse, epochs=2,
           batch_size=16, progress=True, verbose=True, engine="interpret")
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "loss" in err


def test_compiled_and_interpreted_training_agree():
    X, y = gn.data.moons(64, seed=0)
    Y = np.eye(2)[y]
    hs = []
    for engine in ("interpret", "compiled"):
        model = gn.nn.MLP([2, 8, 2], activation="tanh", seed=0)
        hs.append(gn.fit(model, X, Y, loss=softmax_mse, epochs=3, batch_size=16,
                         engine=engine, val=(X, Y)))
    np.testing.assert_allclose(hs[0].train_loss, hs[1].train_loss, rtol=1e-9)
    np.testing.assert_allclose(hs[0].val_loss, hs[1].val_loss, rtol=1e-9)


def test_save_load_model_and_graph(tmp_path):
    model = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.BatchNorm1d(4), seed=0)
    path = gn.save(model, tmp_path / "model")
    assert path.endswith("model.npz") and os.path.exists(path)
    assert [f for f in os.listdir(tmp_path) if f.startswith(".graphnn-")] == []
    other = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.BatchNorm1d(4), seed=1)
    with gn.Graph() as g:
        other(gn.input("x", (2, 3)))
    gn.load(path, other)
    np.testing.assert_array_equal(g.value_of("fc1.weight"), model.named_values()["fc1.weight"])
    with np.load(path) as f:
        assert sorted(f.files) == sorted(["fc1.weight", "fc1.bias", "bn1.weight", "bn1.bias",
                                          "bn1.running_mean", "bn1.running_var"])
    # plain graphs too
    with gn.Graph() as h:
        gn.param("w", [1.0, 2.0])
    p = gn.save(h, tmp_path / "g.npz")
    h.value_of("w")[...] = 0
    gn.load(p, h)
    np.testing.assert_array_equal(h.value_of("w"), [1.0, 2.0])
    with gn.Graph() as bad:
        gn.param("w", [1.0, 2.0, 3.0])
    with pytest.raises(gn.FeedError, match="shape"):
        gn.load(p, bad)


def test_fit_argument_errors():
    with pytest.raises(ValueError, match="rows"):
        gn.fit(gn.nn.Linear(2, 2), np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="unknown loss"):
        gn.fit(gn.nn.Linear(2, 2), np.ones((4, 2)), np.ones((4, 2)), loss="nope")
    with pytest.raises(ValueError, match="engine"):
        gn.fit(gn.nn.Linear(2, 2), np.ones((4, 2)), np.ones((4, 2)), loss=softmax_mse,
               engine="gpu")


def test_plots(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the plot extra)")
    from graphnn import plot

    X, y = gn.data.moons(64, seed=0)
    model = gn.nn.MLP([2, 8, 2], activation="tanh", seed=0)
    h = gn.fit(model, X, np.eye(2)[y], loss=softmax_mse, epochs=2, batch_size=32,
               val=(X, np.eye(2)[y]), engine="interpret")
    p1 = h.plot(tmp_path / "curves.png")
    p2 = plot.plot_decision_boundary(lambda P: gn.predict(model, P), X, y,
                                     tmp_path / "boundary.svg", steps=30)
    assert open(p1, "rb").read(4) == b"\x89PNG"
    assert "<svg" in open(p2).read(400)


def test_lenet_on_digits_short_run_beats_threshold():
    pytest.importorskip("sklearn", reason="scikit-learn not installed (the digits extra)")
    X, y = gn.data.digits()
    Xtr, ytr, Xte, yte = gn.data.split(X, y, test=0.2, seed=0)
    model = gn.nn.lenet(seed=0)
    h = gn.fit(model, Xtr, ytr, optimizer=gn.optim.Adam(lr=3e-3), epochs=6, batch_size=32,
               val=(Xte, yte), seed=0)
    acc = gn.evaluate(model, Xte, yte)
    assert acc >= 0.92, (acc, h.val_acc)
    assert h.val_acc[-1] == pytest.approx(acc)


def test_compiled_batchnorm_dropout_conv_training_matches_interpreter():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 1, 8, 8))
    y = rng.integers(0, 3, size=48)
    hs, models = [], []
    for engine in ("interpret", "compiled"):
        m = gn.nn.Sequential(gn.nn.Conv2d(1, 4, 3, padding=1), gn.nn.BatchNorm2d(4),
                             gn.nn.ReLU(), gn.nn.MaxPool2d(2), gn.nn.Flatten(),
                             gn.nn.Dropout(0.3), gn.nn.Linear(64, 3), seed=0)
        hs.append(gn.fit(m, X, y, epochs=2, batch_size=16, val=(X, y), engine=engine))
        models.append(m)
    np.testing.assert_allclose(hs[0].train_loss, hs[1].train_loss, rtol=1e-9)
    np.testing.assert_allclose(hs[0].val_loss, hs[1].val_loss, rtol=1e-9)
    np.testing.assert_allclose(models[0].named_values()["bn1.running_var"],
                               models[1].named_values()["bn1.running_var"], rtol=1e-12)


def test_binary_classification_with_one_logit():
    X, y = gn.data.circles(96, seed=1)
    model = gn.nn.MLP([2, 16, 1], activation="tanh", seed=0)
    h = gn.fit(model, X, y.astype(float)[:, None], loss="bce_with_logits",
               optimizer=gn.optim.Adam(lr=0.05), epochs=40, batch_size=32, engine="interpret")
    assert h.train_acc[-1] >= 0.95
    assert gn.evaluate(model, X, y) >= 0.95
    assert gn.evaluate(model, X, X[:, 0]) is None  # regression targets: no accuracy


def test_a_layer_called_alone_keeps_its_model_name():
    model = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.Tanh(), gn.nn.Linear(3, 1))
    with gn.Graph() as g:
        model[2](gn.input("h", (1, 3)))
    assert [p.name for p in g.params] == ["fc2.weight", "fc2.bias"]


def test_fit_a_hand_built_graph():
    X, y = gn.data.moons(100, seed=0)
    model = gn.nn.Sequential(gn.nn.Linear(2, 16), gn.nn.BatchNorm1d(16), gn.nn.Tanh(),
                             gn.nn.Linear(16, 2), seed=0)
    with gn.Graph("hand") as g:
        x = gn.input("x", shape=(20, 2))
        t = gn.input("t", shape=(20,), dtype="int64")
        loss = gn.cross_entropy(model(x), t).named("xent")
    assert "bn1.running_mean" not in [p.name for p in gn.nn.trainable_params(g)]
    h = gn.fit(g, {"x": X, "t": y}, loss=loss, optimizer="adam", lr=0.05, epochs=15,
               val={"x": X, "t": y}, engine="interpret")
    assert h.epochs == 15 and h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert len(h.val_loss) == 15
    assert gn.evaluate(model, X, y) > 0.85
    with pytest.raises(ValueError, match="rows"):
        gn.fit(g, {"x": X, "t": y[:50]}, loss=loss)
    with pytest.raises(TypeError, match="loss node goes with a graph"):
        gn.fit(model, X, y, loss=loss)


def test_warns_about_a_final_softmax_before_cross_entropy():
    model = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.Softmax())
    X, y = gn.data.spirals(30, seed=0)
    with pytest.warns(UserWarning, match="Softmax"):
        gn.fit(model, X, y, epochs=1, batch_size=10, engine="interpret")
