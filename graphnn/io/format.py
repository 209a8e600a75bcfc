"""Safe save and load of graphs: a versioned JSON format (docs/format.md), no pickle.

Nodes are stored in topological order with their op name, input indices and static
params encoded explicitly; parameter values are embedded (base64 of little-endian bytes)
or kept in an ``.npz`` beside the file. Loading rebuilds every node through ``bind``, so
the shape rules re-validate the whole graph; any problem raises :class:`FormatError`
naming the file, what is wrong and where, and no partial graph is ever returned.
Writes are atomic (a temporary file in the same folder, then ``os.replace``).

>>> import os, tempfile, numpy as np, graphnn as gn
>>> with gn.Graph("neuron") as g:
...     x = gn.input("x", shape=(3,))
...     w = gn.param("w", np.array([0.5, -1.0, 2.0]))
...     o = gn.sigmoid(gn.sum(w * x)).named("o")
>>> with tempfile.TemporaryDirectory() as folder:
...     _ = g.save(os.path.join(folder, "neuron.json"))
...     h = gn.load(os.path.join(folder, "neuron.json"))
>>> [n.name for n in h.nodes] == [n.name for n in g.nodes]
True
>>> float(gn.run(h, {"x": [1, 2, 3]}).value("o")) == float(gn.run(g, {"x": [1, 2, 3]}).value(o))
True
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from graphnn.core.context import paused_gc
from graphnn.core.errors import GraphError
from graphnn.core.fileio import atomic_write
from graphnn.core.ir import PARAM, Graph, Node
from graphnn.core.limits import check_bytes, human, max_bytes
from graphnn.io.values import load_values

FORMAT = "graphnn"
VERSION = 1
DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64", "bool")
NODE_KEYS = {"op", "name", "inputs", "params", "shape", "dtype", "role", "group", "loc", "value"}


class FormatError(GraphError, ValueError):
    """A saved graph file is malformed, truncated, tampered with, of an unknown version,
    or describes an invalid graph. The message names the file, the problem and where."""


# -- encoding ------------------------------------------------------------------------


def encode_array(a: np.ndarray) -> dict[str, Any]:
    """``{"dtype", "shape", "data"}`` with data = base64 of the little-endian bytes."""
    a = np.asarray(a)
    if a.dtype.name not in DTYPES:
        raise GraphError(f"cannot save an array of dtype {a.dtype}")
    le = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    return {"dtype": a.dtype.name, "shape": list(a.shape),
            "data": base64.b64encode(le.tobytes()).decode("ascii")}


def encode_value(v: Any, where: str) -> Any:
    """Encode a static op parameter explicitly (tuples, lists, arrays, non-finite floats)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)) and not isinstance(v, np.bool_):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if np.isfinite(f) else {"$float": repr(f)}
    if isinstance(v, tuple):
        return {"$tuple": [encode_value(x, where) for x in v]}
    if isinstance(v, list):
        return {"$list": [encode_value(x, where) for x in v]}
    if isinstance(v, np.ndarray):
        return {"$array": encode_array(v)}
    if isinstance(v, np.dtype):
        return {"$dtype": v.name}
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        return {"$dict": {k: encode_value(x, where) for k, x in v.items()}}
    raise GraphError(f"cannot save {where}: parameter value {v!r} of type "
                     f"{type(v).__name__} has no JSON encoding")


_DTYPE_NAMES = {np.dtype(d): d for d in DTYPES}
_DTYPE_OBJS = {d: np.dtype(d) for d in DTYPES}


def _node_record(n: Node, values: Callable[[Node], Any],
                 locs: dict[tuple[str, int], str]) -> dict[str, Any]:
    params = {k: encode_value(v, f"node {n.id} '{n.name}' ({n.op.name})")
              for k, v in n.params.items() if not (n.op.leaf and k == "shape")}
    loc = locs.get(n._loc)
    if loc is None:
        loc = locs[n._loc] = n.loc
    dtype = _DTYPE_NAMES.get(n.dtype)
    if dtype is None:
        raise GraphError(f"cannot save node {n.id} '{n.name}': dtype {n.dtype} is not one of "
                         f"{', '.join(DTYPES)}")
    rec: dict[str, Any] = {"op": n.op.name, "name": n.name, "inputs": [i.id for i in n.inputs],
                           "params": params, "shape": list(n.shape), "dtype": dtype,
                           "role": n.role, "group": n.group, "loc": loc}
    if n.op is PARAM:
        rec["value"] = values(n)
    return rec


