"""Network ops against PyTorch (float64 values and gradients): glu, linear, the norms
(layer / group / instance / batch, running statistics included), dropout, einsum,
scaled_dot_product_attention and the gn.nn layers built on them; build-time errors;
compiled code against the interpreter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.passes.optimize import optimize

torch = pytest.importorskip("torch")
F = torch.nn.functional
R = np.random.default_rng(7)


def r(*s: int) -> np.ndarray:
    return R.normal(size=s)


def _gn(build: Callable[..., Any], inputs: list[np.ndarray], compiled: bool = False
        ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Values of ``build(*nodes)`` and the gradients of sum_k (k+1) * sum(w * out_k)."""
    with gn.Graph() as g:
        xs = [gn.input(f"x{i}", shape=v.shape) for i, v in enumerate(inputs)]
        outs = build(*xs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        loss = None
        for k, o in enumerate(outs):
            w = np.cos(np.arange(int(np.prod(o.shape))) + k).reshape(o.shape)
            term = gn.sum(o * w)
            loss = term if loss is None else loss + term
    feeds = {f"x{i}": v for i, v in enumerate(inputs)}
    if compiled:
        res = gn.compile(g, outputs=outs, wrt=xs, loss=loss)(feeds)
    else:
        res = gn.run(g, feeds, outputs=outs, wrt=xs, loss=loss)
    return [res.value(o) for o in outs], [res.grad(x) for x in xs]


def _torch(fn: Callable[..., Any], inputs: list[np.ndarray]) -> tuple[list[np.ndarray],
                                                                       list[np.ndarray]]:
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    outs = fn(*ts)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    loss = 0.0
    for k, o in enumerate(outs):
        w = torch.tensor(np.cos(np.arange(o.numel()) + k).reshape(tuple(o.shape)))
        loss = loss + (o * w).sum()
    grads = torch.autograd.grad(loss, ts, allow_unused=True)
    return ([o.detach().numpy() for o in outs],
            [np.zeros(v.shape) if gr is None else gr.numpy() for v, gr in zip(inputs, grads)])


def _same(build: Callable[..., Any], tfn: Callable[..., Any], inputs: list[np.ndarray],
          rtol: float = 1e-10, compiled: bool = False) -> None:
    tv, tg = _torch(tfn, inputs)
    v, gr = _gn(build, inputs, compiled)
    assert len(v) == len(tv)
    for a, b in zip(v + gr, tv + tg):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, equal_nan=True)


RM, RV = r(3), np.abs(r(3)) + 0.5
CASES: list[tuple[str, Callable[..., Any], Callable[..., Any], list[np.ndarray]]] = [
    ("glu", lambda a: gn.glu(a), lambda a: F.glu(a), [r(3, 6)]),
    ("glu dim0", lambda a: gn.glu(a, 0), lambda a: F.glu(a, 0), [r(4, 3)]),
    ("glu dim-2", lambda a: gn.glu(a, dim=-2), lambda a: F.glu(a, dim=-2), [r(2, 4, 3)]),
    ("linear", lambda x, w, b: gn.linear(x, w, b), F.linear, [r(5, 3), r(4, 3), r(4)]),
    ("linear nobias 3d", lambda x, w: gn.linear(x, w), F.linear, [r(2, 5, 3), r(4, 3)]),
    ("linear 1d x", lambda x, w, b: gn.linear(x, w, b), F.linear, [r(3), r(4, 3), r(4)]),
    ("linear 1d w", lambda x, w: gn.linear(x, w), F.linear, [r(2, 3), r(3)]),
    ("layer_norm", lambda x: gn.layer_norm(x, 4), lambda x: F.layer_norm(x, (4,)), [r(3, 4)]),
    ("layer_norm affine", lambda x, w, b: gn.layer_norm(x, (3, 4), w, b, eps=1e-3),
     lambda x, w, b: F.layer_norm(x, (3, 4), w, b, eps=1e-3), [r(2, 3, 4), r(3, 4), r(3, 4)]),
    ("layer_norm weight", lambda x, w: gn.layer_norm(x, [5], w),
     lambda x, w: F.layer_norm(x, [5], w), [r(2, 2, 5), r(5)]),
    ("group_norm", lambda x, w, b: gn.group_norm(x, 2, w, b),
     lambda x, w, b: F.group_norm(x, 2, w, b), [r(3, 4, 5), r(4), r(4)]),
    ("group_norm 2d", lambda x: gn.group_norm(x, 3, eps=1e-2),
     lambda x: F.group_norm(x, 3, eps=1e-2), [r(2, 6, 3, 2)]),
    ("group_norm nc", lambda x, w: gn.group_norm(x, 1, w), lambda x, w: F.group_norm(x, 1, w),
     [r(4, 3), r(3)]),
    ("instance_norm", lambda x, w, b: gn.instance_norm(x, weight=w, bias=b),
     lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [r(2, 3, 5), r(3), r(3)]),
    ("instance_norm 2d", lambda x: gn.instance_norm(x, eps=1e-3),
     lambda x: F.instance_norm(x, eps=1e-3), [r(2, 2, 3, 4)]),
    ("batch_norm train", lambda x, w, b: gn.batch_norm(x, None, None, w, b, training=True),
     lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [r(4, 3), r(3), r(3)]),
    ("batch_norm train 4d", lambda x: gn.batch_norm(x, None, None, training=True, eps=1e-3),
     lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3), [r(2, 3, 2, 2)]),
    ("batch_norm eval", lambda x, w, b: gn.batch_norm(x, RM, RV, w, b),
     lambda x, w, b: F.batch_norm(x, torch.tensor(RM), torch.tensor(RV), w, b),
     [r(4, 3, 2), r(3), r(3)]),
]


