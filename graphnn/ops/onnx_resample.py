"""ONNX rules of the adaptive pools (graphnn/ops/adaptive.py) and interpolate
(graphnn/ops/interp.py), which their records name in ``onnx=Onnx(...)``.

Adaptive pooling exports as GlobalAveragePool / GlobalMaxPool when every output axis is
1, as AveragePool / MaxPool when every axis divides evenly (fixed windows), and otherwise
as one Slice + ReduceMean / ReduceMax per output position of each axis (the pools are
separable), concatenated. ``interpolate`` exports as Resize: nearest is
``asymmetric`` + ``floor``, nearest-exact ``half_pixel`` + ``round_prefer_ceil``, linear
and cubic (``cubic_coeff_a`` -0.75) ``align_corners`` or ``half_pixel``; with the
``scales`` input when the op was built from ``scale_factor`` (PyTorch then uses
1 / scale_factor for coordinates), else ``sizes``. Resize imports back for those
combinations, and for torch.onnx's ``pytorch_half_pixel`` (where no output axis is 1
long); others (other cubic coefficients, antialias, axes, roi, other rounding,
align_corners with a fractional ``in * scale``) raise the importer's ``unsupported``.

>>> import graphnn as gn
>>> sorted(gn.REGISTRY["interpolate"].onnx.imports)
['Resize']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphnn.core.op import Unsupported

NO_ADAPTIVE_IMPORT = Unsupported(
    "ONNX has no adaptive pool: GlobalAveragePool imports as mean, and the Slice/Reduce "
    "spelling of uneven windows is not recognised back")


def export_adaptive(kind: str) -> Callable[[Any, Any], None]:
    def export(ex: Any, n: Any) -> None:
        x = n.inputs[0]
        size = tuple(int(s) for s in x.shape[2:])
        out = tuple(n.params["output_size"])
        glob, fixed = ("GlobalAveragePool", "AveragePool") if kind == "avg" else (
            "GlobalMaxPool", "MaxPool")
        if all(o == 1 for o in out):
            ex.emit(glob, [x.name], n.name)
            return
        if all(s % o == 0 for s, o in zip(size, out)):
            k = [s // o for s, o in zip(size, out)]
            ex.emit(fixed, [x.name], n.name, kernel_shape=k, strides=k,
                    pads=[0] * (2 * len(k)))
            return
        red = "ReduceMean" if kind == "avg" else "ReduceMax"
        cur = x.name
        for a, (s, o) in enumerate(zip(size, out)):
            ax = a + 2
            last = a == len(size) - 1
            dest = n.name if last else ex.name(f"{n.name}_axis{ax}")
            if s == o:
                ex.emit("Identity", [cur], dest)
                cur = dest
                continue
            axes = ex.const(f"{n.name}_ax{ax}", np.array([ax], dtype=np.int64))
            parts = []
            for i in range(o):
                lo, hi = (i * s) // o, -(-(i + 1) * s // o)
                st = ex.const(f"{n.name}_s{ax}_{i}", np.array([lo], dtype=np.int64))
                en = ex.const(f"{n.name}_e{ax}_{i}", np.array([hi], dtype=np.int64))
                sl = ex.emit("Slice", [cur, st, en, axes], ex.name(f"{n.name}_w{ax}_{i}"))
                parts.append(ex.emit(red, [sl, axes], ex.name(f"{n.name}_r{ax}_{i}"),
                                     keepdims=1))
            ex.emit("Concat", parts, dest, axis=ax)
            cur = dest
    return export


# -- interpolate <-> Resize ---------------------------------------------------------------

def _ctm(p: dict[str, Any]) -> tuple[str, str, str]:
    """(ONNX mode, coordinate_transformation_mode, nearest_mode) of interpolate's params."""
    mode = p["mode"]
    if mode == "nearest":
        return "nearest", "asymmetric", "floor"
    if mode == "nearest-exact":
        return "nearest", "half_pixel", "round_prefer_ceil"
    if mode == "bicubic":
        return "cubic", "align_corners" if p["align_corners"] else "half_pixel", "floor"
    return "linear", "align_corners" if p["align_corners"] else "half_pixel", "floor"


