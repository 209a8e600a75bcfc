"""Whole generated CuPy modules run on the CPU through the stand-in ``cupy``
(tests/cupy_standin.py: a distinct device array type, CuPy's argument rules, kernels
compiled on the host with g++) and match the interpreter: examples, random graphs and
(in test_support_matrix.py) every op of the registry."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.core.op import Unsupported
from tests.cupy_standin import installed
from tests.test_codegen import EXAMPLES, lenet, mlp, random_graph

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None,
                               reason="g++ is not installed: the CuPy stand-in compiles "
                                      "kernels on the host with it")


def _names(refs: list[Any]) -> list[str]:
    return [r if isinstance(r, str) else r.name for r in refs]


def run_standin(g: gn.Graph, feeds: dict[str, Any], outputs: list[Any],
                wrt: list[Any] | None = None, loss: Any = None,
                **kw: Any) -> tuple[Any, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Compile ``g`` for CuPy and run the whole module on the stand-in, twice: through
    ``CompiledGraph.__call__`` and through the saved module's ``run``. Every result must
    be a device array and both runs must agree; returns (f, values, grads) on the host."""
    with installed() as cp:
        f = gn.compile(g, outputs=outputs, wrt=wrt, loss=loss, backend="cupy", verify=True,
                       **kw)
        assert f.function is not None, "the stand-in counts as a GPU"
        r = f(feeds)
        ns: dict[str, Any] = {"__name__": "saved_cupy_module"}
        exec(compile(f.module_source(), "<saved cupy module>", "exec"), ns)  # noqa: S102
        values, grads = ns["run"]({k: np.asarray(v) for k, v in feeds.items()
                                   if k in f.arg_names})
        for kind, got, saved in (("value", r.values, values), ("grad", r.grads, grads)):
            for k, v in got.items():
                assert isinstance(v, cp.ndarray), f"{kind} {k} is a {type(v)}, not on the device"
                assert isinstance(saved[k], cp.ndarray), f"saved module: {kind} {k}"
                np.testing.assert_array_equal(cp.asnumpy(saved[k]), cp.asnumpy(v))
        return (f, {k: cp.asnumpy(v) for k, v in r.values.items()},
                {k: cp.asnumpy(v) for k, v in r.grads.items()})


def check_cupy(g: gn.Graph, feeds: dict[str, Any], outputs: list[Any],
               wrt: list[Any] | None = None, loss: Any = None, rtol: float = 1e-10,
               atol: float = 1e-13, **kw: Any) -> Any:
    """The CuPy module's values and gradients (dtype, shape, numbers) == gn.run's."""
    f, values, grads = run_standin(g, feeds, outputs, wrt, loss, **kw)
    ref = gn.run(g, feeds, outputs=outputs, wrt=wrt or None, loss=loss)
    for name, o in zip(_names(outputs), outputs):
        want = np.asarray(ref.value(o))
        np.testing.assert_allclose(values[name], want, rtol=rtol, atol=atol, err_msg=name)
        assert values[name].dtype == want.dtype and values[name].shape == want.shape, name
    for name, w in zip(_names(wrt or []), wrt or []):
        want = np.asarray(ref.grad(w))
        np.testing.assert_allclose(grads[name], want, rtol=rtol, atol=atol,
                                   err_msg=f"grad {name}")
        assert grads[name].shape == want.shape, name
    return f


@needs_gxx
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_examples_run_on_the_standin(example: str) -> None:
    g, feeds, outs, wrt = EXAMPLES[example]()
    check_cupy(g, feeds, outs, wrt)


@needs_gxx
@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_run_on_the_standin(seed: int) -> None:
    g, feeds, loss, wrt = random_graph(seed)
    check_cupy(g, feeds, [loss], wrt)


@needs_gxx
@pytest.mark.parametrize("cfg", [{"optimize": False}, {"passes": ["fold"]},
                                 {"passes": ["simplify"], "fuse_elementwise": True}],
                         ids=["none", "only-fold", "fused-simplify"])
def test_unoptimized_modules_run_on_the_standin(cfg: dict[str, Any]) -> None:
    for make in (EXAMPLES["activations"], lambda: random_graph(0)):
        g, feeds, outs, wrt = make()
        check_cupy(g, feeds, outs if isinstance(outs, list) else [outs], wrt, **cfg)


@needs_gxx
def test_float32_and_lenet_run_on_the_standin() -> None:
    g, feeds, outs, wrt = mlp("float32", batch=16)
    f = check_cupy(g, feeds, outs, wrt, rtol=2e-5, atol=1e-6)
    assert f.kernels and "float64" not in f.body
    g, feeds, outs, wrt = lenet()
    check_cupy(g, feeds, outs, wrt)


# -- every op of the registry, every case of tests/op_cases.py ---------------------------
OPS = sorted(n for n, op in gn.REGISTRY.items() if not op.leaf)


