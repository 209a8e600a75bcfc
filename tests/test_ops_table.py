"""Registry-driven op tests: every registered op against finite differences (reverse and
forward mode), the adjoint identity, its sympy derivative and second order."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphnn as gn
from graphnn.testing import numeric_grad, rel_err
from tests.op_cases import CASES, Case

EPS = 1e-6
ALL = [(name, k) for name, cases in CASES.items() for k in range(len(cases))]


def _ops_needing_cases() -> list[str]:
    return sorted(n for n, op in gn.REGISTRY.items() if not op.leaf)


def test_registry_complete() -> None:
    missing = [n for n in _ops_needing_cases() if n not in CASES]
    assert not missing, f"registered ops without a test entry in tests/op_cases.py: {missing}"
    unknown = [n for n in CASES if n not in gn.REGISTRY]
    assert not unknown, f"test entries for ops that are not registered: {unknown}"


def _build(name: str, case: Case):
    op = gn.REGISTRY[name]
    g = gn.Graph(f"case_{name}")
    ins = [g.input(f"x{i}", v.shape, v.dtype) for i, v in enumerate(case.inputs)]
    with g:  # ops without inputs (creation ops) build in the active graph
        out = gn.bind(op, *ins, **case.params)
    return g, op, ins, out


def _feeds(case: Case, override: dict[int, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    vals = {f"x{i}": v for i, v in enumerate(case.inputs)}
    for i, v in (override or {}).items():
        vals[f"x{i}"] = v
    return vals


def _diff_inputs(case: Case, op: gn.Op) -> list[int]:
    idx = case.diff_inputs if case.diff_inputs is not None else range(len(case.inputs))
    # integer inputs (class indices, labels) never carry a gradient
    return [i for i in idx if i not in op.nondiff and case.inputs[i].dtype.kind == "f"]


def with_loss(name: str, k: int) -> tuple[gn.Graph, gn.Node, gn.Node, dict[str, np.ndarray],
                                          list[gn.Node]]:
    """Case ``k`` of op ``name`` with a scalar loss over its output: (graph, output,
    loss, feeds, the inputs a gradient flows to)."""
    case = CASES[name][k]
    g, op, ins, out = _build(name, case)
    v = np.random.default_rng(11).normal(size=out.shape)
    with g:
        loss = gn.sum(out * gn.const(v)).named("loss")
    wrt = [] if case.nondiff else [ins[i] for i in _diff_inputs(case, op)]
    return g, out, loss, _feeds(case), wrt


@pytest.mark.parametrize("name,k", ALL)
def test_forward_matches_impl(name: str, k: int) -> None:
    case = CASES[name][k]
    g, op, ins, out = _build(name, case)
    r = gn.run(g, _feeds(case), outputs=[out])
    expect = op.forward(np, *case.inputs, **case.params)
    assert r.value(out).shape == out.shape == np.shape(expect)
    np.testing.assert_allclose(r.value(out), expect, rtol=1e-12)


@pytest.mark.parametrize("name,k", ALL)
def test_vjp_and_jvp_against_finite_differences(name: str, k: int) -> None:
    case = CASES[name][k]
    g, op, ins, out = _build(name, case)
    rng = np.random.default_rng(7)
    v = rng.normal(size=out.shape)                    # output cotangent
    with g:
        loss = gn.sum(out * gn.const(v))
    feeds = _feeds(case)
    if case.nondiff:
        floats = [x for x in ins if x.dtype.kind == "f"]
        if floats:
            r = gn.run(g, feeds, wrt=floats, loss=loss)
            for x in floats:
                assert not np.any(r.grad(x)), f"{name} should have no gradient"
        for x in ins:  # integer and bool inputs cannot even be asked for one
            if x.dtype.kind != "f":
                with pytest.raises(gn.GradError, match="floating point only"):
                    gn.run(g, feeds, wrt=[x], loss=loss)
        return
    idx = _diff_inputs(case, op)
    r = gn.run(g, feeds, wrt=[ins[i] for i in idx], loss=loss)

    def f_loss(i: int):
        return lambda xv: float(np.sum(op.forward(np, *[
            xv if j == i else case.inputs[j] for j in range(len(case.inputs))], **case.params) * v))

    for i in idx:
        fd = numeric_grad(f_loss(i), case.inputs[i], EPS)
        got = r.grad(ins[i])
        assert got.shape == ins[i].shape
        assert rel_err(got, fd) < case.rtol, f"{name}: vjp wrt input {i}"
        # forward mode: J u against the directional finite difference, and adjointness
        u = rng.normal(size=ins[i].shape)
        _, tans = gn.jvp(g, feeds, {ins[i]: u}, outputs=[out])
        ju = tans[out.name]
        plus = op.forward(np, *[c + EPS * u if j == i else c
                                for j, c in enumerate(case.inputs)], **case.params)
        minus = op.forward(np, *[c - EPS * u if j == i else c
                                 for j, c in enumerate(case.inputs)], **case.params)
        assert rel_err(ju, (plus - minus) / (2 * EPS)) < case.rtol, f"{name}: jvp input {i}"
        lhs, rhs = float(np.sum(v * ju)), float(np.sum(got * u))
        assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs)), f"{name}: <v, Ju> != <J^T v, u>"


@pytest.mark.parametrize("name,k", [(n, k) for n, k in ALL if CASES[n][k].second])
def test_second_order(name: str, k: int) -> None:
    """grad of grad: the Hessian-vector product of loss against FD of the gradient."""
    case = CASES[name][k]
    g, op, ins, out = _build(name, case)
    rng = np.random.default_rng(3)
    with g:
        loss = gn.sum(out * gn.const(rng.normal(size=out.shape)))
    idx = _diff_inputs(case, op)
    grads = gn.grad(loss, [ins[i] for i in idx])
    w = [rng.normal(size=ins[i].shape) for i in idx]
    with g:
        s = gn.sum(grads[0] * gn.const(w[0]))
        for gi, wi in zip(grads[1:], w[1:]):
            s = s + gn.sum(gi * gn.const(wi))
    feeds = _feeds(case)
    r = gn.run(g, feeds, wrt=[ins[i] for i in idx], loss=s)
    for i in idx:
        def f(xv, i=i):
            rr = gn.run(g, _feeds(case, {i: xv}), outputs=[s])
            return float(rr.value(s))
        fd = numeric_grad(f, case.inputs[i], 1e-5)
        assert rel_err(r.grad(ins[i]), fd) < 1e-5, f"{name}: second order wrt input {i}"


@pytest.mark.parametrize("name", sorted(n for n, op in gn.REGISTRY.items()
                                        if op.elementwise and n in CASES
                                        and callable(op.sympy)))
def test_sympy_derivative_matches_vjp(name: str) -> None:
    sp = pytest.importorskip("sympy")
    op = gn.REGISTRY[name]
    case = CASES[name][0]
    syms = sp.symbols(f"a0:{len(case.inputs)}", real=True)
    expr = op.sympy(sp, *syms, **case.params)
    shape = np.broadcast_shapes(*[c.shape for c in case.inputs])
    args = [np.broadcast_to(c, shape) for c in case.inputs]
    out = op.forward(np, *args, **case.params)
    mods = [{"erf": np.vectorize(math.erf)}, "numpy"]  # sympy maps erf to math.erf
    f = sp.lambdify(syms, expr, mods)
    np.testing.assert_allclose(np.broadcast_to(f(*args), shape), out, rtol=1e-12, atol=1e-15)
    if case.nondiff:
        return
    ones = np.ones(shape)
    for i in _diff_inputs(case, op):
        ct = op.vjp(ones, out, *args, **case.params)[i]
        ct = ct() if callable(ct) else ct
        # floor / ceiling are piecewise constant: derivative 0 (sympy leaves it unevaluated)
        d = sp.lambdify(syms, sp.diff(expr, syms[i]).replace(
            lambda e: isinstance(e, sp.Derivative) and e.expr.func in (sp.floor, sp.ceiling),
            lambda e: sp.S.Zero), mods)
        np.testing.assert_allclose(np.broadcast_to(d(*args), shape), ct, rtol=1e-10,
                                   atol=1e-12, err_msg=f"{name}: d/d input {i}")
