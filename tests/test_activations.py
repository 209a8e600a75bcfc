"""graphnn/ops/activations.py's PyTorch activations (issue 12) beyond the registry-driven
tests: values and gradients against torch in float64 on random broadcast shapes, ONNX
export / import (onnxruntime), the sympy round trip, parameter errors and the gn.nn
layers. Torch / onnx tests skip with a reason when those packages are missing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphnn as gn
from tests.op_cases import CASES

# op name, params, the torch.nn.functional call
TORCH = [
    ("gelu", {"approximate": "none"}, lambda F, a: F.gelu(a)),
    ("gelu", {"approximate": "tanh"}, lambda F, a: F.gelu(a, approximate="tanh")),
    ("silu", {}, lambda F, a: F.silu(a)),
    ("softplus", {}, lambda F, a: F.softplus(a)),
    ("softplus", {"beta": 2.5, "threshold": 3.0},
     lambda F, a: F.softplus(a, beta=2.5, threshold=3.0)),
    ("mish", {}, lambda F, a: F.mish(a)),
    ("hardtanh", {}, lambda F, a: F.hardtanh(a)),
    ("hardtanh", {"min_val": -0.25, "max_val": 2.0}, lambda F, a: F.hardtanh(a, -0.25, 2.0)),
    ("relu6", {}, lambda F, a: F.relu6(a)),
    ("hardswish", {}, lambda F, a: F.hardswish(a)),
    ("selu", {}, lambda F, a: F.selu(a)),
    ("celu", {}, lambda F, a: F.celu(a)),
    # alpha a float32 number: torch's celu backward scales by 1 / float32(alpha)
    ("celu", {"alpha": 0.375}, lambda F, a: F.celu(a, alpha=0.375)),
    ("softsign", {}, lambda F, a: F.softsign(a)),
    ("logsigmoid", {}, lambda F, a: F.logsigmoid(a)),
]
NAMES = ["gelu", "silu", "softplus", "mish", "hardtanh", "relu6", "hardsigmoid", "hardswish",
         "selu", "celu", "softsign", "logsigmoid"]


@pytest.mark.parametrize("name,params,tf", TORCH, ids=[f"{n}-{k}" for k, (n, _, _) in
                                                        enumerate(TORCH)])
def test_values_and_gradients_match_torch_on_broadcast_shapes(name: str, params: dict,
                                                              tf: Any) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    for xs, ys in (((3, 1), (4,)), ((2, 3, 4), (3, 1)), ((5,), ())):
        x, y = rng.normal(0, 3, size=xs), rng.normal(0, 3, size=ys)
        w = rng.normal(size=np.broadcast_shapes(xs, ys))
        with gn.Graph() as g:
            xi, yi = gn.input("x", shape=xs), gn.input("y", shape=ys)
            out = getattr(gn, name)(xi + yi, **params).named("out")
            loss = gn.sum(out * w)
        r = gn.run(g, {"x": x, "y": y}, outputs=[out], wrt=[xi, yi], loss=loss)
        tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y))
        to = tf(torch.nn.functional, tx + ty)
        gx, gy = torch.autograd.grad((to * torch.tensor(w)).sum(), [tx, ty])
        np.testing.assert_allclose(r.value(out), to.detach().numpy(), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(r.grad(xi), gx.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(r.grad(yi), gy.numpy(), rtol=1e-12, atol=1e-14)


def test_hardsigmoid_matches_torch_with_an_exact_sixth() -> None:
    """torch's float64 hardsigmoid backward multiplies by a float32 1/6; graphnn by 1/6."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).normal(0, 3, size=200)
    with gn.Graph() as g:
        xi = gn.input("x", shape=x.shape)
        out = gn.hardsigmoid(xi)
    r = gn.run(g, {"x": x}, outputs=[out], wrt=[xi], loss=gn.sum(out))
    tx = torch.tensor(x, requires_grad=True)
    to = torch.nn.functional.hardsigmoid(tx)
    (tg,) = torch.autograd.grad(to.sum(), [tx])
    np.testing.assert_allclose(r.value(out), to.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(r.grad(xi), tg.numpy(), rtol=1e-7)  # torch's float32 1/6
    np.testing.assert_array_equal(r.grad(xi), np.where(np.abs(x) < 3, 1.0 / 6.0, 0.0))


def test_stable_at_large_magnitudes() -> None:
    x = np.array([-1e308, -1000.0, -40.0, 40.0, 1000.0, 1e308])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(gn.logsigmoid(x), [-1e308, -1000.0, -40.0,
                                                      -np.exp(-40.0), 0.0, 0.0], rtol=1e-15)
        np.testing.assert_allclose(gn.softplus(x, threshold=1e300),
                                   [0.0, 0.0, np.exp(-40.0), 40.0, 1000.0, 1e308], rtol=1e-15)
        assert np.all(np.isfinite(gn.mish(x[1:-1])))


@pytest.mark.parametrize("name", NAMES)
def test_sympy_round_trip_and_parser(name: str) -> None:
    pytest.importorskip("sympy")
    case = CASES[name][0]
    v = float(case.inputs[0].flat[1])
    with gn.Graph() as g:
        x = gn.input("x")
        y = gn.bind(gn.REGISTRY[name], x, **case.params).named("y")
    want = gn.run(g, {"x": v}).value(y)
    h = gn.from_sympy(gn.to_sympy(g, y), name="y")
    np.testing.assert_allclose(gn.run(h, {"x": v}).value("y"), want, rtol=1e-12)
    p = gn.io.parse(f"{name}(x)", name="y")
    np.testing.assert_allclose(gn.run(p, {"x": v}).value("y"),
                               gn.run(p, {"x": v}).value("y"), rtol=0)
    assert [n.op.name for n in p.nodes if not n.op.leaf] == [name]


@pytest.mark.parametrize("name,params,native", [
    ("mish", {}, "Mish"), ("softsign", {}, "Softsign"), ("selu", {}, "Selu"),
    ("hardsigmoid", {}, "HardSigmoid"), ("hardswish", {}, "HardSwish"),
    ("celu", {"alpha": 0.5}, "Celu"), ("relu6", {}, "Clip"),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}, "Clip"),
    ("gelu", {"approximate": "none"}, "Erf"), ("gelu", {"approximate": "tanh"}, "Tanh"),
    ("softplus", {"beta": 2.0, "threshold": 3.0}, "Softplus"), ("silu", {}, "Sigmoid"),
    ("logsigmoid", {}, "Softplus")])
