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

import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphnn import ops
from graphnn.core.ir import Graph, Node
from graphnn.nn.layers import Softmax
from graphnn.nn.module import (
    Module,
    Sequential,
    random_feeds,
    state_outputs,
    trainable_params,
    update_state,
)
from graphnn.optim import Optimizer, make
from graphnn.run.interpret import run
from graphnn.runner import Runner, Values, anomaly_report, pick_engine


@dataclass
class History:
    """Per-epoch ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc`` (accuracy only
    for classification), ``seconds`` (wall time per epoch), and why training stopped."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stopped: str = "completed"  # or "nan"
    anomaly: str | None = None  # the anomaly report naming the node
    engine: str = "interpret"
    graph: Graph | None = None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def plot(self, path: str) -> str:
        """Save the loss (and accuracy) curves (needs matplotlib)."""
        from graphnn.plot import plot_history

        return plot_history(self, path)


LossFn = Callable[[Node, Node], Node]


def _loss_fn(loss: str | LossFn) -> LossFn:
    if callable(loss):
        return loss
    fn = getattr(ops, loss, None)
    if fn is None:
        raise ValueError(f"unknown loss {loss!r}: use a gn loss name (cross_entropy, mse_loss, "
                         "bce_with_logits, ...) or a function (output, target) -> node")
    return fn


class _Model:
    """A model built into one graph: a training branch and evaluation branches."""

    def __init__(self, model: Module, x_shape: tuple[int, ...], y: np.ndarray | None,
                 loss: str | LossFn | None, batch: int, engine: str) -> None:
        self.model, self.x_shape, self.engine = model, x_shape, engine
        self.loss_fn = _loss_fn(loss) if loss is not None else None
        self.t_dtype = (y.dtype if y is not None and y.dtype.kind in "iu" else np.float64)
        self.t_shape = () if y is None else tuple(y.shape[1:])
        self.g = Graph(f"fit_{type(model).__name__.lower()}")
        self.eval_branches: dict[int, tuple[Node, Node | None, Node, Node | None, Runner]] = {}
        self.train_runner: Runner | None = None
        self.batch = batch

    def _target(self, name: str, n: int) -> Node:
        return self.g.input(name, (n, *self.t_shape), self.t_dtype)

    def build_train(self) -> None:
        g = self.g
        x = g.input("x", (self.batch, *self.x_shape))
        t = self._target("t", self.batch)
        out = self.model(x, train=True)
        assert self.loss_fn is not None
        with g.scope("loss"):
            loss = self.loss_fn(out, t).named("loss")
        self.params = self.model.param_nodes(g)
        outputs = [loss, out, *state_outputs(g)]
        self.train_runner = Runner(g, outputs, loss, self.params, self.engine)

    def eval_branch(self, n: int, with_loss: bool) -> Any:
        br = self.eval_branches.get(n)
        if br is None:
            g = self.g
            x = g.input(f"x_eval{n}", (n, *self.x_shape))
            with g.scope("eval"):
                out = self.model(x, train=False)
            t = loss = None
            if with_loss and self.loss_fn is not None:
                t = self._target(f"t_eval{n}", n)
                with g.scope("eval/loss"):
                    loss = self.loss_fn(out, t)
            outs = [out] + ([loss] if loss is not None else [])
            br = self.eval_branches[n] = (x, t, out, loss, Runner(g, outs, None, [],
                                                                   self.engine))
        return br

    def evaluate(self, X: np.ndarray, y: np.ndarray | None, batch: int
                 ) -> tuple[np.ndarray, float | None]:
        """Outputs for every row (eval mode) and the mean loss over all rows."""
        outs, total, n = [], 0.0, len(X)
        for s in range(0, n, batch):
            k = min(batch, n - s)
            x, t, out, loss, runner = self.eval_branch(k, y is not None)
            feeds = {x.name: X[s:s + k]}
            if t is not None and y is not None:
                feeds[t.name] = y[s:s + k]
            vals, _ = runner(feeds)
            outs.append(vals[0])
            if loss is not None:
                total += float(vals[1]) * k
        return np.concatenate(outs), (total / n if y is not None and self.loss_fn else None)


def _accuracy(out: np.ndarray, y: np.ndarray, threshold: float = 0.0) -> float | None:
    """Classification accuracy, or None for regression targets.

    Class indices (N,) or one-hot rows against scores (N, C): argmax. Binary targets
    (0/1) against one score per row: score > ``threshold`` (0 for logits, 0.5 for
    probabilities)."""
    out = np.asarray(out)
    y = np.asarray(y)
    if out.ndim == 2 and out.shape[1] > 1:
        if y.ndim == 1 and y.dtype.kind in "iu":
            return float(np.mean(np.argmax(out, 1) == y))
        if y.shape == out.shape:
            return float(np.mean(np.argmax(out, 1) == np.argmax(y, 1)))
        return None
    if out.size != y.size or not np.all((y == 0) | (y == 1)):
        return None
    return float(np.mean((out.reshape(-1) > threshold) == (y.reshape(-1) == 1)))


def _threshold(loss: Any) -> float:
    return 0.5 if loss in ("bce_loss", "mse_loss", "l1_loss", "squared_loss") else 0.0


def fit(model: Module | Graph, X: Any, y: Any = None, *,
        loss: str | LossFn | Node = "cross_entropy",
        optimizer: str | Optimizer = "adam", lr: float | None = None, epochs: int = 10,
        batch_size: int = 32, val: tuple[Any, Any] | None = None, seed: int = 0,
        engine: str = "auto", progress: bool | None = None, verbose: bool = False,
        eval_batch: int = 256, schedule: Callable[[Optimizer], Any] | None = None) -> History:
    """Train ``model`` on ``(X, y)`` with shuffled mini-batches; returns a :class:`History`.

    ``loss``: a gn loss name or ``fn(output, target) -> scalar node`` (integer ``y`` feeds
    class indices). ``optimizer``: a gn.optim instance (its params are attached here) or
    a name plus ``lr``. ``engine``: "auto" (compiled when ``gn.compile`` exists), "compiled"
    or "interpret". ``progress``: a progress bar (default: only on a terminal).
    ``schedule``: e.g. ``lambda opt: gn.optim.StepLR(opt, 10)`` (stepped each epoch).
    A non-finite loss stops training: the batch is rerun with ``anomaly=True`` and the
    report naming the first bad node is kept in ``history.anomaly``.

    A hand-built **graph** trains too: ``gn.fit(g, {"x": X, "t": y}, loss=loss_node)``
    feeds row slices of each array to the input of that name (the batch size is the
    inputs' first axis, fixed in the graph) and updates every param except layers' state
    buffers; ``val`` is then a dict of arrays too (full batches, the graph as built).
    """
    if isinstance(model, Graph):
        return _fit_graph(model, X, loss, optimizer, lr, epochs, val, seed, engine, verbose)
    if not isinstance(model, Module):
        raise TypeError(f"fit: expected a gn.nn model or a gn.Graph, got {type(model).__name__}")
    if isinstance(loss, Node):
        raise TypeError("fit: a loss node goes with a graph; for a model give a loss name "
                        "or a function (output, target) -> node")
    last = model.layers[-1][1] if isinstance(model, Sequential) and len(model) else model
    if isinstance(last, Softmax) and loss in ("cross_entropy", ops.cross_entropy):
        warnings.warn("the model ends with Softmax but gn.cross_entropy applies softmax to "
                      "its input already: build the model without the final Softmax "
                      "(softmax=False) and train on logits", stacklevel=2)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if y.dtype.kind == "f" or y.dtype.kind == "b":
        y = y.astype(np.float64)
    n = len(X)
    if n != len(y):
        raise ValueError(f"fit: X has {n} rows but y has {len(y)}")
    batch = max(1, min(int(batch_size), n))
    eng = pick_engine(engine)
    m = _Model(model, X.shape[1:], y, loss, batch, eng)
    m.build_train()
    opt = make(optimizer, **({} if lr is None else {"lr": lr})) if isinstance(optimizer, str) \
        else optimizer
    if lr is not None and not isinstance(optimizer, str):
        opt.lr = float(lr)
    opt.add_params(m.params)
    sched = schedule(opt) if schedule is not None else None
    rng = np.random.default_rng(seed)
    thr = _threshold(loss)
    hist = History(engine=eng, graph=m.g)
    Xv = yv = None
    if val is not None:
        Xv, yv = np.asarray(val[0], dtype=np.float64), np.asarray(val[1])
        if yv.dtype.kind in "fb":
            yv = yv.astype(np.float64)
    assert m.train_runner is not None
    x_name, t_name = "x", "t"
    show = sys.stderr.isatty() if progress is None else progress
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        starts = range(0, n - batch + 1, batch)
        tot_loss, tot_acc, seen, acc_ok = 0.0, 0.0, 0, True
        bar = _bar(len(starts), f"epoch {epoch + 1}/{epochs}") if show else None
        for s in starts:
            idx = order[s:s + batch]
            feeds = {x_name: X[idx], t_name: y[idx], **random_feeds(m.g, rng)}
            vals, grads = m.train_runner(feeds)
            lv = float(vals[0])
            if not np.isfinite(lv):
                hist.stopped = "nan"
                hist.anomaly = anomaly_report(m.g, feeds, vals, m.params, m.g["loss"])
                if bar is not None:
                    bar.finish()
                if verbose or show:
                    print(f"stopped at epoch {epoch + 1}: {hist.anomaly}", file=sys.stderr)
                hist.seconds.append(time.perf_counter() - t0)
                return hist
            opt.step(grads)
            _update_state(m, vals)
            tot_loss += lv * batch
            acc = _accuracy(np.asarray(vals[1]), y[idx], thr)
            acc_ok = acc_ok and acc is not None
            tot_acc += (acc or 0.0) * batch
            seen += batch
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.finish()
        hist.train_loss.append(tot_loss / seen)
        if acc_ok:
            hist.train_acc.append(tot_acc / seen)
        if Xv is not None and yv is not None:
            out, vl = m.evaluate(Xv, yv, eval_batch)
            hist.val_loss.append(float(vl) if vl is not None else float("nan"))
            va = _accuracy(out, yv, thr)
            if va is not None:
                hist.val_acc.append(va)
        if sched is not None:
            sched.step()
        hist.seconds.append(time.perf_counter() - t0)
        if verbose:
            print(_epoch_line(hist, epoch, epochs), file=sys.stderr)
    return hist


def _fit_graph(g: Graph, data: Any, loss: Any, optimizer: Any, lr: float | None,
               epochs: int, val: Any, seed: int, engine: str, verbose: bool) -> History:
    if not isinstance(data, Mapping):
        raise TypeError("fit(graph, data): data must map input names to arrays")
    loss_node = g.node(loss) if isinstance(loss, (str, Node)) and (
        isinstance(loss, Node) or loss in g) else None
    if loss_node is None:
        outs = g.default_outputs()
        if len(outs) != 1:
            raise ValueError("fit(graph): say which node is the loss with loss=")
        loss_node = outs[0]
    arrays = {g.node(k).name: np.asarray(v) for k, v in data.items()}
    n = len(next(iter(arrays.values())))
    batch = g.node(next(iter(arrays))).shape[0]
    for k, v in arrays.items():
        if len(v) != n or g.node(k).shape[1:] != v.shape[1:]:
            raise ValueError(f"fit(graph): {k!r} has shape {v.shape}; the input is "
                             f"{g.node(k).shape} (rows, then the per-row shape) and every "
                             f"array needs {n} rows")
    params = trainable_params(g)
    opt = make(optimizer, **({} if lr is None else {"lr": lr})) if isinstance(optimizer, str) \
        else optimizer
    opt.add_params(params)
    eng = pick_engine(engine)
    runner = Runner(g, [loss_node, *state_outputs(g)], loss_node, params, eng)
    rng = np.random.default_rng(seed)
    hist = History(engine=eng, graph=g)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        total = 0.0
        starts = range(0, n - batch + 1, batch)
        for s in starts:
            idx = order[s:s + batch]
            feeds = {k: v[idx] for k, v in arrays.items()}
            feeds.update(random_feeds(g, rng))
            vals, grads = runner(feeds)
            if not np.isfinite(float(vals[0])):
                hist.stopped = "nan"
                hist.anomaly = anomaly_report(g, feeds, vals, params, loss_node)
                return hist
            opt.step(grads)
            if len(vals) > 1:
                update_state(g, Values(dict(zip(state_outputs(g), vals[1:]))))
            total += float(vals[0])
        hist.train_loss.append(total / max(len(starts), 1))
        if val is not None:
            varr = {g.node(k).name: np.asarray(v) for k, v in val.items()}
            nv = len(next(iter(varr.values())))
            vl = [float(run(g, {k: v[s:s + batch] for k, v in varr.items()},
                               outputs=[loss_node]).value(loss_node))
                  for s in range(0, nv - batch + 1, batch)]
            hist.val_loss.append(float(np.mean(vl)) if vl else float("nan"))
        hist.seconds.append(time.perf_counter() - t0)
        if verbose:
            print(_epoch_line(hist, epoch, epochs), file=sys.stderr)
    return hist


def _update_state(m: _Model, vals: list[Any]) -> None:
    stats = state_outputs(m.g)
    if stats:
        values = dict(zip(stats, vals[2:]))
        update_state(m.g, Values(values))


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


def predict(model: Module, X: Any, batch_size: int = 256, engine: str = "interpret"
            ) -> np.ndarray:
    """The model's outputs for every row of ``X`` in evaluation mode."""
    X = np.asarray(X, dtype=np.float64)
    m = _Model(model, X.shape[1:], None, None, batch_size, pick_engine(engine))
    return m.evaluate(X, None, max(1, min(batch_size, len(X))))[0]


def evaluate(model: Module, X: Any, y: Any, batch_size: int = 256,
             threshold: float = 0.0) -> float | None:
    """Accuracy of ``model`` on ``(X, y)`` in evaluation mode: argmax of class scores, or
    one score per row above ``threshold`` (0 for logits, 0.5 for probabilities); None for
    regression targets."""
    return _accuracy(predict(model, X, batch_size), np.asarray(y), threshold)


__all__ = ["History", "evaluate", "fit", "predict"]
