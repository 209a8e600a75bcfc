"""The reductions, scans and sorts of graphnn/ops/reduce.py against PyTorch (float64, random
shapes with broadcasting; values and gradients), their (values, indices) pairs, their
build-time errors, and the ONNX round trip of sort / topk."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

import graphnn as gn

RNG = np.random.default_rng(42)
INF = np.inf


def _run(fn: Any, shapes: list[tuple[int, ...]], values: list[np.ndarray]) -> tuple[Any, Any]:
    """graphnn's value of fn(x + y) (y broadcast into x) and gradients of sum(out * w)."""
    with gn.Graph() as g:
        xs = [gn.input(f"x{i}", shape=s) for i, s in enumerate(shapes)]
        out = fn(xs[0] + xs[1]) if len(xs) == 2 else fn(xs[0])
        w = RNG.normal(size=out.shape)
        loss = gn.sum(out * gn.const(w))
    r = gn.run(g, {f"x{i}": v for i, v in enumerate(values)}, outputs=[out], wrt=xs, loss=loss)
    return r.value(out), [r.grad(x) for x in xs], w


def _torch(torch: Any, tfn: Any, values: list[np.ndarray], w: np.ndarray) -> tuple[Any, Any]:
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out = tfn(ts[0] + ts[1]) if len(ts) == 2 else tfn(ts[0])
    grads = torch.autograd.grad((out * torch.tensor(w)).sum(), ts)
    return out.detach().numpy(), [gr.numpy() for gr in grads]


SHAPES = [((3, 4, 5), (4, 1)), ((2, 6), (6,)), ((5,), ())]
FUNCS = {
    "min": (lambda x: gn.min(x, dim=-1), lambda x: x.amin(-1)),
    "amax_keep": (lambda x: gn.amax(x, dim=0, keepdim=True), lambda x: x.amax(0, keepdim=True)),
    "prod": (lambda x: gn.prod(x, dim=-1), lambda x: x.prod(-1)),
    "prod_all": (lambda x: gn.prod(x), lambda x: x.prod()),
    "logsumexp": (lambda x: gn.logsumexp(x, dim=-1), lambda x: x.logsumexp(-1)),
    "var": (lambda x: gn.var(x, dim=-1), lambda x: x.var(-1)),
    "var_c0_all": (lambda x: gn.var(x, correction=0), lambda x: x.var(correction=0)),
    "std": (lambda x: gn.std(x, dim=0, keepdim=True), lambda x: x.std(0, keepdim=True)),
    "norm2": (lambda x: gn.norm(x, dim=-1), lambda x: x.norm(dim=-1)),
    "norm1": (lambda x: gn.norm(x, p=1), lambda x: x.norm(p=1)),
    "norminf": (lambda x: gn.norm(x, p=np.inf, dim=-1), lambda x: x.norm(p=INF, dim=-1)),
    "cumsum": (lambda x: gn.cumsum(x, -1), lambda x: x.cumsum(-1)),
    "cumprod": (lambda x: gn.cumprod(x, 0), lambda x: x.cumprod(0)),
    "sort": (lambda x: gn.sort(x, dim=-1, descending=True).values,
             lambda x: x.sort(-1, descending=True).values),
    "topk": (lambda x: gn.topk(x, 2, dim=-1).values, lambda x: x.topk(2, -1).values),
    "topk_small": (lambda x: gn.topk(x, 1, dim=0, largest=False).values,
                   lambda x: x.topk(1, 0, largest=False).values),
    "cummax": (lambda x: gn.cummax(x, -1).values, lambda x: x.cummax(-1).values),
    "cummin": (lambda x: gn.cummin(x, 0).values, lambda x: x.cummin(0).values),
}


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_values_and_gradients_match_torch(name: str, shapes: Any) -> None:
    torch = pytest.importorskip("torch", reason="the PyTorch comparison needs torch")
    fn, tfn = FUNCS[name]
    values = [RNG.uniform(-2, 2, size=s) for s in shapes]
    try:
        v, grads, w = _run(fn, list(shapes), values)
    except gn.GraphError:
        with pytest.raises(Exception):  # noqa: B017 - torch must reject it as well
            tfn(torch.tensor(values[0] + values[1], dtype=torch.float64))
        return
    tv, tgrads = _torch(torch, tfn, values, w)
    np.testing.assert_allclose(v, tv, rtol=1e-12, atol=1e-14, err_msg=name)
    for g, tg in zip(grads, tgrads):
        np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("x", [np.array([3.0, 1.0, 3.0, 2.0, 1.0]),
                               np.array([[1.0, np.nan, 0.0], [2.0, 2.0, -1.0]])], ids=str)
def test_indices_match_torch(x: np.ndarray) -> None:
    torch = pytest.importorskip("torch", reason="the PyTorch comparison needs torch")
    t = torch.tensor(x, dtype=torch.float64)
    for fn, tfn in [(lambda a: gn.cummax(a, -1), lambda a: a.cummax(-1)),
                    (lambda a: gn.cummin(a, -1), lambda a: a.cummin(-1)),
                    (lambda a: gn.sort(a, -1, True),
                     lambda a: a.sort(dim=-1, descending=True, stable=True)),
                    (lambda a: gn.sort(a), lambda a: a.sort(stable=True))]:
        v, i = fn(x)
        tv, ti = tfn(t)
        np.testing.assert_array_equal(i, ti.numpy())
        np.testing.assert_allclose(v, tv.numpy(), equal_nan=True)
    assert gn.argmax(x).dtype == np.int64 and int(gn.argmax(x)) == int(torch.argmax(t))


