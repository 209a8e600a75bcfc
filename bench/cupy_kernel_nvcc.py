"""Compile the ops' own GPU kernels (``Op.gpu``: pooling, im2col / col2im, cross-entropy,
(log-)softmax) exactly as CuPy generates them, with nvcc, on a machine without a GPU.

CuPy's ``ElementwiseKernel`` wraps an operation in a ``__global__`` function whose raw
parameters are ``CArray``s, whose placeholder types are typedefs (``float16`` is CuPy's
own class, with no arithmetic operators of its own) and whose other arrays are read
through an indexer. ``tests/test_gpu_kernels.py`` compiles the kernels' C with nvcc in a
plain wrapper (and runs it on the host with g++); this script asks CuPy itself for the
source (``cupy._core._kernel._get_elementwise_kernel_code``, which needs no GPU) for
float16, float32 and float64 (and integer inputs of the average pool) and compiles each
with ``nvcc -ptx -arch=compute_80`` against CuPy's headers.

Needs an importable CuPy (``pip install cupy-cuda12x`` works without a GPU) and nvcc:

    python3 -m venv /tmp/cupyenv && /tmp/cupyenv/bin/pip install numpy cupy-cuda12x
    PYTHONPATH=. /tmp/cupyenv/bin/python bench/cupy_kernel_nvcc.py

It also compiles graphnn's fused elementwise kernels (an activation chain, fourteen
activations with their gradients, uint8 / int8 / int64 / bool operands of float nodes)
and the fused optimizer updates (``CupyBackend.update_kernels``: one multi-tensor
kernel per run of params, every argument raw) of SGD, Adam, Adagrad and RMSprop, for
float16, float32 and float64.

Then it sweeps every elementwise op's cases (tests/op_cases.py), fused with an op after
it and with its gradient, in float16, float32, float64 and int64, and compiles every
fused kernel of those modules in batches.

Result on the developer machine (2026-12-07, CuPy 14.2.0, nvcc 13.0): 40 of 40 op kernels
compile (unused-variable warnings only); with 27 fused kernels (integer operands of
float nodes included) and 15 updates, 82 of 82; the sweep: 540 of 540 (before the
backend kept integer abs / floor / ceil / trunc out of kernels, 4 failed: CUDA has
``fabs``, ``floor``... for floating-point arguments only).
Before float16 went through CuPy's ``float16`` class, the float16 fused kernels and
updates did not compile (CUDA's ``half`` does not convert to or from it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ARRAYS = {"x": 4, "v": 4, "gy": 4, "y": 4, "dx": 4, "z": 2, "t": 1, "w": 1, "per": 1,
          "wk": 1, "bad": 1, "m": 2, "col": 1, "a": 2}  # raw arrays' ranks (the others are 1-D)


class Recorder:
    """An ``xp`` whose ElementwiseKernel keeps its arguments."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.kernels: list[tuple[str, str, str, str, str]] = []

    def ElementwiseKernel(self, ins: str, outs: str, body: str, name: str,  # noqa: N802
                          preamble: str = "") -> None:
        self.kernels.append((ins, outs, body, name, preamble))


def cupy_source(kern: Any, ins: str, outs: str, body: str, name: str, preamble: str,
                types: dict[str, Any], ranks: dict[str, int] | None = None) -> str:
    """CuPy's kernel source for these parameters with these placeholder types (``ranks``:
    the arrays and the ranks of the raw ones; default :data:`ARRAYS`)."""
    ranks = ARRAYS if ranks is None else ranks
    import cupy
    from cupy._core import _carray, _scalar

    pin, pout = kern._get_param_info(ins, True), kern._get_param_info(outs, False)
    params = pin + pout + (kern.ParameterInfo("CIndexer _ind", False),)
    infos = []
    for p in pin + pout:
        dt = p.dtype if p.dtype is not None else types[p.ctype]
        if p.name in ranks:  # ndarray (1), scalar (3), indexer (2): CuPy's _ArgKind
            infos.append(kern._ArgInfo(1, cupy.ndarray, dt, ranks[p.name] if p.raw else 1,
                                       True, True))
        else:
            infos.append(kern._ArgInfo(3, _scalar.CScalar, dt, 0, True, True))
    infos.append(kern._ArgInfo(2, _carray.Indexer, None, 1, True, True))
    tmap = kern._TypeMap(tuple(types.items()))
    return kern._get_elementwise_kernel_code(tuple(infos), tmap, params, body, name,
                                             preamble)


