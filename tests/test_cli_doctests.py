"""The docstring examples of the command-line modules (pytest's --doctest-modules only
covers graphnn/, and the CLI package lives in cli/ under the import name graphnn_cli)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import graphnn_cli

MODULES = sorted(m.name for m in pkgutil.iter_modules(graphnn_cli.__path__, "graphnn_cli."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
