"""Creation ops, PyTorch's: ``zeros``, ``ones``, ``full``, ``arange``, ``linspace``,
``eye``, ``rand``, ``randn`` (no inputs: inside a ``with gn.Graph()`` block they add a node,
outside one they return a NumPy array) and ``zeros_like``, ``ones_like``, ``full_like``,
``rand_like``, ``randn_like`` (one input, whose shape and dtype they take; zero gradient
with respect to its values, as PyTorch).

Sizes are checked against the budget (``GRAPHNN_MAX_BYTES``, graphnn/core/limits.py) when
the node is built, before anything is allocated. ``rand``/``randn`` draw from NumPy's
``default_rng(seed)`` (on the host, so every backend gives the same numbers for a seed;
``seed=None`` draws fresh numbers on every run); their records say ``pure=False``, so CSE
never merges two of them and constant folding never freezes one.

>>> zeros(2, 3).shape
(2, 3)
>>> arange(5)
array([0, 1, 2, 3, 4])
>>> bool((rand(3, seed=1) == rand(3, seed=1)).all())
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphnn.core.bind import bind
from graphnn.core.context import graph_stack
from graphnn.core.limits import check_bytes
from graphnn.core.op import Onnx, Op, Unsupported, register, tt

# -- forwards (xp first; codegen copies them) ---------------------------------------------


def _full(xp: Any, shape: tuple[int, ...] = (), fill_value: Any = 0.0,
          dtype: str = "float64") -> Any:
    return xp.full(shape, fill_value, dtype=dtype)


def _arange(xp: Any, start: Any = 0, end: Any = 1, step: Any = 1,
            dtype: str = "int64") -> Any:
    n = max(int(-(-(end - start) // step)), 0)
    return (start + step * xp.arange(n)).astype(dtype)


def _linspace(xp: Any, start: float = 0.0, end: float = 1.0, steps: int = 1,
              dtype: str = "float64") -> Any:
    return xp.linspace(start, end, steps).astype(dtype)


def _eye(xp: Any, n: int = 1, m: int = 1, dtype: str = "float64") -> Any:
    return xp.eye(n, m, dtype=dtype)


def _rand(xp: Any, shape: tuple[int, ...] = (), seed: Any = None, normal: bool = False,
          dtype: str = "float64") -> Any:
    """Uniform [0, 1) or standard normal numbers from NumPy's default_rng(seed), on the host
    (numpy is imported in every generated module)."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape) if normal else rng.random(shape)
    return xp.asarray(v.astype(dtype))


def _full_like(xp: Any, x: Any, fill_value: Any = 0.0) -> Any:
    return xp.full(x.shape, fill_value, dtype=x.dtype)


def _rand_like(xp: Any, x: Any, seed: Any = None, normal: bool = False) -> Any:
    return _rand(xp, x.shape, seed, normal, str(x.dtype))


# -- rules -----------------------------------------------------------------------------------


def _budget(name: str, shape: tuple[int, ...], dtype: Any) -> tuple[int, ...]:
    if any(int(s) < 0 for s in shape):
        raise ValueError(f"sizes must be non-negative, got {tuple(shape)}")
    check_bytes(shape, np.dtype(dtype).itemsize, name)
    return tuple(int(s) for s in shape)


