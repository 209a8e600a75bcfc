"""Resampling: ``interpolate`` (and ``upsample``) of (N, C, *spatial) inputs with
PyTorch's coordinate rules, and its gradient ``interpolate_grad`` as a registered op.

Modes: ``nearest`` and ``nearest-exact`` (3-D, 4-D and 5-D inputs), ``linear`` (3-D),
``bilinear`` and ``bicubic`` (4-D), ``trilinear`` (5-D). Each spatial axis is one gather
through an (O, M) table of source indices and weights (M = 1 for nearest, 2 for linear,
4 for cubic), applied
last axis first, as PyTorch's CPU kernel nests them, so values agree to the last bit:

* nearest: ``src = floor(dst * scale)`` in float32, ``scale = 1 / scale_factor`` when
  ``scale_factor`` is given, else ``in / out`` (but, for 4-D inputs only, ``dst`` when
  out == in and ``dst // 2`` when out == 2 in, whatever the scale_factor, as PyTorch's
  CPU kernels); nearest-exact:
  ``floor((dst + 0.5) scale)``;
* linear: ``src = dst (in - 1) / (out - 1)`` with ``align_corners=True``, else
  ``(dst + 0.5) scale - 0.5`` clamped at 0; weights ``1 - frac, frac`` of the two
  neighbours (an axis whose size does not change is copied);
* bicubic: the same source coordinate, not clamped, and Keys' cubic (A = -0.75) weights of
  the 4 neighbours ``floor(src) - 1 .. floor(src) + 2``, indices clamped to the edge.

PyTorch's own nearest backward always takes those two shortcuts, also for 3-D and 5-D
inputs whose forward does not: there, for a ``scale_factor`` whose ``floor(in * s)`` is
``in`` or ``2 in`` (1.3333 on 2 pixels, 2.3 on 2 pixels), its gradient is not the
derivative of its forward. graphnn's gradient is the derivative of graphnn's forward
(equal to PyTorch's values) in every case.

The gradient is the transposed table (each input gathers the outputs that read it) -
a scatter-add without loops or atomics; both ops are linear, so each is the other's vjp
and second derivatives work.

>>> import numpy as np
>>> x = np.array([[[1.0, 2.0, 4.0]]])
>>> interpolate(x, scale_factor=2)
array([[[1., 1., 2., 2., 4., 4.]]])
>>> interpolate(x, size=5, mode="linear", align_corners=True)
array([[[1. , 1.5, 2. , 3. , 4. ]]])
"""

from __future__ import annotations

import math
from typing import Any

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, Unsupported, register, tt
from graphnn.ops import onnx_resample as orr
from graphnn.ops.conv import _prod, check_size
from graphnn.ops.gather import _gsum, _transpose_table
from graphnn.ops.shape import _budget, _fail, _shape

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic")
_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}

# -- helpers (xp first; codegen copies them) -------------------------------------------


