"""Atomic file writes: a temporary file in the target's folder, fsync, then ``os.replace``.

A reader never sees a half-written file, and on any failure (an exception, Ctrl-C) the
previous file is left untouched and the temporary file is removed. The written file gets
the normal permissions of a new file (``0o666`` minus the umask), not ``mkstemp``'s 0600.

>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> atomic_write(os.path.join(d, "a.txt"), "hi")
>>> with atomic_file(os.path.join(d, "b.bin")) as f:
...     _ = f.write(b"\\x00")
>>> sorted(os.listdir(d)), open(os.path.join(d, "a.txt")).read()
(['a.txt', 'b.bin'], 'hi')
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_file", "atomic_path", "atomic_write", "default_mode", "remove_stale"]


def default_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file: ``0o666 & ~umask``."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


#: Temporary files are named ``.<target name>~gn<pid>-<random><suffix>``.
TMP_MARK = "~gn"


def _is_tmp(target: Path) -> bool:
    return target.name.startswith(".") and TMP_MARK in target.name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_stale(target: Path) -> list[str]:
    """Remove temporary files of ``target`` left by killed writers (their pid is gone)."""
    folder = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}{TMP_MARK}"
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        pid = name[len(prefix):].split("-", 1)[0] if name.startswith(prefix) else ""
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(folder / name)
                removed.append(name)
            except OSError:
                pass
    return removed


@contextmanager
def _through(target: Path) -> Iterator[Path]:
    """Write through an existing non-regular file (a device, a FIFO): the writer fills a
    private temporary file, whose bytes are then written to ``target`` in place."""
    with tempfile.TemporaryDirectory(prefix="graphnn-") as d:
        tmp = Path(d) / f"out{target.suffix}"
        tmp.touch()
        yield tmp
        with open(tmp, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` with the same suffix (so writers that pick a
    format from the suffix still work); on success it is synced and moved onto ``path``.

    ``mode`` defaults to :func:`default_mode`. On failure the temporary file is removed;
    files left by a killed writer are removed by the next write of the same ``path``.
    A symlink is followed (its target is replaced); an existing device, FIFO or other
    non-regular file is written through, never replaced; a ``path`` that is itself one of
    these temporary files (a nested atomic write) is written directly.
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        with _through(target) as tmp:
            yield tmp
        return
    target = Path(os.path.realpath(target))
    if _is_tmp(target):
        yield target
        return
    remove_stale(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{TMP_MARK}{os.getpid()}-",
                               suffix=target.suffix or ".tmp", dir=target.parent)
    tmp_path = Path(tmp)
    try:
        os.fchmod(fd, default_mode() if mode is None else mode)
        os.close(fd)
        fd = -1
        yield tmp_path
        with open(tmp_path, "rb") as f:  # the writer may have closed its own handle
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp_path.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_file(path: str | os.PathLike[str], *, mode: int | None = None,
                text: bool = False) -> Iterator[IO]:
    """Yield an open file (binary, or UTF-8 text with ``text=True``) whose content replaces
    ``path`` when the block ends without error, e.g. ``np.savez(f, ...)`` streaming into it."""
    with atomic_path(path, mode=mode) as tmp:
        with open(tmp, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as f:
            yield f


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *,
                 mode: int | None = None) -> None:
    """Write ``data`` (``str`` is encoded as UTF-8) to ``path`` atomically."""
    with atomic_file(path, mode=mode) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
