"""Convolution, pooling and losses: the lecture numbers, direct references, torch (when
installed), error messages, numerical robustness and the codegen helper convention.
(Finite-difference, jvp, adjoint and second-order checks of every op are in
test_ops_table.py, driven by tests/op_cases.py.)"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import graphnn as gn
from tests.op_cases import CASES

LECTURE = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)
HERE = "test_conv_pool_losses.py"


def ref_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct sum over kernel offsets (a reference, written for clarity not speed)."""
    s, p, d = stride, padding, dilation
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    oh, ow = (h - d * (kh - 1) - 1) // s + 1, (wd - d * (kw - 1) - 1) // s + 1
    out = np.zeros((n, co, oh, ow))
    per = co // groups
    for o in range(co):
        grp = o // per
        for ci in range(cg):
            for i in range(kh):
                for j in range(kw):
                    patch = x[:, grp * cg + ci, i * d:i * d + s * (oh - 1) + 1:s,
                              j * d:j * d + s * (ow - 1) + 1:s]
                    out[:, o] += w[o, ci, i, j] * patch
        if b is not None:
            out[:, o] += b[o]
    return out


def out_formula(size, f, s, p, d=1):
    return (size - (d * (f - 1) + 1) + 2 * p) // s + 1


# -- the lecture numbers ----------------------------------------------------------------


def test_lecture_pooling_numbers() -> None:
    with gn.Graph("pool") as g:
        x = gn.input("x", shape=(1, 1, 4, 4))
        mx = gn.max_pool2d(x, 2, stride=2)
        av = gn.avg_pool2d(x, 2, stride=2)
    r = gn.run(g, {"x": LECTURE[None, None]}, outputs=[mx, av])
    np.testing.assert_array_equal(r.value(mx)[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(r.value(av)[0, 0], [[3.25, 5.25], [2, 2]])
    assert mx.op.name == "max_pool2d" and av.op.name == "avg_pool2d"
    assert not g.params  # pooling has no parameters


def test_lecture_pooling_gradients() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(1, 1, 4, 4))
        loss = gn.sum(gn.max_pool2d(x, 2)) + gn.sum(gn.avg_pool2d(x, 2))
    r = gn.run(g, {"x": LECTURE[None, None]}, wrt=[x], loss=loss)
    routed = np.zeros((4, 4))
    routed[1, 1] = routed[1, 3] = routed[2, 0] = routed[3, 3] = 1.0  # the maxima 6 8 3 4
    np.testing.assert_array_equal(r.grad(x)[0, 0], routed + 0.25)


def test_six_5x5_filters_on_32x32x3() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(1, 3, 32, 32))
        w = gn.param("w", np.random.default_rng(0).normal(size=(6, 3, 5, 5)))
        b = gn.param("b", np.zeros(6))
        y = gn.conv2d(x, w, b)
    assert y.shape == (1, 6, 28, 28)
    img = np.random.default_rng(1).normal(size=(1, 3, 32, 32))
    r = gn.run(g, {"x": img}, outputs=[y])
    assert r.value(y).shape == (1, 6, 28, 28)
    np.testing.assert_allclose(r.value(y), ref_conv(img, g.value_of(w)), rtol=1e-10)


def test_a_5x5x3_filter_has_76_parameters() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(1, 3, 32, 32))
        w = gn.param("w", np.zeros((1, 3, 5, 5)))
        b = gn.param("b", np.zeros(1))
        gn.conv2d(x, w, b)
    assert sum(p.size for p in g.params) == 76
    # (F F D_in) K + K for K = 6 filters
    assert 6 * 76 == (5 * 5 * 3) * 6 + 6


@pytest.mark.parametrize("size,f,s,p,d", [
    (32, 5, 1, 0, 1), (32, 5, 1, 2, 1), (7, 3, 2, 1, 1), (227, 11, 4, 0, 1), (8, 3, 3, 0, 1),
    (10, 3, 1, 0, 2), (9, 2, 2, 1, 3), (5, 1, 1, 0, 1),
])
def test_output_size_formula(size: int, f: int, s: int, p: int, d: int) -> None:
    with gn.Graph():
        x = gn.input("x", shape=(1, 2, size, size))
        w = gn.param("w", np.ones((3, 2, f, f)))
        y = gn.conv2d(x, w, stride=s, padding=p, dilation=d)
    o = out_formula(size, f, s, p, d)
    assert y.shape == (1, 3, o, o)
    real = gn.conv2d(np.ones((1, 2, size, size)), np.ones((3, 2, f, f)), stride=(s, s),
                     padding=(p, p), dilation=(d, d))
    assert real.shape == y.shape


