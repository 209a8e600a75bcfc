"""An op failing at run time inside a compiled function (a class index out of range, an
index out of bounds) is reported as the interpreter reports it: a GraphError naming the
op, the node, its shape and the line that created it, with the op's own error after it;
the fused optimizer update has not run, so no param changed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.codegen import emit


def _ce() -> tuple[gn.Graph, gn.Node]:
    rng = np.random.default_rng(0)
    with gn.Graph("ce") as g:
        x, t = g.input("x", (4, 3)), g.input("t", (4,), "int64")
        w = gn.param("w", rng.normal(size=(3, 5)))
        gn.cross_entropy(gn.tanh(x @ w), t).named("loss")  # the line the error names
    return g, w


LINE = "tests/test_compiled_errors.py:22"
FEEDS = {"x": np.ones((4, 3)), "t": np.array([0, 1, 9, 2])}


@pytest.mark.parametrize("optimize", [True, False])
def test_the_failing_node_is_named_like_the_interpreter_names_it(optimize: bool) -> None:
    g, w = _ce()
    f = gn.compile(g, ["loss"], wrt=[w], optimize=optimize)
    with pytest.raises(gn.GraphError) as compiled:
        f(FEEDS)
    with pytest.raises(gn.GraphError) as interpreted:
        gn.run(g, FEEDS, outputs=["loss"], wrt=[w])
    assert str(compiled.value) == str(interpreted.value)
    assert str(compiled.value).startswith(
        f"cross_entropy failed at 'loss' (cross_entropy, shape (), float64) created at {LINE}: "
        "ValueError: class index out of range [0, 5): found 9")
    assert compiled.value.node is not None and compiled.value.node.name == "loss"
    assert isinstance(compiled.value.__cause__, ValueError)


def test_named_in_a_function_emitted_in_parts(monkeypatch: Any) -> None:
    monkeypatch.setattr(emit, "CHUNK_MIN", 1)
    monkeypatch.setattr(emit, "PART_SIZE", 1)
    g, w = _ce()
    f = gn.compile(g, ["loss"], wrt=[w])
    assert "\ndef _part_1(" in f.source
    with pytest.raises(gn.GraphError, match=r"cross_entropy failed at 'loss' .*found 9"):
        f(FEEDS)


def test_a_failing_step_updates_nothing() -> None:
    g, w = _ce()
    before = g.value_of(w).copy()
    step = gn.compile(g, ["loss"], wrt=[w], optimizer=gn.optim.Adam([w], lr=0.1))
    with pytest.raises(gn.GraphError, match="class index out of range"):
        step(FEEDS)
    np.testing.assert_array_equal(g.value_of(w), before)
    step({**FEEDS, "t": np.array([0, 1, 4, 2])})  # a good batch then trains as usual
    assert not np.array_equal(g.value_of(w), before)


def test_index_out_of_bounds() -> None:
    """An IndexError from a helper (index_select's bounds check) is named the same way."""
    with gn.Graph("pick") as g:
        t = g.input("t", (3,), "int64")
        w = gn.param("w", np.arange(8.0).reshape(4, 2))
        gn.sum(gn.index_select(w, 0, t) ** 2).named("loss")
    f = gn.compile(g, ["loss"], wrt=[w])
    with pytest.raises(gn.GraphError, match=r"index_select failed at .*IndexError: "
                                            r"index_select: index 6 is out of bounds"):
        f({"t": np.array([0, 6, 1])})


def test_out_of_memory_names_the_node_and_keeps_the_bytes() -> None:
    """An allocation failing in a statement (here the conv helper raising the MemoryError
    NumPy raises, with the bytes it asked for) names the conv node; nothing is updated."""
    rng = np.random.default_rng(1)
    with gn.Graph("conv") as g:
        x = g.input("x", (2, 1, 6, 6))
        w = gn.param("w", rng.normal(size=(3, 1, 3, 3)))
        gn.sum(gn.conv2d(x, w).named("feat") ** 2).named("loss")
    step = gn.compile(g, ["loss"], wrt=[w], optimizer=gn.optim.SGD([w], lr=0.1))
    before = g.value_of(w).copy()

    def no_memory(*a: Any, **k: Any) -> Any:
        raise MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000, 1000, "
                          "1000) and data type float64")

    step.function.__globals__["_conv2d"] = no_memory
    with pytest.raises(gn.GraphError, match=r"conv2d failed at 'feat' \(conv2d, shape "
                                            r"\(2, 3, 4, 4\), float64\) created at .*"
                                            r"MemoryError: Unable to allocate 7.45 GiB"):
        step({"x": np.ones((2, 1, 6, 6))})
    np.testing.assert_array_equal(g.value_of(w), before)


def test_a_failure_outside_the_statements_is_not_pinned_on_a_node() -> None:
    """An error in the fused update (after every statement) is raised as it is: no node
    computed it."""
    g, w = _ce()
    step = gn.compile(g, ["loss"], wrt=[w], optimizer=gn.optim.SGD([w], lr=0.1))
    glb = step.function.__globals__
    names = [k for k in glb if k.startswith("_update_")]
    assert names

    def broken(*a: Any) -> None:
        raise RuntimeError("the update broke")

    for k in names:
        glb[k] = broken
    with pytest.raises(RuntimeError, match="the update broke"):
        step({**FEEDS, "t": np.array([0, 1, 4, 2])})
