"""Lecture 1: the computational graph f = (x + y) * z with x = 1, y = -3, z = 4, drawn
with its values (blue) and gradients (red): d = -2, f = -8; df/dz = -2, df/dd = 4,
df/dx = df/dy = 4. Writes SVG, PNG and DOT files, and the step-through player.

    .venv/bin/python examples/render_lecture.py [out_folder]
"""

from __future__ import annotations

import sys
from pathlib import Path

import graphnn as gn


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        (d * z).named("f")
    r = gn.run(g, {"x": 1.0, "y": -3.0, "z": 4.0}, wrt=[x, y, z])
    print(gn.format_graph(r))
    for suffix in ("svg", "png", "dot"):
        gn.render(g, run=r, path=out / f"lecture.{suffix}")
    trace = gn.trace(g, {"x": 1.0, "y": -3.0, "z": 4.0}, wrt=[x, y, z])
    trace.save(str(out / "lecture_backprop.html"))
    trace.save(str(out / "lecture_backprop.gif"))
    print(f"wrote lecture.svg/.png/.dot and lecture_backprop.html/.gif to {out}/")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out"))