def export_resize(ex: Any, n: Any) -> None:
    x = n.inputs[0]
    p = n.params
    mode, ctm, near = _ctm(p)
    attrs: dict[str, Any] = {"mode": mode, "coordinate_transformation_mode": ctm}
    if mode == "nearest":
        attrs["nearest_mode"] = near
    if mode == "cubic":
        attrs["cubic_coeff_a"] = -0.75
    if p.get("scale_factor") and not p["align_corners"]:
        scales = ex.const(n.name + "_scales", np.array(
            [1.0, 1.0] + [float(s) for s in p["scale_factor"]], dtype=np.float32))
        ex.emit("Resize", [x.name, "", scales], n.name, **attrs)
        return
    sizes = ex.const(n.name + "_sizes", np.array(list(n.shape), dtype=np.int64))
    ex.emit("Resize", [x.name, "", "", sizes], n.name, **attrs)


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def import_resize(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    from graphnn.ops.interp import interpolate

    src = x[0]
    mode = _text(a.get("mode", "nearest"))
    ctm = _text(a.get("coordinate_transformation_mode", "half_pixel"))
    near = _text(a.get("nearest_mode", "round_prefer_floor"))
    for key in ("antialias", "exclude_outside"):
        if int(a.get(key, 0)):
            raise im.unsupported(f"{key}=1")
    if a.get("axes") is not None or _text(a.get("keep_aspect_ratio_policy",
                                                "stretch")) != "stretch":
        raise im.unsupported("axes / keep_aspect_ratio_policy (only all axes, stretch)")
    if mode == "nearest" and ctm == "asymmetric" and near == "floor":
        gmode, ac = "nearest", None
    elif mode == "nearest" and ctm in ("half_pixel", "pytorch_half_pixel") and \
            near == "round_prefer_ceil":
        gmode, ac = "nearest-exact", None
    elif mode == "linear" and ctm in ("align_corners", "half_pixel", "pytorch_half_pixel"):
        gmode, ac = {3: "linear", 4: "bilinear", 5: "trilinear"}.get(src.ndim), \
            ctm == "align_corners"
        if gmode is None:
            raise im.unsupported(f"linear Resize of a {src.ndim}-D input (3-D to 5-D only)")
    elif mode == "cubic" and ctm in ("align_corners", "half_pixel", "pytorch_half_pixel") \
            and src.ndim == 4 and float(a.get("cubic_coeff_a", -0.75)) == -0.75:
        gmode, ac = "bicubic", ctm == "align_corners"
    else:
        raise im.unsupported(f"mode={mode!r} with coordinate_transformation_mode={ctm!r} "
                             f"and nearest_mode={near!r} (graphnn: nearest/asymmetric/floor,"
                             " nearest/half_pixel/round_prefer_ceil, linear or 4-D cubic "
                             "(A = -0.75) with align_corners or half_pixel)")
    names = list(n.input) + [""] * 4
    if names[1] and np.asarray(im.static(names[1], "Resize's roi")).size:
        raise im.unsupported("a roi input (tf_crop_and_resize only)")

    def one_pixel(out: Any) -> None:  # pytorch_half_pixel maps a 1-long output to 0
        if ctm == "pytorch_half_pixel" and any(o == 1 and i != 1 for o, i in
                                               zip(out, src.shape[2:])):
            raise im.unsupported(f"pytorch_half_pixel with an output size of 1 ({list(out)}"
                                 "): it samples the first pixel, PyTorch the centre")
    if names[3]:
        sizes = [int(s) for s in im.static(names[3], "Resize's sizes")]
        if sizes[:2] != list(src.shape[:2]):
            raise im.unsupported(f"sizes {sizes} resize the batch or channel axis")
        one_pixel(sizes[2:])
        return [interpolate(src, size=tuple(sizes[2:]), mode=gmode, align_corners=ac)]
    scales = [float(s) for s in im.static(names[2], "Resize's scales")]
    if scales[:2] != [1.0, 1.0]:
        raise im.unsupported(f"scales {scales} resize the batch or channel axis")
    one_pixel([int(np.floor(float(i) * s)) for i, s in zip(src.shape[2:], scales[2:])])
    if ac and any(float(n) * s != int(float(n) * s) for n, s in zip(src.shape[2:],
                                                                     scales[2:])):
        raise im.unsupported(f"align_corners with scales {scales} on spatial size "
                             f"{list(src.shape[2:])}: ONNX then maps corners by the "
                             "unrounded size in * scale, PyTorch (graphnn) by the output size")
    return [interpolate(src, scale_factor=tuple(scales[2:]), mode=gmode, align_corners=ac)]
