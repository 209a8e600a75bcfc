"""A stand-in ``cupy`` module for running whole generated CuPy modules on the CPU.

Only tests (and ``bench/gpu_check.py --standin``) install it, in ``sys.modules`` and only
for as long as they need it (:func:`installed`); library code never imports it.

It wraps NumPy behind a DISTINCT array type, :class:`ndarray`, so that host values that
leak into device calls fail the way they do in CuPy (checked against CuPy's
``_core/_kernel.pyx`` and ``core.pyx``):

- ufuncs and kernels take device arrays and scalars (Python or NumPy scalars); a
  ``numpy.ndarray`` (even 0-d) raises ``TypeError: Unsupported type``;
- functions that need arrays (``broadcast_to``, ``matmul``, ``reshape``, ``sum`` ...)
  raise TypeError for anything but a device array (CuPy rejects NumPy arrays and scalars
  there: "Argument 'array' has incorrect type");
- ``np.asarray(device_array)`` raises TypeError (CuPy: implicit conversion is not
  allowed; use ``cupy.asnumpy`` or ``.get()``);
- a ufunc or reduction over 0-d arrays gives a 0-d device array, never a NumPy scalar.

Kernels (``ElementwiseKernel``, ``ReductionKernel``, ``RawKernel``) compile their C on
the host with g++ (``tests/cupy_standin_kernels.py``). Streams and CUDA graph capture /
replay: ``tests/cupy_standin_graph.py`` (every device op goes through :func:`_op`, which
records it while the current stream captures; host syncs go through :func:`_sync`).
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tests import cupy_standin_graph as graph
from tests import cupy_standin_kernels as kernels

SCALARS = (bool, int, float, complex, np.generic)


def _op(fn: Callable[..., Any], *args: Any, _writes: tuple[Any, ...] = (), **kw: Any) -> Any:
    """One device op: run now, or recorded as well while a stream captures."""
    return graph.run_op(fn, args, kw, _writes)


def _sync(where: str) -> None:
    """A host sync / transfer (refused while a stream captures)."""
    graph.check_sync(where)


class ndarray:  # noqa: N801 - CuPy's name
    """A device array: a NumPy array (``_h``) behind a type NumPy does not accept."""

    __slots__ = ("_h",)
    __array_priority__ = 100.0

    def __init__(self, shape: Any, dtype: Any = float) -> None:
        self._h = np.empty(shape, dtype=dtype)

    # -- CuPy's boundaries to the host ------------------------------------------------
    def __array__(self, *a: Any, **k: Any) -> Any:
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self) -> np.ndarray:
        _sync("ndarray.get")
        return self._h.copy()

    def set(self, arr: Any) -> None:
        _sync("ndarray.set")
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        self._h[...] = arr

    def __array_ufunc__(self, uf: Any, method: str, *args: Any, **kw: Any) -> Any:
        mine = UFUNCS.get(uf.__name__)
        if mine is None or method not in ("__call__", "reduce"):
            return NotImplemented
        return mine(*args, **kw) if method == "__call__" else mine.reduce(*args, **kw)

    def __array_function__(self, func: Any, types_: Any, args: Any, kw: Any) -> Any:
        mine = FUNCTIONS.get(func.__name__)
        return NotImplemented if mine is None else mine(*args, **kw)

    # -- attributes ------------------------------------------------------------------
    shape = property(lambda self: self._h.shape)
    dtype = property(lambda self: self._h.dtype)
    ndim = property(lambda self: self._h.ndim)
    size = property(lambda self: self._h.size)
    itemsize = property(lambda self: self._h.itemsize)
    nbytes = property(lambda self: self._h.nbytes)
    strides = property(lambda self: self._h.strides)
    flags = property(lambda self: self._h.flags)
    T = property(lambda self: _op(lambda a: wrap(a._h.T), self))

    def __len__(self) -> int:
        return len(self._h)

    def __iter__(self) -> Iterator[Any]:
        return (wrap(r) for r in self._h)

    def __repr__(self) -> str:
        return "standin." + repr(self._h)

    def __bool__(self) -> bool:  # size-1 arrays sync to the host
        _sync("bool(x)")
        return bool(self._h)

    def __float__(self) -> float:
        _sync("float(x)")
        return float(self._h)

    def __int__(self) -> int:
        _sync("int(x)")
        return int(self._h)

    def __index__(self) -> int:
        _sync("index")
        return self._h.__index__()

    def item(self) -> Any:
        _sync("ndarray.item")
        return self._h.item()

    def tolist(self) -> Any:
        _sync("ndarray.tolist")
        return self._h.tolist()

    def __getitem__(self, key: Any) -> ndarray:
        def getitem(a: ndarray, k: Any) -> ndarray:
            k = _index(k)
            r = a._h[k]
            if not isinstance(r, np.ndarray):  # CuPy: a 0-d VIEW, never a copied scalar
                r = a._h[(*k, ...) if isinstance(k, tuple) else (k, ...)]
            return wrap(r)

        return _op(getitem, self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        def setitem(a: ndarray, k: Any, v: Any) -> None:
            a._h[_index(k)] = _operand(v, "__setitem__")

        _op(setitem, self, key, value, _writes=(self,))

    def fill(self, value: Any) -> None:
        def fill(a: ndarray, v: Any) -> None:
            a._h.fill(_operand(v, "fill"))

        _op(fill, self, value, _writes=(self,))

    def __dir__(self) -> list[str]:
        return sorted(set(object.__dir__(self)) | set(METHODS))

    def __getattr__(self, name: str) -> Any:
        if name not in METHODS:
            raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r}")
        def method(x: ndarray, *a: Any, **k: Any) -> Any:
            return _result(getattr(x._h, name)(*_device_args(a, name), **_device_kw(k, name)))

        return lambda *a, **k: _op(method, self, *a, **k)


METHODS = {"reshape", "transpose", "ravel", "flatten", "astype", "copy", "sum", "mean",
           "max", "min", "argmax", "argmin", "prod", "any", "all", "clip", "squeeze",
           "swapaxes", "view", "var", "std", "cumsum", "dot", "nonzero", "round", "take",
           "repeat", "conj", "__dlpack__"}


_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
           "floordiv": "floor_divide", "mod": "remainder", "pow": "power", "and": "bitwise_and",
           "or": "bitwise_or", "xor": "bitwise_xor"}
_COMPARE = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
            "eq": "equal", "ne": "not_equal"}
_UNARY = {"neg": "negative", "pos": "positive", "abs": "absolute", "invert": "invert"}


def _operators() -> None:
    """ndarray's operators are its ufuncs (as in CuPy); other operand types defer."""

    def binary(name: str, swap: bool = False, inplace: bool = False) -> Any:
        def op(self: ndarray, other: Any) -> Any:
            if not isinstance(other, (ndarray, np.ndarray) + SCALARS):
                return NotImplemented
            if inplace:
                return UFUNCS[name](self, other, out=self)
            return UFUNCS[name](other, self) if swap else UFUNCS[name](self, other)
        return op

    for dunder, uf in _BINARY.items():
        setattr(ndarray, f"__{dunder}__", binary(uf))
        setattr(ndarray, f"__r{dunder}__", binary(uf, swap=True))
        setattr(ndarray, f"__i{dunder}__", binary(uf, inplace=True))
    for dunder, uf in _COMPARE.items():
        setattr(ndarray, f"__{dunder}__", binary(uf))
    for dunder, uf in _UNARY.items():
        setattr(ndarray, f"__{dunder}__", lambda self, _u=uf: UFUNCS[_u](self))
    ndarray.__matmul__ = lambda self, o: FUNCTIONS["matmul"](self, o)  # type: ignore[attr-defined]
    ndarray.__rmatmul__ = lambda self, o: FUNCTIONS["matmul"](_array(o, "matmul"), self)  # type: ignore[attr-defined]
    ndarray.__hash__ = None  # type: ignore[assignment]


