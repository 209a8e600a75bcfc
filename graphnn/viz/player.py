"""Step-through export of a trace: SVG frames, an animated GIF, and ONE self-contained
offline HTML player (inline SVG frames, Prev / Next / Play, a slider, arrow keys,
``#N`` links, the step text and formula beside the graph).

The trace interface used: ``trace.graph``, ``len(trace)``, ``trace[i]`` (a step with
``.index``, ``.phase``, ``.node``, ``.targets`` and ``str(step)``; optional ``.latex``
or ``.local``) and ``trace.state_at(i) -> (values, grads)`` keyed by node id. Nodes get
fixed sizes (from the final state), so every node stays in place from frame to frame.

>>> import graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     f = ((x + y).named("d") * z).named("f")
>>> t = gn.trace(g, {"x": 1, "y": -3, "z": 4}, wrt=[x, y, z])
>>> svgs = frames(t, engine="wasm")
>>> len(svgs) == len(t), "value &#45;8" in svgs[-1]
(True, True)
"""

from __future__ import annotations

import html
import io
import json
import os
import textwrap
from pathlib import Path
from typing import Any

from graphnn.core.errors import GraphError
from graphnn.viz import engine as E
from graphnn.viz import style as S
from graphnn.viz.dot import to_dot

FRAME_MS = 900  # GIF frame duration and play speed


def _formula(step: Any) -> str:
    """The step's formula text: ``.latex`` or ``.local`` when present."""
    for attr in ("latex", "local"):
        try:
            v = getattr(step, attr, None)
        except Exception:  # noqa: BLE001 - a formula that cannot be built is left out
            continue
        if isinstance(v, str) and v:
            return v
        if isinstance(v, (tuple, list)):
            parts = [str(x) for x in v if x is not None]
            if parts:
                return "\n".join(parts)
    return ""


def fixed_sizes(trace: Any, show_shapes: bool = True, max_inline: int = 6) -> dict[int, Any]:
    """Node id -> (width, height) in inches, large enough for every frame's label."""
    graph = trace.graph
    sizes: dict[int, tuple[float, float]] = {}
    for k in {0, len(trace) - 1} if len(trace) else ():
        vals, grads = trace.state_at(k)
        for n in graph.nodes:
            w, h = S.estimate_size(S.label_lines(n, vals.get(n.id), grads.get(n.id),
                                                 show_shapes=show_shapes,
                                                 max_inline=max_inline))
            ow, oh = sizes.get(n.id, (0.0, 0.0))
            sizes[n.id] = (max(w, ow), max(h, oh))
    return sizes


def frame_dots(trace: Any, **options: Any) -> list[str]:
    """The DOT source of every frame (the step highlighted, numbers of that moment)."""
    if len(trace) == 0:
        raise GraphError("the trace has no steps to draw")
    sizes = fixed_sizes(trace, options.get("show_shapes", True), options.get("max_inline", 6))
    out = []
    for i in range(len(trace)):
        vals, grads = trace.state_at(i)
        out.append(to_dot(trace.graph, step=trace[i], values=vals, grads=grads,
                          fixed_sizes=sizes, **options))
    return out


def frames(trace: Any, engine: str | None = None, **options: Any) -> list[str]:
    """One SVG per step."""
    return [S.colorize(E.dot_to_svg(src, engine)) for src in frame_dots(trace, **options)]


