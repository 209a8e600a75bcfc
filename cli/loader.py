"""Where a command's graph comes from: a model file (``build()`` or a module-level
``graph``), a saved graph file (.json), an ``--expr`` expression, or the lecture example.

>>> m = load(None, expr="(x + y) * z", cli_feeds={"x": 1.0, "y": -3.0, "z": 4.0})
>>> [n.name for n in m.graph.nodes], m.source
(['x', 'y', 'z', 'add_1', 'f'], 'expression (x + y) * z')
"""

from __future__ import annotations

import ast
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
    """Load the graph for a command; CLI feeds override the model file's ``feeds()``."""
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
    except Exception as e:
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
    except gn.GraphError:
        raise
    except Exception as e:
        _reraise_user(e, path, f"in {what}")


def _reraise_user(e: Exception, path: Path, when: str) -> None:
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
_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
           ast.MatMult: "matmul"}


def graph_from_expr(expr: str, feeds: dict[str, Any]) -> Any:
    """Build a graph from a (safe) expression: numbers, variables, + - * / ** @ and calls
    of registered ops (``sigmoid(w * x + b)``, ``sum(x, axis=0)``). Variables become
    inputs whose shapes are taken from ``feeds`` (scalars when not fed).
    """
    import numpy as np

    import graphnn as gn

    if len(expr) > 10_000:
        raise gn.ParseError(f"--expr is too long ({len(expr)} characters; at most 10000)")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except RecursionError:
        raise gn.ParseError("--expr is nested too deeply") from None
    except SyntaxError as e:
        raise gn.ParseError(f"--expr {expr!r}: syntax error at column {e.offset}: "
                            f"{e.msg}") from None
    g = gn.Graph("expr")
    variables: dict[str, Any] = {}

    def fail(node: ast.AST, msg: str) -> Any:
        col = getattr(node, "col_offset", 0) + 1
        raise gn.ParseError(f"--expr {expr!r}, column {col}: {msg}")

    def const_value(node: ast.AST) -> Any:
        try:
            return ast.literal_eval(node)
        except ValueError:
            return fail(node, "keyword arguments must be constants (numbers, tuples, None)")

    def visit(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return g.constant(float(node.value))  # a node: no eager arithmetic on numbers
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                return fail(node, f"the name {node.id!r} (names may not start with '_')")
            if node.id not in variables:
                shape = np.shape(feeds[node.id]) if node.id in feeds else ()
                variables[node.id] = g.input(node.id, shape=shape)
            return variables[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _op_fn(_BINOPS[type(node.op)])(visit(node.left), visit(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = visit(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                return fail(node, "only calls of op names are allowed, like exp(x)")
            name = node.func.id
            if name not in gn.REGISTRY or gn.REGISTRY[name].leaf or not hasattr(gn, name):
                known = ", ".join(sorted(k for k, o in gn.REGISTRY.items()
                                         if not o.leaf and hasattr(gn, k)))
                return fail(node, f"unknown op {name!r} (known ops: {known})")
            # numbers stay numbers in calls (they may be static params: sum(x, 0)),
            # but at least one argument is a node, so nothing is computed eagerly
            args = [a.value if _number(a) else visit(a) for a in node.args]
            if args and not any(isinstance(a, gn.Node) for a in args):
                args[0] = g.constant(float(args[0]))
            kwargs = {k.arg: const_value(k.value) for k in node.keywords if k.arg}
            return getattr(gn, name)(*args, **kwargs)
        return fail(node, f"{type(node).__name__} is not allowed in an expression "
                          "(use numbers, names, + - * / ** @ and op calls)")

    funcs = {id(c.func) for c in ast.walk(tree) if isinstance(c, ast.Call)}
    names = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in funcs),
                   key=lambda n: (n.lineno, n.col_offset))
    with g:
        for n in names:  # inputs in the order they are written: x, y, z for (x + y) * z
            visit(n)
        try:
            out = visit(tree.body)
        except RecursionError:
            raise gn.ParseError("--expr is nested too deeply") from None
        if not isinstance(out, gn.Node):
            out = g.constant(out)
        if out.op.leaf:  # a bare variable: make it a node we can show
            out = out * 1.0
    out.named("f" if "f" not in variables else "out")
    g.mark_output(out)
    return g


def _number(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def _op_fn(name: str) -> Any:
    import graphnn as gn

    return getattr(gn, name)


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
