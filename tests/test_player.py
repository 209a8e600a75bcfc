"""Step-through export (graphnn.viz.player): SVG frames, GIF, notebook display, and the
HTML player driven in real headless Chromium."""

from __future__ import annotations

import html
import io
import json
import os
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import graphnn as gn
from graphnn.core.errors import GraphError
from graphnn.viz import player

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
SVG_NS = "{http://www.w3.org/2000/svg}"
# the lecture numbers: d = -2, f = -8, df/dd = 4, df/dx = df/dy = 4, df/dz = -2
EXPECTED_TEXT = {3: "= -2", 4: "= -8", 5: "= 1 · 4 = 4", 6: "= 4 · 1 = 4"}


def lecture_trace() -> gn.Trace:
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        (d * z).named("f")
    return gn.trace(g, {"x": 1, "y": -3, "z": 4})


@pytest.fixture(scope="module")
def trace() -> gn.Trace:
    return lecture_trace()


def current_nodes(svg: str) -> list[str]:
    """Names of the nodes drawn as the current step (class "current", highlight colour)."""
    root = ET.fromstring(svg.encode())
    out = []
    for g in root.iter(f"{SVG_NS}g"):
        if "current" in g.get("class", "").split():
            out.append(g.find(f"{SVG_NS}title").text)
            strokes = {e.get("stroke") for e in g.iter() if e.get("stroke")}
            assert gn.viz.style.HIGHLIGHT in strokes
    return out


def node_boxes(svg: str) -> dict[str, tuple[float, float, float, float]]:
    """Node name -> bounding box of its first shape, from Graphviz SVG."""
    out = {}
    for m in re.finditer(r'class="node[^"]*">\s*<title>([^<]*)</title>.*?(?:points|\bd)="([^"]*)"',
                         svg, re.S):
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", m.group(2))]
        xs, ys = nums[0::2], nums[1::2]
        out[m.group(1)] = (min(xs), min(ys), max(xs), max(ys))
    return out


# -- frames, GIF, notebook ----------------------------------------------------------
@pytest.mark.parametrize("engine", ["auto", "wasm"])
def test_frames_one_valid_svg_per_step_highlighting_its_node(trace, tmp_path, engine):
    paths = trace.save_frames(tmp_path / "frames", engine=engine)
    assert [os.path.basename(p) for p in paths] == [f"frame_{k:03d}.svg" for k in range(len(trace))]
    sizes = set()
    for step, p in zip(trace, paths):
        svg = open(p, encoding="utf-8").read()
        root = ET.fromstring(svg.encode())  # well-formed XML with an <svg> root
        assert root.tag == f"{SVG_NS}svg"
        sizes.add((root.get("width"), root.get("height")))
        assert current_nodes(svg) == [step.node.name]
        caption = "".join(t.text or "" for t in root.iter(f"{SVG_NS}text")
                          if t.get("font-size") is None)
        assert step.text.splitlines()[0] in caption
    assert len(sizes) == 1  # every frame has the same size


def test_frames_show_state_so_far_and_nodes_keep_their_place(trace):
    idx = list(range(len(trace)))
    svgs = player._graph_svgs(trace, idx, None, {})
    boxes = [node_boxes(s) for s in svgs]
    assert set(boxes[0]) == {"x", "y", "z", "d", "f"}
    assert all(b == boxes[0] for b in boxes)  # fixed sizes: no jumping between frames
    assert "value &#45;8" not in svgs[3] and "value &#45;8" in svgs[4]  # f known at step 4
    assert "grad" not in svgs[4] and "grad &#45;2" in svgs[5] and "grad &#45;2" in svgs[6]


def test_collapsed_layers_keep_their_place():
    with gn.Graph("layers") as g:
        x = gn.input("x")
        with g.scope("layer1"):
            h = gn.tanh(x * 2.0 + 1.0).named("h")
        with g.scope("layer2"):
            (h * h).named("y")
    t = gn.trace(g, {"x": 0.5})
    svgs = player._graph_svgs(t, list(range(len(t))), None, {"collapse": True})
    boxes = [node_boxes(s) for s in svgs]
    assert "[layer1]" in boxes[0] and all(b == boxes[0] for b in boxes)
    doc = player.page(t, collapse=True)
    assert len(set(re.findall(r'data-c="(\d+)"', doc))) > 1  # compact: one shared layout


