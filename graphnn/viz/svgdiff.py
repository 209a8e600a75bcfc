"""Compact storage of animation frames that share one Graphviz layout.

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

import re

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
