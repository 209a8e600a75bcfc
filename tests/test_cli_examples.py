"""Every subcommand on every example model file (examples/**/*.py defining build())."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_util import EXAMPLES, invoke

MODEL_FILES = sorted(p for p in EXAMPLES.rglob("*.py")
                     if re.search(r"^def build\(", p.read_text(), re.M))
IDS = [str(p.relative_to(EXAMPLES)) for p in MODEL_FILES]


def test_examples_exist() -> None:
    names = {p.name for p in MODEL_FILES}
    assert {"neuron.py", "mlp_342.py"} <= names


@pytest.mark.parametrize("path", MODEL_FILES, ids=IDS)
def test_trace_all(path: Path) -> None:
    r = invoke("trace", "--all", path)
    assert r.exit_code == 0, r.stderr
    assert "step 1 of " in r.stdout and "gradients:" in r.stdout


@pytest.mark.parametrize("path", MODEL_FILES, ids=IDS)
def test_grad_check(path: Path) -> None:
    r = invoke("grad-check", "-q", "--max-entries", "16", path)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert ": ok" in r.stdout


@pytest.mark.parametrize("path", MODEL_FILES, ids=IDS)
def test_summary(path: Path) -> None:
    r = invoke("summary", path)
    assert r.exit_code == 0, r.stderr
    assert "total" in r.stdout


@pytest.mark.parametrize("path", MODEL_FILES, ids=IDS)
def test_jacobian(path: Path) -> None:
    r = invoke("jacobian", path, "--mode", "both")
    assert r.exit_code == 0, r.stderr
    assert "agree" in r.stdout


@pytest.mark.parametrize("path", MODEL_FILES, ids=IDS)
def test_render(path: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{path.stem}.svg"
    r = invoke("render", path, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))


@pytest.mark.parametrize("path", MODEL_FILES, ids=IDS)
def test_compile(path: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{path.stem}_gen.py"
    r = invoke("compile", path, "-o", out)
    assert r.exit_code == 0, r.stderr
    compile(out.read_text(), str(out), "exec")  # the generated source is valid Python