def test_frame_selection_and_clear_errors(trace, tmp_path):
    folder = tmp_path / "f"
    assert len(player.save_frames(trace, folder)) == len(trace)
    paths = player.save_frames(trace, folder, steps="backward")
    assert sorted(os.listdir(folder)) == ["frame_000.svg", "frame_001.svg"]  # stale removed
    assert current_nodes(open(paths[0], encoding="utf-8").read()) == ["f"]
    assert len(player.frames(trace, steps=[-1, 3])) == 2
    with pytest.raises(GraphError, match="max_steps=7"):
        player.frames(trace, max_steps=3)
    with pytest.raises(GraphError, match="out of range"):
        player.frames(trace, steps=[99])
    with pytest.raises(GraphError, match="save_frames"):
        trace.save(str(tmp_path / "x.svg"))
    with pytest.raises(GraphError, match=r"\.html"):
        trace.save(str(tmp_path / "x.mp4"))
    pngs = player.save_frames(trace, tmp_path / "p", format="png", steps=[0])
    assert open(pngs[0], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_gif_has_one_frame_per_step(trace, tmp_path):
    from PIL import Image

    path = tmp_path / "backprop.gif"
    assert trace.save(str(path)) == path
    with Image.open(path) as im:
        assert im.format == "GIF" and im.is_animated
        assert im.n_frames == len(trace)
        size = im.size
        assert size[0] > 100 and size[1] > 100
        crops = []
        for k in range(im.n_frames):
            im.seek(k)
            assert im.size == size
            crops.append(im.convert("RGB").tobytes())
        assert len(set(crops)) == len(trace)  # every frame differs
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]  # atomic write


def test_player_needs_only_the_trace_interface(tmp_path):
    """Any object with graph, len, [i] (index/phase/node/targets/str) and state_at works."""
    from ._trace_fake import FakeTrace

    with gn.Graph("fan") as g:
        a = gn.input("a")
        (a * a + a).named("out")
    fake = FakeTrace(g, {"a": 3.0}, [a])
    svgs = player.frames(fake)
    assert len(svgs) == len(fake) and "grad 7" in svgs[-1]  # d(a*a + a)/da = 2a + 1
    assert player.save(fake, tmp_path / "fan.html").stat().st_size > 0
    assert "text/html" in player.mimebundle(fake)


def test_page_formula_box_shows_each_local_derivative(trace):
    """The player's highlighted formula box holds every local derivative of the step,
    also when the step text mentions them inline (frames drop that duplicate)."""
    import json

    doc = player.page(trace)
    blob = re.search(r'<script type="application/json" id="steps-data">(.*?)</script>',
                     doc, re.S).group(1)
    steps = {s["i"]: s for s in json.loads(blob)}
    assert steps[7]["formula"].splitlines() == ["local: ∂d/∂x = 1", "local: ∂d/∂y = 1"]
    assert "local ∂d/∂x = 1" in steps[7]["text"]
    caption = player._caption(trace[6], 6, len(trace), len(trace))
    assert not any(line.startswith("local:") for line in caption)  # frames: no duplicate


def test_mimebundle_is_an_escaped_sandboxed_iframe(trace):
    b = trace._repr_mimebundle_()
    assert set(b) == {"text/html", "text/plain"}
    assert b["text/plain"] == trace.to_table()
    frame = b["text/html"]
    m = re.fullmatch(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts" [^<>]*></iframe>', frame)
    assert m, frame[:200]
    assert "<" not in m.group(1) and ">" not in m.group(1)  # everything escaped
    assert html.unescape(m.group(1)) == player.page(trace)
    assert 'style="width:100%;height:' in frame


@pytest.mark.parametrize("compact", [True, False])
def test_page_is_self_contained(trace, compact):
    doc = player.page(trace, compact=compact)
    groups = {int(c) for c in re.findall(r'data-c="(\d+)"', doc)}
    if compact:  # one group per node and edge, a few versions each
        assert len(groups) == len(trace.graph.nodes) + 4
        def drawing(d: str) -> int:  # the frames alone: the step texts are the same
            return d.index('<div id="side">') - d.index('<div id="graph"')
        assert drawing(doc) < 0.65 * drawing(player.page(trace, compact=False))
    else:  # one whole SVG per step
        frames = doc[doc.index('<div id="stage"'):doc.index('<div id="side">')]
        assert groups == {0} and frames.count("<svg") == len(trace)  # (buttons: SVG icons)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', doc)
    assert not re.search(r"(?:https?|ftp|wss?):(?!//www\.w3\.org/)", doc)  # SVG namespaces only
    assert "default-src 'none'" in doc  # the Content-Security-Policy forbids requests
    ids = re.findall(r'\bid="([^"]*)"', doc)
    assert len(ids) == len(set(ids))  # frame-local Graphviz ids are prefixed


# -- the HTML player in real headless Chromium ---------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is missing: pip install playwright "
                    "(it drives the system chromium; no browser download needed)")
    try:
        pw = sync_playwright().start()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"playwright could not start: {type(e).__name__}: {e}")
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as e:  # noqa: BLE001
        pw.stop()
        pytest.skip(f"launching {CHROMIUM} failed: {str(e).strip().splitlines()[0]}")
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module", params=[True, False], ids=["compact", "full-frames"])
def player_file(request, tmp_path_factory, trace):
    path = tmp_path_factory.mktemp("player") / "backprop.html"
    trace.save(str(path), compact=request.param)
    return path


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def open_offline(browser, path, fragment=""):
    """A page with the network off; every request other than the file is recorded."""
    ctx = browser.new_context(offline=True)
    url = path.as_uri()
    requests, errors = [], []

    def route(r):
        if r.request.url.split("#")[0] == url:
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("request", lambda r: r.url.split("#")[0] != url and requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + fragment)
    return ctx, page, requests, errors