def test_alexnet_conv2_with_two_groups() -> None:
    with gn.Graph():
        x = gn.input("x", shape=(1, 96, 27, 27))
        w = gn.param("w", np.zeros((256, 48, 5, 5)))
        b = gn.param("b", np.zeros(256))
        y = gn.conv2d(x, w, b, padding=2, groups=2)
    assert y.shape == (1, 256, 27, 27)
    assert w.size + b.size == 307_456  # AlexNet's conv2 parameter count


@pytest.mark.parametrize("kernel", [
    np.array([[-1.0, 1.0]]),                                   # vertical edges
    np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),            # Laplacian
    np.array([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]]),     # edge detector
])
def test_hand_made_filters(kernel: np.ndarray) -> None:
    img = np.zeros((1, 1, 6, 7))
    img[..., 2:5, 3:] = 1.0                                    # a bright rectangle
    y = gn.conv2d(img, kernel[None, None], padding=(0, 0))
    np.testing.assert_allclose(y, ref_conv(img, kernel[None, None]), atol=1e-12)
    flat = gn.conv2d(np.full((1, 1, 5, 5), 3.0), kernel[None, None])
    np.testing.assert_allclose(flat, 0.0, atol=1e-12)          # filters sum to 0: flat -> 0


@pytest.mark.parametrize("s,p,d,groups", [(1, 0, 1, 1), (2, 1, 1, 2), (1, 2, 2, 1), (3, 1, 1, 4)])
def test_conv_matches_direct_reference(s: int, p: int, d: int, groups: int) -> None:
    rng = np.random.default_rng(s + p + d + groups)
    x = rng.normal(size=(2, 4, 9, 8))
    w = rng.normal(size=(8, 4 // groups, 3, 2))
    b = rng.normal(size=8)
    y = gn.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=groups)
    np.testing.assert_allclose(y, ref_conv(x, w, b, s, p, d, groups), rtol=1e-10, atol=1e-12)


def test_global_avg_pool_and_float32() -> None:
    x = np.random.default_rng(2).normal(size=(2, 3, 4, 5)).astype(np.float32)
    with gn.Graph() as g:
        xi = gn.input("x", shape=x.shape, dtype="float32")
        w = gn.param("w", np.ones((2, 3, 3, 3), dtype=np.float32))
        y = gn.global_avg_pool2d(xi)
        c = gn.max_pool2d(gn.conv2d(xi, w, padding=1), 2)
    assert y.shape == (2, 3, 1, 1) and y.op.name == "mean"
    r = gn.run(g, {"x": x}, outputs=[y, c])
    np.testing.assert_allclose(r.value(y), x.mean(axis=(2, 3), keepdims=True), rtol=1e-6)
    assert r.value(c).dtype == np.float32 and c.dtype == np.float32


def test_small_cnn_end_to_end_gradients() -> None:
    rng = np.random.default_rng(3)
    with gn.Graph("cnn") as g:
        x = gn.input("x", shape=(2, 1, 6, 6))
        t = gn.input("t", shape=(2,), dtype="int64")
        w1 = gn.param("w1", rng.normal(size=(2, 1, 3, 3)))
        b1 = gn.param("b1", rng.normal(size=2))
        w2 = gn.param("w2", rng.normal(size=(3, 8)) * 0.5)
        h = gn.max_pool2d(gn.relu(gn.conv2d(x, w1, b1, padding=1)), 3)
        h = gn.avg_pool2d(h, 1) + 0.0
        loss = gn.cross_entropy(gn.flatten(h, 1) @ w2.T, t)
    feeds = {"x": rng.normal(size=(2, 1, 6, 6)), "t": np.array([2, 0])}
    report = gn.testing.check_grads(g, feeds, wrt=[w1, b1, w2], loss=loss)
    assert report.ok, str(report)


def test_squared_loss_is_a_composite() -> None:
    with gn.Graph() as g:
        o = gn.input("o", shape=(3,))
        t = gn.input("t", shape=(3,))
        L = gn.squared_loss(o, t)
    assert {n.op.name for n in g.nodes if not n.op.leaf} <= {"sub", "pow", "sum", "mul"}
    r = gn.run(g, {"o": [1.0, 2.0, 3.0], "t": [0.0, 0.0, 1.0]}, wrt=[o])
    assert float(r.value(L)) == 0.5 * (1 + 4 + 4)
    np.testing.assert_allclose(r.grad(o), [1.0, 2.0, 2.0])


def test_losses_are_single_labelled_nodes() -> None:
    with gn.Graph() as g:
        p = gn.input("p", shape=(4,))
        y = gn.input("y", shape=(4,))
        z = gn.input("z", shape=(4, 3))
        k = gn.input("k", shape=(4,), dtype="int64")
        outs = [gn.mse_loss(p, y), gn.l1_loss(p, y), gn.bce_loss(p, y), gn.bce_with_logits(p, y),
                gn.cross_entropy(z, k), gn.cross_entropy(z, gn.one_hot(k, 3))]
    assert [o.op.display for o in outs] == ["MSE", "L1", "BCE", "BCE logits", "CE", "CE"]
    assert all(o.shape == () for o in outs)
    assert gn.cross_entropy(z, k, reduction="none").shape == (4,)
    assert gn.mse_loss(p, y, reduction="none").shape == (4,)
    feeds = {"p": np.full(4, 0.5), "y": np.ones(4), "z": np.zeros((4, 3)), "k": [0, 1, 2, 0]}
    r = gn.run(g, feeds, outputs=outs[4:], wrt=[z], loss=outs[4])
    np.testing.assert_allclose(r.value(outs[4]), np.log(3.0))
    with pytest.raises(gn.GradError, match="floating point only"):  # class indices: none
        gn.run(g, feeds, outputs=outs[4:], wrt=[z, k], loss=outs[4])


# -- numerical robustness -------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_at_logits_1000(dtype: str) -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], dtype=dtype)
    with gn.Graph() as g:
        zi = gn.input("z", shape=(2, 3), dtype=dtype)
        ti = gn.input("t", shape=(2,), dtype="int64")
        L = gn.cross_entropy(zi, ti, reduction="sum")
        Ls = gn.cross_entropy(zi, gn.const(np.eye(3, dtype=dtype)[[1, 2]]), reduction="sum")
    r = gn.run(g, {"z": z, "t": [1, 2]}, outputs=[L, Ls], wrt=[zi], loss=L)
    # exact: row 0 is 2000 + log(1 + e^-1000 + e^-2000); row 1 is log(1 + e) + 1 - 0
    expect = 2000.0 + np.log1p(np.exp(1.0))
    assert r.value(L).dtype == np.dtype(dtype)
    assert np.isfinite(r.value(L)) and np.isclose(r.value(L), expect, rtol=1e-6)
    assert np.isclose(r.value(Ls), expect, rtol=1e-6)
    sm = np.exp(z.astype(np.float64) - z.max(axis=1, keepdims=True))
    sm /= sm.sum(axis=1, keepdims=True)
    analytic = sm - np.eye(3)[[1, 2]]
    assert np.all(np.isfinite(r.grad(zi)))
    np.testing.assert_allclose(r.grad(zi), analytic, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_at_1000(dtype: str) -> None:
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0], dtype=dtype)
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0], dtype=dtype)
    with gn.Graph() as g:
        zi = gn.input("z", shape=(5,), dtype=dtype)
        yi = gn.input("y", shape=(5,), dtype=dtype)
        L = gn.bce_with_logits(zi, yi, reduction="none")
        S = gn.bce_with_logits(zi, yi)
    r = gn.run(g, {"z": z, "y": y}, outputs=[L, S], wrt=[zi, yi], loss=S)
    np.testing.assert_allclose(r.value(L), [1000, 0, 0, 1000, np.log(2)], rtol=1e-6)
    assert r.value(S).dtype == np.dtype(dtype)
    np.testing.assert_allclose(r.grad(zi), np.array([1, 0, 0, -1, -0.5]) / 5, atol=1e-7)
    np.testing.assert_allclose(r.grad(yi), -z / 5, rtol=1e-6)
    assert np.all(np.isfinite(r.grad(zi))) and np.all(np.isfinite(r.grad(yi)))


