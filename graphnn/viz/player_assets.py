"""The stylesheet and the script of the HTML step-through player (graphnn.viz.player).

Plain CSS and JavaScript, inlined into the page: no CDN, no network. The script reads
the step table from ``<script id="steps-data">`` and shows one ``.frame`` at a time.
"""

CSS = """
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:12px;color:#111827;background:#fff}
#controls{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-bottom:8px}
#controls button{font-size:15px;padding:4px 12px;cursor:pointer}
#slider{flex:1 1 200px}
#counter{font-variant-numeric:tabular-nums;min-width:6em}
#main{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
#graph{flex:1 1 560px;min-width:280px;overflow:auto}
#graph svg{width:100%;height:auto;max-height:78vh}
#graph .off{display:none}
#main.wide{flex-direction:column}#main.wide #graph{flex-basis:auto;width:100%}
#main.wide #side{flex-basis:auto}
#side{flex:0 1 30em;min-width:18em}
#step-title{font-weight:bold;margin-bottom:6px}
#step-text,#step-formula{font-family:"DejaVu Sans Mono",monospace;font-size:15px;
white-space:pre-wrap;margin:0 0 8px}
#step-formula{color:#1d4ed8}
#step-latex{font-size:12px;color:#4b5563;white-space:pre-wrap;word-break:break-all}
#steps{max-height:16em;overflow:auto;font-size:12px;padding-left:3em}
#msg{background:#fef3c7;border:1px solid #f59e0b;padding:4px 8px;margin-bottom:8px}
#steps a{color:#374151;text-decoration:none}#steps a.here{font-weight:bold;color:#b45309}
"""

JS = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("steps-data").textContent);
  var graph = document.getElementById("graph"), els = {}, table = [], row = [];
  data.forEach(function (s) {
    s.d.forEach(function (cv) { row[cv[0]] = cv[1]; });
    table.push(row.slice());
  });
  var shown = table[0].slice();
  document.querySelectorAll("#graph .v").forEach(function (e) {
    els[e.dataset.c + "," + e.dataset.v] = e;
  });
  var links = document.querySelectorAll("#steps a");
  var slider = document.getElementById("slider"), playBtn = document.getElementById("play");
  var box = document.getElementById("player"), total = +box.dataset.total;
  var delay = +box.dataset.delay, cur = -1, timer = null;
  function el(id) { return document.getElementById(id); }
  function show(k, keepHash) {
    k = Math.max(0, Math.min(data.length - 1, k));
    if (k === cur) return;
    cur = k;
    var s = data[k];
    for (var j = 0; j < shown.length; j++) {
      if (shown[j] !== table[k][j]) {
        els[j + "," + shown[j]].classList.add("off");
        els[j + "," + table[k][j]].classList.remove("off");
        shown[j] = table[k][j];
      }
    }
    for (j = 0; j < links.length; j++) links[j].classList.toggle("here", j === k);
    graph.dataset.step = s.i;
    graph.dataset.node = s.node;
    graph.dataset.phase = s.phase;
    graph.dataset.kind = s.kind;
    el("step-title").textContent = s.title;
    el("step-text").textContent = s.text;
    el("step-formula").textContent = s.formula;
    el("step-latex").textContent = s.latex;
    el("counter").textContent = "step " + s.i + " of " + total;
    slider.value = k;
    if (!keepHash) {
      try { history.replaceState(null, "", "#" + s.i); } catch (e) { /* sandboxed */ }
      say("");
    }
  }
  function say(text) {
    var msg = el("msg");
    msg.textContent = text;
    msg.hidden = !text;
  }
  function fromHash() {
    var m = /^#(\\d+)$/.exec(location.hash);
    if (!m) return null;
    for (var k = 0; k < data.length; k++) if (data[k].i === +m[1]) { say(""); return k; }
    say(+m[1] >= 1 && +m[1] <= total ?
        "Step " + m[1] + " is not part of this page: it shows steps " + data[0].i + " to " +
        data[data.length - 1].i + " of " + total + "." :
        "There is no step " + m[1] + ": this trace has steps 1 to " + total + ".");
    return null;
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playBtn.textContent = "\\u25b6 Play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (cur >= data.length - 1) show(0);
    playBtn.textContent = "\\u23f8 Pause";
    timer = setInterval(function () {
      if (cur >= data.length - 1) stop(); else show(cur + 1);
    }, delay);
  }
  el("prev").addEventListener("click", function () { stop(); show(cur - 1); });
  el("next").addEventListener("click", function () { stop(); show(cur + 1); });
  playBtn.addEventListener("click", play);
  slider.addEventListener("input", function () { stop(); show(+slider.value); });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.target === slider) return;
    var go = {ArrowRight: cur + 1, ArrowLeft: cur - 1, Home: 0, End: data.length - 1}[e.key];
    if (go !== undefined) { stop(); show(go); e.preventDefault(); }
    else if (e.key === " " && e.target.tagName !== "BUTTON") { play(); e.preventDefault(); }
  });
  window.addEventListener("hashchange", function () {
    var k = fromHash();
    if (k !== null) show(k, true);
  });
  el("steps").addEventListener("click", function (e) {
    var a = e.target.closest("a");
    if (a) { e.preventDefault(); stop(); show(+a.dataset.k); }
  });
  var k0 = fromHash();
  show(k0 === null ? 0 : k0, true);
})();
"""
