"""Training: ``gn.fit`` (shuffled mini-batches, epochs, history), ``gn.predict``,
``gn.evaluate`` (save and load: graphnn/io).

The idiom — a model, arrays, a loss name, an optimizer:

>>> import graphnn as gn
>>> X, y = gn.data.xor(64, seed=0)
>>> model = gn.nn.MLP([2, 8, 2], activation="tanh", seed=0)
>>> h = gn.fit(model, X, y, loss="cross_entropy", optimizer=gn.optim.Adam(lr=0.05),
...            epochs=30, batch_size=32, seed=0, engine="interpret")
>>> h.train_acc[-1]
1.0

Node shapes are static, so ``fit`` builds ONE graph holding a training branch for
``batch_size`` rows (train mode: dropout masks, batch statistics) and evaluation
branches (eval mode) sharing the same param nodes. Each epoch reshuffles the rows and
DROPS the last partial training batch (every row is seen across epochs); evaluation
covers every row exactly, using a second evaluation branch sized for the remainder.
Losses are means over a batch; epoch figures are averages weighted by batch rows.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphnn.core.device import check_device, require_cupy
from graphnn.core.ir import Graph, Node
from graphnn.nn.module import Module, random_feeds, update_state
from graphnn.optim import Optimizer, make
from graphnn.run.device import params_on_device
from graphnn.run.results import MISSING, Results
from graphnn.run.threads import blas_threads_for, largest_madds
from graphnn.runner import (
    BuiltModel,
    GraphTask,
    LossFn,
    ModelTask,
    Task,
    accuracy,
    anomaly_report,
    pick_engine,
)


@dataclass
class History(Results):
    """Per-epoch ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc`` (accuracy only
    for classification), ``seconds`` (wall time per epoch), and why training stopped.

    ``last`` is the result of the last training step; the history answers the result
    protocol through it: ``h.value("loss")`` (that batch's loss), ``h.grad("fc1.weight")``.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stopped: str = "completed"  # or "nan"
    anomaly: str | None = None  # the anomaly report naming the node
    engine: str = "interpret"
    fused_update: bool = False  # the optimizer's update ran inside the compiled step
    cuda_graph: str | None = None  # the CUDA graph's status (fit(cuda_graph=True))
    graph: Graph | None = None
    last: Results | None = field(default=None, repr=False)
    kind = "training history"

    def _lookup(self, what: str, ref: str | Node) -> Any:
        return MISSING if self.last is None else self.last._lookup(what, ref)

    def _available(self, what: str) -> list[str]:
        return [] if self.last is None else self.last._available(what)

    def _hint(self, what: str, ref: str | Node) -> str:
        return ("no training step ran" if self.last is None
                else "of the last training step: " + self.last._hint(what, ref))

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def plot(self, path: str) -> str:
        """Save the loss (and accuracy) curves (needs matplotlib)."""
        from graphnn.plot import plot_history

        return plot_history(self, path)


def fit(model: Module | Graph, X: Any, y: Any = None, *,
        loss: str | LossFn | Node = "cross_entropy",
        optimizer: str | Optimizer = "adam", lr: float | None = None, epochs: int = 10,
        batch_size: int = 32, val: tuple[Any, Any] | None = None, seed: int = 0,
        engine: str = "auto", progress: bool | None = None, verbose: bool = False,
        eval_batch: int = 256, schedule: Callable[[Optimizer], Any] | None = None,
        device: str = "cpu", fused_update: bool = True, cuda_graph: bool = False) -> History:
    """Train ``model`` on ``(X, y)`` with shuffled mini-batches; returns a :class:`History`.

    ``loss``: a gn loss name or ``fn(output, target) -> scalar node`` (integer ``y`` feeds
    class indices). ``optimizer``: a gn.optim instance (its params are attached here) or
    a name plus ``lr``. ``engine``: "auto" (compiled when ``gn.compile`` exists), "compiled"
    or "interpret". ``progress``: a progress bar (default: only on a terminal).
    ``schedule``: e.g. ``lambda opt: gn.optim.StepLR(opt, 10)`` (stepped each epoch).
    ``device="cuda"`` trains on the GPU: the compiled step is the CuPy module (or the
    interpreter on CuPy arrays), the data is moved to the device once, the params stay
    there for the whole run (the optimizer updates them in place on the device) and are
    copied back into the model when training ends, also when it stops early.
    ``fused_update``: with the compiled engine and an optimizer that has a fused rule
    (SGD, Adam, Adagrad, RMSprop), its update runs inside the compiled step, in place
    (``gn.compile(..., optimizer=)``; ``history.fused_update`` says whether it did);
    other optimizers, the interpreter, or ``False`` update after each step.
    ``cuda_graph=True`` (with ``device="cuda"`` and the compiled engine) replays the
    training step as a CUDA graph; ``history.cuda_graph`` is its status ("captured",
    or "off: <why>" when the step could not be captured and ran as usual).
    A non-finite loss stops training: the batch is rerun with ``anomaly=True`` and the
    report naming the first bad node is kept in ``history.anomaly``.

    A hand-built **graph** trains too: ``gn.fit(g, {"x": X, "t": y}, loss=loss_node)``
    feeds row slices of each array to the input of that name (the batch size is the
    inputs' first axis, fixed in the graph) and updates every param except layers' state
    buffers; ``val`` is then a dict of arrays too (full batches, the graph as built).
    Both run the same loop (:func:`train_loop`).
    """
    eng = pick_engine(engine)
    check_device(device, "fit")
    if device == "cuda":
        require_cupy("gn.fit(device='cuda')")
    opt = make(optimizer, **({} if lr is None else {"lr": lr})) if isinstance(optimizer, str) \
        else optimizer
    if lr is not None and not isinstance(optimizer, str):
        opt.lr = float(lr)
    step_opt = opt if fused_update else None
    if isinstance(model, Graph):
        task: Task = GraphTask(model, X, loss, val, eng, device, step_opt, cuda_graph)
    elif isinstance(model, Module):
        task = ModelTask(model, X, y, loss, batch_size, val, eval_batch, eng, device,
                         step_opt, cuda_graph)
    else:
        raise TypeError(f"fit: expected a gn.nn model or a gn.Graph, got {type(model).__name__}")
    opt.add_params(task.params)
    show = sys.stderr.isatty() if progress is None else progress
    resident = (params_on_device(require_cupy("gn.fit"), task.g, task.params)
                 if device == "cuda" else contextlib.nullcontext())
    with blas_threads_for(largest_madds(task.g)), resident:  # small models: 1 BLAS thread
        return train_loop(task, opt, epochs, seed, schedule(opt) if schedule else None,
                          show, verbose)


def train_loop(task: Task, opt: Optimizer, epochs: int, seed: int, sched: Any = None,
               show: bool = False, verbose: bool = False) -> History:
    """THE training loop: per epoch shuffle the rows, run each full batch (fresh dropout
    masks), step the optimizer, fold batch statistics, then validate and record."""
    rng = np.random.default_rng(seed)
    hist = History(engine=task.runner.engine, graph=task.g, fused_update=task.runner.fused)
    try:
        return _train(task, opt, epochs, rng, hist, sched, show, verbose)
    finally:
        hist.cuda_graph = task.runner.graph_status()


def _train(task: Task, opt: Optimizer, epochs: int, rng: np.random.Generator, hist: History,
           sched: Any, show: bool, verbose: bool) -> History:
    for epoch in range(epochs):
        t0 = time.perf_counter()
        bar = _bar(task.n // task.batch, f"epoch {epoch + 1}/{epochs}") if show else None
        ok = _epoch(task, opt, rng, hist, bar)
        if bar is not None:
            bar.finish()
        if not ok:
            if verbose or show:
                print(f"stopped at epoch {epoch + 1}: {hist.anomaly}", file=sys.stderr)
            hist.seconds.append(time.perf_counter() - t0)
            return hist
        checked = task.validate()
        if checked is not None:
            hist.val_loss.append(checked[0])
            if checked[1] is not None:
                hist.val_acc.append(checked[1])
        if sched is not None:
            sched.step()
        hist.seconds.append(time.perf_counter() - t0)
        if verbose:
            print(_epoch_line(hist, epoch, epochs), file=sys.stderr)
    return hist


def _epoch(task: Task, opt: Optimizer, rng: np.random.Generator, hist: History,
           bar: Any) -> bool:
    """One pass over the shuffled rows (the last partial batch dropped); False on NaN."""
    order = rng.permutation(task.n)
    tot_loss, tot_acc, seen, acc_ok = 0.0, 0.0, 0, True
    for s in range(0, task.n - task.batch + 1, task.batch):
        idx = order[s:s + task.batch]
        feeds = {**task.feeds(idx), **random_feeds(task.g, rng)}
        res = hist.last = task.runner(feeds)
        lv = float(res.value(task.loss))
        if not np.isfinite(lv):
            hist.stopped = "nan"
            hist.anomaly = anomaly_report(task.g, feeds, task.params, task.loss, lv,
                                          task.runner.device)
            return False
        if not task.runner.fused:  # else the step updated the params already
            opt.step(res)
        update_state(task.g, res)
        tot_loss += lv * task.batch
        acc = task.accuracy(res, idx)
        acc_ok = acc_ok and acc is not None
        tot_acc += (acc or 0.0) * task.batch
        seen += task.batch
        if bar is not None:
            bar.update(1)
    hist.train_loss.append(tot_loss / max(seen, 1))
    if acc_ok and seen:
        hist.train_acc.append(tot_acc / seen)
    return True


def _epoch_line(h: History, epoch: int, epochs: int) -> str:
    parts = [f"epoch {epoch + 1}/{epochs}", f"loss {h.train_loss[-1]:.4f}"]
    if h.train_acc:
        parts.append(f"acc {h.train_acc[-1]:.3f}")
    if h.val_loss:
        parts.append(f"val_loss {h.val_loss[-1]:.4f}")
    if h.val_acc:
        parts.append(f"val_acc {h.val_acc[-1]:.3f}")
    parts.append(f"{h.seconds[-1]:.2f}s")
    return "  ".join(parts)


def _bar(length: int, label: str) -> Any:
    import click

    bar = click.progressbar(length=length, label=label, file=sys.stderr)
    bar.__enter__()

    class _B:
        def update(self, k: int) -> None:
            bar.update(k)

        def finish(self) -> None:
            bar.__exit__(None, None, None)

    return _B()


def predict(model: Module, X: Any, batch_size: int = 256, engine: str = "interpret",
            device: str = "cpu") -> np.ndarray:
    """The model's outputs for every row of ``X`` in evaluation mode (a NumPy array; with
    ``device="cuda"`` each batch runs on the GPU)."""
    X = np.asarray(X, dtype=np.float64)
    if check_device(device, "predict") == "cuda":
        require_cupy("gn.predict(device='cuda')")
        engine = "compiled" if engine == "interpret" else engine
    m = BuiltModel(model, X.shape[1:], None, None, batch_size, pick_engine(engine), device)
    return m.evaluate(X, None, max(1, min(batch_size, len(X))))[0]


def evaluate(model: Module, X: Any, y: Any, batch_size: int = 256,
             threshold: float = 0.0, device: str = "cpu") -> float | None:
    """Accuracy of ``model`` on ``(X, y)`` in evaluation mode: argmax of class scores, or
    one score per row above ``threshold`` (0 for logits, 0.5 for probabilities); None for
    regression targets. ``device="cuda"``: the forward passes run on the GPU."""
    return accuracy(predict(model, X, batch_size, device=device), np.asarray(y), threshold)


__all__ = ["History", "evaluate", "fit", "predict"]
