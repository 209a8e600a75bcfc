"""Step-through export of a :class:`~graphnn.teach.trace.Trace`: an offline HTML
player, an animated GIF, numbered SVG/PNG frames and the notebook display.

Every frame is the graph drawn as by ``gn.render`` (``to_dot`` + an engine) with the
values and gradients known after that step and the step's node highlighted. Node sizes
are fixed over the whole trace, so nodes keep their place from frame to frame. Cost:
one Graphviz run per frame (a few ms for a lecture-sized graph, with ``dot`` or the
in-process WebAssembly engine); traces longer than ``MAX_STEPS`` need ``steps=`` or
``max_steps=``.

>>> import os, tempfile, graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     f = ((x + y).named("d") * z).named("f")
>>> t = gn.trace(g, {"x": 1, "y": -3, "z": 4})
>>> folder = tempfile.mkdtemp()
>>> page = save(t, os.path.join(folder, "backprop.html"))
>>> [os.path.basename(p) for p in save_frames(t, folder, steps="backward")]
['frame_000.svg', 'frame_001.svg']
>>> sorted(mimebundle(t))
['text/html', 'text/plain']
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphnn.core.errors import GraphError
from graphnn.core.op import ADAPTERS
from graphnn.viz import engine as E
from graphnn.viz import style as S
from graphnn.viz.dot import _owners, const_copies, make_options, to_dot
from graphnn.viz.player_assets import CSS, ICONS, JS
from graphnn.viz.style import colorize
from graphnn.viz.svgframes import fixed_boxes as _fixed_boxes
from graphnn.viz.svgframes import framed as _framed
from graphnn.viz.svgframes import layers
from graphnn.viz.svgframes import svg_body as _svg_body
from graphnn.viz.svgframes import svg_size as _svg_size

MAX_STEPS = 500   # more frames than this need an explicit steps= / max_steps=
DELAY_MS = 1200   # time per step when playing (HTML) and per GIF frame


class _State:
    """A Run look-alike holding the values and gradients known at one step (what
    ``to_dot`` reads from a run: ``has_value/value/has_grad/grad``)."""

    def __init__(self, values: Mapping[int, Any], grads: Mapping[int, Any]) -> None:
        self.values, self.grads = values, grads

    def has_value(self, n: Any) -> bool:
        return n.id in self.values

    def value(self, n: Any) -> Any:
        return self.values[n.id]

    def has_grad(self, n: Any) -> bool:
        return n.id in self.grads

    def grad(self, n: Any) -> Any:
        return self.grads[n.id]


def _select(trace: Any, steps: Any, max_steps: int | None) -> list[int]:
    """Indices of the steps to draw: all, a phase name, or an iterable of indices."""
    n = len(trace)
    if steps is None:
        idx = list(range(n))
    elif isinstance(steps, str):
        if steps not in ("forward", "backward"):
            raise GraphError(f"steps= must be 'forward', 'backward' or step indices, "
                             f"got {steps!r}")
        idx = [s.index for s in trace if s.phase == steps]
    else:
        try:
            picked = {int(i) for i in steps}
        except (TypeError, ValueError):
            raise GraphError("steps= must be 'forward', 'backward' or an iterable of "
                             f"step indices, got {steps!r}") from None
        bad = [i for i in picked if not -n <= i < n]
        if bad:
            raise GraphError(f"step {bad[0]} is out of range for a trace of {n} steps")
        idx = sorted({i % n for i in picked})
    if not idx:
        raise GraphError("nothing to draw: the trace (or the steps= selection) is empty")
    limit = MAX_STEPS if max_steps is None and steps is None else max_steps
    if limit is not None and len(idx) > limit:
        raise GraphError(f"the trace has {len(idx)} steps: drawing them costs one Graphviz "
                         f"run each; pass steps=range(a, b) (or 'forward'/'backward') to pick "
                         f"some, or max_steps={len(idx)} to draw them all")
    return idx


def fixed_sizes(trace: Any, idx: Iterable[int], **options: Any) -> dict[int, tuple[float, float]]:
    """Node id -> (width, height) in inches: the largest label each node gets in the
    selected frames, so that frames share one layout."""
    opt = make_options(**options)
    g = trace.graph

    def size(n: Any, v: Any, gr: Any) -> tuple[float, float]:
        lines = S.label_lines(n, v if opt.show_values else None, gr if opt.show_values
                              else None, show_shapes=opt.show_shapes, max_inline=opt.max_inline)
        return S.estimate_size(lines)

    sizes = {n.id: size(n, None, None) for n in g.nodes}
    seen: dict[int, tuple[int, int]] = {}
    for i in idx:
        values, grads = trace.state_at(i)
        for n in g.nodes:
            v, gr = values.get(n.id), grads.get(n.id)
            key = (id(v), id(gr))
            if (v is None and gr is None) or seen.get(n.id) == key:
                continue
            seen[n.id] = key
            w, h = size(n, v, gr)
            w0, h0 = sizes[n.id]
            sizes[n.id] = (max(w, w0), max(h, h0))
    return sizes


def _graph_svgs(trace: Any, idx: list[int], engine: str | None,
                options: dict[str, Any], before: Iterable[int] = ()) -> list[str]:
    """The graph at each selected step (current node highlighted), as SVG text; then,
    for each index in ``before``, the graph as it was just BEFORE that step, with the
    step's node highlighted (the quiz's question frames)."""
    opts = dict(options)
    if opts.get("fixed_sizes") is None:
        opts["fixed_sizes"] = fixed_sizes(trace, idx, **options)
    srcs = []
    for i in idx:
        values, grads = trace.state_at(i)
        srcs.append(to_dot(trace.graph, _State(values, grads), step=trace[i], **opts))
    for i in before:
        values, grads = trace.state_at(i - 1) if i > 0 else ({}, {})
        srcs.append(to_dot(trace.graph, _State(values, grads), step=trace[i], **opts))
    return [E.dot_to(src, "svg", engine, post=colorize).decode("utf-8")
            for src in _fixed_boxes(srcs)]


def _kind(step: Any) -> str:
    """The step's kind ("eval", "vjp", "accumulate"); the phase for minimal steps."""
    return str(getattr(step, "kind", step.phase))


