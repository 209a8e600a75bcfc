"""The stylesheet, the icons and the script of the HTML step-through player
(graphnn.viz.player).

Plain CSS, inline SVG icons and JavaScript, inlined into the page: no CDN, no network,
no font glyph that a browser may lack (the Pause button is an SVG icon plus text). The
script reads the step table from ``<script id="steps-data">`` and the page facts
(provenance of every number, quiz tolerances) from ``<script id="page-data">``.
"""

_ICON = ('<svg class="ic" viewBox="0 0 12 12" width="12" height="12" aria-hidden="true">'
         '<path d="{}"/></svg>')
ICONS = {
    "prev": _ICON.format("M9 1 L3 6 L9 11 Z"),
    "next": _ICON.format("M3 1 L9 6 L3 11 Z"),
    "play": _ICON.format("M2 1 L11 6 L2 11 Z"),
    "pause": _ICON.format("M2 1 H5 V11 H2 Z M7 1 H10 V11 H7 Z"),
}

CSS = """
html,body{height:100%;margin:0}
body{font-family:"DejaVu Sans",system-ui,sans-serif;color:#111827;background:#fff}
#player{display:flex;flex-direction:column;height:100vh;box-sizing:border-box;
padding:8px 10px;gap:6px}
#controls{display:flex;gap:6px;align-items:center;flex-wrap:wrap;flex:none}
#controls button,#controls select{font-size:14px;padding:3px 10px;cursor:pointer}
#controls .ic{fill:currentColor;margin:0 4px;vertical-align:-1px}
#slider{flex:1 1 120px;min-width:80px}
#counter{font-variant-numeric:tabular-nums;min-width:6.5em}
#msg{background:#fef3c7;border:1px solid #f59e0b;padding:4px 8px;flex:none}
#main{display:flex;gap:10px;flex:1 1 auto;min-height:0}
#graph{flex:1 1 auto;min-width:0;position:relative;overflow:hidden;outline:none;
border:1px solid #e5e7eb;border-radius:4px;cursor:grab;touch-action:none;user-select:none}
#graph:focus-visible{border-color:#93c5fd}
#graph.dragging{cursor:grabbing}
#stage{position:absolute;left:0;top:0;transform-origin:0 0}
#stage svg{display:block;overflow:visible}
#stage .off{display:none}
#stage g.node{cursor:pointer}
.inset{position:absolute;background:#fff;border:2px solid #8b5cf6;border-radius:6px;
box-shadow:0 4px 16px rgba(0,0,0,.18);z-index:2}
.inset[hidden]{display:none}
.inset-bar{display:flex;justify-content:space-between;align-items:center;gap:8px;
background:#ede9fe;color:#5b21b6;font-size:12px;padding:2px 6px}
.inset-bar button{font-size:11px;padding:0 6px;cursor:pointer}
#side{flex:0 0 min(36%,27em);min-width:15em;display:flex;flex-direction:column;gap:6px;
overflow:auto;min-height:0}
#step-title{font-weight:bold}
#explain{flex:none}
#step-text,#step-formula{font-family:"DejaVu Sans Mono",monospace;font-size:14px;
white-space:pre-wrap;overflow-wrap:anywhere;margin:0 0 6px;max-height:38vh;overflow:auto}
#step-formula{color:#1d4ed8}
#step-latex{font-size:12px;color:#4b5563;white-space:pre-wrap;word-break:break-all}
#why{background:#f0f9ff;border:1px solid #7dd3fc;padding:4px 8px;font-size:13px;flex:none}
#why pre{font-family:"DejaVu Sans Mono",monospace;font-size:13px;white-space:pre-wrap;
margin:2px 0 4px}
#why a,#steps a{color:#374151;text-decoration:none}#why a{color:#1d4ed8}
#steps{flex:1 1 6em;min-height:3em;overflow:auto;font-size:12px;padding-left:3em;margin:0}
#steps a.here{font-weight:bold;color:#b45309}
#quiz{background:#f5f3ff;border:1px solid #c4b5fd;padding:4px 8px;font-size:13px;flex:none}
#quiz-head{font-weight:bold;display:flex;justify-content:space-between}
.qq{margin:4px 0}.qq p{margin:2px 0}
.qq input{width:9em;font-size:13px}.qq button{font-size:12px;cursor:pointer}
.qq .ok{color:#15803d}.qq .bad{color:#b91c1c}
.hide{display:none}
"""

