"""Look of the rendered graph: per-role style tables with per-op overrides, node labels
(HTML-like Graphviz labels with the value in one colour and the gradient in another),
the gradient-health colour scale, and node-size estimates for stable animation frames.

Change the look by editing the tables (or calling :func:`set_op_style`), never with
``if op == ...`` branches:

>>> set_op_style("exp", fillcolor="#ffe4b5")
>>> node_style("op", "exp")["fillcolor"]
'#ffe4b5'
>>> health_class(1e-9), health_class(0.5), health_class(1e4)
('vanishing', 'healthy', 'exploding')
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np

from graphnn.core.errors import fmt_shape
from graphnn.viz.text import fmt_num, fmt_value, plural

FONT = "DejaVu Sans"
VALUE_COLOR = "#1d4ed8"   # forward values: blue
GRAD_COLOR = "#c2410c"    # gradients: red-orange
MUTED = "#6b7280"
HIGHLIGHT = "#f59e0b"     # the current trace step
EDGE_COLOR = "#4b5563"
GRAD_EDGE_COLOR = "#e0a3a3"

ROLE_STYLE: dict[str, dict[str, str]] = {
    "input": {"shape": "box", "style": "filled", "fillcolor": "#dbeafe", "color": "#2563eb"},
    "param": {"shape": "box", "style": "filled", "fillcolor": "#dcfce7", "color": "#15803d"},
    "const": {"shape": "box", "style": "filled", "fillcolor": "#f3f4f6", "color": "#9ca3af"},
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fef9c3",
           "color": "#a16207"},
    "grad": {"shape": "box", "style": "rounded,filled,dashed", "fillcolor": "#fee2e2",
             "color": "#b91c1c"},
    "group": {"shape": "box3d", "style": "filled", "fillcolor": "#ede9fe", "color": "#6d28d9"},
}
OUTPUT_STYLE = {"penwidth": "2.5", "peripheries": "2"}

# Per-op overrides on top of the role style (losses stand out, heavy linear algebra too).
OP_STYLE: dict[str, dict[str, str]] = {
    **{k: {"fillcolor": "#fed7aa"} for k in (
        "mse_loss", "l1_loss", "bce_loss", "bce_with_logits", "cross_entropy")},
    **{k: {"fillcolor": "#fde68a"} for k in ("matmul", "conv2d")},
}

# Gradient-health thresholds on the RMS gradient (norm / sqrt(size)) of an edge's source.
HEALTH_VANISHING = 1e-6
HEALTH_EXPLODING = 1e3
HEALTH_COLOR = {"vanishing": "#7c3aed", "healthy": "#16a34a", "exploding": "#dc2626",
                "non-finite": "#000000"}


def set_op_style(op_name: str, **attrs: str) -> None:
    """Override Graphviz node attributes for one op (merged over its role's style)."""
    OP_STYLE.setdefault(op_name, {}).update(attrs)


def node_style(role: str, op_name: str) -> dict[str, str]:
    """Graphviz attributes of a node: the role's style with the op's overrides on top."""
    style = dict(ROLE_STYLE.get(role, ROLE_STYLE["op"]))
    if role in ("op", "grad"):
        style.update(OP_STYLE.get(op_name, {}))
    return style


def rms(g: Any) -> float:
    a = np.asarray(g, dtype=np.float64)
    return float(np.linalg.norm(a) / np.sqrt(max(a.size, 1)))


def health_class(r: float, lo: float = HEALTH_VANISHING, hi: float = HEALTH_EXPLODING) -> str:
    """Classify an RMS gradient: vanishing (< lo), exploding (> hi), healthy, non-finite."""
    if not np.isfinite(r):
        return "non-finite"
    return "vanishing" if r < lo else "exploding" if r > hi else "healthy"


# -- labels ---------------------------------------------------------------------------
# Labels are plain multi-line text (the in-process Graphviz has no HTML-like labels):
# line 0 the op symbol (or leaf name), line 1 the name / role and shape, then
# "value ..." and "grad ..." lines. :func:`colorize` styles those lines in the SVG.
MAX_MATRIX = 4  # matrices up to this many rows and columns are shown in full
SUMMARY_LEGEND = ("min / mean / max: over all elements of a tensor; |…|: its L2 norm "
                  "√(Σ x²)")


def shows_in_full(a: np.ndarray, max_inline: int = 6, max_matrix: int = MAX_MATRIX) -> bool:
    """Whether a label prints every element of ``a``: at most ``max_inline`` elements,
    or a vector or matrix of at most ``max_matrix`` rows and columns."""
    if a.size <= max_inline:
        return True
    return 1 <= a.ndim <= 2 and max(a.shape) <= max_matrix


def _num_lines(v: Any, max_inline: int, max_matrix: int = MAX_MATRIX,
               notes: set[str] | None = None) -> list[str]:
    """A value as label lines: small tensors in full (a matrix one row per line), large
    ones summarised (``notes`` gets "summary" then, so the picture adds a legend)."""
    a = np.asarray(v)
    if a.size <= max_inline or a.size == 0:
        return [fmt_value(a, max(max_inline, a.size))]
    f = a.astype(np.float64, copy=False)
    if shows_in_full(a, max_inline, max_matrix):
        if a.ndim == 1:
            return [fmt_value(a, a.size)]
        cells = [[fmt_num(x) for x in row] for row in a.tolist()]
        w = max(len(c) for row in cells for c in row)
        rows = [" [" + ", ".join(c.rjust(w) for c in row) + "]," for row in cells]
        rows[0] = "[" + rows[0][1:]
        rows[-1] = rows[-1][:-1] + "]"
        return rows
    if notes is not None:
        notes.add("summary")
    if not np.all(np.isfinite(f)):
        return [fmt_value(a, max_inline)]
    return [f"min {fmt_num(f.min())} mean {fmt_num(f.mean())} max {fmt_num(f.max())} "
            f"|{fmt_num(np.linalg.norm(f))}|"]


def _num_text(v: Any, max_inline: int, max_matrix: int = MAX_MATRIX) -> str:
    return "\n".join(_num_lines(v, max_inline, max_matrix))


def _head(node: Any, show_shapes: bool, notes: set[str] | None = None) -> tuple[str, str]:
    """First (bold) and second (muted) line of a node's label."""
    shape = f"  {fmt_shape(node.shape)}" if show_shapes and node.shape != () else ""
    if node.op.name == "const":
        value = np.asarray(node.params["value"])
        if value.size > 4 and notes is not None:
            notes.add("summary")
        return fmt_value(value, 4), "const" + shape
    if node.op.leaf:
        return node.name, node.role + shape
    return node.op.display, node.name + shape


def label_lines(node: Any, value: Any = None, grad: Any = None, *, show_shapes: bool = True,
                max_inline: int = 6, max_matrix: int = MAX_MATRIX,
                notes: set[str] | None = None) -> list[str]:
    """The lines of a node's label: symbol or leaf name, name, value, gradient.

    A value or gradient matrix of up to ``max_matrix`` rows and columns takes one line per
    row (the first line starts "value" or "grad"); ``notes`` collects "summary" when a
    tensor is summarised as min / mean / max |norm|.

    >>> import graphnn as gn, numpy as np
    >>> with gn.Graph():
    ...     w = gn.param("W", np.arange(9.0).reshape(3, 3))
    >>> label_lines(w, np.arange(9.0).reshape(3, 3))[2:]
    ['value [[0, 1, 2],', ' [3, 4, 5],', ' [6, 7, 8]]']
    """
    lines = list(_head(node, show_shapes, notes))
    for word, v in (("value", value), ("grad", grad)):
        if v is not None:
            body = _num_lines(v, max_inline, max_matrix, notes)
            lines += [f"{word} {body[0]}", *body[1:]]
    return lines


def group_lines(path: str, members: list[Any], show_shapes: bool = True) -> list[str]:
    """Label lines of a collapsed layer: its name, node count and ops, its params."""
    ops: list[str] = []
    for n in members:
        if not n.op.leaf and n.op.display not in ops:
            ops.append(n.op.display)
    lines = [path, f"{plural(len(members), 'node')}: " + " ".join(ops[:8]) + (" ..." if len(ops) > 8
                                                                       else "")]
    params = [f"{p.name.split('/')[-1]} {fmt_shape(p.shape)}" if show_shapes else p.name
              for p in members if p.role == "param"]
    if params:
        lines.append(", ".join(params[:4]) + (", ..." if len(params) > 4 else ""))
    return lines


def estimate_size(lines: list[str]) -> tuple[float, float]:
    """Generous width/height in inches of a 10 pt label (for ``fixedsize`` frames)."""
    w = max(len(s) for s in lines) * 10 * 0.62 / 72 + 0.3
    h = len(lines) * 10 * 1.25 / 72 + 0.2
    return round(max(w, 0.75), 2), round(max(h, 0.5), 2)


_NODE_G = re.compile(r'(<g id="[^"]*" class="node[^"]*">)(.*?)(</g>)', re.S)
_TEXT = re.compile(r"<text([^>]*)>(.*?)</text>", re.S)
LINE_STYLE = {  # extra SVG attributes per label line (by index, then by prefix)
    0: ' font-weight="bold"',
    1: f' fill="{MUTED}" font-size="9.00"',
    "value": f' fill="{VALUE_COLOR}"',
    "grad": f' fill="{GRAD_COLOR}"',
}


def colorize(svg: str) -> str:
    """Style label lines in Graphviz SVG: bold symbol, muted name, coloured value/grad."""
    def node(m: re.Match[str]) -> str:
        k = 0
        last = ""  # a matrix's further rows keep the colour of its "value"/"grad" line

        def text(t: re.Match[str]) -> str:
            nonlocal k, last
            words = html.unescape(t.group(2)).strip()
            if k < 2:
                extra = LINE_STYLE.get(k, "")
            elif words.startswith("["):
                extra = last
            else:
                extra = last = str(LINE_STYLE.get(words.split(" ", 1)[0], ""))
            k += 1
            a = t.group(1)
            if "font-size" in extra:
                a = re.sub(r' font-size="[^"]*"', "", a)
            return f"<text{a}{extra}>{t.group(2)}</text>"

        return m.group(1) + _TEXT.sub(text, m.group(2)) + m.group(3)

    return _NODE_G.sub(node, svg)
