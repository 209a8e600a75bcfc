"""NaN is never "ok" (issue 14.7) and bad numeric options are usage errors (14.9)."""

from __future__ import annotations

import numpy as np
import pytest

from graphnn.codegen.compiler import CompiledGraph, CompiledResult
from graphnn.testing import rel_err
from graphnn_cli.cmd_compile import _difference
from graphnn_cli.common import passes_tol, worst_error
from tests.cli_util import invoke


def test_worst_error_keeps_nan() -> None:
    assert max(0.0, float("nan")) == 0.0  # the trap
    assert np.isnan(worst_error([0.0, float("nan"), 1.0]))
    assert worst_error([1e-9, 3.0]) == 3.0
    assert not passes_tol(float("nan"), 1.0)


def test_difference_of_non_finite_results() -> None:
    assert _difference([np.inf, np.nan, 1.0], [np.inf, np.nan, 1.0], rel_err) == 0.0
    assert np.isnan(_difference([np.nan], [1.0], rel_err))
    assert _difference([np.inf], [1.0], rel_err) == np.inf


def test_grad_check_with_nan_errors_fails() -> None:
    res = invoke("grad-check", "--expr", "sqrt(x)", "--feed", "x=-1", "-q")
    assert res.exit_code == 1
    assert "FAILED" in res.output and "nan" in res.output


@pytest.mark.parametrize("opt", [("--eps", "nan"), ("--eps", "0"), ("--eps", "-1e-6"),
                                 ("--eps", "inf"), ("--tol", "nan"), ("--seed", "-1")])
def test_bad_numeric_options_are_usage_errors(opt: tuple[str, str]) -> None:
    cmd = "grad-check" if opt[0] != "--seed" else "trace"
    res = invoke(cmd, *opt)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "--debug" not in res.output


def test_compile_check_fails_on_a_nan_difference(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path) -> None:
    real = CompiledGraph.__call__

    def nan_values(self: CompiledGraph, *a: object, **kw: object) -> CompiledResult:
        r = real(self, *a, **kw)
        return CompiledResult({k: np.full_like(np.asarray(v, float), np.nan)
                               for k, v in r.values.items()}, r.grads, r.loss_name)

    monkeypatch.setattr(CompiledGraph, "__call__", nan_values)
    res = invoke("compile", "--check", "--expr", "x * 2", "-o", tmp_path / "m.py")
    assert res.exit_code == 1
    assert "differ" in res.output
