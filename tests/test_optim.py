"""Optimizers: first steps against the textbook formulas in numpy, and against torch.optim."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn

W0 = np.array([[0.5, -1.5, 2.0], [0.1, 0.3, -0.7]])


def _quad_problem():
    """loss = sum(a * w^2 + w) with a fixed a: gradient 2 a w + 1."""
    a = np.array([[1.0, 2.0, 0.5], [3.0, 0.2, 1.5]])
    with gn.Graph("quad") as g:
        w = gn.param("w", W0.copy())
        gn.sum(gn.const(a) * w * w + w)
    return g, w, lambda v: 2 * a * v + 1


def _run(opt_factory, steps=4):
    g, w, grad = _quad_problem()
    opt = opt_factory([w])
    traj = []
    for _ in range(steps):
        r = gn.run(g, wrt=[w])
        np.testing.assert_allclose(r.grad(w), grad(g.value_of(w)))
        opt.step(r)
        traj.append(g.value_of(w).copy())
    return traj, grad


def _reference(update, grad, steps=4):
    w, st, traj = W0.copy(), {}, []
    for t in range(1, steps + 1):
        w = update(w, grad(w), st, t)
        traj.append(w.copy())
    return traj


CASES = {
    "sgd": (lambda p: gn.optim.SGD(p, lr=0.1),
            lambda w, g, st, t: w - 0.1 * g),
    "sgd_wd": (lambda p: gn.optim.SGD(p, lr=0.1, weight_decay=0.01),
               lambda w, g, st, t: w - 0.1 * (g + 0.01 * w)),
    "momentum": (lambda p: gn.optim.SGD(p, lr=0.1, momentum=0.9),
                 lambda w, g, st, t: (st.__setitem__("v", g if t == 1 else 0.9 * st["v"] + g),
                                      w - 0.1 * st["v"])[1]),
    "nesterov": (lambda p: gn.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                 lambda w, g, st, t: (st.__setitem__("v", g if t == 1 else 0.9 * st["v"] + g),
                                      w - 0.1 * (g + 0.9 * st["v"]))[1]),
    "adam": (lambda p: gn.optim.Adam(p, lr=0.01),
             lambda w, g, st, t: (
                 st.__setitem__("m", 0.9 * st.get("m", 0) + 0.1 * g),
                 st.__setitem__("v", 0.999 * st.get("v", 0) + 0.001 * g * g),
                 w - 0.01 * (st["m"] / (1 - 0.9 ** t))
                 / (np.sqrt(st["v"] / (1 - 0.999 ** t)) + 1e-8))[2]),
    "adagrad": (lambda p: gn.optim.Adagrad(p, lr=0.1),
                lambda w, g, st, t: (st.__setitem__("s", st.get("s", 0) + g * g),
                                     w - 0.1 * g / (np.sqrt(st["s"]) + 1e-10))[1]),
    "rmsprop": (lambda p: gn.optim.RMSprop(p, lr=0.01),
                lambda w, g, st, t: (st.__setitem__("v", 0.99 * st.get("v", 0) + 0.01 * g * g),
                                     w - 0.01 * g / (np.sqrt(st["v"]) + 1e-8))[1]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_steps_match_textbook_formulas(name):
    make, update = CASES[name]
    traj, grad = _run(make)
    ref = _reference(update, grad)
    for got, want in zip(traj, ref):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


TORCH = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd_wd": ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    "momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}),
    "nesterov": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {"lr": 0.01}),
    "adagrad": ("Adagrad", {"lr": 0.1}),
    "rmsprop": ("RMSprop", {"lr": 0.01}),
    "rmsprop_momentum": ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
    "adam_wd": ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_matches_torch_optim(name):
    torch = pytest.importorskip("torch", reason="torch not installed (optional comparison)")
    cls, kw = TORCH[name]
    traj, _ = _run(lambda p: getattr(gn.optim, cls)(p, **kw), steps=5)
    a = torch.tensor([[1.0, 2.0, 0.5], [3.0, 0.2, 1.5]], dtype=torch.float64)
    w = torch.tensor(W0.copy(), requires_grad=True)
    opt = getattr(torch.optim, cls)([w], **kw)
    for got in traj:
        opt.zero_grad()
        (a * w * w + w).sum().backward()
        opt.step()
        np.testing.assert_allclose(got, w.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_updates_are_in_place_and_shared_with_the_model():
    model = gn.nn.Linear(3, 2)
    with gn.Graph() as g1:
        y1 = model(gn.input("x", (4, 3)))
        gn.sum(y1 * y1)
    with gn.Graph() as g2:
        model(gn.input("x", (1, 3)))
    before = g2.value_of("fc.weight").copy()
    opt = gn.optim.SGD(model.param_nodes(g1), lr=0.5)
    opt.step(gn.run(g1, {"x": np.ones((4, 3))}, wrt=model.param_nodes(g1)))
    assert not np.allclose(g2.value_of("fc.weight"), before)
    np.testing.assert_array_equal(g1.value_of("fc.weight"), g2.value_of("fc.weight"))
    np.testing.assert_array_equal(model.named_values()["fc.weight"], g2.value_of("fc.weight"))


def test_schedules():
    opt = gn.optim.SGD(lr=1.0)
    s = gn.optim.CosineLR(opt, T_max=4, eta_min=0.0)
    lrs = [s.step() for _ in range(4)]
    np.testing.assert_allclose(lrs, [0.5 * (1 + np.cos(np.pi * k / 4)) for k in range(1, 5)])
    opt2 = gn.optim.Adam(lr=0.1)
    st = gn.optim.StepLR(opt2, step_size=3, gamma=0.1)
    assert [round(st.step(), 6) for _ in range(6)] == [0.1, 0.1, 0.01, 0.01, 0.01, 0.001]


def test_bad_optimizer_inputs():
    with pytest.raises(ValueError, match="unknown optimizer"):
        gn.optim.make("adamw2")
    with pytest.raises(ValueError, match="Nesterov"):
        gn.optim.SGD(lr=0.1, nesterov=True)
    with gn.Graph():
        x = gn.input("x")
    with pytest.raises(gn.GraphError, match="not a param"):
        gn.optim.SGD([x])