def fused_units(kern: Any) -> list[tuple[str, str]]:
    """graphnn's fused elementwise kernels (``CompiledGraph.kernels``) of the compiled
    examples (values and gradients) and of every activation, in float16, float32 and
    float64, as CuPy generates them."""
    import graphnn as gn

    units = []
    for dt in ("float16", "float32", "float64"):
        graphs = []
        with gn.Graph("chain") as g:
            x = gn.input("x", (8,), dt)
            (gn.sigmoid(1.3 * x - 0.2) * gn.tanh(x) + gn.exp(-x * x)).named("y")
        graphs.append((g, ["y"], []))
        with gn.Graph("acts") as g:
            x = gn.input("x", (8,), dt)
            w = gn.param("w", np.ones(8, dt))
            h = x * w
            acts = [gn.relu, gn.sigmoid, gn.tanh, gn.elu, gn.leaky_relu, gn.gelu, gn.silu,
                    gn.softplus, gn.mish, gn.hardtanh, gn.selu, gn.log, gn.sqrt, gn.abs]
            gn.sum(sum((a(h) for a in acts[1:]), acts[0](h))).named("loss")
        graphs.append((g, ["loss"], [w]))
        for idt in ("uint8", "int8", "int64", "bool"):  # integer operands of float nodes
            with gn.Graph("ints") as g:
                k = gn.input("k", (8,), idt)
                s = gn.sigmoid(k) if idt != "bool" else k  # (-bool: NumPy refuses it)
                (gn.cast(k, dt) / 255.0 + gn.exp(k) * s - k / 3).named("y")
            graphs.append((g, ["y"], []))
        for g, outs, wrt in graphs:
            f = gn.compile(g, outs, wrt=wrt, backend="cupy")
            units += [(f"{spec['name']} {dt}", fused_source(kern, spec, spec["name"]))
                      for spec in f.kernels]
    return units


def fused_source(kern: Any, spec: dict[str, Any], name: str) -> str:
    """CuPy's source of one of graphnn's fused kernels (a ``CompiledGraph.kernels`` spec),
    named ``name``."""
    ins = ", ".join(f"{t} {n}" for _, t, n in spec["params"])
    _, ot, on = spec["out"]
    ranks = {n: 1 for _, _, n in spec["params"]} | {on: 1}
    return cupy_source(kern, ins, f"{ot} {on}", spec["body"], name,
                       spec.get("preamble", ""), {}, ranks)


def case_units(kern: Any) -> list[tuple[str, str]]:
    """Every elementwise op of the registry on its first two cases of tests/op_cases.py,
    with a multiply after it (and, for floats, a squared-sum loss and its gradient), in
    float16, float32, float64 and int64: every fused kernel those modules hold, named
    ``sweep_<k>`` (so that they compile together in batches)."""
    import warnings

    import graphnn as gn
    from tests.op_cases import CASES

    units = []
    warnings.simplefilter("ignore")
    for dt in ("float16", "float32", "float64", "int64"):
        for name in sorted(n for n, op in gn.REGISTRY.items() if op.elementwise and not op.leaf):
            for ci, case in enumerate(CASES.get(name, [])[:2]):
                ins = [v.astype(dt) if v.dtype.kind == "f" else v for v in case.inputs]
                try:
                    with gn.Graph() as g:
                        xs = [g.input(f"x{i}", v.shape, v.dtype) for i, v in enumerate(ins)]
                        y = gn.bind(gn.REGISTRY[name], *xs, **case.params) * 1.5
                        wrt = [x for x in xs if x.dtype.kind == "f"]
                        loss = gn.sum(y * y) if wrt and y.dtype.kind == "f" else None
                    f = gn.compile(g, [y if loss is None else loss], backend="cupy",
                                   wrt=wrt if loss is not None else None)
                except gn.GraphError:
                    continue  # the op refuses these inputs
                for spec in f.kernels:
                    units.append((f"{name}[{ci}] {dt} {spec['name']}",
                                  fused_source(kern, spec, f"sweep_{len(units)}")))
    return units


def compile_batches(nvcc: str, inc: str, units: list[tuple[str, str]], tmp: str,
                    size: int = 40) -> list[str]:
    """Compile ``units`` (uniquely named kernels) ``size`` to a file; the labels of those
    that fail (a failing batch is compiled again kernel by kernel)."""
    head = "#include <cupy/complex.cuh>\n#include <cupy/carray.cuh>\n"

    def ok(text: str, path: str) -> bool:
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([nvcc, "-ptx", "-arch=compute_80", "-std=c++17", f"-I{inc}",
                               path, "-o", path + ".ptx"], capture_output=True, text=True,
                              timeout=600)
        if proc.returncode:
            print("\n".join(ln for ln in proc.stderr.splitlines() if "error" in ln)[:1500])
        return proc.returncode == 0

    failed = []
    for b in range(0, len(units), size):
        batch = units[b:b + size]
        path = os.path.join(tmp, f"batch{b}.cu")
        if ok(head + "#include <cupy/float16.cuh>\n" + "\n".join(s for _, s in batch), path):
            continue
        for label, src in batch:
            if not ok(head + src, os.path.join(tmp, "one.cu")):
                failed.append(label)
                print(f"FAIL {label}")
    return failed


