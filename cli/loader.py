"""Where a command's graph comes from: a model file (``build()`` or a module-level
``graph``), a saved graph file (.json), an ``--expr`` expression, or the lecture example.

>>> m = load(None, expr="(x + y) * z", cli_feeds={"x": 1.0, "y": -3.0, "z": 4.0})
>>> [n.name for n in m.graph.nodes], m.source
(['x', 'y', 'z', 'add_1', 'f'], 'expression (x + y) * z')
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from graphnn_cli.common import CliError, note


@dataclass
class Model:
    """A loaded graph with the feeds to run it and where it came from."""

    graph: Any
    feeds: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    module: ModuleType | None = None
    path: Path | None = None

    @property
    def stem(self) -> str:
        """Base name for default output files."""
        return self.path.stem if self.path is not None else self.graph.name


def lecture_graph() -> tuple[Any, dict[str, float]]:
    """The lecture example f = (x + y) * z at x = 1, y = -3, z = 4 (d = x + y)."""
    import graphnn as gn

    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        g.mark_output((d * z).named("f"))
    return g, {"x": 1.0, "y": -3.0, "z": 4.0}


def load(model: str | None, expr: str | None = None,
         cli_feeds: dict[str, Any] | None = None) -> Model:
    """Load the graph for a command; CLI feeds override the model file's ``feeds()``.

    Every ``--feed`` must name an input (or param) of the graph and fit its shape and
    dtype, whatever the command does with it: a FeedError (exit 1) otherwise."""
    m = _load(model, expr, cli_feeds)
    if cli_feeds:
        from graphnn.run.interpret import check_feeds

        check_feeds(m.graph, cli_feeds, ())
    return m


def _load(model: str | None, expr: str | None = None,
          cli_feeds: dict[str, Any] | None = None) -> Model:
    cli_feeds = dict(cli_feeds or {})
    if model and expr:
        import click

        raise click.UsageError("give either a MODEL file or --expr, not both")
    if expr is not None:
        g = graph_from_expr(expr, cli_feeds)
        return Model(g, cli_feeds, f"expression {expr}")
    if model is None:
        g, feeds = lecture_graph()
        return Model(g, {**feeds, **cli_feeds}, "lecture example f = (x + y) * z")
    path = Path(model)
    if not path.exists():
        raise CliError(f"no such model file: {model}")
    if path.suffix == ".json":
        return _load_saved(path, cli_feeds)
    if path.suffix != ".py":
        raise CliError(f"{model}: expected a Python model file (.py) or a saved graph (.json)")
    module = import_model(path)
    g = graph_of(module, path)
    feeds: dict[str, Any] = {}
    fn = getattr(module, "feeds", None)
    if callable(fn):
        got = call_user(fn, path, "feeds()")
        if not isinstance(got, dict):
            raise CliError(f"{path}: feeds() returned {type(got).__name__}, expected a dict "
                           "of input name -> value")
        feeds = dict(got)
    elif isinstance(fn, dict):
        feeds = dict(fn)
    return Model(g, {**feeds, **cli_feeds}, str(path), module, path)


def _load_saved(path: Path, cli_feeds: dict[str, Any]) -> Model:
    try:
        from graphnn.io.format import load as load_graph
    except ImportError:
        raise CliError(f"{path}: reading saved graphs needs graphnn.io (graph interchange), "
                       "which this graphnn build does not have") from None
    g = load_graph(str(path))  # FormatError (a GraphError) names the file and the problem
    return Model(g, cli_feeds, str(path), None, path)


def import_model(path: Path) -> ModuleType:
    """Execute a model file as a module; syntax and runtime errors name file and line."""
    name = f"graphnn_model_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always load
        raise CliError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # let a model import its neighbours
    argv, sys.argv = sys.argv, [str(path)]  # a file that parses arguments sees none
    try:
        spec.loader.exec_module(module)
    except SystemExit as e:
        raise CliError(f"{path}: the file exited while loading (exit status {e.code}); is it "
                       "a script? Model files define build() and do their work there") from None
    except SyntaxError as e:
        same = e.filename and Path(e.filename).resolve() == path.resolve()
        where = f"{path if same or not e.filename else e.filename}:{e.lineno}" \
            if e.lineno else str(path)
        raise CliError(f"{where}: syntax error: {e.msg}") from None
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as e:  # noqa: BLE001 - a model's own BaseException subclasses too
        _reraise_user(e, path, "while loading")
    finally:
        sys.argv = argv
        try:
            sys.path.remove(folder)
        except ValueError:  # pragma: no cover
            pass
    return module


def graph_of(module: ModuleType, path: Path) -> Any:
    """The Graph a model module defines: ``build()``'s result, or ``graph``."""
    import graphnn as gn

    build = getattr(module, "build", None)
    if callable(build):
        g = call_user(build, path, "build()")
        if isinstance(g, tuple) and g and isinstance(g[0], gn.Graph):
            g = g[0]
        if isinstance(g, gn.Node):
            g.graph.mark_output(g)
            g = g.graph
        if not isinstance(g, gn.Graph):
            raise CliError(f"{path}: build() returned {type(g).__name__}, expected a "
                           "gn.Graph")
        return g
    g = getattr(module, "graph", None)
    if isinstance(g, gn.Graph):
        return g
    raise CliError(f"{path}: defines neither build() nor a gn.Graph named `graph`")


