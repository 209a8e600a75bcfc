"""The installed ``graphnn`` executable as a subprocess: the README's main job, exit
codes, stderr without tracebacks, and a start-up that does not import numpy for --help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_util import MODELS

EXE = Path(sys.executable).parent / "graphnn"
pytestmark = pytest.mark.skipif(not EXE.exists(),
                                reason=f"graphnn is not installed next to {sys.executable}")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


def test_version_and_help() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("graphnn, version")
    r = run("--help")
    assert r.returncode == 0 and "render" in r.stdout


def test_main_job_graphnn_render_writes_the_lecture_image(tmp_path: Path) -> None:
    r = run("render", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("wrote lecture.svg")
    svg = (tmp_path / "lecture.svg").read_text()
    assert "<svg" in svg and "-8" in svg  # f = -8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture.svg"]


def test_errors_exit_1_with_a_short_message(tmp_path: Path) -> None:
    r = run("grad-check", str(MODELS / "shape_mismatch.py"))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and r.stderr.startswith("error: add:")
    assert len(r.stderr.strip().splitlines()) == 2


def test_usage_errors_exit_2() -> None:
    r = run("trace", "--feed", "x=oops")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_help_does_not_import_numpy_or_graphnn() -> None:
    code = ("import sys; from graphnn_cli.main import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'graphnn', 'sympy', 'networkx', 'graphviz') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in r.stdout, r.stdout + r.stderr


def test_closed_pipe_stops_quietly() -> None:
    p = subprocess.Popen([str(EXE), "ops"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "NO_COLOR": "1"})
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # the reader is gone before the first write (like `| head -0`)
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err
