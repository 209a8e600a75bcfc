"""grad-check, jacobian, ops, summary and trace through click's CliRunner, checked against
the library (not against hard-coded numbers, except the lectures')."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from graphnn.ops.support import internal
from graphnn_cli.main import COMMANDS
from tests.cli_util import EXAMPLES, MODELS, invoke

NEURON = EXAMPLES / "models" / "neuron.py"
MLP = EXAMPLES / "models" / "mlp_342.py"


def test_version() -> None:
    r = invoke("--version")
    assert r.exit_code == 0 and r.stdout.startswith("graphnn, version ")
    assert invoke("-V").stdout == r.stdout


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_every_command_has_help_with_a_worked_example(cmd: str) -> None:
    r = invoke(cmd, "--help")
    assert r.exit_code == 0
    assert "Example" in r.stdout and f"graphnn {cmd}" in r.stdout


def test_top_level_help_lists_every_command() -> None:
    r = invoke("--help")
    assert r.exit_code == 0
    for cmd in COMMANDS:
        assert cmd in r.stdout


# -- grad-check ---------------------------------------------------------------------
def test_grad_check_lecture_lists_every_node_and_passes() -> None:
    r = invoke("grad-check")
    assert r.exit_code == 0, r.stderr
    for name in ("d", "f", "x", "y", "z"):
        assert f"\n{name} " in "\n" + r.stdout
    assert "worst relative error" in r.stdout and "ok" in r.stdout.splitlines()[-1]


def test_grad_check_fails_on_a_wrong_derivative_rule(monkeypatch) -> None:
    """A deliberately broken vjp is caught, pinned to its node, and exits 1."""
    import dataclasses

    from graphnn.core import op as op_mod

    good = gn.REGISTRY["tanh"]
    bad = dataclasses.replace(good, vjp=lambda g, out, a: (g * (1.0 + out * out),))
    monkeypatch.setitem(op_mod.REGISTRY, "tanh", bad)
    monkeypatch.setattr(gn.ops.activations, "TANH", bad)
    r = invoke("grad-check", "--expr", "sum(tanh(w * x))", "--feed", "x=[0.5,1.0]",
               "--feed", "w=[1.0,-2.0]")
    assert r.exit_code == 1
    *_, culprit, last = r.stdout.strip().splitlines()
    assert "FAILED" in last
    assert "first wrong local derivative: node 'tanh_1' (tanh) w.r.t. input 'mul_1'" in culprit


def test_grad_check_quiet_and_module_level_graph() -> None:
    r = invoke("grad-check", "-q", MODELS / "graph_var.py")
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.strip().splitlines()) == 1


# -- jacobian -----------------------------------------------------------------------
def test_jacobian_prints_both_modes_and_saves_npy(tmp_path) -> None:
    out = tmp_path / "J.npy"
    r = invoke("jacobian", MLP, "--of", "o", "--wrt", "x", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert "forward" in r.stdout and "reverse" in r.stdout and "agree" in r.stdout
    import importlib.util

    spec = importlib.util.spec_from_file_location("mlp", MLP)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    g = mod.build()
    ref = gn.jacobian(g, "o", "x", mod.feeds(), mode="reverse")
    np.testing.assert_allclose(np.load(out), np.asarray(ref).reshape(2, 3))


def test_jacobian_lecture_and_text_output(tmp_path) -> None:
    r = invoke("jacobian", "--wrt", "z", "--mode", "forward")
    assert r.exit_code == 0
    assert "[[-2.]]" in r.stdout  # df/dz = x + y = -2
    out = tmp_path / "J.csv"
    assert invoke("jacobian", "--wrt", "x", "-o", out).exit_code == 0
    assert float(out.read_text()) == 4.0


def test_jacobian_bad_output_suffix_is_usage_error(tmp_path) -> None:
    assert invoke("jacobian", "-o", tmp_path / "J.png").exit_code == 2


# -- ops ----------------------------------------------------------------------------
def test_ops_lists_every_registered_op_with_derived_derivatives() -> None:
    r = invoke("ops")
    assert r.exit_code == 0
    everything = invoke("ops", "--all").stdout
    for name, op in gn.REGISTRY.items():
        if not op.leaf:
            assert f"\n{name} " in "\n" + everything
            assert (f"\n{name} " in "\n" + r.stdout) != internal(op), name
    r = invoke("ops", "sigmoid", "tanh", "abs", "avg_pool2d")
    assert "y·(1 - y)" in r.stdout and "1 - y²" in r.stdout and "y = |x|" in r.stdout
    assert "``" not in r.stdout and "2-D average pooling (PyTorch's F.avg_pool2d)" in r.stdout


def test_ops_markdown_latex_and_unknown() -> None:
    r = invoke("ops", "--markdown", "mul")
    assert r.stdout.startswith("| op |") and "`y = a*b`" in r.stdout
    assert "\\frac" in invoke("ops", "--latex", "div").stdout
    assert invoke("ops", "nosuchop").exit_code == 1


# -- summary ------------------------------------------------------------------------
def test_summary_counts_params_per_layer() -> None:
    r = invoke("summary", MLP)
    assert r.exit_code == 0, r.stderr
    lines = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines() if ln.strip()}
    assert lines["layer1"][-2:] == ["16", "12"]  # W1 4x3 + b1 4; 12 multiply-adds
    assert lines["layer2"][-2:] == ["10", "8"]
    assert lines["total"][1] == "26"


def test_summary_of_expr_and_module_level_graph() -> None:
    r = invoke("summary", "--expr", "sigmoid(W @ x)", "--feed", "W=[[1,2],[3,4]]",
               "--feed", "x=[1,1]")
    assert r.exit_code == 0 and "(2,)" in r.stdout
    assert invoke("summary", MODELS / "graph_var.py").exit_code == 0


# -- trace (non-interactive; the key-driven player is in test_cli_trace_pty.py) ---------
def test_trace_all_prints_every_step_with_lecture_numbers() -> None:
    r = invoke("trace", "--all")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "step 7 of 7" in out and "step 0" not in out
    assert "local ∂f/∂d = z = 4" in out and "∂f/∂d = ∂f/∂f · local ∂f/∂d = 1 · 4 = 4" in out
    assert "seed ∂f/∂f = 1   (L = f: the output being differentiated)" in out
    assert "df/d" not in out
    assert "d = x + y = 1 + (-3) = -2" in out and "= -8" in out
    assert out.strip().splitlines()[-1] == "gradients: ∂f/∂x = 4, ∂f/∂y = 4, ∂f/∂z = -2"


def test_trace_table_markdown_latex() -> None:
    assert "backward" in invoke("trace", "--table").stdout
    assert invoke("trace", "--markdown").stdout.lstrip().startswith("|")
    assert "tabular" in invoke("trace", "--latex").stdout


def test_trace_expr_with_feeds_and_wrt() -> None:
    r = invoke("trace", "--all", "--expr", "x * x + x", "--feed", "x=3", "--wrt", "x")
    assert r.exit_code == 0
    assert r.stdout.strip().endswith("∂f/∂x = 7")
    assert "fan-out sum ∂f/∂x = 1 (via f) + 3 (via mul_1) + 3 (via mul_1) = 7" in r.stdout


def test_trace_random_feeds_are_announced_and_seeded() -> None:
    a = invoke("trace", "--all", "--expr", "tanh(x)", "--seed", "3")
    b = invoke("trace", "--all", "--expr", "tanh(x)", "--seed", "3")
    assert "random" in a.stderr and a.stdout == b.stdout


@pytest.mark.parametrize("flag,suffix", [("--html", "html"), ("--gif", "gif")])
def test_trace_exports_player(tmp_path, flag: str, suffix: str) -> None:
    out = tmp_path / f"lecture.{suffix}"
    r = invoke("trace", flag, out)
    assert r.exit_code == 0, r.stderr
    head = out.read_bytes()[:200].lower()
    assert head.startswith(b"gif8") if suffix == "gif" else b"<html" in head
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp files left


# -- atomic writes ------------------------------------------------------------------
def test_atomic_path_leaves_target_untouched_on_interrupt(tmp_path) -> None:
    from graphnn_cli.common import atomic_path

    target = tmp_path / "img.svg"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["img.svg"]


def test_output_into_missing_folder_is_an_error(tmp_path) -> None:
    r = invoke("jacobian", "-o", tmp_path / "no" / "J.npy")
    assert r.exit_code == 1 and "does not exist" in r.stderr


def test_feed_from_npy_file(tmp_path) -> None:
    np.save(tmp_path / "x.npy", np.array([0.5, -1.0]))
    r = invoke("trace", "--all", "--expr", "sum(x * x)", "--feed", f"x={tmp_path / 'x.npy'}")
    assert r.exit_code == 0, r.stderr
    assert "∂f/∂x = [1, -2]" in r.stdout


def test_summary_alexnet_lecture_table() -> None:
    r = invoke("summary", EXAMPLES / "models" / "alexnet.py", "--hwc")
    assert r.exit_code == 0, r.stderr
    rows = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines() if ln.strip()}
    assert rows["conv1"][2] == "55x55x96" and rows["pool3"][2] == "6x6x256"
    assert rows["total"][-1] == "60,965,224"  # the lecture's count (two groups)
    r = invoke("summary", EXAMPLES / "models" / "alexnet.py", "--input-shape", "3x227x227")
    assert r.exit_code == 0 and "(96, 55, 55)" in r.stdout
    r = invoke("summary", EXAMPLES / "models" / "alexnet.py", "--input-shape", "3,131,131")
    assert r.exit_code == 1 and "9216" in r.stderr  # the FC layer wants 6x6x256 inputs
    assert invoke("summary", EXAMPLES / "models" / "alexnet.py",
                  "--input-shape", "3,a").exit_code == 2


def test_grad_check_samples_large_tensors(tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "W.npy", rng.normal(size=(200, 300)) * 0.05)
    np.save(tmp_path / "x.npy", rng.normal(size=300))
    r = invoke("grad-check", "--expr", "sum(tanh(W @ x))", "--feed", f"W={tmp_path / 'W.npy'}",
               "--feed", f"x={tmp_path / 'x.npy'}", "--max-entries", "8")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "(200, 300)" in r.stdout and ": ok" in r.stdout


@pytest.mark.parametrize("expr,grad", [("sum(x, 0)", "[1, 1]"),
                                       ("sum(leaky_relu(x, 0.1))", "[1, 0.1]"),
                                       ("sum(leaky_relu(x, negative_slope=0.1), axis=0)",
                                        "[1, 0.1]")])
def test_expr_static_params_positional_and_keyword(expr: str, grad: str) -> None:
    r = invoke("trace", "--all", "--expr", expr, "--feed", "x=[1,-2]")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip().endswith(f"∂f/∂x = {grad}")


def test_jacobian_over_several_wrt_is_the_block_jacobian() -> None:
    r = invoke("jacobian")  # the lecture graph, every input: [df/dx, df/dy, df/dz]
    assert r.exit_code == 0, r.stderr
    assert "Jacobian df/d(x, y, z): 1 x 3" in r.stdout and "[[ 4.  4. -2.]]" in r.stdout
    assert "3 sweeps" in r.stdout
    r = invoke("jacobian", "--wrt", "x,z", "--mode", "reverse")
    assert r.exit_code == 0 and "[[ 4. -2.]]" in r.stdout and "2 sweeps" in r.stdout
    r = invoke("jacobian", "--wrt", "z", "--mode", "forward")
    assert "computed in forward mode: 1 sweep, 1 multiply-add" in r.stdout


def test_trace_html_quiz_rankdir_and_collapse(tmp_path) -> None:
    import json
    import re

    page, mlp = tmp_path / "mlp.html", str(EXAMPLES / "models" / "mlp_342.py")
    r = invoke("trace", mlp, "--html", str(page), "--quiz", "grad", "--rankdir", "tb",
               "--collapse")
    assert r.exit_code == 0, r.stderr
    text = page.read_text()
    assert 'data-rankdir="TB"' in text
    steps = json.loads(re.search(r'id="steps-data">(.*?)</script>', text, re.S).group(1))
    asked = [q for s in steps for q in s.get("q", [])]
    assert asked and {q["kind"] for q in asked} == {"grad"}
    assert json.loads(re.search(r'id="page-data">(.*?)</script>', text, re.S).group(1))["quiz"]
    plain = tmp_path / "plain.html"
    assert invoke("trace", mlp, "--html", str(plain)).exit_code == 0
    assert '"q":' not in plain.read_text()
    bad = invoke("trace", "--quiz", "value")
    assert bad.exit_code == 2 and "--html" in bad.stderr


def test_ops_formulas_are_readable_math() -> None:
    out = invoke("ops", "leaky_relu", "relu", "hardtanh", "where", "remainder").stdout
    for raw in ("Piecewise", "Heaviside", "Max(", "Subs(", "Derivative", "True)"):
        assert raw not in out, raw
    assert "{x if x > 0, 0.01·x otherwise}" in out and "dy/dx = H(x)" in out
    assert "dy/db = -floor(a/b)" in out and "x ≥ 1.0 or x ≤ -1.0" in out
    assert "H(x): the unit step" in out  # the legend, once
