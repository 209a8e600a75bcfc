"""``gn.save`` / ``gn.load``: every param (and BatchNorm state) of a model or a graph in
one .npz file, written atomically.

>>> import os, tempfile, numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     w = gn.param("w", [1.0, 2.0])
>>> path = save(os.path.join(tempfile.mkdtemp(), "w.npz"), g)
>>> g.value_of(w)[...] = 0.0
>>> load(path, g); g.value_of(w)
array([1., 2.])
"""

from __future__ import annotations

import os

import numpy as np

from graphnn.core.errors import FeedError, GraphError
from graphnn.core.fileio import atomic_file
from graphnn.core.ir import Graph
from graphnn.nn.module import Module


def _values_of(target: Module | Graph) -> dict[str, np.ndarray]:
    if isinstance(target, Module):
        return target.named_values()
    return {p.name: target.value_of(p) for p in target.params}


def save(path: str | os.PathLike[str], target: Module | Graph) -> str:
    """Write every param (and BatchNorm state) of a model or graph to ``path`` (.npz),
    atomically: a temporary file in the same folder, then ``os.replace``."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    with atomic_file(path) as f:
        np.savez(f, **_values_of(target))
    return path


def load(path: str | os.PathLike[str], target: Module | Graph) -> None:
    """Read values written by :func:`save` into a model or graph, in place."""
    with np.load(os.fspath(path)) as f:
        data = {k: f[k] for k in f.files}
    if isinstance(target, Module):
        target.load_state_dict(data)
        return
    own = {p.name: p for p in target.params}
    missing = sorted(set(own) - set(data))
    if missing:
        raise GraphError(f"load: {path} has no values for params {missing}")
    for name, p in own.items():
        v = np.asarray(data[name], dtype=p.dtype)
        if v.shape != p.shape:
            raise FeedError(f"load: {name!r} has shape {v.shape} in {path}, "
                               f"the graph wants {p.shape}", node=p)
        target.value_of(p)[...] = v


__all__ = ["load", "save"]