@pytest.mark.parametrize("what,build,tfn,inputs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(what: str, build: Any, tfn: Any, inputs: list[np.ndarray]) -> None:
    _same(build, tfn, inputs)


@pytest.mark.parametrize("what,build,tfn,inputs", CASES, ids=[c[0] for c in CASES])
def test_compiled_matches_torch(what: str, build: Any, tfn: Any,
                                inputs: list[np.ndarray]) -> None:
    _same(build, tfn, inputs, compiled=True)


def test_composites_show_every_step() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(2, 4))
        gn.glu(x)
        gn.linear(x, gn.param("w", np.ones((3, 4))), gn.param("b", np.zeros(3)))
    ops = [n.op.name for n in g.nodes if not n.op.leaf]
    for want in ("narrow", "sigmoid", "mul", "transpose", "matmul", "add"):
        assert want in ops


# -- running statistics --------------------------------------------------------------

def test_batch_norm_running_stats_graph_and_train_mechanism() -> None:
    x = r(5, 3, 2)
    rm0, rv0 = r(3), np.abs(r(3)) + 0.5
    tm, tv = torch.tensor(rm0.copy()), torch.tensor(rv0.copy())
    F.batch_norm(torch.tensor(x), tm, tv, training=True, momentum=0.3)
    with gn.Graph() as g:
        xi = gn.input("x", shape=x.shape)
        rm, rv = gn.param("rm", rm0.copy()), gn.param("rv", rv0.copy())
        y = gn.batch_norm(xi, rm, rv, training=True, momentum=0.3)
    res = gn.run(g, {"x": x}, outputs=[y, *gn.nn.state_outputs(g)])
    np.testing.assert_allclose(g.value_of(rm), rm0)  # nothing changes until applied
    gn.nn.update_state(g, res)
    np.testing.assert_allclose(g.value_of(rm), tm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.value_of(rv), tv.numpy(), rtol=1e-12)


def test_batch_norm_running_stats_arrays_update_in_place() -> None:
    x = r(6, 2)
    rm, rv = np.zeros(2), np.ones(2)
    tm, tv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    want = F.batch_norm(torch.tensor(x), tm, tv, training=True).numpy()
    np.testing.assert_allclose(gn.batch_norm(x, rm, rv, training=True), want, rtol=1e-12)
    np.testing.assert_allclose(rm, tm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, tv.numpy(), rtol=1e-12)


def test_instance_norm_running_stats() -> None:
    x = r(3, 2, 4)
    rm, rv = np.zeros(2), np.ones(2)
    tm, tv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    want = F.instance_norm(torch.tensor(x), tm, tv, momentum=0.2).numpy()
    np.testing.assert_allclose(gn.instance_norm(x, rm, rv, momentum=0.2), want, rtol=1e-12)
    np.testing.assert_allclose(rm, tm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, tv.numpy(), rtol=1e-12)
    got = gn.instance_norm(x, rm, rv, use_input_stats=False)
    np.testing.assert_allclose(got, F.instance_norm(torch.tensor(x), tm, tv,
                                                    use_input_stats=False).numpy(), rtol=1e-12)


# -- dropout ---------------------------------------------------------------------------

def test_dropout_seeded_scaled_and_gradient_is_the_mask() -> None:
    x = r(50, 40)
    with gn.Graph() as g:
        xi = gn.input("x", shape=x.shape)
        y = gn.dropout(xi, 0.3, seed=5)
    res = gn.run(g, {"x": x}, outputs=[y], wrt=[xi], loss=gn.sum(y))
    v = res.value(y)
    kept = v != 0
    assert abs(kept.mean() - 0.7) < 0.05
    np.testing.assert_allclose(v[kept], x[kept] / 0.7, rtol=1e-12)
    np.testing.assert_allclose(res.grad(xi), kept / 0.7, rtol=1e-12)
    again = gn.run(g, {"x": x}, outputs=[y]).value(y)
    np.testing.assert_array_equal(again, v)  # same seed, same mask
    comp = gn.compile(g, outputs=[y])({"x": x}).value(y)
    np.testing.assert_array_equal(comp, v)


