"""graphnn.core.fileio: the one atomic-write implementation every writer uses."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import graphnn as gn
from graphnn.core.fileio import atomic_file, atomic_path, atomic_write, default_mode


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_write_bytes_and_text_with_normal_permissions(tmp_path) -> None:
    atomic_write(tmp_path / "a.bin", b"\x00\x01")
    atomic_write(tmp_path / "b.txt", "héllo")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo"
    assert _mode(tmp_path / "a.bin") == default_mode()  # not mkstemp's 0600
    atomic_write(tmp_path / "c", b"x", mode=0o640)
    assert _mode(tmp_path / "c") == 0o640
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.txt", "c"]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failing_write_leaves_previous_file_intact(tmp_path, error) -> None:
    target = tmp_path / "m.npz"
    target.write_bytes(b"previous")
    with pytest.raises(type(error)), atomic_file(target) as f:
        f.write(b"half of the new con")
        raise error
    with pytest.raises(type(error)), atomic_path(target) as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == tmp_path
        tmp.write_bytes(b"new")
        raise error
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file left behind


def test_missing_folder_is_an_error_without_leftovers(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "nope" / "a.txt", "x")
    assert os.listdir(tmp_path) == []


def test_library_writers_use_it(tmp_path) -> None:
    with gn.Graph("w") as g:
        w = gn.param("w", [1.0, 2.0])
        y = gn.sum(w * w)
    paths = [gn.save(g, tmp_path / "params.npz"),
             gn.compile(g, outputs=[y]).save(tmp_path / "mod.py")]
    g.save(tmp_path / "g.json")
    paths.append(tmp_path / "g.json")
    for p in paths:
        assert _mode(p) == default_mode()
    with np.load(paths[0]) as f:
        np.testing.assert_array_equal(f["w"], [1.0, 2.0])
    assert sorted(os.listdir(tmp_path)) == ["g.json", "mod.py", "params.npz"]
