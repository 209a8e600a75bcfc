"""Shared helpers of the lecture examples: options, output folder, checks, rendering.

Every example takes ``--fast`` (or env GRAPHNN_FAST=1: small data, few epochs; the tests
use it) and ``--out DIR`` (or env GRAPHNN_OUT; default ./out) for pictures and files.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

import graphnn as gn


def setup(doc: str | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    p.add_argument("--fast", action="store_true", default=os.environ.get("GRAPHNN_FAST") == "1",
                   help="small and quick (what the tests run)")
    p.add_argument("--out", default=os.environ.get("GRAPHNN_OUT", "out"),
                   help="folder for pictures and files (default ./out)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def check(label: str, got: Any, want: Any, tol: float = 1e-9) -> None:
    """Print ``label = got`` and stop if it differs from the lecture's number."""
    got_a, want_a = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    ok = got_a.shape == want_a.shape and np.allclose(got_a, want_a, atol=tol, rtol=tol)
    if got_a.ndim:
        shown = np.array2string(got_a.ravel(), precision=4, suppress_small=True,
                                max_line_width=10_000, threshold=8, edgeitems=3)
    elif float(got_a).is_integer():
        shown = f"{int(got_a):,}"
    else:
        shown = f"{float(got_a):.6g}"
    print(f"  {label:<34} = {shown}   {'ok' if ok else f'EXPECTED {want_a}'}")
    if not ok:
        raise SystemExit(f"{label}: got {got_a}, expected {want_a}")


def check_against_torch(diffs: dict[str, float] | None, against: str) -> None:
    """Print and check each max |graphnn - PyTorch| difference (float64, within 1e-10);
    ``diffs`` None: PyTorch is not installed, say so."""
    if diffs is None:
        print("(PyTorch is not installed: no comparison with torch)")
        return
    print(f"against {against} (float64), max |difference|:")
    for label, d in diffs.items():
        check(label, d, 0.0, tol=1e-10)


def render(g: Any, out: str, name: str, run: Any = None, **options: Any) -> str | None:
    """Draw the graph (values and gradients from ``run``) to OUT/name.svg; never fails the
    example over a missing Graphviz."""
    path = os.path.join(out, f"{name}.svg")
    try:
        gn.render(g, run=run, path=path, **options)
    except Exception as e:  # a renderer problem must not hide the lecture's numbers
        print(f"  (could not render {name}: {type(e).__name__}: {e})")
        return None
    print(f"  picture: {path}")
    return path


def plotting() -> bool:
    """Whether matplotlib is there (plots are optional)."""
    from graphnn import plot

    return plot.available()
