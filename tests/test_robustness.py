"""Numerical robustness: huge logits stay finite and correct; anomaly mode names the node."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphnn as gn

DTYPES = ["float32", "float64"]
LOGITS = [[1000.0, -1000.0, 0.0, 999.0], [-1000.0, -1000.0, -999.0, -1000.0]]


def _ref_log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax in exact-enough float64 with math.fsum (independent of graphnn)."""
    out = []
    for row in np.asarray(z, dtype=np.float64):
        m = max(row)
        lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
        out.append([v - lse for v in row])
    return np.array(out)


def _tol(dtype: str) -> float:
    return 1e-5 if dtype == "float32" else 1e-12


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_family_at_1000(fn, dtype):
    z = np.array(LOGITS, dtype=dtype)
    with gn.Graph() as g:
        x = gn.input("x", shape=z.shape, dtype=dtype)
        y = getattr(gn, fn)(x, axis=1)
        c = gn.const(np.array([[1.0, 2.0, 3.0, 4.0]] * 2, dtype=dtype))
        loss = gn.sum(y * c)
    r = gn.run(g, {"x": z}, wrt=[x], loss=loss, anomaly=True)
    ref = _ref_log_softmax(z)
    want = np.exp(ref) if fn == "softmax" else ref
    got = r.value(y)
    assert got.dtype == np.dtype(dtype) and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=_tol(dtype), atol=_tol(dtype))
    # analytic gradient of sum(c * f(z)) at the same point
    p = np.exp(ref)
    cc = np.array([[1.0, 2.0, 3.0, 4.0]] * 2)
    if fn == "softmax":
        gwant = p * (cc - np.sum(cc * p, axis=1, keepdims=True))
    else:
        gwant = cc - p * np.sum(cc, axis=1, keepdims=True)
    assert np.all(np.isfinite(r.grad(x)))
    np.testing.assert_allclose(r.grad(x), gwant, rtol=_tol(dtype) * 10, atol=_tol(dtype) * 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_at_1000(dtype):
    z = np.array(LOGITS, dtype=dtype)
    with gn.Graph() as g:
        x = gn.input("x", shape=z.shape, dtype=dtype)
        t = gn.input("t", shape=(2,), dtype="int64")
        loss = gn.cross_entropy(x, t)
    r = gn.run(g, {"x": z, "t": np.array([1, 2])}, wrt=[x], anomaly=True)
    ref = _ref_log_softmax(z)
    want = -(ref[0, 1] + ref[1, 2]) / 2  # = (2000 + log(1 + e^-1) ... ) / 2: finite
    assert np.isfinite(r.value(loss))
    np.testing.assert_allclose(r.value(loss), want, rtol=_tol(dtype))
    onehot = np.eye(4)[[1, 2]]
    np.testing.assert_allclose(r.grad(x), (np.exp(ref) - onehot) / 2, rtol=_tol(dtype) * 10,
                               atol=_tol(dtype) * 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_at_1000(dtype):
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0], dtype=dtype)
    with gn.Graph() as g:
        x = gn.input("x", shape=(5,), dtype=dtype)
        t = gn.input("t", shape=(5,), dtype=dtype)
        loss = gn.bce_with_logits(x, t, reduction="sum")
    r = gn.run(g, {"x": z, "t": y}, wrt=[x], anomaly=True)
    want = 1000.0 + 1000.0 + 0.0 + 0.0 + math.log(2.0)
    np.testing.assert_allclose(r.value(loss), want, rtol=_tol(dtype))
    sig = np.array([1.0, 0.0, 1.0, 0.0, 0.5])
    np.testing.assert_allclose(r.grad(x), sig - y, atol=_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["log0", "zero_over_zero", "overflow", "sqrt_grad"])
def test_anomaly_mode_names_the_node(case, dtype):
    big = 100.0 if dtype == "float32" else 1000.0  # exp overflows in both
    with gn.Graph("anomalies") as g:
        x = gn.input("x", shape=(3,), dtype=dtype)
        bad = {
            "log0": lambda: gn.log(x * 0.0).named("logzero"),
            "zero_over_zero": lambda: (x * 0.0 / (x * 0.0)).named("nan_div"),
            "overflow": lambda: gn.exp(x * big).named("blowup"),
            "sqrt_grad": lambda: gn.sqrt(x * 0.0).named("root"),
        }[case]()
        loss = gn.sum(bad).named("loss")
    feeds = {"x": np.array([1.0, 2.0, 3.0], dtype=dtype)}
    if case != "sqrt_grad":  # silently non-finite without anomaly mode
        assert not np.all(np.isfinite(gn.run(g, feeds).value(loss)))
    with pytest.raises(gn.AnomalyError) as e:
        gn.run(g, feeds, wrt=[x], anomaly=True)
    msg = str(e.value)
    name, what = {"log0": ("logzero", "the value"), "zero_over_zero": ("nan_div", "the value"),
                  "overflow": ("blowup", "the value"), "sqrt_grad": ("root", "the gradient")}[case]
    assert f"'{name}'" in msg and what in msg and dtype in msg, msg
    assert ("NaN" in msg) or ("Inf" in msg)
    assert "test_robustness.py:" in msg  # the user's file:line
    assert e.value.node is g[name]


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_tanh_saturate_without_overflow(dtype):
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    with gn.Graph() as g:
        x = gn.input("x", shape=(5,), dtype=dtype)
        loss = gn.sum(gn.sigmoid(x) + gn.tanh(x) + gn.elu(x))
    r = gn.run(g, {"x": z}, wrt=[x], anomaly=True)
    assert np.all(np.isfinite(r.grad(x))) and np.isfinite(r.value(loss))


def test_an_empty_graph_is_a_clear_error() -> None:
    for call in (lambda: gn.run(gn.Graph("empty"), {}),
                 lambda: gn.compile(gn.Graph("empty"), [])):
        with pytest.raises(gn.GraphError, match="graph 'empty' has no nodes"):
            call()


def test_a_complex_feed_says_graphnn_takes_real_numbers() -> None:
    with gn.Graph() as g:
        z = g.input("z", (2,), "complex128")
        (z * z).named("y")
    with pytest.raises(gn.FeedError, match="real numbers only: complex inputs cannot be fed"):
        gn.run(g, {"z": np.array([1 + 1j, 2j])})
