"""Weight initialisers: uniform U(-c, c), Glorot (Xavier) and He (Kaiming).

Each takes the shape and a numpy Generator, so every draw is reproducible.
``fan_in`` of a weight of shape (out, in, kh, kw) is in * kh * kw.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> w = glorot_uniform((4, 3), rng)
>>> w.shape, bool(np.abs(w).max() <= np.sqrt(6 / 7))
((4, 3), True)
>>> fans((16, 3, 5, 5))
(75, 400)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Shape = tuple[int, ...]
Init = Callable[[Shape, np.random.Generator], np.ndarray]


def fans(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel) — PyTorch's layout."""
    if len(shape) < 2:
        n = int(shape[0]) if shape else 1
        return n, n
    rf = int(np.prod(shape[2:], dtype=np.int64)) if len(shape) > 2 else 1
    return int(shape[1]) * rf, int(shape[0]) * rf


def uniform(shape: Shape, rng: np.random.Generator, c: float = 0.05) -> np.ndarray:
    """U(-c, c): the lectures' plain initialisation (its scale matters)."""
    return rng.uniform(-c, c, size=shape)


def lecun_uniform(shape: Shape, rng: np.random.Generator, fan_in: int | None = None) -> np.ndarray:
    """U(-c, c) with c = 1/sqrt(fan_in): PyTorch's default for Linear and Conv2d."""
    fi = fan_in if fan_in is not None else fans(shape)[0]
    return uniform(shape, rng, 1.0 / np.sqrt(max(fi, 1)))


def glorot_uniform(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier: U(-c, c) with c = sqrt(6 / (fan_in + fan_out)) (for tanh/sigmoid)."""
    fi, fo = fans(shape)
    return uniform(shape, rng, float(np.sqrt(6.0 / (fi + fo))))


def glorot_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out))."""
    fi, fo = fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / (fi + fo)), size=shape)


def he_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming: N(0, 2 / fan_in) (for ReLU layers)."""
    return rng.normal(0.0, np.sqrt(2.0 / max(fans(shape)[0], 1)), size=shape)


def he_uniform(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming uniform: U(-c, c) with c = sqrt(6 / fan_in)."""
    return uniform(shape, rng, float(np.sqrt(6.0 / max(fans(shape)[0], 1))))


def zeros(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    return np.zeros(shape)


def ones(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    return np.ones(shape)


def constant(value: float) -> Init:
    """An initialiser filling with ``value``."""
    return lambda shape, rng: np.full(shape, float(value))


INITS: dict[str, Init] = {
    "uniform": uniform, "lecun": lecun_uniform, "glorot": glorot_uniform,
    "xavier": glorot_uniform, "glorot_normal": glorot_normal, "he": he_normal,
    "kaiming": he_normal, "he_uniform": he_uniform, "zeros": zeros, "ones": ones,
}


def get_init(init: str | Init) -> Init:
    """An initialiser by name (``"glorot"``, ``"he"``, ``"uniform"``, ...) or itself."""
    if callable(init):
        return init
    try:
        return INITS[init]
    except KeyError:
        raise ValueError(f"unknown initialiser {init!r}; known: {', '.join(INITS)}") from None
