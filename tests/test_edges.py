"""Semantics at the edges, written out from PyTorch's documented behaviour (float64) so
they hold without torch installed; tests/test_edges_torch.py checks the same points, and
every op's edge table, against torch itself when it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphnn as gn

INF = math.inf


def value_and_grads(f, *vals: float | np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """f's value at ``vals`` and the gradient of sum(f) w.r.t. each input (graph mode)."""
    g = gn.Graph("edge")
    with g:
        xs = [gn.input(f"x{i}", shape=np.shape(v)) for i, v in enumerate(vals)]
        y = f(*xs).named("y")
        loss = gn.sum(y)
    feeds = {f"x{i}": np.asarray(v, dtype=np.float64) for i, v in enumerate(vals)}
    with np.errstate(all="ignore"):
        r = gn.run(g, feeds, outputs=[y], wrt=xs, loss=loss)
    return r.value(y), [r.grad(x) for x in xs]


def _close(got: object, want: object) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                               rtol=1e-12, atol=0, equal_nan=True)


# torch.maximum / torch.minimum: at a tie each operand gets half the gradient
@pytest.mark.parametrize("f", [gn.maximum, gn.minimum])
@pytest.mark.parametrize("a,b,da,db", [
    (1.0, 1.0, 0.5, 0.5), (0.0, -0.0, 0.5, 0.5), (INF, INF, 0.5, 0.5), (-INF, -INF, 0.5, 0.5),
])
def test_max_min_split_ties(f, a: float, b: float, da: float, db: float) -> None:
    v, (ga, gb) = value_and_grads(f, a, b)
    _close(v, a)
    _close([ga, gb], [da, db])


@pytest.mark.parametrize("a,b,max_grads,min_grads", [
    (2.0, 1.0, (1, 0), (0, 1)), (-INF, 3.0, (0, 1), (1, 0)), (INF, 3.0, (1, 0), (0, 1)),
    (np.nan, 1.0, (1, 1), (1, 1)),   # a NaN: torch gives both operands the full gradient
])
def test_max_min_away_from_ties(a: float, b: float, max_grads, min_grads) -> None:
    _close(value_and_grads(gn.maximum, a, b)[1], max_grads)
    _close(value_and_grads(gn.minimum, a, b)[1], min_grads)


def test_max_min_ties_in_forward_mode() -> None:
    g = gn.Graph("t")
    with g:
        a, b = gn.input("a", shape=(2,)), gn.input("b", shape=(2,))
        y = gn.maximum(a, b).named("y")
    _, tans = gn.jvp(g, {"a": np.array([1.0, 2.0]), "b": np.array([1.0, 0.0])},
                     {a: np.array([1.0, 1.0]), b: np.array([3.0, 3.0])}, outputs=[y])
    _close(tans["y"], [2.0, 1.0])


def test_relu_keeps_zero_gradient_at_zero() -> None:
    _close(value_and_grads(gn.relu, np.array([0.0, -0.0]))[1][0], [0.0, 0.0])


# torch.pow at base 0 (pow_backward_self / pow_backward_exponent):
#   d/dx x**y = 0 where y == 0, else y * x**(y - 1);
#   d/dy x**y = 0 where x == 0 and y >= 0, else x**y * log(x).
@pytest.mark.parametrize("x,y,value,dx,dy", [
    (0.0, 0.0, 1.0, 0.0, 0.0),
    (0.0, 2.0, 0.0, 0.0, 0.0),
    (0.0, 1.0, 0.0, 1.0, 0.0),
    (0.0, 0.5, 0.0, INF, 0.0),
    (0.0, -1.0, INF, -INF, -INF),
    (0.0, -0.5, INF, -INF, -INF),
    (0.0, INF, 0.0, np.nan, 0.0),
    (0.0, -INF, INF, -INF, -INF),
    (-0.0, 2.0, 0.0, -0.0, 0.0),
    (2.0, 0.0, 1.0, 0.0, math.log(2.0)),
    (INF, 0.0, 1.0, 0.0, INF),
    (-2.0, 2.0, 4.0, -4.0, np.nan),
])
def test_pow_at_base_zero(x: float, y: float, value: float, dx: float, dy: float) -> None:
    v, (gx, gy) = value_and_grads(lambda a, b: a ** b, x, y)
    _close(v, value)
    _close([gx, gy], [dx, dy])


