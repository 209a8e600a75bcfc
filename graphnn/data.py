"""Data sets for the lectures: seeded 2-D toy sets, the 8x8 digits, MNIST idx files.

Every generator returns ``(X, y)`` with float64 features and int64 labels.

>>> X, y = xor(100, seed=0)
>>> X.shape, y.shape, sorted(set(y.tolist()))
((100, 2), (100,), [0, 1])
>>> Xa, _ = moons(50, seed=3); Xb, _ = moons(50, seed=3); bool((Xa == Xb).all())
True
"""

from __future__ import annotations

import gzip
import os
from typing import Any

import numpy as np

Dataset = tuple[np.ndarray, np.ndarray]


def xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Points around the four corners (+-1, +-1); class 1 where the signs differ."""
    rng = np.random.default_rng(seed)
    corners = rng.choice([-1.0, 1.0], size=(n, 2))
    X = corners + noise * rng.normal(size=(n, 2))
    y = (corners[:, 0] != corners[:, 1]).astype(np.int64)
    return X, y


def xor_table() -> Dataset:
    """The four XOR rows: inputs {0,1}^2, target a XOR b."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([0, 1, 1, 0], dtype=np.int64)


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """Two concentric circles (inner one = class 1)."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.int64)
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.where(y == 1, factor, 1.0)
    X = np.stack([r * np.cos(t), r * np.sin(t)], 1) + noise * rng.normal(size=(n, 2))
    return X, y


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.int64)
    t = rng.uniform(0, np.pi, n)
    X = np.where(y[:, None] == 0, np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    return X + noise * rng.normal(size=(n, 2)), y


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """``classes`` interleaved spiral arms (CS231n style)."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % classes).astype(np.int64)
    r = rng.uniform(0.05, 1.0, n)
    t = y * (2 * np.pi / classes) + 4.0 * r + noise * rng.normal(size=n)
    return np.stack([r * np.sin(t), r * np.cos(t)], 1), y


def split(X: np.ndarray, y: np.ndarray, test: float = 0.2, seed: int = 0
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into ``(X_train, y_train, X_test, y_test)``."""
    idx = np.random.default_rng(seed).permutation(len(X))
    k = int(round(len(X) * (1 - test)))
    return X[idx[:k]], y[idx[:k]], X[idx[k:]], y[idx[k:]]


def digits(images: bool = True) -> Dataset:
    """scikit-learn's 1,797 8x8 handwritten digits, scaled to [0, 1].

    ``images=True`` gives NCHW arrays (n, 1, 8, 8), else (n, 64). Needs scikit-learn
    (``pip install "graphnn[digits]"``); it ships the data, nothing is downloaded.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError(
            "gn.data.digits() needs scikit-learn, which ships the 8x8 digits: "
            'pip install "graphnn[digits]" (or pip install scikit-learn)') from None
    d = load_digits()
    X = d.images.astype(np.float64) / 16.0
    return (X[:, None] if images else X.reshape(len(X), -1)), d.target.astype(np.int64)


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
              0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an MNIST-format idx file (optionally .gz) into an array.

    The format: two zero bytes, a type code, the number of dimensions, the sizes as
    big-endian int32, then the data.
    """
    opener: Any = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an idx file (bad magic number {raw[:4]!r})")
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">i4", ndim, 4))
    count = int(np.prod(shape, dtype=np.int64))
    offset = 4 + 4 * ndim
    if len(raw) - offset != count * dtype.itemsize:
        raise ValueError(f"{path}: idx header says shape {shape} ({count * dtype.itemsize} "
                         f"bytes) but {len(raw) - offset} data bytes follow")
    return np.frombuffer(raw, dtype, count, offset).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], arr: np.ndarray) -> None:
    """Write ``arr`` (uint8, int8, int16, int32, float32 or float64) as an idx file."""
    arr = np.asarray(arr)
    code = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_TYPES.items()}
    key = arr.dtype.newbyteorder("=").str
    if key not in code:
        raise ValueError(f"write_idx: unsupported dtype {arr.dtype}")
    big = arr.astype(np.dtype(_IDX_TYPES[code[key]]))
    header = bytes([0, 0, code[key], arr.ndim]) + np.asarray(arr.shape, ">i4").tobytes()
    opener: Any = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + big.tobytes())


def mnist(folder: str | os.PathLike[str], kind: str = "train") -> Dataset:
    """MNIST (or Fashion-MNIST) from idx files you already have in ``folder``:
    ``{train,t10k}-images-idx3-ubyte[.gz]`` and the matching labels. Images come back as
    NCHW float64 in [0, 1]."""
    prefix = "train" if kind == "train" else "t10k"
    found = {}
    for what in ("images-idx3", "labels-idx1"):
        for suffix in ("-ubyte", "-ubyte.gz", ".ubyte", ".ubyte.gz"):
            p = os.path.join(folder, f"{prefix}-{what}{suffix}")
            if os.path.exists(p):
                found[what] = p
                break
        else:
            raise FileNotFoundError(f"no {prefix}-{what}-ubyte[.gz] in {folder}")
    X = read_idx(found["images-idx3"]).astype(np.float64) / 255.0
    return X[:, None], read_idx(found["labels-idx1"]).astype(np.int64)


__all__ = ["circles", "digits", "mnist", "moons", "read_idx", "spirals", "split", "write_idx",
           "xor", "xor_table"]
