"""``gn.set_float32_matmul_precision`` (PyTorch's name and choices): "high" lets float32
GEMMs on the GPU use TensorFloat-32, "highest" keeps them float32. Executed on the CPU by
the stand-in ``cupy``, which models CuPy 14's rules (tests/cupy_standin.py): 2-D products
follow CuPy's float32 compute type, batched ones (the convolution GEMMs) only the cuBLAS
handle's math mode, and a TF32 product rounds its inputs to 10 mantissa bits. So each
check below fails if graphnn sets only one of the two switches, or none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.core import device
from tests.cupy_standin import BLAS, _tf32, installed
from tests.test_codegen_cupy_run import needs_gxx


@pytest.fixture(autouse=True)
def _restore_precision() -> Iterator[None]:
    before = dict(device._precision)
    yield
    device._precision.update(before)
    device._applied.clear()


@pytest.fixture
def cp() -> Iterator[Any]:
    with installed() as mod:
        yield mod


def test_choices_and_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown precision 'tf32'.*'highest', 'high'"):
        gn.set_float32_matmul_precision("tf32")
    for p in ("high", "medium", "highest"):
        gn.set_float32_matmul_precision(p)
        assert gn.get_float32_matmul_precision() == p


def test_default_follows_cupys_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(device._precision, "value", None)
    monkeypatch.delenv("CUPY_TF32", raising=False)
    assert gn.get_float32_matmul_precision() == "highest"
    monkeypatch.setenv("CUPY_TF32", "1")
    assert gn.get_float32_matmul_precision() == "high"


def test_setting_reaches_both_cupy_switches(cp: Any) -> None:
    gn.set_float32_matmul_precision("high")
    assert (BLAS["compute_f32"], BLAS["math"]) == (7, 3)  # COMPUTE_TYPE_TF32, TF32 math
    gn.set_float32_matmul_precision("highest")
    assert (BLAS["compute_f32"], BLAS["math"]) == (1, 0)  # COMPUTE_TYPE_DEFAULT, default


def test_set_before_cupy_is_loaded_applies_at_first_use() -> None:
    gn.set_float32_matmul_precision("high")  # no cupy in sys.modules: only recorded
    with installed():
        assert BLAS["math"] == 0
        g, _ = _mlp()
        gn.run(g, {"x": np.ones((16, 40), np.float32)}, device="cuda")  # applies it
        assert (BLAS["compute_f32"], BLAS["math"]) == (7, 3)


def _mlp() -> tuple[gn.Graph, list[gn.Node]]:
    rng = np.random.default_rng(0)
    with gn.Graph("mlp") as g:
        x = gn.input("x", (16, 40), dtype="float32")
        w1 = gn.param("w1", rng.normal(size=(40, 32)).astype(np.float32))
        w2 = gn.param("w2", rng.normal(size=(32, 3)).astype(np.float32))
        gn.sum(gn.tanh(x @ w1) @ w2).named("loss")
    return g, [w1, w2]


@needs_gxx
def test_compiled_step_uses_tf32_only_when_asked(cp: Any) -> None:
    g, ps = _mlp()
    x = np.random.default_rng(1).normal(size=(16, 40)).astype(np.float32)
    f = gn.compile(g, ["loss"], wrt=ps, backend="cupy")
    host = gn.compile(g, ["loss"], wrt=ps)(x=x)
    gn.set_float32_matmul_precision("highest")
    exact = f(x=cp.asarray(x), host=True)
    gn.set_float32_matmul_precision("high")
    tf32 = f(x=cp.asarray(x), host=True)
    for p in ps:
        np.testing.assert_allclose(exact.grad(p), host.grad(p), rtol=1e-5, atol=1e-4)
        assert not np.array_equal(tf32.grad(p), exact.grad(p))
        np.testing.assert_allclose(tf32.grad(p), exact.grad(p), rtol=2e-2, atol=2e-2)


@needs_gxx
def test_convolution_gemms_follow_the_math_mode(cp: Any) -> None:
    """The GPU conv's GEMMs are batched (one per group): CuPy's compute type does not
    reach them, the cuBLAS math mode does. Under "high" the result is the convolution of
    the TF32-rounded operands (closer to it than to the float32 one)."""
    rng = np.random.default_rng(2)
    xv = rng.normal(size=(2, 3, 9, 9)).astype(np.float32)
    wv = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    with gn.Graph("conv") as g:
        x = gn.input("x", xv.shape, dtype="float32")
        w = gn.param("w", wv)
        gn.conv2d(x, w, padding=1).named("y")
    f = gn.compile(g, ["y"], backend="cupy")

    def ref(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray(gn.run(g, {"x": a.astype(np.float64), "w": b.astype(np.float64)},
                                 outputs=["y"]).value("y"))

    exact, rounded = ref(xv, wv), ref(_tf32(xv), _tf32(wv))
    gn.set_float32_matmul_precision("high")
    got = f(x=cp.asarray(xv), host=True)["y"]
    assert np.abs(got - rounded).max() < 1e-4 < np.abs(got - exact).max()
    gn.set_float32_matmul_precision("highest")
    got = f(x=cp.asarray(xv), host=True)["y"]
    assert np.abs(got - exact).max() < 1e-4 < np.abs(got - rounded).max()


@needs_gxx
def test_a_cuda_graph_step_is_captured_again_after_a_change(cp: Any) -> None:
    g, ps = _mlp()
    x = cp.asarray(np.random.default_rng(3).normal(size=(16, 40)).astype(np.float32))
    f = gn.compile(g, ["loss"], wrt=ps, backend="cupy", cuda_graph=True)
    gn.set_float32_matmul_precision("highest")
    first = [f(x=x, host=True).grad(ps[0]) for _ in range(3)]
    assert f.cuda_graph is not None and f.cuda_graph.captures == 1
    gn.set_float32_matmul_precision("high")
    again = f(x=x, host=True).grad(ps[0])
    assert f.cuda_graph.captures == 2 and f.cuda_graph.status == "captured"
    assert not np.array_equal(again, first[-1])


def test_a_cupy_without_the_switches_gets_one_clear_error(cp: Any) -> None:
    del cp._core
    cp.__name__ = "graphnn_no_such_cupy"  # so the fallback import fails too
    with pytest.raises(gn.DeviceError, match="no compute-type or math-mode switch.*CUPY_TF32"):
        gn.set_float32_matmul_precision("high")


def test_tf32_rounding_of_the_stand_in() -> None:
    one = np.float32(1.0)
    ulp = np.float32(2.0 ** -10)  # TF32's spacing at 1
    v = np.array([one + ulp / 2, one + ulp * 1.5, one + ulp * 0.75, -3.0e38, np.inf, np.nan],
                 dtype=np.float32)
    r = _tf32(v)
    np.testing.assert_array_equal(r[:3], [one, one + 2 * ulp, one + ulp])  # ties to even
    assert np.isfinite(r[3]) and abs(r[3] / v[3] - 1) <= 2.0 ** -11
    assert (r[3].view(np.uint32) & 0x1FFF) == 0  # 13 low mantissa bits cleared
    assert np.isinf(r[4]) and np.isnan(r[5])


@needs_gxx
def test_cli_train_sets_the_precision(cp: Any, tmp_path: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import pathlib

    from tests.cli_util import invoke

    monkeypatch.chdir(tmp_path)
    model = pathlib.Path(__file__).resolve().parents[1] / "examples/models/xor_mlp.py"
    r = invoke("train", model, "--epochs", "1", "--device", "cuda", "-q",
               "--matmul-precision", "high", "-o", "m.npz")
    assert r.exit_code == 0, r.stderr
    assert gn.get_float32_matmul_precision() == "high" and BLAS["math"] == 3
    r = invoke("train", model, "--matmul-precision", "tf32")
    assert r.exit_code == 2 and "'tf32' is not one of" in r.stderr
