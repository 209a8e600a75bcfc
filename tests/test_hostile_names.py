"""Hostile node and graph names (issue 14.1, 14.5): through every path that carries a name
(DSL, JSON load, ONNX import, --expr, sympy) the generated source parses to exactly the
statements the same graph with benign names gives, and no payload runs; the same names go
through DOT, SVG, the HTML player, LaTeX / Markdown / text tables and ONNX export."""

from __future__ import annotations

import ast
import json
import re
import xml.dom.minidom
from pathlib import Path

import numpy as np
import pytest

import graphnn as gn
from graphnn.teach import tracefmt
from graphnn.viz import player
from tests.cli_util import invoke
from tests.test_codegen_cupy_run import needs_gxx


def payload(sentinel: Path) -> str:
    return f'__import__("pathlib").Path({str(sentinel)!r}).touch()'


def corpus(sentinel: Path) -> list[str]:
    """Names that each try to break out of a comment, a string, a docstring or a line."""
    p = payload(sentinel)
    return [f"a\n{p} #", f"t\n    {p} #", f'q"""\n{p}\n"""', f"r'''\n{p}\n'''", "h#\\",
            "b\\", f"u\u2028{p}", f"v\u2029{p}", f"w\x85{p}", f"x\x0b{p}", f"y\x0c{p}",
            f"z\r{p}", "nul\x00l", "L" * 10_000, "<!--<script>alert(1)</script>",
            "$\\}{%&_^~|`*", "e\ud800", "\ufb01", "fi", '"', "'", "\r\n", "2x", "lambda",
            "__debug__", "xp", "_pad2d", "PARAMS = {}  # saved modules embed the values"]


def chunks(names: list[str], k: int = 5) -> list[list[str]]:
    return [names[i:i + k] for i in range(0, len(names) - k + 1, k)] + [names[-k:]]


def build(names: list[str], graph_name: str | None = None) -> gn.Graph:
    with gn.Graph(graph_name or names[0]) as g:
        x = gn.input(names[0], shape=(3,))
        w = gn.param(names[1], np.array([0.5, -1.0, 2.0]))
        c = gn.const(np.array([1.0, 2.0, 3.0]), name=names[2])
        y = gn.tanh(x * w + c).named(names[3])
        gn.sum(y * y).named(names[4])
    return g


def stmt_kinds(src: str) -> list[str]:
    return [type(s).__name__ for s in ast.walk(ast.parse(src)) if isinstance(s, ast.stmt)]


BENIGN = ["n0", "n1", "n2", "n3", "n4"]


def check_module(src: str, benign_src: str, sentinel: Path) -> None:
    assert stmt_kinds(src) == stmt_kinds(benign_src)
    ns: dict = {}
    exec(compile(src, "<test>", "exec"), ns)  # noqa: S102 - the point of the test
    assert not sentinel.exists()


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    s = tmp_path / "PWNED"
    yield s
    assert not s.exists(), "a payload ran"


def test_dsl_names_compile_to_the_benign_statements(sentinel: Path, tmp_path: Path) -> None:
    benign = gn.compile(build(BENIGN), wrt="params")
    for names in chunks(corpus(sentinel)):
        g = build(names)
        f = gn.compile(g, wrt="params")
        r = f({names[0]: np.ones(3)})
        np.testing.assert_allclose(r[names[4]], benign({"n0": np.ones(3)})["n4"])
        check_module(f.source, benign.source, sentinel)
        path = f.save(tmp_path / "m.py")
        check_module(Path(path).read_text(encoding="utf-8"), benign.module_source(), sentinel)


def test_compiled_jacobian_and_fused_update(sentinel: Path) -> None:
    """The generators added in round 3 (gn.compile_jacobian's node name made from user
    names, the optimizer update compiled into the step, NumPy and CuPy) emit the same
    statements as for benign names, and no payload runs."""
    b = build(BENIGN)
    benign_jac = gn.compile_jacobian(b, "n3", "n0").source
    benign_step = gn.compile(b, ["n4"], wrt=["n1"], optimizer=gn.optim.Adam(lr=0.1)).source
    for names in chunks(corpus(sentinel)):
        g = build(names)
        jac = gn.compile_jacobian(g, names[3], names[0])
        check_module(jac.source, benign_jac, sentinel)
        assert jac({names[0]: np.ones(3)}).shape == (3, 3)
        step = gn.compile(g, [names[4]], wrt=[names[1]], optimizer=gn.optim.Adam(lr=0.1))
        check_module(step.source, benign_step, sentinel)
        step({names[0]: np.ones(3)})
        cupy_src = gn.compile(g, [names[4]], wrt=[names[1]], backend="cupy",
                              optimizer=gn.optim.SGD(lr=0.1, momentum=0.9)).source
        ast.parse(cupy_src)
        assert all(n not in cupy_src for n in names if "\n" in n)


def test_saved_module_embeds_params_once(sentinel: Path, tmp_path: Path) -> None:
    names = ["x", "PARAMS = {}  # saved modules embed the values", "c", "y", "o"]
    src = gn.compile(build(names), wrt="params").module_source()
    ns: dict = {}
    exec(compile(src, "<test>", "exec"), ns)  # noqa: S102
    assert list(ns["PARAMS"]) == [names[1]]


def test_json_and_cli_compile(sentinel: Path, tmp_path: Path) -> None:
    benign = gn.compile(build(BENIGN)).source
    gn.save(build(BENIGN), tmp_path / "benign.json")
    assert invoke("compile", tmp_path / "benign.json", "-o", tmp_path / "benign.py").exit_code == 0
    benign_cli = (tmp_path / "benign.py").read_text(encoding="utf-8")
    for k, names in enumerate(chunks(corpus(sentinel))):
        path = tmp_path / f"g{k}.json"
        gn.save(build(names), path)
        g = gn.load(path)
        assert [n.name for n in g.inputs] == [names[0]]
        check_module(gn.compile(g).source, benign, sentinel)
        out = tmp_path / f"out{k}.py"
        res = invoke("compile", path, "-o", out)
        assert res.exit_code == 0, res.output
        check_module(out.read_text(encoding="utf-8"), benign_cli, sentinel)


