"""The support matrix cannot drift: for every registered op and every capability, either
a working rule (exercised here numerically on the op's test cases) or an explicit
``Unsupported(reason)`` in the record. A throwaway elementwise op registered at test time
is picked up by every capability with no edit anywhere else.
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import Any

import numpy as np
import pytest

import graphnn as gn
from graphnn.core.op import unregister
from graphnn.ops.support import CAPABILITIES, capabilities, gaps
from graphnn.teach.tracefmt import local_formulas
from tests.op_cases import CASES
from tests.test_codegen_cupy_run import check_cupy

GXX = shutil.which("g++")

OPS = sorted(n for n, op in gn.REGISTRY.items() if not op.leaf)
HAS_NUMEXPR = importlib.util.find_spec("numexpr") is not None
HAS_ONNX = importlib.util.find_spec("onnx") is not None


def _case_graph(name: str, case: Any) -> tuple[gn.Graph, list[Any], Any]:
    g = gn.Graph(f"m_{name}")
    ins = [g.input(f"x{i}", v.shape, v.dtype) for i, v in enumerate(case.inputs)]
    with g:  # ops without inputs (creation ops) build in the active graph
        out = gn.bind(gn.REGISTRY[name], *ins, **case.params).named("out")
    return g, ins, out


def _feeds(case: Any) -> dict[str, np.ndarray]:
    return {f"x{i}": v for i, v in enumerate(case.inputs)}


def _wrt(op: gn.Op, case: Any, ins: list[Any]) -> list[Any]:
    return [x for i, x in enumerate(ins) if i not in op.nondiff
            and case.inputs[i].dtype.kind == "f" and not case.nondiff]


@pytest.mark.parametrize("name", sorted(gn.REGISTRY))
def test_every_capability_has_a_rule_or_a_reason(name: str) -> None:
    missing = gaps(gn.REGISTRY[name])
    assert not missing, f"op {name!r}: no rule and no Unsupported reason for {missing}"


def test_reasons_are_written_out() -> None:
    for name, op in gn.REGISTRY.items():
        for cap, s in capabilities(op).items():
            if isinstance(s, gn.Unsupported):
                assert len(s.reason) > 8, (name, cap, s)


def _check(name: str, case: Any, caps: dict[str, Any]) -> None:
    op = gn.REGISTRY[name]
    g, ins, out = _case_graph(name, case)
    feeds = _feeds(case)
    wrt = _wrt(op, case, ins)
    ok = {c for c, s in caps.items() if isinstance(s, str)}
    r = gn.run(g, feeds, outputs=[out], wrt=wrt or None, loss=gn.sum(out) if wrt else None)
    want = op.forward(np, *case.inputs, **case.params)
    np.testing.assert_allclose(r.value(out), want, rtol=1e-12)
    if "grad" in ok and wrt:
        assert all(np.all(np.isfinite(r.grad(x))) for x in wrt)
    if "jvp" in ok and wrt:
        res = gn.jvp(g, feeds, {wrt[0]: np.ones(wrt[0].shape)}, outputs=[out])
        tan = res.tangent(out) if hasattr(res, "tangent") else res[1]["out"]
        assert np.shape(tan) == out.shape and np.all(np.isfinite(tan))
    if "trace_text" in ok:
        forms = local_formulas(out)
        assert any(f is not None and f.text for f in forms) or not wrt
    if "numpy" in ok:
        f = gn.compile(g, outputs=[out])
        np.testing.assert_allclose(f(feeds).value(out), r.value(out), rtol=1e-9, atol=1e-12)
    if "numpy_inplace" in ok:
        f = gn.compile(g, outputs=[out], inplace=True)
        np.testing.assert_allclose(f(feeds).value(out), r.value(out), rtol=1e-9, atol=1e-12)
    if "numexpr" in ok and HAS_NUMEXPR:  # numexpr runs groups of >= 32K elements
        big = _case_graph(name, type(case)([np.resize(v, 40_000) for v in case.inputs],
                                           case.params))
        bf = {f"x{i}": np.resize(v, 40_000) for i, v in enumerate(case.inputs)}
        y = (big[2] * 1.5).named("y")  # a fused group of two, so numexpr takes it
        f = gn.compile(big[0], outputs=[y], numexpr=True)
        assert "ne.evaluate" in f.source
        np.testing.assert_allclose(f(bf).value(y), gn.run(big[0], bf).value(y),
                                   rtol=1e-9, atol=1e-12)
    if "cupy" in ok:
        _check_cupy(g, feeds, out, wrt)
    if "to_sympy" in ok and out.size <= 16 and all(v.size <= 16 and v.dtype.kind == "f"
                                                   for v in case.inputs):
        _check_sympy(g, out, feeds, r.value(out), roundtrip="from_sympy" in ok
                     and op.elementwise)


def _check_cupy(g: gn.Graph, feeds: dict[str, Any], out: Any, wrt: list[Any]) -> None:
    """The whole CuPy module runs on the stand-in cupy (kernels through g++) with the
    interpreter's values and gradients; without g++, its source must at least compile."""
    if GXX is None:
        compile(gn.compile(g, outputs=[out], backend="cupy").source, "<cupy module>", "exec")
        return
    loss = (gn.sum(out) * 1.0).named("loss_cupy") if wrt else None
    outs = [out, loss] if wrt else [out]
    check_cupy(g, feeds, outs, wrt or None, loss=loss, rtol=1e-9, atol=1e-12)