def test_gradients_at_ties_go_where_torch_sends_them() -> None:
    """amax/min share ties evenly; sort/topk/cummax send each gradient to its own index."""
    x = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    with gn.Graph() as g:
        a = gn.input("a", shape=(5,))
        outs = {"amax": gn.amax(a), "min": gn.min(-a), "cummax": gn.sum(gn.cummax(a, 0).values),
                "topk": gn.sum(gn.topk(a, 2).values),
                "sort": gn.sum(gn.sort(a).values * gn.const(np.arange(1.0, 6.0)))}
    want = {"amax": [0, 1 / 3, 1 / 3, 0, 1 / 3], "min": [0, -1 / 3, -1 / 3, 0, -1 / 3],
            "cummax": [1, 1, 2, 0, 1], "topk": [0, 1, 1, 0, 0], "sort": [1, 3, 4, 2, 5]}
    for k, out in outs.items():
        r = gn.run(g, {"a": x}, wrt=[a], loss=out)
        np.testing.assert_allclose(r.grad(a), want[k], err_msg=k)


def test_prod_and_cumprod_gradients_with_zeros_are_finite_differences_of_the_pieces() -> None:
    """One zero: the gradient at it is the product of the others; two zeros: all 0."""
    for x, want in [(np.array([2.0, 0.0, 3.0]), [0.0, 6.0, 0.0]),
                    (np.array([2.0, 0.0, 3.0, 0.0]), [0.0, 0.0, 0.0, 0.0])]:
        with gn.Graph() as g:
            a = gn.input("a", shape=x.shape)
            p = gn.prod(a)
        np.testing.assert_array_equal(gn.run(g, {"a": x}, wrt=[a], loss=p).grad(a), want)
    x = np.array([2.0, 0.0, 3.0, 4.0])
    with gn.Graph() as g:
        a = gn.input("a", shape=(4,))
        c = gn.sum(gn.cumprod(a, 0))
    # d/dx1 of 2 + 2 x1 + 2 x1 x2 + 2 x1 x2 x3 at x1 = 0: 2 + 2*3 + 2*3*4
    got = gn.run(g, {"a": x}, wrt=[a], loss=c).grad(a)
    np.testing.assert_allclose(got, [1.0, 2 + 2 * 3 + 2 * 3 * 4, 0.0, 0.0])


@pytest.mark.parametrize("build,match", [
    (lambda x: gn.min(gn.input("e", shape=(2, 0)), dim=1), "min over axis 1 of length 0"),
    (lambda x: gn.argmax(x, dim=(0, 1)), "one dim"),
    (lambda x: gn.topk(x, 7, dim=1), "k must be an int in"),
    (lambda x: gn.norm(x, p=3), "p must be 1, 2, inf"),
    (lambda x: gn.norm(x, p="nuc"), "p must be 1, 2, inf"),
    (lambda x: gn.cumsum(x), "missing the dim"),
    (lambda x: gn.var(x, dim=5), "out of range"),
    (lambda x: gn.take_along_dim(x, gn.argsort(gn.sum(x, dim=0)), 1), "do not fit"),
    (lambda x: gn.sum(x, dim=0, axis=1), "not both"),
], ids=["min-empty", "argmax-tuple", "topk-k", "norm-p", "norm-nuc", "cumsum-dim", "var-dim",
        "take-shape", "dim-and-axis"])
def test_bad_arguments_fail_at_build_time_with_a_clear_error(build: Any, match: str) -> None:
    with gn.Graph():
        x = gn.input("x", shape=(2, 6))
        with pytest.raises((gn.GraphError, TypeError, ValueError), match=match):
            build(x)


def test_empty_and_0d_reductions_as_torch() -> None:
    e = np.zeros((2, 0))
    assert gn.prod(e).item() == 1.0 and gn.logsumexp(e, dim=1).tolist() == [-INF, -INF]
    assert np.isnan(gn.var(np.zeros(0))) and not gn.any(e) and gn.all(e)
    with pytest.raises(ValueError, match="empty"):
        gn.min(e, dim=1)
    with pytest.raises(ValueError, match="empty"):
        gn.argmax(e)
    s = np.array(2.5)
    assert gn.cumsum(s, 0).shape == () and gn.sort(s).values.shape == ()
    assert gn.argmax(s, 0) == 0 and gn.min(s, dim=-1) == 2.5


HAS_ORT = importlib.util.find_spec("onnx") and importlib.util.find_spec("onnxruntime")


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime")
def test_sort_and_topk_export_to_onnx_and_import_back() -> None:
    import onnxruntime as ort

    x = RNG.normal(size=(3, 5))
    with gn.Graph() as g:
        a = gn.input("a", shape=(3, 5))
        v, i = gn.topk(a, 3, dim=1)
        v.named("v"), i.named("i")
        s = gn.sort(a, dim=0, descending=True).values.named("s")
        c = gn.cumsum(a, 1).named("c")
        n = gn.norm(a, dim=1).named("n")
        m = gn.argmin(a).named("m")
    outs = [v, i, s, c, n, m]
    model = gn.to_onnx(g, outputs=outs)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run([o.name for o in outs], {"a": x})
    want = gn.run(g, {"a": x}, outputs=outs)
    for o, gv in zip(outs, got):
        np.testing.assert_allclose(gv, want.value(o), rtol=1e-12, err_msg=o.name)
    back = gn.from_onnx(model)
    rb = gn.run(back, {"a": x})
    for o in (v, i, c, n, m):
        np.testing.assert_allclose(rb.value(o.name), want.value(o), rtol=1e-12, err_msg=o.name)