def test_dropout_modes() -> None:
    x = r(4, 3)
    assert gn.dropout(x, 0.5, training=False) is x
    assert gn.dropout(x, 0.0) is x
    np.testing.assert_array_equal(gn.dropout(x, 1.0), x * 0.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        gn.dropout(x, 1.5)


def test_dropouts_never_merged_or_folded() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(200,))
        a = gn.dropout(x, 0.5)
        b = gn.dropout(x, 0.5)
        out = a - b
    h, (o,), _ = optimize(g, [out])
    assert sum(n.op.name == "rand_like" for n in h.nodes) == 2
    assert np.abs(gn.run(h, {"x": np.ones(200)}, outputs=[o]).value(o)).sum() > 0
    with gn.Graph() as k:
        c = gn.dropout(gn.input("c", shape=(100,)) * 0.0 + 1.0, 0.5)
    k2, (c2,), _ = optimize(k, [c])
    v1 = gn.run(k2, {"c": np.ones(100)}, outputs=[c2]).value(c2)
    v2 = gn.run(k2, {"c": np.ones(100)}, outputs=[c2]).value(c2)
    assert not np.array_equal(v1, v2)  # seed=None: a fresh mask on every run


# -- errors ----------------------------------------------------------------------------

def _node(*shape: int) -> Any:
    return gn.Graph().input("x", shape)