def test_bce_loss_clamps_logs_at_minus_100() -> None:
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(gn.bce_loss(p, y, reduction="none"), [100, 100, 0, 0])
    with gn.Graph() as g:
        pi = gn.input("p", shape=(4,))
        L = gn.bce_loss(pi, gn.const(y), reduction="sum")
    r = gn.run(g, {"p": p}, wrt=[pi], loss=L)
    assert np.all(np.isfinite(r.grad(pi)))


# -- errors name the op, the shapes and the user's file:line ------------------------------


@contextmanager
def _raises(kind: type, *needles: str) -> Iterator[None]:
    """pytest.raises(kind), and the message names each needle and this file's file:line."""
    with pytest.raises(kind) as info:
        yield
    msg = str(info.value)
    for s in needles:
        assert s in msg, f"{s!r} not in:\n{msg}"
    assert re.search(HERE + r":\d+", msg), msg


def test_conv_errors() -> None:
    with gn.Graph():
        x = gn.input("x", shape=(1, 3, 8, 8))
        w = gn.param("w", np.zeros((6, 3, 5, 5)))
        small = gn.input("small", shape=(1, 3, 3, 3))
        with _raises(gn.ParamError, "conv2d", "stride must be positive", "(1, 3, 8, 8)"):
            gn.conv2d(x, w, stride=0)
        with _raises(gn.ParamError, "conv2d", "padding must be non-negative"):
            gn.conv2d(x, w, padding=-1)
        with _raises(gn.ParamError, "dilation must be positive"):
            gn.conv2d(x, w, dilation=(1, 0))
        with _raises(gn.ParamError, "kernel 5x5 larger than padded input 3x3", "'small'"):
            gn.conv2d(small, w)
        with _raises(gn.ParamError, "kernel 5x5 (dilated to 9x9) larger than padded input 8x8"):
            gn.conv2d(x, w, dilation=2)
        with _raises(gn.ShapeError, "input has 4 channels but weight expects 3", "(1, 4, 8, 8)"):
            gn.conv2d(gn.input("x4", shape=(1, 4, 8, 8)), w)
        with _raises(gn.ParamError, "groups=2 does not divide the 3 input channels"):
            gn.conv2d(x, w, groups=2)
        with _raises(gn.ParamError, "groups must be a positive int, got 1.5"):
            gn.conv2d(x, w, groups=1.5)
        assert gn.conv2d(x, w, stride=np.int64(2), groups=np.int64(1)).shape == (1, 6, 2, 2)
        with _raises(gn.ShapeError, "bias must have shape (6,)"):
            gn.conv2d(x, w, gn.param("b", np.zeros(5)))
        with _raises(gn.ShapeError, "input must be 4-D"):
            gn.conv2d(gn.input("v", shape=(3, 8, 8)), w)


