"""The losses of issue 12 against PyTorch (float64): values and gradients of every float
input PyTorch differentiates, on random shapes incl. N-d class axes, weights, ignored
targets, label smoothing and broadcasting; plus the build-time errors. The torch tests
skip without torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphnn as gn

RNG = np.random.default_rng(7)


def _run(fn: Callable[..., Any], arrays: list[np.ndarray], diff: tuple[int, ...],
         **kw: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    g = gn.Graph("loss_torch")
    with g:
        xs = [gn.input(f"x{i}", shape=a.shape, dtype=a.dtype) for i, a in enumerate(arrays)]
        y = fn(*xs, **kw)
        loss = gn.sum(y)
    feeds = {f"x{i}": a for i, a in enumerate(arrays)}
    wrt = [xs[i] for i in diff]
    with np.errstate(all="ignore"):
        r = gn.run(g, feeds, outputs=[y], wrt=wrt, loss=loss)
    return r.value(y), [r.grad(x) for x in wrt]


def _torch(torch: Any, fn: Callable[..., Any], arrays: list[np.ndarray], diff: tuple[int, ...],
           **kw: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    ts = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    out = fn(*ts, **kw)
    grads = torch.autograd.grad(out.sum(), [ts[i] for i in diff])
    return out.detach().numpy(), [gr.numpy() for gr in grads]


def _compare(name: str, arrays: list[np.ndarray], diff: tuple[int, ...],
             tname: str | None = None, **kw: Any) -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    v, gs = _run(getattr(gn, name), arrays, diff, **kw)
    tv, tgs = _torch(torch, getattr(F, tname or name), arrays, diff, **kw)
    np.testing.assert_allclose(v, tv, rtol=1e-11, atol=1e-13, equal_nan=True)
    for k, (a, b) in enumerate(zip(gs, tgs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13, equal_nan=True,
                                   err_msg=f"{name}: d/d input {diff[k]}")


def _labels(c: int, *shape: int, ignore: int | None = None) -> np.ndarray:
    t = RNG.integers(0, c, size=shape)
    if ignore is not None and t.size:
        t.reshape(-1)[:: 3] = ignore
    return t


SHAPES = [(5, 4), (4,), (2, 3, 4), (2, 3, 2, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(shape: tuple[int, ...], reduction: str, weighted: bool) -> None:
    c = shape[1] if len(shape) >= 2 else shape[0]
    tshape = shape[:1] + shape[2:] if len(shape) >= 2 else ()
    z = RNG.normal(size=shape)
    t = _labels(c, *tshape, ignore=-3 if tshape else None)
    arrays = [z, t] + ([RNG.uniform(0.5, 2.0, size=c)] if weighted else [])
    _compare("nll_loss", arrays, (0,), reduction=reduction, ignore_index=-3)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_indices(shape: tuple[int, ...], reduction: str, weighted: bool,
                               smoothing: float) -> None:
    c = shape[1] if len(shape) >= 2 else shape[0]
    tshape = shape[:1] + shape[2:] if len(shape) >= 2 else ()
    t = _labels(c, *tshape, ignore=1 if tshape else None)
    arrays = [RNG.normal(size=shape) * 3, t] + ([RNG.uniform(0.5, 2.0, size=c)]
                                                if weighted else [])
    _compare("cross_entropy", arrays, (0,), reduction=reduction, ignore_index=1,
             label_smoothing=smoothing)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probabilities(shape: tuple[int, ...], reduction: str,
                                     weighted: bool) -> None:
    c = shape[1] if len(shape) >= 2 else shape[0]
    ax = 1 if len(shape) >= 2 else 0
    p = RNG.uniform(0.1, 1.0, size=shape)
    p /= p.sum(axis=ax, keepdims=True)
    arrays = [RNG.normal(size=shape), p] + ([RNG.uniform(0.5, 2.0, size=c)] if weighted else [])
    diff = (0, 1, 2) if weighted else (0, 1)
    _compare("cross_entropy", arrays, diff, reduction=reduction, label_smoothing=0.2)


def test_all_targets_ignored_is_nan_with_zero_gradient() -> None:
    z = RNG.normal(size=(3, 4))
    t = np.full(3, -100)
    for fn in ("nll_loss", "cross_entropy"):
        v, (gz,) = _run(getattr(gn, fn), [z, t], (0,))
        assert np.isnan(v) and np.all(gz == 0.0)
        _compare(fn, [z, t], (0,))


@pytest.mark.parametrize("name,kw", [
    ("huber_loss", {"delta": 0.7}), ("huber_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("mse_loss", {}), ("l1_loss", {})])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_pair_losses(name: str, kw: dict[str, Any], reduction: str) -> None:
    a, b = RNG.normal(size=(4, 5)) * 2, RNG.normal(size=(4, 5))
    _compare(name, [a, b], (0, 1), reduction=reduction, **kw)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction: str, log_target: bool) -> None:
    x = np.log(RNG.uniform(0.1, 1.0, size=(3, 5)))
    t = RNG.uniform(0.1, 1.0, size=(3, 5))
    t = np.log(t) if log_target else t
    _compare("kl_div", [x, t], (0, 1), reduction=reduction, log_target=log_target)


def test_kl_div_zero_target() -> None:
    x = np.array([-1.0, -2.0, -np.inf, -0.5])
    t = np.array([0.0, 0.5, 0.0, 0.5])
    _compare("kl_div", [x, t], (0, 1), reduction="sum")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_weighted(reduction: str) -> None:
    p, y = RNG.uniform(0.05, 0.95, size=(3, 4)), RNG.uniform(size=(3, 4))
    _compare("binary_cross_entropy", [p, y, RNG.uniform(0.5, 2, size=4)], (0, 1),
             reduction=reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("which", ["weight", "pos_weight", "both"])
def test_bce_with_logits_weighted(reduction: str, which: str) -> None:
    torch = pytest.importorskip("torch")
    z, y = RNG.normal(size=(3, 4)) * 3, RNG.uniform(size=(3, 4))
    w, pw = RNG.uniform(0.5, 2, size=(3, 1)), RNG.uniform(0.5, 3, size=4)
    kw = {"weight": w if which != "pos_weight" else None,
          "pos_weight": pw if which != "weight" else None}
    v, gs = _run(lambda a, b: gn.binary_cross_entropy_with_logits(a, b, reduction=reduction,
                                                                   **kw), [z, y], (0, 1))
    tkw = {k: None if a is None else torch.tensor(a) for k, a in kw.items()}
    tv, tgs = _torch(torch, lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
        a, b, reduction=reduction, **tkw), [z, y], (0, 1))
    np.testing.assert_allclose(v, tv, rtol=1e-11)
    for a, b in zip(gs, tgs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("shapes,dim", [(((4, 3), (4, 3)), 1), (((2, 3, 4), (3, 1)), -2),
                                        (((5,), (5,)), 0), (((2, 3), (1, 3)), 0)])
def test_cosine_similarity(shapes: tuple[tuple[int, ...], ...], dim: int) -> None:
    a, b = (RNG.normal(size=s) for s in shapes)
    _compare("cosine_similarity", [a, b], (0, 1), dim=dim)


def test_cosine_similarity_near_zero_vectors() -> None:
    a = np.array([[0.0, 0.0], [1e-9, 0.0], [3.0, 4.0]])
    b = np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 0.0]])
    _compare("cosine_similarity", [a, b], (0, 1), dim=1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_margin_ranking_loss(reduction: str) -> None:
    a, b = RNG.normal(size=(3, 4)), RNG.normal(size=(1, 4))
    y = RNG.choice([-1.0, 1.0], size=(3, 4))
    _compare("margin_ranking_loss", [a, b, y], (0, 1, 2), margin=0.2, reduction=reduction)
    tie = np.array([1.0, 2.0])
    _compare("margin_ranking_loss", [tie, np.array([1.0, 1.0]), np.array([1.0, -1.0])],
             (0, 1, 2), reduction=reduction)


# -- errors at build time ----------------------------------------------------------------


def test_integer_target_gradient_is_a_clear_error() -> None:
    with gn.Graph():
        z = gn.input("z", shape=(3, 4))
        t = gn.input("t", shape=(3,), dtype="int64")
        loss = gn.nll_loss(z, t)
        with pytest.raises(gn.GraphError, match="(?i)integer|gradient"):
            gn.grad(loss, t)


@pytest.mark.parametrize("make,match", [
    (lambda z, t: gn.nll_loss(z, gn.input("f", shape=(3,))), "integers"),
    (lambda z, t: gn.cross_entropy(z, t, weight=np.ones(5)), "one entry per class"),
    (lambda z, t: gn.cross_entropy(z, t, label_smoothing=1.5), "label_smoothing"),
    (lambda z, t: gn.nll_loss(z, t, reduction="avg"), "reduction"),
    (lambda z, t: gn.kl_div(z, z, reduction="batch"), "batchmean"),
    (lambda z, t: gn.huber_loss(z, z, delta=0.0), "delta"),
    (lambda z, t: gn.cosine_similarity(z, z, dim=3), "dim 3"),
    (lambda z, t: gn.margin_ranking_loss(z, gn.input("q", shape=(5,)), z), "number of axes"),
    (lambda z, t: gn.binary_cross_entropy(z, z, np.ones((2, 4))), "weight"),
])
def test_bad_arguments_raise_at_build_time(make: Callable[..., Any], match: str) -> None:
    with gn.Graph():
        z = gn.input("z", shape=(3, 4))
        t = gn.input("t", shape=(3,), dtype="int64")
        with pytest.raises(gn.GraphError, match=match):
            make(z, t)


def test_out_of_range_target_names_the_range() -> None:
    with pytest.raises(ValueError, match=r"out of range \[0, 4\)"):
        gn.nll_loss(np.zeros((2, 4)), np.array([0, 4]))
