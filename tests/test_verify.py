"""The IR verifier: each broken invariant is reported with the node and the problem; every
pass keeps the invariants on the codegen examples and random graphs."""

from __future__ import annotations

import ast
import pathlib
from typing import Any

import pytest

import graphnn as gn
from graphnn.codegen import compiler
from graphnn.passes.dce import dce
from graphnn.passes.rewrite import copy_graph
from graphnn.passes.verify import VerifyError, verify
from tests.test_codegen import EXAMPLES, random_graph

ROOT = pathlib.Path(__file__).resolve().parents[1]


def small() -> tuple[gn.Graph, Any, Any]:
    with gn.Graph("s") as g:
        x = gn.input("x", shape=(2, 3))
        y = gn.sum(gn.exp(x), axis=0).named("y")
    return g, x, y


def test_valid_graph_passes() -> None:
    g, _, y = small()
    verify(g, [y], dead=False)
    assert issubclass(VerifyError, gn.GraphError)


def test_wrong_shape_and_dtype_are_named() -> None:
    g, x, y = small()
    bad = g.add_node(gn.REGISTRY["exp"], (x,), {}, (3, 2), "float64", "bad")
    with pytest.raises(VerifyError, match=r"'bad'.*shape \(3, 2\) but its op derives \(2, 3\)"):
        verify(g, [y])
    g, x, y = small()
    g.add_node(gn.REGISTRY["exp"], (x,), {}, (2, 3), "float32", "bad32")
    with pytest.raises(VerifyError, match="'bad32'.*dtype float32 but its op derives float64"):
        verify(g, [y])
    assert bad.name == "bad"


def test_rejected_params_and_bad_leaves() -> None:
    g, x, y = small()
    g.add_node(gn.REGISTRY["sum"], (x,), {"axis": 5, "keepdims": False}, (), "float64", "s5")
    with pytest.raises(VerifyError, match="'s5'.*its op rejects its inputs"):
        verify(g, [y])
    g, x, y = small()
    g.add_node(gn.REGISTRY["input"], (), {"shape": (4,)}, (5,), "float64", "z")
    with pytest.raises(VerifyError, match="'z'.*shape"):
        verify(g, [y])


def test_foreign_inputs_and_order() -> None:
    g, x, y = small()
    other, ox, _ = small()
    g.add_node(gn.REGISTRY["exp"], (ox,), {}, (2, 3), "float64", "alien")
    with pytest.raises(VerifyError, match="'alien'.*input 0 is not a node of this graph"):
        verify(g, [y])
    g, x, y = small()
    g.nodes[1], g.nodes[2] = g.nodes[2], g.nodes[1]  # break the topological order
    with pytest.raises(VerifyError, match="sits at position"):
        verify(g, [y])


def test_names_outputs_and_dead_nodes() -> None:
    g, x, y = small()
    g._names[x.id] = "y"  # two nodes answering to one name
    with pytest.raises(VerifyError, match="not unique"):
        verify(g, [y])
    g, x, y = small()
    _, _, foreign = small()
    with pytest.raises(VerifyError, match="an output is not a node of this graph"):
        verify(g, [foreign])
    g, x, y = small()
    gn.log(x)
    verify(g, [y])
    with pytest.raises(VerifyError, match="'log_1'.*no output depends on it"):
        verify(g, [y], dead=False)
    h, outs, _ = dce(g, [y])
    verify(h, outs, dead=False)


def test_run_passes_names_the_broken_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(graph: gn.Graph, outputs: Any) -> Any:
        h, outs = copy_graph(graph, outputs)
        h.add_node(gn.REGISTRY["exp"], (outs[0],), {}, (7,), "float64", "oops")
        return h, outs, 1

    monkeypatch.setitem(compiler.PASSES, "broken", broken)
    g, _, y = small()
    with pytest.raises(VerifyError, match=r"after pass 'broken'.*'oops'"):
        compiler.run_passes(g, [y], ["broken"], verify=True)


@pytest.mark.parametrize("make", [*EXAMPLES.values(), *[
    (lambda s: lambda: random_graph(s))(s) for s in range(12)]])
def test_every_pass_keeps_the_invariants(make: Any) -> None:
    made = make()
    g, outs = made[0], made[2] if isinstance(made[2], list) else [made[2]]
    work, outs = copy_graph(g, outs)
    grads = gn.grad(outs[0] if outs[0].shape == () else gn.sum(outs[0]),
                    [n for n in work.nodes if n.op.leaf and n.op.name != "const"])
    work, targets, records = compiler.run_passes(
        work, outs + list(grads), compiler.DEFAULT_PASSES, rounds=4, verify=True)
    assert records
    verify(work, targets, dead=False)


def test_graph_origin_gives_provenance() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        with g.scope("layer"):
            y = gn.exp(x)
    h, (y2,) = copy_graph(g, [y])
    assert (y2.group, y2.loc) == (y.group, y.loc) == ("layer", y.loc)
    with h.origin("other", "f.py:3"):
        z = gn.tanh(y2)
    assert (z.group, z.loc) == ("other", "f.py:3")
    with pytest.raises(AttributeError):
        z.group = "x"  # type: ignore[misc]


def test_passes_build_nodes_only_through_public_constructors() -> None:
    for sub in ("graphnn/passes", "graphnn/codegen", "graphnn/io"):
        for path in (ROOT / sub).glob("*.py"):
            text = path.read_text()
            assert "object.__setattr__" not in text, path
            assert "Node(" not in text, path


def test_rules_import_nothing_from_passes() -> None:
    tree = ast.parse((ROOT / "graphnn/ops/rewrites.py").read_text())
    mods = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    mods += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert all(m in ("__future__", "collections.abc", "typing", "numpy") or
               m.startswith("graphnn.core") for m in mods if m), mods
