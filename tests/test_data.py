"""Data sets: seeded generators, the digits (optional), the idx reader."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import graphnn as gn


@pytest.mark.parametrize("fn", [gn.data.xor, gn.data.circles, gn.data.moons, gn.data.spirals])
def test_generators_are_seeded(fn):
    X1, y1 = fn(120, seed=4)
    X2, y2 = fn(120, seed=4)
    X3, _ = fn(120, seed=5)
    assert X1.shape == (120, 2) and X1.dtype == np.float64 and y1.dtype == np.int64
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)
    assert len(set(y1.tolist())) >= 2


def test_xor_labels_follow_the_corners():
    X, y = gn.data.xor(400, noise=0.0, seed=1)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))
    Xt, yt = gn.data.xor_table()
    assert yt.tolist() == [0, 1, 1, 0]


def test_split_keeps_rows_together():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    Xa, ya, Xb, yb = gn.data.split(X, y, test=0.3, seed=0)
    assert len(Xa) == 7 and len(Xb) == 3
    np.testing.assert_array_equal(np.r_[Xa[:, 0], Xb[:, 0]] / 2, np.r_[ya, yb])


def test_digits():
    pytest.importorskip("sklearn", reason="scikit-learn not installed (the digits extra)")
    X, y = gn.data.digits()
    assert X.shape == (1797, 1, 8, 8) and y.shape == (1797,)
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert gn.data.digits(images=False)[0].shape == (1797, 64)


def test_digits_message_without_sklearn(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"graphnn\[digits\]"):
        gn.data.digits()


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_roundtrip_and_mnist_folder(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    gn.data.write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images)
    gn.data.write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels)
    np.testing.assert_array_equal(gn.data.read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"),
                                  images)
    X, y = gn.data.mnist(tmp_path, "train")
    assert X.shape == (5, 1, 28, 28) and y.tolist() == [3, 1, 4, 1, 5]
    np.testing.assert_allclose(X[:, 0] * 255, images)


def test_idx_hand_written_header(tmp_path):
    # magic 0x00000803 (ubyte, 3 dims), sizes 2x2x3, then 12 bytes
    raw = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") * 2 + (3).to_bytes(4, "big")
    raw += bytes(range(12))
    (tmp_path / "a.idx").write_bytes(raw)
    np.testing.assert_array_equal(gn.data.read_idx(tmp_path / "a.idx"),
                                  np.arange(12).reshape(2, 2, 3))
    f32 = np.array([1.5, -2.0], dtype=">f4")
    with gzip.open(tmp_path / "b.idx.gz", "wb") as f:
        f.write(bytes([0, 0, 0x0D, 1]) + (2).to_bytes(4, "big") + f32.tobytes())
    np.testing.assert_array_equal(gn.data.read_idx(tmp_path / "b.idx.gz"), [1.5, -2.0])


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an idx file"):
        gn.data.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"ab")
    with pytest.raises(ValueError, match="header says"):
        gn.data.read_idx(tmp_path / "short")
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        gn.data.mnist(tmp_path, "test")