def test_pool_errors() -> None:
    with gn.Graph():
        x = gn.input("x", shape=(1, 2, 3, 3))
        with _raises(gn.ParamError, "max_pool2d", "kernel 4x4 larger than padded input 3x3"):
            gn.max_pool2d(x, 4)
        with _raises(gn.ParamError, "avg_pool2d", "more than half the kernel"):
            gn.avg_pool2d(x, 2, padding=2)
        with _raises(gn.ParamError, "stride must be positive"):
            gn.max_pool2d(x, 2, stride=0)


def test_loss_errors() -> None:
    with gn.Graph() as g:
        p = gn.input("p", shape=(4,))
        t = gn.input("t", shape=(4, 1))
        z = gn.input("z", shape=(4, 3))
        with _raises(gn.ShapeError, "mse_loss", "(4,) and target (4, 1)"):
            gn.mse_loss(p, t)
        with _raises(gn.ShapeError, "cross_entropy", "target (4, 1) fits neither"):
            gn.cross_entropy(z, t)
        with _raises(gn.ParamError, "class-index targets must be integers"):
            gn.cross_entropy(z, p)
        with _raises(gn.ParamError, "reduction must be one of"):
            gn.l1_loss(p, p, reduction="avg")
        bad = gn.cross_entropy(z, gn.input("k", shape=(4,), dtype="int64"))
    with pytest.raises(gn.GraphError, match="class index out of range"):
        gn.run(g, {"z": np.zeros((4, 3)), "k": [0, 1, 2, 3]}, outputs=[bad])


