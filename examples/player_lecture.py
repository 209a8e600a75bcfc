"""Lecture 1 as a step-through: f(x, y, z) = (x + y) * z at x = 1, y = -3, z = 4.

Writes an offline HTML player (Prev / Next / Play, arrow keys, slider, #N links) and an
animated GIF of the forward and backward pass:

    python examples/player_lecture.py            # -> out/backprop.html, out/backprop.gif
    python examples/player_lecture.py slides/    # another folder
"""

import os
import sys
import time

import graphnn as gn

out = sys.argv[1] if len(sys.argv) > 1 else "out"
os.makedirs(out, exist_ok=True)

with gn.Graph("lecture") as g:
    x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
    d = (x + y).named("d")
    f = (d * z).named("f")

t = gn.trace(g, {"x": 1.0, "y": -3.0, "z": 4.0})
print(t.to_table())

for name in ("backprop.html", "backprop.gif"):
    start = time.perf_counter()
    path = t.save(os.path.join(out, name))
    print(f"wrote {path} ({os.path.getsize(path):,} bytes, {len(t)} frames, "
          f"{time.perf_counter() - start:.2f} s)")
