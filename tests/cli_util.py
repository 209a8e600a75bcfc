"""Helpers shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from graphnn_cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(__file__).resolve().parent / "models"
EXAMPLES = ROOT / "examples"


def invoke(*args: Any, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run ``graphnn ARGS`` in-process; stdout and stderr stay separate."""
    runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], env=env, input=input,
                         catch_exceptions=False)

