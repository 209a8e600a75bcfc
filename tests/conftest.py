import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def pytest_configure(config: pytest.Config) -> None:  # --- interchange ---
    config.addinivalue_line("markers", "slow: a test that takes several seconds (scale tests)")
