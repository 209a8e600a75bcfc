"""Buffers kept between calls (``gn.compile(keep_buffers=True)``, the NumPy default):
intermediates that never leave the function are made once per thread and written again by
every later call. What could go wrong is aliasing: a result (or a view of one) living in a
kept buffer would change under the caller at the next call. So every test here calls a
compiled function twice with different feeds and checks that the first call's results are
unchanged and both equal the interpreter's, with every buffer kept (``KEEP_MIN`` = 1 byte).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.codegen import emit, numpy_backend
from tests.test_codegen import lenet, random_graph
from tests.test_ops_table import ALL, with_loss

RTOL, ATOL = 1e-10, 1e-13


@pytest.fixture
def keep_all(monkeypatch: Any) -> None:
    """Keep every private buffer, and let small groups run in place (so dead buffers are
    reused as ``out=`` targets and kept ones pass through the reuse pool)."""
    monkeypatch.setattr(numpy_backend, "KEEP_MIN", 1)
    monkeypatch.setattr(numpy_backend, "INPLACE_MIN_SIZE", 1)


def scaled(feeds: dict[str, Any], k: float) -> dict[str, Any]:
    """The float feeds times ``k`` (integer ones, e.g. class indices, unchanged)."""
    return {n: (np.asarray(v) * k if np.asarray(v).dtype.kind == "f" else v)
            for n, v in feeds.items()}


def twice(g: gn.Graph, outputs: list[Any], wrt: list[Any], loss: Any,
          feeds_a: dict[str, Any], feeds_b: dict[str, Any], **kw: Any) -> gn.CompiledGraph:
    """Compile; call with ``feeds_a`` then ``feeds_b``; the first results must survive
    the second call, and both must be the interpreter's."""
    f = gn.compile(g, outputs=outputs, wrt=wrt, loss=loss, **kw)
    first = f(feeds_a)
    held = {o.name: np.array(first[o.name], copy=True) for o in outputs}
    held_g = {w.name: np.array(first.grad(w.name), copy=True) for w in wrt}
    second = f(feeds_b)
    for feeds, res, snap, snap_g in ((feeds_a, first, held, held_g),
                                     (feeds_b, second, None, None)):
        r = gn.run(g, feeds, outputs=outputs, wrt=wrt, loss=loss)
        for o in outputs:
            np.testing.assert_allclose(res[o.name], r.value(o), rtol=RTOL, atol=ATOL,
                                       err_msg=o.name)
            if snap is not None:  # bit for bit what it was before the second call
                np.testing.assert_array_equal(res[o.name], snap[o.name], err_msg=o.name)
        for w in wrt:
            np.testing.assert_allclose(res.grad(w.name), r.grad(w), rtol=RTOL, atol=ATOL,
                                       err_msg=f"grad {w.name}")
            if snap_g is not None:
                np.testing.assert_array_equal(res.grad(w.name), snap_g[w.name])
    return f


@pytest.mark.parametrize("seed", range(20))
def test_random_graphs_with_intermediate_outputs(seed: int, keep_all: None) -> None:
    """Random graphs whose outputs include intermediates and views of them (transpose,
    reshape): those must never be kept."""
    g, feeds, loss, wrt = random_graph(seed)
    with g:
        mids = [n for n in g.nodes if not n.op.leaf and n is not loss and n.shape != ()]
        rng = np.random.default_rng(seed)
        picks = [mids[int(k)] for k in rng.choice(len(mids), size=min(3, len(mids)),
                                                  replace=False)]
        views = [gn.transpose(picks[0]).named("view_t")] if picks[0].ndim == 2 else []
        views.append(gn.reshape(picks[-1], (-1,)).named("view_r"))
        # an intermediate that is also the base of a view that is an output
        views.append(gn.reshape(gn.tanh(picks[0]) * 2.0, (-1,)).named("view_of_tmp"))
    f = twice(g, [loss, *picks, *views], wrt, loss, feeds, scaled(feeds, 0.5))
    assert "_kept(" in f.source  # every config keeps something here


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("inplace", [True, "auto", False])
def test_random_graphs_blocked(seed: int, inplace: Any, keep_all: None,
                               monkeypatch: Any) -> None:
    """Tiny blocks: kept scratch buffers of block shape, reused across the block loop."""
    monkeypatch.setattr(numpy_backend, "CHUNK", 4)
    g, feeds, loss, wrt = random_graph(seed)
    twice(g, [loss], wrt, loss, feeds, scaled(feeds, -0.7), inplace=inplace)


@pytest.mark.parametrize("result", [True, False], ids=["op-is-output", "op-is-private"])
@pytest.mark.parametrize("name,k", ALL)
def test_every_op(name: str, k: int, result: bool, keep_all: None) -> None:
    """Every registered op (tests/op_cases.py), its value and its gradient graph, kept
    buffers everywhere; the op's output is a result, or (op-is-private) only feeds the
    loss, so its own statement writes into a kept buffer where it can."""
    g, out, loss, feeds, wrt = with_loss(name, k)
    # the second call's floats are halved: signs, (-1, 1) and positivity hold
    twice(g, [out, loss] if result else [loss], wrt, loss, feeds, scaled(feeds, 0.5))


