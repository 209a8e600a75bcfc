"""graphnn/ops/shape.py against PyTorch (float64: values and gradients on random shapes,
and the edge points of the list-taking cat / stack), build-time errors, the composites
(split, chunk, stack, tile, expand, permute, movedim) compiled and through ONNX."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphnn as gn

R = np.random.default_rng(11)
INF = np.inf


def _gn(build: Callable[..., Any], inputs: list[np.ndarray]) -> tuple[list[np.ndarray],
                                                                       list[np.ndarray]]:
    """Values of the outputs ``build(*nodes)`` returns and the gradients of the sum of
    sum(out_k * w_k) (fixed weights, so each output's gradient counts differently)."""
    with gn.Graph() as g:
        xs = [gn.input(f"x{i}", shape=v.shape) for i, v in enumerate(inputs)]
        outs = build(*xs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        loss = None
        for k, o in enumerate(outs):
            term = gn.sum(o * float(k + 1))
            loss = term if loss is None else loss + term
    r = gn.run(g, {f"x{i}": v for i, v in enumerate(inputs)}, outputs=outs, wrt=xs, loss=loss)
    return [r.value(o) for o in outs], [r.grad(x) for x in xs]


def _torch(fn: Callable[..., Any], inputs: list[np.ndarray]) -> tuple[list[np.ndarray],
                                                                       list[np.ndarray]]:
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    outs = fn(torch, *ts)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    loss = sum(o.sum() * float(k + 1) for k, o in enumerate(outs))
    grads = torch.autograd.grad(loss, ts, allow_unused=True)
    return ([o.detach().numpy() for o in outs],
            [np.zeros(v.shape) if gr is None else gr.numpy() for v, gr in zip(inputs, grads)])


def _same(build: Callable[..., Any], tfn: Callable[..., Any], inputs: list[np.ndarray]) -> None:
    tv, tg = _torch(tfn, inputs)
    v, gr = _gn(build, inputs)
    assert len(v) == len(tv)
    for a, b in zip(v + gr, tv + tg):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=0, equal_nan=True)


def r(*s: int) -> np.ndarray:
    return R.normal(size=s)


F = "nn.functional"
CASES: list[tuple[str, Callable[..., Any], Callable[..., Any], list[np.ndarray]]] = [
    ("cat", lambda a, b, c: gn.cat([a, b, c], dim=-2),
     lambda t, a, b, c: t.cat([a, b, c], dim=-2), [r(2, 3, 4), r(2, 1, 4), r(2, 5, 4)]),
    ("cat empty", lambda a, b: gn.cat([a, b], 0), lambda t, a, b: t.cat([a, b], 0),
     [r(0, 3), r(2, 3)]),
    ("concatenate", lambda a, b: gn.concatenate((a, b), axis=1),
     lambda t, a, b: t.concatenate((a, b), axis=1), [r(2, 1), r(2, 3)]),
    ("stack", lambda a, b: gn.stack([a, b], dim=-1), lambda t, a, b: t.stack([a, b], -1),
     [r(3, 2), r(3, 2)]),
    ("stack dim0", lambda a, b: gn.stack([a, b]), lambda t, a, b: t.stack([a, b]),
     [r(4), r(4)]),
    ("split int", lambda a: gn.split(a, 2, dim=1), lambda t, a: t.split(a, 2, dim=1),
     [r(3, 5)]),
    ("split list", lambda a: gn.split(a, [1, 0, 3], -1), lambda t, a: t.split(a, [1, 0, 3], -1),
     [r(2, 4)]),
    ("chunk", lambda a: gn.chunk(a, 4, dim=0), lambda t, a: t.chunk(a, 4, dim=0), [r(6, 2)]),
    ("chunk fewer", lambda a: gn.chunk(a, 3), lambda t, a: t.chunk(a, 3), [r(4)]),
    ("narrow", lambda a: gn.narrow(a, -1, -3, 2), lambda t, a: t.narrow(a, -1, -3, 2),
     [r(2, 5)]),
    ("pad constant", lambda a: gn.pad(a, (1, -2, 0, 3), value=2.5),
     lambda t, a: t.nn.functional.pad(a, (1, -2, 0, 3), value=2.5), [r(2, 3, 4)]),
    ("pad reflect 3d", lambda a: gn.pad(a, (1, 2, 2, 1, 0, 1), mode="reflect"),
     lambda t, a: t.nn.functional.pad(a, (1, 2, 2, 1, 0, 1), mode="reflect"), [r(1, 2, 3, 4, 3)]),
    ("pad replicate", lambda a: gn.pad(a, (3, -1, 2, 2), mode="replicate"),
     lambda t, a: t.nn.functional.pad(a, (3, -1, 2, 2), mode="replicate"), [r(2, 3, 4)]),
    ("pad circular", lambda a: gn.pad(a, (4, 1, 1, 3), mode="circular"),
     lambda t, a: t.nn.functional.pad(a, (4, 1, 1, 3), mode="circular"), [r(1, 2, 3, 4)]),
    ("flip", lambda a: gn.flip(a, (0, -1)), lambda t, a: t.flip(a, (0, -1)), [r(2, 3, 4)]),
    ("roll", lambda a: gn.roll(a, (2, -7), (-1, 0)), lambda t, a: t.roll(a, (2, -7), (-1, 0)),
     [r(3, 4)]),
    ("roll flat", lambda a: gn.roll(a, -5), lambda t, a: t.roll(a, -5), [r(3, 4)]),
    ("repeat", lambda a: gn.repeat(a, 2, 1, 3), lambda t, a: a.repeat(2, 1, 3), [r(2, 3)]),
    ("repeat zero", lambda a: gn.repeat(a, (0, 2)), lambda t, a: a.repeat(0, 2), [r(2, 3)]),
    ("tile", lambda a: gn.tile(a, (2,)), lambda t, a: t.tile(a, (2,)), [r(2, 3)]),
    ("tile more", lambda a: gn.tile(a, (2, 1, 2)), lambda t, a: t.tile(a, (2, 1, 2)), [r(2, 3)]),
    ("expand", lambda a: gn.expand(a, 4, -1, 3), lambda t, a: a.expand(4, -1, 3), [r(2, 1)]),
    ("expand bcast", lambda a, b: gn.expand(a, (2, 3)) * b,
     lambda t, a, b: a.expand((2, 3)) * b, [r(3), r(2, 1)]),
    ("squeeze all", lambda a: gn.squeeze(a), lambda t, a: t.squeeze(a), [r(1, 3, 1, 2)]),
    ("squeeze kept", lambda a: gn.squeeze(a, (0, 1)), lambda t, a: t.squeeze(a, (0, 1)),
     [r(1, 3, 1)]),
    ("unsqueeze", lambda a: gn.unsqueeze(a, -2), lambda t, a: t.unsqueeze(a, -2), [r(2, 3)]),
    ("permute", lambda a: gn.permute(a, (2, 0, 1)), lambda t, a: t.permute(a, (2, 0, 1)),
     [r(2, 3, 4)]),
    ("permute varargs", lambda a: gn.permute(a, 1, 0), lambda t, a: a.permute(1, 0), [r(2, 3)]),
    ("movedim", lambda a: gn.movedim(a, (0, 1), (-1, 0)),
     lambda t, a: t.movedim(a, (0, 1), (-1, 0)), [r(2, 3, 4, 5)]),
    ("moveaxis", lambda a: gn.moveaxis(a, -1, 1), lambda t, a: t.moveaxis(a, -1, 1),
     [r(2, 3, 4)]),
    ("tril", lambda a: gn.tril(a, 1), lambda t, a: t.tril(a, 1), [r(2, 3, 5)]),
    ("triu", lambda a: gn.triu(a, -2), lambda t, a: t.triu(a, -2), [r(5, 3)]),
    # cat / stack edge points: infinities, NaN, signed zeros, empty pieces, negative dims
    ("cat edge", lambda a, b: gn.cat([a, b], -1), lambda t, a, b: t.cat([a, b], -1),
     [np.array([[INF, -0.0], [np.nan, 0.0]]), np.zeros((2, 0))]),
    ("stack edge", lambda a, b: gn.stack([a, b], -3), lambda t, a, b: t.stack([a, b], -3),
     [np.array([[INF, -INF]]), np.array([[-0.0, np.nan]])]),
    ("stack empty", lambda a, b: gn.stack([a, b], 1), lambda t, a, b: t.stack([a, b], 1),
     [np.zeros((0, 2)), np.zeros((0, 2))]),
]


@pytest.mark.parametrize("what,build,tfn,inputs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(what: str, build: Any, tfn: Any, inputs: list[np.ndarray]) -> None:
    _same(build, tfn, inputs)


@pytest.mark.parametrize("what,build,tfn,inputs", CASES[:31], ids=[c[0] for c in CASES[:31]])
def test_compiled_matches_interpreter(what: str, build: Any, tfn: Any,
                                      inputs: list[np.ndarray]) -> None:
    with gn.Graph() as g:
        xs = [gn.input(f"x{i}", shape=v.shape) for i, v in enumerate(inputs)]
        outs = build(*xs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        loss = gn.sum(outs[0]) if len(outs) == 1 else gn.sum(outs[0]) + gn.sum(outs[-1])
    feeds = {f"x{i}": v for i, v in enumerate(inputs)}
    want = gn.run(g, feeds, outputs=outs + [loss], wrt=xs, loss=loss)
    got = gn.compile(g, outputs=outs + [loss], wrt=xs, loss=loss)(feeds)
    for o in outs:
        np.testing.assert_allclose(got.value(o), want.value(o), rtol=1e-12)
    for x in xs:
        np.testing.assert_allclose(got.grad(x), want.grad(x), rtol=1e-12)


# -- errors at graph-build time -----------------------------------------------------------

def _raises(fn: Callable[[], Any], *words: str) -> str:
    with pytest.raises(gn.GraphError) as e:
        fn()
    msg = str(e.value)
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_cat_mismatch_names_every_input_shape() -> None:
    with gn.Graph():
        a, b, c = gn.input("a", shape=(2, 3)), gn.input("b", shape=(2, 4)), gn.input("c", (3, 3))
        _raises(lambda: gn.cat([a, b, c]), "cat", "input 0 (2, 3)", "input 1 (2, 4)",
                "input 2 (3, 3)", "'a'", "'b'", "'c'")
        _raises(lambda: gn.cat([a, gn.input("d", shape=(6,))]), "same number of dimensions")
        _raises(lambda: gn.cat([a, b], dim=2), "dim 2 is out of range")
        _raises(lambda: gn.cat([gn.input("s")]), "zero-dimensional")
        _raises(lambda: gn.stack([a, b]), "stack", "(2, 3) at entry 0", "(2, 4) at entry 1")
    with pytest.raises(TypeError, match="list or tuple"):
        gn.cat(a)
    with pytest.raises(ValueError, match="non-empty"):
        gn.cat([])


def test_bad_arguments_are_graph_errors() -> None:
    with gn.Graph():
        x = gn.input("x", shape=(2, 3))
        _raises(lambda: gn.narrow(x, 1, 2, 2), "narrow", "exceeds dimension size (3)", "'x'")
        _raises(lambda: gn.narrow(x, 2, 0, 1), "out of range")
        _raises(lambda: gn.split(x, [1, 1], dim=1), "split", "sum to the size 3")
        _raises(lambda: gn.chunk(x, 0), "chunks must be a positive int")
        _raises(lambda: gn.pad(x, (1,)), "divisible by 2")
        _raises(lambda: gn.pad(x, (1, 1) * 3), "at most two times")
        _raises(lambda: gn.pad(x, (3, 0), mode="reflect"), "less than the size")
        _raises(lambda: gn.pad(x, (4, 0), mode="circular"), "wraps around more than once")
        _raises(lambda: gn.pad(x, (1, 1), mode="reflect", value=1.0), "doesn't take a value")
        _raises(lambda: gn.pad(x, (1, 1), mode="wrap"), "'wrap' is not one of")
        _raises(lambda: gn.pad(x, (-2, -2)), "crop more")
        _raises(lambda: gn.flip(x, (0, -2)), "more than once")
        _raises(lambda: gn.roll(x, (1, 2), (0,)), "same length")
        _raises(lambda: gn.repeat(x, 2), "can not be smaller")
        _raises(lambda: gn.expand(x, 2, 4), "must match the existing size (3)")
        _raises(lambda: gn.expand(x, -1, 2, 3), "leading, non-existing dimension 0")
        _raises(lambda: gn.unsqueeze(x, 3), "out of range")
        _raises(lambda: gn.permute(x, (0, 0)), "more than once")
        _raises(lambda: gn.permute(x, (0,)), "each of the 2")
        _raises(lambda: gn.movedim(x, (0, 1), 0), "same number of dims")
        _raises(lambda: gn.tril(gn.input("v", shape=(3,))), "at least 2 dimensions")
        _raises(lambda: gn.bind(gn.REGISTRY["squeeze"], x, dims=(0,)), "cannot squeeze dim 0")


def test_squeeze_of_a_dim_that_is_not_1_keeps_it_like_torch() -> None:
    with gn.Graph():
        x = gn.input("x", shape=(2, 1, 3))
        assert gn.squeeze(x, 0).shape == (2, 1, 3)
        assert gn.squeeze(x, (0, -2)).shape == (2, 3)


def test_sizes_are_checked_before_memory_is_allocated() -> None:
    with gn.Graph():
        x = gn.input("x", shape=(1000,))
        _raises(lambda: gn.repeat(x, 10 ** 5, 10 ** 3), "repeat output", "limit", "'x'")
        _raises(lambda: gn.pad(x, (10 ** 11, 0)), "pad output", "GRAPHNN_MAX_BYTES")


# -- ONNX: the composites' ONNX ops import -------------------------------------------------

HAS_ORT = importlib.util.find_spec("onnx") is not None and \
    importlib.util.find_spec("onnxruntime") is not None


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime")
def test_onnx_roundtrip_of_flip_roll_pad_and_split() -> None:
    import onnxruntime as ort

    x0 = r(2, 3, 4)
    with gn.Graph("m") as g:
        x = gn.input("x", shape=x0.shape)
        a, b = gn.split(gn.flip(x, (0, 2)), [1, 3], dim=-1)
        y = (gn.roll(a, 1) * 2.0 + gn.sum(gn.pad(b, (1, -1, 2, 1), mode="circular"))).named("y")
        z = gn.stack([gn.tril(x), gn.triu(x, 1)], 1).named("z")
    want = gn.run(g, {"x": x0}, outputs=[y, z])
    model = gn.to_onnx(g, outputs=[y, z])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(["y", "z"], {"x": x0})
    np.testing.assert_allclose(got[0], want.value(y), rtol=1e-12)
    np.testing.assert_allclose(got[1], want.value(z), rtol=1e-12)
    back = gn.from_onnx(model)
    rb = gn.run(back, {"x": x0})
    np.testing.assert_allclose(rb.value("y"), want.value(y), rtol=1e-12)
    np.testing.assert_allclose(rb.value("z"), want.value(z), rtol=1e-12)


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime")
def test_onnx_split_slice_and_pad_import() -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def const(name: str, v: Any) -> Any:
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(
            np.asarray(v), name))

    nodes = [const("sizes", np.array([2, 1, 2], np.int64)),
             helper.make_node("Split", ["x", "sizes"], ["s0", "s1", "s2"], axis=1),
             helper.make_node("Split", ["x"], ["e0", "e1"], axis=1, num_outputs=2),
             const("st", np.array([3, -1], np.int64)), const("en", np.array([0, -100], np.int64)),
             const("ax", np.array([1, 0], np.int64)), const("sp", np.array([-1, -1], np.int64)),
             helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["sl"]),
             const("pads", np.array([0, 2, 1, 0], np.int64)),
             helper.make_node("Pad", ["x", "pads"], ["pe"], mode="edge"),
             helper.make_node("Pad", ["x", "pads"], ["pr"], mode="reflect")]
    outs = ["s0", "s1", "s2", "e0", "e1", "sl", "pe", "pr"]
    shapes = [[2, 2], [2, 1], [2, 2], [2, 3], [2, 2], [2, 3], [3, 7], [3, 7]]
    graph = helper.make_graph(nodes, "m", [helper.make_tensor_value_info(
        "x", TensorProto.DOUBLE, [2, 5])], [helper.make_tensor_value_info(
            o, TensorProto.DOUBLE, s) for o, s in zip(outs, shapes)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    x0 = r(2, 5)
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(outs, {"x": x0})
    got = gn.run(gn.from_onnx(model), {"x": x0})
    for o, w in zip(outs, want):
        np.testing.assert_allclose(got.value(o), w, rtol=1e-12, err_msg=o)