def update_units(kern: Any) -> list[tuple[str, str]]:
    """The fused optimizer updates (multi-tensor kernels over 0-d, 1-D and 2-D params) of
    every optimizer with a rule, for float16, float32 and float64 params, as CuPy
    generates them."""
    import graphnn as gn

    optimizers = [gn.optim.SGD(lr=0.1), gn.optim.SGD(lr=0.1, momentum=0.9, nesterov=True,
                                                      weight_decay=0.01),
                  gn.optim.Adam(weight_decay=0.1), gn.optim.Adagrad(),
                  gn.optim.RMSprop(momentum=0.5, weight_decay=0.01)]
    units = []
    for dt in ("float16", "float32", "float64"):
        with gn.Graph("upd") as g:
            x = gn.input("x", (2, 3), dt)
            w, b = gn.param("w", np.ones((3, 3), dt)), gn.param("b", np.zeros(3, dt))
            s = gn.param("s", np.array(1.0, dt))
            gn.sum((x @ w + b) * s).named("loss")
        for opt in optimizers:
            f = gn.compile(g, ["loss"], wrt=[w, b, s], backend="cupy", optimizer=opt)
            for spec in f.update_kernels:
                ranks = {n: g.node(p).ndim for k, p in enumerate(spec["params"])
                         for n, _ in spec["ins"] + spec["outs"] if n.endswith(f"_{k}")}
                ranks.update({"_L": 0, "_sc": 2})
                ins = ", ".join(f"raw {t} {n}" for n, t in spec["ins"])
                outs = ", ".join(f"raw {t} {n}" for n, t in spec["outs"])
                units.append((f"{spec['name']} {dt}",
                              cupy_source(kern, ins, outs, spec["body"], spec["name"], "",
                                          {}, ranks)))
    return units


def main() -> int:
    try:
        import cupy
        import cupy._core._kernel as kern
    except ImportError as e:
        print(f"needs an importable CuPy (pip install cupy-cuda12x): {e}")
        return 2
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        print("needs nvcc")
        return 2
    from graphnn.ops import activations, conv, losses, pool

    rec = Recorder()
    for kind in ("max", "index", "select", "max_grad", "avg", "avg_grad"):
        pool._pool_cuda(rec, kind)
    for kind in ("im2col", "col2im"):
        conv._conv_cuda(rec, kind)
    for acc in ("float", "double"):
        for kind in ("ce", "soft"):
            losses._class_cuda(rec, kind, acc)
        for log in (False, True):
            activations._softmax_cuda(rec, log, acc)
    losses._class_cuda(rec, "mask")
    units = []
    for ft in (np.float16, np.float32, np.float64):
        for ins, outs, body, name, pre in rec.kernels:
            if "typedef" in body and (ft == np.float64) != ("typedef double A" in body):
                continue  # the accumulator follows the dtype
            types = {"T": ft, "U": ft, "I": np.int64, "W": ft}
            units.append((f"{name} {np.dtype(ft).name}",
                          cupy_source(kern, ins, outs, body, name, pre, types)))
    ins, outs, body, name, pre = rec.kernels[4]  # average pool of integers: float64
    units.append((f"{name} int64->float64",
                  cupy_source(kern, ins, outs, body, name, pre,
                              {"T": np.int64, "U": np.float64})))
    units += fused_units(kern) + update_units(kern)
    inc = os.path.join(os.path.dirname(cupy.__file__), "_core", "include")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k, (label, src) in enumerate(units):
            cu = os.path.join(tmp, f"k{k}.cu")
            with open(cu, "w") as f:
                f.write("#include <cupy/complex.cuh>\n#include <cupy/carray.cuh>\n" + src)
            proc = subprocess.run([nvcc, "-ptx", "-arch=compute_80", "-std=c++17",
                                   f"-I{inc}", cu, "-o", cu + ".ptx"],
                                  capture_output=True, text=True, timeout=300)
            if proc.returncode:
                failed += 1
                print(f"FAIL {label}\n{proc.stderr[-2000:]}")
    print(f"{len(units) - failed} of {len(units)} kernels compile (CuPy {cupy.__version__})")
    sweep = case_units(kern)
    with tempfile.TemporaryDirectory() as tmp:
        bad = compile_batches(nvcc, inc, sweep, tmp)
    print(f"every op case fused: {len(sweep) - len(bad)} of {len(sweep)} kernels compile")
    return 1 if failed or bad else 0


if __name__ == "__main__":
    sys.exit(main())