def call_user(fn: Any, path: Path, what: str) -> Any:
    import graphnn as gn

    try:
        return fn()
    except (gn.GraphError, KeyboardInterrupt, GeneratorExit):
        raise
    except SystemExit as e:
        raise CliError(f"{path}: {what} exited (exit status {e.code})") from None
    except BaseException as e:  # noqa: BLE001 - a model's own BaseException subclasses too
        _reraise_user(e, path, f"in {what}")


def _reraise_user(e: BaseException, path: Path, when: str) -> None:
    """Turn an exception raised by the user's file into one line naming file:line."""
    import graphnn as gn

    if isinstance(e, gn.GraphError):
        raise e
    line = None
    resolved = str(path.resolve())
    for fs in traceback.extract_tb(e.__traceback__):
        if str(Path(fs.filename).resolve()) == resolved:
            line = fs.lineno
    where = f"{path}:{line}" if line else str(path)
    raise CliError(f"{where}: {type(e).__name__} {when}: {e}") from None


# -- expressions --------------------------------------------------------------------
def graph_from_expr(expr: str, feeds: dict[str, Any]) -> Any:
    """Build a graph from ``--expr`` with graphnn's one safe parser
    (:func:`graphnn.io.expr.expression`): numbers, names, + - * / ** @ and calls of ops
    with constant static arguments (``sum(x, axis=0)``). Names become inputs, in the
    order written, shaped like their ``feeds`` (scalars when not fed); the result is the
    node ``f`` (``out`` when ``f`` is a name in the expression).
    """
    import numpy as np

    import graphnn as gn
    from graphnn.io.expr import expression

    shapes = {k: np.shape(v) for k, v in feeds.items()}
    g = gn.Graph("expr")
    with g:
        out = expression(expr, g, shapes=shapes)
        if not isinstance(out, gn.Node):
            out = g.constant(out)
        if out.op.leaf:  # a bare variable or number: make it a node we can show
            out = out * 1.0
    out.named("out" if "f" in g._by_name else "f")
    g.mark_output(out)
    return g


# -- running ------------------------------------------------------------------------
def complete_feeds(m: Model, seed: int, quiet: bool = False) -> dict[str, Any]:
    """The model's feeds plus random values (from ``seed``) for inputs still missing."""
    import numpy as np

    feeds = dict(m.feeds)
    rng = np.random.default_rng(seed)
    for n in m.graph.inputs:
        if n.name not in feeds:
            if n.dtype.kind == "f":
                feeds[n.name] = rng.standard_normal(n.shape).astype(n.dtype)
            else:
                feeds[n.name] = np.zeros(n.shape, dtype=n.dtype)
            if not quiet:
                note(f"no value given for input '{n.name}' {n.shape}: using random "
                     f"normal values (--seed {seed})")
    return feeds


def wrt_nodes(m: Model, names: list[str]) -> list[Any]:
    """``--wrt`` names as nodes; default: every float input and param."""
    g = m.graph
    if names:
        return [g.node(n) for n in names]
    return [n for n in g.inputs + g.params if n.dtype.kind == "f"]


def output_node(m: Model, name: str | None) -> Any:
    """The node to show/differentiate: ``name`` or the graph's only default output."""
    g = m.graph
    if name:
        return g.node(name)
    outs = g.default_outputs()
    if len(outs) != 1:
        import click

        raise click.UsageError(f"the graph has {len(outs)} outputs "
                               f"({', '.join(o.name for o in outs)}); choose one with --of")
    return outs[0]


def run_model(m: Model, seed: int, wrt: list[str], of: str | None = None,
              quiet: bool = False, grads: bool = True, **hooks: Any) -> Any:
    """Run forward and reverse; a non-scalar output is seeded with ones (d sum / d ...)."""
    import numpy as np

    import graphnn as gn

    feeds = complete_feeds(m, seed, quiet=quiet)
    outs = m.graph.default_outputs()
    if of is None and len(outs) > 1:
        if not quiet:
            note(f"the graph has {len(outs)} outputs ({', '.join(o.name for o in outs)}): "
                 "showing values only; choose one with --of for gradients")
        return gn.run(m.graph, feeds, outputs=outs, **hooks)
    out = output_node(m, of)
    nodes = wrt_nodes(m, wrt) if grads else []
    seed_v = None if out.shape == () or not nodes else np.ones(out.shape, dtype=out.dtype)
    if seed_v is not None and not quiet:
        note(f"output '{out.name}' has shape {out.shape}: gradients are of its sum")
    return gn.run(m.graph, feeds, wrt=nodes or None, outputs=[out], loss=out if nodes else None,
                  seed=seed_v, **hooks)
