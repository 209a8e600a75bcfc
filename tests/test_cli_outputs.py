"""render, compile and train through click's CliRunner (checked against the library)."""

from __future__ import annotations

import numpy as np
import pytest

import graphnn as gn
from tests.cli_util import EXAMPLES, MODELS, invoke

NEURON = EXAMPLES / "models" / "neuron.py"
MLP = EXAMPLES / "models" / "mlp_342.py"


# -- render -------------------------------------------------------------------------
@pytest.mark.parametrize("suffix,magic", [("svg", b"<"), ("png", b"\x89PNG"), ("pdf", b"%PDF"),
                                          ("dot", b"digraph")])
def test_render_formats_from_suffix(tmp_path, suffix: str, magic: bytes) -> None:
    out = tmp_path / f"g.{suffix}"
    r = invoke("render", NEURON, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes().lstrip()[: len(magic)] == magic
    assert r.stdout.startswith(f"wrote {out}")


def test_render_dot_to_stdout_shows_lecture_values_and_gradients() -> None:
    r = invoke("render", "--format", "dot", "-o", "-")
    assert r.exit_code == 0
    dot = r.stdout
    assert dot.startswith("digraph") and "value -8" in dot and "grad -2" in dot


def test_render_format_overrides_suffix_and_bad_suffix(tmp_path) -> None:
    out = tmp_path / "picture.img"
    assert invoke("render", "-o", out).exit_code == 2
    r = invoke("render", "-o", out, "--format", "svg")
    assert r.exit_code == 0 and out.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert invoke("render", "--format", "jpg").exit_code == 2


def test_render_without_values_and_without_grads(tmp_path) -> None:
    r = invoke("render", "--no-values", "--format", "dot", "-o", "-")
    assert "value" not in r.stdout
    r = invoke("render", "--no-grads", "--format", "dot", "-o", "-")
    assert "value -8" in r.stdout and "grad " not in r.stdout


def test_render_step_shows_the_state_after_that_step() -> None:
    r = invoke("render", "--step", "6", "--format", "dot", "-o", "-")
    assert r.exit_code == 0, r.stderr
    dot = r.stdout
    # after the first backward step: d and z have gradients, x and y not yet
    assert "value -2\\ngrad 4" in dot and "value 4\\ngrad -2" in dot
    assert "value 1\\ngrad" not in dot
    r = invoke("render", "--step", "8")  # step k of n counts from 1, as `graphnn trace` does
    assert r.exit_code == 2 and "there is no step 8: the trace has steps 1 to 7" in r.stderr
    assert invoke("render", "--step", "7", "--format", "dot", "-o", "-").exit_code == 0


# -- train ------------------------------------------------------------------------------
XOR = EXAMPLES / "models" / "xor_mlp.py"


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


def test_train_errors() -> None:
    r = invoke("train", MODELS / "graph_var.py")
    assert r.exit_code == 1 and "model()" in r.stderr
    assert invoke("train", XOR, "--epochs", "0").exit_code == 2
    assert invoke("train", XOR, "-o", "x.txt").exit_code == 2

# -- compile --------------------------------------------------------------------------
def test_compile_source_to_stdout_and_check() -> None:
    r = invoke("compile")
    assert r.exit_code == 0 and "def compute(x, y, z)" in r.stdout
    r = invoke("compile", MLP, "--check")
    assert r.exit_code == 0 and "agree" in r.stdout


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


def test_compile_show_passes_cupy_and_options(tmp_path) -> None:
    r = invoke("compile", "--expr", "sigmoid(w * x + b) * sigmoid(w * x + b)", "--show-passes")
    assert r.exit_code == 0 and "== optimize" in r.stdout and "merged" in r.stdout
    out = tmp_path / "gen_cupy.py"
    r = invoke("compile", MLP, "--backend", "cupy", "--wrt", "params", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert "cupy" in out.read_text()
    r = invoke("compile", "--no-grad", "--no-optimize", "--passes", "cse")
    assert r.exit_code == 0 and "def compute(x, y, z)" in r.stdout
    # a usage error (exit 2) since issue 14: the pass names are known before loading
    r = invoke("compile", "--passes", "nosuchpass")
    assert r.exit_code == 2 and "unknown pass" in r.stderr


def test_compile_keeps_large_buffers_unless_told_not_to(tmp_path) -> None:
    model = tmp_path / "wide.py"
    model.write_text(
        "import numpy as np\nimport graphnn as gn\n\n\n"
        "def build():\n"
        "    with gn.Graph('wide') as g:\n"
        "        x = gn.input('x', shape=(256, 256))\n"
        "        gn.sum(gn.tanh(x) * x).named('loss')\n"
        "    return g\n\n\n"
        "def feeds():\n"
        "    return {'x': np.linspace(-1, 1, 65536).reshape(256, 256)}\n")
    r = invoke("compile", model, "--check")
    assert r.exit_code == 0 and "agree" in r.stdout, r.stderr
    kept = invoke("compile", model)
    assert kept.exit_code == 0 and "_kept(1, (256, 256), 'float64')" in kept.stdout
    plain = invoke("compile", model, "--no-keep-buffers")
    assert plain.exit_code == 0 and "_kept" not in plain.stdout and "def compute(" in plain.stdout


def test_render_graph_with_two_outputs() -> None:
    two = MODELS / "two_outputs.py"
    r = invoke("render", two, "--format", "dot", "-o", "-")
    assert r.exit_code == 0 and "2 outputs" in r.stderr and "grad " not in r.stdout
    r = invoke("render", two, "--of", "ex", "--format", "dot", "-o", "-")
    assert r.exit_code == 0 and "grad " in r.stdout
    assert invoke("grad-check", two).exit_code == 2  # several outputs: say which with --of
    assert invoke("grad-check", two, "--of", "sq").exit_code == 0


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


@pytest.mark.parametrize("engine", ["dot", "wasm"])
def test_render_engines(tmp_path, engine: str) -> None:
    import shutil

    if engine == "dot" and shutil.which("dot") is None:
        pytest.skip("no system Graphviz `dot` on PATH")
    out = tmp_path / "lecture.svg"
    r = invoke("render", "--engine", engine, "-o", out)
    if r.exit_code == 1 and engine == "wasm" and "wasm" in r.stderr.lower():
        pytest.skip(f"in-process Graphviz unavailable: {r.stderr.strip()}")
    assert r.exit_code == 0, r.stderr
    assert "<svg" in out.read_text()