def test_lenet_keeps_its_activations_and_reuses_them() -> None:
    """At the default threshold a LeNet step at batch 64 keeps its conv and pool buffers;
    the second call allocates none (the same arrays), results stay the interpreter's."""
    g, feeds, outs, wrt = lenet(batch=64, dtype="float32")
    loss = outs[0]
    f = gn.compile(g, outputs=[loss], wrt=wrt)
    assert f.body.count("_kept(") >= 3 and "out=_kept(" in f.body
    kept = f.function.__globals__["_KEPT"].__dict__
    r1 = f(feeds)
    ids = {k: id(b) for k, b in kept.items()}
    assert ids, "the first call made the kept buffers"
    g1 = {w.name: np.array(r1.grad(w.name), copy=True) for w in wrt}
    r2 = f(scaled(feeds, 0.5))
    assert {k: id(b) for k, b in kept.items()} == ids
    ref = gn.run(g, scaled(feeds, 0.5), outputs=[loss], wrt=wrt)
    for w in wrt:
        np.testing.assert_array_equal(r1.grad(w.name), g1[w.name])
        np.testing.assert_allclose(r2.grad(w.name), ref.grad(w), rtol=2e-4, atol=1e-6)
    off = gn.compile(g, outputs=[loss], wrt=wrt, keep_buffers=False)
    assert "_kept" not in off.source


def kept_bytes(source: str) -> list[int]:
    """The sizes of the buffers a module keeps (its ``_kept(k, shape, dtype)`` calls)."""
    import re

    return [int(np.prod(eval(shape), dtype=np.int64)) * np.dtype(eval(dt)).itemsize  # noqa: S307
            for shape, dt in re.findall(r"_kept\(\d+, (\([^)]*\)), ('\w+')\)", source)]


def test_kept_bytes_are_capped(monkeypatch: Any, keep_all: None) -> None:
    """No function keeps more than ``emit.KEEP_MAX`` bytes: past it, buffers are made per
    call as before."""
    g, feeds, outs, wrt = lenet(batch=8)
    every = kept_bytes(gn.compile(g, outputs=outs[:1], wrt=wrt).source)
    cap = sum(every) // 2
    monkeypatch.setattr(emit, "KEEP_MAX", cap)
    f = gn.compile(g, outputs=outs[:1], wrt=wrt)
    some = kept_bytes(f.source)
    assert 0 < len(some) < len(every) and sum(some) <= cap
    ref = gn.run(g, feeds, outputs=outs[:1], wrt=wrt)
    for _ in range(2):
        res = f(feeds)
        for w in wrt:
            np.testing.assert_allclose(res.grad(w.name), ref.grad(w), rtol=RTOL, atol=ATOL)


def test_threads_have_their_own_buffers() -> None:
    """Two threads calling one compiled LeNet step at once, each with its own batch: each
    gets its own buffers, so each gets its own batch's gradients."""
    g, feeds, outs, wrt = lenet(batch=64, dtype="float32")
    f = gn.compile(g, outputs=outs[:1], wrt=wrt)
    batches = [feeds, scaled(feeds, -0.5)]
    want = [gn.run(g, b, outputs=outs[:1], wrt=wrt) for b in batches]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(k: int) -> None:
        try:
            start.wait()
            for _ in range(15):
                r = f(batches[k])
                for w in wrt:
                    np.testing.assert_allclose(r.grad(w.name), want[k].grad(w),
                                               rtol=2e-4, atol=1e-6)
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_saved_module_keeps_buffers_too(tmp_path: Any, keep_all: None) -> None:
    g, feeds, outs, wrt = lenet(batch=2)
    f = gn.compile(g, outputs=outs[:1], wrt=wrt)
    assert "_kept(" in f.source
    path = f.save(tmp_path / "lenet_kept.py")
    ns: dict[str, Any] = {}
    exec(compile(open(path).read(), path, "exec"), ns)  # noqa: S102 - the saved module
    ref = gn.run(g, feeds, outputs=outs[:1], wrt=wrt)
    for _ in range(2):
        _, grads = ns["run"](**feeds)
        for w in wrt:
            np.testing.assert_allclose(grads[w.name], ref.grad(w), rtol=RTOL, atol=ATOL)


def test_free_buffers_and_kept_bytes() -> None:
    """``kept_bytes`` counts this thread's buffers; ``free_buffers`` drops them and the
    next call makes them again, with the same results; another thread starts with none."""
    g, feeds, outs, wrt = lenet(batch=64, dtype="float32")
    f = gn.compile(g, outputs=outs[:1], wrt=wrt)
    assert f.kept_bytes() == 0
    r1 = f(feeds)
    held = f.kept_bytes()
    assert held == sum(kept_bytes(f.source)) > 0
    other: list[int] = []
    t = threading.Thread(target=lambda: other.append(f.kept_bytes()))
    t.start()
    t.join()
    assert other == [0]
    f.free_buffers()
    assert f.kept_bytes() == 0
    r2 = f(feeds)
    assert f.kept_bytes() == held
    for w in wrt:
        np.testing.assert_array_equal(r2.grad(w.name), r1.grad(w.name))
