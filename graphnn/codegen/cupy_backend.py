"""CuPy backend: every fused elementwise group becomes one ``cupy.ElementwiseKernel``
whose CUDA C body has one line per node (a local variable named after it); everything
else uses the op templates with ``xp = cupy`` (matmul through cuBLAS, reductions through
CuPy's reduction kernels, helpers shared with NumPy).

The C expression of an op is its record's ``cuda``, else its sympy formula printed by
``sympy.ccode``.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(4,), dtype="float32")
...     y = gn.sigmoid(x * 2.0 + 1.0).named("y")
>>> f = gn.compile(g, [y], backend="cupy")
>>> print(f.kernels[0]["body"])
float v_mul_1 = (v_x * v_const_1);
float v_add_1 = (v_mul_1 + v_const_2);
v_y = (1 / (1 + exp(-v_add_1)));
<BLANKLINE>
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from graphnn.codegen.emit import Emitter, c_ident, fill
from graphnn.codegen.fuse import Group
from graphnn.core.errors import GraphError, describe
from graphnn.core.ir import Node
from graphnn.core.op import Unsupported

#: C types in CuPy kernels: float16 is CuPy's own ``float16`` class (cupy/float16.cuh),
#: storage that converts to float to compute and rounds back when assigned (as NumPy
#: rounds every float16 op), not CUDA's ``half``, which does not convert to or from it
CTYPES = {"float16": "float16", "float32": "float", "float64": "double", "int8": "signed char",
          "int16": "short", "int32": "int", "int64": "long long", "uint8": "unsigned char",
          "uint16": "unsigned short", "uint32": "unsigned int",
          "uint64": "unsigned long long", "bool": "bool"}

#: CuPy's float16 class as far as generated code uses it, for the standalone CUDA sources
#: below (nvcc checks without CuPy): a constructor from float (double, int: explicit),
#: the conversion to float, assignment and compound assignment through float, and the
#: classification functions
FLOAT16_CUDA = """#ifndef GRAPHNN_FLOAT16
#define GRAPHNN_FLOAT16
#include <cuda_fp16.h>
class float16 {
  __half data_;
 public:
  __device__ float16() {}
  __device__ float16(float v) : data_(__float2half(v)) {}
  explicit __device__ float16(double v) : data_(__double2half(v)) {}
  explicit __device__ float16(int v) : data_(__int2half_rn(v)) {}
  explicit __device__ float16(long long v) : data_(__ll2half_rn(v)) {}
  explicit __device__ float16(bool v) : data_(__float2half(float(v))) {}
  __device__ operator float() const { return __half2float(data_); }
  float16& operator=(const float16&) = default;
  template <typename T> __device__ float16& operator=(const T& r) {
    *this = static_cast<float16>(r); return *this; }
  template <typename T> __device__ float16& operator+=(const T& r) {
    *this = *this + r; return *this; }
  template <typename T> __device__ float16& operator-=(const T& r) {
    *this = *this - r; return *this; }
  template <typename T> __device__ float16& operator*=(const T& r) {
    *this = *this * r; return *this; }
  template <typename T> __device__ float16& operator/=(const T& r) {
    *this = *this / r; return *this; }
};
__device__ int isnan(float16 x) { return isnan(float(x)); }
__device__ int isinf(float16 x) { return isinf(float(x)); }
__device__ int isfinite(float16 x) { return isfinite(float(x)); }
#endif
"""


#: the preamble of a kernel that uses float16 in its body without a float16 argument
FLOAT16_INCLUDE = "#include <cupy/float16.cuh>\n"


def _float16_prelude(types: Any, body: str = "") -> str:
    return FLOAT16_CUDA if "float16" in types or "float16" in body else ""


def ctype(n: Node) -> str:
    try:
        return CTYPES[n.dtype.name]
    except KeyError:
        raise GraphError(f"no CUDA type for dtype {n.dtype} of {describe(n)}", node=n) from None


def compute_ctype(n: Node) -> str:
    """The C type ``n`` is computed in inside a fused kernel: float for float16 (CuPy's
    float16 class has no arithmetic), else its own."""
    return "float" if n.dtype == np.float16 else ctype(n)


def _operand(n: Node, i: Node, name: str) -> str:
    """Input ``i`` of ``n`` as an operand of ``n``'s C expression: an integer or bool
    input of a floating-point node is converted first (C would divide integers, and NumPy
    computes such a node in floating point: ``k / 2`` of int64 is float64)."""
    if n.dtype.kind in "fc" and i.dtype.kind not in "fc":
        return f"(({compute_ctype(n)})({name}))"
    return name


def c_expr(n: Node, args: list[str]) -> str:
    """The C expression of elementwise node ``n`` over C operand names ``args``."""
    tpl = n.op.cuda
    if isinstance(tpl, Unsupported):
        raise GraphError(f"op '{n.op.name}' has no CUDA form ({tpl.reason}), so {describe(n)} "
                         "cannot be fused for CuPy", node=n)
    if tpl is not None:
        return fill(tpl, n, args)
    if not callable(n.op.sympy):
        raise GraphError(f"op '{n.op.name}' has neither a CUDA template (cuda=) nor a "
                         f"sympy formula, so {describe(n)} cannot be fused for CuPy", node=n)
    import sympy as sp

    syms = [sp.Symbol(f"_a{k}") for k in range(len(args))]
    expr = n.op.sympy(sp, *syms, **n.params)
    code = sp.ccode(expr)
    for k in reversed(range(len(args))):
        code = code.replace(f"_a{k}", args[k])
    return f"({code})"


#: C math functions CUDA has for floating-point arguments only (an integer argument
#: resolves to the host-only std:: overloads)
_FLOAT_ONLY_C = re.compile(r"\b(fabs|floor|ceil|trunc|round|rint|nearbyint)\s*\(")


class CupyBackend:
    """Emits CuPy code; fused groups become ElementwiseKernels (``kernels`` lists them)."""

    name = "cupy"
    imports = ["from __future__ import annotations", "", "import base64  # noqa: F401",
               "from typing import Any  # noqa: F401  (helpers copied in are annotated)", "",
               "import cupy as xp", "import numpy as np  # noqa: F401"]
    wrap_consts = True
    reuses_buffers = False

    def __init__(self) -> None:
        self.kernels: list[dict[str, Any]] = []
        self.update_kernels: list[dict[str, Any]] = []  # the fused optimizer updates

    @staticmethod
    def fuses(n: Node) -> bool:
        """Can ``n`` be part of a fused kernel: every dtype it touches has a C type
        (complex ones have none here: such nodes run their CuPy templates), and an
        integer node's C form calls no floating-point-only math function (``abs`` of
        int64 is ``fabs``, which CUDA has for floats only)."""
        if n.dtype.name not in CTYPES or any(i.dtype.name not in CTYPES for i in n.inputs):
            return False
        if n.dtype.kind in "iub":
            try:
                code = c_expr(n, [f"_a{k}" for k in range(len(n.inputs))])
            except GraphError:
                return False
            return _FLOAT_ONLY_C.search(code) is None
        return True

    def emit_group(self, em: Emitter, g: Group) -> list[str]:
        r = g.root
        if not g.fused:
            return [f"{em.var(r)} = {em.expr(r, g)}"]
        ext = g.external_inputs()
        taken: set[str] = set()
        cname = {i.id: c_ident(i.name, taken) for i in ext}
        out = c_ident(r.name, taken)
        # float16 is computed in float: an input is read into a float local, and a member
        # is rounded to float16 and kept as a float (as NumPy rounds every float16 op);
        # CuPy's float16 class has no arithmetic, and `c ? float16 : 0` is ambiguous
        pname = {i.id: c_ident(f"{i.name}_h", taken) if i.dtype == np.float16 else cname[i.id]
                 for i in ext}
        lines = [f"{compute_ctype(i)} {cname[i.id]} = {pname[i.id]};" for i in ext
                 if i.dtype == np.float16]
        for m in g.nodes:
            code = c_expr(m, [_operand(m, i, cname[i.id]) for i in m.inputs])
            if m is r:
                lines.append(f"{out} = {code};")
                continue
            if m.dtype == np.float16:
                code = f"(float16)({code})"
            cname[m.id] = c_ident(m.name, taken)
            lines.append(f"{compute_ctype(m)} {cname[m.id]} = {code};")
        body = "\n".join(lines) + "\n"
        kname = em.fresh(f"_k_{r.name}"[:48])
        em.globals.add(kname)
        params = [(ctype(i), i.dtype.name, pname[i.id]) for i in ext]
        # CuPy includes its float16 class only for float16 arguments; a float16 member
        # between other types needs it too
        pre = FLOAT16_INCLUDE if "float16" in body else ""
        spec = {"name": f"graphnn_{kname.lstrip('_')}", "var": kname, "params": params,
                "out": (ctype(r), r.dtype.name, out), "body": body,
                "inputs": [i.name for i in ext], "root": r.name}
        if pre:
            spec["preamble"] = pre
        self.kernels.append(spec)
        in_decl = ", ".join(f"{dt} {nm}" for _, dt, nm in params)
        more = f", preamble={pre!r}" if pre else ""
        em.prelude.append(
            f"{kname} = xp.ElementwiseKernel(\n    {in_decl!r},\n    {r.dtype.name + ' ' + out!r},"
            f"\n    {body!r},\n    {spec['name']!r}{more})")
        return [f"{em.var(r)} = {kname}({', '.join(em.var(i) for i in ext)})"]

    def emit_update(self, em: Emitter, rule: Any, upd: str, ws: list[str], gs: list[str],
                    loss: str, params: list[Node], loss_dtype: Any) -> list[str]:
        """The fused optimizer update as few kernels as the argument limit allows: each
        ``ElementwiseKernel`` updates a run of params of one dtype (multi-tensor: the
        index space is their sizes end to end, every array ``raw``), the params and their
        state buffers written in place. The scalars come from one float64 device table
        (a row per param): the function's ``_sc`` argument when a CUDA-graph replay hands
        its own in, else uploaded once at the top of the function, before any launch. The
        update is guarded on the device by ``isfinite(loss)`` (no host sync)."""
        ns = len(rule.scalars)
        sc = em.fresh("_sc")
        em.update_params.append(sc)
        em.update_head = [
            f"if {upd} is not None and {sc} is None:  # the update's scalars, one upload",
            f"    {sc} = xp.asarray(np.array([u[:{ns}] for u in {upd}], "
            f"dtype=np.float64).reshape(len({upd}), {ns}))"]
        lines = [f"if {upd} is not None:  # the optimizer's update, in place on the device"]
        for run in _update_runs(params, len(rule.state)):
            kname = self._update_kernel(em, rule, [params[k] for k in run], run, loss_dtype)
            args = [gs[k] for k in run] + [loss, sc]
            for k in run:
                args += [ws[k], f"*{upd}[{k}][{ns}:]"]
            size = sum(params[k].size for k in run)
            lines.append(f"    {kname}({', '.join(args)}, size={size})")
        return lines

    def _update_kernel(self, em: Emitter, rule: Any, params: list[Node], rows: list[int],
                       loss_dtype: Any) -> str:
        """One multi-tensor update kernel for ``params`` (one dtype; ``rows``: their rows
        in the scalar table): param k's elements are the indices from the sum of the
        sizes before it, each segment a scope of its own running the rule's C lines."""
        dt = params[0].dtype
        ct = CTYPES[dt.name]
        ns = len(rule.scalars)
        kname = em.fresh(f"_k_update_{rule.name}_{dt.name}")
        em.globals.add(kname)
        ins = [(f"_g_{k}", dt.name) for k in range(len(params))]
        ins += [("_L", loss_dtype.name), ("_sc", "float64")]
        outs = []
        for k in range(len(params)):
            outs += [(f"_w_{k}", dt.name)] + [(f"_{s}_{k}", dt.name) for s in rule.state]
        body = ["if (isfinite(_L[0])) {"]
        start = 0
        last = len(params) - 1
        for k, (p, row) in enumerate(zip(params, rows)):
            end = start + p.size
            head = "{" if last == 0 else (f"if (i < {end}) {{" if k == 0 else
                                          "} else {" if k == last else
                                          f"}} else if (i < {end}) {{")
            body.append(f"    {head}")
            body.append(f"        const long long _j = i - {start};")
            body.append(f"        const {ct} g = _g_{k}[_j];")
            body += [f"        {ct} {n} = _{n}_{k}[_j];" for n in ("w", *rule.state)]
            body += [f"        const {ct} {n} = ({ct})_sc[{row * ns + c}];"
                     for c, n in enumerate(rule.scalars)]
            body += ["        " + ln for ln in rule.c_lines(ct)]
            body += [f"        _{n}_{k}[_j] = {n};" for n in ("w", *rule.state)]
            start = end
        body += ["    }", "}"]
        text = "\n".join(body) + "\n"
        spec = {"name": f"graphnn_update_{rule.name}_{dt.name}_{len(self.update_kernels)}",
                "var": kname, "ins": ins, "outs": outs, "body": text, "ctype": ct,
                "params": [p.name for p in params]}
        self.update_kernels.append(spec)
        in_decl = ", ".join(f"raw {t} {n}" for n, t in ins)
        out_decl = ", ".join(f"raw {t} {n}" for n, t in outs)
        em.prelude.append(f"{kname} = xp.ElementwiseKernel(\n    {in_decl!r},\n    "
                          f"{out_decl!r},\n    {text!r},\n    {spec['name']!r})")
        return kname


