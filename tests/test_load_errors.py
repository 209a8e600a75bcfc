"""gn.load raises only FormatError (a GraphError), whatever the file holds (issue 14)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest

import graphnn as gn


@pytest.fixture
def doc(tmp_path: Path) -> dict:
    with gn.Graph("g") as g:
        x = gn.input("x", shape=(2,))
        w = gn.param("w", np.ones(2))
        g.mark_output(gn.sum(x * w).named("f"))
    g.save(tmp_path / "g.json")
    d = json.loads((tmp_path / "g.json").read_text())
    d.pop("checksum", None)
    return d


def load_doc(tmp_path: Path, d: dict) -> gn.Graph:
    p = tmp_path / "m.json"
    p.write_text(json.dumps(d))
    return gn.load(p)


def test_huge_line_number_in_loc(tmp_path: Path, doc: dict) -> None:
    d = copy.deepcopy(doc)
    d["graph"]["nodes"][0]["loc"] = "f.py:" + "9" * 4300
    g = load_doc(tmp_path, d)  # an unusable loc is ignored, like any malformed loc
    assert "9" * 20 not in str(g.nodes[0].loc)
    d["graph"]["nodes"][0]["loc"] = "f.py:\u00b2"
    load_doc(tmp_path, d)


def test_object_valued_params(tmp_path: Path, doc: dict) -> None:
    d = copy.deepcopy(doc)
    d["graph"]["nodes"][-1]["params"] = {"axis": {"$list": [{"$list": [1]}, 2]}}
    with pytest.raises(gn.FormatError):
        load_doc(tmp_path, d)


@pytest.mark.parametrize("name", ["a\x00b.json", "/dev/zero", "."])
def test_bad_names_and_non_regular_files(name: str) -> None:
    with pytest.raises(gn.FormatError):
        gn.load(name)


def test_symlink_to_a_device_is_not_read(tmp_path: Path) -> None:
    os.symlink("/dev/zero", tmp_path / "z.json")
    with pytest.raises(gn.FormatError, match="not a regular file"):
        gn.load(tmp_path / "z.json")


def test_file_over_the_size_budget(tmp_path: Path, doc: dict,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "g.json"
    monkeypatch.setenv("GRAPHNN_MAX_BYTES", "100")
    with pytest.raises(gn.FormatError, match="size budget"):
        gn.load(p)


def test_not_a_path() -> None:
    with pytest.raises(gn.FormatError):
        gn.load(12.5)  # type: ignore[arg-type]


def test_killed_npz_save_leaves_no_orphan_after_the_next_save(tmp_path: Path) -> None:
    with gn.Graph("g") as g:
        w = gn.param("w", np.ones(3))
        g.mark_output(gn.sum(w).named("f"))
    g.save(tmp_path / "g.json", params="npz")
    # a save killed after writing its values but before the graph file: an orphan
    (tmp_path / "g.json.0123456789ab.npz").write_bytes(b"orphan")
    keep = [tmp_path / "other.json.0123456789ab.npz", tmp_path / "g.json.0123.npz",
            tmp_path / "g.json.0123456789AB.npz", tmp_path / "g.json.0123456789ab.npz.bak"]
    for k in keep:
        k.write_bytes(b"not ours")
    g.set_value("w", np.full(3, 2.0))
    g.save(tmp_path / "g.json", params="npz")
    npz = sorted(p.name for p in tmp_path.glob("g.json.*.npz"))
    assert len(npz) == 3 and "g.json.0123456789ab.npz" not in npz  # the new one + 2 kept
    assert all(k.exists() for k in keep)
    assert float(gn.run(gn.load(tmp_path / "g.json")).value("f")) == 6.0
    g.save(tmp_path / "g.json")  # embedded values: no npz of this graph is left
    assert sorted(p.name for p in tmp_path.glob("g.json.*.npz")) == [
        "g.json.0123.npz", "g.json.0123456789AB.npz"]