def _text(step: Any) -> str:
    return str(getattr(step, "text", step))


def number(step: Any) -> int:
    """The 1-based step number (``step.number``; ``index + 1`` for minimal steps)."""
    return int(getattr(step, "number", step.index + 1))


def _title(step: Any, k: int, n: int, total: int) -> str:
    """``step 4 of 7 · forward · eval d`` (``frame k/n`` added when a selection is drawn)."""
    what = "vjp at" if _kind(step) == "vjp" else _kind(step)
    frame = f" (frame {k + 1}/{n})" if n != total else ""
    return f"step {number(step)} of {total}{frame} · {step.phase} · {what} {step.node.name}"


def _formula(step: Any) -> list[str]:
    local = getattr(step, "local", None) or ()
    local = [local] if isinstance(local, str) else local
    return [f"local: {getattr(loc, 'text', loc)}" for loc in local if loc is not None]


def _extra_formula(step: Any) -> list[str]:
    """The ``local:`` lines, unless the step's text already shows its local derivatives."""
    text = _text(step).splitlines()
    return [] if any(ln.startswith("local ") for ln in text) else _formula(step)


def _caption(step: Any, k: int, n: int, total: int, width: int = 110) -> list[str]:
    lines = [_title(step, k, n, total), *_text(step).splitlines(), *_extra_formula(step)]
    return [s if len(s) <= width else s[: width - 1] + "…" for s in lines]


def frames(trace: Any, *, steps: Any = None, max_steps: int | None = None,
           engine: str | None = None, **options: Any) -> list[str]:
    """Standalone SVG frames (graph + step caption, all one size), one per step."""
    idx = _select(trace, steps, max_steps)
    svgs = _graph_svgs(trace, idx, engine, options)
    return _framed(svgs, [_caption(trace[i], k, len(idx), len(trace))
                                 for k, i in enumerate(idx)])


