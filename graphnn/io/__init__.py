"""Everything that crosses the process boundary: files, ONNX and expression text.

One API, object first, path second (as ``g.save(path)`` reads):

* ``gn.save(target, path)``: by suffix. ``.json`` writes the whole graph in the versioned
  JSON format (docs/format.md; a Graph only), ``.npz`` writes the parameter values (and
  BatchNorm state) of a Graph or an ``nn`` model. ``g.save(path)`` is ``gn.save(g, path)``.
* ``gn.load(path)`` reads a graph file back; ``gn.load(path, target)`` reads parameter
  values (from an ``.npz`` or from a graph file) into ``target`` in place.
* ``gn.to_onnx(g, path)`` / ``gn.from_onnx(model)``: ONNX (optional ``onnx`` extra).
* ``parse(text)`` / ``gn.from_sympy(expr)``: the one safe expression parser (io/expr.py),
  shared by the CLI's ``--expr``.

>>> import os, tempfile, numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     w = gn.param("w", [1.0, 2.0])
>>> folder = tempfile.mkdtemp()
>>> gn.save(g, os.path.join(folder, "g.json")) == os.path.join(folder, "g.json")
True
>>> p = gn.save(g, os.path.join(folder, "w.npz"))
>>> g.set_value(w, [0.0, 0.0]); gn.load(p, g); g.value_of(w)
array([1., 2.])
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from graphnn.core.errors import GraphError
from graphnn.core.op import ADAPTERS
from graphnn.io.expr import parse
from graphnn.io.format import FormatError, dumps, load, loads
from graphnn.io.format import save as save_graph
from graphnn.io.onnx import OnnxError, from_onnx, to_onnx
from graphnn.io.sympy_in import from_sympy
from graphnn.io.values import save_values

__all__ = ["FormatError", "OnnxError", "dumps", "from_onnx", "from_sympy", "load", "loads",
           "parse", "save", "save_graph", "save_values", "to_onnx"]


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def save(target: Any, path: str | os.PathLike[str], *, params: str = "embed") -> str:
    """Save ``target`` (a Graph or an nn model) to ``path``; the format comes from the
    suffix: ``.json`` is the graph file, ``.npz`` (or no suffix) the parameter values.
    Returns the path written. ``params="npz"`` keeps a graph file's values in an .npz
    beside it. The older order ``save(path, target)`` still works, with a warning."""
    if _is_path(target) and not _is_path(path):
        warnings.warn("gn.save(path, target) is deprecated: use gn.save(target, path)",
                      FutureWarning, stacklevel=2)
        target, path = path, target
    if not _is_path(path):
        raise GraphError(f"save: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if path.endswith(".json"):
        if not hasattr(target, "nodes"):
            raise GraphError(f"save: {path}: a .json file holds a whole Graph; save a "
                             f"model's values to .npz instead (got {type(target).__name__})")
        save_graph(target, path, params=params)
        return path
    return save_values(target, path)


ADAPTERS["save"] = save_graph  # Graph.save(path) in core reaches the JSON writer through this
