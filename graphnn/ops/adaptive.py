"""Adaptive pooling (N, C, *spatial) with PyTorch's window rule: output ``i`` of an axis
of length ``L`` pooled to ``O`` covers inputs ``floor(i L / O)`` to ``ceil((i + 1) L / O)``
(exclusive), so windows may differ in size and overlap. adaptive_avg_poolNd and
adaptive_max_poolNd (with ``return_indices``), and their gradients as registered ops.

No loops over pixels or channels: each axis is one gather ``xp.take`` through an (O, K)
index table (K the widest window) with a validity mask, reduced over K (the average is
separable: one gather-sum per axis; the maximum gathers whole windows once, so the first
maximum in row-major order is found as PyTorch finds it). Gradients are the transposed
gather tables (built once per call from the forward table, again without loops), or for
max pooling one ``bincount`` scatter-add into the argmax positions.

>>> import numpy as np
>>> x = np.arange(5.0)[None, None]
>>> adaptive_avg_pool1d(x, 3)          # windows [0, 2), [1, 4), [3, 5)
array([[[0.5, 2. , 3.5]]])
>>> adaptive_max_pool1d(x, 2, return_indices=True)[1]
array([[[2, 4]]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, Unsupported, register, tt
from graphnn.ops import onnx_resample as orr
from graphnn.ops.conv import _prod, check_size, pooled_shape
from graphnn.ops.gather import _gsum, _transpose_table
from graphnn.ops.shape import _fail, _shape

# -- helpers (xp first; codegen copies them) -------------------------------------------


def _adaptive_table(xp: Any, n_in: int, n_out: int) -> tuple[Any, Any, Any]:
    """(index (O, K), mask (O, K), window lengths (O,)) of PyTorch's adaptive windows
    [floor(o L / O), ceil((o + 1) L / O)) on an axis of length L."""
    o = xp.arange(n_out)
    start = (o * n_in) // n_out
    end = -((-(o + 1) * n_in) // n_out)
    k = int(xp.max(end - start))
    idx = start[:, None] + xp.arange(k)[None, :]
    mask = idx < end[:, None]
    return xp.minimum(idx, n_in - 1), mask, end - start


def _adaptive_avg(xp: Any, x: Any, output_size: tuple[int, ...]) -> Any:
    """Mean over each adaptive window (sum along each axis, last first; then divide)."""
    nd = len(output_size)
    s, cnts = x, []
    for a in range(nd - 1, -1, -1):
        n, o = int(x.shape[2 + a]), output_size[a]
        idx, mask, cnt = _adaptive_table(xp, n, o)
        if n % o == 0:  # even windows: a reshape and a sum
            sh = tuple(s.shape)
            s = xp.sum(xp.reshape(s, sh[:2 + a] + (o, n // o) + sh[3 + a:]), axis=3 + a)
        else:
            s = _gsum(xp, s, 2 + a, idx, None, mask)
        cnts.append((a, cnt))
    for a, cnt in reversed(cnts):
        s = s / xp.reshape(cnt.astype(s.dtype), (-1,) + (1,) * (nd - 1 - a))
    return s


def _adaptive_avg_grad(xp: Any, g: Any, input_size: tuple[int, ...]) -> Any:
    """Each window's gradient divided by its size, spread over the window (overlaps add)."""
    nd = len(input_size)
    tabs = [_adaptive_table(xp, input_size[a], int(g.shape[2 + a])) for a in range(nd)]
    for a in range(nd):
        g = g / xp.reshape(tabs[a][2].astype(g.dtype), (-1,) + (1,) * (nd - 1 - a))
    for a in range(nd):
        if input_size[a] % int(g.shape[2 + a]) == 0:  # even windows: a repeat
            g = xp.repeat(g, input_size[a] // int(g.shape[2 + a]), axis=2 + a)
            continue
        tidx, _, tmask = _transpose_table(xp, tabs[a][0], None, tabs[a][1], input_size[a])
        g = _gsum(xp, g, 2 + a, tidx, None, tmask)
    return g


def _adaptive_argmax(xp: Any, x: Any, output_size: tuple[int, ...]) -> Any:
    """PyTorch's index of each adaptive window's maximum: flat within the (unpadded)
    plane, int64 (N, C, *O); the first maximum in row-major window order, the last NaN
    when the window holds NaN (PyTorch's ``val > max || isnan(val)`` scan)."""
    nd = len(output_size)
    t, tabs = x, []
    for a in range(nd):
        idx, mask, _ = _adaptive_table(xp, int(x.shape[2 + a]), output_size[a])
        tabs.append((idx, mask))
        ax = 2 + 2 * a
        t = xp.reshape(xp.take(t, xp.reshape(idx, (-1,)), axis=ax),
                       tuple(t.shape[:ax]) + tuple(idx.shape) + tuple(t.shape[ax + 1:]))
    valid = None
    for a, (idx, mask) in enumerate(tabs):  # (O0, K0, O1, K1, ...)
        shp = [1] * (2 * nd)
        shp[2 * a], shp[2 * a + 1] = idx.shape
        m = xp.reshape(mask, tuple(shp))
        valid = m if valid is None else valid & m
    t = xp.where(valid, t, xp.asarray(-xp.inf, dtype=t.dtype))
    perm = (0, 1) + tuple(2 + 2 * a for a in range(nd)) + tuple(3 + 2 * a for a in range(nd))
    ks = tuple(int(i.shape[1]) for i, _ in tabs)
    kk = 1
    for k in ks:
        kk *= k
    t = xp.reshape(xp.transpose(t, perm), tuple(x.shape[:2]) + tuple(output_size) + (kk,))
    first = xp.argmax(t == xp.max(t, axis=-1, keepdims=True), axis=-1)
    nan = t != t
    last_nan = kk - 1 - xp.argmax(nan[..., ::-1], axis=-1)
    k = xp.where(xp.any(nan, axis=-1), last_nan, first)
    flat, rest = None, kk
    for a in range(nd):
        rest //= ks[a]
        ka = (k // rest) % ks[a]
        idx = tabs[a][0]
        start = xp.reshape(idx[:, 0], (-1,) + (1,) * (nd - 1 - a))
        pos = start + ka
        step = 1
        for e in x.shape[3 + a:]:
            step *= int(e)
        flat = pos * step if flat is None else flat + pos * step
    return flat.astype(xp.int64)


def _adaptive_max(xp: Any, x: Any, output_size: tuple[int, ...]) -> Any:
    """Max over each adaptive window (NaN counts as the maximum)."""
    return _adaptive_select(xp, x, x, output_size)


def _adaptive_select(xp: Any, x: Any, v: Any, output_size: tuple[int, ...]) -> Any:
    """``v`` (shape of ``x``) picked at each adaptive window's argmax of ``x``."""
    n, c = int(x.shape[0]), int(x.shape[1])
    idx = _adaptive_argmax(xp, x, output_size)
    return xp.reshape(xp.take_along_axis(xp.reshape(v, (n, c, -1)),
                                         xp.reshape(idx, (n, c, -1)), axis=2),
                      (n, c) + tuple(output_size))


def _adaptive_max_grad(xp: Any, x: Any, g: Any, output_size: tuple[int, ...]) -> Any:
    """Each window's gradient added at its argmax (one bincount scatter-add)."""
    n, c = int(x.shape[0]), int(x.shape[1])
    plane = 1
    for e in x.shape[2:]:
        plane *= int(e)
    idx = xp.reshape(_adaptive_argmax(xp, x, output_size), (n * c, -1))
    flat = idx + xp.arange(n * c, dtype=xp.int64)[:, None] * plane
    dx = xp.bincount(xp.reshape(flat, (-1,)), weights=xp.reshape(g, (-1,)),
                     minlength=n * c * plane)
    return xp.reshape(dx.astype(g.dtype), tuple(x.shape))


# -- checks and shapes --------------------------------------------------------------------

_AXES = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _check_out(output_size: Any) -> None:
    if not (isinstance(output_size, tuple) and output_size and all(
            isinstance(e, int) and not isinstance(e, bool) for e in output_size)):
        raise ValueError(f"output_size must be a tuple of ints, got {output_size!r}")
    if min(output_size) < 1:
        raise ValueError(f"output_size must be positive, got {output_size}")


def _in_shape(x: S.Shape, nd: int, what: str = "input") -> None:
    if len(x) != nd + 2:
        raise ValueError(f"{what} must be {nd + 2}-D {_AXES[nd]}, got shape {tuple(x)}")
    if any(s < 1 for s in x[2:]):
        raise ValueError(f"{what} {tuple(x)} has an empty spatial axis (adaptive pooling "
                         "needs at least one element per window)")


def _window_elems(x: S.Shape, output_size: tuple[int, ...]) -> S.Shape:
    """The shape of the gathered windows adaptive max pooling works on."""
    kk = 1
    for n, o in zip(x[2:], output_size):
        kk *= -(-n // o) + (1 if n % o else 0)
    return tuple(x[:2]) + tuple(output_size) + (kk,)


def _out_shape(x: S.Shape, *rest: S.Shape, output_size: Any, **_: Any) -> S.Shape:
    """(N, C, *output_size)."""
    _check_out(output_size)
    _in_shape(x, len(output_size))
    return pooled_shape(x, tuple(x[:2]) + tuple(output_size), rest)


def _max_shape(x: S.Shape, *rest: S.Shape, output_size: Any) -> S.Shape:
    out = _out_shape(x, *rest, output_size=output_size)
    check_size(_window_elems(x, output_size))  # the gathered windows
    return out


def _max_grad_shape(x: S.Shape, g: S.Shape, *, output_size: Any) -> S.Shape:
    out = _max_shape(x, output_size=output_size)
    if tuple(g) != out:
        raise ValueError(f"gradient {tuple(g)} does not match the pooled output {out}")
    check_size(x)
    return tuple(x)


def _avg_grad_shape(g: S.Shape, *, input_size: Any) -> S.Shape:
    if not (isinstance(input_size, tuple) and all(isinstance(e, int) for e in input_size)):
        raise ValueError(f"input_size must be a tuple of ints, got {input_size!r}")
    nd = len(input_size)
    _in_shape(g, nd, "gradient")
    x = tuple(g[:2]) + tuple(input_size)
    _in_shape(x, nd)
    check_size(x)
    return x


def _cost(x: S.Shape, *rest: Any, **_: Any) -> int:
    return _prod(x) + _prod(rest[-1]) if rest else _prod(x)


# -- the ops ----------------------------------------------------------------------------------

_HA = (_gsum, _transpose_table, _adaptive_table)
_HM = (_adaptive_table, _adaptive_argmax)
_NOSYM = Unsupported("windows of data-dependent position (argmax) have no closed form here")
AVG: dict[int, Op] = {}
AVG_GRAD: dict[int, Op] = {}
MAX: dict[int, Op] = {}
MAX_GRAD: dict[int, Op] = {}
MAX_SELECT: dict[int, Op] = {}
MAX_INDICES: dict[int, Op] = {}
_NO_GRAD = Unsupported("a gradient op of adaptive pooling: ONNX has no operator for it "
                       "(a ScatterElements spelling is not implemented)")


def _nd(p: dict[str, Any]) -> int:
    return len(p.get("output_size") or p.get("input_size"))


for _n in (1, 2, 3):
    AVG[_n] = register(Op(
        name=f"adaptive_avg_pool{_n}d", forward=_adaptive_avg, shape=_out_shape,
        vjp=lambda g, out, x, **p: (lambda: bind(AVG_GRAD[_nd(p)], g,
                                                 input_size=tuple(x.shape[2:])),),
        jvp=lambda t, out, x, **p: None if t[0] is None else bind(AVG[_nd(p)], t[0], **p),
        numpy="_adaptive_avg(xp, {0}, {output_size})", helpers=_HA + (_adaptive_avg,),
        label=f"adaptive avg pool {_n}d",
        trace=tt("dX = dY / |window| spread over each (overlapping) window"),
        cost=_cost, onnx=Onnx(export=orr.export_adaptive("avg"),
                              imports=orr.NO_ADAPTIVE_IMPORT),
        doc=f"{_n}-D adaptive average pooling (PyTorch's F.adaptive_avg_pool{_n}d)",
    ))
    AVG_GRAD[_n] = register(Op(
        name=f"adaptive_avg_pool{_n}d_grad", forward=_adaptive_avg_grad,
        shape=_avg_grad_shape,
        vjp=lambda c, out, g, **p: (lambda: bind(AVG[_nd(p)], c,
                                                 output_size=tuple(g.shape[2:])),),
        jvp=lambda t, out, g, **p: None if t[0] is None else bind(AVG_GRAD[_nd(p)], t[0],
                                                                   **p),
        numpy="_adaptive_avg_grad(xp, {0}, {input_size})",
        helpers=_HA + (_adaptive_avg_grad,), label=f"adaptive avg pool {_n}d dX",
        trace=tt("dX = dY / |window| spread over each window (linear)"),
        cost=lambda g, out, **p: _prod(out) + _prod(g), onnx=_NO_GRAD,
        doc=f"gradient of adaptive_avg_pool{_n}d",
    ))
    MAX[_n] = register(Op(
        name=f"adaptive_max_pool{_n}d", forward=_adaptive_max, shape=_max_shape,
        vjp=lambda g, out, x, **p: (lambda: bind(MAX_GRAD[_nd(p)], x, g, **p),),
        jvp=lambda t, out, x, **p: None if t[0] is None else bind(MAX_SELECT[_nd(p)], x,
                                                                   t[0], **p),
        numpy="_adaptive_max(xp, {0}, {output_size})",
        helpers=_HM + (_adaptive_select, _adaptive_max), sympy=_NOSYM,
        label=f"adaptive max pool {_n}d",
        trace=tt("dX = dY routed to the (first) max of each window, 0 elsewhere"),
        cost=_cost, onnx=Onnx(export=orr.export_adaptive("max"),
                              imports=orr.NO_ADAPTIVE_IMPORT),
        doc=f"{_n}-D adaptive max pooling (PyTorch's F.adaptive_max_pool{_n}d)",
    ))
    MAX_GRAD[_n] = register(Op(
        name=f"adaptive_max_pool{_n}d_grad", forward=_adaptive_max_grad,
        shape=_max_grad_shape,
        vjp=lambda c, out, x, g, **p: (None, lambda: bind(MAX_SELECT[_nd(p)], x, c, **p)),
        jvp=lambda t, out, x, g, **p: None if t[1] is None else bind(MAX_GRAD[_nd(p)], x,
                                                                      t[1], **p),
        numpy="_adaptive_max_grad(xp, {0}, {1}, {output_size})",
        helpers=_HM + (_adaptive_max_grad,), sympy=_NOSYM,
        label=f"adaptive max pool {_n}d dX",
        trace=tt("dX = dY scattered to each window's argmax"),
        cost=lambda x, g, out, **p: _prod(x) + _prod(g), onnx=_NO_GRAD,
        doc=f"gradient of adaptive_max_pool{_n}d",
    ))
    MAX_SELECT[_n] = register(Op(
        name=f"adaptive_max_pool{_n}d_select", forward=_adaptive_select, shape=_max_shape,
        vjp=lambda c, out, x, v, **p: (None, lambda: bind(MAX_GRAD[_nd(p)], x, c, **p)),
        jvp=lambda t, out, x, v, **p: None if t[1] is None else bind(MAX_SELECT[_nd(p)], x,
                                                                      t[1], **p),
        numpy="_adaptive_select(xp, {0}, {1}, {output_size})",
        helpers=_HM + (_adaptive_select,), sympy=_NOSYM,
        label=f"adaptive max pool {_n}d pick",
        trace=tt("dV = dY scattered to each window's argmax of X"), cost=_cost,
        onnx=Unsupported("no ONNX operator picks one tensor's values at another's "
                         "adaptive-window argmax"),
        doc=f"values picked at the window argmax of adaptive_max_pool{_n}d",
    ))
    MAX_INDICES[_n] = register(Op(
        name=f"adaptive_max_pool{_n}d_indices", forward=_adaptive_argmax, shape=_max_shape,
        dtype=lambda *dts, **p: np.dtype("int64"),
        vjp=lambda g, out, x, **p: (None,), jvp=lambda t, out, x, **p: None, nondiff=(0,),
        numpy="_adaptive_argmax(xp, {0}, {output_size})", helpers=(_adaptive_table,
                                                                   _adaptive_argmax),
        sympy=_NOSYM, label=f"adaptive max pool {_n}d indices",
        trace=tt("no gradient (integer indices)"), cost=_cost,
        onnx=Unsupported("ONNX has no adaptive max pooling with indices (MaxPool's "
                         "Indices need fixed windows)"),
        doc=f"return_indices of adaptive_max_pool{_n}d: flat argmax index per plane",
    ))


def _out_size(nd: int, x: Any, output_size: Any, fn: str) -> tuple[int, ...]:
    """output_size as ``nd`` ints: an int repeats, None entries keep the input's size."""
    shape = _shape(x)
    if len(shape) != nd + 2:
        raise _fail(fn, x, f"input must be {nd + 2}-D {_AXES[nd]} (or unbatched, without N), "
                           f"got shape {shape}")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nd:
            raise _fail(fn, x, f"output_size must have {nd} entries, got "
                               f"{tuple(output_size)!r}")
        out = tuple(shape[2 + a] if e is None else e for a, e in enumerate(output_size))
    elif output_size is None:
        out = tuple(shape[2:])
    else:
        out = (output_size,) * nd
    try:
        out = tuple(int(e) if isinstance(e, (int, np.integer)) and not isinstance(e, bool)
                    else e for e in out)
    except TypeError:
        pass
    return out


def _unbatched(nd: int, x: Any) -> bool:
    """An unbatched (C, *spatial) input, which PyTorch's adaptive pools also take."""
    return len(_shape(x)) == nd + 1


def _avg(nd: int, x: Any, output_size: Any, name: str | None) -> Any:
    if _unbatched(nd, x):
        from graphnn.ops.shape import squeeze, unsqueeze

        return squeeze(_avg(nd, unsqueeze(x, 0), output_size, None), 0, name=name)
    out = _out_size(nd, x, output_size, f"adaptive_avg_pool{nd}d")
    return bind(AVG[nd], x, output_size=out, name=name)


def _max(nd: int, x: Any, output_size: Any, return_indices: bool, name: str | None) -> Any:
    if _unbatched(nd, x):
        from graphnn.ops.shape import squeeze, unsqueeze

        y = _max(nd, unsqueeze(x, 0), output_size, return_indices, None)
        if return_indices:
            return squeeze(y[0], 0, name=name), squeeze(y[1], 0)
        return squeeze(y, 0, name=name)
    out = _out_size(nd, x, output_size, f"adaptive_max_pool{nd}d")
    y = bind(MAX[nd], x, output_size=out, name=name)
    if return_indices:
        return y, bind(MAX_INDICES[nd], x, output_size=out)
    return y


def adaptive_avg_pool1d(x: Any, output_size: Any, *, name: str | None = None) -> Any:
    """Mean over PyTorch's adaptive windows of an (N, C, L) input: output ``i`` averages
    inputs ``floor(i L / O)`` to ``ceil((i + 1) L / O)`` (exclusive).

    >>> import numpy as np
    >>> adaptive_avg_pool1d(np.array([[[1.0, 2.0, 4.0, 8.0]]]), 3)
    array([[[1.5, 3. , 6. ]]])
    """
    return _avg(1, x, output_size, name)


def adaptive_avg_pool2d(x: Any, output_size: Any, *, name: str | None = None) -> Any:
    """Adaptive average pooling of an NCHW (or unbatched CHW) input to ``output_size``
    (an int, or a pair whose None entries keep that axis' size), as F.adaptive_avg_pool2d.

    >>> import numpy as np
    >>> adaptive_avg_pool2d(np.arange(12.0).reshape(1, 1, 3, 4), (1, None))[0, 0]
    array([[4., 5., 6., 7.]])
    """
    return _avg(2, x, output_size, name)


def adaptive_avg_pool3d(x: Any, output_size: Any, *, name: str | None = None) -> Any:
    """Adaptive average pooling of an (N, C, D, H, W) input.

    >>> import numpy as np
    >>> adaptive_avg_pool3d(np.ones((1, 2, 3, 4, 5)), (2, 2, None)).shape
    (1, 2, 2, 2, 5)
    """
    return _avg(3, x, output_size, name)


def adaptive_max_pool1d(x: Any, output_size: Any, return_indices: bool = False, *,
                        name: str | None = None) -> Any:
    """Max over PyTorch's adaptive windows of an (N, C, L) input; ``return_indices``
    also gives each maximum's index (int64). As PyTorch: on ties the first maximum takes
    the index and the gradient; a window holding NaN gives NaN and its last NaN's index.

    >>> import numpy as np
    >>> adaptive_max_pool1d(np.array([[[3.0, 1.0, 3.0, 2.0, 5.0]]]), 2, True)[1]
    array([[[0, 4]]])
    """
    return _max(1, x, output_size, return_indices, name)


def adaptive_max_pool2d(x: Any, output_size: Any, return_indices: bool = False, *,
                        name: str | None = None) -> Any:
    """Adaptive max pooling of an NCHW (or CHW) input (PyTorch's F.adaptive_max_pool2d);
    the gradient goes to the first maximum of each window (the last NaN in a window with
    NaN), the indices are flat h * W + w.

    >>> import numpy as np
    >>> adaptive_max_pool2d(np.arange(9.0).reshape(1, 1, 3, 3), 2)[0, 0]
    array([[4., 5.],
           [7., 8.]])
    """
    return _max(2, x, output_size, return_indices, name)


def adaptive_max_pool3d(x: Any, output_size: Any, return_indices: bool = False, *,
                        name: str | None = None) -> Any:
    """Adaptive max pooling of an (N, C, D, H, W) input.

    >>> import numpy as np
    >>> adaptive_max_pool3d(np.ones((1, 1, 4, 4, 4)), 1).shape
    (1, 1, 1, 1, 1)
    """
    return _max(3, x, output_size, return_indices, name)


__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"]