def check_op_cupy(name: str, case: Any, fused: bool, dtype: str = "float64") -> Any:
    """One op on one case: alone, with gradients (its NumPy template with xp = cupy; the
    gradient's fused groups as kernels), or ``fused`` with a multiply after it and no
    gradient (an elementwise op then runs as C inside the kernel)."""
    op = gn.REGISTRY[name]
    inputs = [v.astype(dtype) if v.dtype.kind == "f" else v for v in case.inputs]
    g = gn.Graph(f"cupy_{name}")
    ins = [g.input(f"x{i}", v.shape, v.dtype) for i, v in enumerate(inputs)]
    with g:  # ops without inputs (creation ops) build in the active graph
        out = gn.bind(op, *ins, **case.params).named("out")
    if fused and out.dtype.kind == "f":
        out = (out * 1.5).named("out2")
    wrt = [x for i, x in enumerate(ins) if i not in op.nondiff and inputs[i].dtype.kind == "f"
           and not case.nondiff and (case.diff_inputs is None or i in case.diff_inputs)
           and not fused]
    loss = (gn.sum(out) * 1.0).named("loss") if wrt and out.dtype.kind == "f" else None
    feeds = {f"x{i}": v for i, v in enumerate(inputs)}
    # float16: the kernel rounds every op to float16 as NumPy does, but computes each in
    # float where NumPy's float16 math may go through float32 or float64: 2 ulps
    tol = {"float64": 1e-9, "float32": 2e-5, "float16": 2e-3}[dtype]
    f = check_cupy(g, feeds, [out, loss] if loss is not None else [out],
                   wrt if loss is not None else None, loss=loss, rtol=tol,
                   atol=tol * (1.0 if dtype == "float16" else 1e-3))
    if fused and op.elementwise and out.dtype.kind == "f" and not isinstance(op.cuda, Unsupported):
        assert any(k["root"] == "out2" for k in f.kernels), f.source
    return f


@needs_gxx
@pytest.mark.parametrize("name", OPS)
def test_every_op_case_runs_on_the_standin(name: str) -> None:
    from tests.op_cases import CASES

    for case in CASES[name]:
        for fused in (False, True):
            check_op_cupy(name, case, fused)
    if gn.REGISTRY[name].elementwise:
        check_op_cupy(name, CASES[name][0], True, "float32")
        # float16 kernels: CuPy's float16 class (the stand-in has its semantics)
        check_op_cupy(name, CASES[name][0], True, "float16")



ELEMENTWISE = sorted(n for n, op in gn.REGISTRY.items() if op.elementwise and not op.leaf)


@needs_gxx
@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", ["int64", "int8", "bool"])
def test_integer_inputs_compute_as_numpy_does(name: str, dtype: str) -> None:
    """An elementwise op on integer or bool inputs: its node has the dtype of the value
    the interpreter computes (exp, division, sigmoid... give floats, as NumPy's loops do),
    and fused into a CuPy kernel with a float op after it, the kernel (which converts its
    integer operands) computes the same numbers. Not where the interpreter refuses the
    inputs (integers to negative integer powers)."""
    from tests.op_cases import CASES

    op = gn.REGISTRY[name]
    case = CASES[name][0]
    feeds = {f"x{i}": v.astype(dtype) if v.dtype.kind == "f" else v
             for i, v in enumerate(case.inputs)}
    with gn.Graph(f"int_{name}") as g:
        out = gn.bind(op, *[g.input(k, v.shape, v.dtype) for k, v in feeds.items()],
                      **case.params)
        y = (out * 1.5).named("y")
    try:
        with np.errstate(all="ignore"):
            ref = gn.run(g, feeds, outputs=[out, y])
    except gn.GraphError:
        pytest.skip(f"the interpreter refuses {dtype} inputs of {name}")
    assert np.asarray(ref.value(out)).dtype == out.dtype, (out.dtype, ref.value(out).dtype)
    with np.errstate(all="ignore"):
        f, values, _ = run_standin(g, feeds, [y])
    from graphnn.codegen.cupy_backend import CupyBackend

    if not isinstance(op.cuda, Unsupported) and CupyBackend.fuses(out):
        assert any(k["root"] == "y" for k in f.kernels), f.source
    # NumPy computes 8-bit and bool inputs through float16 loops (exp of int8 is float16),
    # the kernel in float or double: float16's 2 ulps, as above
    tol = 2e-3 if dtype in ("int8", "bool") else 1e-6
    np.testing.assert_allclose(values["y"], ref.value(y), rtol=tol, atol=tol,
                               equal_nan=True, err_msg=f.source)


@needs_gxx
def test_uint8_images_into_a_float_kernel() -> None:
    """8-bit images scaled to floats (a data pipeline's first op) fuse into one kernel:
    every integer dtype has its C type (uint8 had none: the module did not compile)."""
    pixels = np.arange(48, dtype=np.uint8).reshape(3, 16) * 5
    with gn.Graph("pixels") as g:
        x = g.input("x", pixels.shape, "uint8")
        y = ((gn.cast(x, "float32") / 255.0 - 0.5) * 2.0).named("y")
    f = check_cupy(g, {"x": pixels}, [y], rtol=1e-6, atol=1e-7)
    assert [k["params"][0][:2] for k in f.kernels] == [("unsigned char", "uint8")]


@needs_gxx
def test_integer_nodes_with_float_only_c_functions_stay_out_of_kernels() -> None:
    """``abs`` / ``floor`` of int64 are ``fabs`` / ``floor`` in C, which CUDA has for
    floating-point arguments only (an integer argument reaches host-only overloads: the
    kernel did not compile): such nodes run their CuPy templates, the rest still fuses."""
    from graphnn.codegen.cupy_backend import CupyBackend

    with gn.Graph("ints") as g:
        k = g.input("k", (6,), "int64")
        a, f = gn.abs(k), gn.floor(k)
        y = (a * 2 + f).named("y")
    assert not CupyBackend.fuses(a) and not CupyBackend.fuses(f)
    assert CupyBackend.fuses(y) and CupyBackend.fuses(gn.abs(gn.cast(k, "float32")))
    fc = check_cupy(g, {"k": np.arange(-3, 3)}, [y])
    assert [k["root"] for k in fc.kernels] == ["y"]
    assert "xp.abs(k)" in fc.body and "xp.floor(k)" in fc.body
