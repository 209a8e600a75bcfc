"""N-d convolution and pooling against PyTorch (float64 values and gradients on random
shapes with stride / padding / dilation / groups / ceil_mode combinations), plus the
ONNX export of the ceil_mode windows graphnn (as PyTorch) drops, and the build-time errors.
Skips with a reason without torch."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import graphnn as gn
from tests.test_shape_ops import _raises as raises_naming

torch = pytest.importorskip("torch", reason="PyTorch not installed (comparison tests)")
F = torch.nn.functional
HAS_ORT = importlib.util.find_spec("onnxruntime") is not None


def _check(fn_gn, fn_t, arrays, rtol=1e-10):
    """Values and gradients of sum(out * r) w.r.t. every float input, graphnn vs torch."""
    g = gn.Graph()
    with g:
        ins = [gn.input(f"x{i}", a.shape) for i, a in enumerate(arrays)]
        out = fn_gn(*ins)
        vals = out if isinstance(out, tuple) else (out,)
        r = np.random.default_rng(0).normal(size=vals[0].shape)
        loss = gn.sum(vals[0] * gn.const(r))
    res = gn.run(g, {f"x{i}": a for i, a in enumerate(arrays)}, outputs=list(vals),
                 wrt=ins, loss=loss)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = fn_t(*ts)
    touts = tout if isinstance(tout, tuple) else (tout,)
    (touts[0] * torch.tensor(r)).sum().backward()
    for v, t in zip(vals, touts):
        np.testing.assert_allclose(res.value(v), t.detach().numpy(), rtol=rtol, atol=1e-12)
    for x, t in zip(ins, ts):
        np.testing.assert_allclose(res.grad(x), t.grad.numpy(), rtol=rtol, atol=1e-12)
    # forward mode: the jvp of every op is checked against finite differences elsewhere;
    # here the compiled module agrees with the interpreter
    f = gn.compile(g, outputs=list(vals))
    np.testing.assert_allclose(f({f"x{i}": a for i, a in enumerate(arrays)}).value(vals[0]),
                               res.value(vals[0]), rtol=1e-12, atol=1e-12)


R = np.random.default_rng(7)
CONV = [  # nd, N, C_in, C_out, spatial, kernel, stride, padding, dilation, groups
    (1, 2, 4, 6, (11,), (3,), 2, 1, 2, 2),
    (1, 3, 3, 2, (7,), (2,), 1, 0, 1, 1),
    (2, 2, 4, 4, (7, 6), (3, 2), (2, 1), (1, 0), (1, 2), 4),
    (2, 1, 2, 6, (5, 5), (2, 2), 1, 1, 2, 2),
    (3, 2, 2, 4, (4, 5, 3), (2, 3, 2), (1, 2, 1), (1, 0, 1), (1, 1, 2), 2),
    (3, 1, 3, 2, (3, 3, 4), (1, 2, 2), 1, 0, 1, 1),
]


@pytest.mark.parametrize("nd,n,ci,co,sp,k,s,p,d,groups", CONV)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_matches_torch(nd, n, ci, co, sp, k, s, p, d, groups, bias) -> None:
    x, w, b = R.normal(size=(n, ci) + sp), R.normal(size=(co, ci // groups) + k), R.normal(
        size=co)
    gfn = getattr(gn, f"conv{nd}d")
    tfn = getattr(F, f"conv{nd}d")
    kw = {"stride": s, "padding": p, "dilation": d, "groups": groups}
    if bias:
        _check(lambda a, c, e: gfn(a, c, e, **kw), lambda a, c, e: tfn(a, c, e, **kw), [x, w, b])
    else:
        _check(lambda a, c: gfn(a, c, **kw), lambda a, c: tfn(a, c, **kw), [x, w])


TCONV = [  # nd, N, C_in, C_out, spatial, kernel, stride, padding, output_padding, groups, dil
    (1, 2, 4, 6, (5,), (3,), 2, 1, 1, 2, 1),
    (1, 1, 2, 3, (4,), (2,), 3, 0, 2, 1, 2),
    (2, 2, 4, 2, (3, 4), (3, 2), (2, 1), (1, 0), (1, 0), 2, (1, 2)),
    (2, 1, 3, 3, (4, 4), (3, 3), 2, 1, 1, 3, 1),
    (3, 1, 2, 2, (2, 3, 2), (2, 2, 3), (2, 1, 2), (0, 1, 1), (1, 0, 1), 1, 1),
]


@pytest.mark.parametrize("nd,n,ci,co,sp,k,s,p,op,groups,d", TCONV)
def test_conv_transpose_matches_torch(nd, n, ci, co, sp, k, s, p, op, groups, d) -> None:
    x, w, b = R.normal(size=(n, ci) + sp), R.normal(size=(ci, co // groups) + k), R.normal(
        size=co)
    gfn = getattr(gn, f"conv_transpose{nd}d")
    tfn = getattr(F, f"conv_transpose{nd}d")
    args = (s, p, op, groups, d)
    _check(lambda a, c, e: gfn(a, c, e, *args), lambda a, c, e: tfn(a, c, e, *args), [x, w, b])


POOL = [  # nd, spatial, kernel, stride, padding, dilation, ceil_mode
    (1, (9,), 3, 2, 1, 1, False),
    (1, (8,), 3, 2, 1, 2, True),
    (1, (10,), 4, 3, 2, 1, True),
    (2, (7, 6), (3, 2), (2, 1), (1, 1), (1, 2), True),
    (2, (6, 7), 3, 2, 1, 1, True),
    (2, (5, 5), 2, None, 0, 1, True),
    (3, (4, 5, 3), (2, 3, 2), (2, 1, 2), (1, 1, 0), (1, 1, 1), True),
    (3, (5, 4, 4), 2, 2, 0, (2, 1, 1), False),
]


@pytest.mark.parametrize("nd,sp,k,s,p,d,ceil", POOL)
def test_max_pool_values_indices_and_grads_match_torch(nd, sp, k, s, p, d, ceil) -> None:
    x = R.normal(size=(2, 3) + sp)
    x.flat[::5] = x.flat[1::5][: x.flat[::5].size]  # ties (the first maximum wins)
    gfn, tfn = getattr(gn, f"max_pool{nd}d"), getattr(F, f"max_pool{nd}d")
    args = (k, s, p, d, ceil, True)
    _check(lambda a: gfn(a, *args), lambda a: tfn(a, *args), [x])


AVG = [  # nd, spatial, kernel, stride, padding, ceil_mode, count_include_pad, divisor
    (1, (9,), 3, 2, 1, False, True, None),
    (1, (8,), 3, 2, 1, True, False, None),
    (1, (10,), 4, 3, 2, True, True, None),
    (2, (7, 6), (3, 2), (2, 1), (1, 1), True, True, None),
    (2, (6, 7), 3, 2, 1, True, False, None),
    (2, (6, 7), 3, 2, 1, True, True, 4),
    (2, (5, 5), 2, None, 1, False, False, 3),
    (3, (4, 5, 3), (2, 3, 2), (2, 1, 2), (1, 1, 0), True, True, None),
    (3, (5, 4, 4), 2, 2, 1, True, False, 7),
]


@pytest.mark.parametrize("nd,sp,k,s,p,ceil,cip,dv", AVG)
def test_avg_pool_matches_torch(nd, sp, k, s, p, ceil, cip, dv) -> None:
    x = R.normal(size=(2, 3) + sp)
    gfn, tfn = getattr(gn, f"avg_pool{nd}d"), getattr(F, f"avg_pool{nd}d")
    args = (k, s, p, ceil, cip) + ((dv,) if nd > 1 else ())
    _check(lambda a: gfn(a, *args), lambda a: tfn(a, *args), [x])


def test_max_pool_of_minus_inf_window_routes_to_first_real_input() -> None:
    """A window of -inf inputs (and -inf padding): PyTorch's index and gradient go to its
    first real input, never to the padding."""
    x = np.full((1, 1, 5), -np.inf)
    x[0, 0, 4] = 1.0
    _check(lambda a: gn.max_pool1d(a, 3, 2, 1, return_indices=True),
           lambda a: F.max_pool1d(a, 3, 2, 1, return_indices=True), [x])


@pytest.mark.skipif(not HAS_ORT, reason="needs onnxruntime")
@pytest.mark.parametrize("fn", [
    lambda x: gn.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: gn.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: gn.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: gn.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)[1],
    lambda x: gn.max_pool2d(x, 2, 1, 1, dilation=2, return_indices=True)[1],
    lambda x: gn.avg_pool2d(x, 2, 2, 1, divisor_override=3),
])
def test_onnx_export_of_pool_options_runs_in_onnxruntime(fn) -> None:
    import onnxruntime as ort

    x = R.normal(size=(2, 3, 6, 7)).astype(np.float32)
    g = gn.Graph()
    with g:
        out = fn(gn.input("x", x.shape, "float32")).named("out")
    model = gn.to_onnx(g, outputs=[out])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(["out"], {"x": x})[0]
    np.testing.assert_allclose(got, gn.run(g, {"x": x}).value(out), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("build,words", [
    (lambda: gn.conv1d(gn.input("x", (1, 2, 5)), np.ones((3, 2, 7))), ["conv1d", "larger"]),
    (lambda: gn.conv3d(gn.input("x", (1, 2, 5, 5)), np.ones((3, 2, 2, 2, 2))),
     ["conv3d", "5-D"]),
    (lambda: gn.conv1d(gn.input("x", (1, 4, 5)), np.ones((3, 2, 2)), groups=2),
     ["groups=2", "3 output channels"]),
    (lambda: gn.max_pool1d(gn.input("x", (1, 2, 5)), 2, padding=2), ["more than half"]),
    (lambda: gn.max_pool3d(gn.input("x", (1, 2, 5, 5, 5)), (2, 2)), ["kernel_size", "triple"]),
    (lambda: gn.avg_pool2d(gn.input("x", (1, 2, 5, 5)), 2, divisor_override=0),
     ["divisor_override"]),
    (lambda: gn.conv_transpose2d(gn.input("x", (1, 2, 5, 5)), np.ones((2, 1, 3, 3)),
                                 stride=2, output_padding=2), ["output_padding", "stride"]),
    (lambda: gn.conv2d(gn.input("x", (1, 1, 10**5, 10**5)), np.ones((1, 1, 1, 1))),
     ["conv2d", "GRAPHNN_MAX_BYTES"]),
])
def test_bad_arguments_fail_at_build_time_naming_op_and_numbers(build, words) -> None:
    with gn.Graph():
        raises_naming(build, *words)


@pytest.mark.parametrize("make,tmake,shape", [
    (lambda: gn.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2),
     lambda: torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (2, 4, 9)),
    (lambda: gn.nn.Conv3d(2, 4, (2, 3, 2), padding=1, groups=2),
     lambda: torch.nn.Conv3d(2, 4, (2, 3, 2), padding=1, groups=2), (1, 2, 3, 4, 3)),
    (lambda: gn.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2),
     lambda: torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1,
                                      groups=2), (2, 4, 3, 4)),
])
def test_conv_layers_match_torch_modules(make, tmake, shape) -> None:
    m, tm = make(), tmake().double()
    g = gn.Graph()
    with g:
        x = gn.input("x", shape)
        y = m(x)
    g.set_value(m.param(g, "weight"), tm.weight.detach().numpy().copy())
    g.set_value(m.param(g, "bias"), tm.bias.detach().numpy().copy())
    xv = R.normal(size=shape)
    np.testing.assert_allclose(gn.run(g, {"x": xv}).value(y),
                               tm(torch.tensor(xv)).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make,tmake,shape", [
    (lambda: gn.nn.MaxPool1d(3, 2, 1, 2, True), lambda: torch.nn.MaxPool1d(3, 2, 1, 2,
                                                                           ceil_mode=True),
     (2, 3, 9)),
    (lambda: gn.nn.MaxPool3d(2, 1), lambda: torch.nn.MaxPool3d(2, 1), (1, 2, 3, 4, 3)),
    (lambda: gn.nn.AvgPool1d(3, 2, 1, True, False),
     lambda: torch.nn.AvgPool1d(3, 2, 1, True, False), (2, 3, 8)),
    (lambda: gn.nn.AvgPool3d(2, 2, 1, True, True, 5),
     lambda: torch.nn.AvgPool3d(2, 2, 1, True, True, 5), (1, 2, 3, 4, 5)),
])
def test_pool_layers_match_torch_modules(make, tmake, shape) -> None:
    g = gn.Graph()
    with g:
        x = gn.input("x", shape)
        y = make()(x)
    xv = R.normal(size=shape)
    np.testing.assert_allclose(gn.run(g, {"x": xv}).value(y),
                               tmake()(torch.tensor(xv)).numpy(), rtol=1e-12, atol=1e-12)