# -- codegen helper convention -----------------------------------------------------------

MINE = ["conv2d", "conv2d_grad_input", "conv2d_grad_weight", "max_pool2d", "max_pool2d_grad",
        "max_pool2d_select", "avg_pool2d", "avg_pool2d_grad", "mse_loss", "l1_loss",
        "bce_loss", "bce_with_logits", "cross_entropy", "one_hot"]


@pytest.mark.parametrize("name", MINE)
def test_templates_and_helpers_run_standalone(name: str) -> None:
    """Copy the helpers' source into a fresh namespace (as codegen does) and evaluate the
    template: it must reproduce the interpreter's forward."""
    op = gn.REGISTRY[name]
    helpers = op.helpers
    ns: dict = {"xp": np}
    src = "from __future__ import annotations\nfrom typing import Any\n\n" + "\n\n".join(
        inspect.getsource(h) for h in helpers)
    exec(compile(src, f"<helpers of {name}>", "exec"), ns)
    for h in helpers:
        assert list(inspect.signature(h).parameters)[0] == "xp", h.__name__
    for case in CASES[name]:
        names = [f"a{i}" for i in range(len(case.inputs))]
        code = op.numpy.format(*names, *["None"] * 4,
                               **{k: repr(v) for k, v in case.params.items()})
        got = eval(code, ns, dict(zip(names, case.inputs)))
        np.testing.assert_allclose(got, op.forward(np, *case.inputs, **case.params), rtol=1e-12)



# -- against PyTorch (when installed) ---------------------------------------------------


def _run_grads(build, arrays: list[np.ndarray], dtypes: list[str] | None = None):
    """Build out = build(*inputs) in a graph; value and grads of sum(out * v)."""
    dtypes = dtypes or ["float64"] * len(arrays)
    with gn.Graph() as g:
        ins = [gn.input(f"a{i}", shape=a.shape, dtype=d)
               for i, (a, d) in enumerate(zip(arrays, dtypes))]
        out = build(*ins)
        v = np.random.default_rng(11).normal(size=out.shape)
        loss = gn.sum(out * gn.const(v))
    wrt = [n for n, d in zip(ins, dtypes) if d.startswith("float")]
    r = gn.run(g, {f"a{i}": a for i, a in enumerate(arrays)}, wrt=wrt, loss=loss,
               outputs=[out])
    return r.value(out), [r.grad(n) for n in wrt], v


