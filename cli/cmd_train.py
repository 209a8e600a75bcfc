"""``graphnn train``: train a model file with gn.fit (progress bar, loss history,
checkpoint)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from graphnn_cli.common import CliError, atomic_path, echo, note, write_text_atomic

FIT_KEYS = ("loss", "optimizer", "lr", "epochs", "batch_size", "engine")


def training_setup(module: Any, path: Path) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """(model or graph, data, fit options) from a model file.

    Either ``model()`` returning a gn.nn model and ``data()`` returning ``(X, y)`` or
    ``(X, y, X_val, y_val)``; or ``build()`` returning a graph whose output is the loss
    and ``data()`` returning a dict of arrays (input name -> rows), or ``(train, val)``
    dicts. An optional ``TRAIN`` dict (or ``train_options()``) gives gn.fit's options.
    """
    import graphnn as gn
    from graphnn_cli.loader import call_user, graph_of

    fn = getattr(module, "data", None)
    if not callable(fn):
        raise CliError(f"{path}: training needs `data()` (and `model()` returning a gn.nn "
                       "model, or `build()` returning a graph whose output is the loss)")
    obj = getattr(module, "model", None)
    if obj is not None:
        net = obj if isinstance(obj, gn.nn.Module) else call_user(obj, path, "model()")
        if not isinstance(net, gn.nn.Module):
            raise CliError(f"{path}: model() returned {type(net).__name__}, expected a gn.nn "
                           "Module (e.g. gn.nn.MLP([2, 8, 2]))")
    elif callable(getattr(module, "build", None)):
        net = graph_of(module, path)
    else:
        raise CliError(f"{path}: training needs `model()` returning a gn.nn model, or "
                       "`build()` returning a graph whose output is the loss")
    data = call_user(fn, path, "data()")
    if isinstance(net, gn.Graph):
        if isinstance(data, dict):
            data = (data,)
        ok = isinstance(data, tuple) and len(data) in (1, 2) and all(
            isinstance(d, dict) for d in data)
        want = "a dict of arrays (input name -> rows) or (train, val) dicts"
    else:
        ok = isinstance(data, tuple) and len(data) in (2, 4)
        want = "(X, y) or (X, y, X_val, y_val)"
    if not ok:
        raise CliError(f"{path}: data() must return {want}, got {type(data).__name__}")
    opts = getattr(module, "TRAIN", None)
    if callable(getattr(module, "train_options", None)):
        opts = call_user(module.train_options, path, "train_options()")
    return net, data, dict(opts or {})


@click.command(epilog="""\b
Examples:
  graphnn train examples/models/xor_mlp.py
  graphnn train examples/models/xor_mlp.py --epochs 50 --lr 0.05 -o xor.npz
  graphnn train model.py --optimizer sgd --batch-size 64 --history history.json

\b
The model file defines:
  def model(): return gn.nn.MLP([2, 8, 2], activation="tanh", seed=0)
  def data():  return gn.data.xor(256, seed=0)     # (X, y) or (X, y, X_val, y_val)
  TRAIN = {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.05, "epochs": 30}
or a graph whose output is the loss, and its data as input name -> rows:
  def build(): ...                                 # inputs with a batch axis
  def data():  return {"x": X, "t": y}             # or (train, val) dicts
