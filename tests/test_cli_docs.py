"""Every `$ graphnn ...` command shown in docs/cli.md runs (where its inputs exist), so
the documentation cannot drift from the command line."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli_util import ROOT, invoke

DOC = ROOT / "docs" / "cli.md"
LINES = [m.group(1) for m in re.finditer(r"^\$ graphnn(.*)$", DOC.read_text(), re.M)]
OPTIONAL = ("no gn.compile", "rendering is unavailable", "no gn.fit", "no gn.render")


def _args(line: str) -> list[str]:
    line = line.split(" | ")[0].split(" > ")[0]
    return shlex.split(line, comments=True)


@pytest.mark.parametrize("line", LINES)
def test_documented_command_runs(line: str, tmp_path: Path, monkeypatch) -> None:
    args = _args(line)
    files = [a for a in args if a.endswith((".py", ".json")) and not a.startswith("-")]
    outputs = {a for i, a in enumerate(args) if i and args[i - 1] in ("-o", "--html", "--gif",
                                                                      "--history")}
    inputs = [f for f in files if f not in outputs]
    if any(not (ROOT / f).exists() for f in inputs):
        pytest.skip(f"illustrative file in {line!r} is not in the repository")
    args = [str(ROOT / a) if a in inputs else a for a in args]
    monkeypatch.chdir(tmp_path)
    r = invoke(*args)
    if r.exit_code == 1 and any(s in r.stderr for s in OPTIONAL):
        pytest.skip(f"optional capability missing: {r.stderr.strip()}")
    assert r.exit_code == 0, (line, r.stdout, r.stderr)
