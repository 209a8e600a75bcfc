"""CPU time of the emission phase of ``gn.compile`` (fuse, Emitter.emit, Emitter.source)
on the chain ``h = tanh(h * 0.5)`` with its gradient (bench/compile_scale.py's "mulconst"
graph), best of ``--repeat`` compiles per size (time.process_time).

    python bench/emit_profile.py --sizes 20000 100000 --repeat 3
    python bench/emit_profile.py --sizes 20000 --cprofile      # where emission spends it
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

import graphnn as gn
from graphnn.codegen import compiler, emit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.test_scale import _chain  # noqa: E402  (the same chain the scale tests build)

TIMES: dict[str, float] = {}


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*a: Any, **kw: Any) -> Any:
        t0 = time.process_time()
        try:
            return fn(*a, **kw)
        finally:
            TIMES[name] = TIMES.get(name, 0.0) + time.process_time() - t0
    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 100000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cprofile", action="store_true", help="profile emit (one compile)")
    a = ap.parse_args()
    compiler.fuse = timed("fuse", compiler.fuse)
    emit.Emitter.emit = timed("emit", emit.Emitter.emit)
    emit.Emitter.source = timed("source", emit.Emitter.source)
    for n in a.sizes:
        g, w, loss = _chain(n)
        if a.cprofile:
            prof = cProfile.Profile()
            orig = emit.Emitter.emit

            def profiled(self: Any, orig: Any = orig) -> None:
                prof.enable()
                try:
                    orig(self)
                finally:
                    prof.disable()
            emit.Emitter.emit = profiled  # type: ignore[method-assign]
            gn.compile(g, outputs=[loss], wrt=[w])
            emit.Emitter.emit = orig  # type: ignore[method-assign]
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            continue
        best: dict[str, float] = {}
        for _ in range(a.repeat):
            TIMES.clear()
            t0 = time.process_time()
            gn.compile(g, outputs=[loss], wrt=[w])
            TIMES["compile"] = time.process_time() - t0
            TIMES["fuse+emit+source"] = TIMES["fuse"] + TIMES["emit"] + TIMES["source"]
            for k, v in TIMES.items():
                best[k] = min(best.get(k, v), v)
        print(f"{len(g.nodes)} nodes: " + ", ".join(f"{k} {v:.3f}" for k, v in best.items()),
              flush=True)


if __name__ == "__main__":
    main()
