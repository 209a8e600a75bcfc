"""LeNet training step, before/after a change of the op helpers: the compiled step of a
baseline git revision and of the working tree, each saved as a standalone module (the
helpers' source is copied into it), timed side by side in ONE process with PyTorch eager.

    .venv/bin/python bench/lenet_before_after.py [--base REV] [--batch N] [--system-malloc]

The baseline module is written by that revision's own graphnn (``git archive`` into a
temporary folder, run with PYTHONPATH pointing there); both modules get the same inputs
and weights, their loss and gradients are checked equal, and their steps are timed with
bench/codegen.py's ``compare`` (CPU time, best of interleaved loops, one BLAS thread).
glibc malloc: the same policy and ``--system-malloc`` switch as bench/codegen.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "4000000000", "MALLOC_TRIM_THRESHOLD_": "4000000000"}
if __name__ == "__main__" and "--system-malloc" not in sys.argv and any(
        k not in os.environ for k in MALLOC):
    os.environ.update(MALLOC)  # see bench/codegen.py: same policy for every contestant
    os.execv(sys.executable, [sys.executable, *sys.argv])

import numpy as np  # noqa: E402

sys.path.insert(0, HERE)
from codegen import compare  # noqa: E402
from codegen_models import torch_lenet  # noqa: E402

SAVE = """
import sys
import numpy as np
sys.path.insert(0, {bench!r})
import graphnn as gn
from codegen_models import lenet_graph
assert gn.__file__.startswith({root!r}), gn.__file__
g, loss, params = lenet_graph({batch}, np.random.default_rng(0))
gn.compile(g, outputs=[loss], wrt=params).save({out!r}, params=False)
"""


def save_module(root: str, out: str, batch: int = 64) -> None:
    """Compile the LeNet step with the graphnn found in ``root`` and save it to ``out``."""
    env = dict(os.environ, PYTHONPATH=root)
    code = SAVE.format(bench=HERE, root=os.path.abspath(root), out=out, batch=int(batch))
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True)


def load(path: str, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="main", help="baseline git revision (default: main)")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--system-malloc", action="store_true",
                    help="keep glibc's default trimming of freed memory")
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    from codegen_models import lenet_graph

    with tempfile.TemporaryDirectory() as tmp:
        base_root = os.path.join(tmp, "base")
        os.mkdir(base_root)
        archive = subprocess.run(["git", "archive", args.base, "graphnn"], cwd=ROOT,
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", base_root], input=archive, check=True)
        save_module(base_root, os.path.join(tmp, "lenet_before.py"), args.batch)
        save_module(ROOT, os.path.join(tmp, "lenet_after.py"), args.batch)
        before = load(os.path.join(tmp, "lenet_before.py"), "lenet_before")
        after = load(os.path.join(tmp, "lenet_after.py"), "lenet_after")

    rng = np.random.default_rng(0)
    n = args.batch
    g, _, params = lenet_graph(n, rng)
    store = [g.value_of(p) for p in params]
    x = rng.normal(size=(n, 1, 28, 28)).astype("float32")
    t = rng.integers(0, 10, size=n)
    lr = np.float32(0.0)  # as bench/codegen.py: same arithmetic, no drift into denormals
    ra, rb = before.compute(x, t, *store), after.compute(x, t, *store)
    for a, b in zip(ra, rb):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6)

    def stepper(mod: Any) -> Any:
        def step() -> None:
            res = mod.compute(x, t, *store)
            for p, gr in zip(store, res[1:]):
                p -= lr * gr
        return step

    fns = {f"before ({args.base})": stepper(before), "after (working tree)": stepper(after)}
    ts = torch_lenet(store, x, t)
    if ts is not None:
        fns["torch eager"] = ts
    times = dict(zip(fns, compare(*fns.values(), repeat=args.repeat)))
    malloc = "system malloc" if args.system_malloc else "MALLOC_* thresholds set"
    print(f"LeNet step batch {n}, CPU ms per step ({malloc}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}):")
    ref = times.get("torch eager")
    for name, sec in times.items():
        ratio = "" if ref is None else f"  {sec / ref:.2f}x torch"
        print(f"  {name:<24} {sec * 1e3:7.3f} ms{ratio}")


if __name__ == "__main__":
    main()
