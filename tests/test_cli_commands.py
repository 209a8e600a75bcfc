"""Each subcommand through click's CliRunner, checked against the library (not against
hard-coded numbers, except the lecture example's)."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from graphnn_cli.main import COMMANDS
from tests.cli_util import EXAMPLES, MODELS, has, invoke

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
    for name, op in gn.REGISTRY.items():
        if not op.leaf:
            assert f"\n{name} " in "\n" + r.stdout
    r = invoke("ops", "sigmoid", "tanh")
    assert "y*(1 - y)" in r.stdout and "1 - y^2" in r.stdout


def test_ops_markdown_latex_and_unknown() -> None:
    r = invoke("ops", "--markdown", "mul")
    assert r.stdout.startswith("| op |") and "`a*b`" in r.stdout
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
    assert "step 7/7" in out
    assert "d = x + y = 1 + (-3) = -2" in out and "= -8" in out
    assert out.strip().splitlines()[-1] == "gradients: df/dx = 4, df/dy = 4, df/dz = -2"


def test_trace_table_markdown_latex() -> None:
    assert "backward" in invoke("trace", "--table").stdout
    assert invoke("trace", "--markdown").stdout.lstrip().startswith("|")
    assert "tabular" in invoke("trace", "--latex").stdout


def test_trace_expr_with_feeds_and_wrt() -> None:
    r = invoke("trace", "--all", "--expr", "x * x + x", "--feed", "x=3", "--wrt", "x")
    assert r.exit_code == 0
    assert r.stdout.strip().endswith("df/dx = 7")


def test_trace_random_feeds_are_announced_and_seeded() -> None:
    a = invoke("trace", "--all", "--expr", "tanh(x)", "--seed", "3")
    b = invoke("trace", "--all", "--expr", "tanh(x)", "--seed", "3")
    assert "random" in a.stderr and a.stdout == b.stdout


@pytest.mark.skipif(not has("render"), reason="gn.render (render branch) not in this build")
@pytest.mark.parametrize("flag,suffix", [("--html", "html"), ("--gif", "gif")])
def test_trace_exports_player(tmp_path, flag: str, suffix: str) -> None:
    out = tmp_path / f"lecture.{suffix}"
    r = invoke("trace", flag, out)
    if r.exit_code != 0 and "rendering is unavailable" in r.stderr:
        pytest.skip("graphnn.viz.player not in this build: " + r.stderr.strip())
    assert r.exit_code == 0, r.stderr
    assert out.stat().st_size > 0
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
    assert "df/dx = [ 1., -2.]" in r.stdout


# -- render -------------------------------------------------------------------------
needs_render = pytest.mark.skipif(not has("render"),
                                  reason="gn.render (render branch) not in this build")


@needs_render
@pytest.mark.parametrize("suffix,magic", [("svg", b"<"), ("png", b"\x89PNG"), ("pdf", b"%PDF"),
                                          ("dot", b"digraph")])
def test_render_formats_from_suffix(tmp_path, suffix: str, magic: bytes) -> None:
    out = tmp_path / f"g.{suffix}"
    r = invoke("render", NEURON, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes().lstrip()[: len(magic)] == magic
    assert r.stdout.startswith(f"wrote {out}")


@needs_render
def test_render_dot_to_stdout_shows_lecture_values_and_gradients() -> None:
    r = invoke("render", "--format", "dot", "-o", "-")
    assert r.exit_code == 0
    dot = r.stdout
    assert dot.startswith("digraph") and "value -8" in dot and "grad -2" in dot


@needs_render
def test_render_format_overrides_suffix_and_bad_suffix(tmp_path) -> None:
    out = tmp_path / "picture.img"
    assert invoke("render", "-o", out).exit_code == 2
    r = invoke("render", "-o", out, "--format", "svg")
    assert r.exit_code == 0 and out.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert invoke("render", "--format", "jpg").exit_code == 2


@needs_render
def test_render_without_values_and_without_grads(tmp_path) -> None:
    r = invoke("render", "--no-values", "--format", "dot", "-o", "-")
    assert "value" not in r.stdout
    r = invoke("render", "--no-grads", "--format", "dot", "-o", "-")
    assert "value -8" in r.stdout and "grad " not in r.stdout


# -- compile --------------------------------------------------------------------------
@pytest.mark.skipif(has("compile"), reason="gn.compile exists: the real tests below run")
def test_compile_without_codegen_fails_with_one_line() -> None:
    r = invoke("compile")
    assert r.exit_code == 1 and "no gn.compile" in r.stderr


# -- train ------------------------------------------------------------------------------
XOR = EXAMPLES / "models" / "xor_mlp.py"
needs_fit = pytest.mark.skipif(not (has("fit") and has("nn")),
                               reason="gn.fit / gn.nn (nn branch) not in this build")


@needs_fit
def test_train_writes_checkpoint_and_history(tmp_path) -> None:
    import json

    ckpt, hist = tmp_path / "xor.npz", tmp_path / "h.json"
    r = invoke("train", XOR, "--epochs", "4", "-o", ckpt, "--history", hist)
    assert r.exit_code == 0, r.stderr
    h = json.loads(hist.read_text())
    assert len(h["train_loss"]) == 4 and h["train_loss"][-1] < h["train_loss"][0]
    assert r.stdout.splitlines()[0].split()[:2] == ["epoch", "loss"]
    import importlib.util

    spec = importlib.util.spec_from_file_location("xor_mlp_t", XOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with np.load(ckpt) as f:
        assert set(f.files) == set(mod.model().named_values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.json", "xor.npz"]
    again = invoke("train", XOR, "--epochs", "1", "-o", ckpt, "--resume", "-q")
    assert again.exit_code == 0 and "resumed" in again.stderr


@needs_fit
def test_train_errors() -> None:
    r = invoke("train", MODELS / "graph_var.py")
    assert r.exit_code == 1 and "model()" in r.stderr
    assert invoke("train", XOR, "--epochs", "0").exit_code == 2
    assert invoke("train", XOR, "-o", "x.txt").exit_code == 2


needs_compile = pytest.mark.skipif(not has("compile"),
                                   reason="gn.compile (codegen branch) not in this build")


@needs_compile
def test_compile_source_to_stdout_and_check() -> None:
    r = invoke("compile")
    assert r.exit_code == 0 and "def compute(x, y, z)" in r.stdout
    r = invoke("compile", MLP, "--check")
    assert r.exit_code == 0 and "agree" in r.stdout


@needs_compile
def test_compile_saved_module_matches_the_interpreter(tmp_path) -> None:
    import importlib.util

    out = tmp_path / "mlp_gen.py"
    r = invoke("compile", MLP, "-o", out)
    assert r.exit_code == 0, r.stderr
    spec = importlib.util.spec_from_file_location("mlp_gen", out)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    spec2 = importlib.util.spec_from_file_location("mlp_src", MLP)
    src = importlib.util.module_from_spec(spec2)
    spec2.loader.exec_module(src)
    g = src.build()
    ref = gn.run(g, src.feeds(), wrt=["W1", "x"])
    values, grads = mod.run(src.feeds())
    np.testing.assert_allclose(values["L"], ref.value("L"))
    np.testing.assert_allclose(grads["W1"], ref.grad("W1"))
    np.testing.assert_allclose(grads["x"], ref.grad("x"))


@needs_compile
def test_compile_show_passes_cupy_and_options(tmp_path) -> None:
    r = invoke("compile", "--expr", "sigmoid(w * x + b)", "--show-passes")
    assert r.exit_code == 0 and "== cse" in r.stdout
    out = tmp_path / "gen_cupy.py"
    r = invoke("compile", MLP, "--backend", "cupy", "--wrt", "params", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert "cupy" in out.read_text()
    r = invoke("compile", "--no-grad", "--no-optimize", "--passes", "cse")
    assert r.exit_code == 0 and "def compute(x, y, z)" in r.stdout
    r = invoke("compile", "--passes", "nosuchpass")
    assert r.exit_code == 1 and "unknown pass" in r.stderr


@needs_render
def test_render_graph_with_two_outputs() -> None:
    two = MODELS / "two_outputs.py"
    r = invoke("render", two, "--format", "dot", "-o", "-")
    assert r.exit_code == 0 and "2 outputs" in r.stderr and "grad " not in r.stdout
    r = invoke("render", two, "--of", "ex", "--format", "dot", "-o", "-")
    assert r.exit_code == 0 and "grad " in r.stdout
    assert invoke("grad-check", two).exit_code == 2  # several outputs: say which with --of
    assert invoke("grad-check", two, "--of", "sq").exit_code == 0


@pytest.mark.skipif(not hasattr(getattr(gn, "nn", None), "alexnet"),
                    reason="gn.nn.alexnet (nn branch) not in this build")
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


@needs_render
def test_render_step_shows_the_state_after_that_step() -> None:
    r = invoke("render", "--step", "6", "--format", "dot", "-o", "-")
    assert r.exit_code == 0, r.stderr
    dot = r.stdout
    # after the first backward step: d and z have gradients, x and y not yet
    assert "value -2\\ngrad 4" in dot and "value 4\\ngrad -2" in dot
    assert "value 1\\ngrad" not in dot
    assert invoke("render", "--step", "99").exit_code == 2


@needs_fit
def test_train_a_hand_built_graph(tmp_path) -> None:
    ckpt = tmp_path / "logreg.npz"
    r = invoke("train", MODELS / "graph_train.py", "-o", ckpt)
    assert r.exit_code == 0, r.stderr
    losses = [float(ln.split()[1]) for ln in r.stdout.splitlines()[1:6]]
    assert len(losses) == 5 and losses[-1] < losses[0]
    with np.load(ckpt) as f:
        assert set(f.files) == {"w", "b"}
    r = invoke("train", MODELS / "graph_train.py", "--batch-size", "4")
    assert r.exit_code == 2 and "first axis" in r.stderr


def test_grad_check_samples_large_tensors(tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "W.npy", rng.normal(size=(200, 300)) * 0.05)
    np.save(tmp_path / "x.npy", rng.normal(size=300))
    r = invoke("grad-check", "--expr", "sum(tanh(W @ x))", "--feed", f"W={tmp_path / 'W.npy'}",
               "--feed", f"x={tmp_path / 'x.npy'}", "--max-entries", "8")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "(200, 300)" in r.stdout and ": ok" in r.stdout


@pytest.mark.parametrize("expr,grad", [("sum(x, 0)", "[1., 1.]"),
                                       ("sum(leaky_relu(x, 0.1))", "[1. , 0.1]"),
                                       ("sum(leaky_relu(x, negative_slope=0.1), axis=0)",
                                        "[1. , 0.1]")])
def test_expr_static_params_positional_and_keyword(expr: str, grad: str) -> None:
    r = invoke("trace", "--all", "--expr", expr, "--feed", "x=[1,-2]")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip().endswith(f"df/dx = {grad}")