""")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--epochs", type=click.IntRange(min=1), help="Passes over the data.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Rows per mini-batch.")
@click.option("--lr", type=float, help="Learning rate.")
@click.option("--optimizer", metavar="NAME", help="sgd, momentum, adam, adagrad, rmsprop...")
@click.option("--loss", metavar="NAME", help="A gn loss name (cross_entropy, mse_loss, ...).")
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffling seed.")
@click.option("-o", "--checkpoint", type=click.Path(dir_okay=False),
              help="Save the trained params here (.npz; default: <model>.npz).")
@click.option("--resume", is_flag=True, help="Start from the checkpoint's params.")
@click.option("--history", type=click.Path(dir_okay=False),
              help="Write the per-epoch loss history (.json or .csv).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Where to train: cuda = the compiled CuPy step on an NVIDIA GPU (params "
                   "and data stay on the device).")
@click.option("--matmul-precision", type=click.Choice(["highest", "high", "medium"]),
              help="float32 GEMMs on the GPU: highest = float32 (the default), high / "
                   "medium = TensorFloat-32 tensor cores allowed "
                   "(gn.set_float32_matmul_precision).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no loss table.")
def train(model: str, epochs: int | None, batch_size: int | None, lr: float | None,
          optimizer: str | None, loss: str | None, seed: int, checkpoint: str | None,
          resume: bool, history: str | None, device: str, matmul_precision: str | None,
          quiet: bool) -> None:
    """Train the gn.nn model of MODEL on its data with gn.fit.

    Shows a progress bar per epoch (on a terminal), prints the loss history, and
    saves the trained params as a checkpoint (written atomically).
    """
    import graphnn as gn
    from graphnn_cli.loader import import_model

    path = Path(model)
    if not path.exists():
        raise CliError(f"no such model file: {model}")
    module = import_model(path)
    net, data, opts = training_setup(module, path)
    for key, val in zip(FIT_KEYS, (loss, optimizer, lr, epochs, batch_size, None)):
        if val is not None:
            opts[key] = val
    unknown = sorted(set(opts) - set(FIT_KEYS) - {"val", "schedule", "eval_batch"})
    if unknown:
        raise CliError(f"{path}: unknown TRAIN option(s) {unknown}; known: {list(FIT_KEYS)}")
    ckpt = Path(checkpoint) if checkpoint else path.with_suffix(".npz").name
    ckpt = Path(ckpt)
    if ckpt.suffix != ".npz":
        raise click.BadParameter(f"{checkpoint!r}: checkpoints are .npz files",
                                 param_hint="--checkpoint")
    if resume:
        if not ckpt.exists():
            raise CliError(f"--resume: no checkpoint {ckpt} yet")
        gn.load(str(ckpt), net)
        note(f"resumed from {ckpt}")
    if matmul_precision is not None:
        gn.set_float32_matmul_precision(matmul_precision)
    live = sys.stderr.isatty() and not quiet  # progress bar and epoch lines on a terminal
    if isinstance(net, gn.Graph):
        if batch_size is not None:
            raise click.BadParameter("a graph's batch size is its inputs' first axis (fixed "
                                     "when the graph is built)", param_hint="--batch-size")
        if len(data) == 2:
            opts["val"] = data[1]
        h = gn.fit(net, data[0], seed=seed, progress=live, verbose=live, device=device,
                   **opts)
    else:
        X, y, *val = data
        if val:
            opts["val"] = (val[0], val[1])
        h = gn.fit(net, X, y, seed=seed, progress=live, verbose=live, device=device, **opts)
    if not quiet:
        echo(history_table(h))
    if h.stopped != "completed":
        raise CliError(f"training stopped ({h.stopped}): {h.anomaly}")
    with atomic_path(ckpt) as tmp:
        gn.save(net, str(tmp))
    echo(f"wrote {ckpt} ({_count(net)} params)")
    if history:
        write_history(history, h)
        echo(f"wrote {history}")


def history_table(h: Any) -> str:
    """One line per epoch: loss (and accuracy, validation figures when present)."""
    cols = [("train_loss", "loss"), ("train_acc", "acc"), ("val_loss", "val_loss"),
            ("val_acc", "val_acc")]
    cols = [(k, t) for k, t in cols if getattr(h, k, None)]
    lines = ["epoch  " + "  ".join(f"{t:>9}" for _, t in cols)]
    for e in range(h.epochs):
        cells = []
        for k, _ in cols:
            seq = getattr(h, k)
            cells.append(f"{seq[e]:>9.4f}" if e < len(seq) else f"{'':>9}")
        lines.append(f"{e + 1:>5}  " + "  ".join(cells))
    return "\n".join(lines)


def write_history(path: str, h: Any) -> None:
    """The history as JSON (dict of lists) or CSV (one row per epoch)."""
    keys = [k for k in ("train_loss", "train_acc", "val_loss", "val_acc", "seconds")
            if getattr(h, k, None)]
    if path.endswith(".csv"):
        rows = ["epoch," + ",".join(keys)]
        for e in range(h.epochs):
            rows.append(f"{e + 1}," + ",".join(
                repr(float(getattr(h, k)[e])) if e < len(getattr(h, k)) else "" for k in keys))
        write_text_atomic(path, "\n".join(rows) + "\n")
    else:
        write_text_atomic(path, json.dumps({k: [float(v) for v in getattr(h, k)]
                                            for k in keys}, indent=1) + "\n")


def _count(net: Any) -> str:
    if hasattr(net, "num_params"):
        return f"{int(net.num_params()):,}"
    return f"{sum(p.size for p in net.params):,}"