#: kernel-argument bytes one update kernel may take (CUDA allows 4 KB): a ``raw`` array
#: argument is CuPy's CArray, a pointer and a size plus a shape and strides per axis
UPDATE_ARG_BYTES = 3072


def _raw_bytes(ndim: int) -> int:
    return 16 + 16 * ndim


def _update_runs(params: list[Node], n_state: int) -> list[list[int]]:
    """The params (indices) each update kernel takes: consecutive runs of one dtype whose
    raw arguments (gradient, param, state buffers) fit in :data:`UPDATE_ARG_BYTES`."""
    fixed = _raw_bytes(0) + _raw_bytes(2) + 64  # the loss, the scalar table, the indexer
    runs: list[list[int]] = []
    by_dtype: dict[str, list[int]] = {}
    for k, p in enumerate(params):
        by_dtype.setdefault(p.dtype.name, []).append(k)
    for ks in by_dtype.values():
        run: list[int] = []
        used = fixed
        for k in ks:
            need = (2 + n_state) * _raw_bytes(len(params[k].shape))
            if run and used + need > UPDATE_ARG_BYTES:
                runs.append(run)
                run, used = [], fixed
            run.append(k)
            used += need
        runs.append(run)
    return runs


def cuda_source(spec: dict[str, Any]) -> str:
    """A standalone CUDA translation unit equivalent to one generated ElementwiseKernel
    (used to check the generated C with ``nvcc -ptx`` where there is no GPU)."""
    ptrs = [f"const {ct}* __restrict__ p_{nm}" for ct, _, nm in spec["params"]]
    oct_, _, onm = spec["out"]
    loads = [f"    const {ct} {nm} = p_{nm}[i];" for ct, _, nm in spec["params"]]
    body = "\n".join("    " + ln for ln in spec["body"].splitlines())
    types = [ct for ct, _, _ in spec["params"]] + [oct_]
    return (f'{_float16_prelude(types, spec["body"])}extern "C" __global__ void {spec["name"]}('
            f'{", ".join(ptrs + [f"{oct_}* p_{onm}"])}'
            f", long long n) {{\n    long long i = blockIdx.x * (long long)blockDim.x + "
            f"threadIdx.x;\n    if (i >= n) return;\n" + "\n".join(loads)
            + f"\n    {oct_} {onm};\n{body}\n    p_{onm}[i] = {onm};\n}}\n")


def update_cuda_source(spec: dict[str, Any]) -> str:
    """A standalone CUDA translation unit equivalent to one fused optimizer update kernel
    (``CupyBackend.update_kernels``): every argument a pointer, indexed as CuPy's raw
    arrays are, over ``n`` indices."""
    def ct(t: str) -> str:
        return CTYPES[t]

    ptrs = [f"const {ct(t)}* __restrict__ {n}" for n, t in spec["ins"]]
    ptrs += [f"{ct(t)}* __restrict__ {n}" for n, t in spec["outs"]]
    body = "\n".join("    " + ln for ln in spec["body"].splitlines())
    types = [ct(t) for _, t in spec["ins"] + spec["outs"]]
    return (f'{_float16_prelude(types)}extern "C" __global__ void {spec["name"]}('
            f'{", ".join(ptrs)}, long long n) {{\n'
            "    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n"
            f"    if (i >= n) return;\n{body}\n}}\n")
