"""Indexing, selection and comparison ops: ``x[...]`` (getitem and its scatter-add
gradient), gather / scatter_add, index_select / index_add, take and embedding
(composites), where, clamp (alias clip), the boolean comparisons lt le gt ge eq ne and
logical_and / or / xor / not.

Semantics follow PyTorch: comparisons give ``bool`` nodes with no gradient; the gradient
of an indexing op is a scatter-add of the upstream gradient into zeros (repeated indices
accumulate); ``clamp`` passes the gradient where ``min <= x <= max`` (inclusive).

Indices given to ``x[...]`` are stored as a static, serializable attribute (a tuple of
ints, ``(start, stop, step)`` triples for slices, None, ``"..."`` and integer arrays);
generated code receives them only as literals written by graphnn's literal writer.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph():
...     x = gn.input("x", shape=(4, 5))
...     y = x[1:, ::-2]
...     m = x > 0.0
>>> y.shape, m.dtype
((3, 3), dtype('bool'))
>>> gn.where(np.array([True, False]), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
array([1., 4.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import ir
from graphnn.core import shapes as S
from graphnn.core.bind import Traced, bind
from graphnn.core.device import array_module
from graphnn.core.errors import GraphError, OnnxError, ParamError, describe
from graphnn.core.op import Onnx, Op, Unsupported, register, tt

# ---------------------------------------------------------------------------------------
# index specs: the static attribute of getitem
# ---------------------------------------------------------------------------------------

ELLIPSIS = "..."


def _int(v: Any, what: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {v!r} ({type(v).__name__})")
    return int(v)


def normalize_index(key: Any) -> tuple[Any, ...]:
    """``key`` (what ``x[key]`` received) as the stored spec: a tuple whose items are
    ints, ``(start, stop, step)`` tuples (ints or None), None (a new axis), ``"..."``
    and read-only int64 arrays (boolean masks become their ``nonzero()`` arrays, as
    NumPy defines them)."""
    if not isinstance(key, tuple):
        key = (key,)
    out: list[Any] = []
    for k in key:
        if k is None:
            out.append(None)
        elif k is Ellipsis:
            out.append(ELLIPSIS)
        elif isinstance(k, slice):
            start, stop, step = (None if v is None else _int(v, "a slice bound")
                                 for v in (k.start, k.stop, k.step))
            if step == 0:
                raise ValueError("slice step cannot be zero")
            out.append((start, stop, step))
        elif isinstance(k, (bool, np.bool_)):
            out.append(np.array([0] if k else [], dtype=np.int64))  # x[True]: a new axis
            out[-1] = None if k else out[-1]
            if not k:
                raise ValueError("x[False] (an empty boolean scalar index) is not supported")
        elif isinstance(k, (int, np.integer)):
            out.append(int(k))
        else:
            a = np.asarray(k)
            if a.dtype == bool:
                out.extend(_readonly(i) for i in np.nonzero(a)) if a.ndim else out.append(None)
            elif a.dtype.kind in "iu" or (a.size == 0 and a.dtype.kind == "f"):
                out.append(_readonly(a))
            else:
                raise TypeError(f"unsupported index {k!r} ({type(k).__name__}): use ints, "
                                "slices, None, ..., integer arrays or boolean masks")
    if sum(1 for k in out if isinstance(k, str)) > 1:
        raise ValueError("an index can only have a single ellipsis ('...')")
    return tuple(out)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.int64)
    a.setflags(write=False)
    return a


def to_key(spec: Any) -> Any:
    """The NumPy index of a stored spec (the inverse of :func:`normalize_index`)."""
    key = []
    for k in spec:
        if isinstance(k, str):
            key.append(Ellipsis)
        elif isinstance(k, (tuple, list)):
            key.append(slice(*k))
        else:
            key.append(k)
    return tuple(key)


def _expanded(spec: Any, ndim: int) -> list[Any]:
    """The spec with its ellipsis (or the missing trailing axes) as full slices."""
    used = sum(1 for k in spec if k is not None and not isinstance(k, str))
    if used > ndim:
        raise IndexError(f"too many indices: {used} for an array of {ndim} dimension(s)")
    full = (None, None, None)
    out: list[Any] = []
    for k in spec:
        if isinstance(k, str):
            out.extend([full] * (ndim - used))
        else:
            out.append(k)
    if not any(isinstance(k, str) for k in spec):
        out.extend([full] * (ndim - used))
    return out


def _getitem_check(a: S.Shape, index: Any) -> None:
    """Bounds of every int and integer-array index against the input shape."""
    axis = 0
    for k in _expanded(index, len(a)):
        if k is None:
            continue
        n = a[axis]
        if isinstance(k, int) and not -n <= k < n:
            raise IndexError(f"index {k} is out of bounds for axis {axis} of size {n}")
        if isinstance(k, np.ndarray) and k.size and (k.min() < -n or k.max() >= n):
            bad = int(k.max()) if k.max() >= n else int(k.min())
            raise IndexError(f"index {bad} is out of bounds for axis {axis} of size {n}")
        axis += 1


def _getitem_shape(a: S.Shape, index: Any) -> S.Shape:
    _getitem_check(a, index)
    probe = np.lib.stride_tricks.as_strided(np.zeros((), dtype=np.int8), shape=a,
                                            strides=(0,) * len(a))
    try:
        return np.shape(probe[to_key(index)])
    except IndexError as e:
        raise ValueError(str(e)) from None


def has_arrays(spec: Any) -> bool:
    return any(isinstance(k, np.ndarray) for k in spec)


def _gn_key(spec: Any) -> Any:
    """The NumPy index of a stored index spec (ints, (start, stop, step), None, '...',
    integer arrays)."""
    return tuple(Ellipsis if isinstance(k, str) else slice(*k) if isinstance(k, (tuple, list))
                 else k for k in spec)


def _gn_bincount(xp: Any, pos: Any, vals: Any, size: int, dtype: Any) -> Any:
    """Sum ``vals`` into ``size`` bins at flat positions ``pos`` (same shape)."""
    vals = xp.broadcast_to(vals, pos.shape)
    if vals.dtype.kind == "O" or np.dtype(dtype).kind != "f":
        out = np.zeros(size, dtype=vals.dtype)
        np.add.at(out, np.asarray(pos).reshape(-1), np.asarray(vals).reshape(-1))
        return out
    flat = xp.bincount(pos.reshape(-1), weights=vals.reshape(-1).astype(xp.float64),
                       minlength=size)
    return flat.astype(dtype)


def _getitem_grad_helper(xp: Any, g: Any, index: Any, shape: Any) -> Any:
    """Scatter-add ``g`` into zeros of ``shape`` at ``x[index]``: repeated integer indices
    accumulate (bincount over the flat positions the index selects; no Python loop)."""
    key = _gn_key(index)
    if not any(hasattr(k, "ndim") for k in key):  # basic indexing: each position once
        out = xp.zeros(shape, dtype=g.dtype)
        out[key] = g
        return out
    size = 1
    for s in shape:
        size *= int(s)
    pos = xp.arange(size).reshape(shape)[tuple(xp.asarray(k) if hasattr(k, "ndim") else k
                                              for k in key)]
    return _gn_bincount(xp, pos, g, size, g.dtype).reshape(shape)


def _gn_getitem(a: Any, index: Any) -> Any:
    """``a[index]`` for a stored index spec."""
    return a[_gn_key(index)]


def _getitem_forward(xp: Any, a: Any, index: Any) -> Any:
    return a[_gn_key(index)]


def _getitem_grad_forward(xp: Any, g: Any, index: Any, shape: Any) -> Any:
    return _getitem_grad_helper(xp, g, index, tuple(shape))


def _getitem_grad_shape(g: S.Shape, index: Any, shape: Any) -> S.Shape:
    want = _getitem_shape(tuple(shape), index)
    if tuple(g) != tuple(want):
        raise ValueError(f"gradient of shape {tuple(g)} does not fit x{tuple(shape)}[index], "
                         f"which has shape {tuple(want)}")
    return tuple(int(s) for s in shape)


def _getitem_cost(a: S.Shape, out: S.Shape, **_: Any) -> int:
    return 0


GETITEM = register(Op(
    name="getitem", label="[ ]", forward=_getitem_forward, shape=_getitem_shape,
    check=lambda a, index: _getitem_check(a, index),
    vjp=lambda g, out, a, index: (getitem_grad(g, index, tuple(a.shape)),),
    jvp=lambda t, out, a, index: None if t[0] is None else bind(GETITEM, t[0], index=index),
    numpy="_gn_getitem({0}, {index})", helpers=(_gn_key, _gn_getitem),
    latex=r"Y = X[\text{index}]", trace=tt("dX = scatter-add of dY into zeros at X[index]"),
    cost=_getitem_cost,
    onnx=Onnx(export=lambda ex, n: _export_getitem(ex, n),
              imports={"Slice": lambda im, n, x, a: _import_slice(im, n, x, a)}),
    doc="x[index]: ints, slices (any step), None, ..., integer arrays and boolean masks "
        "with NumPy/PyTorch semantics"))
GETITEM_GRAD = register(Op(
    name="getitem_grad", label="[ ]ᵀ", forward=_getitem_grad_forward, shape=_getitem_grad_shape,
    vjp=lambda g, out, dy, index, shape: (bind(GETITEM, g, index=index),),
    jvp=lambda t, out, dy, index, shape: None if t[0] is None else getitem_grad(t[0], index,
                                                                               shape),
    numpy="_getitem_grad_helper(xp, {0}, {index}, {shape})", fresh=True,
    helpers=(_gn_key, _gn_bincount, _getitem_grad_helper),
    latex=r"Y = \operatorname{scatter\_add}(0, \text{index}, G)",
    trace=tt("dG = dY[index]"), cost=_getitem_cost,
    onnx=Onnx(export=lambda ex, n: _export_getitem_grad(ex, n), imports=Unsupported(
        "exported as ScatterElements(reduction='add') on zeros, which imports as "
        "scatter_add")),
    doc="the gradient of x[index]: the upstream gradient scatter-added into zeros"))


def getitem(x: Any, index: Any, *, name: str | None = None) -> Any:
    """``x[index]`` with NumPy / PyTorch semantics (``Node.__getitem__`` calls it).

    ``index`` may hold ints, slices (negative bounds and steps included), None, ``...``,
    integer arrays and boolean masks (constant arrays or constant bool nodes); a
    run-time integer node indexes the first axis (``index_select``). The gradient is the
    upstream gradient scatter-added into zeros: repeated indices accumulate.

    >>> import numpy as np
    >>> getitem(np.arange(6.0).reshape(2, 3), (slice(None), [2, 0, 2]))
    array([[2., 0., 2.],
           [5., 3., 5.]])
    """
    if isinstance(index, ir.Node) or (isinstance(index, tuple) and any(
            isinstance(k, ir.Node) for k in index)):
        return _node_index(x, index, name)
    try:
        spec = normalize_index(index)
    except (TypeError, ValueError) as e:
        where = describe(x) if isinstance(x, ir.Node) else "an array"
        raise ParamError(f"getitem: bad index for {where}: {e}",
                         node=x if isinstance(x, ir.Node) else None) from None
    if not isinstance(x, ir.Node):
        return np.asarray(x)[to_key(spec)]
    return bind(GETITEM, x, index=spec, name=name)


def getitem_grad(g: Any, index: Any, shape: Any, *, name: str | None = None) -> Any:
    """The gradient of ``x[index]`` for ``x`` of ``shape``: ``g`` scatter-added into zeros
    (repeated indices accumulate).

    >>> import numpy as np
    >>> getitem_grad(np.ones(3), (np.array([0, 0, 2]),), (3,))
    array([2., 0., 1.])
    """
    spec = index if isinstance(index, tuple) and _is_spec(index) else normalize_index(index)
    return bind(GETITEM_GRAD, g, index=spec, shape=tuple(int(s) for s in shape), name=name)


def _is_spec(t: tuple[Any, ...]) -> bool:
    return all(k is None or isinstance(k, (int, str, np.ndarray)) or (
        isinstance(k, tuple) and len(k) == 3) for k in t)


def _node_index(x: Any, index: Any, name: str | None) -> Any:
    from graphnn.ops.linalg import reshape

    if isinstance(index, tuple):
        if len(index) != 1:
            raise GraphError("x[...] with a node among other indices is not supported; "
                             "use gn.gather / gn.index_select, or constant index arrays")
        index = index[0]
    if index.dtype == bool:
        if index.op.name == "const":
            return getitem(x, index.params["value"], name=name)
        raise GraphError(
            f"x[mask] with a run-time boolean node {describe(index)} has a data-dependent "
            "shape, which graphnn's static shapes cannot hold; use gn.where(mask, x, 0.0) "
            "(or index with a constant mask array)", node=index)
    if index.dtype.kind not in "iu":
        raise GraphError(f"x[node] needs an integer or boolean index node, got "
                         f"{describe(index)}", node=index)
    flat = reshape(index, (-1,)) if index.ndim != 1 else index
    out = index_select(x, 0, flat)
    if index.ndim == 1:
        return out
    return reshape(out, tuple(index.shape) + tuple(x.shape[1:]), name=name)


# -- ONNX: basic indexing as Slice (+ Gather for one integer array) + Reshape -------------


def _export_getitem(ex: Any, n: Any) -> None:
    x = n.inputs[0]
    spec = _expanded(n.params["index"], x.ndim)
    arrays = [k for k in spec if isinstance(k, np.ndarray)]
    if len(arrays) > 1 or any(isinstance(k, np.ndarray) and k.ndim != 1 for k in arrays):
        raise OnnxError(f"{describe(n)}: ONNX export of x[index] takes basic indexing and "
                        "at most one 1-D integer array")
    starts, ends, axes, steps, take = [], [], [], [], None
    axis = 0
    for k in spec:
        if k is None:
            continue
        size = x.shape[axis]
        if isinstance(k, int):
            i = k % size
            starts.append(i), ends.append(i + 1), axes.append(axis), steps.append(1)
        elif isinstance(k, tuple):
            start, stop, step = slice(*k).indices(size)
            if step < 0 and stop < 0:
                stop = -(2 ** 62)  # ONNX: clamp past the front
            starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
        else:
            take = (axis, k % size)
        axis += 1
    cur = x.name
    if axes:
        def c(tag: str, v: list[int]) -> str:
            return ex.const(f"{n.name}__{tag}", np.array(v, dtype=np.int64))
        cur = ex.emit("Slice", [cur, c("starts", starts), c("ends", ends), c("axes", axes),
                                c("steps", steps)], ex.name(n.name + "__slice"))
    if take is not None:
        idx = ex.const(n.name + "__idx", np.asarray(take[1], dtype=np.int64))
        cur = ex.emit("Gather", [cur, idx], ex.name(n.name + "__gather"), axis=take[0])
    shape = ex.const(n.name + "__shape", np.array(n.shape, dtype=np.int64))
    ex.emit("Reshape", [cur, shape], n.name)


def _import_slice(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    vals = [im.static(i, "Slice's " + w) if i else None
            for i, w in zip(list(n.input[1:]) + [""] * 4, ("starts", "ends", "axes", "steps"))]
    starts, ends, axes, steps = vals
    nd = x[0].ndim
    axes = list(range(len(starts))) if axes is None else [int(v) % nd for v in axes]
    steps = [1] * len(starts) if steps is None else [int(v) for v in steps]
    key: list[Any] = [slice(None)] * nd
    big = 2 ** 62
    for ax, s, e, st in zip(axes, starts, ends, steps):
        s, e = int(s), int(e)
        key[ax] = slice(s, None if (e >= big or e <= -big) else e, st)
    return [getitem(x[0], tuple(key))]


def _export_getitem_grad(ex: Any, n: Any) -> None:
    size = int(np.prod(n.shape, dtype=np.int64))
    pos = np.arange(size).reshape(n.shape)[to_key(n.params["index"])].reshape(-1)
    zeros = ex.const(n.name + "__zeros", np.zeros(size, dtype=n.dtype))
    flat = ex.const(n.name + "__flat", np.array([-1], dtype=np.int64))
    g = ex.emit("Reshape", [n.inputs[0].name, flat], ex.name(n.name + "__g"))
    p = ex.const(n.name + "__pos", pos.astype(np.int64))
    s = ex.emit("ScatterElements", [zeros, p, g], ex.name(n.name + "__scatter"), axis=0,
                reduction="add")
    shape = ex.const(n.name + "__shape", np.array(n.shape, dtype=np.int64))
    ex.emit("Reshape", [s, shape], n.name)


# ---------------------------------------------------------------------------------------
# gather / scatter_add, index_select / index_add (integer index nodes, no gradient)
# ---------------------------------------------------------------------------------------


def _dim(dim: int, nd: int) -> int:
    if not -max(nd, 1) <= dim < max(nd, 1):
        raise ValueError(f"dim {dim} is out of range for {nd} dimension(s)")
    return dim % max(nd, 1)


def _gn_check_index(xp: Any, index: Any, size: int, what: str) -> None:
    """Run-time bounds check of index values (they are data, unknown at build time)."""
    if getattr(index, "dtype", None) is not None and index.dtype.kind not in "iu":
        raise TypeError(f"{what}: index must hold integers, got {index.dtype}")
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
        raise IndexError(f"{what}: index {bad} is out of bounds for size {size}")


def _gn_gather_pos(xp: Any, shape: Any, dim: int, index: Any) -> Any:
    """Flat positions in an array of ``shape`` that gather(dim, index) reads."""
    nd = len(shape)
    d = dim % max(nd, 1)
    if nd == 0:
        return xp.zeros(index.shape, dtype=xp.int64)
    size = 1
    for s in shape:
        size *= int(s)
    flat = xp.arange(size).reshape(shape)
    part = flat[tuple(slice(None) if k == d else slice(0, int(index.shape[k]))
                      for k in range(nd))]
    return xp.take_along_axis(part, index.astype(xp.int64), axis=d)


def _gather_forward(xp: Any, a: Any, index: Any, dim: int) -> Any:
    shape = tuple(a.shape)
    _gn_check_index(xp, index, shape[dim % max(len(shape), 1)] if shape else 1, "gather")
    pos = _gn_gather_pos(xp, shape, dim, index)
    return a.reshape(-1)[pos]


def _gather_shape(a: S.Shape, index: S.Shape, dim: int) -> S.Shape:
    d = _dim(dim, len(a))
    if len(index) != len(a) and not (len(a) == 0 and len(index) <= 1):
        raise ValueError(f"index {tuple(index)} and input {tuple(a)} must have the same "
                         "number of dimensions")
    for k, (i, s) in enumerate(zip(index, a)):
        if k != d and i > s:
            raise ValueError(f"index size {i} exceeds the input size {s} at dimension {k} "
                             f"(only dimension {d} may be larger)")
    return tuple(index)


def _index_dtype(a: Any, index: Any, *_: Any, **__: Any) -> Any:
    if np.dtype(index).kind not in "iu":
        raise ValueError(f"index must be an integer array, got {np.dtype(index)}")
    return a


def _scatter_add_forward(xp: Any, a: Any, index: Any, src: Any, dim: int) -> Any:
    shape = tuple(a.shape)
    _gn_check_index(xp, index, shape[dim % max(len(shape), 1)] if shape else 1, "scatter_add")
    pos = _gn_gather_pos(xp, shape, dim, index)
    part = src[tuple(slice(0, int(s)) for s in index.shape)] if src.ndim else src
    size = int(np.prod(shape, dtype=np.int64))
    add = _gn_bincount(xp, pos, part, size, a.dtype).reshape(shape)
    return a + add


def _scatter_add_shape(a: S.Shape, index: S.Shape, src: S.Shape, dim: int) -> S.Shape:
    _gather_shape(a, index, dim)
    if len(src) != len(index) or any(i > s for i, s in zip(index, src)):
        raise ValueError(f"src {tuple(src)} must have the rank of index {tuple(index)} and "
                         "be at least as large in every dimension")
    return tuple(a)


def _src_grad(g: Any, index: Any, src: Any, dim: int) -> Any:
    """gather(g, dim, index), zero-padded to src's shape when src is larger."""
    from graphnn.ops.linalg import reshape  # noqa: F401

    got = gather(g, dim, index)
    if tuple(index.shape) == tuple(src.shape):
        return got
    return getitem_grad(got, tuple((0, int(s), 1) for s in index.shape), tuple(src.shape))


