"""Conv / pool forward+backward timings: graphnn (the op helpers, and a whole graph run
by the interpreter) against PyTorch eager when it is installed, in one process.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_conv.py [--repeat 20]

Prints the best CPU time (time.process_time, min over repeats: the machine is shared and
CPU time does not count waiting for a core) for each case. To compare with the helpers of
another revision, run this same script with PYTHONPATH pointing at that revision's tree
(the header names the graphnn it imported). Results: bench/results_convloss.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import graphnn as gn
from graphnn.ops import conv as C
from graphnn.ops import pool as P

CASES = [  # name, input, weight, padding
    ("LeNet conv1 (64,1,28,28)*(6,1,5,5)", (64, 1, 28, 28), (6, 1, 5, 5), 0),
    ("LeNet conv2 (64,6,12,12)*(16,6,5,5)", (64, 6, 12, 12), (16, 6, 5, 5), 0),
    ("3x3 pad 1 (64,16,14,14)*(32,16,3,3)", (64, 16, 14, 14), (32, 16, 3, 3), 1),
]


def best_ms(fn, repeat: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return 1e3 * min(times)  # best of: the machine is shared, noise only adds time


def bench_case(label, xs, ws, pad, dtype, repeat, torch=None) -> dict[str, float]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=xs).astype(dtype)
    w = rng.normal(size=ws).astype(dtype)
    b = rng.normal(size=ws[0]).astype(dtype)
    kw = {"stride": (1, 1), "padding": (pad, pad), "dilation": (1, 1), "groups": 1}

    with gn.Graph() as gr:
        xi = gn.input("x", shape=xs, dtype=dtype)
        wp = gn.param("w", w)
        bp = gn.param("b", b)
        loss = gn.sum(gn.conv2d(xi, wp, bp, padding=pad))

    def graph_run():
        gn.run(gr, {"x": x}, wrt=[xi, wp, bp], loss=loss)

    out = {"forward only (helper)": best_ms(lambda: C._conv2d(np, x, w, b, **kw), repeat),
           "fwd+bwd (gn.run)": best_ms(graph_run, repeat)}
    if torch is not None:
        tx = torch.tensor(x, requires_grad=True)
        tw = torch.tensor(w, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)

        def tfn():
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, padding=pad).sum().backward()

        with torch.no_grad():
            out["torch forward only"] = best_ms(
                lambda: torch.nn.functional.conv2d(tx, tw, tb, padding=pad), repeat)
        out["torch fwd+bwd"] = best_ms(tfn, repeat)
    return out


def bench_pool(dtype, repeat, torch=None) -> dict[str, float]:
    x = np.random.default_rng(1).normal(size=(64, 6, 24, 24)).astype(dtype)
    k = ((2, 2), (2, 2), (0, 0))

    def helpers():
        y = P._max_pool2d(np, x, *k)
        P._max_pool2d_grad(np, x, np.ones_like(y), *k)

    out = {"max_pool2d 2x2 fwd+bwd (helpers)": best_ms(helpers, repeat)}
    if torch is not None:
        tx = torch.tensor(x, requires_grad=True)

        def tfn():
            tx.grad = None
            torch.nn.functional.max_pool2d(tx, 2).sum().backward()
        out["torch max_pool2d fwd+bwd"] = best_ms(tfn, repeat)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    try:
        import torch
        # same thread count as NumPy's BLAS (set OPENBLAS_NUM_THREADS=1 for stable numbers)
        torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1)))
    except ImportError:
        torch = None
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else "")
          + f", BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}"
          + f"\ngraphnn from {os.path.dirname(gn.__file__)}")
    for dtype in ("float32", "float64"):
        print(f"\n== {dtype} (best of {args.repeat}, ms)")
        for label, xs, ws, pad in CASES:
            res = bench_case(label, xs, ws, pad, dtype, args.repeat, torch)
            print(label)
            for k, v in res.items():
                print(f"  {k:<28} {v:8.2f} ms")
            if torch is not None:
                print(f"  {'ratio gn.run / torch':<28} "
                      f"{res['fwd+bwd (gn.run)'] / res['torch fwd+bwd']:8.2f}x")
        for k, v in bench_pool(dtype, args.repeat, torch).items():
            print(f"  {k:<34} {v:8.2f} ms")


if __name__ == "__main__":
    main()
