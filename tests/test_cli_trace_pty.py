"""The interactive ``graphnn trace`` driven through a pseudo-terminal: keys n, p, q."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

pty = pytest.importorskip("pty", reason="pseudo-terminals need a POSIX system")

EXE = Path(sys.executable).parent / "graphnn"


def _read_until(fd: int, needle: bytes, buf: bytearray, timeout: float = 20.0) -> bytes:
    end = time.monotonic() + timeout
    while needle not in buf:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {needle!r}; got:\n{buf.decode()}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            buf.extend(chunk)
    if needle not in buf:
        raise AssertionError(f"{needle!r} never appeared; got:\n{buf.decode()}")
    i = buf.index(needle) + len(needle)
    out = bytes(buf[:i])
    del buf[:i]
    return out


@pytest.mark.skipif(not EXE.exists(), reason=f"graphnn is not installed next to {sys.executable}")
def test_trace_steps_forward_back_and_quits_on_keys() -> None:
    primary, secondary = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    proc = subprocess.Popen([str(EXE), "trace"], stdin=secondary, stdout=secondary,
                            stderr=secondary, env=env, close_fds=True)
    os.close(secondary)
    buf = bytearray()
    try:
        first = _read_until(primary, b"q: quit]", buf)
        assert b"step 1 of 7" in first and b"x = 1" in first
        os.write(primary, b"n")
        assert b"y = -3" in _read_until(primary, b"q: quit]", buf)
        os.write(primary, b"n")
        assert b"step 3 of 7" in _read_until(primary, b"q: quit]", buf)
        os.write(primary, b"p")
        back = _read_until(primary, b"q: quit]", buf)
        assert b"step 2 of 7" in back and b"y = -3" in back
        os.write(primary, b"\r")  # Enter goes forward too
        assert b"step 3 of 7" in _read_until(primary, b"q: quit]", buf)
        for _ in range(3):
            os.write(primary, b"n")
            sixth = _read_until(primary, b"q: quit]", buf)
        assert b"step 6 of 7" in sixth and "local ∂f/∂d = z = 4".encode() in sixth
        os.write(primary, b"q")
        tail = _read_until(primary, "∂f/∂z = -2".encode(), buf)
        assert "gradients: ∂f/∂x = 4".encode() in tail
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)


@pytest.mark.skipif(not EXE.exists(), reason=f"graphnn is not installed next to {sys.executable}")
def test_trace_reaches_the_last_step_and_says_so() -> None:
    primary, secondary = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([str(EXE), "trace", "--expr", "x * 2", "--feed", "x=3"],
                            stdin=secondary, stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    buf = bytearray()
    try:
        _read_until(primary, b"q: quit]", buf)
        for _ in range(6):
            os.write(primary, b"n")
        assert b"last step" in _read_until(primary, b"last step", buf)
        os.write(primary, b"q")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)
