"""The tutorial's code runs, and docs/ops.md matches the op registry."""

from __future__ import annotations

import os
import re

import pytest

import graphnn as gn
from graphnn import docgen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_blocks(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_tutorial_code_blocks_run_in_order(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(os.path.join(ROOT, "docs", "tutorial.md"))
    assert len(blocks) >= 15
    monkeypatch.setenv("GRAPHNN_OUT", str(tmp_path))
    ns: dict = {"__name__": "tutorial"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/tutorial.md[block {i}]", "exec"), ns)
        except Exception as e:  # pragma: no cover - the message says which block failed
            pytest.fail(f"tutorial block {i} failed: {type(e).__name__}: {e}\n{block}")
    out = capsys.readouterr().out
    assert "-8.0" in out and "60,965,224" in out


def test_ops_reference_is_up_to_date():
    from tests.op_cases import CASES

    with open(os.path.join(ROOT, "docs", "ops.md"), encoding="utf-8") as f:
        current = f.read()
    fresh = docgen.generate(CASES)
    assert current == fresh, "docs/ops.md is out of date: run python -m graphnn.docgen"


def test_ops_reference_lists_every_registered_op():
    with open(os.path.join(ROOT, "docs", "ops.md"), encoding="utf-8") as f:
        text = f.read()
    for name, op in gn.REGISTRY.items():
        assert f"### `{name}`" in text, name
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        assert "shape rule:" in section
        if not op.leaf:
            assert "example:" in section, name


def test_docgen_check_mode(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert docgen.main(["--check"]) == 0
    stale = tmp_path / "ops.md"
    stale.write_text("old\n")
    assert docgen.main(["--check", "--out", str(stale)]) == 1
