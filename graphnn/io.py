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
>>> path = os.path.join(tempfile.mkdtemp(), "neuron.json")
>>> g.save(path)
>>> h = gn.load(path)
>>> [n.name for n in h.nodes] == [n.name for n in g.nodes]
True
>>> float(gn.run(h, {"x": [1, 2, 3]}).value("o")) == float(gn.run(g, {"x": [1, 2, 3]}).value(o))
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

from graphnn.core.errors import GraphError
from graphnn.core.ir import CONST, INPUT, PARAM, ROLES, Graph, Node
from graphnn.core.op import REGISTRY, bind

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


def _node_record(n: Node, values: Callable[[Node], Any]) -> dict[str, Any]:
    where = f"node {n.id} '{n.name}' ({n.op.name})"
    params = {k: encode_value(v, where) for k, v in n.params.items()
              if not (n.op.leaf and k == "shape")}
    rec: dict[str, Any] = {"op": n.op.name, "name": n.name, "inputs": [i.id for i in n.inputs],
                           "params": params, "shape": list(n.shape), "dtype": n.dtype.name,
                           "role": n.role, "group": n.group, "loc": n.loc}
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

    doc = {"format": FORMAT, "version": VERSION,
           "graph": {"name": g.name, "nodes": [_node_record(n, values) for n in g.nodes],
                     "outputs": [o.id for o in g.outputs]}}
    doc["checksum"] = _checksum(doc)
    return doc


def dumps(g: Graph, indent: int | None = 1) -> str:
    """The graph as JSON text (parameter values embedded)."""
    return json.dumps(to_dict(g), indent=indent, allow_nan=False)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, fsync, replace.

    On any failure the previous file (if any) is untouched and the temp file removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save(g: Graph, path: str | os.PathLike[str], *, params: str = "embed") -> None:
    """Save ``g`` to ``path`` (JSON). ``params="npz"`` writes values to ``<path>.npz``."""
    if params not in ("embed", "npz"):
        raise GraphError(f"save: params must be 'embed' or 'npz', got {params!r}")
    path = os.fspath(path)
    if params == "embed":
        atomic_write(path, dumps(g).encode("utf-8"))
        return
    arrays: dict[str, np.ndarray] = {}
    doc = to_dict(g, arrays)
    import io as _io

    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    blob = buf.getvalue()
    doc["npz"] = {"file": os.path.basename(path) + ".npz",
                  "sha256": hashlib.sha256(blob).hexdigest()}
    doc["checksum"] = _checksum(doc)
    atomic_write(path + ".npz", blob)
    atomic_write(path, json.dumps(doc, indent=1, allow_nan=False).encode("utf-8"))


# -- decoding ------------------------------------------------------------------------


class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.where = ""

    def fail(self, what: str) -> FormatError:
        at = f" at {self.where}" if self.where else ""
        return FormatError(f"{self.source}: {what}{at}")


