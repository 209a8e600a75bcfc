"""Layers: shapes, names, groups, gradient checks, train/eval semantics, counts."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from graphnn.testing import check_grads


def _check_layer(layer, in_shape, rng, train=True, tol=1e-6, extra=None):
    with gn.Graph("check") as g:
        x = gn.input("x", in_shape)
        y = layer(x, train=train)
        w = gn.const(rng.normal(size=y.shape))  # a random projection makes a scalar loss
        gn.sum(y * w)
    feeds = {"x": rng.normal(size=in_shape), **(extra(g) if extra else {})}
    params = layer.param_nodes(g)
    rep = check_grads(g, feeds, wrt=[x, *params], tol=tol)
    assert rep.ok, str(rep)
    return g


LAYERS = {
    "linear": (lambda: gn.nn.Linear(4, 3), (5, 4)),
    "linear_vector": (lambda: gn.nn.Linear(4, 3), (4,)),
    "linear_nobias": (lambda: gn.nn.Linear(4, 3, bias=False, init="glorot"), (2, 4)),
    "sigmoid": (lambda: gn.nn.Sigmoid(), (3, 4)),
    "tanh": (lambda: gn.nn.Tanh(), (3, 4)),
    "relu": (lambda: gn.nn.ReLU(), (3, 4)),
    "leaky": (lambda: gn.nn.LeakyReLU(0.1), (3, 4)),
    "elu": (lambda: gn.nn.ELU(), (3, 4)),
    "prelu": (lambda: gn.nn.PReLU(), (3, 4)),
    "prelu_channels": (lambda: gn.nn.PReLU(3, init=0.2), (2, 3, 2, 2)),
    "softmax": (lambda: gn.nn.Softmax(), (3, 4)),
    "flatten": (lambda: gn.nn.Flatten(), (2, 3, 2, 2)),
    "bn1d_train": (lambda: gn.nn.BatchNorm1d(4), (6, 4)),
    "bn2d_train": (lambda: gn.nn.BatchNorm2d(3), (4, 3, 2, 2)),
    "mlp": (lambda: gn.nn.MLP([4, 5, 3], activation="tanh", seed=1), (2, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradients_match_finite_differences(name, rng):
    make, shape = LAYERS[name]
    _check_layer(make(), shape, rng)


def test_batchnorm_eval_and_dropout_gradients(rng):
    bn = gn.nn.BatchNorm2d(3)
    bn.named_values()["bn.running_mean"][...] = [0.5, -1.0, 2.0]
    bn.named_values()["bn.running_var"][...] = [0.5, 2.0, 1.5]
    g = _check_layer(bn, (2, 3, 2, 2), rng, train=False)
    assert [p.name for p in bn.param_nodes(g, trainable=False)] == ["bn.running_mean",
                                                                   "bn.running_var"]
    drop = gn.nn.Dropout(0.5)
    feeds = lambda g: gn.nn.random_feeds(g, np.random.default_rng(3))  # noqa: E731
    _check_layer(drop, (4, 5), rng, extra=feeds)


@pytest.mark.parametrize("make,shape", [
    (lambda: gn.nn.Conv2d(2, 4, 3, padding=1), (2, 2, 5, 5)),
    (lambda: gn.nn.Conv2d(4, 4, 3, stride=2, groups=2), (1, 4, 5, 5)),
    (lambda: gn.nn.MaxPool2d(2), (2, 2, 4, 4)),
    (lambda: gn.nn.AvgPool2d(2, 1), (1, 2, 3, 3)),
])
def test_conv_and_pool_layer_gradients(make, shape, rng):
    _check_layer(make(), shape, rng)


def _bn_reference(x, gamma, beta, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    bs = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean) / np.sqrt(var + eps) * gamma.reshape(bs) + beta.reshape(bs), mean, var


def test_batchnorm_train_eval_semantics_vs_numpy(rng):
    bn = gn.nn.BatchNorm2d(3, momentum=0.1)
    bn.named_values()["bn.weight"][...] = [1.5, 0.5, -1.0]
    bn.named_values()["bn.bias"][...] = [0.1, 0.0, 0.3]
    with gn.Graph("bn") as g:
        x = gn.input("x", (4, 3, 2, 2))
        y_train = bn(x, train=True)
        y_eval = bn(x, train=False)
    gamma, beta = bn.named_values()["bn.weight"], bn.named_values()["bn.bias"]
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(3):
        xv = rng.normal(loc=step, scale=2.0, size=(4, 3, 2, 2))
        r = gn.run(g, {"x": xv}, outputs=[y_train, y_eval, *gn.nn.state_outputs(g)])
        want, mean, var = _bn_reference(xv, gamma, beta)
        np.testing.assert_allclose(r.value(y_train), want, atol=1e-12)
        bs = (1, 3, 1, 1)
        want_eval = (xv - rm.reshape(bs)) / np.sqrt(rv.reshape(bs) + 1e-5) * gamma.reshape(bs) \
            + beta.reshape(bs)
        np.testing.assert_allclose(r.value(y_eval), want_eval, atol=1e-12)
        gn.nn.update_state(g, r)
        n = 4 * 2 * 2
        rm = 0.9 * rm + 0.1 * mean.reshape(-1)
        rv = 0.9 * rv + 0.1 * var.reshape(-1) * n / (n - 1)
        np.testing.assert_allclose(bn.named_values()["bn.running_mean"], rm)
        np.testing.assert_allclose(g.value_of("bn.running_var"), rv)


def test_batchnorm_vs_torch(rng):
    torch = pytest.importorskip("torch", reason="torch not installed (optional comparison)")
    tb = torch.nn.BatchNorm2d(3, dtype=torch.float64)
    bn = gn.nn.BatchNorm2d(3)
    with gn.Graph() as g:
        x = gn.input("x", (5, 3, 3, 3))
        yt, ye = bn(x, train=True), bn(x, train=False)
    for _ in range(3):
        xv = rng.normal(size=(5, 3, 3, 3)) * 3 + 1
        tb.train()
        want = tb(torch.tensor(xv)).detach().numpy()
        r = gn.run(g, {"x": xv}, outputs=[yt, *gn.nn.state_outputs(g)])
        np.testing.assert_allclose(r.value(yt), want, atol=1e-10)
        gn.nn.update_state(g, r)
    np.testing.assert_allclose(bn.named_values()["bn.running_var"], tb.running_var.numpy())
    tb.eval()
    xv = rng.normal(size=(5, 3, 3, 3))
    np.testing.assert_allclose(gn.run(g, {"x": xv}, outputs=[ye]).value(ye),
                               tb(torch.tensor(xv)).detach().numpy(), atol=1e-10)


def test_dropout_train_eval_and_seeded_masks():
    drop = gn.nn.Dropout(0.25)
    with gn.Graph() as g:
        x = gn.input("x", (200, 10))
        yt = drop(x, train=True)
        ye = drop(x, train=False)
    assert ye is x  # evaluation mode builds no node at all
    (mask, p), = gn.nn.graph_state(g).masks
    assert mask.name == "drop.mask" and mask.role == "input" and p == 0.25
    f1 = gn.nn.random_feeds(g, np.random.default_rng(7))
    f2 = gn.nn.random_feeds(g, np.random.default_rng(7))
    np.testing.assert_array_equal(f1["drop.mask"], f2["drop.mask"])
    assert set(np.unique(f1["drop.mask"])) == {0.0, 1 / 0.75}
    assert abs((f1["drop.mask"] == 0).mean() - 0.25) < 0.03
    out = gn.run(g, {"x": np.ones((200, 10)), **f1}, outputs=[yt]).value(yt)
    np.testing.assert_array_equal(out, f1["drop.mask"])


def test_names_groups_and_shared_params():
    model = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.ReLU(), ("head", gn.nn.Linear(4, 2)),
                             seed=0)
    with gn.Graph() as g:
        x = gn.input("x", (2, 3))
        y = model(x)
        y2 = model(gn.input("x2", (7, 3)), train=False)
    assert [p.name for p in g.params] == ["fc1.weight", "fc1.bias", "head.weight", "head.bias"]
    assert y.shape == (2, 2) and y2.shape == (7, 2)
    groups = {n.group for n in g.nodes if n.role != "input"}
    assert groups == {"fc1", "act1", "head"}
    assert g["fc1.weight"].group == "fc1"
    # the same seed gives the same values; another seed does not
    other = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.ReLU(), ("head", gn.nn.Linear(4, 2)),
                             seed=0)
    np.testing.assert_array_equal(other.named_values()["fc1.weight"], g.value_of("fc1.weight"))
    model.reset_parameters(seed=5)
    assert not np.allclose(other.named_values()["fc1.weight"], g.value_of("fc1.weight"))


def test_nested_sequential_paths():
    block = gn.nn.Sequential(gn.nn.Linear(2, 2), gn.nn.Tanh())
    model = gn.nn.Sequential(("block", block), gn.nn.Linear(2, 1))
    with gn.Graph() as g:
        model(gn.input("x", (1, 2)))
    assert [p.name for p in g.params] == ["block.fc1.weight", "block.fc1.bias", "fc1.weight",
                                          "fc1.bias"]
    assert g["block.fc1.weight"].group == "block/fc1"


def test_layer_errors_are_clear():
    with pytest.raises(gn.GraphError, match="must be called on a graph node"):
        gn.nn.Linear(2, 2)(np.ones(2))
    with gn.Graph():
        x = gn.input("x", (3, 5))
        with pytest.raises(gn.ShapeError):
            gn.nn.Linear(4, 2)(x)
        with pytest.raises(gn.ShapeError, match="channel axis"):
            gn.nn.BatchNorm1d(4)(x)
    with pytest.raises(ValueError, match="groups"):
        gn.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="unknown initialiser"):
        gn.nn.Linear(2, 2, init="nope")


def test_initialisers_scale():
    rng = np.random.default_rng(0)
    w = gn.nn.init.he_normal((400, 300), rng)
    assert abs(w.std() - np.sqrt(2 / 300)) < 0.01 * np.sqrt(2 / 300) * 10
    u = gn.nn.init.glorot_uniform((300, 200), rng)
    assert np.abs(u).max() <= np.sqrt(6 / 500)
    c = gn.nn.init.uniform((1000,), rng, c=0.3)
    assert -0.3 <= c.min() and c.max() <= 0.3


def test_mlp_counts_lecture_networks():
    assert gn.nn.MLP([3, 4, 2], activation="sigmoid").num_params() == 4 * 3 + 4 + 2 * 4 + 2
    s = gn.nn.MLP([3, 4, 4, 1], activation="sigmoid").summary((3,))
    assert [r[2] for r in s.rows] == [(4,), (4,), (4,), (4,), (1,)]
    assert s.total == 41


def test_alexnet_table_matches_the_lectures():
    s = gn.nn.alexnet().summary((3, 227, 227))
    shapes = {name: s.hwc(shape) for name, _, shape, _ in s.rows}
    assert shapes["conv1"] == "55x55x96" and shapes["pool1"] == "27x27x96"
    assert shapes["conv2"] == "27x27x256" and shapes["pool2"] == "13x13x256"
    assert shapes["conv3"] == "13x13x384" and shapes["conv4"] == "13x13x384"
    assert shapes["conv5"] == "13x13x256" and shapes["pool3"] == "6x6x256"
    assert shapes["flat1"] == "9216" and shapes["fc3"] == "1000"
    params = {name: p for name, _, _, p in s.rows}
    assert params["conv1"] == 96 * (11 * 11 * 3) + 96
    assert params["conv2"] == 256 * (5 * 5 * 48) + 256
    assert params["conv3"] == 384 * (3 * 3 * 256) + 384
    assert params["conv4"] == 384 * (3 * 3 * 192) + 384
    assert params["conv5"] == 256 * (3 * 3 * 192) + 256
    assert s.total == 60_965_224
    assert gn.nn.alexnet(groups=False).summary((3, 227, 227)).total == 62_378_344
    assert "60,965,224" in str(s)


def test_lecture_conv_shapes():
    s = gn.nn.Conv2d(3, 6, 5).summary((3, 32, 32))
    assert s.rows[0][2] == (6, 28, 28) and s.total == 6 * 76
    d = gn.nn.digit_classifier().summary((1, 8, 8))
    assert d.rows[-1][2] == (10,)
    assert d.hwc(d.rows[0][2]) == "8x8x16"


def test_layers_match_torch_modules(rng):
    torch = pytest.importorskip("torch", reason="torch not installed (optional comparison)")
    model = gn.nn.Sequential(gn.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
                             gn.nn.PReLU(6), gn.nn.AvgPool2d(2), gn.nn.Flatten(),
                             gn.nn.Linear(24, 5), gn.nn.ELU(), seed=0)
    tm = torch.nn.Sequential(torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
                             torch.nn.PReLU(6), torch.nn.AvgPool2d(2), torch.nn.Flatten(),
                             torch.nn.Linear(24, 5), torch.nn.ELU()).double()
    values = model.named_values()
    with torch.no_grad():
        for (name, arr), tp in zip(values.items(), tm.parameters()):
            assert tuple(tp.shape) == arr.shape, name
            tp.copy_(torch.tensor(arr))
    xv = rng.normal(size=(2, 4, 8, 8))
    with gn.Graph() as g:
        y = model(gn.input("x", xv.shape))
        gn.sum(y * y)
    r = gn.run(g, {"x": xv}, wrt=model.param_nodes(g))
    xt = torch.tensor(xv)
    out = tm(xt)
    (out * out).sum().backward()
    np.testing.assert_allclose(r.value(y), out.detach().numpy(), atol=1e-12)
    for p, tp in zip(model.param_nodes(g), tm.parameters()):
        np.testing.assert_allclose(r.grad(p), tp.grad.numpy(), atol=1e-10, err_msg=p.name)


def test_mlp_takes_any_elementwise_op_as_activation():
    from math import erf

    m = gn.nn.MLP([2, 3, 1], activation="erf", seed=0)
    assert isinstance(m.layers[1][1], gn.nn.Activation)
    with gn.Graph() as g:
        x = gn.input("x", shape=(4, 2))
        y = m(x)
    xv = np.linspace(-1, 1, 8).reshape(4, 2)
    v = m.named_values()
    h = np.vectorize(erf)(xv @ v["fc1.weight"].T + v["fc1.bias"])
    ref = h @ v["fc2.weight"].T + v["fc2.bias"]
    np.testing.assert_allclose(gn.run(g, {"x": xv}).value(y), ref, rtol=1e-12)
    with pytest.raises(ValueError, match="not a registered elementwise op"):
        gn.nn.MLP([2, 3, 1], activation="nosuch")
