import functools

import numpy as np
import pytest

from graphnn.codegen import compiler


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def verify_every_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every gn.compile in the tests checks the IR before and after each pass."""
    monkeypatch.setattr(compiler, "run_passes",
                        functools.partial(compiler.run_passes, verify=True))


def pytest_configure(config: pytest.Config) -> None:  # --- interchange ---
    config.addinivalue_line("markers", "slow: a test that takes several seconds (scale tests)")
