"""Step-through export: stable frames, numbered SVGs, GIF, and the offline HTML player
driven in real headless Chromium (skipped with a reason when it is not installed)."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import graphnn as gn
from graphnn.viz import player

from ._trace_fake import FakeTrace

CHROMIUM = "/usr/bin/chromium"
SVG = "{http://www.w3.org/2000/svg}"


def make_trace() -> object:
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        (d * z).named("f")
    return gn.trace(g, {"x": 1, "y": -3, "z": 4}, wrt=[x, y, z])


def node_boxes(svg: str) -> dict[str, str]:
    """Node title -> the outline geometry (path d / polygon points) of its shape."""
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if "node" in (g.get("class") or "").split():
            shape = next(e for e in g.iter() if e.tag in (f"{SVG}path", f"{SVG}polygon"))
            out[g.find(f"{SVG}title").text] = shape.get("d") or shape.get("points")
    return out


def test_frames_keep_every_node_in_place() -> None:
    tr = make_trace()
    svgs = player.frames(tr)
    assert len(svgs) == len(tr) >= 7
    first = node_boxes(svgs[0])
    for svg in svgs[1:]:
        assert node_boxes(svg) == first
    assert svgs[0] != svgs[-1]  # the numbers and the highlight change


def test_player_needs_only_the_trace_interface(tmp_path: Path) -> None:
    """Any object with graph, len, [i] (index/phase/node/targets/str) and state_at works."""
    with gn.Graph("fan") as g:
        a = gn.input("a")
        (a * a + a).named("out")
    fake = FakeTrace(g, {"a": 3.0}, [a])
    svgs = player.frames(fake)
    assert len(svgs) == len(fake) and "grad 7" in svgs[-1]  # d(a*a + a)/da = 2a + 1
    assert player.save(fake, tmp_path / "fan.html").stat().st_size > 0


def test_save_frames_numbered(tmp_path: Path) -> None:
    tr = make_trace()
    paths = player.save_frames(tr, tmp_path / "frames")
    assert [p.name for p in paths[:2]] == ["frame_000.svg", "frame_001.svg"]
    assert len(paths) == len(tr) and all(p.read_text().lstrip().startswith("<?xml")
                                         for p in paths)


def test_gif(tmp_path: Path) -> None:
    from PIL import Image

    tr = make_trace()
    out = player.save(tr, tmp_path / "backprop.gif")
    with Image.open(out) as im:
        assert im.format == "GIF" and im.n_frames == len(tr)


def test_save_rejects_single_svg_and_unknown_suffix(tmp_path: Path) -> None:
    tr = make_trace()
    with pytest.raises(gn.GraphError, match="save_frames"):
        player.save(tr, tmp_path / "x.svg")
    with pytest.raises(gn.GraphError, match=".html or .gif"):
        player.save(tr, tmp_path / "x.mp4")


def test_html_is_self_contained(tmp_path: Path) -> None:
    tr = make_trace()
    page = player.save(tr, tmp_path / "p.html").read_text()
    assert page.count("<script") == 1 and "src=" not in page.split("<script")[1][:20]
    assert not re.search(r"https?://(?!www\.w3\.org)", page)  # only SVG namespaces
    bundle = player.mimebundle(tr)
    assert bundle["text/html"].startswith("<iframe srcdoc=")
    assert 'sandbox="allow-scripts"' in bundle["text/html"]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (install Debian's chromium: apt-get install -y "
                    "chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync",
            "--disable-quic"])
        yield b
        b.close()


def test_html_player_in_headless_chromium(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    tr = make_trace()
    path = player.save(tr, tmp_path / "backprop.html")
    ctx = browser.new_context(offline=True)
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    ctx.route("**/*", lambda route: route.abort() if not route.request.url.startswith(
        "file:") else route.continue_())
    page.goto(path.resolve().as_uri())

    def state() -> tuple[str, str, str]:
        return (page.locator("#graph g.node.current title").text_content(),
                page.locator("#text").text_content(),
                page.locator("#counter").text_content())

    s0 = state()
    assert s0[0] == tr[0].node.name and s0[1] == str(tr[0]) and s0[2] == f"1 / {len(tr)}"
    page.click("#next")
    s1 = state()
    assert s1[0] == tr[1].node.name != s0[0] and s1[1] == str(tr[1]) != s0[1]
    page.keyboard.press("ArrowRight")
    s2 = state()
    assert s2[1] == str(tr[2]) and s2[2] == f"3 / {len(tr)}"
    page.keyboard.press("ArrowLeft")
    assert state() == s1
    page.locator("#slider").fill(str(len(tr) - 1))
    assert state()[1] == str(tr[len(tr) - 1])
    page.goto(path.resolve().as_uri() + "#5")
    assert state()[2] == f"5 / {len(tr)}"
    assert [u for u in requests if not u.startswith("file:")] == []
    ctx.close()