def wrap(h: Any) -> ndarray:
    """A device array over host data ``h`` (NumPy scalars become 0-d arrays)."""
    out = object.__new__(ndarray)
    out._h = h if isinstance(h, np.ndarray) else np.asarray(h)
    return out


def _result(r: Any) -> Any:
    if isinstance(r, (np.ndarray, np.generic)):
        return wrap(r)
    if isinstance(r, tuple):
        return tuple(_result(x) for x in r)
    return r


def _unsupported(v: Any, where: str) -> TypeError:
    return TypeError(f"Unsupported type {type(v)} (in {where}): a host value reached a "
                     "device call; make it a cupy array (cupy.asarray) first")


def _operand(v: Any, where: str) -> Any:
    """A ufunc/kernel operand: a device array or a scalar (CuPy's CScalar)."""
    if isinstance(v, ndarray):
        return v._h
    if isinstance(v, SCALARS):
        return v
    raise _unsupported(v, where)


def _array(v: Any, where: str) -> np.ndarray:
    """An argument CuPy requires to be a cupy.ndarray."""
    if isinstance(v, ndarray):
        return v._h
    raise TypeError(f"Argument 'array' has incorrect type (expected cupy.ndarray, got "
                    f"{type(v).__module__}.{type(v).__name__}) in {where}")