def state(page) -> tuple[str, str, str]:
    """(the step's node, the node highlighted in the visible drawing, the step text)."""
    current = page.locator("#graph .v:not(.off) g.node.current")
    assert current.count() == 1 and current.is_visible()
    assert page.locator("#graph svg:visible").count() == 1
    return (page.locator("#graph").get_attribute("data-node"),
            current.locator("title").text_content(),
            page.locator("#step-text").text_content())


def test_player_buttons_keys_and_slider(browser, player_file, trace):
    ctx, page, requests, errors = open_offline(browser, player_file)
    try:
        assert state(page) == ("x", "x", trace[0].text)
        page.click("#next")
        assert state(page) == ("y", "y", trace[1].text)
        page.keyboard.press("ArrowRight")
        assert state(page) == ("z", "z", trace[2].text)
        page.click("#next")
        node, hi, text = state(page)
        assert (node, hi) == ("d", "d") and EXPECTED_TEXT[3] in text
        assert page.evaluate("location.hash") == "#4"  # step 4 of 7: hashes count from 1
        page.keyboard.press("ArrowRight")
        node, hi, text = state(page)
        assert (node, hi) == ("f", "f") and EXPECTED_TEXT[4] in text
        page.click("#prev")
        assert state(page)[:2] == ("d", "d")
        page.keyboard.press("ArrowLeft")
        assert state(page)[:2] == ("z", "z")
        page.locator("#slider").fill("6")  # jump with the slider
        node, hi, text = state(page)
        assert (node, hi) == ("d", "d") and EXPECTED_TEXT[6] in text
        assert "∂f/∂y = ∂f/∂d · local ∂d/∂y = 4 · 1 = 4" in text
        assert "∂d/∂x = 1" in page.locator("#step-formula").text_content()
        assert page.locator("#counter").text_content() == "step 7 of 7"
        assert page.evaluate("location.hash") == "#7"
        page.click("#next")  # stays on the last step
        assert state(page)[0] == "d"
        page.click("#steps a[href='#6']")  # the step list links
        node, _, text = state(page)
        assert node == "f" and EXPECTED_TEXT[5] in text and "= 1 · (-2) = -2" in text
        page.keyboard.press("Home")
        assert state(page)[0] == "x"
        page.keyboard.press("End")
        assert state(page)[0] == "d"
        page.locator("#slider").fill("4")
        page.click("#play")  # plays on to the last step, then stops
        expect(page.locator("#play")).to_contain_text("Pause")
        expect(page.locator("#counter")).to_have_text("step 7 of 7", timeout=10_000)
        expect(page.locator("#play")).to_contain_text("Play")
        assert errors == []
        assert requests == []
    finally:
        ctx.close()


def test_player_hash_opens_a_step_and_loads_offline(browser, player_file):
    ctx, page, requests, errors = open_offline(browser, player_file, "#4")
    try:
        node, hi, text = state(page)
        assert (node, hi) == ("d", "d") and EXPECTED_TEXT[3] in text
        assert page.locator("#slider").input_value() == "3"
        page.evaluate("location.hash = '#5'")
        expect(page.locator("#graph")).to_have_attribute("data-node", "f")
        page.evaluate("location.hash = '#9'")
        expect(page.locator("#msg")).to_have_text(
            "There is no step 9: this trace has steps 1 to 7.")
        assert state(page)[:2] == ("f", "f")
        assert page.evaluate("document.readyState") == "complete"
        assert errors == [] and requests == []
    finally:
        ctx.close()


