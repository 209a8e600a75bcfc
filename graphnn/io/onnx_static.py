"""Import-time folding of ONNX shape arithmetic (what PyTorch's exporter emits for
``x.view(x.size(0), -1)``: Shape -> Gather -> Unsqueeze -> Concat -> Reshape).

graphnn graphs have static shapes, so these ops are computed with NumPy while importing
when all their inputs are known (``Shape`` only needs its input's shape); the results feed
Reshape / Expand / reduction axes like any constant. ``FOLDERS`` maps op type to a
function ``(importer, node, values, attrs) -> array``.

>>> sorted(FOLDERS)[:4]
['Add', 'Cast', 'Concat', 'Constant']
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _shape(im: Any, n: Any, v: list[Any], a: dict[str, Any]) -> np.ndarray:
    shape = im.shape_of(n.input[0])
    start, end = a.get("start", 0), a.get("end", len(shape))
    return np.array(shape[start:end], dtype=np.int64)


def _axes(n: Any, v: list[Any], a: dict[str, Any], im: Any) -> list[int] | None:
    if im.opset >= 13:
        return None if len(v) < 2 or v[1] is None else [int(i) for i in np.ravel(v[1])]
    return a.get("axes")


def _unsqueeze(im: Any, n: Any, v: list[Any], a: dict[str, Any]) -> np.ndarray:
    axes = _axes(n, v, a, im) or []
    rank = np.ndim(v[0]) + len(axes)
    out = np.asarray(v[0])
    for ax in sorted(i % rank for i in axes):
        out = np.expand_dims(out, ax)
    return out


def _squeeze(im: Any, n: Any, v: list[Any], a: dict[str, Any]) -> np.ndarray:
    axes = _axes(n, v, a, im)
    return np.squeeze(v[0], axis=None if axes is None else tuple(axes))


def _slice(im: Any, n: Any, v: list[Any], a: dict[str, Any]) -> np.ndarray:
    data = np.asarray(v[0])
    starts, ends = np.ravel(v[1]), np.ravel(v[2])
    axes = np.ravel(v[3]) if len(v) > 3 and v[3] is not None else range(len(starts))
    steps = np.ravel(v[4]) if len(v) > 4 and v[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        index[int(ax)] = slice(int(s), int(e), int(st))
    return data[tuple(index)]


def _int_div(a: Any, b: Any) -> Any:
    if np.asarray(a).dtype.kind in "iu" and np.asarray(b).dtype.kind in "iu":
        return np.trunc(np.true_divide(a, b)).astype(np.result_type(a, b))
    return np.divide(a, b)


def _cast(im: Any, n: Any, v: list[Any], a: dict[str, Any]) -> np.ndarray:
    return np.asarray(v[0]).astype(im.onnx.helper.tensor_dtype_to_np_dtype(a["to"]))


def _constant_of_shape(im: Any, n: Any, v: list[Any], a: dict[str, Any]) -> np.ndarray:
    fill = im.onnx.numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
    return np.full(tuple(int(s) for s in np.ravel(v[0])), fill.reshape(-1)[0], fill.dtype)


def _constant(im: Any, n: Any, v: list[Any], a: dict[str, Any]) -> np.ndarray:
    if "value" in a:
        return im.onnx.numpy_helper.to_array(a["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dtype=dtype)
    raise ValueError(f"unsupported Constant attribute(s) {sorted(a)}")


FOLDERS: dict[str, Any] = {
    "Constant": _constant,
    "Shape": _shape,
    "Gather": lambda im, n, v, a: np.take(v[0], v[1], axis=a.get("axis", 0)),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda im, n, v, a: np.concatenate([np.asarray(x) for x in v], axis=a["axis"]),
    "Slice": _slice,
    "Cast": _cast,
    "ConstantOfShape": _constant_of_shape,
    "Range": lambda im, n, v, a: np.arange(v[0], v[1], v[2]).astype(np.asarray(v[0]).dtype),
    "Add": lambda im, n, v, a: np.add(v[0], v[1]),
    "Sub": lambda im, n, v, a: np.subtract(v[0], v[1]),
    "Mul": lambda im, n, v, a: np.multiply(v[0], v[1]),
    "Div": lambda im, n, v, a: _int_div(v[0], v[1]),
    "Identity": lambda im, n, v, a: v[0],
}