def _device_args(args: Any, where: str) -> list[Any]:
    """Unwrap device arrays (also inside lists/tuples); host arrays are refused."""
    out: list[Any] = []
    for a in args:
        if isinstance(a, ndarray):
            out.append(a._h)
        elif isinstance(a, np.ndarray):
            raise _unsupported(a, where)
        elif isinstance(a, (list, tuple)) and any(isinstance(x, (ndarray, np.ndarray))
                                                  for x in a):
            out.append(type(a)(_device_args(a, where)))
        else:
            out.append(a)
    return out


def _device_kw(kw: dict[str, Any], where: str) -> dict[str, Any]:
    return dict(zip(kw, _device_args(list(kw.values()), where)))


def _index(key: Any) -> Any:
    """CuPy accepts device arrays, NumPy arrays and lists as indices."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    return key._h if isinstance(key, ndarray) else key


class ufunc:  # noqa: N801 - CuPy's name
    """A CuPy ufunc: device arrays and scalars in, device arrays out."""

    def __init__(self, np_ufunc: Any) -> None:
        self._u = np_ufunc
        self.__name__ = self.name = np_ufunc.__name__
        self.nin, self.nout = np_ufunc.nin, np_ufunc.nout

    def __call__(self, *args: Any, out: Any = None, **kw: Any) -> Any:
        return _op(self._call, *args, out=out, _writes=() if out is None else (out,), **kw)

    def _call(self, *args: Any, out: Any = None, **kw: Any) -> Any:
        hs = [_operand(a, self.name) for a in args]
        if out is not None:
            self._u(*hs, out=_array(out, f"{self.name}(out=)"), **kw)
            return out
        return _result(self._u(*hs, **kw))

    def reduce(self, a: Any, *args: Any, **kw: Any) -> Any:
        return _op(lambda x, *r, **k: _result(self._u.reduce(
            _array(x, f"{self.name}.reduce"), *r, **k)), a, *args, **kw)

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"


UFUNC_NAMES = (
    "add subtract multiply divide true_divide floor_divide power float_power negative "
    "positive absolute fabs sign exp exp2 expm1 log log2 log10 log1p sqrt cbrt square "
    "reciprocal sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh "
    "arctanh maximum minimum fmax fmin greater greater_equal less less_equal equal "
    "not_equal logical_and logical_or logical_xor logical_not bitwise_and bitwise_or "
    "bitwise_xor invert isnan isinf isfinite floor ceil trunc rint copysign signbit "
    "fmod remainder mod hypot").split()
UFUNCS: dict[str, ufunc] = {n: ufunc(getattr(np, n)) for n in UFUNC_NAMES}
UFUNCS["abs"] = UFUNCS["absolute"]


def _first_array(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A CuPy function whose first argument must be a device array."""

    def run(a: Any, *args: Any, **kw: Any) -> Any:
        h = _array(a, f"cupy.{name}")
        return _result(fn(h, *_device_args(args, name), **_device_kw(kw, name)))

    def call(a: Any, *args: Any, **kw: Any) -> Any:
        return _op(run, a, *args, **kw)

    call.__name__ = name
    return call


def _all_arrays(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A CuPy function over a sequence of device arrays (concatenate, stack)."""

    def run(arrays: Any, *args: Any, **kw: Any) -> Any:
        hs = [_array(a, f"cupy.{name}") for a in arrays]
        return _result(fn(hs, *args, **kw))

    def call(arrays: Any, *args: Any, **kw: Any) -> Any:
        return _op(run, arrays, *args, **kw)

    call.__name__ = name
    return call


# -- float32 GEMM precision: CuPy's compute type and the cuBLAS handle's math mode ------
COMPUTE_TYPES = {"COMPUTE_TYPE_TBD": 0, "COMPUTE_TYPE_DEFAULT": 1, "COMPUTE_TYPE_PEDANTIC": 2,
                 "COMPUTE_TYPE_FP16": 3, "COMPUTE_TYPE_FP32": 4, "COMPUTE_TYPE_FP64": 5,
                 "COMPUTE_TYPE_BF16": 6, "COMPUTE_TYPE_TF32": 7}
BLAS = {"compute_f32": 0, "math": 0}  # reset by build(); math 3 = CUBLAS_TF32_TENSOR_OP_MATH


def _tf32(a: np.ndarray) -> np.ndarray:
    """float32 ``a`` rounded to TensorFloat-32 (10 mantissa bits, to nearest even)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0xFFF + ((bits >> 13) & 1)) & ~np.uint64(0x1FFF)
    out = bits.astype(np.uint32).view(np.float32).reshape(a.shape)
    return np.where(np.isfinite(a), out, a)


