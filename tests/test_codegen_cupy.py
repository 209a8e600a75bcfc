"""CuPy backend without a GPU: the generated module is valid Python, and every generated
CUDA kernel compiles with ``nvcc -ptx`` (skipped with a reason when nvcc is absent).
Running the module needs CuPy and a GPU (see bench/codegen.py's CuPy rows)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.codegen.cupy_backend import c_expr, cuda_source
from tests.test_codegen import EXAMPLES, random_graph

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not installed on this machine")


def nvcc_ptx(kernels: list[dict[str, Any]], tmp_path: Any, name: str) -> None:
    src = "\n".join(cuda_source(k) for k in kernels)
    cu = tmp_path / f"{name}.cu"
    cu.write_text(src)
    proc = subprocess.run([NVCC, "-ptx", "-arch=compute_80", str(cu), "-o",
                           str(tmp_path / f"{name}.ptx")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr + "\n" + src
    ptx = (tmp_path / f"{name}.ptx").read_text()
    for k in kernels:
        assert k["name"] in ptx


def cupy_compile(g: gn.Graph, outs: list[Any], wrt: list[Any], **kw: Any) -> Any:
    f = gn.compile(g, outputs=outs, wrt=wrt, backend="cupy", **kw)
    compile(f.source, "<cupy module>", "exec")
    assert "import cupy as xp" in f.source and "import graphnn" not in f.source
    return f


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_cupy_source_compiles(example: str) -> None:
    g, feeds, outs, wrt = EXAMPLES[example]()
    f = cupy_compile(g, outs, wrt)
    for k in f.kernels:
        assert f"{k['var']} = xp.ElementwiseKernel(" in f.source
        assert f"{k['var']}(" in f.body


def test_cupy_float32_kernels_use_float() -> None:
    from tests.test_codegen import mlp

    g, _, outs, wrt = mlp("float32")
    f = cupy_compile(g, outs, wrt)
    assert f.kernels and all("double" not in k["body"] for k in f.kernels)
    assert all(k["out"][0] == "float" for k in f.kernels)
    # scalar constants are declared with the array dtype
    assert "np.float32(" in f.source and "np.float64(" not in f.source


def test_sympy_ccode_fallback() -> None:
    sin = gn.Op(name="sin_cg", forward=lambda xp, a: xp.sin(a), shape=lambda s: s,
                sympy=lambda sp, a: sp.sin(a), numpy="xp.sin({0})", elementwise=True)
    with gn.Graph():
        x = gn.input("x", shape=(3,))
        y = gn.bind(sin, x * 2.0)
    assert c_expr(y, ["v_a"]) == "(sin(v_a))"
    with pytest.raises(gn.GraphError, match="neither a CUDA template"):
        c_expr(gn.bind(gn.Op(name="nof_cg", forward=lambda xp, a: a, shape=lambda s: s,
                                 elementwise=True), x), ["a"])


@needs_nvcc
@pytest.mark.parametrize("example", sorted(set(EXAMPLES) - {"lecture"}))  # lecture: no fusion
def test_nvcc_compiles_example_kernels(example: str, tmp_path: Any) -> None:
    g, feeds, outs, wrt = EXAMPLES[example]()
    f = cupy_compile(g, outs, wrt)
    assert f.kernels, "examples have fused groups"
    nvcc_ptx(f.kernels, tmp_path, example)


@needs_nvcc
def test_nvcc_compiles_random_and_float32_kernels(tmp_path: Any) -> None:
    from tests.test_codegen import mlp

    kernels = []
    for seed in range(6):
        g, _, loss, wrt = random_graph(seed)
        kernels += cupy_compile(g, [loss], wrt).kernels
    g, _, outs, wrt = mlp("float32")
    kernels += cupy_compile(g, outs, wrt).kernels
    # kernel names are unique per module; rename across modules for one translation unit
    for k, spec in enumerate(kernels):
        spec["name"] = f"{spec['name']}_{k}"
    with gn.Graph() as g2:
        x = gn.input("x", shape=(8,), dtype="float32")
        y = gn.elu(gn.leaky_relu(gn.sigmoid(x) * gn.tanh(x), 0.2)) + gn.sign(x) + gn.abs(x)
        z = gn.prelu(y, gn.const(np.float32(0.1))) ** 2.5 + gn.sqrt(gn.abs(x))
        out = (gn.maximum(z, x) - gn.minimum(z, 0.5) + gn.ge(z, x) + gn.eq(z, x)).named("out")
    kernels += cupy_compile(g2, [out], []).kernels
    nvcc_ptx(kernels, tmp_path, "many")


def test_cupy_module_refuses_to_run_without_gpu() -> None:
    g, feeds, outs, wrt = EXAMPLES["lecture"]()
    f = cupy_compile(g, outs, wrt)
    if f.function is None:
        with pytest.raises(gn.DeviceError,
                           match="needs CuPy and a CUDA GPU.*(not installed|no CUDA GPU)"):
            f(feeds)


# -- the kernels' C computes what the graph computes (run on the CPU through g++) ----------
GXX = shutil.which("g++")
DTYPES = {"float": np.float32, "double": np.float64}


def host_source(spec: dict[str, Any]) -> str:
    """The kernel body in a plain C++ loop (same expressions, host math library)."""
    args = [f"const {ct}* p_{nm}" for ct, _, nm in spec["params"]]
    oct_, _, onm = spec["out"]
    loads = "".join(f"        const {ct} {nm} = p_{nm}[i];\n" for ct, _, nm in spec["params"])
    body = "".join("        " + ln + "\n" for ln in spec["body"].splitlines())
    return (f'extern "C" void {spec["name"]}({", ".join(args + [f"{oct_}* p_{onm}"])}, '
            f"long long n) {{\n    for (long long i = 0; i < n; ++i) {{\n{loads}"
            f"        {oct_} {onm};\n{body}        p_{onm}[i] = {onm};\n    }}\n}}\n")


def run_kernels_on_host(f: Any, feeds: dict[str, Any], tmp_path: Any, rtol: float) -> int:
    import ctypes

    src = "#include <cmath>\nusing namespace std;\n" + "\n".join(host_source(k)
                                                                   for k in f.kernels)
    cpp, lib = tmp_path / "kernels.cpp", tmp_path / "kernels.so"
    cpp.write_text(src)
    proc = subprocess.run([GXX, "-O1", "-shared", "-fPIC", str(cpp), "-o", str(lib)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + src
    so = ctypes.CDLL(str(lib))
    names = [n.name for n in f.graph.nodes]
    r = gn.run(f.graph, {k: v for k, v in feeds.items() if k in f.graph}, outputs=names)
    for k in f.kernels:
        root = f.graph[k["root"]]
        ins = [np.ascontiguousarray(np.broadcast_to(np.asarray(r.value(nm), dtype=DTYPES[ct]),
                                                    root.shape))
               for nm, (ct, _, _) in zip(k["inputs"], k["params"])]
        out = np.empty(root.shape, dtype=DTYPES[k["out"][0]])
        fn = getattr(so, k["name"])
        fn.restype = None
        fn(*[a.ctypes.data_as(ctypes.c_void_p) for a in ins],
           out.ctypes.data_as(ctypes.c_void_p), ctypes.c_longlong(out.size))
        np.testing.assert_allclose(out, r.value(root), rtol=rtol, atol=rtol * 1e-3,
                                   err_msg=f"kernel {k['name']}:\n{k['body']}")
    return len(f.kernels)


@pytest.mark.skipif(GXX is None, reason="g++ is not installed on this machine")
def test_kernel_c_matches_graph_values(tmp_path: Any) -> None:
    from tests.test_codegen import mlp

    count = 0
    cases = [EXAMPLES[e]() for e in ("mlp", "activations", "neuron")]
    cases += [random_graph(s) for s in range(8)]
    cases.append(mlp("float32"))
    for k, case in enumerate(cases):
        g, feeds, outs, wrt = case
        outs = outs if isinstance(outs, list) else [outs]
        f = cupy_compile(g, outs, wrt)
        sub = tmp_path / f"c{k}"
        sub.mkdir()
        count += run_kernels_on_host(f, feeds, sub, 1e-5 if "float32" in f.source else 1e-10)
    assert count > 10


@needs_nvcc
def test_float16_kernels_compile_with_nvcc(tmp_path: Any) -> None:
    """float16 kernels compute in float through CuPy's float16 class (its equivalent is in
    the standalone source): ternaries (relu, hardtanh) mix it with numbers unambiguously."""
    with gn.Graph() as g:
        x = g.input("x", (8,), "float16")
        w = gn.param("w", np.ones(8, np.float16))
        h = x * w
        gn.sum(gn.relu(h) + gn.hardtanh(h) + gn.elu(h) * gn.tanh(h)).named("loss")
    f = cupy_compile(g, ["loss"], [w])
    assert f.kernels and any("float16" in k["body"] for k in f.kernels)
    nvcc_ptx(f.kernels, tmp_path, "f16")
    # a float16 member (exp of int8) between other types: CuPy includes its float16
    # class only for float16 arguments, so the kernel asks for it in its preamble
    with gn.Graph() as g:
        k = g.input("k", (8,), "int8")
        y = (gn.cast(gn.exp(k), "float32") + 1.0).named("y")
    f = cupy_compile(g, [y], [])
    (spec,) = f.kernels
    assert "float16" in spec["body"] and spec.get("preamble") == "#include <cupy/float16.cuh>\n"
    assert "preamble='#include <cupy/float16.cuh>\\n'" in f.source
    nvcc_ptx(f.kernels, tmp_path, "f16_member")
