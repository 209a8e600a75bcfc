"""Lecture 9: a ResNet basic block, y = ReLU(BN2(conv2(ReLU(BN1(conv1(x))))) + x), with
3x3 convolutions (padding 1, no bias), batch norm in training mode (batch statistics) and
the identity shortcut, on one 4-channel 8x8 input. Prints the output, draws the graph
collapsed (one box per layer) and expanded, writes the backward pass as a step-through
(HTML player; the shortcut makes x a fan-out: its gradient is the sum of the two paths),
and, when PyTorch is installed, checks the output and every gradient against the same
block built from torch.nn layers with the same weights (float64).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import graphnn as gn

CHANNELS, SIZE = 4, 8
SHAPE = (1, CHANNELS, SIZE, SIZE)


def modules(seed: int = 0) -> dict[str, Any]:
    """The block's layers; every trainable parameter drawn at random (BN gains and shifts
    too, so that each gradient is checked on generic numbers)."""
    mods = {"conv1": gn.nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False, name="conv1"),
            "bn1": gn.nn.BatchNorm2d(CHANNELS, name="bn1"),
            "relu1": gn.nn.ReLU(name="relu1"),
            "conv2": gn.nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False, name="conv2"),
            "bn2": gn.nn.BatchNorm2d(CHANNELS, name="bn2")}
    rng = np.random.default_rng(seed)
    for m in mods.values():
        for k, v in m.named_values(trainable=True).items():
            base = 1.0 if k.startswith("bn") and k.endswith("weight") else 0.0
            m.set_value(k, base + 0.3 * rng.normal(size=v.shape))
    return mods


def inputs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 100)
    return {"x": rng.normal(size=SHAPE), "target": rng.normal(size=SHAPE)}


def network(seed: int = 0) -> tuple[gn.Graph, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(graph, feeds, nodes, modules): nodes x, y (block output), loss = sum(y * target);
    every layer and the shortcut addition is a layer group."""
    mods, feeds = modules(seed), inputs(seed)
    with gn.Graph("resnet_block") as g:
        x = gn.input("x", shape=SHAPE)
        target = gn.input("target", shape=SHAPE)
        h = x
        for key in ("conv1", "bn1", "relu1", "conv2", "bn2"):
            h = mods[key](h)
        with g.scope("shortcut"):
            y = gn.relu((h + x).named("residual")).named("y")
        loss = gn.sum(y * target).named("loss")
    return g, feeds, {"x": x, "y": y, "loss": loss}, mods


def torch_diffs(seed: int = 0) -> dict[str, float] | None:
    """Max |graphnn - torch| of the output, the loss, the input gradient and every parameter
    gradient (float64, batch norm in training mode); None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    g, feeds, nodes, _ = network(seed)
    r = gn.run(g, feeds, outputs=[nodes["y"]], loss=nodes["loss"], wrt=[nodes["x"], *g.params])
    nn = torch.nn
    block = nn.ModuleDict({
        "conv1": nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False, dtype=torch.float64),
        "bn1": nn.BatchNorm2d(CHANNELS, dtype=torch.float64),
        "conv2": nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False, dtype=torch.float64),
        "bn2": nn.BatchNorm2d(CHANNELS, dtype=torch.float64)}).train()
    tp = dict(block.named_parameters())
    params = {p.name: p for p in g.params}
    with torch.no_grad():
        for name, node in params.items():
            tp[name].copy_(torch.from_numpy(g.value_of(node)))
    x = torch.tensor(feeds["x"], requires_grad=True)
    h = torch.relu(block["bn1"](block["conv1"](x)))
    y = torch.relu(block["bn2"](block["conv2"](h)) + x)
    loss = (y * torch.tensor(feeds["target"])).sum()
    loss.backward()

    def diff(a: Any, b: Any) -> float:
        return float(np.max(np.abs(np.asarray(a) - b.detach().numpy())))

    out = {"output y": diff(r.value(nodes["y"]), y), "loss": diff(r.value(nodes["loss"]), loss),
           "grad x": diff(r.grad(nodes["x"]), x.grad)}
    for name, node in params.items():
        out[f"grad {name}"] = diff(r.grad(node), tp[name].grad)
    return out


def main() -> None:
    from _common import check, check_against_torch, render, setup

    args = setup(__doc__)
    g, feeds, nodes, mods = network()
    n_params = sum(m.num_params() for m in mods.values())
    print(f"basic block: {CHANNELS} channels, {SIZE}x{SIZE}, {n_params} parameters "
          f"(2 x 3x3x{CHANNELS}x{CHANNELS} + 2 x 2 x {CHANNELS}), {len(g.nodes)} graph nodes")
    check("parameters", n_params, 2 * 9 * CHANNELS * CHANNELS + 4 * CHANNELS)
    r = gn.run(g, feeds, outputs=[nodes["y"]], loss=nodes["loss"], wrt=[nodes["x"], *g.params])
    y = r.value(nodes["y"])
    print("output y, channel 0 (8x8):\n", y[0, 0])
    check("output shape", y.shape, SHAPE)
    check("ReLU output is >= 0", float(y.min() >= 0), 1.0)
    print(f"loss = sum(y * target) = {float(r.value(nodes['loss'])):.6f}")

    render(g, args.out, "19_resnet_collapsed", run=r, collapse=True)
    render(g, args.out, "19_resnet_expanded", run=r, collapse=False)

    t = gn.trace(g, feeds, loss=nodes["loss"], wrt=[nodes["x"], *g.params])
    back = [s.index for s in t.backward]
    fan = [s for s in t.backward if s.kind == "accumulate" and s.node is nodes["x"]]
    print(f"trace: {len(t)} steps, {len(back)} backward; the shortcut and conv1 both read x, "
          f"so its gradient is a fan-out sum ({len(fan)} addition)")
    steps = back[:12] if args.fast else back
    path = t.save(os.path.join(args.out, "19_resnet_backprop.html"), steps=steps)
    print(f"  step-through: {path} ({len(steps)} frames)")

    check_against_torch(torch_diffs(), "torch.nn Conv2d/BatchNorm2d (training mode)")


if __name__ == "__main__":
    np.set_printoptions(precision=4, suppress=True)  # this process only, not importers
    main()