def _gemm_tf32(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether CuPy 14 would run this float32 product on TF32 tensor cores: 2-D products
    (``dot``/``tensordot_core``, cublasGemmEx) when the float32 compute type is TF32
    (set, or ``CUPY_TF32`` at first use) or the handle's math mode allows TF32; batched
    ones (cublasGemmStridedBatchedEx with a legacy compute type) by the math mode only."""
    if np.result_type(a, b) != np.float32:
        return False
    if BLAS["math"] == 3:
        return True
    if a.ndim > 2 or b.ndim > 2:
        return False
    if BLAS["compute_f32"] == 0:
        import os

        BLAS["compute_f32"] = 7 if int(os.environ.get("CUPY_TF32", "0")) > 0 else 1
    return BLAS["compute_f32"] == 7


def _product(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``matmul`` / ``dot`` with the TF32 rounding of their inputs where CuPy has it."""
    def run(a: Any, b: Any, *args: Any, **kw: Any) -> Any:
        if _gemm_tf32(a, b):
            a, b = _tf32(a), _tf32(b)
        return fn(a, b, *args, **kw)

    return run


def _set_compute_type(dtype: Any, compute_type: int) -> None:
    if compute_type not in COMPUTE_TYPES.values():
        raise ValueError(f"Unknown compute type: {compute_type}")
    if np.dtype(dtype).char in "fF":
        BLAS["compute_f32"] = compute_type


def _get_compute_type(dtype: Any) -> int:
    if np.dtype(dtype).char in "fF":
        _gemm_tf32(np.zeros(1, np.float32), np.zeros(1, np.float32))  # settles TBD
        return BLAS["compute_f32"]
    return COMPUTE_TYPES["COMPUTE_TYPE_DEFAULT"]


def _set_math_mode(handle: Any, mode: int) -> None:
    BLAS["math"] = int(mode)


def asarray(a: Any, dtype: Any = None, order: Any = None) -> ndarray:
    """Host or device data -> a device array (no copy for a device array of that dtype)."""
    if isinstance(a, ndarray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    if not isinstance(a, SCALARS):
        _sync("asarray(host data): an upload")
    return _op(lambda: wrap(np.array(a, dtype=dtype, order=order or "K")))


def array(a: Any, dtype: Any = None, copy: bool = True, order: str = "K",
          ndmin: int = 0) -> ndarray:
    if not isinstance(a, (ndarray, *SCALARS)):
        _sync("array(host data): an upload")

    def make(x: Any) -> ndarray:
        h = x._h if isinstance(x, ndarray) else x
        return wrap(np.array(h, dtype=dtype, copy=True if copy else None, order=order,
                             ndmin=ndmin))

    return _op(make, a)


def asnumpy(a: Any, stream: Any = None, order: str = "C") -> np.ndarray:
    _sync("asnumpy")
    return a._h.copy(order=order) if isinstance(a, ndarray) else np.asarray(a, order=order)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:
        _sync("where(condition): the result's size")
        return _result(np.nonzero(_array(condition, "cupy.where")))
    return _op(lambda c, a, b: wrap(np.asarray(np.where(
        _array(c, "cupy.where"), _operand(a, "cupy.where"), _operand(b, "cupy.where")))),
        condition, x, y)


def einsum(subscripts: str, *operands: Any, **kw: Any) -> Any:
    def run(*ops: Any) -> Any:
        return _result(np.einsum(subscripts, *[_array(a, "cupy.einsum") for a in ops], **kw))

    return _op(run, *operands)


def get_array_module(*args: Any) -> Any:
    return sys.modules["cupy"] if any(isinstance(a, ndarray) for a in args) else np


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*[a.dtype if isinstance(a, ndarray) else a
                            for a in arrays_and_dtypes])


def _creator(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kw: Any) -> Any:
        return wrap(np.asarray(fn(*_device_args(args, fn.__name__), **kw)))

    def call(*args: Any, **kw: Any) -> Any:
        return _op(run, *args, **kw)

    call.__name__ = fn.__name__
    return call


FIRST_ARRAY = (
    "reshape transpose broadcast_to sum mean max min amax amin argmax argmin prod any all "
    "matmul dot tensordot pad take take_along_axis expand_dims squeeze moveaxis swapaxes "
    "ascontiguousarray copy zeros_like ones_like empty_like full_like cumsum diff flip "
    "roll tile repeat split ravel var std allclose array_equal isclose count_nonzero "
    "nonzero argsort sort atleast_1d atleast_2d shape ndim size clip cumprod bincount"
).split()


def _functions() -> dict[str, Callable[..., Any]]:
    fns: dict[str, Callable[..., Any]] = {n: _first_array(getattr(np, n), n)
                                          for n in FIRST_ARRAY}
    fns.update({n: _first_array(_product(getattr(np, n)), n) for n in ("matmul", "dot")})
    fns.update({n: _all_arrays(getattr(np, n), n) for n in ("concatenate", "stack",
                                                           "hstack", "vstack")})
    fns.update({n: _creator(getattr(np, n)) for n in ("zeros", "ones", "empty", "full",
                                                      "arange", "eye", "linspace")})
    fns.update({"asarray": asarray, "array": array, "asnumpy": asnumpy, "where": where,
                "einsum": einsum, "result_type": result_type,
                "get_array_module": get_array_module})
    fns.update(UFUNCS)
    return fns


FUNCTIONS = _functions()
_operators()


def as_strided(x: Any, shape: Any = None, strides: Any = None) -> ndarray:
    return _op(lambda a: wrap(np.lib.stride_tricks.as_strided(_array(a, "as_strided"), shape,
                                                              strides)), x)


class _Device:
    """``cupy.cuda.Device``: kernels run synchronously here, so nothing to wait for."""

    def __init__(self, device: int = 0) -> None:
        self.id = device

    def synchronize(self) -> None:
        return None


def _cuda_namespace() -> types.SimpleNamespace:
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, getDevice=lambda: 0,
                                    CUDARuntimeError=graph.CUDARuntimeError,
                                    streamCaptureModeRelaxed=2)
    return types.SimpleNamespace(
        is_available=lambda: True, Device=_Device, runtime=runtime, Stream=graph.Stream,
        Event=graph.Event, Graph=graph.Graph, get_current_stream=graph.get_current_stream,
        MemoryPool=graph.MemoryPool, using_allocator=graph.using_allocator,
        device=types.SimpleNamespace(get_cublas_handle=lambda: 1),
        cublas=types.SimpleNamespace(setMathMode=_set_math_mode,
                                     getMathMode=lambda handle: BLAS["math"]))


