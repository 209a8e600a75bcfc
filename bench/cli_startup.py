"""Start-up cost of the `graphnn` command: median wall time of N runs of a few commands,
next to `python -c pass` (the interpreter alone) measured in the same process.

Run: .venv/bin/python bench/cli_startup.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).parent / "graphnn"
CASES = [
    ["--help"],
    ["--version"],
    ["render", "--help"],
    ["ops", "add"],
    ["grad-check", "-q"],
    ["render", "-o", "{tmp}/lecture.svg"],
    ["trace", "--all"],
]


def median_ms(cmd: list[str], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        base = median_ms([sys.executable, "-c", "pass"], n)
        print(f"{'command':<36} {'median ms':>10} {'x python':>9}")
        print(f"{'python -c pass':<36} {base:>10.0f} {1.0:>9.1f}")
        for case in CASES:
            args = [a.format(tmp=tmp) for a in case]
            ms = median_ms([str(EXE), *args], n)
            label = "graphnn " + " ".join(case).replace("{tmp}/", "")
            print(f"{label:<36} {ms:>10.0f} {ms / base:>9.1f}")


if __name__ == "__main__":
    main()
