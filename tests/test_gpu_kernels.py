"""The ops' own GPU kernels (``Op.gpu``): pooling and convolution on CuPy arrays run as
CUDA kernels (im2col / col2im, one kernel per pooling pass) instead of the NumPy code
with ``xp = cupy``. Executed on the CPU through the CuPy stand-in (the kernels' C++
compiled with g++) and checked against the NumPy code: pooling bit for bit (ties, NaN,
infinities, padding, ceil_mode, dilation, float16), the convolution input gradient bit
for bit (same sums in the same order), its forward and weight gradient to rounding (one
GEMM over every image against a sum of per-image GEMMs). With nvcc present the kernels
also compile as CUDA."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.ops import activations as A
from graphnn.ops import conv as C
from graphnn.ops import losses as L
from graphnn.ops import pool as P
from graphnn.ops.kernels import _kernel
from tests.cupy_standin import installed
from tests.test_codegen_cupy import needs_nvcc
from tests.test_codegen_cupy_run import needs_gxx

pytestmark = needs_gxx


@pytest.fixture(scope="module")
def cp() -> Iterator[Any]:
    with installed() as mod:
        yield mod


def _same(a: np.ndarray, b: Any, cp: Any, exact: bool = True) -> None:
    b = cp.asnumpy(b)
    assert (a.shape, a.dtype) == (b.shape, b.dtype)
    if exact:
        np.testing.assert_array_equal(b, a)
    else:
        tol = 1e-12 if a.dtype == np.float64 else 2e-5
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


def _pool_case(seed: int) -> tuple[dict[str, Any], np.ndarray, Any] | None:
    rng = np.random.default_rng(seed)
    nd = 1 + seed % 3
    k = tuple(int(v) for v in rng.integers(1, 4, nd))
    geo = {"kernel_size": k, "stride": tuple(int(v) for v in rng.integers(1, 4, nd)),
           "padding": tuple(int(rng.integers(0, e // 2 + 1)) for e in k),
           "ceil_mode": bool(rng.integers(0, 2))}
    size = tuple(int(v) for v in rng.integers(2 * max(k) + 1, 9, nd))
    dt = (np.float64, np.float32, np.float16)[seed % 3]
    x = rng.integers(-3, 4, (2, 3) + size).astype(dt)  # many ties
    if seed % 4 == 0:
        x.flat[rng.integers(0, x.size, 6)] = np.nan
    if seed % 5 == 0:
        x.flat[rng.integers(0, x.size, 6)] = -np.inf
    return geo, x, rng


@pytest.mark.parametrize("seed", range(24))
def test_max_pool_kernels_match_numpy_bit_for_bit(cp: Any, seed: int) -> None:
    geo, x, rng = _pool_case(seed)
    geo["dilation"] = tuple(int(v) for v in rng.integers(1, 3, len(geo["kernel_size"])))
    try:
        out = P._pool_geom(np, x.shape[2:], geo["kernel_size"], geo["stride"],
                           geo["padding"], geo["dilation"], geo["ceil_mode"])[0]
        C.check_fits(x.shape[2:], geo["kernel_size"], geo["padding"], geo["dilation"])
    except ValueError:
        pytest.skip("kernel larger than the padded input")
    g = rng.standard_normal(x.shape[:2] + out).astype(x.dtype)
    v = rng.standard_normal(x.shape).astype(x.dtype)
    X, G, V = cp.asarray(x), cp.asarray(g), cp.asarray(v)
    _same(P._max_pool2d(np, x, **geo), P._pool_gpu(cp, "max", X, None, **geo), cp)
    _same(P._max_pool2d_indices(np, x, **geo), P._pool_gpu(cp, "index", X, None, **geo), cp)
    _same(P._max_pool2d_select(np, x, v, **geo), P._pool_gpu(cp, "select", X, V, **geo), cp)
    _same(P._max_pool2d_grad(np, x, g, **geo), P._pool_gpu(cp, "max_grad", X, G, **geo), cp)


@pytest.mark.parametrize("seed", range(24))
def test_avg_pool_kernels_match_numpy_bit_for_bit(cp: Any, seed: int) -> None:
    geo, x, rng = _pool_case(seed)
    geo["count_include_pad"] = bool(seed % 2)
    geo["divisor_override"] = 3 if seed % 7 == 0 else None
    size = tuple(x.shape[2:])
    out = P._pool_geom(np, size, geo["kernel_size"], geo["stride"], geo["padding"],
                       (1,) * len(size), geo["ceil_mode"])[0]
    g = rng.standard_normal(x.shape[:2] + out).astype(x.dtype)
    _same(P._avg_pool2d(np, x, **geo), P._pool_gpu(cp, "avg", cp.asarray(x), None, **geo), cp)
    _same(P._avg_pool2d_grad(np, g, input_size=size, **geo),
          P._pool_gpu(cp, "avg_grad", cp.asarray(g), None, input_size=size, **geo), cp)


def test_pool_kernels_take_integers(cp: Any) -> None:
    x = np.arange(2 * 3 * 5 * 6).reshape(2, 3, 5, 6) % 7
    geo = {"kernel_size": (2, 3), "stride": (2, 2), "padding": (0, 0), "ceil_mode": True}
    _same(P._max_pool2d(np, x, **geo), P._pool_gpu(cp, "max", cp.asarray(x), None, **geo), cp)
    avg = P._avg_pool2d(np, x, count_include_pad=False, **geo)  # integers: float64 means
    assert avg.dtype == np.float64
    _same(avg, P._pool_gpu(cp, "avg", cp.asarray(x), None, count_include_pad=False, **geo), cp)


def test_max_pool_nan_rule_is_pytorchs(cp: Any) -> None:
    """Two NaNs in a window: the last one takes the gradient (PyTorch's scan), on both
    paths (PyTorch's own values: tests/op_edges.py)."""
    x = np.array([np.nan, 1.0, np.nan, 2.0])[None, None]
    geo = {"kernel_size": (4,), "stride": (4,), "padding": (0,)}
    assert P._max_pool2d_indices(np, x, **geo).item() == 2
    assert cp.asnumpy(P._pool_gpu(cp, "index", cp.asarray(x), None, **geo)).item() == 2


@pytest.mark.parametrize("seed", range(18))
def test_conv_kernels_match_numpy(cp: Any, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    nd = 1 + seed % 3
    groups = int(rng.choice([1, 2]))
    cin, co = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 4, nd))
    geo = {"stride": tuple(int(v) for v in rng.integers(1, 3, nd)),
           "padding": tuple(int(v) for v in rng.integers(0, 2, nd)),
           "dilation": tuple(int(v) for v in rng.integers(1, 3, nd)), "groups": groups}
    size = tuple(int(v) for v in rng.integers(5, 8, nd))
    dt = (np.float64, np.float32)[seed % 2]
    x = rng.standard_normal((int(rng.integers(1, 4)), cin) + size).astype(dt)
    w = rng.standard_normal((co, cin // groups) + k).astype(dt)
    b = rng.standard_normal(co).astype(dt) if seed % 3 else None
    y = C._conv2d(np, x, w, b, **geo)
    g = rng.standard_normal(y.shape).astype(dt)
    X, W, G = cp.asarray(x), cp.asarray(w), cp.asarray(g)
    _same(y, C._conv_gpu(cp, X, W, None if b is None else cp.asarray(b), **geo), cp, exact=False)
    _same(C._conv2d_grad_input(np, g, w, input_size=size, **geo),
          C._conv_gpu_grad_input(cp, G, W, input_size=size, **geo), cp)
    _same(C._conv2d_grad_weight(np, x, g, kernel_size=k, **geo),
          C._conv_gpu_grad_weight(cp, X, G, kernel_size=k, **geo), cp, exact=False)


def test_conv_kernels_in_blocks_of_images(cp: Any, monkeypatch: Any) -> None:
    """Batches whose columns pass the 256 MiB cap run block by block: same results."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 2, 6, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    g = rng.standard_normal((5, 3, 4, 4))
    X, W, G = cp.asarray(x), cp.asarray(w), cp.asarray(g)
    whole = [cp.asnumpy(C._conv_gpu(cp, X, W)),
             cp.asnumpy(C._conv_gpu_grad_input(cp, G, W, input_size=(6, 6))),
             cp.asnumpy(C._conv_gpu_grad_weight(cp, X, G, kernel_size=(3, 3)))]
    monkeypatch.setattr(C, "_conv_gpu_step", lambda xp, n, per_image: 2)
    blocks = [C._conv_gpu(cp, X, W), C._conv_gpu_grad_input(cp, G, W, input_size=(6, 6)),
              C._conv_gpu_grad_weight(cp, X, G, kernel_size=(3, 3))]
    for a, b in zip(whole, blocks):
        _same(a, b, cp, exact=False)


def test_empty_and_degenerate_convs(cp: Any) -> None:
    x = np.ones((0, 2, 5, 5))
    w = np.ones((3, 2, 3, 3))
    _same(C._conv2d(np, x, w), C._conv_gpu(cp, cp.asarray(x), cp.asarray(w)), cp)
    x, w0 = np.ones((2, 0, 5, 5)), np.ones((3, 0, 3, 3))  # no input channels: zeros
    _same(C._conv2d(np, x, w0), C._conv_gpu(cp, cp.asarray(x), cp.asarray(w0)), cp)
    g = np.ones((2, 0, 3, 3))
    w = np.ones((0, 2, 3, 3))
    _same(C._conv2d_grad_input(np, g, w, input_size=(5, 5)),
          C._conv_gpu_grad_input(cp, cp.asarray(g), cp.asarray(w), input_size=(5, 5)), cp)


@pytest.mark.parametrize("seed", range(24))
def test_cross_entropy_kernels_match_numpy(cp: Any, seed: int) -> None:
    """Class indices: (C,), (N, C) and (N, C, *spatial) logits, ignored targets, class
    weights, label smoothing, every reduction, NaN and inf logits, float16/32/64. The
    gradient mask bit for bit, the loss to rounding (sums in another order)."""
    rng = np.random.default_rng(200 + seed)
    dt = (np.float64, np.float32, np.float16)[seed % 3]
    c = int(rng.integers(1, 7))
    shape = [(c,), (int(rng.integers(0, 5)), c), (3, c, 2), (2, c, 2, 3)][seed % 4]
    z = (rng.standard_normal(shape) * 3).astype(dt)
    if seed % 7 == 0 and z.size:
        z.flat[0] = np.nan
    if seed % 11 == 0 and z.size:
        z.flat[-1] = np.inf
    t = rng.integers(0, c, () if len(shape) == 1 else (shape[0],) + shape[2:])
    ignore = int(t.flat[0]) if seed % 4 == 1 and t.size else -100
    w = rng.random(c).astype(dt) if seed % 5 == 0 else None
    eps = 0.1 if seed % 2 else 0.0
    T, W = cp.asarray(t), None if w is None else cp.asarray(w)
    tol = {np.float64: 1e-12, np.float32: 1e-5, np.float16: 5e-3}[dt]
    with np.errstate(all="ignore"):
        for red in ("mean", "sum", "none"):
            want = np.asarray(L._cross_entropy(np, z, t, w, red, ignore, eps))
            got = cp.asnumpy(L._cross_entropy_gpu(cp, cp.asarray(z), T, W, red, ignore, eps))
            assert (got.shape, got.dtype) == (want.shape, want.dtype)
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        kw = {"num_classes": c, "ignore_index": ignore, "label_smoothing": eps,
              "dtype": np.dtype(dt).name}
        _same(L._nll_grad_mask(np, t, w, **kw), L._nll_grad_mask_gpu(cp, T, W, **kw), cp)


def test_class_index_errors_match_numpy(cp: Any) -> None:
    z, t = np.zeros((4, 3)), np.array([0, 5, 1, 9])
    with pytest.raises(ValueError) as host:
        L._cross_entropy(np, z, t)
    for call in (lambda: L._cross_entropy_gpu(cp, cp.asarray(z), cp.asarray(t)),
                 lambda: L._nll_grad_mask_gpu(cp, cp.asarray(t), None, num_classes=3)):
        with pytest.raises(ValueError) as dev:
            call()
        assert str(dev.value) == str(host.value)
    probs = np.full((4, 3), 1 / 3, np.float32)  # float32 targets, float64 logits
    np.testing.assert_allclose(  # mixed dtypes: the NumPy code with xp = cupy
        cp.asnumpy(L._cross_entropy_gpu(cp, cp.asarray(z), cp.asarray(probs))),
        L._cross_entropy(np, z, probs), rtol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_cross_entropy_with_probabilities_matches_numpy(cp: Any, seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    dt = (np.float64, np.float32, np.float16)[seed % 3]
    c = int(rng.integers(1, 6))
    shape = [(c,), (int(rng.integers(0, 4)), c), (2, c, 3)][seed % 3]
    z = (rng.standard_normal(shape) * 2).astype(dt)
    t = rng.random(shape).astype(dt)
    w = rng.random(c).astype(dt) if seed % 2 else None
    eps = 0.2 if seed % 4 == 1 else 0.0
    tol = {np.float64: 1e-12, np.float32: 1e-5, np.float16: 5e-3}[dt]
    for red in ("mean", "sum", "none"):
        with np.errstate(all="ignore"):
            want = np.asarray(L._cross_entropy(np, z, t, w, red, -100, eps))
            got = cp.asnumpy(L._cross_entropy_gpu(
                cp, cp.asarray(z), cp.asarray(t), None if w is None else cp.asarray(w), red,
                -100, eps))
        assert (got.shape, got.dtype) == (want.shape, want.dtype)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("seed", range(12))
def test_softmax_kernels_match_numpy(cp: Any, seed: int) -> None:
    """Rows along any axis (``inner`` apart), NaN and infinite entries, float16/32/64."""
    rng = np.random.default_rng(400 + seed)
    dt = (np.float64, np.float32, np.float16)[seed % 3]
    shape = [(7,), (3, 5), (2, 4, 3), (0, 4)][seed % 4]
    a = (rng.standard_normal(shape) * 4).astype(dt)
    if seed % 5 == 0 and a.size:
        a.flat[1] = np.nan
        a.flat[-1] = np.inf
    axis = int(rng.integers(-len(shape), len(shape)))
    tol = {np.float64: 1e-12, np.float32: 1e-5, np.float16: 5e-3}[dt]
    with np.errstate(all="ignore"):
        for log, host in ((False, A._softmax), (True, A._log_softmax)):
            want = host(np, a, axis)
            got = cp.asnumpy(A._softmax_gpu(cp, cp.asarray(a), axis, log=log))
            assert (got.shape, got.dtype) == (want.shape, want.dtype)
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# -- the record: the interpreter, compiled modules, a user's op -----------------------------


def test_interpreter_and_compiled_cupy_use_the_kernels(cp: Any) -> None:
    rng = np.random.default_rng(3)
    with gn.Graph() as g:
        x = gn.input("x", shape=(2, 1, 8, 8))
        w = gn.param("w", rng.standard_normal((4, 1, 3, 3)))
        v = gn.param("v", rng.standard_normal((2, 4, 3, 3)))
        y = gn.max_pool2d(gn.relu(gn.conv2d(x, w, padding=1)), 2)
        loss = gn.sum(gn.avg_pool2d(gn.conv2d(y, v, padding=1), 2) * 3.0)
    feeds = {"x": rng.standard_normal((2, 1, 8, 8))}
    ref = gn.run(g, feeds, outputs=[loss], wrt=[w])
    _kernel.__dict__.pop("kernels", None)  # the kernels built from here on
    dev = gn.run(g, feeds, outputs=[loss], wrt=[w], device="cuda")
    built = [key[1:] for key in _kernel.kernels]
    assert {k for what, k in built if what == "pool"} == {"max", "max_grad", "avg", "avg_grad"}
    assert {k for what, k in built if what == "conv"} == {"im2col", "col2im"}
    np.testing.assert_allclose(cp.asnumpy(dev.grad(w)), ref.grad(w), rtol=1e-12)
    f = gn.compile(g, outputs=[loss], wrt=[w], backend="cupy")
    assert "_pool_gpu(xp, 'max_grad'," in f.body and "_conv_gpu_grad_weight(xp," in f.body
    assert "def _max_pool2d(" not in f.source  # the NumPy code stays out
    np.testing.assert_allclose(cp.asnumpy(f(feeds).grad(w)), ref.grad(w), rtol=1e-12)
    src = gn.compile(g, outputs=[loss], wrt=[w]).source
    assert "_pool_gpu" not in src and "ElementwiseKernel" not in src


def test_a_users_op_with_its_own_gpu_code(cp: Any) -> None:
    def cpu(xp: Any, a: Any) -> Any:
        return a * 2.0

    def twice_gpu(xp: Any, a: Any) -> Any:
        return xp.ElementwiseKernel("T a", "T y", "y = a + a", "twice")(a)

    op = gn.Op(name="twice_gpu_test", forward=cpu, shape=lambda s: s, numpy="{0} * 2.0",
               gpu=gn.Gpu(forward=twice_gpu, call="twice_gpu(xp, {0})", helpers=(twice_gpu,)))
    assert op.forward(np, np.ones(2)).tolist() == [2.0, 2.0]
    assert cp.asnumpy(op.forward(cp, cp.asarray(np.ones(2)))).tolist() == [2.0, 2.0]
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        y = gn.bind(op, x)
    f = gn.compile(g, [y], backend="cupy")
    assert "twice_gpu(xp, x)" in f.body and "def twice_gpu(" in f.source
    assert cp.asnumpy(f({"x": np.arange(3.0)})[y]).tolist() == [0.0, 2.0, 4.0]
    assert "def twice_gpu(" not in gn.compile(g, [y]).source


# -- nvcc: the kernels compile as CUDA ----------------------------------------------------

class _Recorder:
    """An ``xp`` whose ElementwiseKernel keeps its arguments (no CuPy needed)."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.kernels: list[tuple[Any, ...]] = []

    def ElementwiseKernel(self, ins: str, outs: str, body: str, name: str,  # noqa: N802
                          preamble: str = "") -> None:
        self.kernels.append((ins, outs, body, name, preamble))


def _cuda_unit(ins: str, outs: str, body: str, name: str, preamble: str,
               types: dict[str, str]) -> str:
    """A CUDA translation unit like CuPy's for one ElementwiseKernel: placeholder types
    as typedefs, raw parameters as pointers, the rest as one element per thread."""
    params, loads = [], []
    for k, part in enumerate((ins + ", " + outs).split(",")):
        words = part.split()
        t, nm = words[-2], words[-1]
        ct = {"int8": "signed char", "int32": "int", "int64": "long long",
              "float64": "double"}.get(t, t)
        out = k >= len(ins.split(","))
        if words[0] == "raw":
            params.append(f"{'' if out else 'const '}{ct}* {nm}")
        elif out:
            params.append(f"{ct}* _p_{nm}")
            loads.append(f"{ct}& {nm} = _p_{nm}[i];")
        else:
            params.append(f"{ct} {nm}")
    tdefs = "".join(f"typedef {c} {t};\n" for t, c in types.items())
    return (f"namespace {name}_ns {{\n{tdefs}{preamble}\n"
            f'__global__ void {name}({", ".join(params)}, long long _n) {{\n'
            "long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n"
            "if (i >= _n) return;\n" + "\n".join(loads) + f"\n{body}\n}}\n}}\n")


@needs_nvcc
def test_the_kernels_compile_with_nvcc(tmp_path: Any) -> None:
    rec = _Recorder()
    for kind in ("max", "index", "select", "max_grad", "avg", "avg_grad"):
        P._pool_cuda(rec, kind)
    for kind in ("im2col", "col2im"):
        C._conv_cuda(rec, kind)
    L._class_cuda(rec, "mask")
    units = []
    for ct in ("float", "double"):
        for ins, outs, body, name, pre in rec.kernels:
            units.append(_cuda_unit(ins, outs, body, f"{name}_{ct}", pre,
                                    {"T": ct, "U": ct, "I": "long long", "W": ct}))
    ins, outs, body, name, pre = rec.kernels[4]  # avg over integers: float64 means
    units.append(_cuda_unit(ins, outs, body, f"{name}_ll", pre,
                            {"T": "long long", "U": "double"}))
    for acc, ct in (("float", "float"), ("double", "double")):  # rows, in acc
        for make in [lambda k=k: L._class_cuda(rec, k, acc) for k in ("ce", "soft")] + [
                lambda lg=lg: A._softmax_cuda(rec, lg, acc) for lg in (False, True)]:
            make()
            ins, outs, body, name, pre = rec.kernels[-1]
            units.append(_cuda_unit(ins, outs, body, f"{name}_{ct}", pre,
                                    {"T": ct, "I": "long long", "W": ct}))
    cu = tmp_path / "kernels.cu"
    cu.write_text("\n".join(units))
    nvcc = shutil.which("nvcc")
    proc = subprocess.run([str(nvcc), "-ptx", "-arch=compute_80", str(cu), "-o",
                           str(tmp_path / "k.ptx")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "k.ptx").read_text().count(".entry") == len(units)
