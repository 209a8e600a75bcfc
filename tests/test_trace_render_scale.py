"""Scale of the teaching views (issue 14 item 11, issue 16 item 4), checked structurally
(no timings): a trace's sympy work is bounded by its op patterns, no per-step scan of all
steps, cached formulas equal direct sympy, shared scalar constants are no hubs, and a
drawing over the engine's budget is refused before Graphviz runs."""

from __future__ import annotations

import gc
from collections import Counter
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.teach import localform, narrate
from graphnn.teach.tracefmt import latex_name, paused_gc
from graphnn.viz import engine as E
from graphnn.viz.dot import dot_size, to_dot
from tests.cli_util import invoke
from tests.op_cases import CASES


def chain(n: int, shared: Any = 0.999) -> gn.Graph:
    """x -> alternating ``h * c`` and ``tanh(h)``, one shared scalar constant c."""
    with gn.Graph("chain") as g:
        x = gn.input("x")
        c = gn.const(shared)
        h = x
        for i in range(n):
            h = gn.tanh(h) if i % 2 else h * c
    return g


# -- trace: sympy once per pattern, no scans of all steps --------------------------------


def test_sympy_runs_once_per_op_pattern_not_per_step(monkeypatch) -> None:
    calls = Counter()
    real = localform.partials

    def counting(op: Any, *a: Any, **k: Any) -> Any:
        calls[op.name] += 1
        return real(op, *a, **k)

    monkeypatch.setattr(localform, "partials", counting)
    monkeypatch.setattr(localform, "_TEMPLATES", {})
    g = chain(600)
    t = gn.trace(g, {"x": 0.5})
    table = t.to_table()
    pairs = {(n.op.name, tuple(sorted(n.params))) for n in g.nodes if not n.op.leaf}
    assert len(pairs) == 2 and sum(calls.values()) <= len(pairs)
    assert table.count("local ∂") == 600


def test_seed_and_fan_in_do_not_scan_the_steps() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        w = gn.param("w", np.array(0.5))
        h = x
        for _ in range(40):
            h = gn.tanh(h * w)
    t = gn.trace(g, {"x": 0.3})

    class Counted(list):
        iterations = 0

        def __iter__(self) -> Any:
            Counted.iterations += 1
            return super().__iter__()

        def __getitem__(self, i: Any) -> Any:
            Counted.iterations += isinstance(i, slice)
            return super().__getitem__(i)

    want = [narrate.accumulate_text(s) for s in t if s.kind == "accumulate"]
    seeds = [narrate.is_seed(s) for s in t]
    t.fan_in(next(s for s in t if s.kind == "accumulate"))  # builds the index once
    t.steps = Counted(t.steps)
    assert [narrate.accumulate_text(s) for s in t.steps.copy() if s.kind == "accumulate"] \
        == want
    assert [narrate.is_seed(s) for s in list.__iter__(t.steps)] == seeds
    assert Counted.iterations == 0 and sum(seeds) == 1


def test_fan_in_terms_match_a_scan_of_all_steps() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        f = (x * x + gn.tanh(x) * x + gn.exp(x)).named("f")
    t = gn.trace(g, {"x": 0.7})
    for s in t:
        if s.kind != "accumulate":
            continue
        terms = [(v.node.name, c) for v in t.steps[: s.index + 1] if v.kind == "vjp"
                 for i, c in zip(v.inputs, v.contributions) if i is s.node and c is not None]
        sums = sum(1 for v in t.steps[: s.index + 1]
                   if v.kind == "accumulate" and v.node is s.node)
        assert narrate.fan_in_terms(s) == terms[: sums + 1]
    assert float(t.run.grad(x)) == pytest.approx(float(gn.run(g, {"x": 0.7}, wrt=[x])
                                                       .grad(x)))
    assert f.name == "f"


def _direct(node: Any) -> list[tuple[str, str] | None]:
    """The formulas sympy gives with the real names (no pattern cache)."""
    import sympy as sp

    from graphnn.teach.symval import partials

    def shown(i: Any) -> Any:
        if i.op.name == "const" and i.size == 1:
            v = float(np.asarray(i.params["value"]).reshape(-1)[0])
            return sp.Integer(int(v)) if v.is_integer() else sp.Symbol(gn.teach.numfmt.fmt_num(v))
        return sp.Symbol(i.name)

    syms = sp.symbols(f"a0:{len(node.inputs)}", real=True)
    parts = partials(node.op, sp.Symbol(node.name), syms, **dict(node.params))
    out: list[tuple[str, str] | None] = []
    for k, (d, inp) in enumerate(zip(parts, node.inputs)):
        if d is None or k in node.op.nondiff:
            out.append(None)
            continue
        d = d.subs({s: shown(i) for s, i in zip(syms, node.inputs)})
        lhs = (r"\frac{\partial " + latex_name(node.name) + r"}{\partial "
               + latex_name(inp.name) + "}")
        out.append((f"∂{node.name}/∂{inp.name} = {sp.sstr(d)}", f"{lhs} = {sp.latex(d)}"))
    return out


NAMES = [("y", "a", "b"), ("a", "zz", "m"), ("add_1", "x1", "h"), ("0.5x", "k", "-w")]