def _interp_table(xp: Any, n_in: int, n_out: int, mode: str, align_corners: bool,
                  scale: Any, dtype: Any, nd: int = 2) -> tuple[Any, Any]:
    """(source indices (O, M), weights (O, M) or None) of one axis of ``nd``, PyTorch's
    rules."""
    o = xp.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        f = xp.float32
        r = f(1.0 / scale) if scale else f(n_in) / f(n_out)
        if mode == "nearest" and nd == 2 and n_out in (n_in, 2 * n_in):  # as PyTorch
            return (o // (n_out // n_in)).astype(xp.int64)[:, None], None
        if mode == "nearest":
            src = xp.floor(o.astype(f) * r)
        else:  # (dst + 0.5) in double, times the float scale, floorf'd
            src = xp.floor(((o + 0.5) * float(r)).astype(f))
        return xp.minimum(src.astype(xp.int64), n_in - 1)[:, None], None
    ft = xp.float32 if xp.dtype(dtype) == xp.float32 else xp.float64
    if mode == "bicubic":  # 4 taps, Keys' cubic with A = -0.75, indices clamped
        if align_corners:
            r = ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
            real = (r * o.astype(ft)).astype(ft)
        else:  # not clamped at 0 for cubic
            r = ft(1.0 / scale) if scale else ft(n_in) / ft(n_out)
            real = (float(r) * (o + 0.5) - 0.5).astype(ft)
        i = xp.minimum(xp.floor(real.astype(xp.float32)).astype(xp.int64), n_in - 1)
        t = xp.clip(real - i.astype(ft), 0, 1).astype(ft)
        a = ft(-0.75)

        def near(z: Any) -> Any:
            return ((a + 2) * z - (a + 3)) * z * z + 1

        def far(z: Any) -> Any:
            return ((a * z - 5 * a) * z + 8 * a) * z - 4 * a
        u = 1 - t
        w = xp.stack([far(t + 1), near(t), near(u), far(u + 1)], axis=1).astype(ft)
        return xp.clip(i[:, None] + xp.arange(-1, 3)[None, :], 0, n_in - 1), w
    if n_out == n_in:
        i0 = o.astype(xp.int64)
        l1 = xp.zeros(n_out, dtype=ft)
        i1 = i0
    else:
        if align_corners:
            r = ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
            real = (r * o.astype(ft)).astype(ft)
        else:
            r = ft(1.0 / scale) if scale else ft(n_in) / ft(n_out)
            real = xp.maximum(float(r) * (o + 0.5) - 0.5, 0.0).astype(ft)
        i0 = xp.minimum(xp.floor(real.astype(xp.float32)).astype(xp.int64), n_in - 1)
        l1 = xp.clip(real - i0.astype(ft), 0, 1).astype(ft)
        i1 = i0 + (i0 < n_in - 1)
    return xp.stack([i0, i1], axis=1), xp.stack([1 - l1, l1], axis=1)


def _interpolate(xp: Any, x: Any, size: tuple[int, ...], scale_factor: Any, mode: str,
                 align_corners: bool) -> Any:
    """x resampled to ``size`` (one gather per axis, last axis first)."""
    nd = len(size)
    y = x
    for a in range(nd - 1, -1, -1):
        idx, w = _interp_table(xp, int(x.shape[2 + a]), size[a], mode, align_corners,
                               scale_factor[a] if scale_factor else None, x.dtype, nd)
        y = _gsum(xp, y, 2 + a, idx, w, None)
    return y


def _interpolate_grad(xp: Any, g: Any, input_size: tuple[int, ...], size: tuple[int, ...],
                      scale_factor: Any, mode: str, align_corners: bool) -> Any:
    """The transpose of ``_interpolate``: every output's gradient added (times its
    weight) to the inputs it read."""
    for a in range(len(size)):
        idx, w = _interp_table(xp, input_size[a], size[a], mode, align_corners,
                               scale_factor[a] if scale_factor else None, g.dtype,
                               len(size))
        tidx, tw, tmask = _transpose_table(xp, idx, w, None, input_size[a])
        g = _gsum(xp, g, 2 + a, tidx, tw, tmask)
    return g


# -- checks and shapes --------------------------------------------------------------------


def _check(*shapes: S.Shape, size: Any, scale_factor: Any, mode: Any, align_corners: Any,
           input_size: Any = None) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(align_corners, bool):
        raise ValueError(f"align_corners must be a bool, got {align_corners!r}")
    if align_corners and mode not in _RANK:
        raise ValueError(f"align_corners=True only applies to linear, bilinear, trilinear "
                         f"and bicubic modes, not {mode!r}")
    if not (isinstance(size, tuple) and size and all(
            isinstance(e, int) and not isinstance(e, bool) for e in size)):
        raise ValueError(f"size must be a tuple of ints, got {size!r}")
    if min(size) < 1:
        raise ValueError(f"output size must be positive, got {size}")
    if scale_factor is not None and not (
            isinstance(scale_factor, tuple) and len(scale_factor) == len(size)
            and all(isinstance(s, float) and s > 0 and math.isfinite(s)
                    for s in scale_factor)):
        raise ValueError(f"scale_factor must be None or {len(size)} positive floats, got "
                         f"{scale_factor!r}")


def _rank(x: S.Shape, size: tuple[int, ...], mode: str, what: str = "input") -> None:
    want = _RANK.get(mode)
    if want is not None and len(x) != want:
        raise ValueError(f"mode {mode!r} needs a {want}-D input, got {len(x)}-D {what} "
                         f"{tuple(x)}")
    if len(x) not in (3, 4, 5) or len(x) != len(size) + 2:
        raise ValueError(f"{what} {tuple(x)} must be (N, C, *spatial) with "
                         f"{len(size)} spatial axes (3-D to 5-D)")


def _interp_shape(x: S.Shape, *, size: Any, mode: Any, **_: Any) -> S.Shape:
    """(N, C, *size)."""
    _rank(x, size, mode)
    if min(x[2:]) < 1:
        raise ValueError(f"input {tuple(x)} has an empty spatial axis")
    out = tuple(x[:2]) + tuple(size)
    check_size(out)
    return out


def _grad_shape(g: S.Shape, *, input_size: Any, size: Any, mode: Any, **_: Any) -> S.Shape:
    _rank(g, size, mode, "gradient")
    if tuple(g[2:]) != tuple(size):
        raise ValueError(f"gradient {tuple(g)} does not match the output size {size}")
    if not (isinstance(input_size, tuple) and len(input_size) == len(size)
            and all(isinstance(e, int) and e >= 1 for e in input_size)):
        raise ValueError(f"input_size must be {len(size)} positive ints, got {input_size!r}")
    x = tuple(g[:2]) + tuple(input_size)
    check_size(x)
    return x


# -- the ops ----------------------------------------------------------------------------------

_P = ("size={size}, scale_factor={scale_factor}, mode={mode}, "
      "align_corners={align_corners}")
_H = (_gsum, _transpose_table, _interp_table)


def _vjp(g: Any, out: Any, x: Any, **p: Any) -> tuple[Any, ...]:
    return (lambda: bind(INTERP_GRAD, g, input_size=tuple(x.shape[2:]), **p),)


INTERP = register(Op(
    name="interpolate", forward=_interpolate, shape=_interp_shape, check=_check,
    vjp=_vjp, jvp=lambda t, out, x, **p: None if t[0] is None else bind(INTERP, t[0], **p),
    numpy="_interpolate(xp, {0}, " + _P + ")", helpers=_H + (_interpolate,),
    label="interpolate", latex=r"Y = \mathrm{resize}(X)",
    trace=tt("dX = dY scattered back through the sampling weights (transpose)"),
    cost=lambda x, out, **p: 2 * _prod(out) + _prod(x),
    onnx=Onnx(export=orr.export_resize, imports={"Resize": orr.import_resize}),
    doc="resize (N, C, *spatial) by nearest / nearest-exact / (bi/tri)linear sampling "
        "(PyTorch's F.interpolate)",
))
INTERP_GRAD = register(Op(
    name="interpolate_grad", forward=_interpolate_grad, shape=_grad_shape, check=_check,
    vjp=lambda c, out, g, input_size, **p: (lambda: bind(INTERP, c, **p),),
    jvp=lambda t, out, g, **p: None if t[0] is None else bind(INTERP_GRAD, t[0], **p),
    numpy="_interpolate_grad(xp, {0}, {input_size}, " + _P + ")",
    helpers=_H + (_interpolate_grad,), label="interpolate dX",
    trace=tt("dX = dY scattered back through the sampling weights (linear)"),
    cost=lambda g, out, **p: 2 * _prod(g) + _prod(out),
    onnx=Unsupported("interpolate's gradient has no ONNX operator (a ScatterElements "
                     "spelling is not implemented)"),
    doc="gradient of interpolate",
))


def _floats(v: Any, nd: int, what: str, fn: str, x: Any) -> tuple[Any, ...]:
    vals = tuple(v) if isinstance(v, (list, tuple)) else (v,) * nd
    if len(vals) != nd:
        raise _fail(fn, x, f"{what} must have {nd} entries for a {nd + 2}-D input, got "
                           f"{tuple(vals)!r}")
    return vals


def interpolate(x: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False, *, name: str | None = None) -> Any:
    """Resize the spatial axes of an (N, C, *spatial) input, as PyTorch's F.interpolate
    (same values to the last bit, float32 nearest coordinates included; a linear weight
    of 0 next to an inf gives NaN there, as PyTorch).

    Give exactly one of ``size`` (ints) or ``scale_factor`` (floats; the output is
    ``floor(in * scale_factor)`` and, unless ``recompute_scale_factor``, coordinates use
    ``1 / scale_factor``). ``mode``: nearest, nearest-exact (3-D to 5-D), linear (3-D),
    bilinear and bicubic (4-D), trilinear (5-D), area (adaptive average pooling to the
    output size, as PyTorch); ``align_corners`` (linear and cubic modes, default False)
    maps the corner pixels' centres onto each other.

    >>> import numpy as np
    >>> interpolate(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), scale_factor=2,
    ...             mode="bilinear")[0, 0]
    array([[1.  , 1.25, 1.75, 2.  ],
           [1.5 , 1.75, 2.25, 2.5 ],
           [2.5 , 2.75, 3.25, 3.5 ],
           [3.  , 3.25, 3.75, 4.  ]])
    """
    fn = "interpolate"
    shp = _shape(x)
    if antialias:
        raise _fail(fn, x, "antialias=True is not supported (PyTorch's anti-aliased "
                           "downsampling filter)")
    nd = len(shp) - 2
    if nd < 1:
        raise _fail(fn, x, f"input must be (N, C, *spatial), got shape {shp}")
    if (size is None) == (scale_factor is None):
        raise _fail(fn, x, "give exactly one of size or scale_factor")
    if mode in _RANK and align_corners is None:
        align_corners = False
    if mode not in MODES + ("area",):
        raise _fail(fn, x, f"mode must be one of {', '.join(MODES + ('area',))}, got "
                           f"{mode!r}")
    if mode not in _RANK and align_corners is not None:
        raise _fail(fn, x, f"align_corners can only be set with the interpolating modes "
                           f"(linear, bilinear, trilinear, bicubic), not mode={mode!r}")
    scales: Any = None
    if size is not None:
        out = _floats(size, nd, "size", fn, x)
        out = tuple(int(e) if isinstance(e, int) or hasattr(e, "__index__") else e
                    for e in out)
    else:
        sf = _floats(scale_factor, nd, "scale_factor", fn, x)
        try:
            scales = tuple(float(s) for s in sf)
        except (TypeError, ValueError):
            raise _fail(fn, x, f"scale_factor must be numbers, got {scale_factor!r}") from None
        if not all(s > 0 and math.isfinite(s) for s in scales):
            raise _fail(fn, x, f"scale_factor must be positive and finite, got {scales}")
        out = tuple(int(math.floor(float(n) * s)) for n, s in zip(shp[2:], scales))
        if min(out) < 1:
            raise _fail(fn, x, f"scale_factor {scales} gives an empty output {out} for "
                               f"input spatial size {shp[2:]}")
        if recompute_scale_factor:
            scales = None
    if all(isinstance(e, int) for e in out):
        _budget(fn, x, tuple(shp[:2]) + out)
    if mode == "area":  # PyTorch: adaptive average pooling to the output size
        from graphnn.ops import adaptive

        if nd not in (1, 2, 3):
            raise _fail(fn, x, f"mode 'area' needs a 3-D to 5-D input, got shape {shp}")
        return getattr(adaptive, f"adaptive_avg_pool{nd}d")(x, out, name=name)
    return bind(INTERP, x, size=out, scale_factor=scales, mode=mode,
                align_corners=bool(align_corners), name=name)


def upsample(x: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None, *, name: str | None = None) -> Any:
    """PyTorch's nn.Upsample / F.upsample: ``interpolate`` with the same arguments.

    >>> import numpy as np
    >>> upsample(np.array([[[0.0, 1.0]]]), scale_factor=2, mode="linear")
    array([[[0.  , 0.25, 0.75, 1.  ]]])
    """
    return interpolate(x, size, scale_factor, mode, align_corners, name=name)


def upsample_nearest(x: Any, size: Any = None, scale_factor: Any = None, *,
                     name: str | None = None) -> Any:
    """PyTorch's F.upsample_nearest: ``interpolate(x, size, scale_factor, "nearest")``."""
    return interpolate(x, size, scale_factor, "nearest", name=name)


def upsample_bilinear(x: Any, size: Any = None, scale_factor: Any = None, *,
                      name: str | None = None) -> Any:
    """PyTorch's F.upsample_bilinear: bilinear with ``align_corners=True``.

    >>> import numpy as np
    >>> upsample_bilinear(np.array([[[[0.0, 3.0]]]]), size=(1, 4))[0, 0]
    array([[0., 1., 2., 3.]])
    """
    return interpolate(x, size, scale_factor, "bilinear", True, name=name)


def interpolate_grad(g: Any, input_size: Any, size: Any, scale_factor: Any = None,
                     mode: str = "nearest", align_corners: bool = False, *,
                     name: str | None = None) -> Any:
    """The gradient of ``interpolate`` for an input of spatial size ``input_size``."""
    sf = None if scale_factor is None else tuple(float(s) for s in scale_factor)
    return bind(INTERP_GRAD, g, input_size=tuple(input_size), size=tuple(size),
                scale_factor=sf, mode=mode, align_corners=bool(align_corners), name=name)


__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "interpolate_grad"]
