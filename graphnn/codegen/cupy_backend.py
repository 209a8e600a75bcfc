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

from typing import Any

from graphnn.codegen.emit import Emitter, c_ident, fill
from graphnn.codegen.fuse import Group
from graphnn.core.errors import GraphError, describe
from graphnn.core.ir import Node
from graphnn.core.op import Unsupported

CTYPES = {"float16": "half", "float32": "float", "float64": "double", "int32": "int",
          "int64": "long long", "bool": "bool"}

def ctype(n: Node) -> str:
    try:
        return CTYPES[n.dtype.name]
    except KeyError:
        raise GraphError(f"no CUDA type for dtype {n.dtype} of {describe(n)}", node=n) from None


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

    def emit_group(self, em: Emitter, g: Group) -> list[str]:
        r = g.root
        if not g.fused:
            return [f"{em.var(r)} = {em.expr(r, g)}"]
        ext = g.external_inputs()
        taken: set[str] = set()
        cname = {i.id: c_ident(i.name, taken) for i in ext}
        out = c_ident(r.name, taken)
        lines = []
        for m in g.nodes:
            args = [cname[i.id] for i in m.inputs]
            code = c_expr(m, args)
            if m is r:
                lines.append(f"{out} = {code};")
            else:
                cname[m.id] = c_ident(m.name, taken)
                lines.append(f"{ctype(m)} {cname[m.id]} = {code};")
        body = "\n".join(lines) + "\n"
        kname = em.fresh(f"_k_{r.name}"[:48])
        em.globals.add(kname)
        params = [(ctype(i), i.dtype.name, cname[i.id]) for i in ext]
        spec = {"name": f"graphnn_{kname.lstrip('_')}", "var": kname, "params": params,
                "out": (ctype(r), r.dtype.name, out), "body": body,
                "inputs": [i.name for i in ext], "root": r.name}
        self.kernels.append(spec)
        in_decl = ", ".join(f"{dt} {nm}" for _, dt, nm in params)
        em.prelude.append(
            f"{kname} = xp.ElementwiseKernel(\n    {in_decl!r},\n    {r.dtype.name + ' ' + out!r},"
            f"\n    {body!r},\n    {spec['name']!r})")
        return [f"{em.var(r)} = {kname}({', '.join(em.var(i) for i in ext)})"]

    def emit_update(self, em: Emitter, rule: Any, upd: str, ws: list[str], gs: list[str],
                    loss: str, dtypes: list[Any], loss_dtype: Any) -> list[str]:
        """The fused optimizer update: one ElementwiseKernel per param dtype, the param and
        its state buffers in-out arguments, the scalars inputs (Python floats, or 0-d
        device arrays when the step is replayed as a CUDA graph), guarded on the device
        by ``isfinite(loss)`` (no host sync)."""
        kernels: dict[str, str] = {}
        ns = len(rule.scalars)
        lines = [f"if {upd} is not None:  # the optimizer's update, in place on the device"]
        for k, (w, g, dt) in enumerate(zip(ws, gs, dtypes)):
            kname = kernels.get(dt.name)
            if kname is None:
                kname = kernels[dt.name] = self._update_kernel(em, rule, dt, loss_dtype)
            lines.append(f"    {kname}({g}, {loss}, *{upd}[{k}][:{ns}], {w}, "
                         f"*{upd}[{k}][{ns}:])")
        return lines

    def _update_kernel(self, em: Emitter, rule: Any, dt: Any, loss_dtype: Any) -> str:
        kname = em.fresh(f"_k_update_{rule.name}_{dt.name}")
        em.globals.add(kname)
        ct = CTYPES[dt.name]
        ins = [("g", dt.name), ("L", loss_dtype.name)] + [(n, dt.name) for n in rule.scalars]
        outs = [("w", dt.name)] + [(n, dt.name) for n in rule.state]
        body = ("if (isfinite(L)) {\n" + "".join(f"    {ln}\n" for ln in rule.c_lines(ct))
                + "}\n")
        spec = {"name": f"graphnn_update_{rule.name}_{dt.name}", "var": kname, "ins": ins,
                "outs": outs, "body": body, "ctype": ct}
        self.update_kernels.append(spec)
        in_decl = ", ".join(f"{t} {n}" for n, t in ins)
        out_decl = ", ".join(f"{t} {n}" for n, t in outs)
        em.prelude.append(f"{kname} = xp.ElementwiseKernel(\n    {in_decl!r},\n    "
                          f"{out_decl!r},\n    {body!r},\n    {spec['name']!r})")
        return kname


def cuda_source(spec: dict[str, Any]) -> str:
    """A standalone CUDA translation unit equivalent to one generated ElementwiseKernel
    (used to check the generated C with ``nvcc -ptx`` where there is no GPU)."""
    ptrs = [f"const {ct}* __restrict__ p_{nm}" for ct, _, nm in spec["params"]]
    oct_, _, onm = spec["out"]
    loads = [f"    const {ct} {nm} = p_{nm}[i];" for ct, _, nm in spec["params"]]
    body = "\n".join("    " + ln for ln in spec["body"].splitlines())
    return (f'extern "C" __global__ void {spec["name"]}({", ".join(ptrs + [f"{oct_}* p_{onm}"])}'
            f", long long n) {{\n    long long i = blockIdx.x * (long long)blockDim.x + "
            f"threadIdx.x;\n    if (i >= n) return;\n" + "\n".join(loads)
            + f"\n    {oct_} {onm};\n{body}\n    p_{onm}[i] = {onm};\n}}\n")


def update_cuda_source(spec: dict[str, Any]) -> str:
    """A standalone CUDA translation unit equivalent to one fused optimizer update kernel
    (``CupyBackend.update_kernels``; the in-out arguments are read and written back)."""
    def ct(t: str) -> str:
        return CTYPES[t]

    ptrs = [f"const {ct(t)}* __restrict__ p_{n}" for n, t in spec["ins"]]
    ptrs += [f"{ct(t)}* __restrict__ p_{n}" for n, t in spec["outs"]]
    loads = [f"    const {ct(t)} {n} = p_{n}[{'0' if n != 'g' else 'i'}];"
             for n, t in spec["ins"]]
    loads += [f"    {ct(t)} {n} = p_{n}[i];" for n, t in spec["outs"]]
    stores = [f"    p_{n}[i] = {n};" for n, _ in spec["outs"]]
    body = "\n".join("    " + ln for ln in spec["body"].splitlines())
    return (f'extern "C" __global__ void {spec["name"]}({", ".join(ptrs)}, long long n) {{\n'
            "    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n"
            "    if (i >= n) return;\n" + "\n".join(loads) + f"\n{body}\n"
            + "\n".join(stores) + "\n}\n")
