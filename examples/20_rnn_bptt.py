"""Lecture 9: backpropagation through time. A tanh RNN cell
h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) unrolled over 4 time steps with ONE set
of weights, and a loss on the last step only, L = sum((h_4 - target)^2). Each weight feeds
every step, so its gradient is a fan-out sum of one contribution per step: the
step-through (HTML player) shows those sums, and the example checks that they add up to
the gradient and equal the gradients of an unrolled copy with separate weights per step.
An LSTM cell (gates i, f, g, o) is unrolled the same way. Both draw collapsed (one box per
time step) and expanded and, when PyTorch is installed, are checked against
torch.nn.RNNCell / torch.nn.LSTMCell with the same weights (float64).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import graphnn as gn

STEPS, N_IN, HIDDEN = 4, 3, 4
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # torch's names


def weights(cell: str = "rnn", seed: int = 0) -> dict[str, np.ndarray]:
    """torch.nn.RNNCell / LSTMCell parameters (LSTM: 4 gates stacked i, f, g, o)."""
    rows = HIDDEN * (4 if cell == "lstm" else 1)
    rng = np.random.default_rng(seed)
    shapes = {"weight_ih": (rows, N_IN), "weight_hh": (rows, HIDDEN), "bias_ih": (rows,),
              "bias_hh": (rows,)}
    return {k: 0.5 * rng.normal(size=s) for k, s in shapes.items()}


def inputs(cell: str = "rnn", seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 100)
    feeds = {f"x{t}": rng.normal(size=(1, N_IN)) for t in range(1, STEPS + 1)}
    feeds["h0"] = 0.5 * rng.normal(size=(1, HIDDEN))
    if cell == "lstm":
        feeds["c0"] = 0.5 * rng.normal(size=(1, HIDDEN))
    feeds["target"] = rng.normal(size=(1, HIDDEN))
    return feeds


def network(cell: str = "rnn", seed: int = 0, shared: bool = True
            ) -> tuple[gn.Graph, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(graph, feeds, nodes, params). Each time step is a layer group "t1".."t4".
    ``shared=False`` gives every step its own copy of the weights (same values), named
    ``weight_ih@t`` ...: its gradients are the per-step contributions. nodes: x1.., h0,
    h1..h4, loss; params: name -> node (shared), or (name, t) -> node (unshared)."""
    w, feeds = weights(cell, seed), inputs(cell, seed)
    with gn.Graph(f"{cell}_bptt") as g:
        xs = [gn.input(f"x{t}", shape=(1, N_IN)) for t in range(1, STEPS + 1)]
        h = gn.input("h0", shape=(1, HIDDEN))
        c = gn.input("c0", shape=(1, HIDDEN)) if cell == "lstm" else None
        target = gn.input("target", shape=(1, HIDDEN))
        params: dict[Any, Any] = {}
        if shared:
            params = {k: gn.param(k, w[k]) for k in WEIGHTS}
        nodes: dict[str, Any] = {"h0": h, **{f"x{t}": x for t, x in enumerate(xs, 1)}}
        if c is not None:
            nodes["c0"] = c
        for t, x in enumerate(xs, 1):
            with g.scope(f"t{t}"):
                if shared:
                    p = params
                else:
                    p = {k: gn.param(f"{k}@{t}", w[k]) for k in WEIGHTS}
                    params.update({(k, t): p[k] for k in WEIGHTS})
                z = gn.linear(x, p["weight_ih"], p["bias_ih"]) + gn.linear(
                    h, p["weight_hh"], p["bias_hh"])
                if cell == "rnn":
                    h = gn.tanh(z).named(f"h{t}")
                else:
                    i, f, gg, o = gn.chunk(z, 4, 1)
                    c = (gn.sigmoid(f) * c + gn.sigmoid(i) * gn.tanh(gg)).named(f"c{t}")
                    h = (gn.sigmoid(o) * gn.tanh(c)).named(f"h{t}")
            nodes[f"h{t}"] = h
        d = h - target
        nodes["loss"] = gn.sum(d * d).named("loss")
    return g, feeds, nodes, params


def step_contributions(trace: Any, param: Any) -> list[tuple[str, np.ndarray]]:
    """(time step, contribution) for every gradient ``param`` receives in the trace's
    backward pass: one per consumer (the vjp steps that send it a gradient)."""
    out = []
    for s in trace.backward:
        if s.kind == "vjp":
            for inp, c in zip(s.inputs, s.contributions):
                if inp is param and c is not None:
                    out.append((s.node.group.split("/")[0], np.asarray(c)))
    return out