def save_frames(trace: Any, folder: str | os.PathLike[str], *, format: str = "svg",
                steps: Any = None, max_steps: int | None = None, engine: str | None = None,
                **options: Any) -> list[Path]:
    """Write ``frame_000.svg``, ``frame_001.svg``, ... (or ``.png``) into ``folder``.

    The folder is created if needed; stale ``frame_NNN`` files of the same format
    from an earlier, longer export are removed. Returns the paths, in step order.
    """
    if format not in ("svg", "png"):
        raise GraphError(f"save_frames writes svg or png frames, not {format!r}")
    svgs = frames(trace, steps=steps, max_steps=max_steps, engine=engine, **options)
    d = Path(folder)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GraphError(f"cannot create the frame folder {d}: {e}") from None
    digits = max(3, len(str(len(svgs) - 1)))
    paths = []
    for k, svg in enumerate(svgs):
        p = d / f"frame_{k:0{digits}d}.{format}"
        E.write(p, svg if format == "svg" else E.svg_to_png(svg))
        paths.append(p)
    keep = {str(p) for p in paths}
    for old in d.glob(f"frame_*.{format}"):
        if re.fullmatch(rf"frame_\d+\.{format}", old.name) and str(old) not in keep:
            old.unlink()
    return paths


def gif(trace: Any, *, delay_ms: int = DELAY_MS, max_width: int = 1600, steps: Any = None,
        max_steps: int | None = None, engine: str | None = None, **options: Any) -> bytes:
    """The step-through as an animated GIF (one frame per step, looping); frames wider
    than ``max_width`` pixels are scaled down."""
    try:
        from PIL import Image
    except ImportError:
        raise GraphError("GIF export needs Pillow: pip install Pillow") from None
    svgs = frames(trace, steps=steps, max_steps=max_steps, engine=engine, **options)
    zoom = min(1.0, max_width / (max(_svg_size(s)[0] for s in svgs) * 4 / 3))
    imgs = [Image.open(io.BytesIO(E.svg_to_png(s, zoom=zoom))).convert("RGB") for s in svgs]
    w, h = max(i.width for i in imgs), max(i.height for i in imgs)
    pal = []
    for im in imgs:
        if im.size != (w, h):  # pad to one size (frames are built equal; be safe)
            canvas = Image.new("RGB", (w, h), "white")
            canvas.paste(im, (0, 0))
            im = canvas
        pal.append(im.quantize(colors=255, method=Image.Quantize.FASTOCTREE))
    buf = io.BytesIO()
    durations = [delay_ms] * (len(pal) - 1) + [delay_ms * 3]
    pal[0].save(buf, format="GIF", save_all=True, append_images=pal[1:], loop=0,
                duration=durations, disposal=1, optimize=False)
    return buf.getvalue()


# -- the HTML player ------------------------------------------------------------------
READ_PX = 10.5      # the player zooms in until the smallest label text is this big (px)
PANE_PX = (880, 620)  # a typical graph pane (px), to choose the layout direction
QUIZ_KINDS = ("value", "grad", "local", "any")


def _step_data(step: Any, k: int, n: int, total: int) -> dict[str, Any]:
    return {"i": number(step), "node": step.node.name, "phase": step.phase,
            "kind": _kind(step), "title": _title(step, k, n, total),
            "text": _text(step), "formula": "\n".join(_formula(step)),
            "latex": str(getattr(step, "latex", ""))}


def page(trace: Any, *, delay_ms: int = DELAY_MS, steps: Any = None,
         max_steps: int | None = None, engine: str | None = None, compact: bool = True,
         quiz: bool | str = False, **options: Any) -> str:
    """The self-contained HTML player (inline SVG and plain JavaScript).

    The graph sits beside the step explanation; it opens fitted to its pane, or, when
    that would make labels smaller than ``READ_PX``, zoomed in on the current node
    (which stays in view from step to step). Wheel, drag, ``+``/``-``/``0`` and
    Shift+arrows or WASD zoom and pan; ArrowLeft/ArrowRight step. ``rankdir`` ("LR"
    or "TB") sets the layout direction; by default the one that fits a typical pane
    best. With ``collapse`` the layer boxes open in place on a click.

    ``compact``: store each distinct version of a node once (the frames share one
    layout); False stores one whole SVG per step (a larger file). ``quiz``: True (or
    "value", "grad", "local", "any") hides the number each step computes until the
    student answers it (checked with a tolerance) or reveals it, and keeps a score.
    """
    return _page(trace, delay_ms, steps, max_steps, engine, options, compact, quiz)[0]