def _checksum(doc: dict[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_dict(g: Graph, npz: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """The JSON document of ``g``; with ``npz`` given, param values go there instead."""
    def values(n: Node) -> Any:
        if npz is None:
            return encode_array(g.value_of(n))
        npz[f"n{n.id}"] = np.asarray(g.value_of(n))
        return {"$npz": f"n{n.id}"}

    locs: dict[tuple[str, int], str] = {}
    doc = {"format": FORMAT, "version": VERSION,
           "graph": {"name": g.name, "nodes": [_node_record(n, values, locs) for n in g.nodes],
                     "outputs": [o.id for o in g.outputs]}}
    doc["checksum"] = _checksum(doc)
    return doc


def dumps(g: Graph) -> str:
    """The graph as JSON text (parameter values embedded), one node per line."""
    return _layout(to_dict(g))


def _layout(doc: dict[str, Any]) -> str:
    # json's C encoder only runs without indent: encode node by node, one per line
    head = {**doc, "graph": {**doc["graph"], "nodes": []}}
    body = ",\n".join(json.dumps(n, allow_nan=False) for n in doc["graph"]["nodes"])
    return json.dumps(head, allow_nan=False).replace(
        '"nodes": []', '"nodes": [\n' + body + "\n]", 1)


def save(g: Graph, path: str | os.PathLike[str], *, params: str = "embed") -> str:
    """Save ``g`` to ``path`` (JSON). ``params="npz"`` writes the values to
    ``<path>.<digest>.npz`` beside it (and removes the one the previous file used)."""
    if params not in ("embed", "npz"):
        raise GraphError(f"save: params must be 'embed' or 'npz', got {params!r}")
    path = os.fspath(path)
    if params == "embed":
        with paused_gc():
            data = dumps(g).encode("utf-8")
        atomic_write(path, data)
        _remove_stale_npz(path, None)
        return path
    arrays: dict[str, np.ndarray] = {}
    with paused_gc():
        doc = to_dict(g, arrays)
    import io as _io

    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    blob = buf.getvalue()
    digest = hashlib.sha256(blob).hexdigest()
    # the values go to a NEW file named by their digest, so the old JSON keeps pointing at
    # the old values until the new JSON replaces it: the pair is never mixed
    npz_name = f"{os.path.basename(path)}.{digest[:12]}.npz"
    doc["npz"] = {"file": npz_name, "sha256": digest}
    doc["checksum"] = _checksum(doc)
    old = _npz_of(path)
    npz_path = os.path.join(os.path.dirname(os.path.abspath(path)), npz_name)
    atomic_write(npz_path, blob)
    try:
        atomic_write(path, _layout(doc).encode("utf-8"))
    except BaseException:
        if old != npz_name:
            _unlink(npz_path)
        raise
    if old is not None and old != npz_name:
        _unlink(os.path.join(os.path.dirname(os.path.abspath(path)), old))
    _remove_stale_npz(path, npz_name)
    return path


def _remove_stale_npz(path: str, keep: str | None) -> None:
    """Remove ``<basename>.<12 hex>.npz`` files beside ``path`` other than ``keep`` (the one
    the new graph file refers to): orphans of a save that was killed between writing the
    values and the graph file. Nothing else is touched."""
    folder = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(re.escape(os.path.basename(path)) + r"\.[0-9a-f]{12}\.npz")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name != keep and pattern.fullmatch(name):
            _unlink(os.path.join(folder, name))


def _npz_of(path: str) -> str | None:
    """The .npz file name the graph file at ``path`` currently refers to, if any."""
    if not os.path.isfile(path):
        return None
    try:
        ref = json.loads(read_file(path, path)).get("npz")
        name = ref.get("file") if isinstance(ref, dict) else None
        return name if isinstance(name, str) and os.path.basename(name) == name else None
    except (GraphError, ValueError, AttributeError, RecursionError):
        return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- decoding (graphnn/io/decode.py) ---------------------------------------------------


def from_dict(doc: Any, source: str = "<graph>",
              npz_loader: Callable[[dict[str, Any]], Any] | None = None) -> Graph:
    """Rebuild a graph from its JSON document (see :func:`load`)."""
    from graphnn.io.decode import from_dict as build

    return build(doc, source, npz_loader)


def _reject_constant(c: str) -> Any:
    raise ValueError(f"non-standard JSON constant {c}")


def loads(text: str | bytes, source: str = "<string>") -> Graph:
    """Load a graph from JSON text (embedded parameter values only)."""
    with _guarded(source):
        return from_dict(_parse(text, source), source)


def _parse(text: str | bytes, source: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise FormatError(f"{source}: not valid JSON ({e.msg} at line {e.lineno} column "
                          f"{e.colno}); the file may be truncated") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise FormatError(f"{source}: not valid JSON ({e})") from None


def load(path: str | os.PathLike[str], target: Any = None) -> Graph | None:
    """Load a graph saved with :func:`save` / ``g.save``; FormatError on any problem.

    With ``target`` (a Graph or a ``gn.nn`` model), read parameter values by name into it
    in place instead (:func:`graphnn.io.values.load_values`): from an ``.npz`` of name ->
    array (``allow_pickle`` off) or from the params of a saved graph file; returns None.
    """
    try:
        path = os.fspath(path)
    except TypeError as e:
        raise FormatError(f"gn.load: {e}") from None
    if target is not None:
        _load_values(path, target)
        return None
    raw = read_file(path, path)
    with paused_gc(), _guarded(path):
        return _load_doc(_parse(raw, path), path)


@contextmanager
def _guarded(source: str) -> Iterator[None]:
    """Any error the checks did not foresee still leaves as a FormatError."""
    try:
        yield
    except GraphError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
            RecursionError, MemoryError) as e:
        raise FormatError(f"{source}: invalid graph file ({type(e).__name__}: "
                          f"{str(e)[:200]})") from None


def read_file(path: Any, where: str) -> bytes:
    """The bytes of a regular file of at most the size budget (GRAPHNN_MAX_BYTES); devices,
    FIFOs, folders, bad names and unreadable files are a FormatError naming ``where``."""
    limit = max_bytes()
    try:
        path = os.fspath(path)
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise FormatError(f"{where}: not a regular file")
        if st.st_size > limit:
            raise FormatError(f"{where}: {human(st.st_size)} is over the size budget "
                              f"({human(limit)}; set GRAPHNN_MAX_BYTES to change it)")
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except FormatError:
        raise
    except OSError as e:
        raise FormatError(f"{where}: cannot read: {e.strerror or e}") from None
    except (ValueError, TypeError) as e:  # NUL in the name, not a path
        raise FormatError(f"{where!r}: not a usable file name ({e})") from None
    if len(raw) > limit:
        raise FormatError(f"{where}: grew over the size budget ({human(limit)}) while read")
    return raw


def _load_doc(doc: Any, path: str) -> Graph:
    def npz_loader(doc: dict[str, Any]) -> Any:
        ref = doc.get("npz")
        if ref is None:
            return None
        if not isinstance(ref, dict) or not isinstance(ref.get("file"), str) \
                or os.path.basename(ref["file"]) != ref["file"]:
            raise FormatError(f"{path}: \"npz\" must name a file in the same folder")
        npz_path = os.path.join(os.path.dirname(os.path.abspath(path)), ref["file"])
        blob = read_file(npz_path, f"{path}: cannot read parameter file {npz_path}")
        if ref.get("sha256") != hashlib.sha256(blob).hexdigest():
            raise FormatError(f"{path}: parameter file {npz_path} does not match the "
                              "sha256 recorded in the graph file (tampered or stale)")
        return checked_npz(blob, f"{path}: parameter file {npz_path}")

    return from_dict(doc, path, npz_loader)


def _member_header(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], Any]:
    """(shape, dtype) from an .npy member's header: only its first bytes are inflated."""
    fmt = np.lib.format
    with z.open(info) as f:
        version = fmt.read_magic(f)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read(f, max_header_size=10_000)
    return shape, dtype


def checked_npz(blob: bytes, where: str) -> Any:
    """``np.load`` of an .npz held in memory, after checking every member's header
    (an object dtype, or a shape over the size budget, is a FormatError naming the member
    and its size) without decompressing any array."""
    import io as _io

    try:
        with zipfile.ZipFile(_io.BytesIO(blob)) as z:
            for info in z.infolist():
                shape, dtype = _member_header(z, info)
                if dtype.hasobject:
                    raise FormatError(f"{where}: member {info.filename!r} has dtype "
                                      f"{dtype} (object arrays are not loaded)")
                try:
                    check_bytes(shape, dtype.itemsize, f"member {info.filename!r}")
                except ValueError as e:
                    raise FormatError(f"{where}: {e}") from None
        return np.load(_io.BytesIO(blob), allow_pickle=False)
    except FormatError:
        raise
    except Exception as e:  # noqa: BLE001 - zipfile/numpy raise many types for bad input
        raise FormatError(f"{where} is not a valid .npz: {e}") from None


def _load_values(path: str, target: Any) -> None:
    """Read name -> array from an ``.npz`` or a graph file; :func:`load_values` writes."""
    if path.endswith(".npz"):
        blob = read_file(path, path)
        with checked_npz(blob, f"{path}: parameter values") as f:
            data = {k: f[k] for k in f.files}
    else:
        data = load(path).param_values()  # type: ignore[union-attr]
    load_values(target, data, path, missing_error=FormatError)