@pytest.mark.parametrize("call,match", [
    (lambda: gn.glu(_node(2, 5)), r"even.*dimension 1 is size 5"),
    (lambda: gn.glu(_node(2, 4), dim=2), "out of range"),
    (lambda: gn.linear(_node(2, 3), np.ones((4, 5))), r"in_features 3 != 5"),
    (lambda: gn.linear(_node(2, 3), np.ones((4, 3)), np.ones(5)), "bias shape"),
    (lambda: gn.linear(_node(2, 3), np.ones((1, 4, 3))), "1-D or 2-D"),
    (lambda: gn.layer_norm(_node(2, 3), (4,)), r"normalized_shape \(4,\)"),
    (lambda: gn.layer_norm(_node(2, 3), 3, np.ones(4)), "weight of shape"),
    (lambda: gn.group_norm(_node(2, 6, 3), 4), "divisible by num_groups=4"),
    (lambda: gn.group_norm(_node(6), 2), "at least 2 dimensions"),
    (lambda: gn.instance_norm(_node(2, 3)), "at least 3 dimensions"),
    (lambda: gn.batch_norm(_node(1, 3), None, None, training=True),
     "more than 1 value per channel"),
    (lambda: gn.batch_norm(_node(4, 3), None, None), "must be given in evaluation"),
    (lambda: gn.batch_norm(_node(4, 3), np.zeros(2), np.ones(2)), r"running_mean must have "
                                                                   r"shape \(3,\)"),
])
def test_bad_shapes_raise_clear_errors(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# -- einsum ----------------------------------------------------------------------------

EINSUMS: list[tuple[str, list[np.ndarray]]] = [
    ("ij,jk->ik", [r(3, 4), r(4, 2)]),
    ("bij,bjk->bik", [r(2, 3, 4), r(2, 4, 5)]),
    ("ii->i", [r(3, 3)]),
    ("ii", [r(4, 4)]),
    ("ij->", [r(2, 3)]),
    ("i,j", [r(3), r(2)]),
    ("ij,kj", [r(2, 3), r(4, 3)]),
    ("ji,jk,kl->li", [r(3, 2), r(3, 4), r(4, 2)]),
    ("...ij,...jk->...ik", [r(2, 1, 3, 4), r(5, 4, 2)]),
    ("...i,...i->...", [r(4, 3), r(3)]),
    ("b...,b->...", [r(2, 3, 4), r(2)]),
    ("i...i->...", [r(3, 2, 3)]),
    ("bhld,bhsd->bhls", [r(2, 2, 3, 4), r(2, 2, 5, 4)]),
    (" i j , j k -> i k ", [r(2, 3), r(3, 2)]),
    ("iij,j->", [r(2, 2, 3), r(3)]),
    ("Ab,bC->CA", [r(2, 3), r(3, 4)]),
]


@pytest.mark.parametrize("eq,inputs", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_matches_torch(eq: str, inputs: list[np.ndarray]) -> None:
    _same(lambda *xs: gn.einsum(eq, *xs), lambda *ts: torch.einsum(eq, *ts), inputs)
    _same(lambda *xs: gn.einsum(eq, list(xs)), lambda *ts: torch.einsum(eq, *ts), inputs,
          compiled=True)


def test_einsum_broadcast_gradients_by_finite_differences() -> None:
    from graphnn.testing import check_grads

    a, b = r(2, 1, 3), r(4, 3, 3)
    with gn.Graph() as g:
        x, y = gn.input("x", shape=a.shape), gn.input("y", shape=b.shape)
        out = gn.sum(gn.einsum("...j,...jj->...", x, y) ** 2)
    rep = check_grads(g, {"x": a, "y": b}, [x, y], loss=out)
    assert max(rep.errors.values()) < 1e-6


@pytest.mark.parametrize("eq,shapes,match", [
    ("ij,jk->ik", [(2, 3), (4, 5)], r"subscript 'j' has size 3 .* and 4 .*operand shapes: "
                                    r"\(2, 3\), \(4, 5\)"),
    ("ij,jk", [(2, 3)], r"2 operand term\(s\) for 1 operand"),
    ("ijk", [(2, 3)], r"do not fit its shape \(2, 3\)"),
    ("ij->ik", [(2, 3)], "'k' appears in no operand"),
    ("ij->ii", [(2, 2)], "repeat a letter"),
    ("ii->i", [(2, 3)], "repeated in operand 0 with sizes 2 and 3"),
    ("i;j->i", [(2,)], "invalid character"),
    ("i.j->i", [(2, 3)], r"only appear as '\.\.\.'"),
    ("...i->i", [(2, 3)], r"write '\.\.\.' in the output"),
    ("i->i->i", [(2,)], "one '->'"),
    ("i1", [(2, 2)], "invalid character"),
])
def test_einsum_bad_equations_name_the_shapes(eq: str, shapes: list[tuple[int, ...]],
                                              match: str) -> None:
    g = gn.Graph()
    xs = [g.input(f"x{i}", s) for i, s in enumerate(shapes)]
    with pytest.raises(ValueError, match=match):
        gn.einsum(eq, *xs)
    with pytest.raises(ValueError, match=match):
        gn.einsum(eq, *[np.zeros(s) for s in shapes])


def test_einsum_equation_reaches_code_only_as_a_validated_literal() -> None:
    hostile = "ij->i'); import os; os.system('x"
    with pytest.raises(ValueError, match="invalid character"):
        gn.einsum(hostile, np.ones((2, 2)))
    g = gn.Graph()
    x = g.input("x", (2, 2))
    with pytest.raises(ValueError, match="letters, commas and one '->'"):
        gn.bind(gn.REGISTRY["einsum"], x, equation="ij->i')#")
    with g:
        y = gn.einsum("ij -> j", x).named("y")
    src = gn.compile(g, outputs=[y]).source
    assert "xp.einsum('ij->j', " in src


# -- scaled_dot_product_attention ------------------------------------------------------

BOOL_MASK = R.uniform(size=(3, 5)) > 0.3
BOOL_MASK[:, 0] = True  # no fully masked row
FLOAT_MASK = r(2, 1, 3, 5)
SDPA = [
    ("plain", {}, [r(2, 3, 4), r(2, 5, 4), r(2, 5, 6)]),
    ("4d heads", {}, [r(2, 2, 3, 4), r(2, 2, 5, 4), r(2, 2, 5, 3)]),
    ("broadcast batch", {}, [r(2, 1, 3, 4), r(1, 2, 5, 4), r(2, 2, 5, 3)]),
    ("scale", {"scale": 0.3}, [r(3, 4), r(5, 4), r(5, 2)]),
    ("causal", {"is_causal": True}, [r(2, 4, 3), r(2, 4, 3), r(2, 4, 3)]),
    ("causal L<S", {"is_causal": True}, [r(1, 3, 2), r(1, 5, 2), r(1, 5, 2)]),
    ("bool mask", {"attn_mask": BOOL_MASK}, [r(2, 3, 4), r(2, 5, 4), r(2, 5, 6)]),
    ("float mask", {"attn_mask": FLOAT_MASK}, [r(2, 2, 3, 4), r(2, 2, 5, 4), r(2, 2, 5, 3)]),
]


@pytest.mark.parametrize("what,kw,inputs", SDPA, ids=[c[0] for c in SDPA])
def test_sdpa_matches_torch(what: str, kw: dict[str, Any], inputs: list[np.ndarray]) -> None:
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    _same(lambda q, k, v: gn.scaled_dot_product_attention(q, k, v, **kw),
          lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **tkw), inputs)
    _same(lambda q, k, v: gn.scaled_dot_product_attention(q, k, v, **kw),
          lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **tkw), inputs,
          compiled=True)


