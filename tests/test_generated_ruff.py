"""Generated modules are clean Python: ruff (the project's linter, in the test extra)
finds nothing in a saved NumPy or CuPy module (pyflakes and pycodestyle rules). Line
length is not checked: a fused group is one line per node by design, however long."""

from __future__ import annotations

import subprocess
import sys

import pytest

import graphnn as gn
from tests.test_codegen import EXAMPLES

ruff = pytest.importorskip("ruff", reason="ruff (test extra) is not installed")


@pytest.mark.parametrize("backend", ["numpy", "cupy", "numpy-every-buffer-kept"])
def test_saved_modules_pass_ruff(tmp_path, backend, monkeypatch):
    """numpy-every-buffer-kept: every buffer is kept between calls and every group runs in
    place (reusing dead buffers), so those statements are linted too."""
    if backend == "numpy-every-buffer-kept":
        from graphnn.codegen import numpy_backend

        monkeypatch.setattr(numpy_backend, "KEEP_MIN", 1)
        monkeypatch.setattr(numpy_backend, "INPLACE_MIN_SIZE", 1)
    paths = []
    for name, build in sorted(EXAMPLES.items()):
        g, _, outs, wrt = build()
        f = gn.compile(g, outputs=outs, wrt=wrt, backend=backend.split("-")[0])
        paths.append(str(f.save(tmp_path / f"{name}_{backend}.py")))
    if backend == "numpy-every-buffer-kept":  # the array examples (mlp, activations) keep
        assert any("_kept(" in open(p).read() for p in paths)
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                           "--select", "E,F,W", "--ignore", "E501", *paths],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("backend", ["numpy", "cupy"])
def test_every_op_alone_makes_a_clean_module(tmp_path, backend):
    """Each op's own helpers are complete: a module of one op (its first test case) names
    nothing it does not define or import (for CuPy: the op record's ``gpu`` helpers,
    which replace the NumPy ones)."""
    from tests.op_cases import CASES

    paths = []
    for name, op in sorted(gn.REGISTRY.items()):
        if op.leaf or not CASES.get(name):
            continue
        case = CASES[name][0]
        with gn.Graph(f"alone_{name}") as g:
            ins = [g.input(f"x{i}", v.shape, v.dtype) for i, v in enumerate(case.inputs)]
            out = gn.bind(op, *ins, **case.params)
        f = gn.compile(g, outputs=[out], backend=backend)
        paths.append(str(f.save(tmp_path / f"{name}.py")))
    assert len(paths) > 150
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                           "--select", "E,F,W", "--ignore", "E501", *paths],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
