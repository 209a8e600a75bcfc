"""Parameter values of a model or a graph in one .npz file, written atomically
(``gn.save(target, "x.npz")``; ``gn.load(path, target)`` reads them back).

>>> import os, tempfile, numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     w = gn.param("w", [1.0, 2.0])
>>> path = save_values(g, os.path.join(tempfile.mkdtemp(), "w.npz"))
>>> g.set_value(w, [0.0, 0.0])
>>> gn.load(path, g); g.value_of(w)
array([1., 2.])
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from graphnn.core.fileio import atomic_file


def _values_of(target: Any) -> dict[str, np.ndarray]:
    if hasattr(target, "named_values"):  # an nn model (its params and buffers)
        return target.named_values()
    return {p.name: target.value_of(p) for p in target.params}


def save_values(target: Any, path: str | os.PathLike[str]) -> str:
    """Write every param (and BatchNorm state) of a model or graph to ``path`` (.npz),
    atomically: a temporary file in the same folder, then ``os.replace``."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    with atomic_file(path) as f:
        np.savez(f, **_values_of(target))
    return path


__all__ = ["save_values"]