def test_sdpa_mask_as_graph_input_and_every_step_in_the_trace() -> None:
    q, k, v = r(2, 3, 4), r(2, 5, 4), r(2, 5, 6)
    with gn.Graph() as g:
        qi, ki, vi = (gn.input(n, shape=a.shape) for n, a in zip("qkv", (q, k, v)))
        m = gn.input("m", shape=(3, 5))
        out = gn.scaled_dot_product_attention(qi, ki, vi, m)
    res = gn.run(g, {"q": q, "k": k, "v": v, "m": FLOAT_MASK[0, 0]}, outputs=[out])
    want = F.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)),
                                          attn_mask=torch.tensor(FLOAT_MASK[0, 0]))
    np.testing.assert_allclose(res.value(out), want.numpy(), rtol=1e-12)
    ops = [n.op.name for n in g.nodes if not n.op.leaf]
    assert ops.count("matmul") == 2 and "softmax" in ops and "mul" in ops and "add" in ops
    steps = [s for s in gn.trace(g, {"q": q, "k": k, "v": v, "m": FLOAT_MASK[0, 0]})]
    shown = " ".join(str(s) for s in steps)
    assert "softmax" in shown and ("matmul" in shown or "@" in shown)


def test_where_keeps_a_numpy_bool_condition_bool() -> None:
    c = np.array([True, False, True])
    with gn.Graph() as g:
        x = gn.input("x", shape=(3,))
        y = gn.where(c, x, -np.inf)
    assert y.inputs[0].dtype == np.bool_
    res = gn.run(g, {"x": np.ones(3)}, outputs=[y], wrt=[x], loss=gn.sum(gn.exp(y)))
    np.testing.assert_array_equal(res.grad(x), [np.e, 0.0, np.e])


def test_sdpa_dropout_is_seeded_and_applied_to_the_weights() -> None:
    q, k, v = r(2, 3, 4), r(2, 5, 4), r(2, 5, 6)
    a = gn.scaled_dot_product_attention(q, k, v, dropout_p=0.4, seed=9)
    b = gn.scaled_dot_product_attention(q, k, v, dropout_p=0.4, seed=9)
    np.testing.assert_array_equal(a, b)
    s = q @ np.swapaxes(k, -1, -2) / 2.0
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    w = gn.dropout(w, 0.4, seed=9)
    np.testing.assert_allclose(a, w @ v, rtol=1e-12)


@pytest.mark.parametrize("shapes,kw,match", [
    ([(2, 3, 4), (2, 5, 3), (2, 5, 6)], {}, "same embedding size"),
    ([(2, 3, 4), (2, 5, 4), (2, 4, 6)], {}, "same sequence length"),
    ([(4,), (5, 4), (5, 6)], {}, "at least 2 dimensions"),
    ([(2, 3, 4), (3, 5, 4), (3, 5, 6)], {}, "batch axes .* do not broadcast"),
    ([(3, 4), (5, 4), (5, 6)], {"attn_mask": np.ones((4, 5))}, r"attn_mask shape \(4, 5\)"),
    ([(3, 4), (5, 4), (5, 6)], {"attn_mask": np.ones((3, 5)), "is_causal": True}, "not both"),
    ([(3, 4), (5, 4), (5, 6)], {"dropout_p": 1.5}, "dropout_p"),
])
def test_sdpa_bad_shapes(shapes: list[tuple[int, ...]], kw: dict[str, Any], match: str) -> None:
    g = gn.Graph()
    xs = [g.input(f"x{i}", s) for i, s in enumerate(shapes)]
    with pytest.raises(ValueError, match=match):
        gn.scaled_dot_product_attention(*xs, **kw)


# -- gn.nn layers ------------------------------------------------------------------------

def _layer_same(gm: Any, tm: Any, inputs: list[np.ndarray], call: Callable[..., Any],
                tcall: Callable[..., Any] | None = None, rtol: float = 1e-10) -> None:
    """Load torch's parameters into the graphnn layer, then compare the outputs and the
    gradients of a weighted sum with respect to the float inputs and every parameter."""
    gm._ensure_paths()
    pre = f"{gm.path}." if gm.path else ""
    gm.load_state_dict({pre + k: v.detach().numpy().astype(np.float64)
                        for k, v in tm.state_dict().items()})
    with gn.Graph() as g:
        xs = [gn.input(f"x{i}", shape=v.shape, dtype=v.dtype) for i, v in enumerate(inputs)]
        outs = call(gm, *xs)
        outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o is not None]
        loss = None
        for k, o in enumerate(outs):
            w = np.cos(np.arange(int(np.prod(o.shape))) + k).reshape(o.shape)
            term = gn.sum(o * w)
            loss = term if loss is None else loss + term
    params = gm.param_nodes(g)
    fx = [x for x, v in zip(xs, inputs) if v.dtype.kind == "f"]
    res = gn.run(g, {f"x{i}": v for i, v in enumerate(inputs)}, outputs=outs,
                 wrt=fx + params, loss=loss)
    tm.zero_grad(set_to_none=True)
    ts = [torch.tensor(v, requires_grad=v.dtype.kind == "f") for v in inputs]
    touts = (tcall or call)(tm, *ts)
    touts = [o for o in (touts if isinstance(touts, tuple) else (touts,)) if o is not None]
    assert len(touts) == len(outs)
    tl = 0.0
    for k, o in enumerate(touts):
        tl = tl + (o * torch.tensor(np.cos(np.arange(o.numel()) + k).reshape(o.shape))).sum()
    tl.backward()
    for o, t in zip(outs, touts):
        np.testing.assert_allclose(res.value(o), t.detach().numpy(), rtol=rtol, atol=1e-12)
    for x, t in zip(fx, [t for t in ts if t.requires_grad]):
        np.testing.assert_allclose(res.grad(x), t.grad.numpy(), rtol=rtol, atol=1e-12)
    tp = dict(tm.named_parameters())
    assert len(params) == len(tp)
    for p in params:
        np.testing.assert_allclose(res.grad(p), tp[p.name[len(pre):]].grad.numpy(),
                                   rtol=rtol, atol=1e-12)


