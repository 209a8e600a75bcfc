"""Lecture 1: f(x, y, z) = (x + y) * z at x = 1, y = -3, z = 4, traced step by step.

Forward: d = x + y = -2, f = d * z = -8.  Backward: df/dz = d = -2, df/dd = z = 4,
df/dx = df/dy = 4.  Run: python examples/trace_lecture.py
"""

import graphnn as gn

with gn.Graph("lecture") as g:
    x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
    d = (x + y).named("d")
    f = (d * z).named("f")

feeds = {"x": 1.0, "y": -3.0, "z": 4.0}
t = gn.trace(g, feeds)

print("== reverse mode: the full trace ==")
print(t.to_table())

print("\n== one line per step ==")
for step in t:
    print(step)

print("\n== the local derivatives (sympy) ==")
for step in t.backward:
    for loc in step.local:
        print(f"  {loc.text:<16}  LaTeX: {loc.latex}")

print("\n== forward mode: tangents for the direction x = 1 ==")
print(gn.trace(g, feeds, mode="forward", tangents={"x": 1.0}).to_table())

print("\n== the same graph as a formula ==")
print("f =", gn.to_sympy(g, f))
print("\n== Markdown for the lecture notes ==")
print(t.to_markdown())
