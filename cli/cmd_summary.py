"""``graphnn summary``: a layer table with output shapes and parameter counts."""

from __future__ import annotations

from typing import Any

import click

from graphnn_cli.common import CliError, echo


def graph_rows(g: Any) -> list[tuple[str, str, tuple[int, ...], int, int]]:
    """(layer, type, output shape, params, multiply-adds) per layer of a built graph.

    A layer is a scope (``g.scope("fc1")``, which gn.nn layers use); ungrouped op nodes
    are layers of their own, and an ungrouped param counts towards its first consumer.

    >>> import graphnn as gn, numpy as np
    >>> with gn.Graph() as g:
    ...     x = gn.input("x", shape=(3,))
    ...     with g.scope("fc1"):
    ...         h = gn.sigmoid(gn.param("W", np.ones((4, 3))) @ x + gn.param("b", np.zeros(4)))
    >>> graph_rows(g)
    [('x', 'input', (3,), 0, 0), ('fc1', 'matmul+add+sigmoid', (4,), 16, 12)]
    """
    consumers = g.consumers()
    rows: dict[str, list[Any]] = {}
    for n in g.nodes:
        if n.role == "grad":
            continue
        if n.role == "input":
            rows[n.name] = [n.name, "input", n.shape, 0, 0, []]
            continue
        if n.op.leaf:
            if n.role != "param":
                continue
            key = n.group.split("/")[0] if n.group else _first_row(n, consumers)
            if key is None:
                continue
            row = rows.setdefault(key, [key, "", n.shape, 0, 0, []])
            row[3] += n.size
            continue
        key = n.group.split("/")[0] if n.group else n.name
        row = rows.setdefault(key, [key, "", n.shape, 0, 0, []])
        row[2] = n.shape
        if n.op.name not in row[5]:
            row[5].append(n.op.name)
        if n.op.cost is not None:
            try:
                row[4] += int(n.op.cost(*[i.shape for i in n.inputs], n.shape, **n.params))
            except Exception:  # noqa: BLE001 - a cost rule that cannot say: count nothing
                pass
    out = []
    for name, typ, shape, params, madds, opnames in rows.values():
        out.append((name, typ or "+".join(opnames) or "param", tuple(shape), params, madds))
    return out


def _first_row(param: Any, consumers: list[list[Any]]) -> str | None:
    users = consumers[param.id]
    if not users:
        return None
    u = users[0]
    return u.group.split("/")[0] if u.group else u.name


def format_rows(rows: list[tuple[str, str, tuple[int, ...], int, int]], hwc: bool) -> str:
    """A text table with a total row."""
    head = ("layer", "type", "output shape", "params", "multiply-adds")
    body = [(n, t, _shape(s, hwc), f"{p:,}", f"{m:,}" if m else "") for n, t, s, p, m in rows]
    total = ("total", "", "", f"{sum(r[3] for r in rows):,}", f"{sum(r[4] for r in rows):,}")
    table = [head, *body, total]
    widths = [max(len(r[i]) for r in table) for i in range(5)]
    lines = []
    for k, r in enumerate(table):
        cells = [r[i].ljust(widths[i]) if i < 3 else r[i].rjust(widths[i]) for i in range(5)]
        lines.append("  ".join(cells).rstrip())
        if k == 0 or k == len(table) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _shape(shape: tuple[int, ...], hwc: bool) -> str:
    if hwc and len(shape) in (3, 4):
        c, h, w = shape[-3:]
        return f"{h}x{w}x{c}"
    return str(shape)


def _module_model(module: Any) -> Any:
    """A gn.nn Module the model file defines as ``model`` (object or factory), or None."""
    import graphnn as gn

    base = gn.nn.Module
    obj = getattr(module, "model", None) if module is not None else None
    if obj is None:
        return None
    if callable(obj) and not isinstance(obj, base):
        obj = obj()
    return obj if isinstance(obj, base) else None


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3,227,227"`` or ``"3x227x227"`` -> ``(3, 227, 227)``."""
    try:
        return tuple(int(s) for s in text.replace("x", ",").split(",") if s.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected sizes like 3,227,227",
                                 param_hint="--input-shape") from None


@click.command(epilog="""\b
Examples:
  graphnn summary examples/models/mlp_342.py
  graphnn summary examples/models/alexnet.py --hwc      # 60,965,224 params
  graphnn summary model.py --input-shape 3,32,32
  graphnn summary --expr "sigmoid(W @ x + b)" --feed W=[[1,2],[3,4]] --feed x=[1,1] --feed b=[0,0]
""")
@click.argument("model", required=False, type=click.Path(dir_okay=False))
@click.option("--expr", "-e", metavar="EXPR", help="Build the graph from an expression.")
@click.option("--feed", "-f", "feeds", multiple=True, metavar="NAME=VALUE",
              help="Input value (gives --expr inputs their shapes).")
@click.option("--input-shape", metavar="SHAPE", help="Input shape without the batch axis "
              "for a gn.nn model defined as `model` in MODEL (e.g. 3,227,227).")
@click.option("--hwc", is_flag=True, help="Write image shapes as HxWxC (the lectures' way).")
def summary(model: str | None, expr: str | None, feeds: tuple[str, ...],
            input_shape: str | None, hwc: bool) -> None:
    """Print the layer table of MODEL: output shape and parameter count per layer.

    A MODEL that defines a gn.nn `model` (and INPUT_SHAPE, or --input-shape) is
    summarised from shapes alone, without allocating its weights, so AlexNet's 60M
    parameters take no memory. Otherwise the graph from build() is grouped by
    layer scopes (what gn.nn layers create) with multiply-add counts.
    """
    from graphnn_cli.common import parse_feeds
    from graphnn_cli.loader import graph_of, import_model, load

    if model and model.endswith(".py") and not expr:
        from pathlib import Path

        path = Path(model)
        if not path.exists():
            raise CliError(f"no such model file: {model}")
        module = import_model(path)
        net = _module_model(module)
        shape_text = input_shape or _default_shape(module)
        if net is not None:
            if shape_text is None:
                raise click.UsageError(f"{model} defines a gn.nn model: give its input "
                                       "shape with --input-shape (or INPUT_SHAPE in the file)")
            s = net.summary(parse_shape(shape_text) if isinstance(shape_text, str)
                            else tuple(shape_text))
            echo(s.format(hwc=hwc) if hasattr(s, "format") else str(s))
            return
        if input_shape is not None:
            raise click.UsageError("--input-shape is for model files that define a gn.nn "
                                   "`model`; a built graph has its shapes already")
        table = format_rows(graph_rows(graph_of(module, path)), hwc)
        echo(model)
        echo(table)
        return
    if input_shape is not None:
        raise click.UsageError("--input-shape is for model files that define a gn.nn `model`")
    m = load(model, expr, parse_feeds(feeds))
    table = format_rows(graph_rows(m.graph), hwc)
    echo(m.source)
    echo(table)


def _default_shape(module: Any) -> Any:
    for name in ("INPUT_SHAPE", "input_shape"):
        v = getattr(module, name, None)
        if isinstance(v, (tuple, list, str)):
            return v
    return None
