"""Training benchmark for the nn helper: LeNet on the 8x8 digits and XOR, interpreter vs
compiled (gn.compile), in one process on the same machine. Writes bench/results_nn.md.

    python bench/nn_training.py [--epochs 20] [--out bench/results_nn.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import graphnn as gn


def lenet_run(engine: str, epochs: int, net: str = "lenet") -> dict:
    X, y = gn.data.digits()
    Xtr, ytr, Xte, yte = gn.data.split(X, y, test=0.2, seed=0)
    if net == "lenet":
        model, opt, batch = gn.nn.lenet(seed=0), gn.optim.Adam(lr=3e-3), 32
    else:
        model, opt, batch = gn.nn.digit_classifier(seed=0), gn.optim.Adam(lr=2e-3), 64
    t0 = time.perf_counter()
    h = gn.fit(model, Xtr, ytr, optimizer=opt, epochs=epochs,
               batch_size=batch, val=(Xte, yte), seed=0, engine=engine,
               schedule=(lambda o: gn.optim.CosineLR(o, T_max=epochs)) if net == "lenet"
               else None)
    wall = time.perf_counter() - t0
    first97 = next((i + 1 for i, a in enumerate(h.val_acc) if a >= 0.97), None)
    return {"engine": engine, "epochs": h.epochs, "wall": wall,
            "per_epoch": float(np.median(h.seconds)), "setup": wall - sum(h.seconds),
            "acc": gn.evaluate(model, Xte, yte),
            "first97": first97, "train": len(Xtr), "test": len(Xte)}


def xor_run(engine: str) -> dict:
    X, y = gn.data.xor_table()
    X, y = np.tile(X, (8, 1)), np.tile(y, 8)
    model = gn.nn.MLP([2, 4, 2], activation="tanh", seed=1)
    t0 = time.perf_counter()
    h = gn.fit(model, X, y, optimizer=gn.optim.Adam(lr=0.1), epochs=60, batch_size=32,
               engine=engine, seed=0)
    wall = time.perf_counter() - t0
    first100 = next((i + 1 for i, a in enumerate(h.train_acc) if a == 1.0), None)
    return {"engine": engine, "epochs": h.epochs, "wall": wall,
            "acc": gn.evaluate(model, X, y), "first100": first100}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results_nn.md"))
    a = p.parse_args()
    engines = ["interpret"] + (["compiled"] if hasattr(gn, "compile") else [])
    lenet = [lenet_run(e, a.epochs) for e in engines]
    bn = [lenet_run(e, 12, "bn") for e in engines]
    xor = [xor_run(e) for e in engines]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# nn benchmark: training LeNet on the digits and XOR",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(shared; 1-min load average {load:.1f} at the end of the run), Python "
        f"{platform.python_version()}, NumPy {np.__version__}. "
        "Command: `python bench/nn_training.py`. Both engines run in the same process on the "
        "same data, seeds and initial weights; times are wall clock. The machine is shared "
        "(about 8 users on 2 cores), so times vary by tens of percent between runs; "
        "accuracies and epoch counts are exact (deterministic seeds).",
        "",
        f"## LeNet on scikit-learn's 8x8 digits ({lenet[0]['train']} train / "
        f"{lenet[0]['test']} test, batch 32, Adam 3e-3 with a cosine schedule)",
        "",
        "| engine | epochs | test accuracy | first epoch >= 97% | wall time | setup (build, "
        "compile) | median s/epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in lenet:
        lines.append(f"| {r['engine']} | {r['epochs']} | {r['acc']:.4f} | {r['first97']} | "
                     f"{r['wall']:.1f} s | {r['setup']:.2f} s | {r['per_epoch']:.3f} |")
    lines += ["", "## The lectures' digit classifier with batch norm (batch 64, Adam 2e-3, "
              "12 epochs)", "",
              "| engine | epochs | test accuracy | first epoch >= 97% | wall time | "
              "setup (build, compile) | median s/epoch |", "|---|---|---|---|---|---|---|"]
    for r in bn:
        lines.append(f"| {r['engine']} | {r['epochs']} | {r['acc']:.4f} | {r['first97']} | "
                     f"{r['wall']:.1f} s | {r['setup']:.2f} s | {r['per_epoch']:.3f} |")
    lines += ["", "## XOR (the four rows x 8, 2-4-2 tanh, batch 32, Adam 0.1)", "",
              "| engine | epochs | accuracy | first epoch at 100% | wall time |",
              "|---|---|---|---|---|"]
    for r in xor:
        lines.append(f"| {r['engine']} | {r['epochs']} | {r['acc']:.2f} | {r['first100']} | "
                     f"{r['wall']:.2f} s |")
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