def _frames_html(svgs: list[str], compact: bool, cls: str = "v",
                 prefix: str = "") -> tuple[str, list[list[int]]]:
    """The drawing: every version of every group, those of the first frame shown."""
    head, versions, tail, table = (layers(svgs) if compact else
                                   ("", [[s[s.find("<svg"):] for s in svgs]], "",
                                    [[k] for k in range(len(svgs))]))
    tag = "g" if head else "div"
    out = [_svg_body(head, f"{prefix}h-") if head else ""]
    for j, vers in enumerate(versions):
        for v, chunk in enumerate(vers):
            off = "" if table[0][j] == v else " off"
            out.append(f'<{tag} class="{cls}{off}" data-c="{j}" data-v="{v}">'
                       f"{_svg_body(chunk, f'{prefix}c{j}v{v}-') if head else _svg_body(chunk, f'{prefix}v{v}-')}"  # noqa: E501
                       f"</{tag}>")
    out.append(tail)
    return "\n".join(out), table


def _diff(prev: list[int], row: list[int]) -> list[list[int]]:
    return [[j, v] for j, v in enumerate(row) if j >= len(prev) or prev[j] != v]


def _diffs(table: list[list[int]]) -> list[list[list[int]]]:
    """Per frame, the [group, version] pairs that change from the frame before."""
    prev: list[int] = []
    out = []
    for row in table:
        out.append(_diff(prev, row))
        prev = row
    return out


def _esc(text: str) -> str:
    """HTML text or attribute; lone surrogates (unencodable) as visible escapes."""
    return html.escape(text).encode("utf-8", "backslashreplace").decode("utf-8")


def script_json(data: Any) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&`` (so neither ``</script>`` nor
    ``<!--`` can end or change the script) and U+2028/U+2029 as \\u escapes."""
    text = json.dumps(data, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _label_pt(svgs: list[str]) -> float:
    """The smallest font size (pt) of the text inside the nodes of the drawings (9 pt if
    none is found): what the player's zoom keeps at least ``READ_PX`` tall."""
    sizes = [float(f) for svg in svgs for chunk in re.split(r'class="(?:edge|cluster)', svg)
             for part in chunk.split('class="node')[1:]
             for f in re.findall(r'font-size="([\d.]+)"', part)]
    return min(sizes, default=9.0)


def _natural_size(trace: Any, i: int, engine: str | None, options: dict[str, Any],
                  rankdir: str) -> tuple[float, float]:
    values, grads = trace.state_at(i)
    src = to_dot(trace.graph, _State(values, grads), step=trace[i],
                 **dict(options, rankdir=rankdir))
    return _svg_size(E.dot_to(src, "svg", engine).decode("utf-8"))


def auto_rankdir(trace: Any, i: int, engine: str | None, options: dict[str, Any]) -> str:
    """"LR" or "TB": the direction whose drawing (of step ``i``) fits ``PANE_PX`` at
    the larger scale (LR unless TB is clearly better). Two Graphviz runs."""
    fit = {}
    for d in ("LR", "TB"):
        w, h = _natural_size(trace, i, engine, options, d)
        fit[d] = min(1.0, PANE_PX[0] / (w * 4 / 3), PANE_PX[1] / (h * 4 / 3))
    return "TB" if fit["TB"] > 1.15 * fit["LR"] else "LR"


class _Nodes(list):  # type: ignore[type-arg]
    """A list of nodes that is also indexed by node id (what ``to_dot`` expects)."""

    def __init__(self, nodes: list[Any]) -> None:
        super().__init__(nodes)
        self.by_id = {n.id: n for n in nodes}

    def __getitem__(self, i: Any) -> Any:  # type: ignore[override]
        return self.by_id[i] if isinstance(i, int) else super().__getitem__(i)


class _Part:
    """The members of one collapsed layer as a graph of their own (for ``to_dot``)."""

    def __init__(self, graph: Any, members: list[Any]) -> None:
        self.name = graph.name
        self.nodes = _Nodes(members)

    def default_outputs(self) -> list[Any]:
        return []


