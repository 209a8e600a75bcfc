"""The README's Python example runs as written (in a scratch folder)."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_python_blocks_run(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no python example"
    monkeypatch.chdir(tmp_path)
    ns: dict[str, object] = {"__name__": "__readme__"}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), ns)
    out = capsys.readouterr().out
    assert "0.99" in out and "backward" in out
    assert (tmp_path / "neuron.svg").read_text().startswith(("<?xml", "<svg"))
