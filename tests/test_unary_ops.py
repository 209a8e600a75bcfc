"""graphnn/ops/unary.py beyond the registry-driven tests: erf's accuracy, torch-free
expected values, sympy round trips and ONNX export (checked in onnxruntime)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphnn as gn
from graphnn.ops import unary
from graphnn.ops.unary import _erf
from tests.op_cases import CASES


def test_erf_matches_math_erf_to_2_ulps() -> None:
    x = np.concatenate([np.linspace(-7, 7, 20001), np.geomspace(1e-300, 30, 2001),
                        -np.geomspace(1e-300, 30, 2001), [0.5, 4.0, -0.5, -4.0]])
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(_erf(np, x), want, rtol=5e-16, atol=0)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = _erf(np, np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308]))
    np.testing.assert_array_equal(out[[0, 2, 3, 5]], [0.0, 1.0, -1.0, 1.0])
    assert np.signbit(out[1]) and np.isnan(out[4])
    assert _erf(np, np.float32(0.5)).dtype == np.float32


def test_values_as_pytorch_documents_them() -> None:
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -2.7, 2.7])
    np.testing.assert_array_equal(gn.round(x), [-2, -2, -0, 0, 2, 2, -3, 3])  # half to even
    np.testing.assert_array_equal(gn.trunc(x), [-2, -1, -0, 0, 1, 2, -2, 2])
    np.testing.assert_array_equal(gn.floor(x), [-3, -2, -1, 0, 1, 2, -3, 2])
    np.testing.assert_array_equal(gn.ceil(x), [-2, -1, -0, 1, 2, 3, -2, 3])
    assert float(gn.rsqrt(0.0)) == np.inf and float(gn.reciprocal(-0.0)) == -np.inf
    assert float(gn.log1p(-1.0)) == -np.inf and float(gn.exp2(-np.inf)) == 0.0


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_rounding_ops_have_zero_gradient(name: str) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        loss = gn.sum(getattr(gn, name)(x) * x)
    r = gn.run(g, {"x": np.array([0.5, 1.2, -2.5])}, wrt=[x], loss=loss)
    np.testing.assert_array_equal(r.grad(x), getattr(np, {"round": "rint"}.get(name, name))(
        np.array([0.5, 1.2, -2.5])))


@pytest.mark.parametrize("name", unary.__all__)
def test_sympy_round_trip_and_parser(name: str) -> None:
    pytest.importorskip("sympy")
    v = float(CASES[name][0].inputs[0].flat[0])
    with gn.Graph() as g:
        x = gn.input("x")
        y = getattr(gn, name)(x).named("y")
    want = gn.run(g, {"x": v}).value(y)
    h = gn.from_sympy(gn.to_sympy(g, y), name="y")
    np.testing.assert_allclose(gn.run(h, {"x": v}).value("y"), want, rtol=1e-12)
    p = gn.io.parse(f"{name}(x)", name="y")
    np.testing.assert_allclose(gn.run(p, {"x": v}).value("y"), want, rtol=1e-15)


@pytest.mark.parametrize("name", unary.__all__)
def test_onnx_export_runs_in_onnxruntime(name: str, tmp_path) -> None:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = np.resize(CASES[name][0].inputs[0], 12).astype(np.float32)
    with gn.Graph() as g:
        xi = gn.input("x", shape=(12,), dtype="float32")
        y = getattr(gn, name)(xi).named("y")
    gn.to_onnx(g, tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(["y"], {"x": x})[0]
    np.testing.assert_allclose(got, gn.run(g, {"x": x}).value(y), rtol=2e-6, atol=1e-6)
    op = gn.REGISTRY[name]
    if op.onnx.op_type:  # one ONNX op each way: it imports back as the same op
        back = gn.from_onnx(gn.to_onnx(g))
        assert [n.op.name for n in back.nodes if not n.op.leaf] == [name]
