"""The real-network examples (18 transformer block, 19 ResNet basic block, 20 RNN/LSTM
backprop through time): each writes its files, agrees with PyTorch float64, renders
collapsed and expanded, and the RNN's shared-weight gradient is the sum of its per-step
contributions."""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
from typing import Any

import numpy as np
import pytest

import graphnn as gn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
FILES = {
    "18_transformer_block.py": ["18_transformer_collapsed.svg", "18_transformer_expanded.svg",
                                "18_transformer_backprop.html"],
    "19_resnet_block.py": ["19_resnet_collapsed.svg", "19_resnet_expanded.svg",
                           "19_resnet_backprop.html"],
    "20_rnn_bptt.py": ["20_rnn_collapsed.svg", "20_rnn_expanded.svg", "20_rnn_bptt.html",
                       "20_lstm_collapsed.svg", "20_lstm_expanded.svg"],
}
# (script, keyword arguments of its network() / torch_diffs())
NETS = [("18_transformer_block.py", {}), ("19_resnet_block.py", {}),
        ("20_rnn_bptt.py", {"cell": "rnn"}), ("20_rnn_bptt.py", {"cell": "lstm"})]
NET_IDS = ["transformer", "resnet", "rnn", "lstm"]
GROUPS = {"transformer": ["self_attention", "add_norm1", "feed_forward", "add_norm2"],
          "resnet": ["conv1", "bn1", "relu1", "conv2", "bn2", "shortcut"],
          "rnn": ["t1", "t2", "t3", "t4"], "lstm": ["t1", "t2", "t3", "t4"]}


def load(script: str) -> Any:
    """The example as a module (its main() is not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{script[:2]}",
                                                  os.path.join(EXAMPLES, script))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("script", sorted(FILES))
def test_example_writes_its_files(script: str, tmp_path: Any, monkeypatch: Any,
                                  capsys: Any) -> None:
    monkeypatch.setenv("GRAPHNN_FAST", "1")
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", [script, "--out", str(out)])
    monkeypatch.syspath_prepend(EXAMPLES)
    monkeypatch.chdir(tmp_path)
    with np.printoptions():  # the script sets its own print options as __main__
        runpy.run_path(os.path.join(EXAMPLES, script), run_name="__main__")
    text = capsys.readouterr().out
    assert "EXPECTED" not in text and "could not render" not in text
    for name in FILES[script]:
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    assert sorted(os.listdir(out)) == sorted(FILES[script])  # nothing written elsewhere
    assert os.listdir(tmp_path) == ["out"]  # --out is honoured: nothing in the cwd


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize(("script", "kw"), NETS, ids=NET_IDS)
def test_network_matches_torch_float64(script: str, kw: dict[str, Any], seed: int) -> None:
    pytest.importorskip("torch")
    diffs = load(script).torch_diffs(seed=seed, **kw)
    assert diffs is not None
    assert any(k.startswith("grad ") for k in diffs)
    bad = {k: d for k, d in diffs.items() if not d <= 1e-10}
    assert not bad, bad


@pytest.mark.parametrize(("script", "kw"), NETS, ids=NET_IDS)
def test_network_renders_collapsed_and_expanded(script: str, kw: dict[str, Any],
                                                request: Any) -> None:
    g, feeds, nodes, _ = load(script).network(**kw)
    r = gn.run(g, feeds, loss=nodes["loss"])
    assert np.isfinite(float(r.value(nodes["loss"])))
    groups = GROUPS[request.node.callspec.id.split("-")[-1]]
    top = {n.group.split("/")[0] for n in g.nodes if n.group}
    assert set(groups) <= top
    collapsed = gn.render(g, run=r, format="svg", collapse=True)
    expanded = gn.render(g, run=r, format="svg", collapse=False)
    collapsed = collapsed.decode() if isinstance(collapsed, bytes) else collapsed
    expanded = expanded.decode() if isinstance(expanded, bytes) else expanded
    assert "<svg" in collapsed and "<svg" in expanded
    assert all(name in collapsed for name in groups)
    assert len(expanded) > len(collapsed)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_rnn_shared_weight_gradient_is_the_sum_of_the_steps(cell: str) -> None:
    ex = load("20_rnn_bptt.py")
    g, feeds, nodes, params = ex.network(cell)
    r = gn.run(g, feeds, loss=nodes["loss"], wrt=list(params.values()))
    ug, ufeeds, unodes, uparams = ex.network(cell, shared=False)
    ur = gn.run(ug, ufeeds, loss=unodes["loss"], wrt=list(uparams.values()))
    np.testing.assert_allclose(ur.value(unodes["loss"]), r.value(nodes["loss"]), rtol=0,
                               atol=1e-14)
    t = gn.trace(g, feeds, loss=nodes["loss"], wrt=list(params.values()))
    for k in ex.WEIGHTS:
        total = r.grad(params[k])
        per_step = [ur.grad(uparams[(k, s)]) for s in range(1, ex.STEPS + 1)]
        # computed separately: a copy of the weights per step, gradients summed by hand
        np.testing.assert_allclose(sum(per_step), total, rtol=0, atol=1e-12)
        # from the trace: one contribution per step, each the unshared copy's gradient
        parts = ex.step_contributions(t, params[k])
        assert [s for s, _ in parts] == [f"t{s}" for s in range(ex.STEPS, 0, -1)]
        for s, c in parts:
            np.testing.assert_allclose(c, per_step[int(s[1:]) - 1], rtol=0, atol=1e-12)
        # the trace's fan-out sums: STEPS - 1 additions, the last one is the gradient
        acc = [s for s in t.backward if s.kind == "accumulate" and s.node is params[k]]
        assert len(acc) == ex.STEPS - 1
        np.testing.assert_allclose(acc[-1].total, total, rtol=0, atol=1e-12)
        running = parts[0][1]
        for a, (_, c) in zip(acc, parts[1:]):
            np.testing.assert_allclose(a.previous, running, rtol=0, atol=1e-12)
            np.testing.assert_allclose(a.contribution, c, rtol=0, atol=1e-12)
            running = running + c