def _arange_len(start: Any, end: Any, step: Any) -> int:
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if not all(math.isfinite(float(v)) for v in (start, end, step)):
        raise ValueError(f"arange: start, end and step must be finite, got {start}, {end}, "
                         f"{step}")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign "
                         f"(start {start}, end {end}, step {step})")
    return max(int(-(-(end - start) // step)), 0)


_NO_INPUT = Unsupported("no input: its values come from its arguments alone")
_NOT_EW = Unsupported("makes new memory of a given shape; not elementwise")


def _creation(*, name: str, forward: Any, shape: Any, numpy: str, doc: str, onnx: Any,
              pure: bool = True, sympy: Any = None, label: str | None = None) -> Op:
    return register(Op(
        name=name, forward=forward, shape=shape,
        dtype=lambda *_, dtype="float64", **__: np.dtype(dtype),
        vjp=_NO_INPUT, jvp=_NO_INPUT, trace=_NO_INPUT, numpy=numpy, helpers=(forward,),
        fresh=True, inplace=_NOT_EW, numexpr=_NOT_EW, onnx=onnx, pure=pure,
        sympy=sympy, label=label, cost=lambda *s, **_: 0, doc=doc))


def _like(*, name: str, forward: Any, numpy: str, doc: str, onnx: Any, pure: bool = True,
          helpers: tuple[Any, ...] = (), sympy: Any = None, label: str | None = None) -> Op:
    return register(Op(
        name=name, forward=forward, shape=lambda s, **_: tuple(s),
        vjp=lambda g, out, x, **_: (None,), jvp=lambda tg, out, x, **_: None, nondiff=(0,),
        trace=tt("no gradient: only the input's shape and dtype are used"), numpy=numpy,
        helpers=(*helpers, forward), fresh=True, inplace=_NOT_EW, numexpr=_NOT_EW,
        onnx=onnx, pure=pure, sympy=sympy, label=label, cost=lambda *s, **_: 0, doc=doc))


def _onnx_full(ex: Any, n: Any) -> None:
    value = np.array([n.params.get("fill_value", 0.0)], dtype=n.dtype)
    shape = ex.const(n.name + "__shape", np.array(n.shape, dtype=np.int64))
    ex.emit("ConstantOfShape", [shape], n.name,
            value=ex.onnx.numpy_helper.from_array(value, n.name + "__value"))


def _onnx_arange(ex: Any, n: Any) -> None:
    p = n.params
    vals = [ex.const(f"{n.name}__{k}", np.array(p[k], dtype=n.dtype))
            for k in ("start", "end", "step")]
    ex.emit("Range", vals, n.name)


def _onnx_linspace(ex: Any, n: Any) -> None:
    """start + step * Range(0, steps, 1), step = (end - start) / (steps - 1)."""
    p = n.params
    steps = int(p["steps"])
    idx = ex.emit("Range", [ex.const(f"{n.name}__{k}", np.array(v, dtype=n.dtype)) for k, v in
                            (("r0", 0.0), ("r1", float(steps)), ("r2", 1.0))],
                  ex.name(n.name + "__idx"))
    step = (p["end"] - p["start"]) / (steps - 1) if steps > 1 else 0.0
    scaled = ex.emit("Mul", [idx, ex.const(n.name + "__step", np.array(step, dtype=n.dtype))],
                     ex.name(n.name + "__scaled"))
    ex.emit("Add", [scaled, ex.const(n.name + "__start", np.array(p["start"], dtype=n.dtype))],
            n.name)


def _onnx_eye(ex: Any, n: Any) -> None:
    zeros = ex.const(n.name + "__zeros", np.zeros(n.shape, dtype=n.dtype))
    ex.emit("EyeLike", [zeros], n.name)


def _onnx_rand(ex: Any, n: Any) -> None:
    p = n.params
    kind = "RandomNormal" if p.get("normal") else "RandomUniform"
    attrs: dict[str, Any] = {"shape": list(n.shape), "dtype": ex.elem(n.dtype)}
    if p.get("seed") is not None:
        attrs["seed"] = float(p["seed"])
    ex.emit(kind, [], n.name, **attrs)


def _onnx_full_like(ex: Any, n: Any) -> None:
    x = n.inputs[0]
    shape = ex.emit("Shape", [x.name], ex.name(n.name + "__shape"))
    value = np.array([n.params.get("fill_value", 0.0)], dtype=n.dtype)
    ex.emit("ConstantOfShape", [shape], n.name,
            value=ex.onnx.numpy_helper.from_array(value, n.name + "__value"))


def _onnx_rand_like(ex: Any, n: Any) -> None:
    p = n.params
    kind = "RandomNormalLike" if p.get("normal") else "RandomUniformLike"
    attrs: dict[str, Any] = {"dtype": ex.elem(n.dtype)}
    if p.get("seed") is not None:
        attrs["seed"] = float(p["seed"])
    ex.emit(kind, [n.inputs[0].name], n.name, **attrs)


def _seed_of(a: dict[str, Any]) -> Any:
    return None if "seed" not in a else int(a["seed"])


def _dtype_of(im: Any, a: dict[str, Any], default: Any = "float32") -> str:
    if "dtype" not in a:
        return str(np.dtype(default))
    return str(np.dtype(im.onnx.helper.tensor_dtype_to_np_dtype(int(a["dtype"]))))


def _import_random(normal: bool) -> Any:
    def conv(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        shape = tuple(int(s) for s in a["shape"])
        v = (randn if normal else rand)(shape, seed=_seed_of(a), dtype=_dtype_of(im, a))
        return [_onnx_affine(v, normal, a)]
    return conv


def _onnx_affine(v: Any, normal: bool, a: dict[str, Any]) -> Any:
    """Standard random numbers moved to ONNX's mean / scale (normal) or low / high."""
    lo, hi = (a.get("mean", 0.0), a.get("scale", 1.0)) if normal else (
        a.get("low", 0.0), a.get("high", 1.0))
    scale = hi if normal else hi - lo
    v = v * scale if scale != 1.0 else v
    return v + lo if lo != 0.0 else v


def _import_random_like(normal: bool) -> Any:
    def conv(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
        v = (randn_like if normal else rand_like)(x[0], seed=_seed_of(a))
        return [_onnx_affine(v, normal, a)]
    return conv


def _import_const_of_shape(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    shape = tuple(int(s) for s in im.static(n.input[0], "ConstantOfShape's shape"))
    value = im.onnx.numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1)
    return [full(shape, value.reshape(-1)[0].item(), dtype=value.dtype)]


def _import_range(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    vals = [im.static(i, "Range's start, limit and delta") for i in n.input]
    return [arange(*(v.item() for v in vals), dtype=vals[0].dtype)]


def _import_eye_like(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    r, c = x[0].shape
    k, dt = int(a.get("k", 0)), _dtype_of(im, a, x[0].dtype)
    if k != 0:  # an off-diagonal (torch.eye has none): the static shape makes it a constant
        return [im.g.constant(np.eye(r, c, k, dtype=np.dtype(dt)))]
    return [eye(r, c, dtype=dt)]


_NO_IMPORT_LIKE = Unsupported(
    "ONNX ConstantOfShape takes a shape tensor; from_onnx folds it to a constant when the "
    "shape is static, and a Shape of a run-time tensor imports as that constant too")

FULL = _creation(
    name="full", forward=_full, label="full",
    shape=lambda shape=(), fill_value=0.0, dtype="float64": _budget("full", shape, dtype),
    numpy="_full(xp, {shape}, {fill_value}, {dtype})",
    sympy=lambda sp, shape=(), fill_value=0.0, dtype="float64": np.full(
        shape, sp.sympify(fill_value), dtype=object),
    onnx=Onnx(export=_onnx_full, imports={"ConstantOfShape": _import_const_of_shape}),
    doc="a tensor of the given shape filled with one value (zeros, ones, full)")


def _arange_shape(start: Any = 0, end: Any = 1, step: Any = 1,
                  dtype: str = "int64") -> tuple[int, ...]:
    return _budget("arange", (_arange_len(start, end, step),), dtype)


ARANGE = _creation(
    name="arange", forward=_arange, shape=_arange_shape,
    numpy="_arange(xp, {start}, {end}, {step}, {dtype})",
    sympy=lambda sp, start=0, end=1, step=1, dtype="int64": np.array(
        [sp.sympify(v) for v in _arange(np, start, end, step, dtype).tolist()], dtype=object),
    onnx=Onnx(export=_onnx_arange, imports={"Range": _import_range}),
    doc="values from start to end (exclusive) in steps of step")


def _linspace_shape(start: float = 0.0, end: float = 1.0, steps: int = 1,
                    dtype: str = "float64") -> tuple[int, ...]:
    if int(steps) < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    return _budget("linspace", (int(steps),), dtype)


LINSPACE = _creation(
    name="linspace", forward=_linspace, shape=_linspace_shape,
    numpy="_linspace(xp, {start}, {end}, {steps}, {dtype})",
    sympy=lambda sp, start=0.0, end=1.0, steps=1, dtype="float64": np.array(
        [sp.Float(v) for v in _linspace(np, start, end, steps, dtype).tolist()], dtype=object),
    onnx=Onnx(export=_onnx_linspace, imports=Unsupported(
        "ONNX has no linspace; the export (Range, Mul, Add) imports back as those")),
    doc="steps evenly spaced values from start to end (inclusive)")

EYE = _creation(
    name="eye", forward=_eye,
    shape=lambda n=1, m=1, dtype="float64": _budget("eye", (int(n), int(m)), dtype),
    numpy="_eye(xp, {n}, {m}, {dtype})",
    sympy=lambda sp, n=1, m=1, dtype="float64": np.eye(n, m).astype(int).astype(object),
    onnx=Onnx(export=_onnx_eye, imports={"EyeLike": _import_eye_like}),
    doc="the n x m identity matrix")

RAND = _creation(
    name="rand", forward=_rand, pure=False,
    shape=lambda shape=(), seed=None, normal=False, dtype="float64": _budget(
        "randn" if normal else "rand", shape, dtype),
    numpy="_rand(xp, {shape}, {seed}, {normal}, {dtype})",
    sympy=Unsupported("random numbers have no formula"),
    onnx=Onnx(export=_onnx_rand, imports={"RandomUniform": _import_random(False),
                                          "RandomNormal": _import_random(True)}),
    doc="uniform [0, 1) (normal=False) or standard normal random numbers (seeded)")

FULL_LIKE = _like(
    name="full_like", forward=_full_like, numpy="_full_like(xp, {0}, {fill_value})",
    sympy=lambda sp, x, fill_value=0.0: np.full(x.shape, sp.sympify(fill_value), dtype=object),
    onnx=Onnx(export=_onnx_full_like, imports=_NO_IMPORT_LIKE),
    doc="a tensor shaped like the input filled with one value (zero gradient)")

RAND_LIKE = _like(
    name="rand_like", forward=_rand_like, pure=False, helpers=(_rand,),
    numpy="_rand_like(xp, {0}, {seed}, {normal})",
    sympy=Unsupported("random numbers have no formula"),
    onnx=Onnx(export=_onnx_rand_like, imports={"RandomUniformLike": _import_random_like(False),
                                               "RandomNormalLike": _import_random_like(True)}),
    doc="random numbers shaped like the input (uniform or normal; zero gradient)")

# -- public functions ------------------------------------------------------------------------


def _size(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _make(op: Op, name: str | None, **params: Any) -> Any:
    """A node in the active graph, or (outside any ``with gn.Graph()``) the values."""
    if not graph_stack():
        op.shape(**params)  # the same checks (sizes before memory) as a node gets
        return op.forward(np, **params)
    return bind(op, name=name, **params)


def _dt(dtype: Any) -> str:
    return str(np.dtype(dtype))


def full(size: Any, fill_value: Any, *, dtype: Any = None, name: str | None = None) -> Any:
    """A tensor of shape ``size`` filled with ``fill_value`` (dtype: float64 for floats,
    int64 for ints, bool for bools, as PyTorch's inference but double precision).

    >>> full((2, 2), 7.0)
    array([[7., 7.],
           [7., 7.]])
    """
    if dtype is None:
        dtype = np.result_type(type(fill_value) if not isinstance(fill_value, float)
                               else np.float64)
    return _make(FULL, name, shape=_size((size,)), fill_value=np.dtype(dtype).type(
        fill_value).item(), dtype=_dt(dtype))


def zeros(*size: Any, dtype: Any = "float64", name: str | None = None) -> Any:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``.

    >>> zeros(2)
    array([0., 0.])
    """
    return _make(FULL, name, shape=_size(size), fill_value=np.dtype(dtype).type(0).item(),
                 dtype=_dt(dtype))


def ones(*size: Any, dtype: Any = "float64", name: str | None = None) -> Any:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``.

    >>> ones(2)
    array([1., 1.])
    """
    return _make(FULL, name, shape=_size(size), fill_value=np.dtype(dtype).type(1).item(),
                 dtype=_dt(dtype))


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           name: str | None = None) -> Any:
    """``arange(end)`` or ``arange(start, end, step)``: int64 when all are integers, else
    float64 (PyTorch's rule, in double precision).

    >>> arange(1, 2, 0.25)
    array([1.  , 1.25, 1.5 , 1.75])
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = "int64" if ints else "float64"
    kind = np.dtype(dtype).kind
    conv = int if kind in "iu" else float
    if kind in "iu" and not all(float(v).is_integer() for v in (start, end, step)):
        conv = float  # fractional bounds with an integer dtype: count as floats, then cast
    return _make(ARANGE, name, start=conv(start), end=conv(end), step=conv(step),
                 dtype=_dt(dtype))


def linspace(start: float, end: float, steps: int, *, dtype: Any = "float64",
             name: str | None = None) -> Any:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> linspace(0.0, 1.0, 5)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    return _make(LINSPACE, name, start=float(start), end=float(end), steps=int(steps),
                 dtype=_dt(dtype))


def eye(n: int, m: int | None = None, *, dtype: Any = "float64", name: str | None = None) -> Any:
    """The ``n`` x ``m`` identity (``m`` defaults to ``n``).

    >>> eye(2)
    array([[1., 0.],
           [0., 1.]])
    """
    return _make(EYE, name, n=int(n), m=int(n if m is None else m), dtype=_dt(dtype))


def rand(*size: Any, seed: int | None = None, dtype: Any = "float64",
         name: str | None = None) -> Any:
    """Uniform [0, 1) random numbers from NumPy's ``default_rng(seed)`` (``seed=None``:
    fresh numbers each run; never merged or folded by the passes).

    >>> rand(2, seed=0).shape
    (2,)
    """
    return _make(RAND, name, shape=_size(size), seed=None if seed is None else int(seed),
                 normal=False, dtype=_dt(dtype))


def randn(*size: Any, seed: int | None = None, dtype: Any = "float64",
          name: str | None = None) -> Any:
    """Standard normal random numbers from NumPy's ``default_rng(seed)``.

    >>> randn((2, 3), seed=0).shape
    (2, 3)
    """
    return _make(RAND, name, shape=_size(size), seed=None if seed is None else int(seed),
                 normal=True, dtype=_dt(dtype))


def full_like(input: Any, fill_value: Any, *, name: str | None = None) -> Any:
    """A tensor shaped like ``input`` (its dtype) filled with ``fill_value``; zero
    gradient with respect to ``input``.

    >>> full_like(np.zeros(2), 3.0)
    array([3., 3.])
    """
    return bind(FULL_LIKE, input, fill_value=float(fill_value), name=name)


def zeros_like(input: Any, *, name: str | None = None) -> Any:
    """Zeros shaped like ``input``.

    >>> zeros_like(np.ones(2))
    array([0., 0.])
    """
    return bind(FULL_LIKE, input, fill_value=0.0, name=name)


def ones_like(input: Any, *, name: str | None = None) -> Any:
    """Ones shaped like ``input``.

    >>> ones_like(np.zeros(2))
    array([1., 1.])
    """
    return bind(FULL_LIKE, input, fill_value=1.0, name=name)


def rand_like(input: Any, *, seed: int | None = None, name: str | None = None) -> Any:
    """Uniform [0, 1) random numbers shaped like ``input`` (zero gradient).

    >>> rand_like(np.zeros(3), seed=0).shape
    (3,)
    """
    return bind(RAND_LIKE, input, seed=None if seed is None else int(seed), normal=False,
                name=name)


def randn_like(input: Any, *, seed: int | None = None, name: str | None = None) -> Any:
    """Standard normal random numbers shaped like ``input`` (zero gradient).

    >>> randn_like(np.zeros(3), seed=0).shape
    (3,)
    """
    return bind(RAND_LIKE, input, seed=None if seed is None else int(seed), normal=True,
                name=name)


__all__ = ["full", "zeros", "ones", "arange", "linspace", "eye", "rand", "randn", "full_like",
           "zeros_like", "ones_like", "rand_like", "randn_like"]
