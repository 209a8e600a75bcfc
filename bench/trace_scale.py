"""How `graphnn trace --table` grows with the graph: a scalar chain x -> alternating
``h * c`` and ``tanh(h)`` (one shared constant c), saved with ``g.save`` and loaded back
as the CLI does, at several sizes. Each size runs in a fresh subprocess (no memory or
caches carried over) and reports load, trace and table times (wall and CPU); the growth
is the slope of a least-squares line through log(time) against log(nodes) (1.0 is
linear, 2.0 quadratic). Optionally the whole `graphnn trace FILE --table` command is
timed at the largest size.

    .venv/bin/python bench/trace_scale.py [--sizes 1000,5000,20000,100000] [--cli]
        [--before DIR] [--write]

``--before DIR`` runs the same measurement with the graphnn package found in DIR (for
example ``git archive`` of an older commit unpacked there) for a before/after table;
``--write`` saves bench/results_trace_scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import gc, json, sys, time
n, path = int(sys.argv[1]), sys.argv[2]
import graphnn as gn
import sympy  # noqa: F401 - imported once per process by the first formula; not timed
with gn.Graph("chain") as g:
    x = gn.input("x"); c = gn.const(0.999); h = x
    for i in range(n):
        h = gn.tanh(h) if i % 2 else h * c
g.save(path)
del g, h, x, c
gc.collect()
out = {}
def clock(key, fn):
    w, c = time.perf_counter(), time.process_time()
    r = fn()
    out[key] = [time.perf_counter() - w, time.process_time() - c]
    return r
g = clock("load", lambda: gn.load(path))
t = clock("trace", lambda: gn.trace(g, {"x": 0.5}))
s = clock("table", t.to_table)
out["nodes"], out["steps"], out["chars"] = len(g.nodes), len(t), len(s)
print(json.dumps(out))
"""


def machine() -> str:
    """CPU model, core count and the load average now."""
    cpu = cpu_model()
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores (shared with other jobs), Python "
            f"{sys.version.split()[0]}; load average (1/5/15 min) {load}")


def measure(n: int, folder: str, before: str | None) -> dict:
    """One size in a fresh interpreter; returns the child's timings."""
    env = dict(os.environ)
    if before:
        env["PYTHONPATH"] = before + os.pathsep + env.get("PYTHONPATH", "")
    path = os.path.join(folder, f"chain{n}.json")
    p = subprocess.run([sys.executable, "-c", CHILD, str(n), path], capture_output=True,
                       text=True, env=env, check=True, cwd=folder)
    return json.loads(p.stdout.strip().splitlines()[-1])


def time_cli(path: str) -> tuple[float, float]:
    """Wall and CPU seconds of ``graphnn trace PATH --table`` (output discarded)."""
    exe = Path(sys.executable).with_name("graphnn")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([str(exe), "trace", path, "--table"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slope(ns: list[int], ts: list[float]) -> float:
    """The fitted exponent k of time ~ nodes**k."""
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0]) if len(ns) > 1 else float("nan")


def table(label: str, ns: list[int], rows: list[dict]) -> list[str]:
    """Markdown rows of one series plus its growth exponents."""
    out = [f"| {label} | nodes | load (s) | trace (s) | table (s) | trace+table CPU (s) |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        cpu = r["trace"][1] + r["table"][1]
        out.append(f"| | {r['nodes']:,} | {r['load'][0]:.2f} | {r['trace'][0]:.2f} | "
                   f"{r['table'][0]:.2f} | {cpu:.2f} |")
    ks = [slope(ns, [r[k][1] for r in rows]) for k in ("trace", "table")]
    tot = slope(ns, [r["trace"][1] + r["table"][1] for r in rows])
    out.append(f"\nGrowth (log-log slope of CPU time): trace {ks[0]:.2f}, table {ks[1]:.2f}, "
               f"trace+table {tot:.2f}\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,20000,100000")
    ap.add_argument("--before", metavar="DIR", help="an older graphnn to compare")
    ap.add_argument("--before-sizes", default="1000,5000,20000")
    ap.add_argument("--cli", action="store_true", help="time the CLI at the largest size")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    ns = [int(s) for s in a.sizes.split(",")]
    lines = ["# `graphnn trace --table` scale: x -> alternating h * c and tanh(h)", "",
             f"Machine: {machine()}.", "",
             "Command: `python bench/trace_scale.py " + " ".join(sys.argv[1:]) + "`; each "
             "size in a fresh process; times are wall seconds unless marked CPU.", ""]
    with tempfile.TemporaryDirectory() as folder:
        if a.before:
            bns = [int(s) for s in a.before_sizes.split(",")]
            lines += table("before", bns, [measure(n, folder, a.before) for n in bns])
        lines += table("after", ns, [measure(n, folder, None) for n in ns])
        if a.cli:
            wall, cpu = time_cli(os.path.join(folder, f"chain{ns[-1]}.json"))
            lines.append(f"`graphnn trace chain{ns[-1]}.json --table > /dev/null`: "
                         f"{wall:.1f} s wall, {cpu:.1f} s CPU.\n")
    lines.append(f"Load average after the run: "
                 f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}.")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.write:
        (ROOT / "bench" / "results_trace_scale.md").write_text(text)


if __name__ == "__main__":
    main()
