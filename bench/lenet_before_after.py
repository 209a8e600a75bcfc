"""LeNet training step, before/after a change of the op helpers: the compiled step of a
baseline git revision and of the working tree, each saved as a standalone module (the
helpers' source is copied into it), timed side by side in ONE process with PyTorch eager.

    .venv/bin/python bench/lenet_before_after.py [--base REV] [--batch N] [--system-malloc]
                                                 [--separate ROUNDS]

The baseline module is written by that revision's own graphnn (``git archive`` into a
temporary folder, run with PYTHONPATH pointing there); both modules get the same inputs
and weights, their loss and gradients are checked equal, and their steps are timed with
bench/codegen.py's ``compare`` (CPU time, best of interleaved loops, one BLAS thread).
glibc malloc: the same policy and ``--system-malloc`` switch as bench/codegen.py.
``--separate ROUNDS`` times each contestant alone in its own fresh process instead (as a
user runs one model), interleaved over ROUNDS rounds: in one shared process the allocator
state that one model leaves behind changes the page faults of the next.
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


def steps(n: int, modules: dict[str, str], torch: bool = True) -> dict[str, Any]:
    """Step functions on the same batch and weights: one per saved module (``name ->
    path``; their results checked equal) and PyTorch eager's when installed."""
    sys.path.insert(0, ROOT)
    from codegen_models import lenet_graph

    rng = np.random.default_rng(0)
    g, _, params = lenet_graph(n, rng)
    store = [g.value_of(p) for p in params]
    x = rng.normal(size=(n, 1, 28, 28)).astype("float32")
    t = rng.integers(0, 10, size=n)
    lr = np.float32(0.0)  # as bench/codegen.py: same arithmetic, no drift into denormals
    mods = {name: load(path, f"lenet_{k}") for k, (name, path) in enumerate(modules.items())}
    first = None
    for mod in mods.values():
        res = mod.compute(x, t, *store)
        if first is None:
            first = res
        for a, b in zip(first, res):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6)

    def stepper(mod: Any) -> Any:
        def step() -> None:
            res = mod.compute(x, t, *store)
            for p, gr in zip(store, res[1:]):
                p -= lr * gr
        return step

    fns = {name: stepper(mod) for name, mod in mods.items()}
    if torch:
        ts = torch_lenet(store, x, t)
        if ts is not None:
            fns["torch eager"] = ts
    return fns


def one(args: argparse.Namespace) -> None:
    """--one NAME=PATH (or "torch eager"): time that contestant alone in this process."""
    name, _, path = args.one.partition("=")
    fns = steps(args.batch, {name: path} if path else {}, torch=not path)
    fn = fns[name] if path else fns.get("torch eager")
    print("nan" if fn is None else repr(compare(fn, repeat=args.repeat)[0]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="main", help="baseline git revision (default: main)")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--system-malloc", action="store_true",
                    help="keep glibc's default trimming of freed memory")
    ap.add_argument("--separate", type=int, default=0, metavar="ROUNDS",
                    help="time each contestant alone in a fresh process, ROUNDS times, "
                         "interleaved (a user's process runs one model, and the allocator "
                         "state one model leaves changes another's page faults)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        return one(args)
    malloc = "system malloc" if args.system_malloc else "MALLOC_* thresholds set"
    blas = os.environ["OPENBLAS_NUM_THREADS"]
    with tempfile.TemporaryDirectory() as tmp:
        base_root = os.path.join(tmp, "base")
        os.mkdir(base_root)
        archive = subprocess.run(["git", "archive", args.base, "graphnn"], cwd=ROOT,
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", base_root], input=archive, check=True)
        paths = {f"before ({args.base})": os.path.join(tmp, "lenet_before.py"),
                 "after (working tree)": os.path.join(tmp, "lenet_after.py")}
        save_module(base_root, paths[f"before ({args.base})"], args.batch)
        save_module(ROOT, paths["after (working tree)"], args.batch)
        if args.separate:
            runs: dict[str, list[float]] = {name: [] for name in [*paths, "torch eager"]}
            for _ in range(args.separate):
                for name in runs:
                    spec = f"{name}={paths[name]}" if name in paths else name
                    out = subprocess.run(
                        [sys.executable, __file__, "--one", spec, "--batch", str(args.batch),
                         "--repeat", str(args.repeat)]
                        + (["--system-malloc"] if args.system_malloc else []),
                        check=True, capture_output=True, text=True).stdout
                    runs[name].append(float(out.split()[-1]))
            runs = {k: v for k, v in runs.items() if not np.isnan(v).any()}
            print(f"LeNet step batch {args.batch}, CPU ms per step, each alone in a fresh "
                  f"process, {args.separate} rounds interleaved, min (median) ({malloc}, "
                  f"OPENBLAS_NUM_THREADS={blas}; load {os.getloadavg()[0]:.1f}):")
            ref = runs.get("torch eager")
            for name, v in runs.items():
                ratio = "" if ref is None else (f"  {min(v) / min(ref):.2f}x "
                                                f"({np.median(v) / np.median(ref):.2f}x) torch")
                print(f"  {name:<24} {min(v) * 1e3:7.3f} ({np.median(v) * 1e3:7.3f}) ms{ratio}")
            return None
        fns = steps(args.batch, paths)
    times = dict(zip(fns, compare(*fns.values(), repeat=args.repeat)))
    print(f"LeNet step batch {args.batch}, CPU ms per step ({malloc}, "
          f"OPENBLAS_NUM_THREADS={blas}):")
    ref = times.get("torch eager")
    for name, sec in times.items():
        ratio = "" if ref is None else f"  {sec / ref:.2f}x torch"
        print(f"  {name:<24} {sec * 1e3:7.3f} ms{ratio}")
    return None


if __name__ == "__main__":
    main()
