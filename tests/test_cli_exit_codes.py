"""Exit statuses of the command line for hostile arguments: usage errors exit 2, runtime
failures exit 1, and neither prints a traceback (issue 14)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from tests.cli_util import invoke

GRAPH_CMDS = [["compile"], ["summary"], ["trace", "--all"], ["grad-check"], ["jacobian"],
              ["render", "--format", "dot"]]


def short(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "--debug" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 2, result.stderr
    return result.stderr


def test_negative_precision_is_a_usage_error() -> None:
    assert "--precision" in short(invoke("jacobian", "--precision", "-3"), 2)


def test_unknown_pass_is_a_usage_error() -> None:
    err = short(invoke("compile", "--passes", "cse,nosuch"), 2)
    assert "nosuch" in err and "simplify" in err


def test_deeply_nested_feed_is_a_usage_error() -> None:
    text = "[" * 5000 + "1" + "]" * 5000
    assert "nested" in short(invoke("trace", "--all", "--feed", f"x={text}"), 2)


def test_ragged_feed_is_a_usage_error() -> None:
    assert "array" in short(invoke("compile", "--feed", "x=[1,[2]]"), 2)


@pytest.mark.parametrize("cmd", GRAPH_CMDS, ids=lambda c: c[0])
def test_unknown_feed_fails_in_every_command(cmd: list[str]) -> None:
    assert "nosuch" in short(invoke(*cmd, "--feed", "nosuch=1"), 1)


@pytest.mark.parametrize("cmd", GRAPH_CMDS, ids=lambda c: c[0])
def test_wrong_feed_shape_fails_in_every_command(cmd: list[str]) -> None:
    assert "(2,)" in short(invoke(*cmd, "--feed", "x=[1,2]"), 1)


@pytest.mark.parametrize("cmd", GRAPH_CMDS, ids=lambda c: c[0])
def test_complex_npy_feed_fails_in_every_command(cmd: list[str], tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", np.ones((), complex))
    assert "complex" in short(invoke(*cmd, "--feed", f"x={tmp_path / 'c.npy'}"), 2)


@pytest.mark.parametrize("expr", ["exp(x,x,x)", "sum()", "leaky_relu(x, inf)"])
def test_bad_expr_calls(expr: str) -> None:
    short(invoke("compile", "--expr", expr), 1)


def test_model_raising_its_own_base_exception(tmp_path: Path) -> None:
    f = tmp_path / "boom.py"
    f.write_text("class Boom(BaseException):\n    pass\n\n\ndef build():\n"
                 "    raise Boom('bang')\n")
    err = short(invoke("compile", f), 1)
    assert "boom.py:6" in err and "Boom" in err
    f.write_text("class Boom(BaseException):\n    pass\n\n\nraise Boom('bang')\n")
    assert "boom.py:5" in short(invoke("compile", f), 1)


def test_read_only_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    err = short(invoke("compile", "-o", tmp_path / "m.py"), 1)
    assert "cannot write" in err and "m.py" in err
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_output_folder_for_real(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert "cannot write" in short(invoke("render", "-o", ro / "g.dot"), 1)
    finally:
        ro.chmod(0o755)