def build() -> types.ModuleType:
    """A fresh stand-in ``cupy`` module."""
    mod = types.ModuleType("cupy", "graphnn's CPU stand-in for CuPy (tests only)")
    mod.__dict__.update(FUNCTIONS)
    for name in ("dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
                 "uint8", "bool_", "complex64", "complex128", "inf", "nan", "pi", "e",
                 "newaxis", "finfo", "iinfo", "integer", "floating", "number", "generic"):
        setattr(mod, name, getattr(np, name))
    mod.ndarray, mod.ufunc = ndarray, ufunc
    mod.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=as_strided))
    mod.cuda = _cuda_namespace()
    mod.ElementwiseKernel = kernels.ElementwiseKernel
    mod.ReductionKernel = kernels.ReductionKernel
    mod.RawKernel = kernels.RawKernel
    mod._core = types.SimpleNamespace(_routines_linalg=types.SimpleNamespace(
        set_compute_type=_set_compute_type, get_compute_type=_get_compute_type,
        **COMPUTE_TYPES))
    BLAS.update(compute_f32=0, math=0)  # a fresh process's CuPy
    mod.is_standin = True
    return mod


@contextlib.contextmanager
def installed() -> Iterator[types.ModuleType]:
    """``sys.modules['cupy']`` is the stand-in inside the block (restored after it)."""
    old = sys.modules.get("cupy", None)
    had = "cupy" in sys.modules
    mod = sys.modules["cupy"] = build()
    try:
        yield mod
    finally:
        if had:
            sys.modules["cupy"] = old  # type: ignore[assignment]
        else:
            sys.modules.pop("cupy", None)


@contextlib.contextmanager
def counting_uploads() -> Iterator[types.ModuleType]:
    """:func:`installed`, with ``uploads`` on the module: how many host arrays went to
    the device through ``cupy.asarray``."""
    with installed() as mod:
        real = mod.asarray
        mod.uploads = 0  # type: ignore[attr-defined]

        def counting(a: Any, *args: Any, **kw: Any) -> Any:
            if not isinstance(a, mod.ndarray):
                mod.uploads += 1  # type: ignore[attr-defined]
            return real(a, *args, **kw)

        mod.asarray = counting  # type: ignore[attr-defined]
        yield mod