def _rand_params(tm: Any) -> Any:
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.tensor(R.normal(size=tuple(p.shape))))
    return tm.double()


def test_layer_norm_layer() -> None:
    tm = _rand_params(torch.nn.LayerNorm((3, 4), eps=1e-4))
    _layer_same(gn.nn.LayerNorm((3, 4), eps=1e-4), tm, [r(2, 3, 4)], lambda m, x: m(x))
    _layer_same(gn.nn.LayerNorm(4, bias=False), _rand_params(torch.nn.LayerNorm(4, bias=False)),
                [r(5, 4)], lambda m, x: m(x))
    _layer_same(gn.nn.LayerNorm(4, elementwise_affine=False),
                torch.nn.LayerNorm(4, elementwise_affine=False).double(), [r(5, 4)],
                lambda m, x: m(x))


def test_group_norm_layer() -> None:
    tm = _rand_params(torch.nn.GroupNorm(2, 6))
    _layer_same(gn.nn.GroupNorm(2, 6), tm, [r(3, 6, 4)], lambda m, x: m(x))
    with pytest.raises(ValueError, match="divisible"):
        gn.nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="channel axis 1 of size 6"):
        with gn.Graph():
            gn.nn.GroupNorm(2, 6)(gn.input("x", shape=(2, 4, 3)))


def test_instance_norm_layers() -> None:
    _layer_same(gn.nn.InstanceNorm2d(3, affine=True),
                _rand_params(torch.nn.InstanceNorm2d(3, affine=True)), [r(2, 3, 4, 5)],
                lambda m, x: m(x))
    _layer_same(gn.nn.InstanceNorm1d(2), torch.nn.InstanceNorm1d(2).double(), [r(3, 2, 6)],
                lambda m, x: m(x))
    _layer_same(gn.nn.InstanceNorm3d(2, eps=1e-3),
                torch.nn.InstanceNorm3d(2, eps=1e-3).double(), [r(1, 2, 3, 2, 4)],
                lambda m, x: m(x))
    with pytest.raises(ValueError, match=r"is not \(N, 3, \.\.\., \.\.\.\)"):
        with gn.Graph():
            gn.nn.InstanceNorm2d(3)(gn.input("x", shape=(2, 3, 4)))


