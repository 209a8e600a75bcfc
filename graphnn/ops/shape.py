"""Shape ops with PyTorch's names and conventions: ``cat`` / ``concatenate``, ``stack``,
``narrow``, ``split``, ``chunk``, ``pad`` (constant, reflect, replicate, circular; F.pad's
pad tuple, last dim first, negative pads crop), ``flip``, ``roll``, ``repeat``
(``Tensor.repeat``) / ``tile``, ``expand``, ``squeeze`` / ``unsqueeze``, ``permute``,
``movedim`` / ``moveaxis``, ``tril`` / ``triu``.

Records: cat, narrow, pad, pad_grad (the scatter-add adjoint of a reflect / replicate /
circular pad), flip, roll, repeat, squeeze, unsqueeze, tril, triu. The other functions
are built from them (stack = unsqueeze + cat, split / chunk = narrows, tile = repeat,
expand = broadcast_to, permute / movedim = transpose).

>>> import numpy as np, graphnn as gn
>>> with gn.Graph():
...     a = gn.input("a", shape=(2, 3))
...     b = gn.input("b", shape=(2, 1))
...     y = gn.cat([a, b], dim=1)
...     parts = gn.split(y, [1, 3], dim=1)
>>> y.shape, [p.shape for p in parts]
((2, 4), [(2, 1), (2, 3)])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphnn.core import ir
from graphnn.core.bind import bind
from graphnn.core.errors import ShapeError, describe, fmt_shape
from graphnn.core.op import Onnx, Op, Unsupported, register, tt
from graphnn.ops.linalg import broadcast_to, reshape, transpose
from graphnn.ops.reduce import sum as _rsum

Shape = tuple[int, ...]
_INT64_MIN = -(2 ** 63)


# -- helpers ----------------------------------------------------------------------------

def _shape(x: Any) -> Shape:
    s = x.shape if isinstance(x, ir.Node) else np.shape(x)
    return tuple(int(v) for v in s)


def _dim(d: Any, ndim: int, what: str = "dim", extra: int = 0) -> int:
    """``d`` wrapped into ``[0, ndim + extra)`` as PyTorch does (a 0-d tensor accepts 0 and
    -1); ValueError naming the valid range otherwise."""
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {d!r}")
    n = max(ndim + extra, 1)
    d = int(d)
    if not -n <= d < n:
        raise ValueError(f"{what} {d} is out of range for a tensor of {ndim} dimension(s) "
                         f"(expected {-n}..{n - 1})")
    return d % n


def _dims(ds: Any, ndim: int, what: str = "dims") -> tuple[int, ...]:
    """A tuple of distinct wrapped dims (an int is one dim)."""
    if isinstance(ds, (int, np.integer)):
        ds = (ds,)
    out = tuple(_dim(d, ndim, what) for d in ds)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} {tuple(ds)}: a dim appears more than once")
    return out if ndim else ()


def _ints(v: Any, what: str) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    try:
        vals = tuple(v)
    except TypeError:
        raise TypeError(f"{what} must be an int or a sequence of ints, got {v!r}") from None
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in vals):
        raise TypeError(f"{what} must be ints, got {v!r}")
    return tuple(int(i) for i in vals)


def _sizes(sizes: tuple[Any, ...], what: str) -> tuple[int, ...]:
    """``f(x, 2, 3)`` or ``f(x, (2, 3))`` (PyTorch's ``*sizes``)."""
    if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
        return _ints(sizes[0], what)
    return _ints(sizes, what)


def _fail(op: str, x: Any, msg: str) -> Exception:
    """The error a composite function raises before any node is made."""
    if isinstance(x, ir.Node):
        return ShapeError(f"{op}: {msg}\n  input: {describe(x)}", node=x)
    return ValueError(f"{op}: {msg}")


def _budget(op: str, x: Any, out: Shape) -> None:
    """Refuse an output over the size budget (GRAPHNN_MAX_BYTES) before anything runs."""
    from graphnn.core.limits import check_bytes

    itemsize = x.dtype.itemsize if hasattr(x, "dtype") else 8
    try:
        check_bytes(out, itemsize, f"{op} output")
    except ValueError as e:
        raise _fail(op, x, str(e)) from None


def _seq(tensors: Any, op: str) -> list[Any]:
    if isinstance(tensors, (ir.Node, np.ndarray)) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}() takes a list or tuple of tensors as its first argument, "
                        f"got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}() expects a non-empty list of tensors")
    return list(tensors)


def _pad_dim(x: Any, ndim: int, d: int, before: int, after: int) -> Any:
    """Zero-pad (or crop, negative) ``x`` along dim ``d`` only."""
    p = [0] * (2 * (ndim - d))
    p[-2], p[-1] = before, after
    return _pad_node(x, tuple(p))


# -- cat ---------------------------------------------------------------------------------

def _cat_shape(*shapes: Shape, dim: int = 0) -> Shape:
    """The inputs' common shape with the sizes along `dim` added."""
    if not shapes:
        raise ValueError("expects a non-empty list of tensors")
    for k, s in enumerate(shapes):
        if len(s) == 0:
            raise ValueError(f"input {k} is zero-dimensional and cannot be concatenated")
    nd = len(shapes[0])
    listed = ", ".join(f"input {k} {fmt_shape(s)}" for k, s in enumerate(shapes))
    if any(len(s) != nd for s in shapes):
        raise ValueError(f"tensors must have the same number of dimensions: {listed}")
    d = _dim(dim, nd)
    for s in shapes[1:]:
        bad = [i for i in range(nd) if i != d and s[i] != shapes[0][i]]
        if bad:
            raise ValueError(f"sizes of tensors must match except in dimension {d} "
                             f"(dimension {bad[0]} differs): {listed}")
    return shapes[0][:d] + (sum(s[d] for s in shapes),) + shapes[0][d + 1:]


def _cat_vjp(g: Any, out: Any, *xs: Any, dim: int = 0) -> tuple[Any, ...]:
    d = dim % len(out.shape)
    cts, off = [], 0
    for x in xs:
        n = int(x.shape[d])
        cts.append(lambda off=off, n=n: narrow(g, d, off, n))
        off += n
    return tuple(cts)