def _check_sympy(g: gn.Graph, out: Any, feeds: dict[str, Any], want: Any,
                 roundtrip: bool) -> None:
    import sympy as sp

    expr = gn.to_sympy(g, out)
    subs: dict[Any, float] = {}
    for n in g.inputs:
        v = np.asarray(feeds[n.name])
        if n.shape == ():
            subs[sp.Symbol(n.name, real=True)] = float(v)
        else:
            base = sp.IndexedBase(n.name, real=True)
            for idx in np.ndindex(*n.shape):
                subs[base[idx]] = float(v[idx])
    arr = np.asarray(expr.tolist() if hasattr(expr, "tolist") else expr, dtype=object)
    got = np.vectorize(lambda e: float(sp.sympify(e).subs(subs).evalf()), otypes=[float])(arr)
    np.testing.assert_allclose(got.reshape(np.shape(want)), want, rtol=1e-9, atol=1e-12)
    if roundtrip and out.shape == () and all(n.shape == () for n in g.inputs):
        h = gn.from_sympy(expr)
        rh = gn.run(h, {k: v for k, v in feeds.items() if k in h})
        np.testing.assert_allclose(rh.value(h.default_outputs()[0]), want, rtol=1e-9)


@pytest.mark.parametrize("name", OPS)
def test_every_reported_rule_works(name: str) -> None:
    caps = capabilities(gn.REGISTRY[name])
    for case in CASES[name][:1]:
        _check(name, case, caps)


HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
ONNX_OPS = [(n, k) for n in OPS for k in range(len(CASES[n]))
            if isinstance(capabilities(gn.REGISTRY[n])["onnx_export"], str)]


def _ort_run(model: Any, feeds: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["out"], {k: np.asarray(v) for k, v in feeds.items()})[0]


@pytest.mark.skipif(not (HAS_ONNX and HAS_ORT), reason="needs onnx and onnxruntime")
@pytest.mark.parametrize("name,k", ONNX_OPS)
def test_onnx_rules_of_every_case(name: str, k: int) -> None:
    """The record's ONNX export runs in onnxruntime with graphnn's numbers, and where the
    record imports, the exported model imports back to the same numbers."""
    op, case = gn.REGISTRY[name], CASES[name][k]
    want = op.forward(np, *case.inputs, **case.params)
    g, _, out = _case_graph(name, case)
    model = gn.to_onnx(g, outputs=[out])
    try:
        got, tol = _ort_run(model, _feeds(case)), 1e-9
    except Exception as e:  # onnxruntime has no float64 Conv / ConvTranspose kernels
        if "NOT_IMPLEMENTED" not in str(e):
            raise
        f32 = type(case)([v.astype(np.float32) if v.dtype.kind == "f" else v
                          for v in case.inputs], case.params)
        got, tol = _ort_run(gn.to_onnx(_case_graph(name, f32)[0]), _feeds(f32)), 1e-5
    if op.pure:
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    else:  # random ops: ONNX Runtime draws from its own generator; shape and dtype only
        assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == want.dtype
    if isinstance(capabilities(op)["onnx_import"], str):
        back = gn.from_onnx(model)
        np.testing.assert_allclose(gn.run(back, _feeds(case)).value("out"), want,
                                   rtol=1e-12, atol=1e-12)


