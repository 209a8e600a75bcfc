"""Size budgets before work (issue 14.2, 14.3): huge declared shapes, .npz bombs and folds."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import graphnn as gn
from graphnn.core.limits import max_bytes
from graphnn.passes.fold import fold
from tests.cli_util import invoke


def bomb(path: Path) -> Path:
    with gn.Graph("bomb") as g:
        x = g.input("x", (3,))
        gn.sum(gn.broadcast_to(x, (10**5, 10**5, 3))).named("s")
    gn.save(g, path)
    return path


def test_huge_declared_shape_is_refused_at_load(tmp_path: Path) -> None:
    path = bomb(tmp_path / "bomb.json")
    assert path.stat().st_size < 2000
    with pytest.raises(gn.FormatError, match=r"broadcast_to_1.*\(100000, 100000, 3\).*240"):
        gn.load(path)


@pytest.mark.parametrize("cmd", ["compile", "render", "trace", "jacobian", "grad-check"])
def test_commands_refuse_the_bomb_quickly(tmp_path: Path, cmd: str) -> None:
    path = bomb(tmp_path / "bomb.json")
    t = time.perf_counter()
    res = invoke(cmd, path)
    assert time.perf_counter() - t < 10
    assert res.exit_code == 1 and "GRAPHNN_MAX_BYTES" in res.output


def test_budget_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with gn.Graph("g") as g:
        gn.sum(g.input("x", (1000, 1000))).named("s")
    gn.save(g, tmp_path / "g.json")
    gn.load(tmp_path / "g.json")
    monkeypatch.setenv("GRAPHNN_MAX_BYTES", "1M")
    assert max_bytes() == 1 << 20
    with pytest.raises(gn.FormatError, match="8.0 MB"):
        gn.load(tmp_path / "g.json")


def test_int64_overflowing_shape_is_refused(tmp_path: Path) -> None:
    with gn.Graph("g") as g:
        g.input("x", (3,))
    gn.save(g, tmp_path / "a.json")
    doc = json.loads((tmp_path / "a.json").read_text())
    doc["graph"]["nodes"][0]["shape"] = [2**32, 2**32, 2**32]  # int64 product: 0
    doc.pop("checksum", None)
    (tmp_path / "o.json").write_text(json.dumps(doc))
    with pytest.raises(gn.FormatError, match=r"node 0 'x'.*4294967296"):
        gn.load(tmp_path / "o.json")


def _deflated_npz(shape: tuple[int, ...]) -> bytes:
    """An .npz whose member header says ``shape`` (float64), with a tiny deflated body."""
    buf = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": shape})
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("w.npy", header.getvalue() + b"\0" * 4096)
    return buf.getvalue()


def test_npz_member_header_is_checked_before_decompressing(tmp_path: Path) -> None:
    with gn.Graph("g") as g:
        gn.sum(g.param("w", np.zeros((2, 2))) * 1.0).named("s")
    path = Path(gn.save(g, tmp_path / "g.json", params="npz"))
    doc = json.loads(path.read_text())
    npz = tmp_path / doc["npz"]["file"]
    blob = _deflated_npz((20000, 20000 * 10))
    npz.write_bytes(blob)
    import hashlib

    doc["npz"]["sha256"] = hashlib.sha256(blob).hexdigest()
    doc.pop("checksum", None)
    path.write_text(json.dumps(doc))
    with pytest.raises(gn.FormatError, match=r"w\.npy.*\(20000, 200000\).*32\.0 GB"):
        gn.load(path)


def test_fold_skips_sums_over_huge_broadcasts() -> None:
    with gn.Graph("g") as g:
        c = gn.broadcast_to(gn.const(1.0), (10**4, 10**4, 3))
        s = gn.sum(c).named("s")
    t = time.perf_counter()
    _, (s2,), n = fold(g, [s])
    assert time.perf_counter() - t < 1.0
    assert s2.op.name == "sum"