def test_notebook_iframe_stays_interactive(browser, tmp_path, trace):
    nb = tmp_path / "notebook.html"
    nb.write_text("<!DOCTYPE html><html><body>" + player.mimebundle(trace)["text/html"]
                  + "</body></html>", encoding="utf-8")
    ctx, page, requests, errors = open_offline(browser, nb)
    try:
        frame = page.frame_locator("iframe")
        assert frame.locator("#graph").get_attribute("data-node") == "x"
        frame.locator("#next").click()
        frame.locator("#next").click()
        frame.locator("#next").click()
        assert frame.locator("#graph").get_attribute("data-node") == "d"
        assert frame.locator("#graph .v:not(.off) g.node.current title").text_content() == "d"
        assert EXPECTED_TEXT[3] in frame.locator("#step-text").text_content()
        assert errors == [] and requests == []
    finally:
        ctx.close()


def test_player_example_writes_html_and_gif(tmp_path, monkeypatch):
    import runpy
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.setattr(sys, "argv", ["player_lecture.py", str(tmp_path)])
    runpy.run_path(os.path.join(root, "examples", "player_lecture.py"), run_name="__main__")
    assert (tmp_path / "backprop.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    from PIL import Image

    with Image.open(io.BytesIO((tmp_path / "backprop.gif").read_bytes())) as im:
        assert im.n_frames == 7


# -- readable beyond the lecture graph: layout, zoom, filter, provenance, quiz (issue 16) --
def mlp_trace() -> gn.Trace:
    import runpy

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    m = runpy.run_path(os.path.join(root, "examples", "models", "mlp_342.py"))
    return gn.trace(m["build"](), m["feeds"]())


@pytest.fixture(scope="module")
def mlp():
    return mlp_trace()


def page_json(doc: str, ident: str):
    return json.loads(re.search(rf'<script type="application/json" id="{ident}">(.*?)</script>',
                                doc, re.S).group(1))


def stage_size(doc: str) -> tuple[float, float]:
    w, h = re.search(r'<div id="stage" data-w="(\d+)" data-h="(\d+)"', doc).groups()
    return float(w), float(h)


def pane_fit(doc: str) -> float:
    w, h = stage_size(doc)
    return min(1.0, player.PANE_PX[0] / w, player.PANE_PX[1] / h)


def test_layout_direction_is_the_one_that_fits(mlp, trace):
    docs = {d: player.page(mlp, rankdir=d) for d in ("LR", "TB")}
    for d, doc in docs.items():  # an explicit rankdir is kept
        assert f'data-rankdir="{d}"' in doc
    auto = player.page(mlp)
    chosen = re.search(r'data-rankdir="(\w+)"', auto).group(1)
    other = "LR" if chosen == "TB" else "TB"
    assert stage_size(auto) == stage_size(docs[chosen])
    # the MLP is a long chain: drawn left to right it is a strip that fits a pane badly
    assert chosen == "TB"
    assert pane_fit(docs[chosen]) > 1.15 * pane_fit(docs[other])
    # a graph that fits either way keeps the default, left to right
    assert 'data-rankdir="LR"' in player.page(trace)
    with pytest.raises(GraphError):
        player.page(trace, no_such_option=1)


def test_page_data_provenance_of_values_and_gradients(trace):
    doc = player.page(trace)
    data, facts = page_json(doc, "steps-data"), page_json(doc, "page-data")
    assert facts["read"] == player.READ_PX and facts["quiz"] is None
    assert facts["label_pt"] > 0
    prov = facts["prov"]
    assert set(prov) >= {"x", "y", "z", "d", "f"}
    for name, (value_frame, grad_frames) in prov.items():
        # the value comes from the forward step at the node itself
        assert data[value_frame]["node"] == name and data[value_frame]["phase"] == "forward"
        # each gradient change is a backward step at the node or at one of its consumers
        assert grad_frames and all(data[k]["phase"] == "backward" for k in grad_frames)
    # the seed df/df, df/dd and df/dz: the vjp at f (step 6); df/dx, df/dy: at d (step 7)
    for name, step in {"f": 6, "d": 6, "z": 6, "x": 7, "y": 7}.items():
        assert [data[k]["i"] for k in prov[name][1]] == [step]
    assert [data[prov[n][0]]["i"] for n in "xyzdf"] == [1, 2, 3, 4, 5]
    assert "click a value or gradient to see how it was computed" in doc
    # the step list is tagged by phase (what the filter hides)
    phases = re.findall(r'<li value="\d+" data-phase="(\w+)">', doc)
    assert phases == [trace[i].phase for i in range(len(trace))]
    assert '<option value="forward">' in doc and '<option value="backward">' in doc


def test_quiz_questions_hold_the_traces_numbers(mlp):
    doc = player.page(mlp, quiz=True)
    data, facts = page_json(doc, "steps-data"), page_json(doc, "page-data")
    assert facts["quiz"] == {"rtol": 1e-3, "atol": 1e-4}
    asked = [(k, q) for k, d in enumerate(data) for q in d.get("q", [])]
    kinds = {q["kind"] for _, q in asked}
    assert kinds == {"value", "grad"}  # quiz=True: forward values and gradients
    evals = [s for s in mlp if s.kind == "eval" and not s.op.leaf]
    assert sum(q["kind"] == "value" for _, q in asked) == len(evals)
    for k, q in asked:
        step = mlp[q["step"]]
        assert data[k]["i"] == step.number and data[k]["node"] == step.node.name
        want = step.value if q["kind"] == "value" else step.contributions[q["input"]]
        assert np.allclose(np.asarray(q["expected"]).reshape(np.shape(want)), want,
                           rtol=0, atol=1e-12)
        assert q["shape"] == list(np.shape(want))
        assert step.node.name in q["prompt"] and q["answer"]
        assert data[k]["qd"] is not None  # the drawing before the step (value hidden)
    local = page_json(player.page(mlp, quiz="local"), "steps-data")
    lq = [q for d in local for q in d.get("q", [])]
    assert lq and {q["kind"] for q in lq} == {"local"}
    for q in lq:
        want = mlp[q["step"]].local_value[q["input"]]
        assert np.allclose(np.asarray(q["expected"]).reshape(np.shape(want)), want)
    with pytest.raises(GraphError, match="quiz="):
        player.page(mlp, quiz="everything")
    assert 'id="quiz"' not in player.page(mlp) and 'id="quiz"' in doc


def test_user_names_stay_escaped_in_quiz_and_page_data():
    evil = "</script><img src=x onerror=alert(1)>&"
    with gn.Graph("g<b>") as g:
        x = gn.input("x")
        (x * x).named(evil)
    doc = player.page(gn.trace(g, {"x": 3.0}), quiz=True)
    assert evil not in doc and "<img" not in doc
    assert page_json(doc, "page-data")["prov"][evil][0] == 1
    q = page_json(doc, "steps-data")[1]["q"]
    assert evil in q[0]["prompt"] and q[0]["expected"] == [9.0]


def test_icons_are_svg_not_font_glyphs(trace):
    doc = player.page(trace)
    controls = doc[doc.index('<div id="controls">'):doc.index('<div id="msg"')]
    assert controls.count('<svg class="ic"') == 3
    glyphs = "\u25b6\u25c0\u23f8\u23f5\u23ef\u25ae\u2016"
    assert not any(c in controls for c in glyphs)
    assert not re.search(r"&#(9654|9664|9208|9646);", controls)
    from graphnn.viz.player_assets import ICONS, JS

    assert ICONS["pause"].startswith("<svg") and not any(c in JS for c in glyphs)


def open_sized(browser, path, size, fragment=""):
    """Like open_offline, in a window of ``size`` (width, height) px."""
    ctx = browser.new_context(offline=True, viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri() + fragment)
    return ctx, page, errors


def zoom(page) -> float:
    return float(page.locator("#graph").get_attribute("data-zoom"))


VIEW_JS = """() => {
  const g = document.getElementById('graph').getBoundingClientRect();
  const sizes = [...document.querySelectorAll('#graph .v:not(.off) g.node text')]
    .filter(t => t.textContent.trim()).map(t => {
      const svg = t.ownerSVGElement, r = svg.getBoundingClientRect();
      return parseFloat(t.getAttribute('font-size')) * r.width / svg.viewBox.baseVal.width;
    });
  const c = document.querySelector('#graph .v:not(.off) g.node.current').getBoundingClientRect();
  const e = document.getElementById('step-text').getBoundingClientRect();
  return {text_px: Math.min(...sizes), n: sizes.length,
          inside: c.left >= g.left && c.right <= g.right && c.top >= g.top &&
                  c.bottom <= g.bottom,
          explain_bottom: e.bottom, explain_top: e.top, height: innerHeight};
}"""


@pytest.fixture(scope="module")
def mlp_file(tmp_path_factory, mlp):
    path = tmp_path_factory.mktemp("mlp") / "mlp.html"
    mlp.save(str(path))
    return path


@pytest.mark.parametrize("size", [(1400, 900), (1280, 800), (1024, 768)])
def test_mlp_text_readable_current_node_and_explanation_in_view(browser, mlp_file, mlp, size):
    ctx, page, errors = open_sized(browser, mlp_file, size)
    try:
        for k in range(len(mlp)):
            if k:
                page.keyboard.press("ArrowRight")
            v = page.evaluate(VIEW_JS)
            assert v["n"] > 10 and v["text_px"] >= player.READ_PX - 0.01, (k, v)
            assert v["inside"], (k, v)  # the current node is kept in view
            assert v["explain_top"] < v["height"] - 40, (k, v)  # beside, not below the fold
        assert page.locator("#graph").get_attribute("data-step") == str(len(mlp))
        assert errors == []
    finally:
        ctx.close()


def test_zoom_buttons_and_keys_change_the_scale(browser, mlp_file):
    ctx, page, errors = open_sized(browser, mlp_file, (1400, 900))
    try:
        home = zoom(page)
        page.click("#zoom-in")
        assert zoom(page) == pytest.approx(home * 1.25, rel=1e-2)
        page.click("#zoom-out")
        page.click("#zoom-out")
        assert zoom(page) == pytest.approx(home * 0.8, rel=1e-2)
        page.click("#zoom-fit")  # the whole graph in the pane
        fitted = zoom(page)
        box = page.locator("#graph").bounding_box()
        stage = page.locator("#stage").bounding_box()
        assert stage["width"] <= box["width"] + 1 and stage["height"] <= box["height"] + 1
        assert max(stage["width"] / box["width"], stage["height"] / box["height"]) > 0.9
        assert fitted < home  # the MLP opens zoomed in (fitted, its text would be too small)
        page.locator("#graph").focus()
        page.keyboard.press("+")
        assert zoom(page) > fitted
        page.keyboard.press("0")
        assert zoom(page) == pytest.approx(fitted, rel=1e-3)
        before = page.locator("#stage").get_attribute("style")
        page.mouse.move(box["x"] + 200, box["y"] + 200)
        page.mouse.wheel(0, -300)
        assert zoom(page) > fitted and page.locator("#stage").get_attribute("style") != before
        assert errors == []
    finally:
        ctx.close()


def test_window_resize_keeps_the_readers_zoom(browser, mlp_file):
    ctx, page, errors = open_sized(browser, mlp_file, (1400, 900))
    try:
        home = zoom(page)
        page.set_viewport_size({"width": 1100, "height": 800})  # untouched: re-homed
        page.wait_for_timeout(100)
        rehomed = zoom(page)
        page.click("#zoom-in")
        page.click("#zoom-in")
        mine = zoom(page)
        assert mine == pytest.approx(rehomed * 1.5625, rel=1e-2)
        page.set_viewport_size({"width": 1300, "height": 850})
        page.wait_for_timeout(100)
        assert zoom(page) == pytest.approx(mine, rel=1e-3)  # the reader's scale is kept
        page.click("#zoom-fit")
        page.set_viewport_size({"width": 1000, "height": 700})
        page.wait_for_timeout(100)
        assert zoom(page) != pytest.approx(mine, rel=1e-2) and home > 0
        assert errors == []
    finally:
        ctx.close()


def test_filter_shows_only_forward_or_backward_steps(browser, player_file, trace):
    ctx, page, requests, errors = open_offline(browser, player_file)
    try:
        page.select_option("#filter", "forward")
        assert page.locator("#steps li:visible").count() == 5
        page.keyboard.press("End")
        assert page.locator("#graph").get_attribute("data-step") == "5"
        page.click("#next")  # stays on the last forward step
        assert page.locator("#graph").get_attribute("data-phase") == "forward"
        page.select_option("#filter", "backward")
        assert page.locator("#steps li:visible").count() == 2
        assert [li.get_attribute("data-phase") for li in page.locator("#steps li:visible").all()
                ] == ["backward", "backward"]
        assert page.locator("#graph").get_attribute("data-step") == "6"
        assert page.locator("#slider").get_attribute("max") == "1"
        page.click("#prev")  # no forward step before it
        assert page.locator("#graph").get_attribute("data-step") == "6"
        page.click("#next")
        assert page.locator("#graph").get_attribute("data-node") == "d"
        page.select_option("#filter", "all")
        assert page.locator("#steps li:visible").count() == len(trace)
        assert errors == [] and requests == []
    finally:
        ctx.close()


def test_pause_button_shows_an_svg_icon(browser, player_file):
    ctx, page, requests, errors = open_offline(browser, player_file)
    try:
        play = page.locator("#play")
        assert play.locator("svg.ic path").count() == 1
        page.click("#play")
        expect(play).to_contain_text("Pause")
        assert play.locator("svg.ic path").count() == 1
        assert play.locator("svg.ic").bounding_box()["width"] > 4  # drawn, not a missing glyph
        assert play.inner_text().strip() == "Pause"  # no text glyph beside the word
        pause_path = play.locator("svg path").get_attribute("d")
        step = page.locator("#graph").get_attribute("data-step")
        page.click("#play")  # pause
        expect(play).to_contain_text("Play")
        page.wait_for_timeout(1500)  # paused: no further step
        assert page.locator("#graph").get_attribute("data-step") == step
        assert play.inner_text().strip() == "Play"
        assert play.locator("svg path").get_attribute("d") != pause_path
        assert errors == []
    finally:
        ctx.close()


def test_quiz_accepts_a_right_answer_and_rejects_a_wrong_one(browser, tmp_path, trace):
    path = tmp_path / "quiz.html"
    trace.save(str(path), quiz=True)
    ctx, page, requests, errors = open_offline(browser, path, "#4")
    try:
        graph = page.locator("#graph")
        assert graph.get_attribute("data-node") == "d" and graph.get_attribute("data-asking") == "1"
        assert page.locator("#explain").is_hidden()  # the answer is not given away
        item = page.locator("#quiz-items .qq").first
        assert "What is d?" in item.locator("p").text_content()
        item.locator("input").fill("5")
        item.locator("button.check").click()
        item = page.locator("#quiz-items .qq").first
        expect(item.locator(".verdict")).to_contain_text("not quite")
        expect(page.locator("#quiz-score")).to_have_text("score 0 of 1")
        assert graph.get_attribute("data-asking") == "1"
        item.locator("input").fill("-2")  # right, but the first try counted
        item.locator("input").press("Enter")
        expect(page.locator("#quiz-items .verdict")).to_contain_text("correct: -2")
        assert graph.get_attribute("data-asking") == "" and page.locator("#explain").is_visible()
        page.click("#next")  # f = d * z = -8
        assert graph.get_attribute("data-node") == "f"
        page.locator("#quiz-items .qq input").fill("-8.0001")  # within the tolerance
        page.locator("#quiz-items .qq button.check").click()
        expect(page.locator("#quiz-items .verdict")).to_contain_text("correct")
        expect(page.locator("#quiz-score")).to_have_text("score 1 of 2")
        page.click("#next")  # the vjp at f: df/dd and df/dz
        qs = page.locator("#quiz-items .qq")
        assert qs.count() == 2
        qs.nth(1).locator("button.reveal").click()
        expect(page.locator("#quiz-items .verdict.bad")).to_contain_text("the answer is -2")
        expect(page.locator("#quiz-score")).to_have_text("score 1 of 3")
        assert errors == [] and requests == []
    finally:
        ctx.close()


def test_click_a_value_shows_the_step_that_computed_it(browser, player_file):
    ctx, page, requests, errors = open_offline(browser, player_file, "#7")
    try:
        node = page.locator("#graph .v:not(.off) g.node", has=page.locator("title", has_text="d"))
        node.first.locator("text").first.click()
        why = page.locator("#why")
        expect(why).to_be_visible()
        assert why.get_attribute("data-node") == "d"
        assert why.get_attribute("data-step") in ("4", "6", "7")
        why.locator("a").first.click()
        assert page.locator("#graph").get_attribute("data-step") == why.get_attribute(
            "data-step")
        assert errors == [] and requests == []
    finally:
        ctx.close()


def test_collapsed_layers_open_in_place_and_the_current_node_stays_in_view(browser, tmp_path,
                                                                            mlp):
    path = tmp_path / "collapsed.html"
    mlp.save(str(path), collapse=True)
    doc = path.read_text(encoding="utf-8")
    assert re.findall(r'class="inset" data-key="([^"]*)"', doc) == ["layer1", "layer2", "loss"]
    ctx, page, errors = open_sized(browser, path, (1280, 800))
    try:
        for k in range(len(mlp)):  # the current node (or its layer's box) is always in view
            if k:
                page.keyboard.press("ArrowRight")
            assert page.evaluate(VIEW_JS)["inside"], k
        page.keyboard.press("Home")
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        graph = page.locator("#graph")
        assert graph.get_attribute("data-node") == "h"
        box = page.locator("#graph .v:not(.off) g.node", has=page.locator("title",
                                                                          has_text="[layer1]"))
        box.first.locator("text").first.click()
        inset = page.locator('.inset[data-key="layer1"]')
        expect(inset).to_be_visible()
        current = inset.locator(".iv:not(.off) g.node.current")
        assert current.locator("title").all_text_contents() == ["h"]
        r, g = current.bounding_box(), graph.bounding_box()
        assert g["x"] <= r["x"] and r["x"] + r["width"] <= g["x"] + g["width"]
        assert g["y"] <= r["y"] and r["y"] + r["height"] <= g["y"] + g["height"]
        page.keyboard.press("ArrowRight")  # W2: in layer2, nothing current in layer1
        assert inset.locator(".iv:not(.off) g.node.current").count() == 0
        inset.locator(".inset-close").click()
        expect(inset).to_be_hidden()
        assert errors == []
    finally:
        ctx.close()


def test_quiz_hides_the_answer_in_an_opened_layer_too(browser, tmp_path, mlp):
    path = tmp_path / "collapsed_quiz.html"
    mlp.save(str(path), collapse=True, quiz=True)
    ctx, page, errors = open_sized(browser, path, (1280, 800), "#5")
    try:
        assert page.locator("#graph").get_attribute("data-node") == "matmul_1"
        box = page.locator("#graph .v:not(.off) g.node", has=page.locator("title",
                                                                          has_text="[layer1]"))
        box.first.locator("text").first.click()
        node = page.locator('.inset[data-key="layer1"] .iv:not(.off) g.node',
                            has=page.locator("title", has_text="matmul_1"))
        assert "value" not in node.first.text_content()
        page.locator("#quiz-items .qq button.reveal").first.click()
        assert page.locator("#graph").get_attribute("data-asking") == ""
        assert "value [0.9618" in node.first.text_content()
        assert errors == []
    finally:
        ctx.close()


def test_collapsed_lenet_keeps_the_current_node_in_view(browser, tmp_path):
    model = gn.nn.lenet(size=8, seed=0)
    with gn.Graph("lenet") as g:
        x = gn.input("x", shape=(1, 1, 8, 8))
        t = gn.input("t", shape=(1,), dtype="int64")
        g.mark_output(gn.cross_entropy(model(x, train=False), t, name="loss"))
    tr = gn.trace(g, {"x": np.arange(64.0).reshape(1, 1, 8, 8) / 64, "t": np.array([3])})
    path = tmp_path / "lenet.html"
    tr.save(str(path), collapse=True)
    ctx, page, errors = open_sized(browser, path, (1280, 800))
    try:
        for k in range(len(tr)):
            if k:
                page.keyboard.press("ArrowRight")
            v = page.evaluate(VIEW_JS)
            assert v["inside"] and v["text_px"] >= player.READ_PX - 0.01, (k, v)
        assert errors == []
    finally:
        ctx.close()


def test_drag_and_keys_pan_the_graph(browser, mlp_file):
    ctx, page, errors = open_sized(browser, mlp_file, (1400, 900))
    try:
        def origin():
            b = page.locator("#stage").bounding_box()
            return round(b["x"]), round(b["y"])

        x0, y0 = origin()
        box = page.locator("#graph").bounding_box()
        page.mouse.move(box["x"] + 300, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(box["x"] + 360, box["y"] + 250, steps=5)
        page.mouse.up()
        assert origin() == (x0 + 60, y0 - 50)
        page.locator("#graph").focus()
        page.keyboard.press("Shift+ArrowLeft")  # the view moves right: the graph follows
        assert origin() == (x0 + 140, y0 - 50)
        page.keyboard.press("w")
        assert origin() == (x0 + 140, y0 + 30)
        assert page.locator("#graph").get_attribute("data-step") == "1"  # no step taken
        assert errors == []
    finally:
        ctx.close()
