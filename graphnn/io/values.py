"""Parameter values of a model or a graph: one .npz file, written atomically
(``gn.save(target, "x.npz")``), and the ONE loader that writes values by name into a
model or graph (:func:`load_values`: ``gn.load(path, target)`` and
``model.load_state_dict`` both use it).

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
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphnn.core.errors import FeedError, GraphError
from graphnn.core.fileio import atomic_file
from graphnn.core.ir import Graph


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


def _describe(target: Any) -> str:
    return f"graph '{target.name}'" if isinstance(target, Graph) else \
        f"model {type(target).__name__}"


def checked_values(data: Mapping[str, Any], own: Mapping[str, np.ndarray], source: str,
                   what: str = "model", strict: bool = True,
                   missing_error: type[GraphError] = FeedError) -> dict[str, np.ndarray]:
    """``data``'s arrays for every name of ``own``, cast to the dtype of ``own``'s arrays,
    after checking that none is missing (nor, if ``strict``, unexpected) and every shape
    fits; raises before anything is written.

    >>> checked_values({"w": [1, 2]}, {"w": np.zeros(2)}, "here")
    {'w': array([1., 2.])}
    """
    missing = sorted(k for k in own if k not in data)
    unexpected = sorted(k for k in data if k not in own) if strict else []
    if missing or unexpected:
        extra = f"; unexpected {unexpected}" if unexpected else ""
        raise missing_error(f"{source}: no values for params {missing} of {what}{extra}")
    out = {}
    for k, arr in own.items():
        v = np.asarray(data[k])
        if v.shape != arr.shape:
            raise FeedError(f"{source}: {k!r} has shape {v.shape}, the {what} wants "
                            f"{arr.shape}")
        out[k] = v.astype(arr.dtype, copy=False)
    return out


def load_values(target: Any, data: Mapping[str, Any], source: str = "load",
                missing_error: type[GraphError] = FeedError) -> None:
    """Write ``data`` (name -> array) into a Graph's params or a model's params and
    buffers, through ``target.set_value`` (in place, so every sharer sees it). A graph
    takes the names it has (``data`` may hold more); a model needs exactly its names.
    Everything is checked before anything is written.

    >>> import graphnn as gn
    >>> with gn.Graph("g") as g:
    ...     w = gn.param("w", [0.0, 0.0])
    >>> load_values(g, {"w": [1.0, 2.0], "other": 3.0}); g.value_of(w)
    array([1., 2.])
    """
    if isinstance(target, Graph):
        own = {p.name: target.value_of(p) for p in target.params}
    elif hasattr(target, "named_values") and hasattr(target, "set_value"):
        own = target.named_values()
    else:
        raise GraphError(f"load: target must be a Graph or a model, got "
                         f"{type(target).__name__}")
    values = checked_values(data, own, source, _describe(target),
                            strict=not isinstance(target, Graph), missing_error=missing_error)
    for name, v in values.items():
        target.set_value(name, v)


__all__ = ["checked_values", "load_values", "save_values"]