GATHER = register(Op(
    name="gather", forward=_gather_forward, shape=_gather_shape, dtype=_index_dtype,
    nondiff=(1,), fresh=True,
    vjp=lambda g, out, a, index, dim: (lambda: scatter_add(_zeros(g, tuple(a.shape)), dim,
                                                            index, g), None),
    jvp=lambda t, out, a, index, dim: None if t[0] is None else gather(t[0], dim, index),
    numpy="_gather_forward(xp, {0}, {1}, {dim})",
    helpers=(_gn_check_index, _gn_gather_pos, _gather_forward),
    latex=r"Y_{i j} = X_{\text{index}_{i j}, j}", trace=tt("dX = scatter_add(0, dim, index, dY)"),
    onnx=Onnx(export=lambda ex, n: _export_gather(ex, n),
              imports={"GatherElements": lambda im, n, x, a: [gather(
                  x[0], int(a.get("axis", 0)), _onnx_index(x[1], x[0], a))]}),
    doc="torch.gather: out[i][j] = x[index[i][j]][j] (dim 0); the gradient scatter-adds"))
SCATTER_ADD = register(Op(
    name="scatter_add", forward=_scatter_add_forward, shape=_scatter_add_shape,
    dtype=lambda a, index, src, **_: _index_dtype(a, index), nondiff=(1,), fresh=True,
    vjp=lambda g, out, a, index, src, dim: (g, None, lambda: _src_grad(g, index, src, dim)),
    jvp=lambda t, out, a, index, src, dim: _tadd(
        t[0], None if t[2] is None else scatter_add(_zeros(t[2], tuple(a.shape)), dim,
                                                     index, t[2])),
    numpy="_scatter_add_forward(xp, {0}, {1}, {2}, {dim})",
    helpers=(_gn_check_index, _gn_gather_pos, _gn_bincount, _scatter_add_forward),
    latex=r"Y = X + \operatorname{scatter}(\text{index}, S)",
    trace=tt("dX = dY;  dS = gather(dY, dim, index)"),
    onnx=Onnx(export=lambda ex, n: _export_scatter_add(ex, n),
              imports={"ScatterElements": lambda im, n, x, a: _import_scatter(im, n, x, a)}),
    doc="torch.scatter_add: x with src added at index along dim (repeats accumulate)"))


