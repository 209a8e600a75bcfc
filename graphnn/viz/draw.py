"""``gn.render``: one call from a graph (and optionally a run or a trace step) to SVG,
PNG, PDF or DOT, in memory or written atomically to a file; and the Jupyter hooks.

>>> import graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     f = ((x + y).named("d") * z).named("f")
>>> r = gn.run(g, {"x": 1, "y": -3, "z": 4}, wrt=[x, y, z])
>>> svg = gn.render(g, run=r, engine="wasm")
>>> "<svg" in svg and "value &#45;8" in svg
True
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from graphnn.core.errors import GraphError
from graphnn.core.op import ADAPTERS
from graphnn.viz import engine as E
from graphnn.viz.dot import RenderWarning, dot_size, to_dot
from graphnn.viz.style import colorize

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
TEXT_FORMATS = ("svg", "dot")
AUTO_COLLAPSE = 400  # notebook display collapses layers of graphs larger than this


def _unpack(g: Any, run: Any) -> tuple[Any, Any]:
    if hasattr(g, "graph") and hasattr(g, "value"):  # a Run
        return g.graph, _host(run if run is not None else g)
    if not hasattr(g, "nodes") or not hasattr(g, "default_outputs"):
        raise GraphError(f"gn.render needs a Graph or a Run, got {type(g).__name__}")
    return g, _host(run)


def _host(run: Any) -> Any:
    """A run on a GPU is drawn from NumPy copies of its values."""
    return run.to_host() if getattr(run, "device", "cpu") != "cpu" else run


def render(g: Any, run: Any = None, step: Any = None, path: str | os.PathLike[str] | None = None,
           format: str | None = None, engine: str | None = None,
           max_nodes: int | None = None, scale: float | None = None, dpi: float | None = None,
           **options: Any) -> str | bytes:
    """Draw ``g`` (a Graph or a Run) with values/gradients from ``run``.

    Args:
        run: a Run whose values and gradients are printed on the nodes.
        step: a trace step to highlight (its node and the edges to its targets).
        path: write the picture there (atomically); the format comes from the suffix
            (.svg .png .pdf .dot) unless ``format`` is given.
        format: "svg" (default), "png", "pdf" or "dot".
        engine: "auto" (system ``dot`` if on PATH, else in-process WebAssembly),
            "dot" or "wasm".
        max_nodes: the most DOT nodes to lay out (edges: twice that). Default: the
            budget measured for the engine (``graphnn.viz.engine.MAX_NODES``). A bigger
            drawing of a graph with layer groups is collapsed (one box per layer, a
            RenderWarning says so) unless ``collapse`` was given; one that still does not
            fit raises GraphError at once instead of running Graphviz for minutes.
            Pass a larger number to try anyway; ``format="dot"`` has no limit.
        scale: PNG (and raster PDF) size factor: 2 gives twice the pixels in each
            direction (sharp on slides); SVG, DOT and ``dot``'s own PDF are vectors.
        dpi: the same as ``scale=dpi / 96`` (Graphviz pictures are 96 dpi at scale 1).
        **options: see ``graphnn.viz.dot.Options`` (show_grads, show_consts,
            show_shapes, collapse, health, rankdir, ...).

    Returns:
        SVG or DOT text (str), PNG or PDF bytes.
    """
    graph, run = _unpack(g, run)
    if format is None:
        if path is not None:
            suffix = os.path.splitext(os.fspath(path))[1].lower()
            if suffix not in FORMATS:
                raise GraphError(f"cannot tell the image format of {os.fspath(path)!r}: use a "
                                 f"{', '.join(FORMATS)} suffix or pass format=")
            format = FORMATS[suffix]
        else:
            format = "svg"
    format = format.lower().lstrip(".")
    if format not in FORMATS.values():
        raise GraphError(f"unknown output format {format!r}; use svg, png, pdf or dot")
    zoom = _zoom(scale, dpi)
    if format != "dot":
        options = fit_budget(graph, E.choose(engine), max_nodes, options)
    src = to_dot(graph, run, step=step, **options)
    data = E.dot_to(src, format, engine, post=colorize, zoom=zoom)
    if path is not None:
        E.write(path, data)
    return data.decode("utf-8") if format in TEXT_FORMATS else data


def _zoom(scale: float | None, dpi: float | None) -> float:
    """The raster zoom from ``scale`` or ``dpi`` (not both); GraphError for a bad value."""
    if scale is not None and dpi is not None:
        raise GraphError(f"give scale= or dpi=, not both (scale={scale!r}, dpi={dpi!r})")
    name, value = ("dpi", dpi) if dpi is not None else ("scale", scale)
    if value is None:
        return 1.0
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GraphError(f"{name}= must be a number, got {value!r}") from None
    top = E.MAX_ZOOM * (96 if name == "dpi" else 1)
    if not 0 < v <= top:
        raise GraphError(f"{name}= must be a number > 0 and at most {top:g}, got {value!r}")
    return v / 96 if name == "dpi" else v


def fit_budget(graph: Any, which: str, max_nodes: int | None,
               options: dict[str, Any]) -> dict[str, Any]:
    """``options``, with ``collapse=True`` added when the drawing is over the budget of
    engine ``which`` and collapsing the graph's layer groups brings it under (a
    RenderWarning says so); GraphError (:func:`check_budget`) when nothing fits."""
    limit, edge_limit = E.budget(which, max_nodes)
    nodes, edges = dot_size(graph, **options)
    if nodes <= limit and edges <= edge_limit:
        return options
    if options.get("collapse") is None and any(n.group for n in graph.nodes):
        small = {**options, "collapse": True}
        c_nodes, c_edges = dot_size(graph, **small)
        if c_nodes <= limit and c_edges <= edge_limit:
            warnings.warn(f"graphnn: this drawing has {nodes:,} nodes, more than the {which} "
                          f"Graphviz engine lays out quickly ({limit:,}); drawing one box "
                          f"per layer instead ({c_nodes:,} nodes). Pass collapse=False "
                          f"(--no-collapse) to refuse, or max_nodes={nodes} "
                          f"(--max-nodes {nodes}) to draw every node anyway",
                          RenderWarning, stacklevel=3)
            return small
    check_budget(graph, which, max_nodes, options)
    return options  # pragma: no cover - check_budget raised


def check_budget(graph: Any, which: str, max_nodes: int | None,
                 options: dict[str, Any]) -> None:
    """Raise GraphError when the drawing of ``graph`` exceeds the node or edge budget of
    engine ``which`` (see :func:`graphnn.viz.engine.budget`)."""
    limit, edge_limit = E.budget(which, max_nodes)
    nodes, edges = dot_size(graph, **options)
    if nodes <= limit and edges <= edge_limit:
        return
    hint = ("" if options.get("collapse") or not any(n.group for n in graph.nodes)
            else "collapse=True / --collapse for one box per layer, ")
    raise GraphError(
        f"this drawing has {nodes:,} nodes and {edges:,} edges, more than the {which} "
        f"Graphviz engine lays out in reasonable time ({limit:,} nodes, {edge_limit:,} "
        f"edges); draw less ({hint}show_grads=False, show_consts=False, or a smaller "
        f"graph), write the DOT text (format='dot'), or raise the limit to try anyway: "
        f"max_nodes={nodes} (graphnn render --max-nodes {nodes})")


def _display_options(graph: Any) -> dict[str, Any]:
    if len(graph.nodes) > AUTO_COLLAPSE and any(n.group for n in graph.nodes):
        return {"collapse": True}
    return {}


def repr_mimebundle(g: Any, run: Any = None) -> dict[str, Any]:
    """Jupyter display data: the SVG, or the text printout when drawing is impossible."""
    graph, run = _unpack(g, run)
    text = repr(g)
    try:
        svg = render(graph, run=run, **_display_options(graph))
    except GraphError as e:
        return {"text/plain": f"{text}\n(cannot draw: {e})"}
    return {"image/svg+xml": svg, "text/plain": text}


ADAPTERS["repr_mimebundle"] = repr_mimebundle  # Graph._repr_mimebundle_ in core uses it
