"""Imports go one way: a module may import only its own layer or the layers below it,
and no two modules import each other at import time (directly or through a cycle).

The layers, bottom to top (docs/architecture.md draws them)::

    core < ops < viz < run < passes < teach < codegen < io < nn < optim, train < graphnn

Every import counts, also those inside functions (a lazy import is still a dependency);
only ``if TYPE_CHECKING:`` blocks are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1] / "graphnn"
LAYERS = ["core", "ops", "viz", "run", "passes", "teach", "codegen", "io", "nn",
          "optim", "train", "top"]
RANK = {name: i for i, name in enumerate(LAYERS)}
# top-level modules that are not packages: their layer
MODULE_LAYER = {"optim": "optim", "train": "train", "runner": "train", "data": "core",
                "plot": "core", "testing": "top", "docgen": "top", "__init__": "top"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(mod: str) -> str:
    parts = mod.split(".")
    if len(parts) == 1:
        return "top"
    if f"{parts[1]}" in RANK and (ROOT / parts[1]).is_dir():
        return parts[1]
    return MODULE_LAYER.get(parts[1], "top")


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported graphnn module, line, at module level) for every import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                continue
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                   ast.Lambda))
            if isinstance(child, ast.Import):
                out.extend((a.name, child.lineno, top) for a in child.names
                           if a.name.startswith("graphnn"))
            elif isinstance(child, ast.ImportFrom) and child.module \
                    and child.module.startswith("graphnn") and child.level == 0:
                for a in child.names:  # `from graphnn.viz import style` names a module
                    sub = f"{child.module}.{a.name}"
                    is_mod = (ROOT.parent / sub.replace(".", "/")).with_suffix(".py").exists() \
                        or (ROOT.parent / sub.replace(".", "/")).is_dir()
                    out.append((sub if is_mod else child.module, child.lineno, top))
            visit(child, inner)

    visit(tree, True)
    return out


FILES = sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_package_has_a_layer():
    for p in FILES:
        mod = module_name(p)
        assert layer_of(mod) in RANK, mod


def test_no_upward_imports():
    bad = []
    for p in FILES:
        mod = module_name(p)
        here = RANK[layer_of(mod)]
        for target, line, _ in imports(p):
            if target == "graphnn" and layer_of(mod) != "top":
                bad.append(f"{p.relative_to(ROOT.parent)}:{line} imports the top package")
            elif RANK[layer_of(target)] > here:
                bad.append(f"{p.relative_to(ROOT.parent)}:{line} ({layer_of(mod)}) imports "
                           f"{target} ({layer_of(target)})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycles():
    g = nx.DiGraph()
    for p in FILES:
        mod = module_name(p)
        for target, _, top in imports(p):
            if top and target != mod and not mod.startswith(target + ".") \
                    and target != "graphnn":
                g.add_edge(mod, target)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, f"import cycles: {cycles[:5]}"


@pytest.mark.parametrize("path", ["graphnn/core/op.py", "graphnn/core/ir.py"])
def test_core_imports_only_core(path):
    p = ROOT.parent / path
    assert all(t.startswith("graphnn.core") for t, _, _ in imports(p)), imports(p)


def test_the_checker_sees_lazy_and_upward_imports(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text("import os\ndef f():\n    from graphnn.viz.draw import render\n"
                   "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                   "    from graphnn.io import save\n")
    assert imports(src) == [("graphnn.viz.draw", 3, False)]