def test_onnx_import_then_compile(sentinel: Path) -> None:
    pytest.importorskip("onnx")
    benign = gn.compile(gn.from_onnx(gn.to_onnx(build(BENIGN)))).source
    for names in chunks([n for n in corpus(sentinel) if "\ud800" not in n]):
        g = gn.from_onnx(gn.to_onnx(build(names, "graph")))
        check_module(gn.compile(g).source, benign, sentinel)


def test_onnx_export_refuses_lone_surrogates() -> None:
    pytest.importorskip("onnx")
    with pytest.raises(gn.OnnxError, match="surrogate"):
        gn.to_onnx(build(["x", "w", "c", "e\ud800", "o"], "g"))


def test_expr_names_on_the_command_line(sentinel: Path) -> None:
    p = payload(sentinel).replace('"', '\\"')
    for name in [f"t\\n    {p} #", f'q\\"\\"\\"\\n{p}\\n', f"u\\u2028{p}"]:
        # the one expression parser takes no strings at all: name= is a clean parse error
        res = invoke("compile", "--check", "--expr", f'sum(tanh(x, name="{name}"))')
        assert res.exit_code == 1 and "name=" in res.stderr, res.output
        assert "Traceback" not in res.stderr


def test_sympy_symbol_names(sentinel: Path) -> None:
    sympy = pytest.importorskip("sympy")
    for name in corpus(sentinel)[:12]:
        g = gn.from_sympy(sympy.tanh(sympy.Symbol(name)) * 2)
        benign = gn.compile(gn.from_sympy(sympy.tanh(sympy.Symbol("s")) * 2)).source
        check_module(gn.compile(g).source, benign, sentinel)


def test_renderers_keep_their_structure(sentinel: Path) -> None:
    for names in chunks(corpus(sentinel)):
        g = build(names)
        tr = gn.trace(g, {names[0]: np.ones(3)}, wrt="params")
        dot = gn.render(g, format="dot")
        assert "\x00" not in dot and "\u2028" not in dot
        svg = gn.render(g, run=gn.run(g, {names[0]: np.ones(3)}, wrt="params"), format="svg")
        xml.dom.minidom.parseString(svg.encode() if isinstance(svg, str) else svg)
        md = tracefmt.to_markdown(tr).split("\n")
        assert len(md) == len(tr) + 2 and all(line.startswith("| ") for line in md[2:])
        assert "<script" not in "\n".join(md)
        table = tracefmt.to_table(tr).split("\n")
        assert len(table) >= len(tr) + 2
        latex = tracefmt.to_latex(tr)
        assert latex.count("\n") == len(latex.splitlines()) - 1  # no U+2028 line breaks
        assert latex.replace(r"\{", "").replace(r"\}", "").count("{") == latex.replace(
            r"\{", "").replace(r"\}", "").count("}")


def test_player_page_embeds_json_safely(sentinel: Path) -> None:
    names = ["x", "<!--<script>", "</script><b>", "a\u2028&b", "o"]
    g = build(names)
    page = player.page(gn.trace(g, {"x": np.ones(3)}, wrt="params"), steps=range(4))
    blob = re.search(r'<script type="application/json" id="steps-data">(.*?)</script>',
                     page, re.S)
    assert blob is not None
    assert not re.search("[<>&\u2028\u2029]", blob.group(1))
    extra = re.search(r'<script type="application/json" id="page-data">(.*?)</script>',
                      page, re.S)
    assert extra is not None and not re.search("[<>&\u2028\u2029]", extra.group(1))
    # the page's own three scripts (step data, page data, the player), no more
    assert page.count("<script") == 3 and page.count("</script>") == 3
    data = json.loads(blob.group(1))
    assert {d["node"] for d in data} & set(names)


def build_typed(names: list[str], dtype: str) -> gn.Graph:
    """A fused CuPy group over a float16 input (its kernel parameter gets a name of its
    own) or an int8 input (converted inside the kernel), with a float32 param."""
    with gn.Graph(names[0]) as g:
        x = gn.input(names[0], shape=(3,), dtype=dtype)
        w = gn.param(names[1], np.array([0.5, -1.0, 2.0], np.float32))
        h = (gn.exp(x) * 0.5).named(names[2])
        y = gn.tanh(gn.cast(h, "float32") * w + 1.0).named(names[3])
        gn.sum(y * y).named(names[4])
    return g


@needs_gxx
@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_cupy_kernels_of_float16_and_int8_inputs(sentinel: Path, dtype: str) -> None:
    """The CuPy module (run on the stand-in) of hostile names over float16 and int8
    inputs emits the benign statements, runs no payload, and computes the benign
    numbers."""
    from tests.cupy_standin import installed

    feed = np.array([1, 2, 3], dtype=dtype)
    with installed() as cp:
        benign = gn.compile(build_typed(BENIGN, dtype), ["n4"], backend="cupy")
        want = cp.asnumpy(benign({"n0": feed})["n4"])
        assert benign.kernels
        for names in chunks(corpus(sentinel)):
            f = gn.compile(build_typed(names, dtype), [names[4]], backend="cupy")
            check_module(f.source, benign.source, sentinel)
            np.testing.assert_allclose(cp.asnumpy(f({names[0]: feed})[names[4]]), want,
                                       rtol=1e-6)