@pytest.mark.parametrize("opname", sorted(n for n, o in gn.REGISTRY.items()
                                          if o.elementwise and o.deriv is not None))
def test_cached_formulas_equal_direct_sympy(opname: str) -> None:
    case = CASES[opname][0]
    dtypes = [np.asarray(v).dtype for v in case.inputs]
    for out_name, a, b in NAMES:
        for variant in ("names", "int const", "float const", "same input"):
            with gn.Graph():
                ins: list[Any] = []
                for k, dt in enumerate(dtypes):
                    if dt.kind != "f":  # a bool condition (where): always an input
                        ins.append(gn.input(f"c{k}", dtype=dt))
                    elif variant == "int const" and k == len(case.inputs) - 1 and k:
                        ins.append(gn.const(2.0))
                    elif variant == "float const" and k == 0:
                        ins.append(gn.const(0.75))
                    elif (variant == "same input" and k == 1 == len(dtypes) - 1
                          and dtypes[0] == dt):
                        # binary ops only: with a third input, sympy orders a vacuous
                        # comparison (a >= a) by the names it meets mid-substitution, so
                        # the cached and the direct text differ in that order only

                        ins.append(ins[0])
                    else:
                        ins.append(gn.input((a, b)[k % 2] + ("" if k < 2 else str(k))))
                node = gn.bind(gn.REGISTRY[opname], *ins, **case.params).named(out_name)
            got = [None if f is None else (f.text, f.latex) for f in
                   localform.local_formulas(node)]
            assert got == _direct(node), (opname, out_name, variant)


def test_paused_gc_restores_the_collector_state() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- render: no constant hubs, a budget checked before Graphviz runs -----------------------


def _out_degrees(src: str) -> Counter:
    return Counter(line.split(" -> ")[0].strip() for line in src.splitlines() if " -> " in line)


def test_a_shared_scalar_constant_is_drawn_once_per_consumer() -> None:
    g = chain(500)
    src = to_dot(g)
    degrees = _out_degrees(src)
    assert max(degrees.values()) <= 1  # a chain: no DOT node feeds two others
    copies = [k for k in degrees if k.startswith('"const_1')]
    assert len(copies) == 250
    assert dot_size(g) == (len(g.nodes) - 1 + 250, sum(degrees.values()))


def test_a_constant_used_once_keeps_its_name() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        y = (x * 3.0).named("y")
    src = to_dot(g)
    assert '"const_1" -> "y"' in src and "·" not in src
    assert y.name == "y"


def test_copies_never_take_an_existing_name() -> None:
    with gn.Graph() as g:
        x = gn.input("x")
        c = gn.const(0.5, name="c")
        gn.input("c·1")
        ((x * c).named("p") + (x * c).named("q")).named("s")
    src = to_dot(g)
    assert '"c·1·" -> "p"' in src and '"c·2" -> "q"' in src and '"c·1" ->' not in src


def _no_engine(monkeypatch) -> None:
    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("Graphviz must not run for an over-budget drawing")

    monkeypatch.setattr(E, "_run_wasm", boom)
    monkeypatch.setattr(E, "_run_dot", boom)


@pytest.mark.parametrize("engine", ["wasm", "dot"])
def test_an_over_budget_render_raises_before_the_engine(monkeypatch, engine: str) -> None:
    _no_engine(monkeypatch)
    monkeypatch.setattr(E, "which_dot", lambda: "/usr/bin/dot")
    g = chain(E.MAX_NODES[engine])
    with pytest.raises(gn.GraphError, match=r"max_nodes=\d+ .*--max-nodes"):
        gn.render(g, engine=engine)
    assert gn.render(g, format="dot", engine=engine).startswith("digraph")  # no limit


def test_the_budget_counts_edges_too(monkeypatch) -> None:
    _no_engine(monkeypatch)
    monkeypatch.setitem(E.MAX_NODES, "wasm", 400)
    monkeypatch.setattr(E, "EDGES_PER_NODE", 1)
    with gn.Graph() as g:  # 330 nodes, 600 edges
        xs = [gn.input(f"x{i}") for i in range(30)]
        for a in xs:
            for b in xs[:10]:
                _ = a + b
    nodes, edges = dot_size(g)
    assert (nodes, edges) == (330, 600)
    with pytest.raises(gn.GraphError, match="400 edges"):
        gn.render(g, engine="wasm")


def test_max_nodes_overrides_the_budget(monkeypatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(E, "_run_wasm", lambda src, fmt: seen.append(src) or b"<svg></svg>")
    g = chain(60)
    with pytest.raises(gn.GraphError, match="collapse|show_grads"):
        gn.render(g, engine="wasm", max_nodes=20)
    assert not seen
    gn.render(g, engine="wasm", max_nodes=200)
    assert len(seen) == 1


def test_cli_render_refuses_an_over_budget_graph(monkeypatch, tmp_path) -> None:
    _no_engine(monkeypatch)
    path = tmp_path / "chain.json"
    chain(E.MAX_NODES["wasm"]).save(path)
    r = invoke("render", path, "--engine", "wasm", "--no-values", "-o", tmp_path / "c.svg")
    assert r.exit_code != 0 and "--max-nodes" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "c.svg").exists()
