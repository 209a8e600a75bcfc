"""Graph -> Graphviz DOT text (a pure function: no Graphviz needed to build it).

Styles come from the tables in :mod:`graphnn.viz.style`; this module decides what is
shown: which nodes (gradient subgraph, constants), which clusters (nn layers via
``node.group``, optionally collapsed into one box each), values and gradients from a
run, the highlighted trace step and the gradient-health edge colours.

>>> import graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     f = ((x + y).named("d") * z).named("f")
>>> src = to_dot(g)
>>> src.splitlines()[0], '"d" -> "f"' in src
('digraph "lecture" {', True)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from graphnn.core.errors import GraphError, did_you_mean, fmt_shape
from graphnn.core.op import ADAPTERS
from graphnn.viz import style as S
from graphnn.viz.text import fmt_num, node_values, plural


@dataclass
class Options:
    """Rendering options (keyword arguments of ``gn.render`` and ``Graph.to_dot``).

    Attributes:
        show_grads: draw nodes with role "grad" (the symbolic backward graph).
        show_consts: draw constant nodes.
        show_shapes: shapes on edges and under node names (non-scalars only).
        show_values: values and gradients on nodes when a run (or tables) is given.
        clusters: draw nn layers (``node.group``) as Graphviz clusters.
        collapse: True collapses every top-level layer into one box (and ungrouped
            gradient nodes into per-layer "∇layer" boxes); a list collapses those groups;
            None (default) draws every node, except that ``gn.render`` collapses a
            drawing over the engine's node budget. True on a graph without layer groups
            draws every node and warns (:class:`RenderWarning`); a list naming a group
            the graph does not have is a GraphError.
        health: colour edges by the RMS gradient of their source node; True uses
            ``style.HEALTH_VANISHING`` / ``HEALTH_EXPLODING``, or pass ``(low, high)``.
        rankdir: "LR" (left to right) or "TB" (top to bottom); None (default) picks
            "TB" for collapsed drawings of ``TB_BOXES`` or more layer boxes (a long
            strip otherwise) and "LR" for the rest.
        fixed_sizes: node id -> (width, height) in inches; set by the player so nodes
            keep their place from frame to frame.
        max_inline: tensors up to this many elements are printed in full.
        max_matrix: vectors and matrices of up to this many rows and columns are printed
            in full too (a matrix one row per line).
        legend: explain the summaries the picture draws ("min / mean / max |…|") in a
            caption line.
        title: a caption under the graph.
    """

    show_grads: bool = True
    show_consts: bool = True
    show_shapes: bool = True
    show_values: bool = True
    clusters: bool = True
    collapse: bool | Sequence[str] | None = None
    health: bool | tuple[float, float] = False
    rankdir: str | None = None
    fixed_sizes: Mapping[int, tuple[float, float]] | None = None
    max_inline: int = 6
    max_matrix: int = S.MAX_MATRIX
    legend: bool = True
    title: str | None = None


TB_BOXES = 4  # collapsed drawings with this many layer boxes or more go top to bottom
# Drawings with more DOT nodes than this get no shape labels on edges (each node label
# shows its shape): Graphviz's dot lays out a labelled edge as an extra rank and node,
# which made a 1,025-node MLP take 7x longer (bench/results_render_budget.md).
EDGE_LABEL_NODES = 300


class RenderWarning(UserWarning):
    """A drawing option that had no effect or was changed (nothing to collapse, a layout
    collapsed to fit the engine's budget, a PNG scaled down)."""


OPTION_NAMES = tuple(f.name for f in fields(Options))


def make_options(**options: Any) -> Options:
    """Options from keyword arguments; a GraphError naming the valid ones otherwise."""
    bad = [k for k in options if k not in OPTION_NAMES]
    if bad:
        raise GraphError(f"unknown render option(s) {', '.join(bad)}; valid options: "
                         f"{', '.join(OPTION_NAMES)}")
    return Options(**options)


def _shown(c: str) -> str:
    """A non-printable character other than a newline as escape text (``\\u2028``)."""
    return c if c == "\n" or c.isprintable() else repr(c)[1:-1]


def q(s: str) -> str:
    """A quoted DOT identifier (newlines become DOT line breaks; NUL, lone surrogates and
    other control or separator characters become visible escapes)."""
    if not s.isprintable():
        s = "".join(_shown(c) for c in s)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def attrs(d: Mapping[str, Any]) -> str:
    return "[" + " ".join(f"{k}={q(str(v))}" for k, v in d.items()) + "]"


def _visible(opt: Options, node: Any) -> bool:
    if node.role == "grad" and not opt.show_grads:
        return False
    return not (node.op.name == "const" and not opt.show_consts)


def check_collapse(graph: Any, collapse: Any) -> None:
    """Warn (RenderWarning) when ``collapse=True`` finds no layer groups; GraphError when
    a list names a group the graph does not have."""
    if not collapse:
        return
    groups = {n.group.split("/")[0] for n in graph.nodes if n.group}
    if collapse is True:
        if not groups:
            warnings.warn(f"collapse=True: graph '{graph.name}' has no layer groups (nodes "
                          "built inside g.scope(...) or gn.nn layers), so there is nothing "
                          "to collapse; drawing every node", RenderWarning, stacklevel=4)
        return
    if isinstance(collapse, str):
        collapse = [collapse]
    paths = {p for n in graph.nodes if n.group
             for p in ("/".join(n.group.split("/")[:k + 1])
                       for k in range(n.group.count("/") + 1))}
    for g in collapse:
        if g not in paths:
            known = ", ".join(sorted(groups)) or "none"
            raise GraphError(f"collapse: graph '{graph.name}' has no layer group {g!r}"
                             f"{did_you_mean(g, sorted(paths))} (its layers: {known})")


def _collapsed_keys(graph: Any, opt: Options) -> dict[int, str]:
    """Node id -> the collapsed box it belongs to (nodes not collapsed are absent).

    With ``collapse=True`` every top-level group becomes a box. Ungrouped gradient
    nodes (``gn.grad`` output) join a box "∇<layer>": the layer of their latest grouped
    forward input, but never later than the layer of their gradient inputs (so the
    backward boxes form a chain mirroring the forward one, without cycles).
    Ungrouped constants join the box of their consumers when those share one box.
    """
    keys: dict[int, str] = {}
    if opt.collapse is not True:
        chosen = [opt.collapse] if isinstance(opt.collapse, str) else opt.collapse or ()
        for n in graph.nodes:
            for g in chosen:
                if n.group == g or n.group.startswith(g + "/"):
                    keys[n.id] = g
                    break
        return keys
    order: dict[str, int] = {}
    tops = [n.group.split("/")[0] if n.group else "" for n in graph.nodes]
    for t in tops:
        if t:
            order.setdefault(t, len(order))
    names = list(order)
    back: dict[int, int] = {}  # grad node id -> layer index of its ∇ box
    for n in graph.nodes:
        if tops[n.id]:
            keys[n.id] = tops[n.id]
        elif n.role == "grad" and not n.op.leaf:
            cand = [order[tops[i.id]] for i in n.inputs if i.role != "grad" and tops[i.id]]
            cand = [max(cand)] if cand else []
            cand += [back[i.id] for i in n.inputs if i.id in back]
            if cand:
                back[n.id] = min(cand)
                keys[n.id] = "∇" + names[back[n.id]]
    users: dict[int, set[str]] = {}
    for n in graph.nodes:
        for i in n.inputs:
            if i.op.leaf and i.id not in keys:
                users.setdefault(i.id, set()).add(keys.get(n.id, ""))
    for i, us in users.items():
        if len(us) == 1 and "" not in us and graph.nodes[i].op.name == "const":
            keys[i] = next(iter(us))
    return keys


def _step_marks(step: Any) -> tuple[int | None, set[int], set[frozenset[int]]]:
    if step is None:
        return None, set(), set()
    node = getattr(step, "node", None)
    nid = getattr(node, "id", None)
    targets = {t.id for t in (getattr(step, "targets", None) or []) if hasattr(t, "id")}
    edges = {frozenset((nid, t)) for t in targets} if nid is not None else set()
    return nid, targets, edges


def to_dot(graph: Any, run: Any = None, *, step: Any = None,
           values: Mapping[int, Any] | None = None, grads: Mapping[int, Any] | None = None,
           **options: Any) -> str:
    """The DOT source of ``graph`` (with numbers from ``run`` or ``values``/``grads``).

    See :class:`Options` for the keyword options. ``step`` is a trace step (an object
    with ``.node`` and ``.targets``): its node and the edges to its targets are
    highlighted.
    """
    opt = make_options(**options)
    check_collapse(graph, opt.collapse)
    vals, grd = node_values(graph, run, values, grads) if opt.show_values else ({}, {})
    lo, hi = _health_bounds(opt)
    if opt.health and run is not None and not grd:
        grd = node_values(graph, run)[1]
    outputs = {n.id for n in graph.default_outputs()}
    cur, targets, hot_edges = _step_marks(step)

    owner, boxes, shown = _owners(graph, opt)
    copies = const_copies(graph, owner)
    notes: set[str] = set()  # summaries drawn (each gets a legend line)
    node_lines: dict[str, str] = {}
    names: dict[int, list[str]] = {}
    for n in shown:
        line = _node_line(n, opt, vals, grd, n.id in outputs, n.id == cur, n.id in targets,
                          notes)
        names[n.id] = list(copies[n.id].values()) if n.id in copies else [n.name]
        for name in names[n.id]:
            node_lines[name] = line if name == n.name else line.replace(q(n.name), q(name), 1)
    for key, members in boxes.items():
        lines = S.group_lines(key, members, opt.show_shapes)
        last = max((m for m in members if not m.op.leaf), key=lambda m: m.id, default=None)
        if last is not None:  # the layer's output: its value and gradient
            lines += S.label_lines(last, vals.get(last.id), grd.get(last.id),
                                   max_inline=opt.max_inline, max_matrix=opt.max_matrix,
                                   notes=notes)[2:]
        a = dict(S.ROLE_STYLE["group"], label="\n".join(lines),
                 tooltip=f"{key}: {plural(len(members), 'node')} (collapsed)")
        if cur is not None and any(m.id == cur for m in members):
            a.update(color=S.HIGHLIGHT, penwidth="4")
        node_lines[f"[{key}]"] = f"  {q('[' + key + ']')} {attrs(a)}"
    rankdir = opt.rankdir or ("TB" if len(boxes) >= TB_BOXES else "LR")
    out = [f"digraph {q(graph.name)} {{",
           f"  graph {attrs(_graph_attrs(opt, bool(opt.health), rankdir, notes))}",
           f"  node {attrs({'fontname': S.FONT, 'fontsize': '10', 'margin': '0.1,0.04'})}",
           f"  edge {attrs({'fontname': S.FONT, 'fontsize': '8', 'color': S.EDGE_COLOR})}"]
    out += _clustered(opt, shown, node_lines, names)
    out += [line for k, line in node_lines.items() if k.startswith("[")]
    for key in boxes:  # a layer's backward box sits beside its forward box (a ladder)
        if key.startswith("∇") and key[1:] in boxes:
            out.append(f"  {{rank=same; {q('[' + key[1:] + ']')}; {q('[' + key + ']')}}}")
    labels = opt.show_shapes and len(node_lines) <= EDGE_LABEL_NODES
    out += _edges(_edge_ends(graph, owner, copies), opt, grd, hot_edges, lo, hi, labels)
    out.append("}")
    return "\n".join(out) + "\n"


def _owners(graph: Any, opt: Options) -> tuple[dict[int, str], dict[str, list[Any]], list[Any]]:
    """Which DOT node draws each graph node (itself, a collapsed box ``[key]``, or none
    when hidden): (node id -> DOT name, box key -> members, nodes drawn as themselves)."""
    owner: dict[int, str] = {}
    boxes: dict[str, list[Any]] = {}
    shown: list[Any] = []
    collapsed = _collapsed_keys(graph, opt)
    for n in graph.nodes:
        if not _visible(opt, n):
            continue
        key = collapsed.get(n.id)
        if key is None:
            owner[n.id] = n.name
            shown.append(n)
        else:
            owner[n.id] = f"[{key}]"
            boxes.setdefault(key, []).append(n)
    return owner, boxes, shown


def const_copies(graph: Any, owner: Mapping[int, str]) -> dict[int, dict[str, str]]:
    """Scalar constants that feed two or more drawn nodes are drawn once per consumer, so
    that no constant becomes a hub (one shared ``c`` in a long chain of ``h * c`` made
    Graphviz's layout take minutes): const id -> {consumer's DOT name: its copy's name}.

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x"); c = gn.const(0.5); y = (x * c + c).named("y")
    >>> const_copies(g, {n.id: n.name for n in g.nodes})
    {1: {'mul_1': 'const_1·1', 'y': 'const_1·2'}}
    """
    users: dict[int, dict[str, None]] = {}
    for n in graph.nodes:
        dst = owner.get(n.id)
        if dst is None:
            continue
        for i in n.inputs:
            if i.op.name == "const" and owner.get(i.id) == i.name and i.size == 1:
                users.setdefault(i.id, {})[dst] = None
    taken = {owner[k] for k in owner}
    out: dict[int, dict[str, str]] = {}
    for cid, dsts in users.items():
        if len(dsts) < 2:
            continue
        base = graph.nodes[cid].name
        out[cid] = {d: _fresh(f"{base}·{k}", taken) for k, d in enumerate(dsts, 1)}
    return out


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "·"
    taken.add(name)
    return name


def dot_size(graph: Any, **options: Any) -> tuple[int, int]:
    """(nodes, edges) that ``to_dot(graph, **options)`` would draw, counted without
    building labels: what a render checks against the engine's budget."""
    opt = make_options(**{k: v for k, v in options.items() if k in OPTION_NAMES})
    owner, boxes, shown = _owners(graph, opt)
    copies = const_copies(graph, owner)
    nodes = len(shown) + len(boxes) + sum(len(c) - 1 for c in copies.values())
    return nodes, sum(1 for _ in _edge_ends(graph, owner, copies))


def _health_bounds(opt: Options) -> tuple[float, float]:
    if opt.health is True or not opt.health:
        return S.HEALTH_VANISHING, S.HEALTH_EXPLODING
    try:
        lo, hi = (float(v) for v in opt.health)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise GraphError(f"health= takes True or (vanishing, exploding) thresholds, "
                         f"got {opt.health!r}") from None
    return lo, hi


def _graph_attrs(opt: Options, health: bool, rankdir: str,
                 notes: set[str] = frozenset()) -> dict[str, str]:  # type: ignore[assignment]
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise GraphError(f"rankdir must be one of LR, TB, RL, BT; got {rankdir!r}")
    a = {"rankdir": rankdir, "fontname": S.FONT, "fontsize": "11", "nodesep": "0.25",
         "ranksep": "0.35", "outputorder": "edgesfirst", "bgcolor": "white"}
    caption = opt.title or ""
    if health:
        lo, hi = _health_bounds(opt)
        caption += (("\n" if caption else "") + f"edge colour = RMS gradient: purple < "
                    f"{fmt_num(lo)} (vanishing), green healthy, red > {fmt_num(hi)} "
                    "(exploding), black NaN/Inf")
    if opt.legend and "summary" in notes:
        caption += ("\n" if caption else "") + S.SUMMARY_LEGEND
    if caption:
        a.update(label=caption, labelloc="b")
    return a


def _node_line(n: Any, opt: Options, vals: Mapping[int, Any], grd: Mapping[int, Any],
               is_out: bool, is_cur: bool, is_target: bool, notes: set[str] | None = None) -> str:
    a = S.node_style(n.role, n.op.name)
    a["label"] = "\n".join(S.label_lines(n, vals.get(n.id), grd.get(n.id),
                                         show_shapes=opt.show_shapes, max_inline=opt.max_inline,
                                         max_matrix=opt.max_matrix, notes=notes))
    a["tooltip"] = f"{n.name}: {n.op.name} {fmt_shape(n.shape)} {n.dtype}"
    a["class"] = n.role + (" output" if is_out else "")
    if is_out:
        a.update(S.OUTPUT_STYLE)
    if is_target:
        a.update(color=S.HIGHLIGHT, penwidth="2.5")
    if is_cur:
        a.update(color=S.HIGHLIGHT, penwidth="5")
        a["class"] += " current"
    if opt.fixed_sizes is not None and n.id in opt.fixed_sizes:
        w, h = opt.fixed_sizes[n.id]
        a.update(fixedsize="true", width=f"{w:g}", height=f"{h:g}")
    return f"  {q(n.name)} {attrs(a)}"


# labelloc: a caption under the graph (labelloc=b) must not move the cluster titles
CLUSTER_STYLE = {"style": "rounded,dashed", "color": "#a78bfa", "fontcolor": "#6d28d9",
                 "labelloc": "t"}


def _clustered(opt: Options, shown: list[Any], node_lines: dict[str, str],
               names: Mapping[int, list[str]]) -> list[str]:
    """Node lines (``names``: each node's DOT nodes), nested in ``subgraph cluster_...``
    blocks by group path."""
    if not opt.clusters:
        return [node_lines[d] for n in shown for d in names[n.id]]
    tree: dict[str, Any] = {"": ([], {})}  # path -> (node lines, children)
    for n in shown:
        parent = ""
        path = ""
        for part in (n.group.split("/") if n.group else []):
            path = f"{path}/{part}" if path else part
            if path not in tree:
                tree[path] = ([], {})
                tree[parent][1][path] = part
            parent = path
        tree[parent][0].extend(node_lines[d] for d in names[n.id])

    def emit(path: str, depth: int) -> list[str]:
        lines, children = tree[path]
        pad = "  " * depth
        res = [pad + line.strip() if depth > 1 else line for line in lines]
        for child, name in children.items():
            cid = "cluster_" + "".join(c if c.isalnum() else "_" for c in child)
            res.append(f"{pad}  subgraph {q(cid)} {{")
            res.append(f"{pad}    graph {attrs(CLUSTER_STYLE | {'label': name})}")
            res += emit(child, depth + 2)
            res.append(f"{pad}  }}")
        return res

    return emit("", 1)


def _edge_ends(graph: Any, owner: Mapping[int, str],
               copies: Mapping[int, Mapping[str, str]]) -> Iterator[tuple[Any, Any, str, str,
                                                                         bool]]:
    """(input, consumer, tail, head, touches a box) for every drawn edge; edges between
    the same boxes once, a shared scalar constant's edge from the consumer's own copy."""
    seen: set[tuple[str, str]] = set()
    for n in graph.nodes:
        dst = owner.get(n.id)
        if dst is None:
            continue
        for i in n.inputs:
            src = owner.get(i.id)
            if src is None or src == dst:
                continue
            if i.id in copies:
                src = copies[i.id][dst]
            collapsed = src.startswith("[") or dst.startswith("[")
            if collapsed:
                if (src, dst) in seen:
                    continue
                seen.add((src, dst))
            yield i, n, src, dst, collapsed


def _edges(ends: Iterable[tuple[Any, Any, str, str, bool]], opt: Options,
           grd: Mapping[int, Any], hot: set[frozenset[int]], lo: float,
           hi: float, labels: bool = True) -> list[str]:
    """Edge lines. A shape label goes on an edge only when ``labels`` and the edge stays
    inside one cluster (or outside all): an edge entering or leaving a cluster would put
    its label where Graphviz draws the cluster's title (the shape is in the source
    node's label anyway)."""
    lines = []
    for i, n, tail, head, collapsed in ends:
        a: dict[str, str] = {}
        if labels and i.shape != () and (collapsed or not opt.clusters or i.group == n.group):
            a["label"] = fmt_shape(i.shape)
        if n.role == "grad":
            a.update(color=S.GRAD_EDGE_COLOR, style="dashed")
            if collapsed and i.role != "grad":  # long forward->backward box edges
                a["constraint"] = "false"
        if opt.health and i.id in grd:
            r = S.rms(grd[i.id])
            cls = S.health_class(r, lo, hi)
            a.update(color=S.HEALTH_COLOR[cls], penwidth="2",
                     tooltip=f"grad rms {fmt_num(r)} ({cls})")
        if frozenset((i.id, n.id)) in hot:
            a.update(color=S.HIGHLIGHT, penwidth="4")
        lines.append(f"  {q(tail)} -> {q(head)}" + (f" {attrs(a)}" if a else ""))
    return lines


ADAPTERS["to_dot"] = to_dot  # Graph.to_dot in core reaches it through this