def test_float32_onnx_export_runs_in_onnxruntime_and_imports(name: str, params: dict,
                                                             native: str) -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = np.linspace(-5, 5, 24).astype(np.float32)
    with gn.Graph() as g:
        xi = gn.input("x", shape=(24,), dtype="float32")
        y = gn.bind(gn.REGISTRY[name], xi, **params).named("y")
    m = gn.to_onnx(g)
    assert native in [n.op_type for n in m.graph.node]
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    want = gn.run(g, {"x": x}).value(y)
    np.testing.assert_allclose(sess.run(["y"], {"x": x})[0], want, rtol=2e-6, atol=1e-6)
    back = gn.from_onnx(onnx.load_from_string(m.SerializeToString()))
    np.testing.assert_allclose(gn.run(back, {"x": x}).value("y"), want, rtol=2e-6, atol=1e-6)
    if len(m.graph.node) == 1 or native == "Clip":  # one ONNX op: the same graphnn op back
        assert [n.op.name for n in back.nodes if not n.op.leaf][-1] == name


def test_onnx_gelu_of_opset_20_and_clip_imports() -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = np.linspace(-4, 4, 9)
    for form in ("none", "tanh"):
        node = helper.make_node("Gelu", ["x"], ["y"], approximate=form)
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
            "x", TensorProto.DOUBLE, [9])], [helper.make_tensor_value_info(
                "y", TensorProto.DOUBLE, [9])])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
        back = gn.from_onnx(m)
        assert [n.op.name for n in back.nodes if not n.op.leaf] == ["gelu"]
        np.testing.assert_allclose(gn.run(back, {"x": x}).value("y"),
                                   gn.gelu(x, approximate=form), rtol=1e-15)
    for lo, hi, op in ((0.0, 6.0, "relu6"), (-2.0, 1.5, "hardtanh")):
        node = helper.make_node("Clip", ["x", "lo", "hi"], ["y"])
        inits = [onnx.numpy_helper.from_array(np.array(v), n) for n, v in
                 (("lo", lo), ("hi", hi))]
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
            "x", TensorProto.DOUBLE, [9])], [helper.make_tensor_value_info(
                "y", TensorProto.DOUBLE, [9])], initializer=inits)
        back = gn.from_onnx(helper.make_model(graph, opset_imports=[
            helper.make_opsetid("", 18)]))
        assert op in [n.op.name for n in back.nodes if not n.op.leaf]
        np.testing.assert_allclose(gn.run(back, {"x": x}).value("y"), np.clip(x, lo, hi))


