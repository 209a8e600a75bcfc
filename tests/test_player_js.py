"""The HTML player's script under Node with a minimal DOM stand-in (runs where no browser
is installed; the Chromium tests in test_player.py drive the real page): the ``#k`` links
count from 1 like every other view, and an out-of-range ``#k`` shows a visible message."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

import graphnn as gn
from graphnn.viz import player
from graphnn.viz.player_assets import JS

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

STUB = r"""
const page = JSON.parse(require("fs").readFileSync(0, "utf8"));
function elem(extra) {
  const cls = new Set(extra.off ? ["off"] : []);
  return Object.assign({textContent: "", hidden: false, value: 0, dataset: {},
    classList: {add: c => cls.add(c), remove: c => cls.delete(c),
                toggle: (c, on) => on ? cls.add(c) : cls.delete(c), has: c => cls.has(c)},
    addEventListener() {}, querySelectorAll: () => [], querySelector: () => null,
    style: {}}, extra);
}
const ids = {};
["graph", "stage", "slider", "play", "prev", "next", "step-title", "step-text",
 "step-formula", "step-latex", "counter", "steps", "explain", "why"].forEach(
  i => ids[i] = elem({}));
ids["msg"] = elem({hidden: true});
ids["steps-data"] = elem({textContent: page.blob});
ids["player"] = elem({dataset: {total: String(page.total), delay: "100"}});
const versions = page.versions.map(([c, v, off]) => elem({dataset: {c: String(c),
  v: String(v)}, off}));
const links = page.data_k.map(() => elem({}));
let hashHandler = null;
global.document = {getElementById: i => ids[i] || null,
  querySelectorAll: q => q.startsWith("#graph .v") ? versions :
    q === "#steps a" ? links : [],
  addEventListener() {}};
global.location = {hash: page.hash};
global.history = {replaceState: (a, b, h) => { location.hash = h; }};
global.window = {addEventListener: (ev, f) => { if (ev === "hashchange") hashHandler = f; }};
eval(page.js);
const out = [];
function snap() {
  out.push({step: ids["graph"].dataset.step, node: ids["graph"].dataset.node,
            counter: ids["counter"].textContent, msg: ids["msg"].hidden ? null :
            ids["msg"].textContent, hash: location.hash});
}
snap();
for (const h of page.then) { location.hash = h; hashHandler(); snap(); }
console.log(JSON.stringify(out));
"""


def run_player(doc: str, hash_: str, then: list[str] | None = None) -> list[dict]:
    blob = re.search(r'<script type="application/json" id="steps-data">(.*?)</script>',
                     doc, re.S).group(1)
    total = int(re.search(r'data-total="(\d+)"', doc).group(1))
    versions = [(int(c), int(v), bool(off)) for off, c, v in
                re.findall(r'class="v( off)?" data-c="(\d+)" data-v="(\d+)"', doc)]
    data_k = re.findall(r'data-k="(\d+)"', doc)
    page = {"blob": json.loads(json.dumps(blob)), "total": total, "versions": versions,
            "data_k": data_k, "hash": hash_, "then": then or [], "js": JS}
    res = subprocess.run([NODE, "-e", STUB], input=json.dumps(page), text=True,
                         capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def lecture_doc() -> str:
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        (d * z).named("f")
    return player.page(gn.trace(g, {"x": 1, "y": -3, "z": 4}))


def test_hash_k_opens_step_k_of_n(lecture_doc: str) -> None:
    first, *_ = run_player(lecture_doc, "#7")
    assert first == {"step": 7, "node": "d", "counter": "step 7 of 7", "msg": None,
                     "hash": "#7"}
    assert run_player(lecture_doc, "#4")[0]["node"] == "d"
    assert run_player(lecture_doc, "#1")[0]["node"] == "x"
    assert 'href="#7"' in lecture_doc and 'href="#0"' not in lecture_doc
    titles = [d["title"] for d in json.loads(re.search(
        r'id="steps-data">(.*?)</script>', lecture_doc, re.S).group(1))]
    assert titles[-1] == "step 7 of 7 · backward · vjp at d"


def test_out_of_range_hash_says_so(lecture_doc: str) -> None:
    shown = run_player(lecture_doc, "#8", then=["#0", "#5"])
    assert shown[0]["node"] == "x"  # falls back to the first step
    assert shown[0]["msg"] == "There is no step 8: this trace has steps 1 to 7."
    assert shown[1]["msg"] == "There is no step 0: this trace has steps 1 to 7."
    assert shown[2]["msg"] is None and shown[2]["node"] == "f"


def test_partial_page_names_the_steps_it_shows() -> None:
    with gn.Graph("lecture") as g:
        x, y = gn.input("x"), gn.input("y")
        (x * y).named("f")
    doc = player.page(gn.trace(g, {"x": 2.0, "y": 3.0}), steps="backward")
    shown = run_player(doc, "#1")
    assert shown[0]["msg"] == "Step 1 is not part of this page: it shows steps 4 to 4 of 4."
    assert "step 4 of 4 (frame 1/1)" in json.loads(re.search(
        r'id="steps-data">(.*?)</script>', doc, re.S).group(1))[0]["title"]