def test_pow_zero_exponent_constant() -> None:
    v, (gx,) = value_and_grads(lambda a: a ** 0.0, 0.0)
    _close([v, gx], [1.0, 0.0])
    v, (gy,) = value_and_grads(lambda b: gn.pow(0.0, b), np.array([2.0, 0.0, -1.0]))
    _close(v, [0.0, 1.0, INF])
    _close(gy, [0.0, 0.0, -INF])


# 0-d tensors: torch accepts dim 0 and -1 (a 0-d tensor reduces to itself)
@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("f,value,grad", [
    (gn.sum, 3.0, 1.0), (gn.mean, 3.0, 1.0), (gn.max, 3.0, 1.0),
])
def test_reductions_of_a_0d_tensor(f, axis, value: float, grad: float) -> None:
    for keepdims in (False, True):
        v, (gx,) = value_and_grads(lambda x: f(x, axis=axis, keepdims=keepdims), 3.0)
        assert np.shape(v) == () and np.shape(gx) == ()
        _close([v, gx], [value, grad])
    _close(f(np.array(3.0), axis=axis), value)


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("f,value", [(gn.softmax, 1.0), (gn.log_softmax, 0.0)])
def test_softmax_of_a_0d_tensor(f, axis: int, value: float) -> None:
    v, (gx,) = value_and_grads(lambda x: f(x, axis=axis), 3.0)
    assert np.shape(v) == ()
    _close([v, gx], [value, 0.0])
    _close(f(np.array(3.0), axis=axis), value)


@pytest.mark.parametrize("f", [gn.sum, gn.mean, gn.max, gn.softmax])
@pytest.mark.parametrize("axis", [1, -2, (0, -1)])
def test_0d_axis_out_of_range_is_an_error(f, axis) -> None:
    if f is gn.softmax and isinstance(axis, tuple):
        return
    with gn.Graph(), pytest.raises(gn.GraphError, match="out of range|repeated"):
        f(gn.input("x", shape=()), axis=axis)


def test_empty_reductions() -> None:
    v, (gx,) = value_and_grads(gn.sum, np.zeros(0))
    _close(v, 0.0)
    assert gx.shape == (0,)
    v, (gx,) = value_and_grads(gn.mean, np.zeros(0))
    assert np.isnan(v) and gx.shape == (0,)
    v, _ = value_and_grads(lambda x: gn.mean(x, axis=1), np.zeros((2, 0)))
    assert v.shape == (2,) and np.all(np.isnan(v))
    _close(value_and_grads(lambda x: gn.sum(x, axis=1), np.zeros((2, 0)))[0], [0.0, 0.0])


def test_empty_max_is_a_clear_error() -> None:
    with gn.Graph(), pytest.raises(gn.GraphError, match="max of an empty set"):
        gn.max(gn.input("x", shape=(0,)))
    with pytest.raises(ValueError, match="max of an empty set"):
        gn.max(np.zeros(0))
    with pytest.raises(ValueError, match="max of an empty set"):
        gn.max(np.zeros((2, 0)), axis=1)
    _close(gn.max(np.zeros((2, 0)), axis=0), np.zeros(0))


def test_elu_gradient_at_plus_inf_is_one() -> None:
    # torch.nn.functional.elu: gradient 1 for x > 0, including +inf (was 1 + 0 * inf = NaN)
    _, (gx,) = value_and_grads(lambda x: gn.elu(x, 0.5), np.array([INF, -INF, 0.0]))
    _close(gx, [1.0, 0.0, 0.5])