def torch_diffs(cell: str = "rnn", seed: int = 0) -> dict[str, float] | None:
    """Max |graphnn - torch| of the last hidden state, the loss and every gradient
    (weights, inputs, initial state), float64; None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    g, feeds, nodes, params = network(cell, seed)
    ins = [nodes[k] for k in [f"x{t}" for t in range(1, STEPS + 1)] + ["h0", "c0"]
           if k in nodes]
    r = gn.run(g, feeds, outputs=[nodes[f"h{STEPS}"]], loss=nodes["loss"],
               wrt=[*params.values(), *ins])
    make = torch.nn.LSTMCell if cell == "lstm" else torch.nn.RNNCell
    tc = make(N_IN, HIDDEN, dtype=torch.float64)
    tp = dict(tc.named_parameters())
    with torch.no_grad():
        for k in WEIGHTS:
            tp[k].copy_(torch.from_numpy(g.value_of(params[k])))
    tx = {k: torch.tensor(v, requires_grad=True) for k, v in feeds.items() if k != "target"}
    h = tx["h0"]
    c = tx.get("c0")
    for t in range(1, STEPS + 1):
        if cell == "lstm":
            h, c = tc(tx[f"x{t}"], (h, c))
        else:
            h = tc(tx[f"x{t}"], h)
    loss = ((h - torch.tensor(feeds["target"])) ** 2).sum()
    loss.backward()

    def diff(a: Any, b: Any) -> float:
        return float(np.max(np.abs(np.asarray(a) - b.detach().numpy())))

    out = {f"h{STEPS}": diff(r.value(nodes[f"h{STEPS}"]), h),
           "loss": diff(r.value(nodes["loss"]), loss)}
    for k in WEIGHTS:
        out[f"grad {k}"] = diff(r.grad(params[k]), tp[k].grad)
    for n in ins:
        out[f"grad {n.name}"] = diff(r.grad(n), tx[n.name].grad)
    return out


def main() -> None:
    from _common import check, check_against_torch, render, setup

    args = setup(__doc__)
    for cell in ("rnn", "lstm"):
        g, feeds, nodes, params = network(cell)
        print(f"\n{cell.upper()} cell, {STEPS} steps, input {N_IN}, hidden {HIDDEN}: "
              f"{sum(v.size for v in weights(cell).values())} shared parameters, "
              f"{len(g.nodes)} graph nodes")
        r = gn.run(g, feeds, outputs=[nodes[f"h{t}"] for t in range(1, STEPS + 1)],
                   loss=nodes["loss"], wrt=list(params.values()))
        for t in range(1, STEPS + 1):
            print(f"  h{t} = {r.value(nodes[f'h{t}'])[0]}")
        print(f"  loss = sum((h{STEPS} - target)^2) = {float(r.value(nodes['loss'])):.6f}")
        render(g, args.out, f"20_{cell}_collapsed", run=r, collapse=True)
        render(g, args.out, f"20_{cell}_expanded", run=r, collapse=False)

        # backprop through time: each step's contribution, summed at the shared weight
        t = gn.trace(g, feeds, loss=nodes["loss"], wrt=list(params.values()))
        ug, ufeeds, unodes, uparams = network(cell, shared=False)
        ur = gn.run(ug, ufeeds, loss=unodes["loss"], wrt=list(uparams.values()))
        for k in WEIGHTS:
            parts = dict(step_contributions(t, params[k]))
            check(f"{k}: {len(parts)} step contributions", len(parts), STEPS)
            check(f"  sum over steps = dL/d{k}", sum(parts.values()), r.grad(params[k]))
            for s in range(1, STEPS + 1):
                check(f"  step t{s} part = unshared copy's grad", parts[f"t{s}"],
                      ur.grad(uparams[(k, s)]), tol=1e-12)
        if cell == "rnn":
            print("  the trace's fan-out sums at the shared bias b_hh (one per extra step):")
            for s in t.backward:
                if s.kind == "accumulate" and s.node is params["bias_hh"]:
                    print("   ", s.text)
            back = [s.index for s in t.backward]
            fan = [s.index for s in t.backward if s.kind == "accumulate"]
            steps = fan[:12] if args.fast else back
            path = t.save(os.path.join(args.out, "20_rnn_bptt.html"), steps=steps)
            print(f"  step-through: {path} ({len(steps)} frames)")

        check_against_torch(torch_diffs(cell),
                            f"torch.nn.{'LSTMCell' if cell == 'lstm' else 'RNNCell'}")


if __name__ == "__main__":
    np.set_printoptions(precision=4, suppress=True)  # this process only, not importers
    main()