def _cat_jvp(t: Any, out: Any, *xs: Any, dim: int = 0) -> Any:
    if all(v is None for v in t):
        return None
    if all(v is not None for v in t):
        return cat(list(t), dim)
    nd = len(out.shape)
    d, total, off, acc = dim % nd, int(out.shape[dim % nd]), 0, None
    for v, x in zip(t, xs):
        n = int(x.shape[d])
        if v is not None:
            term = _pad_dim(v, nd, d, off, total - off - n)
            acc = term if acc is None else acc + term
        off += n
    return acc


def _export_cat(ex: Any, n: Any) -> None:
    ex.direct("Concat", n, axis=int(n.params.get("dim", 0)) % n.ndim)


def _import_concat(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.onnx_rules import same_dtype

    return [cat(same_dtype(x), int(a.get("axis", 0)))]


CAT = register(Op(
    name="cat", forward=lambda xp, *arrays, dim=0: xp.concatenate(arrays, axis=dim),
    shape=_cat_shape, fresh=True, latex=r"Y = [X_1, X_2, \dots]",
    vjp=_cat_vjp, jvp=_cat_jvp, numpy="xp.concatenate([{inputs}], axis={dim})", label="cat",
    trace=tt("dX_i = narrow(dY, dim, offset_i, X_i.shape[dim])"),
    onnx=Onnx(export=_export_cat, imports={"Concat": _import_concat}),
    doc="Concatenate tensors along an existing dim (torch.cat).",
))


def cat(tensors: Sequence[Any], dim: int = 0, *, name: str | None = None) -> Any:
    """Concatenate ``tensors`` along ``dim`` (``torch.cat``); all other sizes must match.

    >>> import numpy as np
    >>> cat([np.zeros((1, 2)), np.ones((2, 2))], dim=0).shape
    (3, 2)
    """
    return bind(CAT, *_seq(tensors, "cat"), dim=int(dim), name=name)


def concatenate(tensors: Sequence[Any], axis: int = 0, *, name: str | None = None) -> Any:
    """NumPy's / ``torch.concatenate``'s spelling of :func:`cat`.

    >>> import numpy as np
    >>> concatenate([np.zeros(2), np.ones(3)]).tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0]
    """
    return cat(tensors, axis, name=name)


def stack(tensors: Sequence[Any], dim: int = 0, *, name: str | None = None) -> Any:
    """Stack equally shaped tensors along a new dim ``dim`` (``torch.stack``).

    >>> import numpy as np
    >>> stack([np.zeros(3), np.ones(3)], dim=1).shape
    (3, 2)
    """
    ts = _seq(tensors, "stack")
    s0 = _shape(ts[0])
    for k, t in enumerate(ts[1:], 1):
        if _shape(t) != s0:
            raise _fail("stack", t if isinstance(t, ir.Node) else ts[0],
                        f"expects each tensor to be equal size, but got {fmt_shape(s0)} "
                        f"at entry 0 and {fmt_shape(_shape(t))} at entry {k}")
    try:
        d = _dim(dim, len(s0), "dim", extra=1)
    except (TypeError, ValueError) as e:
        raise _fail("stack", ts[0], str(e)) from None
    return cat([unsqueeze(t, d) for t in ts], d, name=name)


# -- narrow / split / chunk -------------------------------------------------------------

def _narrow_check(a: Shape, dim: int = 0, start: int = 0, length: int = 0) -> None:
    if len(a) == 0:
        raise ValueError("narrow() cannot be applied to a 0-dim tensor")
    d = _dim(dim, len(a))
    n = a[d]
    if not 0 <= start <= n:
        raise ValueError(f"start {start} is out of range for dim {d} of size {n}")
    if length < 0 or start + length > n:
        raise ValueError(f"start ({start}) + length ({length}) exceeds dimension size ({n}) "
                         f"of dim {d}")


def _narrow_shape(a: Shape, dim: int = 0, start: int = 0, length: int = 0) -> Shape:
    """The input shape with dim `dim` of size `length`."""
    _narrow_check(a, dim, start, length)
    d = dim % len(a)
    return a[:d] + (length,) + a[d + 1:]


def _narrow(a: Any, dim: int = 0, start: int = 0, length: int = 0) -> Any:
    """Elements start..start+length-1 of dim ``dim`` (a view)."""
    return a[(slice(None),) * (dim % a.ndim) + (slice(start, start + length),)]


def _export_slice(ex: Any, src: str, out: str, axes: list[int], starts: list[int],
                  ends: list[int], steps: list[int] | None = None) -> str:
    """One ONNX Slice of tensor ``src`` into ``out``."""
    ins = [src] + [ex.const(out + "__" + k, np.array(v, dtype=np.int64))
                   for k, v in (("starts", starts), ("ends", ends), ("axes", axes))]
    if steps is not None:
        ins.append(ex.const(out + "__steps", np.array(steps, dtype=np.int64)))
    return ex.emit("Slice", ins, out)


def _export_narrow(ex: Any, n: Any) -> None:
    p = n.params
    d, s = int(p["dim"]) % n.ndim, int(p["start"])
    _export_slice(ex, n.inputs[0].name, n.name, [d], [s], [s + int(p["length"])])


def _import_split(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    y = x[0]
    ax = int(a.get("axis", 0)) % y.ndim
    size = y.shape[ax]
    if len(n.input) > 1 and n.input[1]:
        sizes = [int(v) for v in np.ravel(im.static(n.input[1], "Split's split sizes"))]
    elif "split" in a:
        sizes = [int(v) for v in a["split"]]
    else:
        k = int(a.get("num_outputs", len(n.output)))
        step = -(-size // k) if k else 0
        sizes = [min(step, size - i) for i in range(0, size, step)] if step else []
        sizes += [0] * (k - len(sizes))
    return list(split(y, sizes, ax))


NARROW = register(Op(
    name="narrow", forward=lambda xp, a, dim=0, start=0, length=0: _narrow(a, dim, start, length),
    shape=_narrow_shape, check=_narrow_check, moves_data=True, helpers=(_narrow,),
    latex=r"Y = X_{[\mathrm{start}:\mathrm{start}+\mathrm{length}]}",
    vjp=lambda g, out, a, dim=0, start=0, length=0: (
        _pad_dim(g, len(a.shape), dim % len(a.shape), start,
                 int(a.shape[dim % len(a.shape)]) - start - length),),
    jvp=lambda t, out, a, dim=0, start=0, length=0:
        None if t[0] is None else narrow(t[0], dim, start, length),
    numpy="_narrow({0}, {dim}, {start}, {length})", label="narrow",
    trace=tt("dX = dY zero-padded back to X.shape along dim"),
    onnx=Onnx(export=_export_narrow, imports={"Split": _import_split}),
    doc="A slice of length `length` from `start` along `dim` (torch.narrow).",
))


def narrow(x: Any, dim: int, start: int, length: int, *, name: str | None = None) -> Any:
    """Elements ``start .. start+length-1`` along ``dim`` (``torch.narrow``; a negative
    ``start`` counts from the end).

    >>> import numpy as np
    >>> narrow(np.arange(6.0), 0, -4, 2).tolist()
    [2.0, 3.0]
    """
    s, d, start = _shape(x), int(dim), int(start)
    if s and -len(s) <= d < len(s):  # else the shape rule reports it
        d %= len(s)
        start = start + s[d] if start < 0 else start
    return bind(NARROW, x, dim=d, start=start, length=int(length), name=name)


def split(x: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Any, ...]:
    """Split ``x`` along ``dim`` into pieces of ``split_size_or_sections`` elements (an int:
    the last piece may be smaller) or of the listed sizes (``torch.split``).

    >>> import numpy as np
    >>> [p.tolist() for p in split(np.arange(5.0), 2)]
    [[0.0, 1.0], [2.0, 3.0], [4.0]]
    """
    s = _shape(x)
    try:
        if not s:
            raise ValueError("split() cannot be applied to a 0-dim tensor")
        d = _dim(dim, len(s))
        size = s[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            k = int(split_size_or_sections)
            if k < 0 or (k == 0 and size):
                raise ValueError(f"split_size must be positive, got {k} for dim {d} of "
                                 f"size {size}")
            sizes = [min(k, size - i) for i in range(0, size, k)] if size else [0]
        else:
            sizes = list(_ints(split_size_or_sections, "split sizes"))
            if any(v < 0 for v in sizes) or sum(sizes) != size:
                raise ValueError(f"split sizes {sizes} must be non-negative and sum to the "
                                 f"size {size} of dim {d}")
    except (TypeError, ValueError) as e:
        raise _fail("split", x, str(e)) from None
    out, off = [], 0
    for n in sizes:
        out.append(narrow(x, d, off, n))
        off += n
    return tuple(out)


def chunk(x: Any, chunks: int, dim: int = 0) -> tuple[Any, ...]:
    """Split ``x`` into at most ``chunks`` pieces of ``ceil(size / chunks)`` elements along
    ``dim`` (``torch.chunk``; it may return fewer pieces).

    >>> import numpy as np
    >>> [p.shape for p in chunk(np.zeros((5, 2)), 3)]
    [(2, 2), (2, 2), (1, 2)]
    """
    s = _shape(x)
    try:
        if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
            raise ValueError(f"chunks must be a positive int, got {chunks!r}")
        if not s:
            raise ValueError("chunk() cannot be applied to a 0-dim tensor")
        d = _dim(dim, len(s))
    except (TypeError, ValueError) as e:
        raise _fail("chunk", x, str(e)) from None
    size = s[d]
    if size == 0:
        return split(x, [0] * int(chunks), d)
    return split(x, -(-size // int(chunks)), d)


# -- pad --------------------------------------------------------------------------------

_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_check(a: Shape, pad: Any = (), mode: str = "constant", value: float = 0.0) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(map(repr, _MODES))}")
    if len(pad) % 2:
        raise ValueError(f"padding length must be divisible by 2, got pad {tuple(pad)}")
    if len(pad) > 2 * len(a):
        raise ValueError(f"padding length {len(pad)} should be at most two times the input "
                         f"dimension {len(a)} (pad {tuple(pad)})")
    if mode != "constant" and value != 0:
        raise ValueError(f"padding mode {mode!r} doesn't take a value argument")
    for i in range(len(pad) // 2):
        d = len(a) - 1 - i
        lo, hi, n = int(pad[2 * i]), int(pad[2 * i + 1]), a[d]
        plo, phi = max(lo, 0), max(hi, 0)
        m = n - max(-lo, 0) - max(-hi, 0)
        where = f"padding ({lo}, {hi}) at dim {d} of size {n}"
        if mode in ("constant", "circular") and m < 0:
            raise ValueError(f"{where}: the negative pads crop more than the dim holds")
        if mode == "circular" and not (plo <= m and phi <= m):
            raise ValueError(f"{where}: circular padding wraps around more than once")
        if mode in ("reflect", "replicate") and (lo or hi):
            if n + lo + hi < 1:
                raise ValueError(f"{where}: the output size {n + lo + hi} would be < 1")
            if mode == "reflect" and not (plo < n and phi < n):
                raise ValueError(f"{where}: reflect padding must be less than the size")


def _pad_shape(a: Shape, pad: Any = (), mode: str = "constant", value: float = 0.0) -> Shape:
    """Each padded dim grows by its two pads (last dim first, as F.pad)."""
    _pad_check(a, pad, mode, value)
    return _padded(a, pad)


def _padded(a: Shape, pad: Any) -> Shape:
    out = list(a)
    for i in range(len(pad) // 2):
        out[len(a) - 1 - i] += int(pad[2 * i]) + int(pad[2 * i + 1])
    return tuple(out)


def _pad(xp: Any, a: Any, pad: Any, mode: str = "constant", value: float = 0.0) -> Any:
    """F.pad with np.pad's modes. Negative pads crop: constant and circular crop first,
    reflect and replicate pad the uncropped tensor first (as PyTorch does)."""
    nd = a.ndim
    crop = [slice(None)] * nd
    widths = [(0, 0)] * nd
    first = mode in ("reflect", "replicate")
    for i in range(len(pad) // 2):
        d = nd - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        grow = max(lo, 0) + max(hi, 0) if first else 0
        crop[d] = slice(max(-lo, 0), a.shape[d] + grow - max(-hi, 0))
        widths[d] = (max(lo, 0), max(hi, 0))
    if first:
        np_mode = "reflect" if mode == "reflect" else "edge"
        if any(w != (0, 0) for w in widths):
            a = xp.pad(a, widths, mode=np_mode)
        return a[tuple(crop)].copy()
    a = a[tuple(crop)]
    if mode == "constant":
        return xp.pad(a, widths, mode="constant", constant_values=value)
    return xp.pad(a, widths, mode="wrap") if any(w != (0, 0) for w in widths) else a.copy()


def _pad_adj(xp: Any, g: Any, pad: Any, mode: str, shape: Any) -> Any:
    """The adjoint of ``_pad``: the gradient of every padded copy added (scatter-add)
    onto the element it copies; zeros where the pad cropped."""
    nd = g.ndim
    for i in range(len(pad) // 2):
        d = nd - 1 - i
        lo, hi, n = pad[2 * i], pad[2 * i + 1], shape[d]
        plo, phi, clo, chi = max(lo, 0), max(hi, 0), max(-lo, 0), max(-hi, 0)

        def sl(s: int, e: int, d: int = d) -> tuple[slice, ...]:
            return (slice(None),) * d + (slice(s, e),)

        def zpad(v: Any, b: int, e: int, d: int = d) -> Any:
            if not (b or e):
                return v
            widths = [(0, 0)] * nd
            widths[d] = (b, e)
            return xp.pad(v, widths, mode="constant", constant_values=0)

        if mode in ("reflect", "replicate"):  # padded first, then cropped
            g = zpad(g, clo, chi)
            m = n
        else:
            m = n - clo - chi
        c = g[sl(plo, plo + m)].copy()
        if mode == "reflect":
            c[sl(1, plo + 1)] += xp.flip(g[sl(0, plo)], axis=d)
            c[sl(m - 1 - phi, m - 1)] += xp.flip(g[sl(plo + m, plo + m + phi)], axis=d)
        elif mode == "replicate":
            if plo:
                c[sl(0, 1)] += xp.sum(g[sl(0, plo)], axis=d, keepdims=True)
            if phi:
                c[sl(m - 1, m)] += xp.sum(g[sl(plo + m, plo + m + phi)], axis=d, keepdims=True)
        elif mode == "circular":
            c[sl(m - plo, m)] += g[sl(0, plo)]
            c[sl(0, phi)] += g[sl(plo + m, plo + m + phi)]
        g = c if mode in ("reflect", "replicate") else zpad(c, clo, chi)
    return g


def _pad_vjp(g: Any, out: Any, a: Any, pad: Any = (), mode: str = "constant",
             value: float = 0.0) -> tuple[Any]:
    if mode == "constant":
        return (_pad_node(g, tuple(-int(p) for p in pad)),)
    return (bind(PAD_GRAD, g, pad=tuple(pad), mode=mode, shape=tuple(a.shape)),)


def _export_pad(ex: Any, n: Any) -> None:
    """Pad (reflect / replicate: before the crop of negative pads, constant: after) or,
    for circular (ONNX's "wrap" needs opset 19), crop + Slice + Concat per dim."""
    x = n.inputs[0]
    p, mode, nd = n.params["pad"], n.params.get("mode", "constant"), x.ndim
    lo, hi = [0] * nd, [0] * nd
    for i in range(len(p) // 2):
        lo[nd - 1 - i], hi[nd - 1 - i] = int(p[2 * i]), int(p[2 * i + 1])
    src, shp = x.name, list(x.shape)
    neg = [d for d in range(nd) if lo[d] < 0 or hi[d] < 0]
    plo, phi = [max(v, 0) for v in lo], [max(v, 0) for v in hi]
    padded = any(plo + phi)
    if neg and mode in ("constant", "circular"):
        out = n.name if not padded else ex.name(n.name + "__crop")
        src = _export_slice(ex, src, out, neg, [max(-lo[d], 0) for d in neg],
                            [shp[d] - max(-hi[d], 0) for d in neg])
        for d in neg:
            shp[d] -= max(-lo[d], 0) + max(-hi[d], 0)
        neg = []
    if not padded:
        if neg:  # reflect / replicate that only crop
            _export_slice(ex, src, n.name, neg, [max(-lo[d], 0) for d in neg],
                          [shp[d] - max(-hi[d], 0) for d in neg])
        elif src == x.name:
            ex.emit("Identity", [src], n.name)
        return
    last = n.name if not neg else ex.name(n.name + "__pad")
    if mode == "circular":
        dims = [d for d in range(nd) if plo[d] or phi[d]]
        for k, d in enumerate(dims):
            out = last if k == len(dims) - 1 else ex.name(n.name + f"__wrap{d}")
            parts = []
            if plo[d]:
                parts.append(_export_slice(ex, src, ex.name(n.name + f"__tail{d}"), [d],
                                           [shp[d] - plo[d]], [shp[d]]))
            parts.append(src)
            if phi[d]:
                parts.append(_export_slice(ex, src, ex.name(n.name + f"__head{d}"), [d],
                                           [0], [phi[d]]))
            src = ex.emit("Concat", parts, out, axis=d)
        return
    ins = [src, ex.const(n.name + "__pads", np.array(plo + phi, dtype=np.int64))]
    if mode == "constant":
        ins.append(ex.const(n.name + "__value", np.array(n.params.get("value", 0.0),
                                                         dtype=n.dtype)))
    src = ex.emit("Pad", ins, last, mode={"constant": "constant", "reflect": "reflect",
                                          "replicate": "edge"}[mode])
    if neg:
        _export_slice(ex, src, n.name, neg, [max(-lo[d], 0) for d in neg],
                      [shp[d] + plo[d] + phi[d] - max(-hi[d], 0) for d in neg])


def _import_pad(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    y = x[0]
    nd = y.ndim
    if im.opset < 11:
        pads = [int(v) for v in a.get("pads", [])]
        value = float(a.get("value", 0.0))
    else:
        pads = [int(v) for v in np.ravel(im.static(n.input[1], "Pad's pads"))]
        value = float(np.asarray(im.static(n.input[2], "Pad's constant_value"))) \
            if len(n.input) > 2 and n.input[2] else 0.0
    axes = [int(v) % nd for v in np.ravel(im.static(n.input[3], "Pad's axes"))] \
        if len(n.input) > 3 and n.input[3] else list(range(nd))
    k = len(axes)
    lo, hi = [0] * nd, [0] * nd
    for j, d in enumerate(axes):
        lo[d], hi[d] = pads[j], pads[k + j]
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate",
            "wrap": "circular"}.get(a.get("mode", "constant"))
    if mode is None:
        raise im.unsupported(f"Pad mode {a.get('mode')!r}")
    tp: list[int] = []
    for d in range(nd - 1, -1, -1):
        tp += [lo[d], hi[d]]
    return [_pad_node(y, tuple(tp), mode, value if mode == "constant" else 0.0)]


PAD = register(Op(
    name="pad", forward=_pad, shape=_pad_shape, check=_pad_check, fresh=True,
    helpers=(_pad,), numpy="_pad(xp, {0}, {pad}, {mode}, {value})", label="pad",
    latex=r"Y = \operatorname{pad}(X)",
    vjp=_pad_vjp,
    jvp=lambda t, out, a, pad=(), mode="constant", value=0.0:
        None if t[0] is None else _pad_node(t[0], tuple(pad), mode),
    trace=tt("dX = dY cropped to X (constant); reflected / replicated / wrapped copies of "
             "dY added onto the elements they copy (other modes)"),
    onnx=Onnx(export=_export_pad, imports={"Pad": _import_pad}),
    doc="Pad (or crop, negative pads) the last dims, F.pad's pad tuple: last dim first.",
))
PAD_GRAD = register(Op(
    name="pad_grad", forward=_pad_adj, helpers=(_pad_adj,), fresh=True,
    shape=lambda g, pad=(), mode="reflect", shape=(): _pad_grad_shape(g, pad, mode, shape),
    numpy="_pad_adj(xp, {0}, {pad}, {mode}, {shape})", label="pad'",
    latex=r"dX = \operatorname{pad}^{\top}(dY)",
    vjp=lambda g, out, a, pad=(), mode="reflect", shape=(): (_pad_node(g, tuple(pad), mode),),
    jvp=lambda t, out, a, pad=(), mode="reflect", shape=():
        None if t[0] is None else bind(PAD_GRAD, t[0], pad=pad, mode=mode, shape=shape),
    trace=tt("dG = pad(dY, pad, mode)"),
    onnx=Unsupported("the adjoint of a reflect / replicate / circular pad has no ONNX "
                     "operator (a ScatterElements spelling is not implemented)"),
    doc="The gradient of pad: padded copies summed back onto their sources.",
))


def _pad_grad_shape(g: Shape, pad: Any, mode: str, shape: Any) -> Shape:
    """`shape` (the padded input's shape; the gradient must have the padded shape)."""
    want = _pad_shape(tuple(shape), pad, mode)
    if tuple(g) != want:
        raise ValueError(f"gradient shape {fmt_shape(g)} is not the padded shape "
                         f"{fmt_shape(want)} of {fmt_shape(tuple(shape))}")
    return tuple(int(s) for s in shape)


def _pad_node(x: Any, p: tuple[int, ...], mode: str = "constant", value: float = 0.0) -> Any:
    return bind(PAD, x, pad=p, mode=mode, value=value)


def pad(x: Any, pad: Sequence[int], mode: str = "constant", value: float | None = 0.0, *,
        name: str | None = None) -> Any:
    """Pad the last ``len(pad) // 2`` dims (``torch.nn.functional.pad``): ``pad`` is
    ``(last_lo, last_hi, second_last_lo, ...)``; negative pads crop. ``mode``:
    ``"constant"`` (``value``), ``"reflect"``, ``"replicate"`` or ``"circular"``.

    >>> import numpy as np
    >>> pad(np.array([1.0, 2.0, 3.0]), (2, 1), mode="reflect").tolist()
    [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]
    """
    v = 0.0 if value is None else float(value)
    p = _ints(pad, "pad")
    if len(p) % 2 == 0 and len(p) <= 2 * len(_shape(x)):
        _budget("pad", x, _padded(_shape(x), p))
    return bind(PAD, x, pad=_ints(pad, "pad"), mode=str(mode), value=v, name=name)


# -- flip / roll ------------------------------------------------------------------------

def _flip_shape(a: Shape, dims: Any = ()) -> Shape:
    """The input's shape."""
    _dims(dims, len(a))
    return tuple(a)


def _export_flip(ex: Any, n: Any) -> None:
    dims = [int(d) for d in n.params.get("dims", ())]
    if not dims:
        ex.emit("Identity", [n.inputs[0].name], n.name)
        return
    _export_slice(ex, n.inputs[0].name, n.name, dims, [-1] * len(dims),
                  [_INT64_MIN] * len(dims), [-1] * len(dims))


FLIP = register(Op(
    name="flip", forward=lambda xp, a, dims=(): xp.flip(a, axis=dims) if dims else a,
    shape=_flip_shape, moves_data=True, latex=r"Y = \operatorname{flip}(X)",
    vjp=lambda g, out, a, dims=(): (flip(g, dims),),
    jvp=lambda t, out, a, dims=(): None if t[0] is None else flip(t[0], dims),
    numpy="xp.flip({0}, axis={dims})", label="flip", trace=tt("dX = flip(dY, dims)"),
    onnx=Onnx(export=_export_flip, imports=Unsupported(
        "ONNX has no Flip: it exports as Slice with step -1, which imports as flip "
        "through narrow's Slice rule")),
    doc="Reverse the order of elements along dims (torch.flip).",
))


def flip(x: Any, dims: Any, *, name: str | None = None) -> Any:
    """Reverse ``x`` along each of ``dims`` (``torch.flip``).

    >>> import numpy as np
    >>> flip(np.array([[1.0, 2.0], [3.0, 4.0]]), (1,)).tolist()
    [[2.0, 1.0], [4.0, 3.0]]
    """
    try:
        d = tuple(sorted(_dims(dims, len(_shape(x)))))
    except (TypeError, ValueError) as e:
        raise _fail("flip", x, str(e)) from None
    return bind(FLIP, x, dims=d, name=name)


def _roll_check(a: Shape, shifts: Any = (), dims: Any = None) -> None:
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"shifts {tuple(shifts)} need dims (one shift per dim)")
        return
    if len(shifts) != len(dims):
        raise ValueError(f"shifts {tuple(shifts)} and dims {tuple(dims)} must have the same "
                         "length")
    for d in dims:
        _dim(d, len(a))


def _roll_shape(a: Shape, shifts: Any = (), dims: Any = None) -> Shape:
    """The input's shape."""
    _roll_check(a, shifts, dims)
    return tuple(a)


def _export_roll(ex: Any, n: Any) -> None:
    x = n.inputs[0]
    shifts, dims = list(n.params["shifts"]), n.params.get("dims")
    src, shp = x.name, list(x.shape)
    if dims is None:
        flat = ex.const(n.name + "__flat", np.array([-1], dtype=np.int64))
        src = ex.emit("Reshape", [src, flat], ex.name(n.name + "__ravel"))
        shp, dims = [int(np.prod(shp, dtype=np.int64))], [0]
        final = ex.name(n.name + "__rolled")
    else:
        final = n.name
    work = [(int(d) % len(shp), int(s)) for d, s in zip(dims, shifts)]
    work = [(d, s % shp[d]) for d, s in work if shp[d] and s % shp[d]]
    if not work:
        src = ex.emit("Identity", [src], final)
    for k, (d, s) in enumerate(work):
        out = final if k == len(work) - 1 else ex.name(n.name + f"__roll{k}")
        tail = _export_slice(ex, src, ex.name(n.name + f"__tail{k}"), [d], [shp[d] - s],
                             [shp[d]])
        head = _export_slice(ex, src, ex.name(n.name + f"__head{k}"), [d], [0], [shp[d] - s])
        src = ex.emit("Concat", [tail, head], out, axis=d)
    if n.params.get("dims") is None:
        ex.emit("Reshape", [src, ex.const(n.name + "__shape", np.array(x.shape, np.int64))],
                n.name)


def _roll(xp: Any, a: Any, shifts: Any, dims: Any) -> Any:
    """torch.roll: without dims, the one shift rolls the flattened tensor."""
    return xp.roll(a, shifts[0] if dims is None else shifts, axis=dims)


ROLL = register(Op(
    name="roll", forward=lambda xp, a, shifts=(), dims=None: _roll(xp, a, shifts, dims),
    helpers=(_roll,),
    shape=_roll_shape, check=_roll_check, moves_data=True, fresh=True,
    latex=r"Y = \operatorname{roll}(X)",
    vjp=lambda g, out, a, shifts=(), dims=None: (roll(g, tuple(-s for s in shifts), dims),),
    jvp=lambda t, out, a, shifts=(), dims=None:
        None if t[0] is None else roll(t[0], shifts, dims),
    numpy="_roll(xp, {0}, {shifts}, {dims})", label="roll",
    trace=tt("dX = roll(dY, -shifts, dims)"),
    onnx=Onnx(export=_export_roll, imports=Unsupported(
        "ONNX has no Roll: it exports as Slice + Concat, which import as narrow and cat")),
    doc="Shift elements cyclically along dims (torch.roll; no dims: the flattened tensor).",
))


def roll(x: Any, shifts: Any, dims: Any = None, *, name: str | None = None) -> Any:
    """Shift ``x`` cyclically by ``shifts`` along ``dims`` (``torch.roll``; without dims,
    over the flattened tensor, then restored to its shape).

    >>> import numpy as np
    >>> roll(np.arange(4.0), 1).tolist()
    [3.0, 0.0, 1.0, 2.0]
    """
    s = _ints(shifts, "shifts")
    nd = len(_shape(x))
    try:
        d = None if dims is None else tuple(_dim(v, nd) for v in _ints(dims, "dims"))
        if d is not None and nd == 0:  # a 0-d tensor: dim 0 / -1 is the whole tensor
            d, s = None, s[:1]
    except (TypeError, ValueError) as e:
        raise _fail("roll", x, str(e)) from None
    return bind(ROLL, x, shifts=s, dims=d, name=name)


# -- repeat / tile / expand -------------------------------------------------------------

def _repeat_check(a: Shape, repeats: Any = ()) -> None:
    if len(repeats) < len(a):
        raise ValueError(f"number of repeat dims {len(repeats)} can not be smaller than the "
                         f"number of dimensions {len(a)} of the tensor (repeats "
                         f"{tuple(repeats)})")
    if any(r < 0 for r in repeats):
        raise ValueError(f"repeats {tuple(repeats)} must be non-negative")


def _repeat_shape(a: Shape, repeats: Any = ()) -> Shape:
    """The input (with leading 1s up to len(repeats) dims) times `repeats`."""
    _repeat_check(a, repeats)
    full = (1,) * (len(repeats) - len(a)) + tuple(a)
    return tuple(s * int(r) for s, r in zip(full, repeats))


def _repeat_vjp(g: Any, out: Any, a: Any, repeats: Any = ()) -> tuple[Any]:
    full = (1,) * (len(repeats) - len(a.shape)) + tuple(int(s) for s in a.shape)
    inter: list[int] = []
    for r, s in zip(repeats, full):
        inter += [int(r), s]
    summed = _rsum(reshape(g, tuple(inter)), axis=tuple(range(0, 2 * len(full), 2)))
    return (reshape(summed, tuple(a.shape)),)


def _export_repeat(ex: Any, n: Any) -> None:
    x, reps = n.inputs[0], [int(r) for r in n.params["repeats"]]
    src = x.name
    if len(reps) > x.ndim:
        full = (1,) * (len(reps) - x.ndim) + tuple(x.shape)
        src = ex.emit("Reshape", [src, ex.const(n.name + "__full", np.array(full, np.int64))],
                      ex.name(n.name + "__lead"))
    ex.emit("Tile", [src, ex.const(n.name + "__repeats", np.array(reps, np.int64))], n.name)


def _import_tile(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    return [repeat(x[0], tuple(int(r) for r in np.ravel(im.static(n.input[1], "Tile's "
                                                                    "repeats"))))]


REPEAT = register(Op(
    name="repeat", forward=lambda xp, a, repeats=(): xp.tile(a, repeats),
    shape=_repeat_shape, check=_repeat_check, moves_data=True, fresh=True,
    latex=r"Y = \operatorname{repeat}(X)", vjp=_repeat_vjp,
    jvp=lambda t, out, a, repeats=(): None if t[0] is None else repeat(t[0], repeats),
    numpy="xp.tile({0}, {repeats})", label="repeat",
    trace=tt("dX = sum of dY over the repeated copies"),
    onnx=Onnx(export=_export_repeat, imports={"Tile": _import_tile}),
    doc="Repeat the whole tensor along each dim (torch.Tensor.repeat; np.tile).",
))


def repeat(x: Any, *sizes: Any, name: str | None = None) -> Any:
    """Repeat ``x`` ``sizes[i]`` times along dim i (``torch.Tensor.repeat``: ``len(sizes)``
    at least ``x.ndim``; extra leading sizes add dims).

    >>> import numpy as np
    >>> repeat(np.array([1.0, 2.0]), 2, 2).tolist()
    [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
    """
    reps = _sizes(sizes, "repeat sizes")
    if len(reps) >= len(_shape(x)) and min(reps, default=0) >= 0:
        _budget("repeat", x, _repeat_shape(_shape(x), reps))
    return bind(REPEAT, x, repeats=reps, name=name)


def tile(x: Any, dims: Any, *, name: str | None = None) -> Any:
    """``torch.tile``: :func:`repeat` with ``dims`` padded with leading 1s to ``x.ndim``.

    >>> import numpy as np
    >>> tile(np.zeros((2, 3)), (2,)).shape
    (2, 6)
    """
    d = _ints(dims, "dims")
    nd = len(_shape(x))
    return repeat(x, (1,) * (nd - len(d)) + d, name=name)


def expand(x: Any, *sizes: Any, name: str | None = None) -> Any:
    """``torch.Tensor.expand``: broadcast ``x`` to ``sizes`` (``-1`` keeps a dim; new
    leading dims may be added, but not as -1).

    >>> import numpy as np
    >>> expand(np.array([[1.0], [2.0]]), -1, 3).tolist()
    [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    """
    s = _shape(x)
    try:
        want = _sizes(sizes, "sizes")
        if len(want) < len(s):
            raise ValueError(f"the number of sizes provided ({len(want)}) must be greater "
                             f"or equal to the number of dimensions in the tensor ({len(s)})")
        lead = len(want) - len(s)
        out = []
        for i, w in enumerate(want):
            if i < lead:
                if w < 0:
                    raise ValueError(f"the expanded size {w} isn't allowed in a leading, "
                                     f"non-existing dimension {i}")
                out.append(w)
                continue
            have = s[i - lead]
            if w == -1:
                out.append(have)
            elif w < 0 or (have != 1 and have != w):
                raise ValueError(f"the expanded size of the tensor ({w}) must match the "
                                 f"existing size ({have}) at non-singleton dimension {i}; "
                                 f"target sizes {want}, tensor shape {fmt_shape(s)}")
            else:
                out.append(w)
    except (TypeError, ValueError) as e:
        raise _fail("expand", x, str(e)) from None
    return broadcast_to(x, tuple(out), name=name)


# -- squeeze / unsqueeze ----------------------------------------------------------------

def _squeeze_shape(a: Shape, dims: Any = ()) -> Shape:
    """The input's shape without `dims` (each of size 1)."""
    ds = _dims(dims, len(a))
    for d in ds:
        if a[d] != 1:
            raise ValueError(f"cannot squeeze dim {d} of size {a[d]}")
    return tuple(s for i, s in enumerate(a) if i not in ds)


def _export_squeeze(ex: Any, n: Any) -> None:
    dims = [int(d) for d in n.params.get("dims", ())]
    if not dims:
        ex.emit("Identity", [n.inputs[0].name], n.name)
        return
    ex.emit("Squeeze", [n.inputs[0].name, ex.const(n.name + "__axes",
                                                   np.array(dims, np.int64))], n.name)


def _onnx_axes(im: Any, n: Any, a: dict[str, Any], what: str) -> list[int] | None:
    if im.opset < 13:
        return None if a.get("axes") is None else [int(v) for v in a["axes"]]
    if len(n.input) > 1 and n.input[1]:
        return [int(v) for v in np.ravel(im.static(n.input[1], what))]
    return None


def _import_squeeze(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    axes = _onnx_axes(im, n, a, "Squeeze's axes")
    return [squeeze(x[0], None if axes is None else tuple(axes))]


def _import_unsqueeze(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    axes = _onnx_axes(im, n, a, "Unsqueeze's axes") or []
    out_nd = x[0].ndim + len(axes)
    y = x[0]
    for d in sorted(v % out_nd for v in axes):
        y = unsqueeze(y, d)
    return [y]


SQUEEZE = register(Op(
    name="squeeze", forward=lambda xp, a, dims=(): xp.squeeze(a, axis=dims),
    shape=_squeeze_shape, moves_data=True, latex=r"Y = \operatorname{squeeze}(X)",
    vjp=lambda g, out, a, dims=(): (reshape(g, tuple(a.shape)),),
    jvp=lambda t, out, a, dims=(): None if t[0] is None else reshape(t[0], tuple(out.shape)),
    numpy="xp.squeeze({0}, axis={dims})", label="squeeze",
    trace=tt("dX = reshape(dY, X.shape)"),
    onnx=Onnx(export=_export_squeeze, imports={"Squeeze": _import_squeeze}),
    doc="Remove dims of size 1 (torch.squeeze).",
))
UNSQUEEZE = register(Op(
    name="unsqueeze", forward=lambda xp, a, dim=0: xp.expand_dims(a, dim),
    shape=lambda a, dim=0: tuple(a[:_dim(dim, len(a), extra=1)]) + (1,)
    + tuple(a[_dim(dim, len(a), extra=1):]),
    moves_data=True, latex=r"Y = \operatorname{unsqueeze}(X)",
    vjp=lambda g, out, a, dim=0: (reshape(g, tuple(a.shape)),),
    jvp=lambda t, out, a, dim=0: None if t[0] is None else reshape(t[0], tuple(out.shape)),
    numpy="xp.expand_dims({0}, {dim})", label="unsqueeze",
    trace=tt("dX = reshape(dY, X.shape)"),
    onnx=Onnx(export=lambda ex, n: ex.emit("Unsqueeze", [n.inputs[0].name, ex.const(
        n.name + "__axes", np.array([int(n.params.get("dim", 0))], np.int64))], n.name),
        imports={"Unsqueeze": _import_unsqueeze}),
    doc="Insert a dim of size 1 at `dim` (torch.unsqueeze).",
))


def squeeze(x: Any, dim: Any = None, *, name: str | None = None) -> Any:
    """Remove dims of size 1 (``torch.squeeze``): all of them, or those of ``dim`` (an int
    or a tuple) that have size 1; a listed dim of another size is kept, as in PyTorch.

    >>> import numpy as np
    >>> squeeze(np.zeros((2, 1, 3, 1)), (1, 0)).shape
    (2, 3, 1)
    """
    s = _shape(x)
    try:
        ds = tuple(range(len(s))) if dim is None else _dims(dim, len(s), "dim")
    except (TypeError, ValueError) as e:
        raise _fail("squeeze", x, str(e)) from None
    return bind(SQUEEZE, x, dims=tuple(sorted(d for d in ds if s[d] == 1)), name=name)


def unsqueeze(x: Any, dim: int, *, name: str | None = None) -> Any:
    """Insert a dim of size 1 at ``dim`` (``torch.unsqueeze``; ``-1`` appends one).

    >>> import numpy as np
    >>> unsqueeze(np.zeros((2, 3)), -1).shape
    (2, 3, 1)
    """
    try:
        d = _dim(dim, len(_shape(x)), "dim", extra=1)
    except (TypeError, ValueError) as e:
        raise _fail("unsqueeze", x, str(e)) from None
    return bind(UNSQUEEZE, x, dim=d, name=name)


# -- permute / movedim ------------------------------------------------------------------

def permute(x: Any, *dims: Any, name: str | None = None) -> Any:
    """Reorder the dims of ``x`` (``torch.permute``; ``permute(x, (1, 0))`` or
    ``permute(x, 1, 0)``).

    >>> import numpy as np
    >>> permute(np.zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    nd = len(_shape(x))
    try:
        p = _dims(_sizes(dims, "dims"), nd, "dims")
        if len(p) != nd:
            raise ValueError(f"dims {_sizes(dims, 'dims')} must name each of the {nd} "
                             "dimensions once")
    except (TypeError, ValueError) as e:
        raise _fail("permute", x, str(e)) from None
    return transpose(x, p, name=name)


def movedim(x: Any, source: Any, destination: Any, *, name: str | None = None) -> Any:
    """Move dims ``source`` to positions ``destination`` keeping the others in order
    (``torch.movedim``, ``numpy.moveaxis``).

    >>> import numpy as np
    >>> movedim(np.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    nd = len(_shape(x))
    try:
        src = _dims(source, nd, "source")
        dst = _dims(destination, nd, "destination")
        if len(src) != len(dst):
            raise ValueError(f"source {source} and destination {destination} must have the "
                             "same number of dims")
    except (TypeError, ValueError) as e:
        raise _fail("movedim", x, str(e)) from None
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order), name=name)


def moveaxis(x: Any, source: Any, destination: Any, *, name: str | None = None) -> Any:
    """NumPy's / ``torch.moveaxis``'s name for :func:`movedim`.

    >>> import numpy as np
    >>> moveaxis(np.zeros((2, 3, 4)), (0, 1), (2, 0)).shape
    (3, 4, 2)
    """
    return movedim(x, source, destination, name=name)


# -- tril / triu ------------------------------------------------------------------------

def _trilu(xp: Any, a: Any, diagonal: int, upper: bool) -> Any:
    """The lower (upper) triangle of the last two dims from ``diagonal`` on; zeros
    elsewhere (also where the input is inf or NaN)."""
    n, m = a.shape[-2], a.shape[-1]
    off = xp.arange(m).reshape(1, m) - xp.arange(n).reshape(n, 1)
    keep = off >= diagonal if upper else off <= diagonal
    return xp.where(keep, a, xp.zeros((), dtype=a.dtype))


def _trilu_shape(a: Shape, diagonal: int = 0) -> Shape:
    """The input's shape (at least 2-D)."""
    if len(a) < 2:
        raise ValueError(f"input must have at least 2 dimensions, got shape {fmt_shape(a)}")
    return tuple(a)


def _trilu_record(upper: bool) -> Op:
    nm = "triu" if upper else "tril"

    def fn(x: Any, diagonal: int = 0) -> Any:
        return globals()[nm](x, diagonal)

    def export(ex: Any, n: Any) -> None:
        k = ex.const(n.name + "__k", np.array(int(n.params.get("diagonal", 0)), np.int64))
        ex.emit("Trilu", [n.inputs[0].name, k], n.name, upper=int(upper))

    return register(Op(
        name=nm, forward=lambda xp, a, diagonal=0: _trilu(xp, a, diagonal, upper),
        shape=_trilu_shape, fresh=True, helpers=(_trilu,),
        latex=rf"Y = \operatorname{{{nm}}}(X)",
        vjp=lambda g, out, a, diagonal=0: (fn(g, diagonal),),
        jvp=lambda t, out, a, diagonal=0: None if t[0] is None else fn(t[0], diagonal),
        numpy=f"_trilu(xp, {{0}}, {{diagonal}}, {upper})", label=nm,
        trace=tt(f"dX = {nm}(dY, diagonal)"),
        onnx=Onnx(export=export, imports={"Trilu": _import_trilu}),
        doc=f"The {'upper' if upper else 'lower'} triangle of the last two dims "
            f"(torch.{nm}).",
    ))


def _import_trilu(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    k = int(np.asarray(im.static(n.input[1], "Trilu's k"))) \
        if len(n.input) > 1 and n.input[1] else 0
    return [(triu if a.get("upper", 1) else tril)(x[0], k)]


TRIL = _trilu_record(False)
TRIU = _trilu_record(True)


def tril(x: Any, diagonal: int = 0, *, name: str | None = None) -> Any:
    """The lower triangle of the last two dims, elements with ``j - i <= diagonal``
    (``torch.tril``); zeros above.

    >>> import numpy as np
    >>> tril(np.ones((2, 3))).tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    """
    return bind(TRIL, x, diagonal=int(diagonal), name=name)


def triu(x: Any, diagonal: int = 0, *, name: str | None = None) -> Any:
    """The upper triangle of the last two dims, elements with ``j - i >= diagonal``
    (``torch.triu``); zeros below.

    >>> import numpy as np
    >>> triu(np.ones((2, 3)), 1).tolist()
    [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    """
    return bind(TRIU, x, diagonal=int(diagonal), name=name)
