"""Adaptive pooling and interpolate against PyTorch (float64 values, indices and gradients
on random shapes, second order), their build-time errors and size budgets, the nn layers,
and the ONNX round trip through onnxruntime. Skips with a reason without torch."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import graphnn as gn
from tests.test_shape_ops import _raises as raises_naming

torch = pytest.importorskip("torch", reason="PyTorch not installed (comparison tests)")
F = torch.nn.functional
HAS_ORT = importlib.util.find_spec("onnxruntime") is not None and \
    importlib.util.find_spec("onnx") is not None
R = np.random.default_rng(21)


def _check(fn_gn, fn_t, x, rtol=1e-10, grads=True):
    """Values (and gradients of sum(out * r)) of graphnn and torch; the compiled module
    agrees with the interpreter."""
    g = gn.Graph()
    with g:
        xi = gn.input("x", x.shape)
        y = fn_gn(xi)
        r = np.random.default_rng(0).normal(size=y.shape)
        loss = gn.sum(y * gn.const(r))
    res = gn.run(g, {"x": x}, outputs=[y], wrt=[xi], loss=loss)
    t = torch.tensor(x, requires_grad=True)
    ty = fn_t(t)
    (ty * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(res.value(y), ty.detach().numpy(), rtol=rtol, atol=1e-12)
    if grads:
        np.testing.assert_allclose(res.grad(xi), t.grad.numpy(), rtol=rtol, atol=1e-12)
    f = gn.compile(g, outputs=[y])
    np.testing.assert_allclose(f({"x": x}).value(y), res.value(y), rtol=1e-12, atol=1e-12)


# -- adaptive pooling ---------------------------------------------------------------------

ADAPTIVE = [(nd, tuple(int(v) for v in R.integers(1, 9, size=nd)),
             tuple(int(v) if v or nd == 1 else None for v in R.integers(0 if nd > 1 else 1,
                                                                            10, size=nd)),
             k % 2 == 0)
            for nd in (1, 2, 3) for k in range(6)]


@pytest.mark.parametrize("nd,sp,out,ties", ADAPTIVE)
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool_matches_torch(kind, nd, sp, out, ties) -> None:
    x = R.normal(size=(2, 3) + sp)
    if ties:
        x = np.round(x)  # many ties: the gradient goes to the first maximum
    name = f"adaptive_{kind}_pool{nd}d"
    _check(lambda a: getattr(gn, name)(a, out), lambda a: getattr(F, name)(a, out), x)
    if kind == "max":
        got = getattr(gn, name)(x, out, return_indices=True)[1]
        want = getattr(F, name)(torch.tensor(x), out, return_indices=True)[1].numpy()
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.int64


def test_adaptive_output_larger_than_input_and_int_output_size() -> None:
    x = R.normal(size=(1, 2, 3, 2))
    _check(lambda a: gn.adaptive_max_pool2d(a, 5), lambda a: F.adaptive_max_pool2d(a, 5), x)
    _check(lambda a: gn.adaptive_avg_pool2d(a, (7, None)),
           lambda a: F.adaptive_avg_pool2d(a, (7, None)), x)


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pools_take_unbatched_inputs(kind) -> None:
    x = R.normal(size=(3, 5, 7))
    name = f"adaptive_{kind}_pool2d"
    _check(lambda a: getattr(gn, name)(a, (2, 4)), lambda a: getattr(F, name)(a, (2, 4)), x)
    if kind == "max":
        with gn.Graph():
            v, i = gn.adaptive_max_pool2d(gn.input("x", (3, 5, 7)), 2, True)
        assert v.shape == i.shape == (3, 2, 2)


def test_adaptive_max_nan_and_minus_inf_windows_like_torch() -> None:
    x = np.array([np.nan, 1.0, np.nan, -np.inf, -np.inf, 2.0, np.nan, -np.inf])[None, None]
    for out in (1, 2, 3, 5, 11):
        _check(lambda a: gn.adaptive_max_pool1d(a, out),
               lambda a: F.adaptive_max_pool1d(a, out), x)
        np.testing.assert_array_equal(
            gn.adaptive_max_pool1d(x, out, True)[1],
            F.adaptive_max_pool1d(torch.tensor(x), out, True)[1].numpy())


# -- interpolate --------------------------------------------------------------------------

MODES = {1: ["nearest", "nearest-exact", "linear"],
         2: ["nearest", "nearest-exact", "bilinear", "bicubic"],
         3: ["nearest", "nearest-exact", "trilinear"]}
SCALES = [0.5, 0.7, 1.0, 1.25, 1.5, 2.0, 2.3, 3.0, 1.3333]


def _interp_cases():
    rng = np.random.default_rng(3)
    out = []
    for nd, modes in MODES.items():
        for mode in modes:
            for k in range(8):
                sp = tuple(int(v) for v in rng.integers(1, 8, size=nd))
                ac = None if "nearest" in mode else bool(k % 2)
                if k < 4:
                    kw = {"size": tuple(int(v) for v in rng.integers(1, 12, size=nd))}
                else:
                    sf = tuple(float(v) for v in rng.choice(SCALES, size=nd))
                    if any(np.floor(s * f) < 1 for s, f in zip(sp, sf)):
                        sf = tuple(max(f, 1.0) for f in sf)
                    kw = {"scale_factor": sf}
                    if k == 7:
                        kw["recompute_scale_factor"] = True
                out.append((mode, sp, kw, ac))
    return out


def _torch_nearest_backward_differs(mode, sp, kw) -> bool:
    """PyTorch's nearest backward takes its out == in / out == 2 in shortcuts for 3-D and
    5-D inputs whose forward does not (see graphnn/ops/interp.py)."""
    sf = kw.get("scale_factor")
    if mode != "nearest" or len(sp) == 2 or sf is None or kw.get("recompute_scale_factor"):
        return False
    return any(int(np.floor(n * s)) in (n, 2 * n) and s not in (1.0, 2.0)
               for n, s in zip(sp, sf))


@pytest.mark.parametrize("mode,sp,kw,ac", _interp_cases())
def test_interpolate_matches_torch(mode, sp, kw, ac) -> None:
    x = R.normal(size=(2, 3) + sp)
    _check(lambda a: gn.interpolate(a, mode=mode, align_corners=ac, **kw),
           lambda a: F.interpolate(a, mode=mode, align_corners=ac, **kw), x,
           grads=not _torch_nearest_backward_differs(mode, sp, kw))


def test_nearest_gradient_is_the_derivative_where_torch_shortcuts() -> None:
    """On 2 pixels, scale 1.3333 keeps 2 outputs that both read pixel 0 (graphnn and
    PyTorch agree); the gradient therefore all goes to pixel 0 (PyTorch's backward
    sends one half to pixel 1)."""
    x = np.array([[[1.0, 5.0]]])
    assert gn.interpolate(x, scale_factor=1.3333).tolist() == [[[1.0, 1.0]]]
    with gn.Graph() as g:
        xi = gn.input("x", (1, 1, 2))
        y = gn.interpolate(xi, scale_factor=1.3333)
        loss = gn.sum(y * gn.const(np.array([[[1.0, 2.0]]])))
    r = gn.run(g, {"x": x}, wrt=[xi], loss=loss)
    assert r.grad(xi).tolist() == [[[3.0, 0.0]]]


@pytest.mark.parametrize("shape,kw", [((2, 3, 7), {"size": 3}), ((1, 2, 5, 7), {"size": (3, 9)}),
                                      ((1, 2, 4, 5, 6), {"scale_factor": 0.6})])
def test_area_mode_is_adaptive_average_pooling(shape, kw) -> None:
    x = R.normal(size=shape)
    _check(lambda a: gn.interpolate(a, mode="area", **kw),
           lambda a: F.interpolate(a, mode="area", **kw), x)


@pytest.mark.filterwarnings("ignore::UserWarning")  # F.upsample_* are deprecated
def test_upsample_functions_match_torch() -> None:
    x = R.normal(size=(1, 2, 3, 4))
    _check(lambda a: gn.upsample_bilinear(a, scale_factor=2),
           lambda a: F.upsample_bilinear(a, scale_factor=2), x)
    _check(lambda a: gn.upsample_nearest(a, size=(5, 9)),
           lambda a: F.upsample_nearest(a, size=(5, 9)), x)


def test_upsample_float32_and_inf_values() -> None:
    x = R.normal(size=(1, 2, 3, 4)).astype(np.float32)
    got = gn.upsample(x, scale_factor=(2, 1.5), mode="bilinear")
    want = F.interpolate(torch.tensor(x), scale_factor=(2, 1.5), mode="bilinear").numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    y = np.array([[[1.0, np.inf, 2.0]]])
    with np.errstate(invalid="ignore"):  # 0 * inf = NaN next to the inf, as PyTorch
        got = gn.interpolate(y, size=5, mode="linear")
    np.testing.assert_array_equal(got,
                                  F.interpolate(torch.tensor(y), size=5, mode="linear").numpy())


@pytest.mark.parametrize("build,tbuild,shape", [
    (lambda a: gn.interpolate(a, scale_factor=(1.5, 2), mode="bilinear"),
     lambda a: F.interpolate(a, scale_factor=(1.5, 2), mode="bilinear"), (1, 2, 3, 4)),
    (lambda a: gn.interpolate(a, size=7, mode="linear", align_corners=True),
     lambda a: F.interpolate(a, size=7, mode="linear", align_corners=True), (2, 2, 4)),
    (lambda a: gn.adaptive_avg_pool2d(a, (2, 3)), lambda a: F.adaptive_avg_pool2d(a, (2, 3)),
     (1, 2, 5, 7)),
    (lambda a: gn.interpolate(a, size=(5, 4), mode="bicubic"),
     lambda a: F.interpolate(a, size=(5, 4), mode="bicubic"), (1, 2, 3, 3)),
    (lambda a: gn.adaptive_max_pool1d(a, 3), lambda a: F.adaptive_max_pool1d(a, 3), (2, 2, 7)),
])
def test_second_order_matches_torch(build, tbuild, shape) -> None:
    """Hessian-vector product of sum(sin(op(x)) * r): the gradient ops differentiate."""
    x = R.normal(size=shape)
    with gn.Graph() as g:
        xi = gn.input("x", shape)
        y = build(xi)
        rv = np.random.default_rng(1).normal(size=y.shape)
        (gx,) = gn.grad(gn.sum(gn.sin(y) * gn.const(rv)), [xi])
        v = np.random.default_rng(2).normal(size=shape)
        (hv,) = gn.grad(gn.sum(gx * gn.const(v)), [xi])
    got = gn.run(g, {"x": x}, outputs=[hv]).value(hv)
    t = torch.tensor(x, requires_grad=True)
    ty = tbuild(t)
    (tg,) = torch.autograd.grad((torch.sin(ty) * torch.tensor(rv)).sum(), t,
                                create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), t)
    np.testing.assert_allclose(got, th.numpy(), rtol=1e-9, atol=1e-12)


# -- errors and budgets -------------------------------------------------------------------

@pytest.mark.parametrize("build,words", [
    (lambda: gn.adaptive_avg_pool2d(gn.input("x", (2, 5)), 2), ["adaptive_avg_pool2d",
                                                                "4-D", "(2, 5)"]),
    (lambda: gn.adaptive_max_pool1d(gn.input("x", (1, 2, 5)), (2, 2)),
     ["output_size must have 1 entries", "(2, 2)"]),
    (lambda: gn.adaptive_max_pool2d(gn.input("x", (1, 2, 5, 5)), 0), ["positive"]),
    (lambda: gn.adaptive_avg_pool1d(gn.input("x", (1, 2, 0)), 2), ["empty", "(1, 2, 0)"]),
    (lambda: gn.interpolate(gn.input("x", (1, 2, 5)), size=4, mode="bilinear"),
     ["bilinear", "4-D", "(1, 2, 5)"]),
    (lambda: gn.interpolate(gn.input("x", (1, 2, 5)), size=4, scale_factor=2),
     ["exactly one of size or scale_factor"]),
    (lambda: gn.interpolate(gn.input("x", (1, 2, 5)), size=4, mode="linear", antialias=True),
     ["antialias", "(1, 2, 5)"]),
    (lambda: gn.interpolate(gn.input("x", (1, 2, 5)), size=4, align_corners=True),
     ["align_corners", "nearest"]),
    (lambda: gn.interpolate(gn.input("x", (1, 2, 5, 5)), size=(4, 4, 4)),
     ["size must have 2 entries", "4-D", "(1, 2, 5, 5)"]),
    (lambda: gn.interpolate(gn.input("x", (1, 2, 5)), scale_factor=0.1),
     ["empty output", "(5,)"]),
    (lambda: gn.interpolate(gn.input("x", (1, 2, 5)), size=4, mode="lanczos"),
     ["mode must be one of", "lanczos", "(1, 2, 5)"]),
    (lambda: gn.interpolate(gn.input("x", (1, 2, 5, 5)), size=(10**6, 10**6)),
     ["interpolate", "GRAPHNN_MAX_BYTES", "(1, 2, 1000000, 1000000)"]),
    (lambda: gn.adaptive_max_pool2d(gn.input("x", (1, 2, 10**5, 10**5)), 2),
     ["adaptive_max_pool2d", "GRAPHNN_MAX_BYTES"]),
])
def test_bad_arguments_fail_at_build_time_naming_shapes(build, words) -> None:
    with gn.Graph():
        raises_naming(build, *words)


def test_adaptive_max_budget_counts_the_gathered_windows(monkeypatch) -> None:
    """The output is small but the windows gathered to find the maxima are not."""
    monkeypatch.setenv("GRAPHNN_MAX_BYTES", "1M")
    with gn.Graph():
        x = gn.input("x", (1, 1, 300, 300))
        gn.adaptive_avg_pool2d(x, 149)  # 180 kB output: fine
        with pytest.raises(gn.GraphError, match="GRAPHNN_MAX_BYTES"):
            gn.adaptive_max_pool2d(x, 149)  # windows of up to 4 x 4: 2.8 MB


# -- nn layers ----------------------------------------------------------------------------

@pytest.mark.parametrize("make,tmake,shape", [
    (lambda: gn.nn.AdaptiveAvgPool2d((3, None)), lambda: torch.nn.AdaptiveAvgPool2d((3, None)),
     (2, 3, 7, 5)),
    (lambda: gn.nn.AdaptiveMaxPool2d(4), lambda: torch.nn.AdaptiveMaxPool2d(4), (2, 3, 7, 5)),
    (lambda: gn.nn.AdaptiveAvgPool1d(3), lambda: torch.nn.AdaptiveAvgPool1d(3), (2, 3, 7)),
    (lambda: gn.nn.AdaptiveMaxPool3d(2), lambda: torch.nn.AdaptiveMaxPool3d(2), (1, 2, 3, 5, 4)),
    (lambda: gn.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
     lambda: torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
     (1, 2, 3, 4)),
    (lambda: gn.nn.Upsample(size=(5, 7)), lambda: torch.nn.Upsample(size=(5, 7)), (1, 2, 3, 4)),
    (lambda: gn.nn.UpsamplingBilinear2d(scale_factor=2.5),
     lambda: torch.nn.UpsamplingBilinear2d(scale_factor=2.5), (1, 2, 3, 4)),
    (lambda: gn.nn.UpsamplingNearest2d(size=(7, 5)),
     lambda: torch.nn.UpsamplingNearest2d(size=(7, 5)), (1, 2, 3, 4)),
])
def test_layers_match_torch_modules(make, tmake, shape) -> None:
    g = gn.Graph()
    with g:
        x = gn.input("x", shape)
        y = make()(x)
    xv = R.normal(size=shape)
    np.testing.assert_allclose(gn.run(g, {"x": xv}).value(y),
                               tmake()(torch.tensor(xv)).numpy(), rtol=1e-12, atol=1e-12)


def test_layers_in_a_sequential_and_indices() -> None:
    m = gn.nn.Sequential(gn.nn.Upsample(scale_factor=2), gn.nn.AdaptiveAvgPool2d(1),
                         gn.nn.Flatten())
    with gn.Graph():
        assert m(gn.input("x", (2, 3, 4, 4))).shape == (2, 3)
        v, i = gn.nn.AdaptiveMaxPool2d(2, return_indices=True)(gn.input("y", (1, 1, 5, 5)))
        assert i.dtype == np.int64 and v.shape == i.shape == (1, 1, 2, 2)


# -- ONNX ---------------------------------------------------------------------------------

def _ort(model, feeds):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def _roundtrip(build, shape, imports=True):
    """Export (float32 when onnxruntime lacks the float64 kernel), run in onnxruntime,
    compare; import the float64 model back and compare exactly."""
    x = R.normal(size=shape)
    with gn.Graph() as g:
        y = build(gn.input("x", shape)).named("out")
    want = gn.run(g, {"x": x}).value(y)
    model = gn.to_onnx(g, outputs=[y])
    try:
        got, tol = _ort(model, {"x": x}), 1e-12
    except Exception as e:
        if "NOT_IMPLEMENTED" not in str(e):
            raise
        with gn.Graph() as g32:  # onnxruntime lacks this float64 kernel: float32
            y32 = build(gn.input("x", shape, dtype="float32")).named("out")
        got, tol = _ort(gn.to_onnx(g32, outputs=[y32]), {"x": x.astype(np.float32)}), 1e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    if imports:
        back = gn.from_onnx(model)
        np.testing.assert_allclose(gn.run(back, {"x": x}).value("out"), want, rtol=1e-12,
                                   atol=1e-12)
    return model


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime")
@pytest.mark.parametrize("build,shape", [
    (lambda a: gn.interpolate(a, size=(5, 7)), (1, 2, 3, 4)),
    (lambda a: gn.interpolate(a, scale_factor=2.0), (2, 3, 5)),
    (lambda a: gn.interpolate(a, scale_factor=(1.5, 0.5)), (1, 2, 4, 6)),
    (lambda a: gn.interpolate(a, size=(3, 7), mode="nearest-exact"), (1, 2, 5, 4)),
    (lambda a: gn.interpolate(a, size=9, mode="linear"), (2, 2, 4)),
    (lambda a: gn.interpolate(a, size=9, mode="linear", align_corners=True), (2, 2, 4)),
    (lambda a: gn.interpolate(a, scale_factor=1.5, mode="bilinear"), (1, 2, 4, 6)),
    (lambda a: gn.interpolate(a, size=(2, 3), mode="bilinear"), (1, 2, 5, 7)),
    (lambda a: gn.interpolate(a, size=(4, 6), mode="bilinear", align_corners=True),
     (1, 2, 3, 3)),
    (lambda a: gn.interpolate(a, size=(3, 4, 5), mode="trilinear"), (1, 1, 2, 3, 2)),
    (lambda a: gn.interpolate(a, size=(5, 7), mode="bicubic"), (1, 2, 3, 4)),
    (lambda a: gn.interpolate(a, scale_factor=0.5, mode="bicubic"), (1, 2, 6, 4)),
    (lambda a: gn.interpolate(a, size=(5, 7), mode="bicubic", align_corners=True),
     (1, 2, 3, 4)),
    (lambda a: gn.interpolate(a, scale_factor=2.0, mode="nearest"), (1, 1, 2, 3, 2)),
])
def test_interpolate_exports_as_resize_and_imports_back(build, shape) -> None:
    model = _roundtrip(build, shape)
    assert [n.op_type for n in model.graph.node].count("Resize") == 1


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime")
@pytest.mark.parametrize("build,shape,op_type", [
    (lambda a: gn.adaptive_avg_pool2d(a, 1), (2, 3, 5, 7), "GlobalAveragePool"),
    (lambda a: gn.adaptive_max_pool2d(a, 1), (2, 3, 5, 7), "GlobalMaxPool"),
    (lambda a: gn.adaptive_avg_pool2d(a, (2, 3)), (2, 3, 4, 6), "AveragePool"),
    (lambda a: gn.adaptive_max_pool1d(a, 4), (2, 3, 8), "MaxPool"),
    (lambda a: gn.adaptive_avg_pool2d(a, (3, 4)), (2, 3, 5, 7), "ReduceMean"),
    (lambda a: gn.adaptive_max_pool3d(a, (2, 3, None)), (1, 2, 3, 5, 4), "ReduceMax"),
])
def test_adaptive_pools_export_to_onnx(build, shape, op_type) -> None:
    model = _roundtrip(build, shape, imports=False)
    assert op_type in {n.op_type for n in model.graph.node}


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime")
def test_resize_import_refuses_what_it_cannot_express() -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)
    scales = helper.make_tensor("s", TensorProto.FLOAT, [4], [1.0, 1.0, 2.0, 2.0])
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="cubic",
                            cubic_coeff_a=-0.5)
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], [scales]),
                              opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(gn.GraphError, match="cubic"):
        gn.from_onnx(model)


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx")
def test_onnx_backend_resize_cases_pass_or_skip_with_a_reason() -> None:
    """ONNX's own Resize node tests (scales / sizes given as static inputs): each imports
    and matches, or is refused with the importer's reason; none imports wrong."""
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    from graphnn.io.onnx_common import Unsupported

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = [c for c in collect_testcases(None)
                 if {n.op_type for n in c.model.graph.node} == {"Resize"}]
    passed = 0
    for case in cases:
        m = case.model
        names = [i.name for i in m.graph.input]
        for inputs, expected in case.data_sets:
            feeds = dict(zip(names, [np.asarray(v) for v in inputs]))
            static = {k: v for k, v in feeds.items() if k != names[0]}
            try:
                g = gn.from_onnx(m, static=static,
                                 input_shapes={names[0]: feeds[names[0]].shape})
            except Unsupported as e:
                assert len(str(e)) > 10
                continue
            got = gn.run(g, {names[0]: feeds[names[0]]}).value(m.graph.output[0].name)
            np.testing.assert_allclose(got, expected[0], rtol=1e-5, atol=1e-6,
                                       err_msg=case.name)
            passed += 1
    assert passed >= 3


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("mode,ac,size", [("bilinear", False, (5, 7)), ("bilinear", True, (5, 7)),
                                          ("nearest", None, (5, 7)), ("linear", False, (9,)),
                                          ("bicubic", False, (5, 7))])
def test_models_exported_by_torch_import(mode, ac, size) -> None:
    """torch.onnx's Resize (pytorch_half_pixel / align_corners / asymmetric) imports back to
    PyTorch's numbers."""
    import io

    shape = (1, 2) + (3,) * len(size)

    class M(torch.nn.Module):
        def forward(self, x):
            return F.interpolate(x, size=size, mode=mode, align_corners=ac)

    buf = io.BytesIO()
    x = R.normal(size=shape)
    try:
        torch.onnx.export(M(), (torch.tensor(x),), buf, input_names=["x"],
                          output_names=["y"], opset_version=18, dynamo=False)
    except Exception as e:  # exporter dependencies vary across torch versions
        pytest.skip(f"torch.onnx.export unavailable: {e}")
    import onnx

    g = gn.from_onnx(onnx.load_from_string(buf.getvalue()))
    np.testing.assert_allclose(gn.run(g, {"x": x}).value("y"),
                               M()(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-12)