def _tadd(a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else a + b


def _zeros(like: Any, shape: tuple[int, ...]) -> Any:
    """Zeros of ``shape`` in ``like``'s dtype: a broadcast scalar constant on nodes (no
    full-size constant in the graph), an array on arrays."""
    if isinstance(like, ir.Node):
        from graphnn.ops.linalg import broadcast_to

        z = like.graph.constant(np.zeros((), dtype=like.dtype))
        return broadcast_to(z, shape)
    return array_module(like).zeros(shape, dtype=like.dtype)


def _export_gather(ex: Any, n: Any) -> None:
    x, idx = n.inputs
    d = n.params["dim"] % max(x.ndim, 1)
    src = x.name
    if tuple(x.shape[k] for k in range(x.ndim) if k != d) != tuple(
            idx.shape[k] for k in range(idx.ndim) if k != d):
        src = _slice_to(ex, n, x, idx.shape, d)
    ex.emit("GatherElements", [src, idx.name], n.name, axis=d)


def _slice_to(ex: Any, n: Any, x: Any, shape: Any, skip: int) -> str:
    axes = [k for k in range(x.ndim) if k != skip]
    c = ex.const
    return ex.emit("Slice", [x.name, c(n.name + "__s", np.zeros(len(axes), dtype=np.int64)),
                             c(n.name + "__e", np.array([shape[k] for k in axes],
                                                        dtype=np.int64)),
                             c(n.name + "__a", np.array(axes, dtype=np.int64))],
                   ex.name(n.name + "__part"))


def _export_scatter_add(ex: Any, n: Any) -> None:
    x, idx, src = n.inputs
    d = n.params["dim"] % max(x.ndim, 1)
    s = src.name if tuple(src.shape) == tuple(idx.shape) else _slice_to(ex, n, src, idx.shape,
                                                                         -1)
    ex.emit("ScatterElements", [x.name, idx.name, s], n.name, axis=d, reduction="add")


def _import_scatter(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    red = a.get("reduction", "none")
    red = red.decode() if isinstance(red, bytes) else red
    if red != "add":
        raise im.unsupported(f"ScatterElements with reduction {red!r} (graphnn has "
                             "scatter_add only)")
    return [scatter_add(x[0], int(a.get("axis", 0)), x[1], x[2])]


def gather(x: Any, dim: int, index: Any, *, name: str | None = None) -> Any:
    """``torch.gather(x, dim, index)``: ``out[i][j] = x[index[i][j]][j]`` for dim 0 (the
    output has ``index``'s shape; ``index`` holds integers in ``[0, x.shape[dim])``). The
    gradient scatter-adds into zeros (repeated indices accumulate).

    >>> import numpy as np
    >>> gather(np.array([[1.0, 2.0], [3.0, 4.0]]), 1, np.array([[0, 0], [1, 0]]))
    array([[1., 1.],
           [4., 3.]])
    """
    return bind(GATHER, x, _index_arg(x, index), dim=int(dim), name=name)


def scatter_add(x: Any, dim: int, index: Any, src: Any, *, name: str | None = None) -> Any:
    """``torch.scatter_add(x, dim, index, src)``: ``x`` with ``src[i][j]`` added at
    ``[index[i][j]][j]`` (dim 0); repeated indices accumulate.

    >>> import numpy as np
    >>> scatter_add(np.zeros(3), 0, np.array([0, 2, 0]), np.array([1.0, 2.0, 3.0]))
    array([4., 0., 2.])
    """
    return bind(SCATTER_ADD, x, _index_arg(x, index), src, dim=int(dim), name=name)


def _as_array(v: Any) -> Any:
    """``v`` as an array, left on its device when it is one already (CuPy in a vjp)."""
    return v if hasattr(v, "dtype") and hasattr(v, "shape") else np.asarray(v)


def _index_arg(x: Any, index: Any) -> Any:
    """Index arrays stay integer constants (never cast to x's float dtype)."""
    if isinstance(index, ir.Node) or not isinstance(x, ir.Node):
        return index if isinstance(index, ir.Node) else _as_array(index)
    arr = np.asarray(index)
    if arr.dtype.kind not in "iu":
        raise ParamError(f"index must be an integer array, got {arr.dtype} (for "
                         f"{describe(x)})", node=x)
    return x.graph.constant(arr.astype(np.int64))


# -- index_select / index_add ---------------------------------------------------------


def _index_select_forward(xp: Any, a: Any, index: Any, dim: int) -> Any:
    nd = a.ndim
    d = dim % max(nd, 1)
    _gn_check_index(xp, index, int(a.shape[d]) if nd else 1, "index_select")
    if nd == 0:
        return a.reshape(-1)[index.reshape(-1)].reshape(())
    return xp.take(a, index.reshape(-1), axis=d)


def _index_select_shape(a: S.Shape, index: S.Shape, dim: int) -> S.Shape:
    d = _dim(dim, len(a))
    if len(index) > 1:
        raise ValueError(f"index must be 0-d or 1-D, got shape {tuple(index)}")
    if not a:
        return ()
    n = int(np.prod(index, dtype=np.int64))
    return tuple(a[:d]) + (n,) + tuple(a[d + 1:])


def _index_add_forward(xp: Any, a: Any, index: Any, src: Any, dim: int) -> Any:
    nd = a.ndim
    d = dim % max(nd, 1)
    shape = tuple(a.shape)
    _gn_check_index(xp, index, shape[d] if nd else 1, "index_add")
    size = 1
    for s in shape:
        size *= int(s)
    pos = xp.take(xp.arange(size).reshape(shape), index.reshape(-1), axis=d) if nd else \
        xp.zeros(src.shape, dtype=xp.int64)
    return a + _gn_bincount(xp, pos, src, size, a.dtype).reshape(shape)


def _index_add_shape(a: S.Shape, index: S.Shape, src: S.Shape, dim: int) -> S.Shape:
    want = _index_select_shape(a, index, dim)
    if tuple(src) != tuple(want):
        raise ValueError(f"source must have shape {tuple(want)} (x {tuple(a)} with dimension "
                         f"{dim} of the index's length), got {tuple(src)}")
    return tuple(a)


INDEX_SELECT = register(Op(
    name="index_select", forward=_index_select_forward, shape=_index_select_shape,
    dtype=_index_dtype, nondiff=(1,), fresh=True,
    vjp=lambda g, out, a, index, dim: (lambda: index_add(_zeros(g, tuple(a.shape)), dim,
                                                          index, g), None),
    jvp=lambda t, out, a, index, dim: None if t[0] is None else index_select(t[0], dim, index),
    numpy="_index_select_forward(xp, {0}, {1}, {dim})",
    helpers=(_gn_check_index, _index_select_forward),
    latex=r"Y = X[\ldots, \text{index}, \ldots]",
    trace=tt("dX = index_add(0, dim, index, dY)"),
    onnx=Onnx(export=lambda ex, n: ex.emit("Gather", [i.name for i in n.inputs], n.name,
                                           axis=n.params["dim"] % max(n.inputs[0].ndim, 1)),
              imports={"Gather": lambda im, n, x, a: [_import_gather(x, int(a.get("axis", 0)))]}),
    doc="torch.index_select: the entries of x at a 1-D integer index along dim"))
INDEX_ADD = register(Op(
    name="index_add", forward=_index_add_forward, shape=_index_add_shape,
    dtype=lambda a, index, src, **_: _index_dtype(a, index), nondiff=(1,), fresh=True,
    vjp=lambda g, out, a, index, src, dim: (g, None, lambda: index_select(g, dim, index)),
    jvp=lambda t, out, a, index, src, dim: _tadd(
        t[0], None if t[2] is None else index_add(_zeros(t[2], tuple(a.shape)), dim, index,
                                                  t[2])),
    numpy="_index_add_forward(xp, {0}, {1}, {2}, {dim})",
    helpers=(_gn_check_index, _gn_bincount, _index_add_forward),
    latex=r"Y = X + \operatorname{index\_add}(\text{index}, S)",
    trace=tt("dX = dY;  dS = index_select(dY, dim, index)"),
    onnx=Onnx(export=lambda ex, n: _export_index_add(ex, n), imports=Unsupported(
        "ONNX has no IndexAdd: exported as ScatterElements(reduction='add'), which imports "
        "as scatter_add")),
    doc="torch.index_add: x with source slices added at a 1-D index along dim"))


def _export_index_add(ex: Any, n: Any) -> None:
    x, idx, src = n.inputs
    d = n.params["dim"] % max(x.ndim, 1)
    shp = [1] * x.ndim
    shp[d] = -1
    r = ex.emit("Reshape", [idx.name, ex.const(n.name + "__r", np.array(shp, dtype=np.int64))],
                ex.name(n.name + "__idx"))
    e = ex.emit("Expand", [r, ex.const(n.name + "__e", np.array(src.shape, dtype=np.int64))],
                ex.name(n.name + "__idx_full"))
    ex.emit("ScatterElements", [x.name, e, src.name], n.name, axis=d, reduction="add")


def _onnx_index(idx: Any, data: Any, a: dict[str, Any]) -> Any:
    """ONNX index tensors may count from the end (-size .. size-1); PyTorch's may not."""
    size = data.shape[int(a.get("axis", 0)) % max(data.ndim, 1)]
    return where(lt(idx, 0), idx + size, idx)


def _import_gather(x: list[Any], axis: int) -> Any:
    from graphnn.ops.linalg import reshape

    data, idx = x[0], _onnx_index(x[1], x[0], {"axis": axis})
    d = axis % max(data.ndim, 1)
    if idx.ndim == 1:
        return index_select(data, d, idx)
    out = index_select(data, d, reshape(idx, (-1,)))
    return reshape(out, tuple(data.shape[:d]) + tuple(idx.shape) + tuple(data.shape[d + 1:]))


def index_select(x: Any, dim: int, index: Any, *, name: str | None = None) -> Any:
    """``torch.index_select(x, dim, index)``: the entries at a 0-d or 1-D integer
    ``index`` along ``dim``; the gradient is ``index_add`` into zeros.

    >>> import numpy as np
    >>> index_select(np.arange(6.0).reshape(2, 3), 1, np.array([2, 2]))
    array([[2., 2.],
           [5., 5.]])
    """
    return bind(INDEX_SELECT, x, _index_arg(x, index), dim=int(dim), name=name)


def index_add(x: Any, dim: int, index: Any, source: Any, *, name: str | None = None) -> Any:
    """``torch.index_add(x, dim, index, source)``: ``x`` with slice ``k`` of ``source``
    added at ``index[k]`` along ``dim`` (repeats accumulate).

    >>> import numpy as np
    >>> index_add(np.zeros(3), 0, np.array([1, 1]), np.array([1.0, 2.0]))
    array([0., 3., 0.])
    """
    return bind(INDEX_ADD, x, _index_arg(x, index), source, dim=int(dim), name=name)


def take(x: Any, index: Any, *, name: str | None = None) -> Any:
    """``torch.take(x, index)``: ``x`` read as 1-D at integer ``index`` (the result has
    ``index``'s shape); a composite of reshape and index_select.

    >>> import numpy as np
    >>> take(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[3, 0]]))
    array([[4., 1.]])
    """
    from graphnn.ops.linalg import reshape

    idx = _index_arg(x, index)
    flat = index_select(reshape(x, (-1,)), 0, reshape(idx, (-1,)))
    return reshape(flat, tuple(np.shape(idx)), name=name)


def embedding(index: Any, weight: Any, *, name: str | None = None) -> Any:
    """``torch.nn.functional.embedding(index, weight)``: rows of ``weight`` (num, dim) at
    integer ``index`` (any shape); the result has shape ``index.shape + (dim,)`` and the
    weight gradient accumulates over repeated indices.

    >>> import numpy as np
    >>> embedding(np.array([2, 0]), np.arange(6.0).reshape(3, 2))
    array([[4., 5.],
           [0., 1.]])
    """
    from graphnn.ops.linalg import reshape

    if isinstance(weight, ir.Node) and weight.ndim != 2:
        raise ParamError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got {describe(weight)}", node=weight)
    idx = _index_arg(weight, index)
    rows = index_select(weight, 0, reshape(idx, (-1,)))
    ishape = idx.shape if isinstance(idx, ir.Node) else np.shape(idx)
    wshape = weight.shape if isinstance(weight, ir.Node) else np.shape(weight)
    return reshape(rows, tuple(ishape) + (wshape[1],), name=name)



# ---------------------------------------------------------------------------------------
# comparisons and logical ops: bool results, no gradient
# ---------------------------------------------------------------------------------------

_NO_GRAD = "a boolean result: no gradient flows through it"


def _bool(*_: Any, **__: Any) -> Any:
    return np.bool_


def _compare(name: str, label: str, ufunc: str, onnx_type: str, rel: str, doc: str) -> Op:
    return register(Op(
        name=name, label=label, elementwise=True, shape=S.elementwise, dtype=_bool,
        forward=lambda xp, a, b: getattr(xp, ufunc)(a, b),
        deriv=lambda out, a, b: (None, None), nondiff=(0, 1),
        sympy=lambda sp, a, b: sp.Piecewise((1, getattr(sp, rel)(a, b)), (0, True)),
        numpy=f"({{0}} {label} {{1}})", inplace=(f"xp.{ufunc}({{0}}, {{1}}, out={{out}})",),
        numexpr=f"({{0}} {label} {{1}})", cuda=f"({{0}} {label} {{1}})",
        onnx=Onnx(op_type=onnx_type, imports={onnx_type: None}) if onnx_type != "Not" else
        Onnx(export=_export_ne, imports=Unsupported(
            "ONNX has no NotEqual: exported as Not(Equal), which imports as "
            "logical_not(eq)")),
        doc=doc))


def _export_ne(ex: Any, n: Any) -> None:
    e = ex.emit("Equal", [i.name for i in n.inputs], ex.name(n.name + "__eq"))
    ex.emit("Not", [e], n.name)


LT = _compare("lt", "<", "less", "Less", "StrictLessThan", "a < b (bool, no gradient)")
LE = _compare("le", "<=", "less_equal", "LessOrEqual", "LessThan", "a <= b (bool, no gradient)")
GT = _compare("gt", ">", "greater", "Greater", "StrictGreaterThan",
              "a > b (bool, no gradient)")
GE = _compare("ge", ">=", "greater_equal", "GreaterOrEqual", "GreaterThan",
              "a >= b (bool, no gradient)")
EQ = _compare("eq", "==", "equal", "Equal", "Eq", "a == b (bool, no gradient)")
NE = _compare("ne", "!=", "not_equal", "Not", "Ne", "a != b (bool, no gradient)")


def _export_logical(op_type: str) -> Any:
    def export(ex: Any, n: Any) -> None:
        ins = []
        for i in n.inputs:
            if i.dtype == bool:
                ins.append(i.name)
            else:  # ONNX And/Or/Xor/Not take bool tensors: nonzero is True, as in PyTorch
                z = ex.const(n.name + "__zero", np.zeros((), dtype=i.dtype))
                e = ex.emit("Equal", [i.name, z], ex.name(n.name + "__is0"))
                ins.append(ex.emit("Not", [e], ex.name(n.name + "__truth")))
        ex.emit(op_type, ins, n.name)
    return export


def _logical(name: str, nargs: int, ufunc: str, onnx_type: str, sym: str, c: str,
             doc: str) -> Op:
    args = ", ".join("{" + str(k) + "}" for k in range(nargs))
    return register(Op(
        name=name, label=name.split("_")[1], elementwise=True,
        shape=S.elementwise if nargs == 2 else S.same, dtype=_bool,
        forward=(lambda xp, a, b: getattr(xp, ufunc)(a, b)) if nargs == 2 else
        (lambda xp, a: getattr(xp, ufunc)(a)),
        vjp=(lambda g, out, a, b: (None, None)) if nargs == 2 else (lambda g, out, a: (None,)),
        jvp=lambda t, out, *a: None, nondiff=tuple(range(nargs)),
        trace=tt("no derivative (a boolean result)"),
        sympy=(lambda sp, a, b: sp.Piecewise((1, getattr(sp, sym)(sp.Ne(a, 0), sp.Ne(b, 0))),
                                             (0, True))) if nargs == 2 else
        (lambda sp, a: sp.Piecewise((1, sp.Eq(a, 0)), (0, True))),
        numpy=f"xp.{ufunc}({args})", inplace=(f"xp.{ufunc}({args}, out={{out}})",),
        numexpr=Unsupported("numexpr's logical operators take bool operands only, graphnn's "
                            "(like PyTorch's) any dtype"),
        cuda=c, onnx=Onnx(export=_export_logical(onnx_type), imports={onnx_type: None}),
        doc=doc))


LOGICAL_AND = _logical("logical_and", 2, "logical_and", "And", "And",
                       "(({0} != 0) && ({1} != 0))", "a and b, nonzero is True (bool)")
LOGICAL_OR = _logical("logical_or", 2, "logical_or", "Or", "Or",
                      "(({0} != 0) || ({1} != 0))", "a or b, nonzero is True (bool)")
LOGICAL_XOR = _logical("logical_xor", 2, "logical_xor", "Xor", "Xor",
                       "(({0} != 0) != ({1} != 0))", "a xor b, nonzero is True (bool)")
LOGICAL_NOT = _logical("logical_not", 1, "logical_not", "Not", "Not", "({0} == 0)",
                       "not a, zero is True (bool)")


def lt(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a < b`` as a bool node (no gradient); ``a < b`` on nodes calls it.

    >>> import numpy as np
    >>> lt(np.array([1.0, 2.0]), 2.0)
    array([ True, False])
    """
    return bind(LT, a, b, name=name)


def le(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a <= b`` as a bool node (no gradient).

    >>> import numpy as np
    >>> le(np.array([1.0, 2.0]), 1.0)
    array([ True, False])
    """
    return bind(LE, a, b, name=name)


def gt(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a > b`` as a bool node (no gradient).

    >>> import numpy as np
    >>> gt(np.array([1.0, 2.0]), 1.0)
    array([False,  True])
    """
    return bind(GT, a, b, name=name)


def ge(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a >= b`` as a bool node (no gradient; the 0/1 float mask is ``ge_mask``).

    >>> import numpy as np
    >>> ge(np.array([1.0, 2.0]), 2.0)
    array([False,  True])
    """
    return bind(GE, a, b, name=name)


def eq(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a == b`` as a bool node (no gradient). ``==`` on nodes keeps meaning identity
    (nodes are dict keys and set members), so write ``gn.eq(a, b)``.

    >>> import numpy as np
    >>> eq(np.array([1.0, 2.0]), 2.0)
    array([False,  True])
    """
    return bind(EQ, a, b, name=name)


def ne(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a != b`` as a bool node (no gradient; ``!=`` on nodes is identity, like ``==``).

    >>> import numpy as np
    >>> ne(np.array([1.0, 2.0]), 2.0)
    array([ True, False])
    """
    return bind(NE, a, b, name=name)


def logical_and(a: Any, b: Any, *, name: str | None = None) -> Any:
    """Elementwise and (nonzero is True) as a bool node.

    >>> import numpy as np
    >>> logical_and(np.array([1.0, 0.0]), np.array([2.0, 3.0]))
    array([ True, False])
    """
    return bind(LOGICAL_AND, a, b, name=name)


def logical_or(a: Any, b: Any, *, name: str | None = None) -> Any:
    """Elementwise or (nonzero is True) as a bool node.

    >>> import numpy as np
    >>> logical_or(np.array([1.0, 0.0]), np.array([0.0, 0.0]))
    array([ True, False])
    """
    return bind(LOGICAL_OR, a, b, name=name)


def logical_xor(a: Any, b: Any, *, name: str | None = None) -> Any:
    """Elementwise exclusive or (nonzero is True) as a bool node.

    >>> import numpy as np
    >>> logical_xor(np.array([1.0, 1.0]), np.array([0.0, 2.0]))
    array([ True, False])
    """
    return bind(LOGICAL_XOR, a, b, name=name)


def logical_not(a: Any, *, name: str | None = None) -> Any:
    """Elementwise not (zero is True) as a bool node.

    >>> import numpy as np
    >>> logical_not(np.array([1.0, 0.0]))
    array([False,  True])
    """
    return bind(LOGICAL_NOT, a, name=name)


# ---------------------------------------------------------------------------------------
# where and clamp
# ---------------------------------------------------------------------------------------


def _where_dtype(c: Any, a: Any, b: Any, **_: Any) -> Any:
    return np.result_type(a, b)


WHERE = register(Op(
    name="where", label="where", elementwise=True, shape=S.elementwise, dtype=_where_dtype,
    forward=lambda xp, c, a, b: xp.where(c, a, b), nondiff=(0,),
    deriv=lambda out, c, a, b: (None, lambda: _fmask(c, a), lambda: 1.0 - _fmask(c, b)),
    vjp=lambda g, out, c, a, b: (None, lambda: where(c, g, 0.0), lambda: where(c, 0.0, g)),
    jvp=lambda t, out, c, a, b: None if t[1] is None and t[2] is None else where(
        c, 0.0 if t[1] is None else t[1], 0.0 if t[2] is None else t[2]),
    sympy=lambda sp, c, a, b: sp.Piecewise((a, sp.Ne(c, 0)), (b, True)),
    numpy="xp.where({0}, {1}, {2})", inplace=Unsupported("xp.where has no out= argument"),
    numexpr="where({0}, {1}, {2})", cuda="({0} ? {1} : {2})",
    onnx=Onnx(op_type="Where", imports={"Where": lambda im, n, x, a: [where(*x)]}),
    doc="a where cond else b; the gradient goes to a where cond holds, to b elsewhere"))


def _fmask(c: Any, like: Any) -> Any:
    """The bool ``c`` as a 0/1 float mask (trace text and sympy values only)."""
    from graphnn.ops.elementwise import ge_mask

    return ge_mask(where(c, 1.0, 0.0), 0.5)


def where(condition: Any, input: Any, other: Any, *, name: str | None = None) -> Any:  # noqa: A002
    """``torch.where(condition, input, other)``: ``input`` where the bool ``condition``
    holds, else ``other`` (broadcasting). The gradient goes to ``input`` through the mask
    and to ``other`` through its complement (0 elsewhere, even for infinite gradients).

    >>> import numpy as np
    >>> where(np.array([True, False]), 1.0, np.array([5.0, 6.0]))
    array([1., 6.])
    """
    like = input if isinstance(input, ir.Node) else other if isinstance(other, ir.Node) else None
    if like is not None:  # Python numbers take the float dtype of the other branch
        input, other = (like.graph.constant(v, like=like) if not isinstance(v, ir.Node) else v
                        for v in (input, other))
    c = condition
    if isinstance(c, ir.Node) and c.dtype != bool:
        raise ParamError(f"where: condition must be a bool node (a comparison such as "
                         f"x > 0), got {describe(c)}", node=c)
    if not isinstance(c, (ir.Node, Traced)):
        c = _as_array(c)
        if c.dtype != bool:
            raise ParamError(f"where: condition must be boolean, got dtype {c.dtype}")
        if like is not None:  # a bool constant (bind would cast it to like's float dtype)
            c = like.graph.constant(c, dtype=np.bool_)
    return bind(WHERE, c, input, other, name=name)


def _in_bounds(a: Any, lo: Any, hi: Any) -> Any:
    """Where x itself is the result: min <= x <= max (PyTorch's inclusive rule)."""
    return logical_and(ge(a, lo), le(a, hi))


def _lo_wins(a: Any, lo: Any, hi: Any) -> Any:
    """Where a min tensor gets the gradient in PyTorch: x < min < max."""
    return logical_and(lt(a, lo), lt(lo, hi))


def _hi_wins(a: Any, lo: Any, hi: Any) -> Any:
    """Where a max tensor gets the gradient in PyTorch: max(x, min) > max (NaN: nowhere)."""
    from graphnn.ops.elementwise import maximum

    return gt(maximum(a, lo), hi)


CLAMP = register(Op(
    name="clamp", label="clamp", elementwise=True, shape=S.elementwise,
    dtype=lambda a, lo, hi, **_: np.result_type(a, lo, hi),
    forward=lambda xp, a, lo, hi: xp.minimum(xp.maximum(a, lo), hi),
    deriv=lambda out, a, lo, hi: (lambda: _fmask(_in_bounds(a, lo, hi), a),
                                  lambda: _fmask(_lo_wins(a, lo, hi), a),
                                  lambda: _fmask(_hi_wins(a, lo, hi), a)),
    vjp=lambda g, out, a, lo, hi: (lambda: where(_in_bounds(a, lo, hi), g, 0.0),
                                   lambda: where(_lo_wins(a, lo, hi), g, 0.0),
                                   lambda: where(_hi_wins(a, lo, hi), g, 0.0)),
    jvp=lambda t, out, a, lo, hi: _tadd(_tadd(
        None if t[0] is None else where(_in_bounds(a, lo, hi), t[0], 0.0),
        None if t[1] is None else where(_lo_wins(a, lo, hi), t[1], 0.0)),
        None if t[2] is None else where(_hi_wins(a, lo, hi), t[2], 0.0)),
    sympy=lambda sp, a, lo, hi: sp.Min(sp.Max(a, lo), hi),
    numpy="xp.minimum(xp.maximum({0}, {1}), {2})",
    inplace=("xp.maximum({0}, {1}, out={out})", "xp.minimum({out}, {2}, out={out})"),
    numexpr="where(where({0} < {1}, {1}, {0}) > {2}, {2}, where({0} < {1}, {1}, {0}))",
    cuda="((({0} < {1}) ? {1} : {0}) > {2} ? {2} : (({0} < {1}) ? {1} : {0}))",
    onnx=Onnx(export=lambda ex, n: _export_clamp(ex, n),
              imports=Unsupported("ONNX Clip imports through hardtanh's rule (relu6 / hardtanh "
                                  "for scalar constant bounds, clamp otherwise)")),
    doc="min(max(x, min), max) (PyTorch's clamp); the gradient passes to x where min <= x "
        "<= max (inclusive), to min where x < min < max, to max where max(x, min) > max"))


def _export_clamp(ex: Any, n: Any) -> None:
    x, lo, hi = n.inputs
    if lo.ndim == 0 and hi.ndim == 0 and lo.dtype == hi.dtype == x.dtype == n.dtype:
        ex.emit("Clip", [x.name, lo.name, hi.name], n.name)
        return
    m = ex.emit("Max", [x.name, lo.name], ex.name(n.name + "__max"))
    ex.emit("Min", [m, hi.name], n.name)


def clamp(input: Any, min: Any = None, max: Any = None, *,  # noqa: A002
          name: str | None = None) -> Any:
    """``torch.clamp(input, min, max)``: ``min(max(input, min), max)`` (``max`` wins when
    ``min > max``); bounds are numbers, arrays or nodes, None for no bound. As in PyTorch
    the gradient passes where ``min <= input <= max`` (inclusive at the bounds).

    >>> import numpy as np
    >>> clamp(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0)
    array([-1. ,  0.5,  1. ])
    """
    if min is None and max is None:
        raise ParamError("clamp: at least one of min and max must be given",
                         node=input if isinstance(input, ir.Node) else None)
    lo = -np.inf if min is None else min
    hi = np.inf if max is None else max
    kind = np.dtype(getattr(input, "dtype", np.float64)).kind
    if kind in "iu":  # an integer x keeps its dtype: no bound is the dtype's own range
        info = np.iinfo(input.dtype)
        lo = np.array(info.min, dtype=input.dtype) if min is None else lo
        hi = np.array(info.max, dtype=input.dtype) if max is None else hi
    if isinstance(input, ir.Node):
        lo, hi = (input.graph.constant(v, like=input) if not isinstance(v, ir.Node) else v
                  for v in (lo, hi))
    return bind(CLAMP, input, lo, hi, name=name)


def clip(input: Any, min: Any = None, max: Any = None, *,  # noqa: A002
         name: str | None = None) -> Any:
    """Alias of :func:`clamp` (``torch.clip``).

    >>> import numpy as np
    >>> clip(np.array([-2.0, 3.0]), max=1.0)
    array([-2.,  1.])
    """
    return clamp(input, min, max, name=name)
