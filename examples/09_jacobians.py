"""Lecture 6: Jacobians J = df/dx (m x n), forward vs reverse mode.

Forward mode multiplies the chain of Jacobians in the order the input flows (one column
per input element); reverse mode multiplies from the output back (one row per output
element). Elementwise activations have diagonal Jacobians and a linear layer's Jacobian
w.r.t. its input is W — backprop never builds these matrices, it propagates vectors.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)
rng = np.random.default_rng(0)
n, h, m = 5, 4, 2
W1v, W2v, xv = rng.normal(size=(h, n)), rng.normal(size=(m, h)), rng.normal(size=n)

with gn.Graph("chain") as g:
    x = gn.input("x", shape=(n,))
    z = (gn.param("W1", W1v) @ x).named("z")
    a = gn.tanh(z).named("a")
    f = (gn.param("W2", W2v) @ a).named("f")

# the explicit matrices of the chain f = W2 tanh(W1 x)
zv = W1v @ xv
J_lin1 = W1v                                # dz/dx = W1 (h x n)
J_act = np.diag(1 - np.tanh(zv) ** 2)       # da/dz: diagonal (h x h)
J_lin2 = W2v                                # df/da = W2 (m x h)
forward_order = J_lin2 @ (J_act @ J_lin1)   # input side first
reverse_order = (J_lin2 @ J_act) @ J_lin1   # output side first
print(f"f: R^{n} -> R^{m}, J is {m} x {n}")
check("both multiplication orders agree", forward_order, reverse_order)

# forward mode builds J column by column (JVP with e_j), reverse mode row by row (VJP with e_i)
Jf = gn.jacobian(g, of=f, wrt=x, feeds={"x": xv}, mode="forward")
Jr = gn.jacobian(g, of=f, wrt=x, feeds={"x": xv}, mode="reverse")
check(f"forward mode ({Jf.sweeps} JVP sweeps)", Jf, forward_order)
check(f"reverse mode ({Jr.sweeps} VJP sweeps)", Jr, forward_order)
print(gn.jacobian_cost(g, f, x))

print("\nbackprop propagates a vector, never the matrices: v^T J with v = (1, -2)")
v = np.array([1.0, -2.0])
r = gn.run(g, {"x": xv}, wrt=[x], loss=f, seed=v)
steps = [v, v @ J_lin2, (v @ J_lin2) * np.diag(J_act), ((v @ J_lin2) * np.diag(J_act)) @ J_lin1]
for label, s in zip(["v", "v^T W2", "(.) * tanh'(z)  (diagonal: elementwise)",
                     "(.) W1"], steps):
    print(f"  {label:<42} {np.round(s, 4)}")
check("VJP from one reverse pass == v^T J", r.grad(x), v @ forward_order)
render(g, args.out, "09_chain", run=r)

print("\na scalar loss of many inputs: reverse mode needs 1 sweep, forward mode n")
big = 200 if args.fast else 2000
with gn.Graph("scalar_loss") as g2:
    x2 = gn.input("x", shape=(big,))
    loss = gn.sum(gn.tanh(gn.param("W", rng.normal(size=(8, big)) / big) @ x2))
cost = gn.jacobian_cost(g2, loss, x2)
print(f"  forward: {cost.forward_sweeps} sweeps, reverse: {cost.reverse_sweeps} sweep")
assert cost.reverse_sweeps == 1 and cost.forward_sweeps == big

print("few inputs, many outputs: forward mode wins")
with gn.Graph("wide") as g3:
    x3 = gn.input("x", shape=(2,))
    y3 = gn.tanh(gn.param("W", rng.normal(size=(big, 2))) @ x3)
cost = gn.jacobian_cost(g3, y3, x3)
print(f"  forward: {cost.forward_sweeps} sweeps, reverse: {cost.reverse_sweeps} sweeps")
assert cost.forward_sweeps == 2 and cost.reverse_sweeps == big
