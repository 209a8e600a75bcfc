"""ONNX export (checked in onnxruntime) and import (checked on onnx's backend node tests)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import graphnn as gn

onnx = pytest.importorskip("onnx", reason="ONNX support is the optional extra graphnn[onnx]")
from onnx import TensorProto, helper  # noqa: E402

from graphnn.io import onnx_export  # noqa: E402

R = np.random.default_rng(7)


def _ort():
    return pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")


def _mlp(dtype="float64"):
    with gn.Graph("mlp") as g:
        x = gn.input("x", shape=(4, 3), dtype=dtype)
        w = gn.param("w", R.normal(size=(3, 5)).astype(dtype))
        b = gn.param("b", R.normal(size=5).astype(dtype))
        a = gn.param("a", np.full((5,), 0.2, dtype=dtype))
        h = gn.prelu(x @ w + b, a)
        h = gn.elu(gn.leaky_relu(h, 0.1), 0.5) - gn.sigmoid(h) * gn.tanh(h) + gn.relu(-h)
        z = gn.softmax(h, axis=1) + gn.log_softmax(h, axis=0) / gn.sqrt(gn.abs(h) + 1.0)
        z = gn.transpose(z).reshape(20) ** 2.0
        y = gn.exp(-gn.maximum(z, 0.1)) + gn.log(gn.minimum(z, 3.0) + 1.0)
        s = gn.sum(y) + gn.mean(gn.flatten(h)) + gn.max(h, axis=1).sum()
        loss = (s / 2.0).named("loss")
    dw, dx = gn.grad(loss, [w, x])
    g.mark_output(loss, dw, dx)
    return g


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_export_runs_in_onnxruntime(tmp_path, dtype):
    ort = _ort()
    g = _mlp(dtype)
    path = tmp_path / "mlp.onnx"
    gn.to_onnx(g, path)
    x = R.normal(size=(4, 3)).astype(dtype)
    ref = gn.run(g, {"x": x})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run([o.name for o in g.outputs], {"x": x})
    tol = 1e-9 if dtype == "float64" else 1e-5  # onnxruntime's own exp/log differ in ulps
    for o, v in zip(g.outputs, got):
        assert v.dtype == ref.value(o).dtype
        np.testing.assert_allclose(v, ref.value(o), rtol=tol, atol=tol, err_msg=o.name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_convnet_exports_and_imports(tmp_path, dtype):
    ort = _ort()
    with gn.Graph("cnn") as g:
        x = gn.input("x", shape=(2, 3, 9, 9), dtype=dtype)
        w1 = gn.param("w1", R.normal(size=(4, 3, 3, 3)).astype(dtype))
        b1 = gn.param("b1", R.normal(size=4).astype(dtype))
        w2 = gn.param("w2", R.normal(size=(4, 2, 3, 3)).astype(dtype))
        h = gn.relu(gn.conv2d(x, w1, b1, stride=1, padding=1))
        h = gn.conv2d(h, w2, stride=2, padding=1, dilation=1, groups=2)
        h = gn.max_pool2d(h, 2, stride=1) + gn.avg_pool2d(h, 2, stride=1)
        h = gn.avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=False)
        y = gn.mean(h, axis=(2, 3), keepdims=True).named("y")
    xv = R.normal(size=(2, 3, 9, 9)).astype(dtype)
    ref = gn.run(g, {"x": xv}).value(y)
    gn.to_onnx(g, tmp_path / "cnn.onnx")
    tol = 1e-10 if dtype == "float64" else 1e-5
    try:
        sess = ort.InferenceSession(str(tmp_path / "cnn.onnx"),
                                    providers=["CPUExecutionProvider"])
        got = sess.run(["y"], {"x": xv})[0]
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    except Exception as e:  # onnxruntime lacks some float64 kernels: export as float32
        if dtype != "float64" or isinstance(e, AssertionError):
            raise
        model = gn.to_onnx(g, tmp_path / "cnn32.onnx", dtype="float32")
        assert "DOUBLE" not in str(model.graph) and "data_type: 11" not in str(model)
        sess = ort.InferenceSession(str(tmp_path / "cnn32.onnx"),
                                    providers=["CPUExecutionProvider"])
        got = sess.run(["y"], {"x": xv.astype(np.float32)})[0]
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    h2 = gn.from_onnx(tmp_path / "cnn.onnx")
    np.testing.assert_allclose(gn.run(h2, {"x": xv}).value("y"), ref, rtol=1e-12, atol=1e-12)


def test_float32_export_of_a_float64_graph_with_masks_and_casts(tmp_path):
    ort = _ort()
    with gn.Graph("masks") as g:
        x = gn.input("x", shape=(3, 4))
        w = gn.param("w", R.normal(size=(4, 2)))
        h = gn.where(x > 0.25, x, x * 0.5)
        y = (gn.relu(h @ w) + gn.step(h).sum()).named("y")
    xv = R.normal(size=(3, 4))
    ref = gn.run(g, {"x": xv}).value(y)
    model = gn.to_onnx(g, tmp_path / "m.onnx", dtype="float32")
    assert "data_type: 11" not in str(model) and "elem_type: 11" not in str(model)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(["y"], {"x": xv.astype(np.float32)})[0]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(gn.OnnxError, match="dtype must be"):
        gn.to_onnx(g, dtype="float16")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_export_to_onnxruntime(dtype, reduction):
    ort = _ort()
    with gn.Graph("losses") as g:
        z = gn.input("z", shape=(5, 4), dtype=dtype)
        p = gn.input("p", shape=(5, 4), dtype=dtype)
        t = gn.input("t", shape=(5, 4), dtype=dtype)
        k = gn.input("k", shape=(5,), dtype="int64")
        outs = [gn.mse_loss(z, t, reduction).named("mse"),
                gn.l1_loss(z, t, reduction).named("l1"),
                gn.bce_with_logits(z * 300.0, t, reduction).named("bcel"),
                gn.bce_loss(p, t, reduction).named("bce"),
                gn.cross_entropy(z * 300.0, k, reduction).named("ce_idx"),
                gn.cross_entropy(z, gn.softmax(t), reduction).named("ce_prob"),
                gn.one_hot(k, 4, dtype=dtype).named("onehot")]
    g.mark_output(*outs)
    feeds = {"z": R.normal(size=(5, 4)).astype(dtype),
             "p": np.clip(R.uniform(size=(5, 4)), 0, 1).astype(dtype),
             "t": R.uniform(size=(5, 4)).astype(dtype), "k": np.array([0, 3, 1, 2, 3])}
    feeds["p"][0, :2] = [0.0, 1.0]  # the clamped logs
    ref = gn.run(g, feeds)
    sess = ort.InferenceSession(gn.to_onnx(g).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    tol = 1e-9 if dtype == "float64" else 2e-5
    for o, v in zip(outs, sess.run([o.name for o in outs], feeds)):
        np.testing.assert_allclose(v, ref.value(o), rtol=tol, atol=tol, err_msg=o.name)


def test_round_trip_through_onnx_runs_and_traces(tmp_path):
    g = _mlp()
    gn.to_onnx(g, tmp_path / "m.onnx")
    h = gn.from_onnx(tmp_path / "m.onnx")
    assert [i.name for i in h.inputs] == ["x"]
    assert {p.name for p in h.params} == {"w", "b", "a"}
    assert [o.name for o in h.outputs] == ["loss", "dloss_dw", "dloss_dx"]
    x = R.normal(size=(4, 3))
    seen = []
    r = gn.run(h, {"x": x}, wrt=["w"], loss="loss",
               on_forward=lambda n, v, ins: seen.append(n.name))
    ref = gn.run(g, {"x": x})
    for o in g.outputs:
        np.testing.assert_allclose(r.value(o.name), ref.value(o), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.grad("w"), ref.value("dloss_dw"), rtol=1e-10, atol=1e-12)
    assert "loss" in seen and len(seen) == len({*seen})
    t = gn.trace(h, {"x": x}, wrt=["w"], loss="loss", outputs=["loss"])
    assert t.backward and any(s.node.name == "loss" for s in t.forward)
    np.testing.assert_allclose(t.run.grad("w"), r.grad("w"), rtol=1e-12)
    gn.render(h, run=r, path=str(tmp_path / "imported.dot"))
    assert "dloss_dw" in (tmp_path / "imported.dot").read_text()


def test_imported_graph_compiles():
    g = _mlp()
    h = gn.from_onnx(gn.to_onnx(g))
    fn = gn.compile(h, outputs=["loss"], wrt=["w"])
    x = R.normal(size=(4, 3))
    out = fn(x=x)
    ref = gn.run(g, {"x": x}, wrt=["w"], loss="loss")
    np.testing.assert_allclose(out.value("loss"), ref.value("loss"), rtol=1e-10)
    np.testing.assert_allclose(out.grad("w"), ref.grad("w"), rtol=1e-10, atol=1e-12)


def _model(nodes, inputs, outputs, inits=(), opset=18):
    graph = helper.make_graph(nodes, "m", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def test_unsupported_ops_are_all_listed():
    m = _model([helper.make_node("LpNormalization", ["x"], ["a"], name="c1"),
                helper.make_node("Relu", ["a"], ["b"], name="r"),
                helper.make_node("Hardmax", ["b"], ["y"], name="e1")],
               [_vi("x", [3])], [_vi("y", [3])])
    with pytest.raises(gn.OnnxError) as e:
        gn.from_onnx(m)
    msg = str(e.value)
    assert "2 unsupported node(s)" in msg and "LpNormalization (node 'c1')" in msg
    assert "Hardmax (node 'e1')" in msg


def test_unsupported_attribute_names_node_and_attribute():
    m = _model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                 name="bn", training_mode=1)],
               [_vi(n, s) for n, s in [("x", [2, 3]), ("s", [3]), ("b", [3]), ("m", [3]),
                                       ("v", [3])]], [_vi("y", [2, 3])])
    with pytest.raises(gn.OnnxError, match="BatchNormalization node 'bn': training_mode=1"):
        gn.from_onnx(m)


def test_symbolic_dims_need_input_shapes():
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", ["N", 3])], [_vi("y", [])])
    with pytest.raises(gn.OnnxError, match=r"input 'x' has symbolic.*input_shapes"):
        gn.from_onnx(m)
    g = gn.from_onnx(m, input_shapes={"x": (2, 3)})
    assert g["y"].shape == (2, 3)


def test_names_survive_collisions_and_identity_outputs():
    w = onnx.numpy_helper.from_array(R.normal(size=(3, 2)).astype(np.float32), "w")
    m = _model([helper.make_node("Gemm", ["x", "w"], ["mul_1"], alpha=2.0),
                helper.make_node("Relu", ["mul_1"], ["matmul_1"]),
                helper.make_node("Dropout", ["x"], ["xd"])],
               [_vi("x", [4, 3])], [_vi("matmul_1", [4, 2]), _vi("xd", [4, 3])], [w])
    g = gn.from_onnx(m)
    x = R.normal(size=(4, 3)).astype(np.float32)
    r = gn.run(g, {"x": x})
    want = np.maximum(2 * x @ onnx.numpy_helper.to_array(w), 0)
    np.testing.assert_allclose(r.value("matmul_1"), want, rtol=1e-6)
    np.testing.assert_array_equal(r.value("xd"), x)


def _drop_onnx_rules(monkeypatch, *names):
    """Pretend these op records carry no ONNX rule (records are frozen)."""
    orig = onnx_export._from_record
    monkeypatch.setattr(onnx_export, "_from_record",
                        lambda op: None if op.name in names else orig(op))


def test_export_lists_ops_without_exporter(monkeypatch):
    g = _mlp()
    _drop_onnx_rules(monkeypatch, "tanh", "exp")
    # 4: tanh, the forward exp, and the exps in the gradients of log_softmax and elu
    with pytest.raises(gn.OnnxError, match=r"4 node\(s\) without an ONNX exporter: tanh "
                       r"\(node 'tanh_1', created at tests/test_onnx.py:\d+\), exp "):
        gn.to_onnx(g)


def test_export_is_atomic(tmp_path, monkeypatch):
    g = _mlp()
    p = tmp_path / "m.onnx"
    p.write_bytes(b"previous")
    _drop_onnx_rules(monkeypatch, "tanh")
    with pytest.raises(gn.OnnxError):
        gn.to_onnx(g, p)
    assert p.read_bytes() == b"previous" and os.listdir(tmp_path) == ["m.onnx"]


def test_unreadable_model_file(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x00garbage\xff" * 10)
    with pytest.raises(gn.OnnxError, match="bad.onnx: not a readable ONNX model"):
        gn.from_onnx(tmp_path / "bad.onnx")


def _conformance():
    path = os.path.join(os.path.dirname(__file__), "..", "bench", "onnx_conformance.py")
    spec = importlib.util.spec_from_file_location("onnx_conformance", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_backend_node_conformance():
    """Every onnx backend node case of the listed ops passes or is a documented skip."""
    mod = _conformance()
    failures, passed = [], 0
    for _label, case in mod.collect():
        status, why = mod.run_case(case)
        passed += status == "pass"
        if status == "fail":
            failures.append(f"{case.name}: {why}")
    assert not failures, "\n".join(failures)
    assert passed >= 170


def test_random_graphs_round_trip_through_onnx():
    """Random DAGs (tests/test_properties.py recipes) export, run in onnxruntime with
    graphnn's numbers, and import back to the same numbers."""
    ort = _ort()
    from hypothesis import given

    from tests.test_properties import SETTINGS, build, recipes

    @SETTINGS
    @given(recipes())
    def check(recipe):
        g, feeds, _ = build(recipe)
        ref = gn.run(g, feeds).value("loss")
        model = gn.to_onnx(g)
        sess = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        got = sess.run(["loss"], feeds)[0]
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
        back = gn.from_onnx(model)
        np.testing.assert_allclose(gn.run(back, feeds).value("loss"), ref, rtol=1e-13,
                                   atol=1e-13)

    check()


