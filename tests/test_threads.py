"""Small problems stay single-threaded: BLAS threads are limited inside compiled calls
and gn.fit for mid-size graphs and restored afterwards (no timing assertions)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import graphnn as gn
from graphnn.run.threads import blas_libraries, blas_threads_for, largest_madds

T = sys.modules["graphnn.run.threads"]


def counts() -> list[int]:
    return [lib.get_num_threads() for lib in blas_libraries()]


@pytest.fixture
def two_threads():
    if not blas_libraries():
        pytest.skip("threadpoolctl finds no BLAS library")
    before = counts()
    for lib in blas_libraries():
        lib.set_num_threads(2)
    yield
    for lib, n in zip(blas_libraries(), before):
        lib.set_num_threads(n)


def test_limits_only_mid_size_work_and_restores(two_threads) -> None:
    with blas_threads_for(T.TINY_MADDS) as on:
        assert on and set(counts()) == {1}
        with blas_threads_for(T.TINY_MADDS) as inner:   # nested: the outer setting holds
            assert not inner and set(counts()) == {1}
        assert set(counts()) == {1}
    assert set(counts()) == {2}
    for madds in (0, T.TINY_MADDS - 1, T.SMALL_MADDS):
        with blas_threads_for(madds) as on:
            assert not on and set(counts()) == {2}


def test_compiled_call_and_fit_run_single_threaded(two_threads, monkeypatch) -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(64, 64))
        W = gn.param("W", np.eye(64))
        L = gn.sum(gn.tanh(x @ W)).named("L")
    assert largest_madds(g) == 64 ** 3
    seen = []
    f = gn.compile(g, outputs=[L], wrt=[W])
    real = f.function
    monkeypatch.setattr(f, "function", lambda *a: (seen.append(counts()), real(*a))[1])
    r = f({"x": np.ones((64, 64))})
    assert seen == [[1] * len(blas_libraries())] and set(counts()) == {2}
    assert np.isclose(r.value(L), 64 * 64 * np.tanh(1.0))
    h = gn.fit(gn.nn.Sequential(gn.nn.Linear(4, 3)), np.ones((8, 4)),
               np.zeros(8, dtype=int), epochs=1, batch_size=4, progress=False)
    assert h.epochs == 1 and set(counts()) == {2}