JS = """
(function () {
  "use strict";
  function el(id) { return document.getElementById(id); }
  function json(id) { var e = el(id); return e ? JSON.parse(e.textContent) : {}; }
  var data = json("steps-data"), facts = json("page-data");
  var graph = el("graph"), stage = el("stage"), box = el("player");
  var total = +box.dataset.total, delay = +box.dataset.delay, cur = -1, timer = null;
  var slider = el("slider"), playBtn = el("play"), filter = el("filter");
  var links = document.querySelectorAll("#steps a");
  var prov = facts.prov || {}, quiz = facts.quiz || null;
  var ICON_PLAY = '<svg class="ic" viewBox="0 0 12 12" width="12" height="12" ' +
    'aria-hidden="true"><path d="M2 1 L11 6 L2 11 Z"/></svg>';
  var ICON_PAUSE = '<svg class="ic" viewBox="0 0 12 12" width="12" height="12" ' +
    'aria-hidden="true"><path d="M2 1 H5 V11 H2 Z M7 1 H10 V11 H7 Z"/></svg>';

  /* drawings: the main graph and one per collapsed layer (its inset) */
  function Drawing(nodes, rows) {
    this.els = {};
    var self = this;
    nodes.forEach(function (e) { self.els[e.dataset.c + "," + e.dataset.v] = e; });
    this.table = [];
    var row = [];
    rows.forEach(function (d) {
      (d || []).forEach(function (cv) { row[cv[0]] = cv[1]; });
      this.table.push(row.slice());
    }, this);
    this.shown = this.table[0].slice();
  }
  Drawing.prototype.set = function (row) {
    for (var j = 0; j < row.length; j++) {
      if (this.shown[j] !== row[j]) {
        var a = this.els[j + "," + this.shown[j]], b = this.els[j + "," + row[j]];
        if (a) a.classList.add("off");
        if (b) b.classList.remove("off");
        this.shown[j] = row[j];
      }
    }
  };
  var main = new Drawing(document.querySelectorAll("#graph .v"),
                         data.map(function (s) { return s.d; }));
  var before = data.map(function (s, k) {
    if (!s.qd) return null;
    var row = main.table[k ? k - 1 : 0].slice();
    s.qd.forEach(function (cv) { row[cv[0]] = cv[1]; });
    return row;
  });
  var insets = {};
  document.querySelectorAll("#stage .inset").forEach(function (e) {
    var key = e.dataset.key;
    insets[key] = {el: e, open: false, dr: new Drawing(e.querySelectorAll(".iv"),
      data.map(function (s) { return s.x && s.x[key]; }))};
  });

  /* the view: translate + scale of #stage inside #graph */
  var view = {s: 1, x: 0, y: 0}, W = +stage.dataset.w || 1, H = +stage.dataset.h || 1;
  /* the zoom at which the smallest node text (label_pt; 1 pt = 4/3 px) is facts.read px */
  var READ = (facts.read || 10.5) / ((facts.label_pt || 9) * 4 / 3);
  function applyView() {
    stage.style.transform = "translate(" + view.x.toFixed(1) + "px," + view.y.toFixed(1) +
      "px) scale(" + view.s.toFixed(4) + ")";
    graph.dataset.zoom = view.s.toFixed(3);
  }
  var zoomed = false;
  function pane() { return {w: graph.clientWidth || 1, h: graph.clientHeight || 1}; }
  function fitScale() {
    var p = pane();
    return Math.max(0.02, Math.min((p.w - 16) / W, (p.h - 16) / H));
  }
  function fit() {
    zoomed = false;
    var p = pane(), f = fitScale();
    view.s = f; view.x = (p.w - W * f) / 2; view.y = (p.h - H * f) / 2;
    applyView();
  }
  function home() {
    var f = fitScale(), s = Math.min(Math.max(f, READ), 2);
    if (s <= f * 1.0001) { view.s = s; var p = pane();
      view.x = (p.w - W * s) / 2; view.y = (p.h - H * s) / 2; applyView(); return; }
    view.s = s; view.x = 8; view.y = 8; applyView();
    follow(true);
  }
  function zoomAt(factor, cx, cy) {
    zoomed = true;  /* the reader's own scale: a window resize keeps it */
    var s2 = Math.max(0.02, Math.min(8, view.s * factor));
    view.x = cx - (cx - view.x) * s2 / view.s;
    view.y = cy - (cy - view.y) * s2 / view.s;
    view.s = s2;
    applyView();
  }
  function zoomCenter(factor) { var p = pane(); zoomAt(factor, p.w / 2, p.h / 2); }
  function panBy(dx, dy) { view.x += dx; view.y += dy; applyView(); }
  function titleOf(n) { var t = n.querySelector("title"); return t ? t.textContent : ""; }
  function findNode(root, sel, name) {
    var ns = root.querySelectorAll(sel);
    for (var j = 0; j < ns.length; j++) if (titleOf(ns[j]) === name) return ns[j];
    return null;
  }
  function currentEl() {
    var s = data[cur];
    if (!s) return null;
    var ins = s.box && insets[s.box];
    if (ins && ins.open) {
      var e = findNode(ins.el, ".iv:not(.off) g.node", s.node);
      if (e) return e;
    }
    return findNode(graph, ".v:not(.off) g.node", s.at || s.node);
  }
  function follow(center) {
    var e = currentEl();
    if (!e || !e.getBoundingClientRect) return;
    var r = e.getBoundingClientRect(), g = graph.getBoundingClientRect(), m = 10;
    var inside = r.left >= g.left + m && r.right <= g.right - m &&
      r.top >= g.top + m && r.bottom <= g.bottom - m;
    if (inside && !center) return;
    panBy(g.left + g.width / 2 - (r.left + r.width / 2),
          g.top + g.height / 2 - (r.top + r.height / 2));
  }

  /* steps, filter */
  function allowed(k) {
    var f = filter ? filter.value : "all";
    return f === "all" || data[k].phase === f;
  }
  function visible() {
    var out = [];
    for (var k = 0; k < data.length; k++) if (allowed(k)) out.push(k);
    return out;
  }
  function step(dir) {
    for (var k = cur + dir; k >= 0 && k < data.length; k += dir) if (allowed(k)) return k;
    return cur;
  }
  function asking(k) {
    var qs = data[k].q;
    if (!quiz || !qs) return false;
    var st = qstate[k] || [];
    for (var j = 0; j < qs.length; j++) if (!st[j] || !st[j].done) return true;
    return false;
  }
  function show(k, keepHash, force) {
    k = Math.max(0, Math.min(data.length - 1, k));
    if (k === cur && !force) return;
    cur = k;
    var s = data[k], ask = asking(k);
    main.set(ask ? before[k] : main.table[k]);
    /* while a question is open, an opened layer shows the state before the step */
    for (var key in insets) insets[key].dr.set(insets[key].dr.table[ask && k ? k - 1 : k]);
    for (var j = 0; j < links.length; j++) links[j].classList.toggle("here", j === k);
    graph.dataset.step = s.i;
    graph.dataset.node = s.node;
    graph.dataset.phase = s.phase;
    graph.dataset.kind = s.kind;
    graph.dataset.asking = ask ? "1" : "";
    el("step-title").textContent = s.title;
    el("step-text").textContent = s.text;
    el("step-formula").textContent = s.formula;
    el("step-latex").textContent = s.latex;
    var ex = el("explain");
    if (ex) ex.classList.toggle("hide", ask);
    renderQuiz(k);
    el("counter").textContent = "step " + s.i + " of " + total;
    var vis = visible(), pos = vis.indexOf(k);
    slider.max = Math.max(0, vis.length - 1);
    slider.value = pos < 0 ? 0 : pos;
    if (!keepHash) {
      try { history.replaceState(null, "", "#" + s.i); } catch (e) { /* sandboxed */ }
      say("");
    }
    follow(false);
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
    playBtn.innerHTML = ICON_PLAY + "Play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    var vis = visible();
    if (!vis.length) return;
    if (cur >= vis[vis.length - 1]) show(vis[0]);
    playBtn.innerHTML = ICON_PAUSE + "Pause";
    timer = setInterval(function () {
      var k = step(1);
      if (k === cur) stop(); else show(k);
    }, delay);
  }
  function applyFilter() {
    var items = document.querySelectorAll("#steps li");
    for (var j = 0; j < items.length; j++) items[j].hidden = !allowed(j);
    if (!allowed(cur)) {
      var vis = visible();
      if (vis.length) show(vis[0]);
    } else show(cur, true, true);
  }

  /* clicking a value or gradient: the step that computed it */
  function stepLink(k) {
    var a = document.createElement("a");
    a.href = "#" + data[k].i;
    a.dataset.k = k;
    a.textContent = "step " + data[k].i + " (" + data[k].phase + " " + data[k].kind + " " +
      data[k].node + ")";
    return a;
  }
  function explain(name, which) {
    var p = prov[name], why = el("why");
    if (!why || !p) return;
    why.textContent = "";
    var head = document.createElement("div");
    head.style.fontWeight = "bold";
    var k = -1, what = which === "grad" ? "gradient" : "value";
    if (which === "grad") {
      var gs = p[1];
      for (var j = 0; j < gs.length; j++) if (gs[j] <= cur) k = gs[j];
      if (k < 0 && gs.length) k = gs[0];
    } else k = p[0];
    if (k < 0) {
      head.textContent = "The " + what + " of " + name + " is not computed on this page.";
      why.appendChild(head);
    } else {
      head.textContent = "The " + what + " of " + name + " was computed at ";
      head.appendChild(stepLink(k));
      why.appendChild(head);
      var pre = document.createElement("pre");
      pre.textContent = data[k].text + (data[k].formula ? "\\n" + data[k].formula : "");
      if (!asking(k)) why.appendChild(pre);
    }
    why.hidden = false;
    why.dataset.node = name;
    why.dataset.step = k < 0 ? "" : data[k].i;
  }
  function toggleInset(key, open) {
    var ins = insets[key];
    if (!ins) return;
    ins.open = open === undefined ? !ins.open : open;
    if (ins.open) {
      var b = findNode(graph, ".v:not(.off) g.node", "[" + key + "]");
      if (b) {
        var r = b.getBoundingClientRect(), st = stage.getBoundingClientRect();
        ins.el.style.left = ((r.left - st.left) / view.s).toFixed(1) + "px";
        ins.el.style.top = ((r.top - st.top) / view.s).toFixed(1) + "px";
      }
    }
    ins.el.hidden = !ins.open;
    if (ins.open) {  /* bring the inset into view: its start edge first when too big */
      var r2 = ins.el.getBoundingClientRect(), g = graph.getBoundingClientRect();
      function shift(lo, hi, glo, ghi) {
        if (hi - lo > ghi - glo - 16 || lo < glo + 8) return glo + 8 - lo;
        return hi > ghi - 8 ? ghi - 8 - hi : 0;
      }
      panBy(shift(r2.left, r2.right, g.left, g.right),
            shift(r2.top, r2.bottom, g.top, g.bottom));
      follow(false);
    }
  }

  /* quiz */
  var qstate = {}, score = {right: 0, asked: 0};
  function numbers(t) {
    var NUM = "[-+]?(?:\\\\d+\\\\.?\\\\d*|\\\\.\\\\d+)(?:e[-+]?\\\\d+)?|[-+]?inf|nan",
      SEP = "[\\\\s\\\\[\\\\](),;]*";
    if (!new RegExp("^" + SEP + "(?:(?:" + NUM + ")" + SEP + ")+$", "i").test(t)) return null;
    return t.match(new RegExp(NUM, "gi")).map(num);
  }
  function num(v) {
    if (typeof v === "number") return v;
    var t = String(v).toLowerCase();
    return t === "inf" || t === "+inf" ? Infinity : t === "-inf" ? -Infinity :
      t === "nan" ? NaN : +t;
  }
  function close(got, exp) {
    if (!got || !(got.length === exp.length || got.length === 1)) return false;
    for (var j = 0; j < exp.length; j++) {
      var a = got.length === 1 ? got[0] : got[j], b = num(exp[j]);
      if (a === b) continue;
      if (!(Math.abs(a - b) <= quiz.atol + quiz.rtol * Math.abs(b))) return false;
    }
    return true;
  }
  function grade(k, j, answer, reveal) {
    var st = qstate[k] = qstate[k] || [], q = data[k].q[j];
    var s = st[j] = st[j] || {done: false, counted: false, msg: ""};
    var ok = !reveal && close(numbers(answer), q.expected);
    if (!s.counted) { s.counted = true; score.asked += 1; if (ok) score.right += 1; }
    if (ok) { s.done = true; s.msg = "correct: " + q.answer; s.cls = "ok"; }
    else if (reveal) { s.done = true; s.msg = "the answer is " + q.answer; s.cls = "bad"; }
    else { s.msg = numbers(answer) ? "not quite; try again or reveal" :
      "type a number or a list of numbers"; s.cls = "bad"; }
    show(k, true, true);
    var inp = document.querySelector("#quiz-items .qq[data-j='" + j + "'] input");
    if (inp && !s.done) inp.focus();
  }
  function renderQuiz(k) {
    var box = el("quiz-items");
    if (!box) return;
    el("quiz-score").textContent = "score " + score.right + " of " + score.asked;
    box.textContent = "";
    var qs = data[k].q || [], st = qstate[k] || [];
    if (!qs.length) {
      var p0 = document.createElement("p");
      p0.textContent = "Nothing to compute at this step.";
      box.appendChild(p0);
      return;
    }
    qs.forEach(function (q, j) {
      var s = st[j] || {}, row = document.createElement("div");
      row.className = "qq";
      row.dataset.j = j;
      var p = document.createElement("p");
      p.textContent = q.prompt;
      row.appendChild(p);
      if (!s.done) {
        var inp = document.createElement("input");
        inp.type = "text";
        inp.setAttribute("aria-label", "your answer");
        inp.placeholder = q.shape.length ? "[...]" : "number";
        var chk = document.createElement("button");
        chk.type = "button"; chk.className = "check"; chk.textContent = "Check";
        var rev = document.createElement("button");
        rev.type = "button"; rev.className = "reveal"; rev.textContent = "Reveal";
        chk.addEventListener("click", function () { grade(k, j, inp.value, false); });
        rev.addEventListener("click", function () { grade(k, j, "", true); });
        inp.addEventListener("keydown", function (e) {
          if (e.key === "Enter") { e.preventDefault(); grade(k, j, inp.value, false); }
        });
        row.appendChild(inp); row.appendChild(chk); row.appendChild(rev);
      }
      if (s.msg) {
        var v = document.createElement("div");
        v.className = "verdict " + (s.cls || "");
        v.textContent = s.msg;
        row.appendChild(v);
      }
      box.appendChild(row);
    });
  }

  /* events */
  el("prev").addEventListener("click", function () { stop(); show(step(-1)); });
  el("next").addEventListener("click", function () { stop(); show(step(1)); });
  playBtn.addEventListener("click", play);
  slider.addEventListener("input", function () {
    stop();
    var vis = visible();
    if (vis.length) show(vis[Math.max(0, Math.min(vis.length - 1, +slider.value))]);
  });
  if (filter) filter.addEventListener("change", function () { stop(); applyFilter(); });
  function on(id, f) { var e = el(id); if (e) e.addEventListener("click", f); }
  on("zoom-in", function () { zoomCenter(1.25); });
  on("zoom-out", function () { zoomCenter(0.8); });
  on("zoom-fit", fit);
  var PAN = {ArrowUp: [0, 1], ArrowDown: [0, -1], ArrowLeft: [1, 0], ArrowRight: [-1, 0]};
  var WASD = {w: [0, 1], s: [0, -1], a: [1, 0], d: [-1, 0]};
  document.addEventListener("keydown", function (e) {
    var t = e.target || {}, tag = t.tagName;
    if (e.altKey || e.ctrlKey || e.metaKey || t === slider) return;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    var key = e.key || "", d = (e.shiftKey && PAN[key]) ||
      (key.length === 1 && WASD[key.toLowerCase()]) ||
      ((key === "ArrowUp" || key === "ArrowDown") && PAN[key]);
    if (d) { panBy(d[0] * 80, d[1] * 80); e.preventDefault(); return; }
    if (key === "+" || key === "=") { zoomCenter(1.25); e.preventDefault(); return; }
    if (key === "-" || key === "_") { zoomCenter(0.8); e.preventDefault(); return; }
    if (key === "0") { fit(); e.preventDefault(); return; }
    var vis = visible();
    var go = {ArrowRight: step(1), ArrowLeft: step(-1), Home: vis[0],
              End: vis[vis.length - 1]}[key];
    if (go !== undefined) { stop(); show(go); e.preventDefault(); }
    else if (key === " " && tag !== "BUTTON") { play(); e.preventDefault(); }
  });
  graph.addEventListener("wheel", function (e) {
    var g = graph.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)),
           e.clientX - g.left, e.clientY - g.top);
    e.preventDefault();
  }, {passive: false});
  var drag = null, moved = false;
  graph.addEventListener("mousedown", function (e) {
    if (e.button !== 0 || (e.target.closest && e.target.closest(".inset-bar"))) return;
    drag = {x: e.clientX, y: e.clientY, vx: view.x, vy: view.y};
    moved = false;
  });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    moved = true;
    graph.classList.add("dragging");
    view.x = drag.vx + dx; view.y = drag.vy + dy;
    applyView();
  });
  window.addEventListener("mouseup", function () {
    drag = null;
    graph.classList.remove("dragging");
  });
  graph.addEventListener("click", function (e) {
    if (moved) { moved = false; return; }
    var t = e.target;
    if (!t.closest) return;
    var bar = t.closest(".inset");
    if (t.closest(".inset-close") && bar) { toggleInset(bar.dataset.key, false); return; }
    var n = t.closest("g.node");
    if (!n) return;
    var name = titleOf(n), txt = t.closest("text");
    var line = txt ? txt.textContent : "";
    var which = /^grad\\b/.test(line) ? "grad" : "value";
    var m = /^\\[(.*)\\]$/.exec(name);
    if (m && insets[m[1]] && !bar) toggleInset(m[1]);
    explain(name, which);
  });
  el("why").addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a");
    if (a && a.dataset.k !== undefined) { e.preventDefault(); stop(); show(+a.dataset.k); }
  });
  window.addEventListener("hashchange", function () {
    var k = fromHash();
    if (k === null) return;
    if (!allowed(k) && filter) { filter.value = "all"; applyFilter(); }
    show(k, true);
  });
  window.addEventListener("resize", function () { if (zoomed) follow(true); else home(); });
  el("steps").addEventListener("click", function (e) {
    var a = e.target.closest("a");
    if (a) { e.preventDefault(); stop(); show(+a.dataset.k); }
  });
  var k0 = fromHash();
  show(k0 === null ? 0 : k0, true);
  home();
})();
"""