def test_torch_exported_model_imports():
    """A model as PyTorch's exporter writes it: dynamic batch, x.view(x.size(0), -1)
    (Shape/Gather/Unsqueeze/Concat folded at import), Gemm, fused BatchNorm."""
    torch = pytest.importorskip("torch", reason="torch (optional) is not installed")
    import io
    import warnings

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.fc = torch.nn.Linear(4 * 4 * 4, 5)

        def forward(self, x):
            x = torch.nn.functional.avg_pool2d(
                torch.nn.functional.leaky_relu(self.bn(self.c(x)), 0.2), 2)
            x = x.view(x.size(0), -1)
            return torch.log_softmax(self.fc(x) * 2.0 + 1.0, dim=-1)

    torch.manual_seed(0)
    net = Net().eval()
    x = torch.randn(2, 3, 8, 8)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(net, (x,), buf, dynamo=False, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "batch"}})
        except Exception as e:  # exporter needs packages this environment lacks
            pytest.skip(f"torch.onnx.export is not usable here: {str(e)[:100]}")
    model = onnx.load_from_string(buf.getvalue())
    with pytest.raises(gn.OnnxError, match=r"input 'x' has symbolic .*'batch'"):
        gn.from_onnx(model)
    g = gn.from_onnx(model, input_shapes={"x": (2, 3, 8, 8)})
    with torch.no_grad():
        want = net(x).numpy()
    got = gn.run(g, {"x": x.numpy()}).value("y")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert {p.name for p in g.params} >= {"fc.weight", "fc.bias"}


def test_prelu_with_the_larger_slope_exports_with_x_expanded():
    """ONNX PRelu broadcasts the slope to x only; graphnn's prelu broadcasts both ways
    (found by the random-graph round trip: x (2, 1), slope (2, 3))."""
    ort = _ort()
    with gn.Graph("p") as g:
        a = gn.input("a", shape=(2, 1))
        w = gn.input("w", shape=(2, 3))
        gn.prelu(a, w).named("y")
    feeds = {"a": np.array([[-1.5], [2.0]]), "w": R.normal(size=(2, 3))}
    model = gn.to_onnx(g)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = gn.run(g, feeds).value("y")
    np.testing.assert_allclose(sess.run(["y"], feeds)[0], ref, rtol=1e-15)
    np.testing.assert_allclose(gn.run(gn.from_onnx(model), feeds).value("y"), ref, rtol=1e-15)
