"""The stand-in's CuPy kernels: ``ElementwiseKernel``, ``ReductionKernel`` and ``RawKernel``
with CuPy's call semantics (argument types, broadcasting, output dtypes), whose C runs on
the host: each kernel becomes a plain C++ loop compiled with g++ and called through
ctypes. Kernels are cached per source (in memory and as shared libraries in a temporary
folder); the kernels made before a first call are compiled together, in one g++ run.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

GXX = shutil.which("g++")
CTYPES = {"bool": "bool", "int8": "signed char", "int16": "short", "int32": "int",
          "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
          "uint32": "unsigned int", "uint64": "unsigned long long", "float16": "float16",
          "float32": "float", "float64": "double"}
PRELUDE = """#include <cmath>
#include <cstdint>
#include <algorithm>
using namespace std;
#define __device__
#define __host__
#define __forceinline__ inline
// CuPy's float16 (cupy/float16.cuh): storage that converts to float to compute and
// rounds back when assigned; no arithmetic of its own (code that treats it as a number
// type of its own, or mixes it with CUDA's half, fails here as it fails in CuPy)
class float16 {
  _Float16 data_;
 public:
  float16() {}
  float16(float v) : data_((_Float16)v) {}
  explicit float16(double v) : data_((_Float16)v) {}
  explicit float16(int v) : data_((_Float16)v) {}
  explicit float16(long long v) : data_((_Float16)v) {}
  explicit float16(bool v) : data_((_Float16)(float)v) {}
  operator float() const { return (float)data_; }
  float16& operator=(const float16&) = default;
  template <typename T> float16& operator=(const T& r) {
    *this = static_cast<float16>(r); return *this; }
  template <typename T> float16& operator+=(const T& r) { *this = *this + r; return *this; }
  template <typename T> float16& operator-=(const T& r) { *this = *this - r; return *this; }
  template <typename T> float16& operator*=(const T& r) { *this = *this * r; return *this; }
  template <typename T> float16& operator/=(const T& r) { *this = *this / r; return *this; }
};
static inline float16 min(float16 x, float16 y) { return float16(std::min(float(x), float(y))); }
static inline float16 max(float16 x, float16 y) { return float16(std::max(float(x), float(y))); }
static inline float16 fmin(float16 x, float16 y) { return float16(std::fmin(float(x), float(y))); }
static inline float16 fmax(float16 x, float16 y) { return float16(std::fmax(float(x), float(y))); }
static inline int isnan(float16 x) { return std::isnan(float(x)); }
static inline int isinf(float16 x) { return std::isinf(float(x)); }
static inline int isfinite(float16 x) { return std::isfinite(float(x)); }
static inline int signbit(float16 x) { return std::signbit(float(x)); }
static inline float rsqrt(float x) { return 1.0f / sqrt(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline double rcbrt(double x) { return 1.0 / cbrt(x); }
"""
_FUNCS: dict[str, Any] = {}      # kernel key -> ctypes function
_PENDING: dict[str, str] = {}    # kernel key -> C++ source (symbol k_<key>)


class CompileException(Exception):
    """g++ rejected a kernel (CuPy raises cupy.cuda.compiler.CompileException)."""


def _cache_dir() -> Path:
    d = Path(tempfile.gettempdir()) / f"graphnn-cupy-standin-{os.getuid()}"
    d.mkdir(exist_ok=True)
    return d


def build_library(sources: list[str]) -> ctypes.CDLL:
    """Compile C++ translation units into one shared library (cached by content)."""
    if GXX is None:
        raise RuntimeError("the CuPy stand-in needs g++ to run kernels on the host")
    key = hashlib.sha1("\0".join(sources).encode()).hexdigest()[:20]
    lib = _cache_dir() / f"lib_{key}.so"
    if not lib.exists():
        tmp = Path(tempfile.mkdtemp(dir=_cache_dir()))
        try:
            files = []
            for k, src in enumerate(sources):
                (tmp / f"u{k}.cpp").write_text(src)
                files.append(str(tmp / f"u{k}.cpp"))
            proc = subprocess.run([GXX, "-O1", "-w", "-shared", "-fPIC", *files, "-o",
                                   str(tmp / "k.so")], capture_output=True, text=True,
                                  timeout=600)
            if proc.returncode:
                raise CompileException(proc.stderr[-4000:] + "\n"
                                       + "\n".join(sources)[-4000:])
            os.replace(tmp / "k.so", lib)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return ctypes.CDLL(str(lib))


def register(source: str) -> str:
    """Queue a kernel whose symbol is written ``{SYM}``; returns its key."""
    key = hashlib.sha1(source.encode()).hexdigest()[:20]
    if key not in _FUNCS:
        _PENDING[key] = source.replace("{SYM}", f"k_{key}")
    return key


def function(key: str) -> Any:
    """The compiled kernel ``key`` (compiling every queued kernel at once)."""
    if key not in _FUNCS:
        batch = dict(_PENDING)
        _PENDING.clear()
        try:
            so = build_library([PRELUDE + "\n".join(batch.values())])
        except CompileException:
            if len(batch) == 1:
                raise
            so = build_library([PRELUDE + batch[key]])  # isolate the failing kernel
            batch = {key: batch[key]}
        for k in batch:
            fn = getattr(so, f"k_{k}")
            fn.restype = None
            _FUNCS[k] = fn
    return _FUNCS[key]


def parse_params(spec: str) -> list[tuple[str | None, str, bool]]:
    """CuPy's parameter list: ``(dtype name or placeholder, name, raw)`` per parameter."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        words = part.split()
        if len(words) < 2 or any(w not in ("raw", "_non_const") for w in words[:-2]):
            raise ValueError(f"Syntax error: {part}")
        t, name = words[-2:]
        out.append((t if len(t) == 1 else np.dtype(t).name, name, "raw" in words[:-2]))
    return out


def _sa(args: list[Any]) -> Any:
    """The stand-in module (imported late: it imports this one)."""
    from tests import cupy_standin as cs

    return cs


def decide_types(params: list[tuple[str | None, str, bool]], values: list[Any],
                 where: str) -> dict[str, np.dtype]:
    """Each parameter's dtype: typed ones must match array arguments exactly; a
    placeholder takes the dtype of its first array argument (CuPy's type_dict)."""
    cs = _sa(values)
    names: dict[str, np.dtype] = {}
    for (t, name, _), v in zip(params, values):
        if not isinstance(v, cs.ndarray):
            continue
        want = names.setdefault(t, v.dtype) if len(t or "") == 1 else np.dtype(t)
        if v.dtype != want:
            raise TypeError(f"Type is mismatched. {name} {v.dtype} {want} ({where})")
    types = {}
    for t, name, _ in params:
        if len(t or "") == 1 and t not in names:
            raise TypeError(f"Cannot determine the type of '{name}' ({where})")
        types[name] = names[t] if len(t or "") == 1 else np.dtype(t)
    return types


def host_operands(params: Any, values: list[Any], types: dict[str, np.dtype],
                  shape: tuple[int, ...], where: str) -> tuple[list[np.ndarray], list[int]]:
    """Contiguous host buffers over ``shape`` for arrays (a raw parameter: the whole
    array, in C order, as CuPy's ``x[i]`` reads it), one element (step 0) for scalars;
    host NumPy arrays are refused as CuPy refuses them."""
    cs = _sa(values)
    bufs, steps = [], []
    for (_, name, raw), v in zip(params, values):
        h = cs._operand(v, where)
        if raw:
            if not isinstance(v, cs.ndarray):
                raise TypeError(f"raw parameter {name} of {where} needs a device array")
            bufs.append(np.ascontiguousarray(h))
            steps.append(1)
        elif isinstance(v, cs.ndarray):
            bufs.append(np.ascontiguousarray(np.broadcast_to(h, shape)))
            steps.append(1)
        else:
            bufs.append(np.asarray(h).astype(types[name]).reshape(1))
            steps.append(0)
    return bufs, steps


def ctype_of(dt: np.dtype) -> str:
    try:
        return CTYPES[dt.name]
    except KeyError:
        raise TypeError(f"the CuPy stand-in has no C type for {dt}") from None


def typedefs(params: Any, types: dict[str, np.dtype]) -> str:
    seen = {t: types[n] for t, n, _ in params if len(t or "") == 1}
    return "".join(f"    typedef {ctype_of(dt)} {t};\n" for t, dt in seen.items())


def call(key: str, bufs: list[np.ndarray], steps: list[int], *sizes: int) -> None:
    ptrs = (ctypes.c_void_p * len(bufs))(*[b.ctypes.data for b in bufs])
    st = np.asarray(steps + [0], dtype=np.int64)
    function(key)(ptrs, st.ctypes.data_as(ctypes.c_void_p),
                  *[ctypes.c_longlong(s) for s in sizes])


def _loads(params: Any, types: dict[str, np.dtype], index: str, first: int = 0,
           const: bool = True) -> str:
    """Each parameter as a C++ name: a reference to its element, or (raw) a pointer to its
    first element, indexed ``x[j]`` as CuPy's raw arrays are."""
    c = "const " if const else ""
    return "".join(
        f"        {c}{ctype_of(types[n])}* {n} = ({c}{ctype_of(types[n])}*)_p[{first + k}];\n"
        if raw else
        f"        {c}{ctype_of(types[n])}& {n} = (({c}{ctype_of(types[n])}*)"
        f"_p[{first + k}])[{index} * _st[{first + k}]];\n"
        for k, (_, n, raw) in enumerate(params))


def _outputs(cs: Any, outs: list[Any], params: Any, types: dict[str, np.dtype],
             shape: tuple[int, ...], sized: bool = False) -> list[Any]:
    """The output arrays: those passed, else new ones of the loop's shape (a raw output
    only when ``size=`` was given, as CuPy)."""
    if not outs:
        if not sized and any(raw for _, _, raw in params):
            raise ValueError("Output array size is Undecided")
        return [cs.wrap(np.empty(shape, dtype=types[n])) for _, n, _ in params]
    for o, (_, _, raw) in zip(outs, params):
        if not isinstance(o, cs.ndarray):
            raise TypeError("Output arguments type must be cupy.ndarray")
        if o.shape != shape and not raw:
            raise ValueError("Out shape is mismatched")
    return list(outs)


def host_preamble(preamble: str) -> str:
    """A kernel's preamble for g++: CuPy's own headers (``#include <cupy/float16.cuh>``)
    are what the PRELUDE stands in for."""
    return "\n".join(ln for ln in preamble.splitlines()
                     if not ln.strip().startswith("#include <cupy/"))


class ElementwiseKernel:
    """``cupy.ElementwiseKernel``: typed or placeholder (one-letter) parameters, inputs
    broadcast together, outputs allocated with their declared dtype."""

    def __init__(self, in_params: str, out_params: str, operation: str,
                 name: str = "kernel", reduce_dims: bool = True, preamble: str = "",
                 no_return: bool = False, return_tuple: bool = False, **kw: Any) -> None:
        self.in_params, self.out_params = parse_params(in_params), parse_params(out_params)
        if "i" in [n for _, n, _ in self.in_params + self.out_params]:
            raise ValueError("Can not use 'i' as a parameter name")
        self.operation, self.name = operation, name
        self.preamble = host_preamble(preamble)
        self.no_return, self.return_tuple = no_return, return_tuple
        if all(len(t or "") > 1 for t, _, _ in self.in_params + self.out_params):
            self._source({})  # typed: queue it now, so a module's kernels build together

    def _source(self, types: dict[str, np.dtype]) -> str:
        if not types:
            types = {n: np.dtype(t) for t, n, _ in self.in_params + self.out_params}
        nin = len(self.in_params)
        src = (f"{self.preamble}\nextern \"C\" void {{SYM}}(void** _p, const long long* _st, "
               f"long long _n) {{\n{typedefs(self.in_params + self.out_params, types)}"
               "    struct { long long n; long long size() const { return n; } } _ind = {_n};\n"
               "    for (long long i = 0; i < _n; ++i) {\n"
               + _loads(self.in_params, types, "i")
               + _loads(self.out_params, types, "i", nin, const=False)
               + f"        {self.operation};\n    }}\n}}\n")
        return register(src)

    def __call__(self, *args: Any, **kw: Any) -> Any:
        cs = _sa([])
        outs = tuple(a for a in args[len(self.in_params):] if isinstance(a, cs.ndarray))
        return cs._op(self._call, *args, _writes=outs, **kw)

    def _call(self, *args: Any, size: int = -1, block_size: int = 128,
              stream: Any = None) -> Any:
        cs, nin = _sa([]), len(self.in_params)
        if len(args) not in (nin, nin + len(self.out_params)):
            raise TypeError(f"Wrong number of arguments for {self.name!r}. It must be either "
                            f"{nin} or {nin + len(self.out_params)} (with outputs), but "
                            f"given {len(args)}.")
        ins, outs = list(args[:nin]), list(args[nin:])
        for a in ins:
            cs._operand(a, f"ElementwiseKernel {self.name}")
        params = self.in_params + self.out_params
        arrays = [a for a, (_, _, raw) in zip(ins + outs, params)
                  if isinstance(a, cs.ndarray) and not raw]  # raw arrays set no loop size
        if arrays:
            shape = np.broadcast_shapes(*[a.shape for a in arrays])
            if size != -1:
                raise ValueError("The size parameter is used only if all arguments are raw")
        elif size == -1:
            raise ValueError("Loop size is undecided.")
        else:
            shape = (size,)
        types = decide_types(self.in_params + self.out_params, ins + outs, self.name)
        outs = _outputs(cs, outs, self.out_params, types, shape, sized=size != -1)
        n = int(np.prod(shape, dtype=np.int64))
        if n:
            bufs, steps = host_operands(self.in_params, ins, types, shape, self.name)
            # outputs passed in are in-out (CuPy reads their values: `y = y + x`)
            obufs = [np.array(o._h, order="C", copy=True) for o in outs]
            call(self._source(types), bufs + obufs, steps + [1] * len(outs), n)
            for o, b in zip(outs, obufs):
                o._h[...] = b
        if self.no_return:
            return None
        return outs[0] if len(outs) == 1 and not self.return_tuple else tuple(outs)


class ReductionKernel:
    """``cupy.ReductionKernel``: ``map_expr`` per element, ``reduce_expr`` over ``a``/``b``,
    ``post_map_expr`` into the output, over ``axis`` of the broadcast inputs."""

    def __init__(self, in_params: str, out_params: str, map_expr: str, reduce_expr: str,
                 post_map_expr: str, identity: str | None, name: str = "reduce_kernel",
                 reduce_type: str | None = None, reduce_dims: bool = True,
                 preamble: str = "", options: Any = ()) -> None:
        self.in_params, self.out_params = parse_params(in_params), parse_params(out_params)
        self.exprs = (map_expr, reduce_expr, post_map_expr)
        self.identity, self.name = identity, name
        self.preamble = host_preamble(preamble)
        self.reduce_type = reduce_type or self.out_params[0][0]

    def _source(self, types: dict[str, np.dtype]) -> str:
        nin = len(self.in_params)
        m, r, post = self.exprs
        rt = self.reduce_type if len(self.reduce_type) == 1 else ctype_of(np.dtype(
            self.reduce_type))
        init = (f"_type_reduce _acc = _type_reduce({self.identity}); bool _first = false;"
                if self.identity not in (None, "") else "_type_reduce _acc{}; bool _first = true;")
        src = (f"{self.preamble}\nextern \"C\" void {{SYM}}(void** _p, const long long* _st, "
               f"long long _nout, long long _nred) {{\n"
               f"{typedefs(self.in_params + self.out_params, types)}"
               f"    typedef {rt} _type_reduce;\n"
               f"    for (long long _o = 0; _o < _nout; ++_o) {{\n        {init}\n"
               "        for (long long _r = 0; _r < _nred; ++_r) {\n"
               "        long long _j = _o * _nred + _r;\n"
               + _loads(self.in_params, types, "_j")
               + f"        _type_reduce _m = _type_reduce({m});\n"
               "        if (_first) { _acc = _m; _first = false; continue; }\n"
               f"        {{ const _type_reduce a = _acc, b = _m; _acc = ({r}); }}\n        }}\n"
               + _loads(self.out_params, types, "_o", nin, const=False)
               + f"        {{ _type_reduce a = _acc; {post}; }}\n    }}\n}}\n")
        return register(src)

    def __call__(self, *args: Any, out: Any = None, **kw: Any) -> Any:
        return _sa([])._op(self._call, *args, out=out,
                           _writes=() if out is None else (out,), **kw)

    def _call(self, *args: Any, out: Any = None, axis: Any = None,
              keepdims: bool = False, stream: Any = None) -> Any:
        cs, nin = _sa([]), len(self.in_params)
        ins = list(args[:nin])
        arrays = [a for a in ins if isinstance(a, cs.ndarray)]
        for a in ins:
            cs._operand(a, f"ReductionKernel {self.name}")
        shape = np.broadcast_shapes(*[a.shape for a in arrays]) if arrays else ()
        nd = len(shape)
        axes = tuple(range(nd)) if axis is None else tuple(
            a % nd for a in (axis if isinstance(axis, tuple) else (axis,)))
        keep = [d for d in range(nd) if d not in axes]
        oshape = tuple(1 if d in axes else s for d, s in enumerate(shape)) if keepdims \
            else tuple(shape[d] for d in keep)
        types = decide_types(self.in_params + self.out_params, ins + ([out] if out else []),
                             self.name)
        res = _outputs(cs, [out] if out is not None else [], self.out_params, types, oshape)[0]
        nred = int(np.prod([shape[d] for d in axes], dtype=np.int64))
        nout = int(np.prod([shape[d] for d in keep], dtype=np.int64))
        bufs, steps = host_operands(self.in_params, ins, types, shape, self.name)
        bufs = [np.ascontiguousarray(np.transpose(b, keep + list(axes))) if s else b
                for b, s in zip(bufs, steps)]
        obuf = np.empty(oshape, dtype=res.dtype)
        if nout:
            call(self._source(types), bufs + [obuf], steps + [1], nout, nred)
        res._h[...] = obuf
        return res


RAW_PRELUDE = """#define __global__
struct _gn_dim3 { unsigned int x, y, z; };
_gn_dim3 threadIdx, blockIdx, blockDim, gridDim;
template <class T> static inline T atomicAdd(T* a, T v) { T o = *a; *a += v; return o; }
"""
_SCALAR_C = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long",
             "bool": "bool", "uint32": "unsigned int", "uint64": "unsigned long long"}


def _dim3(v: Any) -> tuple[int, int, int]:
    t = tuple(v) if isinstance(v, tuple) else (int(v),)
    return (*t, 1, 1)[:3]  # type: ignore[return-value]


class RawKernel:
    """``cupy.RawKernel``: CUDA C run thread by thread on the host (kernels without shared
    memory or barriers); device arrays are passed as pointers, scalars by their dtype."""

    def __init__(self, code: str, name: str, options: Any = (), backend: str = "nvrtc",
                 **kw: Any) -> None:
        if "__syncthreads" in code or "__shared__" in code:
            raise NotImplementedError("the stand-in runs threads one by one: no shared "
                                      "memory or barriers")
        self.code, self.name = code, name
        self._libs: dict[tuple[str, ...], Any] = {}

    def _launcher(self, ctypes_: tuple[str, ...]) -> Any:
        fn = self._libs.get(ctypes_)
        if fn is None:
            decl = ", ".join(ctypes_)
            call_args = ", ".join(f"*({t}*)_a[{k}]" for k, t in enumerate(ctypes_))
            tramp = ("struct _gn_dim3 { unsigned int x, y, z; };\n"
                     "extern _gn_dim3 threadIdx, blockIdx, blockDim, gridDim;\n"
                     f"extern \"C\" void {self.name}({decl});\n"
                     "extern \"C\" void _gn_launch(void** _a, const unsigned int* g) {\n"
                     "    gridDim = {g[0], g[1], g[2]}; blockDim = {g[3], g[4], g[5]};\n"
                     "    for (unsigned bz = 0; bz < g[2]; ++bz) for (unsigned by = 0; by < g[1];"
                     " ++by) for (unsigned bx = 0; bx < g[0]; ++bx)\n"
                     "    for (unsigned tz = 0; tz < g[5]; ++tz) for (unsigned ty = 0; ty < g[4];"
                     " ++ty) for (unsigned tx = 0; tx < g[3]; ++tx) {\n"
                     "        blockIdx = {bx, by, bz}; threadIdx = {tx, ty, tz};\n"
                     f"        {self.name}({call_args});\n    }}\n}}\n")
            so = build_library([PRELUDE + RAW_PRELUDE + self.code, PRELUDE + tramp])
            fn = self._libs[ctypes_] = so._gn_launch
            fn.restype = None
        return fn

    def __call__(self, grid: Any, block: Any, args: tuple[Any, ...], **kw: Any) -> None:
        cs = _sa([])
        writes = tuple(a for a in args if isinstance(a, cs.ndarray))  # through pointers
        return cs._op(self._call, grid, block, args, _writes=writes, **kw)

    def _call(self, grid: Any, block: Any, args: tuple[Any, ...], shared_mem: int = 0,
              stream: Any = None, **kw: Any) -> None:
        cs = _sa([])
        store, types_ = [], []
        for a in args:
            if isinstance(a, cs.ndarray):
                store.append(ctypes.c_void_p(a._h.ctypes.data))
                types_.append("void*")
                continue
            if isinstance(a, np.ndarray) or not isinstance(a, cs.SCALARS):
                raise cs._unsupported(a, f"RawKernel {self.name}")
            v = np.asarray(a if isinstance(a, np.generic) else
                           (np.int64(a) if isinstance(a, int) else np.float64(a)))
            store.append(v.reshape(1).copy())
            types_.append(_SCALAR_C[v.dtype.name])
        ptrs = (ctypes.c_void_p * len(store))(*[
            ctypes.addressof(s) if isinstance(s, ctypes.c_void_p) else s.ctypes.data
            for s in store])
        dims = np.asarray(_dim3(grid) + _dim3(block), dtype=np.uint32)
        self._launcher(tuple(types_))(ptrs, dims.ctypes.data_as(ctypes.c_void_p))
