"""Integer and bool tensors: floor_divide, remainder, bitwise ops and cast (graphnn/ops/
integer.py) against NumPy / PyTorch semantics, through the interpreter, NumPy code, the
CuPy stand-in (fused C kernels compiled with g++, and with nvcc where present) and ONNX."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphnn as gn
from tests.test_codegen_cupy import needs_nvcc, nvcc_ptx
from tests.test_codegen_cupy_run import check_cupy, needs_gxx

A = np.array([-7, -1, 0, 5, 9, -9, 12, 3], dtype=np.int64)
B = np.array([3, -2, 4, 2, -4, -4, 5, 3], dtype=np.int64)
X = np.array([-7.5, -1.0, 0.0, 5.25, 9.0, -0.0, 1e300, 2.5])
Y = np.array([3.0, -2.0, 4.0, -2.5, 0.5, 3.0, 7.0, -1.25])


def _int_graph() -> tuple[gn.Graph, list[Any]]:
    with gn.Graph("ints") as g:
        a = gn.input("a", shape=(8,), dtype="int64")
        b = gn.input("b", shape=(8,), dtype="int64")
        outs = [(a // b).named("q"), (a % b).named("r"), (~(a & b) ^ a).named("bits"),
                ((a | 1) + (a > 0).to("int64")).named("mixed"),
                (gn.eq(a % b, 0) | ~(a < b)).named("flags"),
                ((a // 2).to("float64") * 0.5).named("half")]
    return g, outs


def test_integer_ops_follow_numpy_and_python() -> None:
    g, outs = _int_graph()
    r = gn.run(g, {"a": A, "b": B})
    want = {"q": A // B, "r": A % B, "bits": ~(A & B) ^ A, "mixed": (A | 1) + (A > 0),
            "flags": ((A % B) == 0) | ~(A < B), "half": (A // 2) * 0.5}
    for o in outs:
        got = r.value(o)
        np.testing.assert_array_equal(got, want[o.name], err_msg=o.name)
        assert got.dtype == want[o.name].dtype, o.name
    # Python's own // and % (the sign of the divisor), element by element
    assert [int(v) for v in r.value("q")] == [int(a) // int(b) for a, b in zip(A, B)]
    assert [int(v) for v in r.value("r")] == [int(a) % int(b) for a, b in zip(A, B)]


def test_compiled_numpy_matches_the_interpreter() -> None:
    g, outs = _int_graph()
    ref = gn.run(g, {"a": A, "b": B})
    got = gn.compile(g, outputs=outs)(a=A, b=B)
    for o in outs:
        np.testing.assert_array_equal(got[o.name], ref.value(o), err_msg=o.name)
        assert got[o.name].dtype == ref.value(o).dtype


@needs_gxx
def test_fused_integer_kernels_run_on_the_cupy_standin(tmp_path: Any) -> None:
    g, outs = _int_graph()
    f = check_cupy(g, {"a": A, "b": B}, outs, rtol=0, atol=0)
    bodies = " ".join(k["body"] for k in f.kernels)
    assert "^" in bodies and "&" in bodies and "decltype" in bodies  # fused as C
    assert "xp.floor_divide(" in f.source and "xp.remainder(" in f.source  # never fused


@needs_nvcc
def test_fused_integer_kernels_compile_with_nvcc(tmp_path: Any) -> None:
    g, outs = _int_graph()
    from tests.cupy_standin import installed

    with installed():
        f = gn.compile(g, outputs=outs, backend="cupy")
    nvcc_ptx(f.kernels, tmp_path, "ints")


def test_float_remainder_gradient_and_floor_divide_has_none() -> None:
    with gn.Graph() as g:
        x, y = gn.input("x", shape=(8,)), gn.input("y", shape=(8,))
        loss = gn.sum((x % y) * 2.0 + (x // y)).named("loss")
    xs, ys = np.array([-7.5, -1.0, 0.3, 5.25, 9.0, 2.2, 1.7, 2.5]), Y
    r = gn.run(g, {"x": xs, "y": ys}, wrt=[x, y], loss=loss)
    np.testing.assert_array_equal(r.grad(x), np.full(8, 2.0))  # d(x % y)/dx = 1
    np.testing.assert_allclose(r.grad(y), -2.0 * np.floor(xs / ys))


def test_gradient_of_an_integer_node_is_a_clear_error() -> None:
    with gn.Graph():
        a = gn.input("a", shape=(3,), dtype="int64")
        y = gn.sum((a % 2).to("float64") * 1.5)
        with pytest.raises(gn.GraphError, match="'a'.*int64.*floating point only"):
            gn.grad(y, a)
    feeds = {"a": np.arange(3)}
    for call in (lambda: gn.run(y.graph, feeds, wrt=[a], loss=y),
                 lambda: gn.compile(y.graph, wrt=["a"], loss=y)):
        with pytest.raises(gn.GradError, match="'a'.*int64.*floating point only"):
            call()


def test_bitwise_ops_reject_floats_naming_the_inputs() -> None:
    with gn.Graph():
        x = gn.input("x", shape=(3,))
        with pytest.raises(gn.ParamError, match=r"bitwise_and: .*integer or bool.*float64"
                                                r"(?s:.*)input 0: 'x'"):
            _ = x & 1
        with pytest.raises(gn.ParamError, match="cast: dtype must be one of"):
            gn.cast(x, "complex128")


def test_float_to_int_cast_truncates_and_float_cast_passes_gradients() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(4,))
        i = x.to("int64").named("i")
        b = gn.cast(x, "bool").named("b")
        loss = gn.sum(x.to("float32").to("float64") * 3.0).named("loss")
    xv = np.array([-1.7, -0.0, 2.9, 0.4])
    r = gn.run(g, {"x": xv}, wrt=[x], loss=loss)
    assert r.value(i).tolist() == [-1, 0, 2, 0] and r.value(i).dtype == np.int64
    assert r.value(b).tolist() == [True, False, True, True]
    np.testing.assert_array_equal(r.grad(x), np.full(4, 3.0))


def test_against_pytorch() -> None:
    torch = pytest.importorskip("torch")
    ta, tb = torch.tensor(A), torch.tensor(B)
    g, outs = _int_graph()
    r = gn.run(g, {"a": A, "b": B})
    np.testing.assert_array_equal(r.value("q"), torch.floor_divide(ta, tb).numpy())
    np.testing.assert_array_equal(r.value("r"), torch.remainder(ta, tb).numpy())
    np.testing.assert_array_equal(r.value("bits"), (~(ta & tb) ^ ta).numpy())
    tx = torch.tensor(X, requires_grad=True)
    ty = torch.tensor(Y, requires_grad=True)
    torch.remainder(tx, ty).sum().backward()
    with gn.Graph() as h:
        x, y = gn.input("x", shape=(8,)), gn.input("y", shape=(8,))
        rem = gn.remainder(x, y).named("rem")
        fl = gn.floor_divide(x, y).named("fl")
        ci = x.to("int64").named("ci")
        loss = gn.sum(rem).named("loss")
    rr = gn.run(h, {"x": X, "y": Y}, outputs=[rem, fl, ci], wrt=[x, y], loss=loss)
    np.testing.assert_allclose(rr.value(rem), torch.remainder(tx, ty).detach().numpy())
    np.testing.assert_array_equal(rr.value(fl), torch.floor_divide(tx, ty).detach().numpy())
    np.testing.assert_allclose(rr.grad(x), tx.grad.numpy())
    np.testing.assert_allclose(rr.grad(y), ty.grad.numpy())
    np.testing.assert_array_equal(rr.value(ci), tx.detach().to(torch.int64).numpy())


def test_onnx_round_trip_in_onnxruntime() -> None:
    ort = pytest.importorskip("onnxruntime")
    g, outs = _int_graph()
    feeds = {"a": A, "b": B}
    ref = gn.run(g, feeds)
    model = gn.to_onnx(g)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in outs]
    for o, got in zip(outs, sess.run(names, feeds)):
        np.testing.assert_array_equal(got, ref.value(o), err_msg=o.name)
    back = gn.run(gn.from_onnx(model), feeds)
    for o in outs:
        np.testing.assert_array_equal(back.value(o.name), ref.value(o), err_msg=o.name)