def decode_array(d: Any, ctx: _Ctx) -> np.ndarray:
    if not isinstance(d, dict) or set(d) != {"dtype", "shape", "data"}:
        raise ctx.fail("an array must be an object with exactly dtype, shape and data")
    dtype, shape, data = d["dtype"], d["shape"], d["data"]
    if dtype not in DTYPES:
        raise ctx.fail(f"array dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    shape = _decode_shape(shape, ctx)
    if not isinstance(data, str):
        raise ctx.fail("array data must be a base64 string")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ctx.fail("array data is not valid base64") from None
    dt = np.dtype(dtype).newbyteorder("<")
    want = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if len(raw) != want:
        raise ctx.fail(f"array data has {len(raw)} bytes; shape {tuple(shape)} of {dtype} "
                       f"needs {want} (truncated or tampered)")
    return np.frombuffer(raw, dtype=dt).astype(np.dtype(dtype)).reshape(shape)


def _decode_shape(shape: Any, ctx: _Ctx) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ctx.fail(f"shape must be a list of non-negative ints, got {shape!r}")
    return tuple(shape)


def decode_value(v: Any, ctx: _Ctx) -> Any:
    """Inverse of :func:`encode_value`; rejects anything it does not know."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict) and len(v) == 1:
        (tag, body), = v.items()
        if tag in ("$tuple", "$list") and isinstance(body, list):
            items = [decode_value(x, ctx) for x in body]
            return tuple(items) if tag == "$tuple" else items
        if tag == "$array":
            arr = decode_array(body, ctx)
            arr.setflags(write=False)
            return arr
        if tag == "$float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$dtype" and body in DTYPES:
            return np.dtype(body)
        if tag == "$dict" and isinstance(body, dict):
            return {k: decode_value(x, ctx) for k, x in body.items()}
    raise ctx.fail(f"cannot decode parameter value {json.dumps(v)[:80]}")


def _parse_loc(loc: Any, ctx: _Ctx, i: int) -> tuple[str, int]:
    if isinstance(loc, str) and ":" in loc:
        path, _, line = loc.rpartition(":")
        if line.isdigit():
            return (path, int(line))
    return (ctx.source, i)


def from_dict(doc: Any, source: str = "<graph>",
              npz_loader: Callable[[dict[str, Any]], Any] | None = None) -> Graph:
    """Rebuild a graph from its JSON document (see :func:`load`)."""
    ctx = _Ctx(source)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ctx.fail("not a graphnn graph file (missing \"format\": \"graphnn\")")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ctx.fail(f"format version must be an integer, got {version!r}")
    if version != VERSION:
        newer = " (written by a newer graphnn?)" if version > VERSION else ""
        raise ctx.fail(f"unsupported format version {version}{newer}; this graphnn reads "
                       f"version {VERSION}")
    if "checksum" in doc and doc["checksum"] != _checksum(doc):
        raise ctx.fail("checksum mismatch: the file was modified after it was written "
                       "(tampered or corrupted); remove the \"checksum\" field to load an "
                       "edited file")
    body = doc.get("graph")
    if not isinstance(body, dict) or not isinstance(body.get("nodes"), list):
        raise ctx.fail("missing \"graph\" object with a \"nodes\" list")
    name = body.get("name", "graph")
    if not isinstance(name, str):
        raise ctx.fail("graph name must be a string")
    arrays = npz_loader(doc) if npz_loader is not None else None
    g = Graph(name)
    for i, rec in enumerate(body["nodes"]):
        ctx.where = f"node {i}"
        _load_node(g, i, rec, ctx, arrays)
    ctx.where = "outputs"
    outs = body.get("outputs", [])
    if not isinstance(outs, list) or not all(
            isinstance(o, int) and not isinstance(o, bool) and 0 <= o < len(g.nodes)
            for o in outs):
        raise ctx.fail(f"outputs must be a list of node indices below {len(g.nodes)}, "
                       f"got {outs!r}")
    g.mark_output(*[g.nodes[o] for o in outs])
    return g


def _load_node(g: Graph, i: int, rec: Any, ctx: _Ctx, arrays: Any) -> None:
    if not isinstance(rec, dict):
        raise ctx.fail("a node must be a JSON object")
    extra = set(rec) - NODE_KEYS
    if extra:
        raise ctx.fail(f"unknown node field(s) {sorted(extra)}")
    name, opname = rec.get("name"), rec.get("op")
    if not isinstance(name, str) or not name:
        raise ctx.fail("node name must be a non-empty string")
    ctx.where = f"node {i} '{name}'"
    if name in g:
        raise ctx.fail(f"duplicate node name {name!r}")
    op = REGISTRY.get(opname) if isinstance(opname, str) else None
    if op is None:
        raise ctx.fail(f"unknown op {opname!r} (known ops: {', '.join(sorted(REGISTRY))})")
    ctx.where = f"node {i} '{name}' ({opname})"
    ins = rec.get("inputs", [])
    if not isinstance(ins, list) or not all(
            isinstance(j, int) and not isinstance(j, bool) and 0 <= j < i for j in ins):
        raise ctx.fail(f"inputs must be indices of earlier nodes (0..{i - 1}), got {ins!r}")
    shape = _decode_shape(rec.get("shape"), ctx)
    dtype, role, group = rec.get("dtype"), rec.get("role"), rec.get("group", "")
    if dtype not in DTYPES:
        raise ctx.fail(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if role not in ROLES:
        raise ctx.fail(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not isinstance(group, str):
        raise ctx.fail("group must be a string")
    params = rec.get("params", {})
    if not isinstance(params, dict):
        raise ctx.fail("params must be an object")
    params = {k: decode_value(v, ctx) for k, v in params.items()}
    if op.leaf and ins:
        raise ctx.fail(f"a {opname} node takes no inputs")
    g._group = [group] if group else []
    try:
        if op is INPUT:
            node = g.input(name, shape, dtype)
        elif op is PARAM:
            node = _load_param(g, name, rec, shape, dtype, ctx, arrays)
        elif op is CONST:
            if not isinstance(params.get("value"), np.ndarray):
                raise ctx.fail("a const node needs an array \"value\" param")
            node = g.constant(params["value"], name=name, dtype=dtype)
        else:
            with g.role("grad" if role == "grad" else None):  # type: ignore[arg-type]
                node = bind(op, *[g.nodes[j] for j in ins], name=name, **params)
    except FormatError:
        raise
    except GraphError as e:
        raise ctx.fail(f"invalid node: {e}") from None
    finally:
        g._group = []
    got = (node.shape, node.dtype.name, node.role)
    if got != (shape, dtype, role):
        raise ctx.fail(f"inconsistent node: the file says shape {shape} {dtype} role {role}, "
                       f"rebuilding it gives shape {node.shape} {node.dtype.name} role "
                       f"{node.role}")
    object.__setattr__(node, "_loc", _parse_loc(rec.get("loc"), ctx, i))


def _load_param(g: Graph, name: str, rec: dict[str, Any], shape: tuple[int, ...], dtype: str,
                ctx: _Ctx, arrays: Any) -> Node:
    v = rec.get("value")
    if isinstance(v, dict) and set(v) == {"$npz"}:
        if arrays is None or v["$npz"] not in arrays.files:
            raise ctx.fail(f"param value {v['$npz']!r} is missing from the .npz file")
        arr = np.asarray(arrays[v["$npz"]])
        if arr.dtype.name not in DTYPES:
            raise ctx.fail(f"param value in the .npz has dtype {arr.dtype}")
    else:
        arr = decode_array(v, ctx)
    if arr.shape != shape or arr.dtype.name != dtype:
        raise ctx.fail(f"param value has shape {arr.shape} {arr.dtype}; the node says "
                       f"{shape} {dtype}")
    return g.param(name, arr.copy(), dtype)


def _reject_constant(c: str) -> Any:
    raise ValueError(f"non-standard JSON constant {c}")


def loads(text: str | bytes, source: str = "<string>") -> Graph:
    """Load a graph from JSON text (embedded parameter values only)."""
    return from_dict(_parse(text, source), source)


def _parse(text: str | bytes, source: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise FormatError(f"{source}: not valid JSON ({e.msg} at line {e.lineno} column "
                          f"{e.colno}); the file may be truncated") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise FormatError(f"{source}: not valid JSON ({e})") from None


def load(path: str | os.PathLike[str]) -> Graph:
    """Load a graph saved with :func:`save` / ``g.save``; FormatError on any problem."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise FormatError(f"{path}: cannot read: {e.strerror}") from None
    doc = _parse(raw, path)

    def npz_loader(doc: dict[str, Any]) -> Any:
        ref = doc.get("npz")
        if ref is None:
            return None
        if not isinstance(ref, dict) or not isinstance(ref.get("file"), str) \
                or os.path.basename(ref["file"]) != ref["file"]:
            raise FormatError(f"{path}: \"npz\" must name a file in the same folder")
        npz_path = os.path.join(os.path.dirname(os.path.abspath(path)), ref["file"])
        try:
            with open(npz_path, "rb") as f:
                blob = f.read()
        except OSError as e:
            raise FormatError(f"{path}: cannot read parameter file {npz_path}: "
                              f"{e.strerror}") from None
        if ref.get("sha256") != hashlib.sha256(blob).hexdigest():
            raise FormatError(f"{path}: parameter file {npz_path} does not match the "
                              "sha256 recorded in the graph file (tampered or stale)")
        import io as _io

        try:
            return np.load(_io.BytesIO(blob), allow_pickle=False)
        except Exception as e:
            raise FormatError(f"{path}: parameter file {npz_path} is not a valid .npz: "
                              f"{e}") from None

    return from_dict(doc, path, npz_loader)
