"""Interpreter cost in instructions (repeatable on a shared machine), for graphnn trees
side by side: forward + backward of a 1,000-node scalar chain under valgrind's callgrind.

    python bench/interp_instructions.py [TREE ...]    # default: this checkout

Each tree is run in a subprocess with ``PYTHONPATH=TREE`` (e.g. a ``git worktree`` of an
older commit), twice (3 and 43 runs), so imports and graph building cancel out; prints
instructions per run and per node, and ratios against the first tree. Needs valgrind.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

CHAIN = """
import sys
import graphnn as gn
with gn.Graph("chain") as g:
    x = gn.input("x"); c = gn.const(0.999); h = x
    for i in range(1000):
        h = gn.tanh(h) if i % 2 else h * c
for _ in range(int(sys.argv[1])):
    gn.run(g, {"x": 0.5}, wrt=[x])
"""


def instructions(tree: str, runs: int, script: str) -> int:
    env = dict(os.environ, PYTHONPATH=tree, PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
             sys.executable, script, str(runs)], env=env, capture_output=True, text=True,
            check=True)
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise RuntimeError(out.stderr[-2000:])
    return int(m.group(1))


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    trees = sys.argv[1:] or [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CHAIN)
    base = None
    for tree in trees:
        per_run = (instructions(tree, 43, f.name) - instructions(tree, 3, f.name)) / 40
        base = base or per_run
        print(f"{tree:40s} {per_run / 1e6:8.2f} M instructions per run "
              f"({per_run / 1000:8.0f} per node)  ratio {per_run / base:.2f}x")
    os.unlink(f.name)


if __name__ == "__main__":
    main()
