"""Decoding and validation of saved graph documents (see graphnn/io.py, docs/format.md).

Every value is checked before use and every node is rebuilt through ``bind``; problems
raise :class:`graphnn.io.FormatError` naming the file and the node.

>>> from graphnn.io.decode import decode_value, _Ctx
>>> decode_value({"$tuple": [1, {"$float": "inf"}]}, _Ctx("<doc>"))
(1, inf)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from graphnn.core.bind import bind
from graphnn.core.errors import GraphError
from graphnn.core.ir import CONST, INPUT, PARAM, ROLES, Graph, Node
from graphnn.core.limits import array_bytes, check_bytes, max_bytes
from graphnn.core.op import REGISTRY
from graphnn.io.format import (
    _DTYPE_OBJS,
    DTYPES,
    FORMAT,
    NODE_KEYS,
    VERSION,
    FormatError,
    _checksum,
)


class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source
        #: a place ("outputs"), or the node being read as (index, name, op name) with
        #: None for what is not known yet: formatted only when an error is raised
        self.where: str | tuple[int, str | None, str | None] = ""
        self.limit = max_bytes()  # the size budget, read once per file

    def fail(self, what: str) -> FormatError:
        where = self.where
        if isinstance(where, tuple):
            i, name, opname = where
            where = f"node {i}" + (f" '{name}'" if name is not None else "") + (
                f" ({opname})" if opname is not None else "")
        at = f" {where}:" if where else ""
        return FormatError(f"{self.source}:{at} {what}")


def decode_array(d: Any, ctx: _Ctx) -> np.ndarray:
    if not isinstance(d, dict) or set(d) != {"dtype", "shape", "data"}:
        raise ctx.fail("an array must be an object with exactly dtype, shape and data")
    dtype, shape, data = d["dtype"], d["shape"], d["data"]
    if dtype not in DTYPES:
        raise ctx.fail(f"array dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    shape = _decode_shape(shape, ctx)
    _budget(shape, np.dtype(dtype).itemsize, ctx)
    if not isinstance(data, str):
        raise ctx.fail("array data must be a base64 string")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ctx.fail("array data is not valid base64") from None
    dt = np.dtype(dtype).newbyteorder("<")
    want = array_bytes(shape, dt.itemsize)
    if len(raw) != want:
        raise ctx.fail(f"array data has {len(raw)} bytes; shape {tuple(shape)} of {dtype} "
                       f"needs {want} (truncated or tampered)")
    return np.frombuffer(raw, dtype=dt).astype(np.dtype(dtype)).reshape(shape)


def _budget(shape: tuple[int, ...], itemsize: int, ctx: _Ctx) -> None:
    try:
        check_bytes(shape, itemsize, "declared shape", ctx.limit)
    except ValueError as e:
        raise ctx.fail(str(e)) from None


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
        if line.isascii() and line.isdigit() and len(line) <= 9:
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
        ctx.where = (i, None, None)
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
    ctx.where = (i, name, None)
    if name in g:
        raise ctx.fail(f"duplicate node name {name!r}")
    op = REGISTRY.get(opname) if isinstance(opname, str) else None
    if op is None:
        raise ctx.fail(f"unknown op {opname!r} (known ops: {', '.join(sorted(REGISTRY))})")
    ctx.where = (i, name, opname)
    ins = rec.get("inputs", [])
    if not isinstance(ins, list) or not all(
            isinstance(j, int) and not isinstance(j, bool) and 0 <= j < i for j in ins):
        raise ctx.fail(f"inputs must be indices of earlier nodes (0..{i - 1}), got {ins!r}")
    shape = _decode_shape(rec.get("shape"), ctx)
    dtype, role, group = rec.get("dtype"), rec.get("role"), rec.get("group", "")
    if dtype not in DTYPES:
        raise ctx.fail(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    _budget(shape, np.dtype(dtype).itemsize, ctx)
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
    saved, g._origin = g._origin, (group, _parse_loc(rec.get("loc"), ctx, i))  # as origin()
    try:
        node = _make(g, op, name, ins, params, role, rec, shape, dtype, ctx, arrays)
    except FormatError:
        raise
    except GraphError as e:
        raise ctx.fail(f"invalid node: {e}") from None
    finally:
        g._origin = saved
    if (node.shape, node.dtype, node.role) != (shape, _DTYPE_OBJS[dtype], role):
        raise ctx.fail(f"inconsistent node: the file says shape {shape} {dtype} role {role}, "
                       f"rebuilding it gives shape {node.shape} {node.dtype.name} role "
                       f"{node.role}")


def _make(g: Graph, op: Any, name: str, ins: list[int], params: dict[str, Any], role: str,
          rec: dict[str, Any], shape: tuple[int, ...], dtype: str, ctx: _Ctx,
          arrays: Any) -> Node:
    """The node one record describes (its provenance comes from the caller's origin)."""
    if op is INPUT:
        return g.input(name, shape, dtype)
    if op is PARAM:
        return _load_param(g, name, rec, shape, dtype, ctx, arrays)
    if op is CONST:
        if not isinstance(params.get("value"), np.ndarray):
            raise ctx.fail("a const node needs an array \"value\" param")
        return g.constant(params["value"], name=name, dtype=dtype)
    with g.role("grad" if role == "grad" else None):  # type: ignore[arg-type]
        return bind(op, *[g.nodes[j] for j in ins], name=name, **params)


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