@pytest.mark.parametrize("call,msg", [
    (lambda x: gn.gelu(x, approximate="erf"), "approximate must be 'none' or 'tanh'"),
    (lambda x: gn.softplus(x, beta=0.0), "beta must be nonzero"),
    (lambda x: gn.softplus(x, threshold=float("nan")), "threshold must be a finite"),
    (lambda x: gn.hardtanh(x, 1.0, -1.0), "max_val (-1.0) must be >= min_val (1.0)"),
    (lambda x: gn.celu(x, alpha=0.0), "alpha must be nonzero"),
])
def test_bad_parameters_fail_at_build_time(call: Any, msg: str) -> None:
    with gn.Graph():
        x = gn.input("x", shape=(3,))
        with pytest.raises((gn.GraphError, ValueError), match=msg.replace("(", r"\(")
                           .replace(")", r"\)")):
            call(x)
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        call(np.zeros(3))
    with gn.Graph():  # bind straight to the record: the record's check names the op
        x = gn.input("x", shape=(3,))
        params = {"gelu": {"approximate": "erf"}, "celu": {"alpha": 0.0}}
        for op, p in params.items():
            with pytest.raises(gn.GraphError, match=op):
                gn.bind(gn.REGISTRY[op], x, **p)


LAYERS = [(gn.nn.GELU, ("tanh",), "gelu", {"approximate": "tanh"}),
          (gn.nn.SiLU, (), "silu", {}),
          (gn.nn.Softplus, (2.0, 5.0), "softplus", {"beta": 2.0, "threshold": 5.0}),
          (gn.nn.Mish, (), "mish", {}),
          (gn.nn.Hardtanh, (-0.5, 0.5), "hardtanh", {"min_val": -0.5, "max_val": 0.5}),
          (gn.nn.ReLU6, (), "relu6", {}), (gn.nn.Hardswish, (), "hardswish", {}),
          (gn.nn.Hardsigmoid, (), "hardsigmoid", {}), (gn.nn.SELU, (), "selu", {}),
          (gn.nn.CELU, (0.7,), "celu", {"alpha": 0.7}), (gn.nn.Softsign, (), "softsign", {}),
          (gn.nn.LogSigmoid, (), "logsigmoid", {})]


@pytest.mark.parametrize("cls,args,op,params", LAYERS, ids=[c[2] for c in LAYERS])
def test_layers_build_their_op(cls: Any, args: tuple, op: str, params: dict) -> None:
    layer = cls(*args)
    model = gn.nn.Sequential(gn.nn.Linear(3, 4), layer, seed=0)
    with gn.Graph() as g:
        y = model(gn.input("x", shape=(2, 3)))
    assert y.op.name == op and y.params == params
    x = np.random.default_rng(0).normal(size=(2, 3))
    r = gn.run(g, {"x": x}, outputs=[y])
    h = r.value(y.inputs[0])
    np.testing.assert_allclose(r.value(y), getattr(gn, op)(h, **params), rtol=1e-15)
    assert repr(layer).startswith(cls.__name__ + "(")


def test_layer_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match="unexpected argument"):
        gn.nn.Softplus(betta=2.0)
    with pytest.raises(TypeError, match="at most 1 arguments"):
        gn.nn.CELU(1.0, 2.0)
    with pytest.raises(ValueError, match="alpha must be nonzero"):
        gn.nn.CELU(0.0)
    assert gn.nn.MLP([2, 3, 1], activation="mish").layers[1][1].op == "mish"
