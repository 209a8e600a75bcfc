"""SVG helpers of the step-through player: compact storage of frames that share one
Graphviz layout (:func:`layers`), standalone captioned frames (:func:`framed`) and fixed
sizes for collapsed layer boxes (:func:`fixed_boxes`).

The player's frames differ only in a few nodes per step (labels, highlight). When every
frame has the same nodes at the same places, each frame is cut into its node, edge and
cluster groups; every distinct version of a group is kept once, and a frame becomes a
list of version numbers. A page of N steps then holds a few versions per node instead
of N copies of the whole drawing.

>>> a = ('<svg><g id="graph0"><g id="node1" class="node"><title>x</title>'
...      '<polygon points="0,0"/>1</g></g></svg>')
>>> b = a.replace(">1<", ">2<")
>>> head, versions, tail, table = layers([a, b])
>>> len(versions), len(versions[0]), table
(1, 2, [[0], [1]])
"""

from __future__ import annotations

import html
import re

from graphnn.core.errors import GraphError
from graphnn.viz import style as S

_CHUNK = re.compile(r'(?=<g id="(?:node|edge|clust)\d+" class=")')
_COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
_END = re.compile(r"</g>\s*</svg>\s*$")
_GEOM = re.compile(r'\b(?:points|d)="([^"]*)"')
_KEY = re.compile(r'<g id="([^"]*)" class="(node|edge|cluster)[^"]*">\s*<title>([^<]*)</title>')


def split(svg: str) -> tuple[str, list[str], str] | None:
    """(head, groups, tail) of a Graphviz SVG, or None when it has another structure."""
    body = _COMMENT.sub("", svg[svg.find("<svg"):])
    head, *chunks = _CHUNK.split(body)
    if not chunks:
        return None
    m = _END.search(chunks[-1])
    if m is None:
        return None
    tail = chunks[-1][m.start():]
    chunks[-1] = chunks[-1][: m.start()]
    return head, chunks, tail


def _skeleton(chunk: str) -> tuple[str, ...]:
    """What must not change between frames: the group's id and title, and for nodes
    and clusters their outline (edges may change arrow size with the highlight)."""
    m = _KEY.match(chunk)
    if m is None:
        return ("?", chunk)
    if m.group(2) == "edge":
        return m.group(1), m.group(3)
    return (m.group(1), m.group(3), *_GEOM.findall(chunk))


def layers(svgs: list[str]) -> tuple[str, list[list[str]], str, list[list[int]]]:
    """(head, versions of each group, tail, version number per frame and group).

    When the frames do not share one layout, there is one "group": the whole SVG
    of each frame (head and tail are then empty).
    """
    parts = [split(s) for s in svgs]
    first = parts[0]
    same = first is not None and all(
        p is not None and p[0] == first[0] and p[2] == first[2]
        and len(p[1]) == len(first[1]) for p in parts)
    if same:
        skel = [_skeleton(c) for c in first[1]]  # type: ignore[index]
        same = all(_skeleton(c) == s for p in parts for c, s in zip(p[1], skel))  # type: ignore[index]
    if not same:
        bodies = [s[s.find("<svg"):] for s in svgs]
        return "", [bodies], "", [[k] for k in range(len(svgs))]
    versions: list[list[str]] = [[] for _ in first[1]]  # type: ignore[index]
    seen: list[dict[str, int]] = [{} for _ in first[1]]  # type: ignore[index]
    table = []
    for p in parts:
        row = []
        for j, c in enumerate(p[1]):  # type: ignore[index]
            v = seen[j].setdefault(c, len(versions[j]))
            if v == len(versions[j]):
                versions[j].append(c)
            row.append(v)
        table.append(row)
    return first[0], versions, first[2], table  # type: ignore[index]


# -- frame composition and DOT fixes for the player ----------------------------------
_SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)pt"[^>]*?\bheight="([\d.]+)pt"', re.S)
_BOX = re.compile(r'^(  "\[(?:[^"\\]|\\.)*\]" \[)(.*)\]$', re.M)
_LABEL = re.compile(r'\blabel="((?:[^"\\]|\\.)*)"')


def fixed_boxes(srcs: list[str]) -> list[str]:
    """Give collapsed layer boxes (whose labels show changing numbers) one fixed size
    over all frames, as ``fixed_sizes`` does for nodes."""
    sizes: dict[str, tuple[float, float]] = {}
    for src in srcs:
        for m in _BOX.finditer(src):
            lab = _LABEL.search(m.group(2))
            w, h = S.estimate_size(lab.group(1).split("\\n") if lab else [""])
            w0, h0 = sizes.get(m.group(1), (0.0, 0.0))
            sizes[m.group(1)] = (max(w, w0), max(h, h0))
    if not sizes:
        return srcs

    def fix(m: re.Match[str]) -> str:
        w, h = sizes[m.group(1)]
        return f'{m.group(1)}{m.group(2)} fixedsize="true" width="{w:g}" height="{h:g}"]'

    return [_BOX.sub(fix, src) for src in srcs]


def svg_size(svg: str) -> tuple[float, float]:
    """(width, height) in pt of a Graphviz SVG (or a frame made by :func:`framed`)."""
    m = _SVG_SIZE.search(svg)
    if m is None:
        raise GraphError("unexpected SVG from Graphviz: no width/height in pt")
    return float(m.group(1)), float(m.group(2))


def svg_body(svg: str, prefix: str = "") -> str:
    """The ``<svg>`` element alone (no XML prolog), element ids prefixed (also for a
    fragment without ``<svg>``)."""
    body = svg[svg.find("<svg"):] if "<svg" in svg else svg
    return body.replace(' id="', f' id="{prefix}') if prefix else body


def place(body: str, x: float, y: float) -> str:
    """A Graphviz ``<svg>`` element nested at (x, y) of an outer SVG in pt units."""
    end = body.index(">")
    tag = re.sub(r'\bwidth="([\d.]+)pt"', rf'x="{x:.2f}" y="{y:.2f}" width="\1"', body[:end],
                 count=1)
    tag = re.sub(r'\bheight="([\d.]+)pt"', r'height="\1"', tag, count=1)
    return tag + body[end:]


def framed(svgs: list[str], captions: list[list[str]]) -> list[str]:
    """Standalone SVG frames of one common size: the graph above its caption."""
    sizes = [svg_size(s) for s in svgs]
    nlines = max(len(c) for c in captions)
    text_w = max(len(line) for c in captions for line in c) * 6.7 + 16
    gw, gh = max(w for w, _ in sizes), max(h for _, h in sizes)
    width, height = max(gw, text_w), gh + 12 + 15 * nlines
    out = []
    for svg, (w, _), cap in zip(svgs, sizes, captions):
        inner = place(svg_body(svg), (width - w) / 2, 0.0)
        text = "".join(
            f'<text x="8" y="{gh + 20 + 15 * k:.0f}"'
            + (' font-weight="bold"' if k == 0 else "") + f">{html.escape(line)}</text>"
            for k, line in enumerate(cap))
        out.append('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
                   f'<svg xmlns="http://www.w3.org/2000/svg" '
                   f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{width:.0f}pt" '
                   f'height="{height:.0f}pt" viewBox="0 0 {width:.0f} {height:.0f}">\n'
                   f'<rect width="100%" height="100%" fill="white"/>\n{inner}\n'
                   f'<g class="caption" font-family="{S.FONT}" font-size="11" '
                   f'fill="#111827">{text}</g>\n</svg>\n')
    return out
