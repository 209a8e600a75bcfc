"""-o to special files, symlinks, stdout; temporary files never litter (issue 14.6, 14.10)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphnn.core import fileio
from tests.cli_util import invoke

GRAPHNN = [sys.executable, "-m", "graphnn_cli.main"]


def run_cli(*args: str, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([*GRAPHNN, *args], capture_output=True, timeout=120, **kw)


def test_dash_writes_the_module_to_stdout() -> None:
    res = run_cli("compile", "-o", "-")
    assert res.returncode == 0, res.stderr
    compile(res.stdout.decode(), "<stdout>", "exec")
    assert b"wrote -" in res.stderr


def test_dev_stdout_is_written_through_not_replaced(tmp_path: Path) -> None:
    with open(tmp_path / "out.py", "wb") as out:
        res = subprocess.run([*GRAPHNN, "compile", "-o", "/dev/stdout"], stdout=out,
                             stderr=subprocess.PIPE, timeout=120)
    assert res.returncode == 0, res.stderr
    assert os.path.islink("/dev/stdout")
    compile((tmp_path / "out.py").read_text(), "<out>", "exec")


def test_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    proc = subprocess.Popen([*GRAPHNN, "compile", "-o", str(fifo)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    with open(fifo, "rb") as f:
        data = f.read()
    assert proc.wait(timeout=120) == 0
    assert fifo.is_fifo() and b"def compute" in data


def test_device_full_is_an_error_and_stays_a_device() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    res = run_cli("compile", "-o", "/dev/full")
    assert res.returncode == 1
    assert b"No space left" in res.stderr and b"Traceback" not in res.stderr
    assert Path("/dev/full").is_char_device()


def test_symlink_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("old")
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    assert invoke("compile", "-o", tmp_path / "link.py").exit_code == 0
    assert (tmp_path / "link.py").is_symlink()
    assert "def compute" in (tmp_path / "real.py").read_text()


def test_unwritable_output_is_a_clean_error(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: object, **kw: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)
    res = invoke("compile", "-o", tmp_path / "m.py")
    assert res.exit_code == 1
    assert "cannot write" in res.output and "Permission denied" in res.output


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".m.py{fileio.TMP_MARK}{dead}-abc.py"
    stale.write_text("half")
    mine = tmp_path / f".m.py{fileio.TMP_MARK}{os.getpid()}-abc.py"
    mine.write_text("in progress")
    fileio.atomic_write(tmp_path / "m.py", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, "m.py"])


def test_nested_atomic_writes_leave_one_file(tmp_path: Path) -> None:
    with fileio.atomic_path(tmp_path / "ck.json") as tmp:
        fileio.atomic_write(tmp, "inner")
        assert sorted(p.name for p in tmp_path.iterdir()) == [tmp.name]
    assert [p.name for p in tmp_path.iterdir()] == ["ck.json"]


def test_sigterm_removes_the_temporary_file(tmp_path: Path) -> None:
    code = ("import sys, time; from graphnn_cli.main import _terminate; import signal\n"
            "signal.signal(signal.SIGTERM, _terminate)\n"
            "from graphnn.core.fileio import atomic_path\n"
            f"with atomic_path({str(tmp_path / 'out.txt')!r}) as t:\n"
            "    t.write_text('x'); print('ready', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    time.sleep(0.05)
    assert list(tmp_path.iterdir()) == []
