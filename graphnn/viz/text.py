"""Plain-text views of a graph: number formatting shared by every renderer, and a
printer with one line per node (``f = mul(d, z)  () float64``), plus value and
gradient columns when given a run.

>>> import graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     d = (x + y).named("d"); f = (d * z).named("f")
>>> r = gn.run(g, {"x": 1, "y": -3, "z": 4}, wrt=[x, y, z])
>>> print(format_graph(g, run=r))
x = input      ()  float64  value  1  grad  4
y = input      ()  float64  value -3  grad  4
z = input      ()  float64  value  4  grad -2
d = add(x, y)  ()  float64  value -2  grad  4
f = mul(d, z)  ()  float64  value -8  grad  1
>>> fmt_value([[1.0, 2.5], [3.0, 4.0]])
'[[1, 2.5], [3, 4]]'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphnn.core.errors import fmt_shape

MAX_INLINE = 6  # tensors with at most this many elements are shown in full


def fmt_num(x: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits: ``-2``, ``0.1192``, ``1.5e-07``."""
    v = np.asarray(x).item()
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    s = f"{v:.{digits}g}"
    return "0" if s == "-0" else s


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 node``, ``2 nodes`` (``many`` for irregular plurals).

    >>> plural(1, "node"), plural(2, "node"), plural(1_500, "sweep")
    ('1 node', '2 nodes', '1,500 sweeps')
    """
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def summarize(a: np.ndarray, digits: int = 4) -> str:
    """One-line summary of a large tensor: shape, min / mean / max and the L2 norm."""
    f = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(f)):
        bad = int(np.sum(~np.isfinite(f)))
        return f"{fmt_shape(a.shape)} {bad} non-finite of {a.size}"
    return (f"{fmt_shape(a.shape)} min {fmt_num(f.min(), digits)} mean {fmt_num(f.mean(), digits)}"
            f" max {fmt_num(f.max(), digits)} |{fmt_num(np.linalg.norm(f), digits)}|")


def fmt_value(value: Any, max_inline: int = MAX_INLINE, digits: int = 4) -> str:
    """Scalars with ``digits`` significant digits, small tensors inline, large summarized."""
    a = np.asarray(value)
    if a.size == 1 and a.ndim <= 1:
        return fmt_num(a.reshape(()), digits)
    if 0 < a.size <= max_inline:
        return _nested(a.tolist(), digits)
    if a.size == 0:
        return f"empty {fmt_shape(a.shape)}"
    return summarize(a, digits)


def _nested(v: Any, digits: int) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(e, digits) for e in v) + "]"
    return fmt_num(v, digits)


def node_values(graph: Any, run: Any = None, values: Mapping[int, Any] | None = None,
                grads: Mapping[int, Any] | None = None) -> tuple[dict[int, Any], dict[int, Any]]:
    """Node id -> value and node id -> gradient, from a Run and/or explicit tables."""
    vals: dict[int, Any] = {}
    grd: dict[int, Any] = {}
    if run is not None:
        for n in graph.nodes:
            if run.has_value(n):
                vals[n.id] = run.value(n)
            if run.has_grad(n):
                grd[n.id] = run.grad(n)
    if values is not None:
        vals.update(values)
    if grads is not None:
        grd.update(grads)
    return vals, grd


def expression(node: Any) -> str:
    """``mul(d, z)`` for op nodes; ``input`` / ``param`` / the value for leaves."""
    if node.op.name == "const":
        return f"const {fmt_value(node.params['value'])}"
    if node.op.leaf:
        return node.op.name
    args = [i.name for i in node.inputs]
    args += [f"{k}={_param_text(v)}" for k, v in node.params.items()]
    return f"{node.op.name}({', '.join(args)})"


def _param_text(v: Any) -> str:
    return f"array{fmt_shape(v.shape)}" if isinstance(v, np.ndarray) else repr(v)


def format_graph(graph: Any, run: Any = None, values: Mapping[int, Any] | None = None,
                 grads: Mapping[int, Any] | None = None, show_grads: bool = True,
                 outputs: Sequence[Any] = (), align: bool = True) -> str:
    """The graph as text, one aligned line per node (with value/grad columns if known).

    ``graph`` may also be a Run (its graph and numbers are used). ``outputs`` are marked
    ``<- out``; ``align=False`` separates columns by two spaces only (stable lines for
    diffs: the listing of compiler passes, ``passes.rewrite.listing``).

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     y = (gn.input("x") * 2.0).named("y")
    >>> print(format_graph(g, outputs=[y], align=False))
    x = input  ()  float64
    const_1 = const 2  ()  float64
    y = mul(x, const_1)  ()  float64   <- out
    """
    if run is None and hasattr(graph, "value") and hasattr(graph, "graph"):
        graph, run = graph.graph, graph
    vals, grd = node_values(graph, run, values, grads)
    outs = {o.id for o in outputs}
    rows = []
    for n in graph.nodes:
        if n.role == "grad" and not show_grads:
            continue
        row = [f"{n.name} = {expression(n)}", fmt_shape(n.shape), str(n.dtype)]
        if vals or grd:
            row.append(fmt_value(vals[n.id]) if n.id in vals else "")
            row.append(fmt_value(grd[n.id]) if n.id in grd else "")
        rows.append(row)
    if not rows:
        return ""
    ncol = len(rows[0])
    w = [max(len(r[k]) for r in rows) for k in range(ncol)] if align else [0] * ncol
    lines = []
    for n, r in zip((n for n in graph.nodes if show_grads or n.role != "grad"), rows):
        line = f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}"
        if ncol > 3:
            num = lambda s, k: s.rjust(w[k]) if _numeric(s) else s.ljust(w[k])  # noqa: E731
            line += f"  value {num(r[3], 3)}" if r[3] else "  " + " " * (6 + w[3])
            line += f"  grad {num(r[4], 4)}" if r[4] else ""
        lines.append(line.rstrip() + ("   <- out" if n.id in outs else ""))
    return "\n".join(lines)


def _numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True