def test_io_keeps_no_onnx_table_keyed_by_op() -> None:
    """Export rules come only from the records; io's converter table holds only ONNX types
    no record claims (composites such as Gemm), so it can never shadow a record."""
    from graphnn.io import onnx_export, onnx_import

    assert not hasattr(onnx_export, "EXPORTERS")
    claimed = {t for op in gn.REGISTRY.values() if isinstance(op.onnx, gn.Onnx)
               and isinstance(op.onnx.imports, dict) for t in op.onnx.imports}
    assert not claimed & set(onnx_import.COMPOSITES)


# -- a throwaway op: one record, every capability picks it up ----------------------------

@pytest.fixture
def softsign_op():
    from graphnn.ops.elementwise import ufunc  # noqa: F401  (the helper an op author uses)

    op = gn.register(gn.Op(
        name="softsign_tmp", label="softsign", elementwise=True,
        shape=lambda a: tuple(a),
        forward=lambda xp, a: a / (1.0 + xp.abs(a)),
        deriv=lambda out, a: (1.0 / ((1.0 + gn.abs(a)) * (1.0 + gn.abs(a))),),
        sympy=lambda sp, a: a / (1 + sp.Abs(a)),
        numpy="({0} / (1.0 + xp.abs({0})))",
        inplace=("xp.absolute({0}, out={out})", "xp.add({out}, 1.0, out={out})",
                 "xp.divide({0}, {out}, out={out})"),
        numexpr="({0} / (1.0 + abs({0})))",
        onnx=gn.Onnx(op_type="Softsign", imports={"Softsign": None}),
        doc="a / (1 + |a|)"))
    gn.core.op.FUNCTIONS["softsign_tmp"] = lambda a, name=None: gn.bind(op, a, name=name)
    yield op
    unregister("softsign_tmp")
    gn.core.op.FUNCTIONS.pop("softsign_tmp", None)


def test_a_new_op_is_picked_up_everywhere(softsign_op, tmp_path) -> None:
    caps = capabilities(softsign_op)
    assert set(caps) == set(CAPABILITIES)
    assert not gaps(softsign_op)
    case = CASES["tanh"][0]  # any (n,)-shaped float input
    _check("softsign_tmp", case, caps)
    # vjp/jvp from deriv= against finite differences
    x = np.array([-1.5, -0.2, 0.3, 2.0])
    eps = 1e-6
    fd = (softsign_op.forward(np, x + eps) - softsign_op.forward(np, x - eps)) / (2 * eps)
    gv = gn.core.op.force(softsign_op.vjp(np.ones(4), softsign_op.forward(np, x), x)[0])
    np.testing.assert_allclose(gv, fd, rtol=1e-6)
    np.testing.assert_allclose(softsign_op.jvp((np.ones(4),), None, x), fd, rtol=1e-6)
    # the expression parser knows it by name
    h = gn.io.parse("softsign_tmp(x)")
    assert [n.op.name for n in h.nodes if not n.op.leaf] == ["softsign_tmp"]
    if HAS_ONNX:
        with gn.Graph() as g:
            xi = gn.input("x", shape=(4,))
            gn.bind(softsign_op, xi).named("y")
        m = gn.to_onnx(g)
        assert [n.op_type for n in m.graph.node] == ["Softsign"]
        back = gn.from_onnx(m)
        np.testing.assert_allclose(gn.run(back, {"x": x}).value("y"),
                                   softsign_op.forward(np, x), rtol=1e-12)


def test_cupy_kernel_of_a_new_op_is_derived_from_its_formula(softsign_op) -> None:
    from graphnn.codegen.cupy_backend import c_expr

    with gn.Graph():
        x = gn.input("x", shape=(3,))
        y = gn.bind(softsign_op, x)
    assert c_expr(y, ["v"]) in ("(v/(fabs(v) + 1))", "(v/(1 + fabs(v)))")


def test_records_claiming_one_onnx_type_share_its_converter() -> None:
    """An ONNX type may be claimed by several records (Conv by conv1d/2d/3d) only with
    one converter: which record's claim wins must not matter."""
    claims: dict[str, set[Any]] = {}
    for op in gn.REGISTRY.values():
        if isinstance(op.onnx, gn.Onnx) and isinstance(op.onnx.imports, dict):
            for t, conv in op.onnx.imports.items():
                claims.setdefault(t, set()).add(conv if conv is not None else op.name)
    assert {t: c for t, c in claims.items() if len(c) > 1} == {}