def _owner_names(graph: Any, options: dict[str, Any]) -> tuple[dict[int, str],
                                                                 dict[str, list[Any]]]:
    """Node id -> the DOT node drawing it (its name or ``[layer]``); layer -> members."""
    opt = {k: v for k, v in options.items() if k != "fixed_sizes"}
    owner, boxes, _ = _owners(graph, make_options(**opt))
    return owner, boxes


def _insets(trace: Any, idx: list[int], engine: str | None, opts: dict[str, Any],
            boxes: dict[str, list[Any]], data: list[dict[str, Any]]) -> str:
    """Each collapsed layer drawn open (its members alone), in as many versions as its
    members' numbers change; the player shows one over its box when it is clicked.
    Steps get ``x``: layer -> changed [group, version] pairs."""
    out = []
    sub_opts = dict(opts, collapse=False, title=None)
    for b, (key, members) in enumerate(boxes.items()):
        part = _Part(trace.graph, members)
        ids = [m.id for m in members]
        keys: dict[Any, int] = {}
        srcs, frame_of = [], []
        for i in idx:
            values, grads = trace.state_at(i)
            step = trace[i]
            cur = step.node.id if step.node.id in part.nodes.by_id else None
            tg = tuple(t.id for t in (getattr(step, "targets", None) or ())
                       if getattr(t, "id", None) in part.nodes.by_id)
            sig = (tuple((id(values.get(m)), id(grads.get(m))) for m in ids), cur, tg)
            if sig not in keys:
                keys[sig] = len(srcs)
                sub_values = {m: values[m] for m in ids if m in values}
                sub_grads = {m: grads[m] for m in ids if m in grads}
                srcs.append(to_dot(part, _State(sub_values, sub_grads),
                                   step=step if cur is not None or tg else None, **sub_opts))
            frame_of.append(keys[sig])
        svgs = [E.dot_to(src, "svg", engine, post=colorize).decode("utf-8") for src in srcs]
        body, table = _frames_html(svgs, True, "iv", f"i{b}")
        rows = [table[f] for f in frame_of]
        for d, row in zip(data, _diffs(rows)):
            if row:
                d.setdefault("x", {})[key] = row
        w, h = (max(_svg_size(s)[k] for s in svgs) * 4 / 3 for k in (0, 1))
        out.append(f'<div class="inset" data-key="{_esc(key)}" data-w="{w:.0f}" '
                   f'data-h="{h:.0f}" hidden><div class="inset-bar">'
                   f'<span>{_esc(key)}</span><button type="button" class="inset-close" '
                   f'title="collapse {_esc(key)}">collapse</button></div>'
                   f'<div class="inset-body">{body}</div></div>')
    return "\n".join(out)