def _steps_json(trace: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(len(trace)):
        st = trace[i]
        node = getattr(st, "node", None)
        out.append({"index": getattr(st, "index", i), "phase": getattr(st, "phase", ""),
                    "node": getattr(node, "name", ""), "text": str(st),
                    "formula": _formula(st)})
    return out


def save_frames(trace: Any, folder: str | os.PathLike[str], format: str = "svg",
                engine: str | None = None, **options: Any) -> list[Path]:
    """Write ``frame_000.svg``, ``frame_001.svg``, ... (or .png) into ``folder``."""
    if format not in ("svg", "png"):
        raise GraphError(f"save_frames writes svg or png frames, not {format!r}")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, svg in enumerate(frames(trace, engine, **options)):
        p = root / f"frame_{i:03d}.{format}"
        E.write(p, svg if format == "svg" else E.svg_to_png(svg))
        paths.append(p)
    return paths


def gif_bytes(trace: Any, engine: str | None = None, frame_ms: int = FRAME_MS,
              **options: Any) -> bytes:
    """An animated GIF: each frame the graph with the step text underneath."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise GraphError("GIF output needs Pillow: pip install Pillow") from None
    steps = _steps_json(trace)
    imgs = [Image.open(io.BytesIO(E.svg_to_png(svg))).convert("RGB")
            for svg in frames(trace, engine, **options)]
    font = ImageFont.truetype(str(E.FONT_FILES[0]), 13)
    w = max(max(im.width for im in imgs), 480)
    width_chars = max(40, int(w / 7.6))
    texts = [textwrap.wrap(s["text"], width_chars)[:4] for s in steps]
    text_h = 12 + 18 * (1 + max(len(t) for t in texts))
    h = max(im.height for im in imgs) + text_h
    out = []
    for im, st, wrapped in zip(imgs, steps, texts):
        canvas = Image.new("RGB", (w, h), "white")
        canvas.paste(im, (0, 0))
        draw = ImageDraw.Draw(canvas)
        lines = [f"{st['index'] + 1 if isinstance(st['index'], int) else st['index']}/"
                 f"{len(steps)} {st['phase']}"] + wrapped
        draw.text((8, h - text_h + 4), "\n".join(lines), fill="black", font=font, spacing=4)
        out.append(canvas.quantize(colors=128, dither=Image.Dither.NONE))
    buf = io.BytesIO()
    out[0].save(buf, format="GIF", save_all=True, append_images=out[1:], duration=frame_ms,
                loop=0, optimize=False)
    return buf.getvalue()


_CSS = """
body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:0;background:#fafafa;color:#111}
#bar{display:flex;gap:.5em;align-items:center;padding:.5em;background:#f1f5f9;
border-bottom:1px solid #cbd5e1;position:sticky;top:0}
#bar button{font-size:1em;padding:.2em .8em}#slider{flex:1}
#main{display:flex;gap:1em;padding:.5em;align-items:flex-start}
#graph{flex:3;overflow:auto}#graph svg{max-width:100%;height:auto}
#side{flex:1;min-width:16em}#phase{font-weight:bold;text-transform:uppercase}
#text,#formula{white-space:pre-wrap;font-family:"DejaVu Sans Mono",monospace;
background:white;border:1px solid #e2e8f0;padding:.5em}#formula:empty{display:none}
g.node.current>path,g.node.current>polygon,g.node.current a>path,
g.node.current a>polygon{filter:drop-shadow(0 0 4px #f59e0b)}
"""

_JS = """
const F=%(frames)s, S=%(steps)s, n=F.length;
const $=id=>document.getElementById(id);
let i=0, timer=null;
function show(k){
  i=Math.max(0,Math.min(n-1,k|0));
  $('graph').innerHTML=F[i];
  const s=S[i];
  $('phase').textContent=s.phase; $('text').textContent=s.text;
  $('formula').textContent=s.formula; $('slider').value=i;
  $('counter').textContent=(i+1)+' / '+n;
  for(const g of document.querySelectorAll('#graph g.node')){
    const t=g.querySelector('title');
    g.classList.toggle('current', !!t && t.textContent===s.node);
  }
  try{history.replaceState(null,'','#'+(i+1));}catch(e){}
}
function play(){
  if(timer){clearInterval(timer);timer=null;$('play').textContent='Play';return;}
  if(i>=n-1)show(0);
  $('play').textContent='Pause';
  timer=setInterval(()=>{if(i>=n-1){play();}else{show(i+1);}},%(ms)d);
}
$('prev').onclick=()=>show(i-1); $('next').onclick=()=>show(i+1); $('play').onclick=play;
$('slider').oninput=e=>show(+e.target.value);
document.addEventListener('keydown',e=>{
  if(e.key==='ArrowRight'){show(i+1);e.preventDefault();}
  else if(e.key==='ArrowLeft'){show(i-1);e.preventDefault();}
  else if(e.key==='Home'){show(0);}else if(e.key==='End'){show(n-1);}
  else if(e.key===' '){play();e.preventDefault();}
});
function fromHash(){const m=/^#(\\d+)$/.exec(location.hash);return m?(+m[1])-1:0;}
window.addEventListener('hashchange',()=>show(fromHash()));
show(fromHash());
"""


def _js_literal(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=True).replace("</", "<\\/")


def html_text(trace: Any, engine: str | None = None, title: str | None = None,
              **options: Any) -> str:
    """The self-contained player page (no network access: everything is inline)."""
    svgs = frames(trace, engine, **options)
    steps = _steps_json(trace)
    name = title or f"{trace.graph.name}: step through"
    js = _JS % {"frames": _js_literal(svgs), "steps": _js_literal(steps), "ms": FRAME_MS}
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{html.escape(name)}</title><style>{_CSS}</style></head><body>"
        '<div id="bar"><button id="prev" title="previous step (Left arrow)">Prev</button>'
        '<button id="play" title="play / pause (Space)">Play</button>'
        '<button id="next" title="next step (Right arrow)">Next</button>'
        f'<input id="slider" type="range" min="0" max="{len(svgs) - 1}" value="0">'
        '<span id="counter"></span></div>'
        '<div id="main"><div id="graph"></div><div id="side"><div id="phase"></div>'
        '<div id="text"></div><div id="formula"></div></div></div>'
        f"<script>{js}</script></body></html>\n")


def save(trace: Any, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write the step-through: ``.html`` (offline player) or ``.gif`` (animation)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".html", ".htm"):
        E.write(p, html_text(trace, **options))
    elif suffix == ".gif":
        E.write(p, gif_bytes(trace, **options))
    elif suffix in (".svg", ".png"):
        raise GraphError(f"{p.name}: one file cannot hold every step as {suffix}; use "
                         "trace.save_frames(folder) for numbered frames, or a .html / .gif path")
    else:
        raise GraphError(f"cannot tell what to write for {os.fspath(path)!r}: use .html or .gif")
    return p


def mimebundle(trace: Any, **options: Any) -> dict[str, Any]:
    """Jupyter display: the player inside ``<iframe srcdoc sandbox="allow-scripts">``."""
    page = html_text(trace, **options)
    height = 160 + max(int(float(s)) for s in _svg_heights(page))
    iframe = (f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
              f'style="width:100%;height:{min(height, 900)}px;border:0"></iframe>')
    return {"text/html": iframe, "text/plain": repr(trace)}


def _svg_heights(page: str) -> list[str]:
    import re

    found = re.findall(r'<svg width=\\"[\d.]+pt\\" height=\\"([\d.]+)pt\\"', page)
    return found or ["400"]
