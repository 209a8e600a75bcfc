"""Lecture 9: a transformer encoder block (post-norm, like torch.nn.TransformerEncoderLayer):
h = LayerNorm(x + MultiheadAttention(x, x, x)), y = LayerNorm(h + W2 GELU(W1 h + b1) + b2),
on one sequence of 4 tokens with d_model 8 and 2 heads. Prints the output and each head's
attention weights (rows sum to 1), draws the graph collapsed (one box per layer group) and
expanded, writes the backward pass as a step-through (HTML player), and, when PyTorch is
installed, checks the output, the attention weights and every parameter gradient against
torch.nn.TransformerEncoderLayer with the same weights (float64).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import graphnn as gn

D_MODEL, HEADS, TOKENS, D_FF = 8, 2, 4, 16
# graphnn name -> torch.nn.TransformerEncoderLayer name
TORCH_NAMES = {"attn": "self_attn", "ln1": "norm1", "ff1": "linear1", "ff2": "linear2",
               "ln2": "norm2"}


def modules(seed: int = 0) -> dict[str, Any]:
    """The block's layers with every parameter drawn at random (biases and LayerNorm
    gains too, so that each gradient is checked on generic numbers)."""
    mods = {"attn": gn.nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True, name="attn"),
            "ln1": gn.nn.LayerNorm(D_MODEL, name="ln1"),
            "ff1": gn.nn.Linear(D_MODEL, D_FF, name="ff1"),
            "ff2": gn.nn.Linear(D_FF, D_MODEL, name="ff2"),
            "ln2": gn.nn.LayerNorm(D_MODEL, name="ln2")}
    rng = np.random.default_rng(seed)
    for m in mods.values():
        m.load_state_dict({k: (1.0 if k.endswith("weight") and k.startswith("ln") else 0.0)
                           + 0.4 * rng.normal(size=v.shape)
                           for k, v in m.named_values().items()})
    return mods


def inputs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 100)
    return {"x": rng.normal(size=(1, TOKENS, D_MODEL)),
            "target": rng.normal(size=(1, TOKENS, D_MODEL))}


def network(seed: int = 0) -> tuple[gn.Graph, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(graph, feeds, nodes, modules): nodes y (block output), weights (N, H, L, L),
    loss = sum(y * target); each part of the block is a layer group."""
    mods, feeds = modules(seed), inputs(seed)
    with gn.Graph("transformer_block") as g:
        x = gn.input("x", shape=(1, TOKENS, D_MODEL))
        target = gn.input("target", shape=(1, TOKENS, D_MODEL))
        with g.scope("self_attention"):
            a, weights = mods["attn"](x, need_weights=True, average_attn_weights=False)
        with g.scope("add_norm1"):
            h = mods["ln1"]((x + a).named("residual1")).named("h")
        with g.scope("feed_forward"):
            f = mods["ff2"](gn.gelu(mods["ff1"](h)).named("gelu"))
        with g.scope("add_norm2"):
            y = mods["ln2"]((h + f).named("residual2")).named("y")
        loss = gn.sum(y * target).named("loss")
    return g, feeds, {"x": x, "y": y, "weights": weights.named("attention"), "loss": loss}, mods


def param_nodes(g: gn.Graph) -> dict[str, Any]:
    return {p.name: p for p in g.params}


def torch_diffs(seed: int = 0) -> dict[str, float] | None:
    """Max |graphnn - torch| of the output, the attention weights, the loss and every
    parameter gradient (float64); None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    g, feeds, nodes, _ = network(seed)
    r = gn.run(g, feeds, outputs=[nodes["y"], nodes["weights"]], loss=nodes["loss"],
               wrt=[nodes["x"], *g.params])
    layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, dim_feedforward=D_FF, dropout=0.0,
                                             activation="gelu", batch_first=True,
                                             dtype=torch.float64)
    pn = param_nodes(g)
    tp = dict(layer.named_parameters())
    with torch.no_grad():
        for name, node in pn.items():
            mod, rest = name.split(".", 1)
            tp[f"{TORCH_NAMES[mod]}.{rest}"].copy_(torch.from_numpy(g.value_of(node)))
    x = torch.tensor(feeds["x"], requires_grad=True)
    y = layer(x)
    loss = (y * torch.tensor(feeds["target"])).sum()
    loss.backward()
    _, w = layer.self_attn(x, x, x, need_weights=True, average_attn_weights=False)

    def diff(a: Any, b: Any) -> float:
        return float(np.max(np.abs(np.asarray(a) - b.detach().numpy())))

    out = {"output y": diff(r.value(nodes["y"]), y),
           "attention weights": diff(r.value(nodes["weights"]), w),
           "loss": diff(r.value(nodes["loss"]), loss),
           "grad x": diff(r.grad(nodes["x"]), x.grad)}
    for name, node in pn.items():
        mod, rest = name.split(".", 1)
        out[f"grad {name}"] = diff(r.grad(node), tp[f"{TORCH_NAMES[mod]}.{rest}"].grad)
    return out


def main() -> None:
    from _common import check, check_against_torch, render, setup

    args = setup(__doc__)
    g, feeds, nodes, mods = network()
    n_params = sum(m.num_params() for m in mods.values())
    print(f"block: d_model {D_MODEL}, {HEADS} heads, feed-forward {D_FF}, "
          f"{n_params} parameters, {len(g.nodes)} graph nodes")
    r = gn.run(g, feeds, outputs=[nodes["y"], nodes["weights"]], loss=nodes["loss"])
    print("output y (tokens x d_model):\n", r.value(nodes["y"])[0])
    w = r.value(nodes["weights"])[0]
    for hd in range(HEADS):
        print(f"attention weights, head {hd} (query rows, key columns):\n", w[hd])
    check("attention rows sum to 1", w.sum(-1), np.ones((HEADS, TOKENS)))
    print(f"loss = sum(y * target) = {float(r.value(nodes['loss'])):.6f}")

    render(g, args.out, "18_transformer_collapsed", run=r, collapse=True)
    render(g, args.out, "18_transformer_expanded", run=r, collapse=False)

    t = gn.trace(g, feeds, loss=nodes["loss"])
    back = [s.index for s in t.backward]
    fan = [s for s in t.backward if s.kind == "accumulate" and s.node is nodes["x"]]
    print(f"trace: {len(t)} steps, {len(back)} backward; x feeds query, key, value and the "
          f"residual, so its gradient is a fan-out sum of {len(fan)} additions")
    steps = back[:12] if args.fast else back
    path = t.save(os.path.join(args.out, "18_transformer_backprop.html"), steps=steps)
    print(f"  step-through: {path} ({len(steps)} frames)")

    check_against_torch(torch_diffs(), "torch.nn.TransformerEncoderLayer")


if __name__ == "__main__":
    np.set_printoptions(precision=4, suppress=True)  # this process only, not importers
    main()