def test_instance_norm_running_stats_in_train_and_eval_mode() -> None:
    x = r(4, 2, 3, 3)
    tm = torch.nn.InstanceNorm2d(2, momentum=0.3, track_running_stats=True).double()
    m = gn.nn.InstanceNorm2d(2, momentum=0.3, track_running_stats=True)
    with gn.Graph() as g:
        y = m(gn.input("x", shape=x.shape), train=True)
    res = gn.run(g, {"x": x}, outputs=[y, *gn.nn.state_outputs(g)])
    want = tm.train()(torch.tensor(x))
    np.testing.assert_allclose(res.value(y), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    gn.nn.update_state(g, res)
    vals = {k.rsplit(".", 1)[-1]: v for k, v in m.named_values().items()}
    np.testing.assert_allclose(vals["running_mean"], tm.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(vals["running_var"], tm.running_var.numpy(), rtol=1e-12)
    x2 = r(2, 2, 3, 3)
    with gn.Graph() as h:
        y2 = m(gn.input("x", shape=x2.shape), train=False)
    np.testing.assert_allclose(gn.run(h, {"x": x2}).value(y2),
                               tm.eval()(torch.tensor(x2)).detach().numpy(), rtol=1e-10)


def test_embedding_layer() -> None:
    idx = np.array([[0, 3, 1], [3, 3, 4]], dtype=np.int64)
    tm = torch.nn.Embedding(5, 3).double()
    _layer_same(gn.nn.Embedding(5, 3), tm, [idx], lambda m, i: m(i))
    tm = torch.nn.Embedding(5, 3, padding_idx=3).double()
    gm = gn.nn.Embedding(5, 3, padding_idx=3)
    assert np.all(gm.named_values()["emb.weight"][3] == 0.0)
    _layer_same(gm, tm, [idx], lambda m, i: m(i))
    with pytest.raises(gn.GraphError, match="integer"):
        with gn.Graph():
            gn.nn.Embedding(5, 3)(gn.input("x", shape=(2,)))


def test_glu_layer() -> None:
    _layer_same(gn.nn.GLU(1), torch.nn.GLU(1), [r(2, 4, 3)], lambda m, x: m(x))
    seq = gn.nn.Sequential(gn.nn.Linear(3, 8), gn.nn.GLU())
    tseq = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.GLU()).double()
    seq.load_state_dict({"fc1.weight": tseq[0].weight.detach().numpy(),
                         "fc1.bias": tseq[0].bias.detach().numpy()})
    x = r(2, 3)
    with gn.Graph() as g:
        y = seq(gn.input("x", shape=x.shape))
    np.testing.assert_allclose(gn.run(g, {"x": x}).value(y),
                               tseq(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def _mha_pair(e: int, h: int, batch_first: bool, bias: bool = True) -> tuple[Any, Any]:
    tm = _rand_params(torch.nn.MultiheadAttention(e, h, bias=bias, batch_first=batch_first))
    return gn.nn.MultiheadAttention(e, h, bias=bias, batch_first=batch_first), tm


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_self(batch_first: bool) -> None:
    gm, tm = _mha_pair(8, 2, batch_first)
    x = r(3, 4, 8)
    _layer_same(gm, tm, [x], lambda m, x: m(x, x, x))
    _layer_same(gm, tm, [x], lambda m, x: m(x, x, x, average_attn_weights=False))


def test_multihead_attention_cross_masks_unbatched_and_no_bias() -> None:
    gm, tm = _mha_pair(6, 3, True)
    q, kv = r(2, 3, 6), r(2, 5, 6)
    am = R.uniform(size=(3, 5)) > 0.6
    am[:, 0] = False
    kpm = np.zeros((2, 5), dtype=bool)
    kpm[0, 4] = kpm[1, 2] = True
    _layer_same(gm, tm, [q, kv], lambda m, a, b: m(a, b, b, attn_mask=am),
                lambda m, a, b: m(a, b, b, attn_mask=torch.tensor(am)))
    am3 = np.repeat(am[None], 2 * 3, axis=0)
    am3[1, :, 1] = True
    _layer_same(gm, tm, [q, kv], lambda m, a, b: m(a, b, b, attn_mask=am3),
                lambda m, a, b: m(a, b, b, attn_mask=torch.tensor(am3)))
    _layer_same(gm, tm, [q], lambda m, a: m(a, a, a, is_causal=True),
                lambda m, a: m(a, a, a, attn_mask=torch.ones(3, 3, dtype=torch.bool).triu(1)))
    _layer_same(gm, tm, [q, kv], lambda m, a, b: m(a, b, b, key_padding_mask=kpm),
                lambda m, a, b: m(a, b, b, key_padding_mask=torch.tensor(kpm)))
    fm = r(3, 5)
    _layer_same(gm, tm, [q, kv], lambda m, a, b: m(a, b, b, attn_mask=fm, need_weights=False),
                lambda m, a, b: m(a, b, b, attn_mask=torch.tensor(fm), need_weights=False))
    _layer_same(gm, tm, [q[0], kv[0]], lambda m, a, b: m(a, b, b))
    gm, tm = _mha_pair(4, 1, True, bias=False)
    _layer_same(gm, tm, [q[..., :4]], lambda m, a: m(a, a, a))


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_with_other_key_and_value_sizes(batch_first: bool) -> None:
    tm = _rand_params(torch.nn.MultiheadAttention(6, 2, kdim=4, vdim=5,
                                                  batch_first=batch_first))
    gm = gn.nn.MultiheadAttention(6, 2, kdim=4, vdim=5, batch_first=batch_first)
    assert sorted(gm.named_values()) == sorted(k for k in tm.state_dict())
    q, k, v = (r(2, 3, 6), r(2, 5, 4), r(2, 5, 5)) if batch_first else \
        (r(3, 2, 6), r(5, 2, 4), r(5, 2, 5))
    _layer_same(gm, tm, [q, k, v], lambda m, a, b, c: m(a, b, c))
    with pytest.raises(ValueError, match="key must be .* with E = 4, got shape"):
        with gn.Graph():
            gm(gn.input("q", shape=q.shape), gn.input("k", shape=q.shape))


def test_multihead_attention_in_a_sequential_and_errors() -> None:
    model = gn.nn.Sequential(gn.nn.MultiheadAttention(4, 2, batch_first=True),
                             gn.nn.LayerNorm(4))
    with gn.Graph():
        y = model(gn.input("x", shape=(2, 3, 4)))
    assert y.shape == (2, 3, 4)
    assert "mha1.in_proj_weight" in model.named_values()
    with pytest.raises(ValueError, match="divisible"):
        gn.nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="E = 4"):
        with gn.Graph():
            gn.nn.MultiheadAttention(4, 2)(gn.input("x", shape=(2, 3, 5)))


def test_multihead_attention_groups_nest_once() -> None:
    """out_proj's nodes sit in the attention's group once ("attn/out_proj", not
    "attn/attn/out_proj"), inside an outer scope too."""
    mha = gn.nn.MultiheadAttention(4, 2, batch_first=True, name="attn")
    with gn.Graph() as g:
        with g.scope("block"):
            mha(gn.input("x", shape=(1, 3, 4)))
    groups = {p.name: p.group for p in g.params}
    assert groups["attn.in_proj_weight"] == "block/attn"
    assert groups["attn.out_proj.weight"] == "block/attn/out_proj"


def test_encoder_block_compiles_and_traces() -> None:
    """A transformer encoder block from the new pieces: compiled code and the step-through
    trace agree with the interpreter, gradients included."""
    mha, ln = gn.nn.MultiheadAttention(4, 2, batch_first=True), gn.nn.LayerNorm(4)
    mha.reset_parameters(seed=1)
    ln.reset_parameters(seed=2)
    x = r(2, 3, 4)
    with gn.Graph() as g:
        xi = gn.input("x", shape=x.shape)
        a, _ = mha(xi, need_weights=False)
        h = ln(xi + a)
        y = gn.glu(gn.linear(h, gn.param("w", r(8, 4)), gn.param("b", r(8))))
        loss = gn.sum(y * y)
    params = [p for p in g.params]
    want = gn.run(g, {"x": x}, outputs=[y], wrt=[xi, *params], loss=loss)
    got = gn.compile(g, outputs=[y], wrt=[xi, *params], loss=loss)({"x": x})
    np.testing.assert_allclose(got.value(y), want.value(y), rtol=1e-12)
    for p in [xi, *params]:
        np.testing.assert_allclose(got.grad(p), want.grad(p), rtol=1e-9, atol=1e-12)
    steps = list(gn.trace(g, {"x": x}, wrt=[xi]))
    assert len(steps) > 20


FULL_BOOL = np.array([[True, True, False], [False, False, False]])
FULL_FLOAT = np.where(FULL_BOOL, 0.5, -np.inf)


@pytest.mark.parametrize("mask", [FULL_BOOL, FULL_FLOAT], ids=["bool", "float"])
def test_sdpa_fully_masked_query_gets_zeros_like_torch(mask: np.ndarray) -> None:
    inputs = [r(2, 2, 4), r(2, 3, 4), r(2, 3, 5)]
    _same(lambda q, k, v: gn.scaled_dot_product_attention(q, k, v, mask),
          lambda q, k, v: F.scaled_dot_product_attention(q, k, v, torch.tensor(mask)), inputs)
    _same(lambda q, k, v: gn.scaled_dot_product_attention(q, k, v, mask),
          lambda q, k, v: F.scaled_dot_product_attention(q, k, v, torch.tensor(mask)), inputs,
          compiled=True)


def test_mha_fully_masked_query_like_torch() -> None:
    gm, tm = _mha_pair(4, 2, True)
    q, kv = r(2, 2, 4), r(2, 3, 4)
    am = ~FULL_BOOL  # MultiheadAttention: True = not allowed
    _layer_same(gm, tm, [q, kv], lambda m, a, b: m(a, b, b, attn_mask=am, need_weights=False),
                lambda m, a, b: m(a, b, b, attn_mask=torch.tensor(am), need_weights=False))
    with gn.Graph() as g:
        out, w = gm(gn.input("q", shape=q.shape), gn.input("kv", shape=kv.shape),
                    attn_mask=am)
    t_out, t_w = tm(torch.tensor(q), torch.tensor(kv), torch.tensor(kv),
                    attn_mask=torch.tensor(am))
    with np.errstate(invalid="ignore"):
        res = gn.run(g, {"q": q, "kv": kv}, outputs=[out, w])
    for o, t in ((out, t_out), (w, t_w)):  # torch: NaN for that query with need_weights
        np.testing.assert_allclose(res.value(o), t.detach().numpy(), rtol=1e-10,
                                   equal_nan=True)
    assert np.isnan(res.value(w)[:, 1]).all()