def _provenance(trace: Any, idx: list[int], owner: dict[int, str],
                boxes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """DOT node name -> [frame that computed its value (-1: none), frames that changed
    its gradient]: what a click on a node's value or gradient explains."""
    g = trace.graph
    val: dict[int, int] = {}
    grd: dict[int, list[int]] = {}
    last_v: dict[int, int] = {}
    last_g: dict[int, int] = {}
    for k, i in enumerate(idx):
        values, grads = trace.state_at(i)
        for nid, v in values.items():
            if last_v.get(nid) != id(v):
                last_v[nid] = id(v)
                val.setdefault(nid, k)
        for nid, v in grads.items():
            if last_g.get(nid) != id(v):
                last_g[nid] = id(v)
                grd.setdefault(nid, []).append(k)
    out: dict[str, list[Any]] = {}
    for n in g.nodes:
        if n.id in val or n.id in grd:
            out[n.name] = [val.get(n.id, -1), grd.get(n.id, [])]
    for key, members in boxes.items():
        last = max((m for m in members if not m.op.leaf), key=lambda m: m.id, default=None)
        if last is not None and last.name in out:
            out[f"[{key}]"] = out[last.name]
    for c in const_copies(g, owner).items():
        nid, copies = c
        if g.nodes[nid].name in out:
            for name in copies.values():
                out[name] = out[g.nodes[nid].name]
    return out


def _quiz(trace: Any, idx: list[int], quiz: bool | str) -> tuple[dict[int, list[Any]],
                                                                 dict[str, float]]:
    """Frame -> its questions (from graphnn.teach.quiz) and the tolerances."""
    kind = "value+grad" if quiz is True else quiz
    if kind not in (*QUIZ_KINDS, "value+grad"):
        raise GraphError(f"quiz= takes True or one of {', '.join(QUIZ_KINDS)}, got {quiz!r}")
    source = ADAPTERS.get("quiz_questions")
    if source is None or not hasattr(trace, "steps"):
        raise GraphError("quiz=True needs a trace made by gn.trace (graphnn.teach.quiz "
                         "supplies the questions)")
    kinds = ("value", "grad") if kind == "value+grad" else (kind,)
    frame = {i: k for k, i in enumerate(idx)}
    out: dict[int, list[Any]] = {}
    tol: dict[str, float] = {}
    for kd in kinds:
        questions, tol = source(trace, kd)
        for q in questions:
            if q["step"] in frame:
                out.setdefault(frame[q["step"]], []).append(q)
    for qs in out.values():
        qs.sort(key=lambda q: (q["step"], q.get("input") or 0, q["kind"] != "grad"))
    return out, tol


def _page(trace: Any, delay_ms: int, steps: Any, max_steps: int | None, engine: str | None,
          options: dict[str, Any], compact: bool = True,
          quiz: bool | str = False) -> tuple[str, float]:
    idx = _select(trace, steps, max_steps)
    options = dict(options)
    make_options(**options)  # unknown options fail before any Graphviz run
    if options.get("rankdir") is None:
        options["rankdir"] = auto_rankdir(trace, idx[-1], engine, options)
    opts = dict(options)
    if opts.get("fixed_sizes") is None:
        opts["fixed_sizes"] = fixed_sizes(trace, idx, **options)
    questions, tol = _quiz(trace, idx, quiz) if quiz else ({}, {})
    asked = sorted(questions)
    svgs = _graph_svgs(trace, idx, engine, opts, before=[idx[k] for k in asked])
    n, esc = len(idx), _esc
    data = [_step_data(trace[i], k, n, len(trace)) for k, i in enumerate(idx)]
    width, height = (max(_svg_size(s)[k] for s in svgs) * 4 / 3 for k in (0, 1))
    frames_html, table = _frames_html(svgs, compact)
    owner, boxes = _owner_names(trace.graph, options)
    for k, (d, row) in enumerate(zip(data, _diffs(table[:n]))):
        d["d"] = row
        d["at"] = owner.get(trace[idx[k]].node.id, d["node"])
        if d["at"].startswith("["):
            d["box"] = d["at"][1:-1]
    for j, k in enumerate(asked):
        data[k]["q"] = questions[k]
        data[k]["qd"] = _diff(table[k - 1] if k else table[0], table[n + j])
    insets = _insets(trace, idx, engine, opts, boxes, data) if boxes else ""
    extra = {"prov": _provenance(trace, idx, owner, boxes),
             "quiz": tol if quiz else None, "read": READ_PX, "label_pt": _label_pt(svgs)}
    links = "\n".join(
        f'<li value="{d["i"]}" data-phase="{esc(trace[i].phase)}"><a href="#{d["i"]}" '
        f'data-k="{k}">{esc(trace[i].phase)} {esc(d["kind"])} {esc(d["node"])}</a></li>'
        for k, (i, d) in enumerate(zip(idx, data)))
    first = data[0]
    title = f"{trace.graph.name}: step-through ({getattr(trace, 'mode', 'reverse')} mode)"
    phases = {trace[i].phase for i in idx}
    filt = "".join(f'<option value="{p}">{p}</option>' for p in ("forward", "backward")
                   if p in phases)
    quiz_html = ('<div id="quiz"><div id="quiz-head">Quiz <span id="quiz-score">'
                 'score 0 of 0</span></div><div id="quiz-items"></div></div>'
                 if quiz else "")
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="graphnn">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{esc(title)}</title>
<style>{CSS}</style></head>
<body>
<div id="player" data-steps="{n}" data-total="{len(trace)}" data-delay="{int(delay_ms)}" \
data-rankdir="{esc(str(options["rankdir"]))}">
<div id="controls">
<button id="prev" type="button" title="previous step (ArrowLeft)">{ICONS["prev"]}Prev</button>
<button id="play" type="button" title="play / pause (Space)">{ICONS["play"]}Play</button>
<button id="next" type="button" title="next step (ArrowRight)">Next{ICONS["next"]}</button>
<input id="slider" type="range" min="0" max="{n - 1}" value="0" step="1" aria-label="step">
<span id="counter">step {first["i"]} of {len(trace)}</span>
<select id="filter" aria-label="show steps" title="show forward, backward or all steps">\
<option value="all">all steps</option>{filt}</select>
<span class="zoom"><button id="zoom-out" type="button" title="zoom out (-)">&#8722;</button>\
<button id="zoom-fit" type="button" title="fit the graph (0)">fit</button>\
<button id="zoom-in" type="button" title="zoom in (+)">+</button></span>
</div>
<div id="msg" role="alert" hidden></div>
<div id="main">
<div id="graph" tabindex="0" data-step="{first["i"]}" data-node="{esc(first["node"])}" \
data-phase="{trace[idx[0]].phase}" data-kind="{first["kind"]}" \
title="drag to pan, wheel to zoom; click a value or gradient to see how it was computed">
<div id="stage" data-w="{width:.0f}" data-h="{height:.0f}">
{frames_html}
{insets}
</div>
</div>
<div id="side">
<div id="step-title">{esc(first["title"])}</div>
{quiz_html}
<div id="explain">
<pre id="step-text">{esc(first["text"])}</pre>
<pre id="step-formula">{esc(first["formula"])}</pre>
<details><summary>LaTeX</summary><code id="step-latex">{esc(first["latex"])}</code></details>
</div>
<div id="why" hidden></div>
<ol id="steps">
{links}
</ol>
</div>
</div>
</div>
<script type="application/json" id="steps-data">{script_json(data)}</script>
<script type="application/json" id="page-data">{script_json(extra)}</script>
<script>{JS}</script>
</body></html>
"""
    return doc, height


def save(trace: Any, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write the step-through to ``path``: ``.html`` (offline player) or ``.gif``.

    Keyword arguments: ``steps`` ("forward", "backward" or step indices),
    ``max_steps``, ``delay_ms``, ``engine`` and the ``gn.render`` options (``rankdir``
    "LR" or "TB", ``collapse``, ...); for HTML also ``compact`` and ``quiz`` (see
    :func:`page`). The file is
    written atomically. Returns the path (a ``pathlib.Path``).
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in (".html", ".htm"):
        data: str | bytes = page(trace, **kwargs)
    elif suffix == ".gif":
        data = gif(trace, **kwargs)
    elif suffix in (".svg", ".png"):
        raise GraphError(f"{os.fspath(path)!r}: a step-through has one picture per step; "
                         "use trace.save_frames(folder) for numbered SVG frames (format='png' "
                         "for PNG), or gn.render(graph, run=trace.run, path=...) for one image")
    else:
        raise GraphError(f"cannot tell the export format of {os.fspath(path)!r}: use .html "
                         "(interactive player) or .gif (animation)")
    E.write(path, data)
    return Path(path)


def mimebundle(trace: Any, **kwargs: Any) -> dict[str, str]:
    """Notebook display: the player in a sandboxed ``<iframe srcdoc>`` + the text table."""
    text = trace.to_table() if hasattr(trace, "to_table") else repr(trace)
    try:
        opts = dict(kwargs)
        args = [opts.pop(k, d) for k, d in (("delay_ms", DELAY_MS), ("steps", None),
                                             ("max_steps", None), ("engine", None))]
        doc, h = _page(trace, *args, options=opts, compact=opts.pop("compact", True),
                       quiz=opts.pop("quiz", False))
    except GraphError as e:
        return {"text/plain": f"{text}\n(cannot draw the player: {e})"}
    frame = (f'<iframe srcdoc="{html.escape(doc, quote=True)}" sandbox="allow-scripts" '
             f'title="{html.escape(trace.graph.name)} step-through" '
             f'style="width:100%;height:{min(max(h, 300) + 90, 640):.0f}px;'
             'border:1px solid #e5e7eb">'
             "</iframe>")
    return {"text/html": frame, "text/plain": text}