def _torch_grads(torch, fn, arrays: list[np.ndarray], v: np.ndarray, diff: list[bool]):
    ts = [torch.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    out = fn(*ts)
    (out * torch.tensor(v)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t, d in zip(ts, diff) if d]


def _compare(torch, build, tfn, arrays, dtypes=None, rtol=1e-10, atol=1e-12) -> None:
    val, grads, v = _run_grads(build, arrays, dtypes)
    diff = [d.startswith("float") for d in (dtypes or ["float64"] * len(arrays))]
    tval, tgrads = _torch_grads(torch, tfn, arrays, v, diff)
    np.testing.assert_allclose(val, tval, rtol=rtol, atol=atol)
    for k, (a, b) in enumerate(zip(grads, tgrads)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient {k}")


@pytest.mark.parametrize("s,p,d,groups,bias", [
    (1, 0, 1, 1, True), (2, 1, 1, 2, True), (1, 2, 2, 1, False), ((2, 1), (1, 0), (1, 2), 4, True),
])
def test_conv_against_torch(s, p, d, groups, bias) -> None:
    torch = pytest.importorskip("torch", reason="torch not installed (optional comparison)")
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=(2, 8, 9, 10)), rng.normal(size=(4, 8 // groups, 3, 2))]
    if bias:
        arrays.append(rng.normal(size=4))
    kw = {"stride": s, "padding": p, "dilation": d, "groups": groups}
    _compare(torch, lambda *a: gn.conv2d(*a, **kw), lambda *a: F.conv2d(*a, **kw), arrays)


@pytest.mark.parametrize("k,s,p,cip", [(2, None, 0, True), (3, 2, 1, True), (3, 1, 1, False),
                                       ((3, 2), (2, 1), (1, 1), False)])
def test_pool_against_torch(k, s, p, cip) -> None:
    torch = pytest.importorskip("torch", reason="torch not installed (optional comparison)")
    F = torch.nn.functional
    x = [np.random.default_rng(6).normal(size=(2, 3, 7, 8))]
    _compare(torch, lambda a: gn.max_pool2d(a, k, s, p), lambda a: F.max_pool2d(a, k, s, p), x)
    _compare(torch, lambda a: gn.avg_pool2d(a, k, s, p, count_include_pad=cip),
             lambda a: F.avg_pool2d(a, k, s, p, count_include_pad=cip), x)


def test_max_pool_ties_route_to_the_first_max_like_torch() -> None:
    torch = pytest.importorskip("torch", reason="torch not installed (optional comparison)")
    x = [np.array([[[[1.0, 3, 3, 0], [3, 2, 0, 3], [5, 5, 1, 1], [5, 5, 1, 1]]]])]
    _compare(torch, lambda a: gn.max_pool2d(a, 2, 1),
             lambda a: torch.nn.functional.max_pool2d(a, 2, 1), x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_against_torch(reduction: str) -> None:
    torch = pytest.importorskip("torch", reason="torch not installed (optional comparison)")
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    r = {"reduction": reduction}
    pair = [rng.normal(size=(3, 4)), rng.normal(size=(3, 4))]
    probs = [rng.uniform(0.05, 0.95, size=(3, 4)), rng.uniform(0, 1, size=(3, 4))]
    _compare(torch, lambda a, b: gn.mse_loss(a, b, **r), lambda a, b: F.mse_loss(a, b, **r), pair)
    _compare(torch, lambda a, b: gn.l1_loss(a, b, **r), lambda a, b: F.l1_loss(a, b, **r), pair)
    _compare(torch, lambda a, b: gn.bce_loss(a, b, **r),
             lambda a, b: F.binary_cross_entropy(a, b, **r), probs)
    _compare(torch, lambda a, b: gn.bce_with_logits(a, b, **r),
             lambda a, b: F.binary_cross_entropy_with_logits(a, b, **r),
             [pair[0] * 3, probs[1]])
    z = rng.normal(size=(5, 4)) * 3
    _compare(torch, lambda a, b: gn.cross_entropy(a, b, **r),
             lambda a, b: F.cross_entropy(a, b, **r), [z, np.array([0, 3, 1, 1, 2])],
             ["float64", "int64"])
    soft = rng.uniform(0.1, 1, size=(5, 4))
    _compare(torch, lambda a, b: gn.cross_entropy(a, b, **r),
             lambda a, b: F.cross_entropy(a, b, **r), [z, soft / soft.sum(1, keepdims=True)])


def test_bce_at_zero_and_one_like_torch() -> None:
    torch = pytest.importorskip("torch", reason="torch not installed (optional comparison)")
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    tp = torch.tensor(p, requires_grad=True)
    tl = torch.nn.functional.binary_cross_entropy(tp, torch.tensor(y), reduction="sum")
    tl.backward()
    with gn.Graph() as g:
        pi = gn.input("p", shape=(5,))
        L = gn.bce_loss(pi, gn.const(y), reduction="sum")
    r = gn.run(g, {"p": p}, wrt=[pi], loss=L)
    np.testing.assert_allclose(r.value(L), tl.item(), rtol=1e-12)
    # both divide by max(p (1 - p), 1e-12); torch's 1e-12 is a float32 constant
    np.testing.assert_allclose(r.grad(pi), tp.grad.numpy(), rtol=1e-8)
