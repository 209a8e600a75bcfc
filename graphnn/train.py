"""Training: ``gn.fit`` (shuffled mini-batches, epochs, history), ``gn.predict``,
``gn.save`` / ``gn.load`` (.npz, written atomically).

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

import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import graphnn as gn
from graphnn.core.errors import AnomalyError
from graphnn.core.ir import Graph, Node
from graphnn.nn.module import Module, random_feeds, state_outputs, update_state
from graphnn.optim import Optimizer, make


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
    fn = getattr(gn, loss, None)
    if fn is None:
        raise ValueError(f"unknown loss {loss!r}: use a gn loss name (cross_entropy, mse_loss, "
                         "bce_with_logits, ...) or a function (output, target) -> node")
    return fn


class _Runner:
    """Runs one set of outputs (and optionally gradients) with the chosen engine."""

    def __init__(self, g: Graph, outputs: list[Node], loss: Node | None, wrt: list[Node],
                 engine: str) -> None:
        self.g, self.outputs, self.loss, self.wrt, self.engine = g, outputs, loss, wrt, engine
        self.fn = None
        if engine == "compiled":
            self.fn = gn.compile(g, outputs=outputs, wrt=wrt or None,  # type: ignore[attr-defined]
                                 **({"loss": loss} if wrt else {}))

    def __call__(self, feeds: dict[str, Any]) -> tuple[list[np.ndarray], dict[Node, Any]]:
        if self.fn is None:
            r = gn.run(self.g, feeds, outputs=self.outputs, wrt=self.wrt or None,
                       loss=self.loss if self.wrt else None)
            return [r.value(o) for o in self.outputs], {p: r.grad(p) for p in self.wrt}
        return _call_compiled(self.fn, self, feeds)


def _call_compiled(fn: Any, runner: _Runner, feeds: dict[str, Any]) -> Any:
    res = fn(feeds)
    values = getattr(res, "values", None)
    if callable(getattr(res, "value", None)):
        outs = [res.value(o) for o in runner.outputs]
        grads = {p: res.grad(p) for p in runner.wrt}
        return outs, grads
    if isinstance(res, tuple) and len(res) == 2:
        outs, grads = res
        if isinstance(grads, Mapping):
            grads = {p: grads[p] if p in grads else grads[p.name] for p in runner.wrt}
        else:
            grads = dict(zip(runner.wrt, grads))
        return list(outs), grads
    raise TypeError(f"unexpected result from the compiled function: {type(res)} {values}")


class _Model:
    """A model built into one graph: a training branch and evaluation branches."""

    def __init__(self, model: Module, x_shape: tuple[int, ...], y: np.ndarray | None,
                 loss: str | LossFn | None, batch: int, engine: str) -> None:
        self.model, self.x_shape, self.engine = model, x_shape, engine
        self.loss_fn = _loss_fn(loss) if loss is not None else None
        self.t_dtype = (y.dtype if y is not None and y.dtype.kind in "iu" else np.float64)
        self.t_shape = () if y is None else tuple(y.shape[1:])
        self.g = Graph(f"fit_{type(model).__name__.lower()}")
        self.eval_branches: dict[int, tuple[Node, Node | None, Node, Node | None, _Runner]] = {}
        self.train_runner: _Runner | None = None
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
        self.train_runner = _Runner(g, outputs, loss, self.params, self.engine)

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
            br = self.eval_branches[n] = (x, t, out, loss, _Runner(g, outs, None, [],
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


def _engine(engine: str) -> str:
    if engine == "auto":
        return "compiled" if hasattr(gn, "compile") else "interpret"
    if engine == "compiled" and not hasattr(gn, "compile"):
        raise ValueError("engine='compiled' needs gn.compile (the codegen package)")
    if engine not in ("compiled", "interpret"):
        raise ValueError(f"engine must be 'auto', 'compiled' or 'interpret', not {engine!r}")
    return engine


def fit(model: Module, X: Any, y: Any, *, loss: str | LossFn = "cross_entropy",
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
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if y.dtype.kind == "f" or y.dtype.kind == "b":
        y = y.astype(np.float64)
    n = len(X)
    if n != len(y):
        raise ValueError(f"fit: X has {n} rows but y has {len(y)}")
    batch = max(1, min(int(batch_size), n))
    eng = _engine(engine)
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
                hist.anomaly = _anomaly_report(m.g, feeds, vals, m.params)
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


def _update_state(m: _Model, vals: list[Any]) -> None:
    stats = state_outputs(m.g)
    if stats:
        values = dict(zip(stats, vals[2:]))
        update_state(m.g, _Values(values))


class _Values:
    def __init__(self, values: dict[Node, Any]) -> None:
        self._v = values

    def value(self, node: Node) -> Any:
        return self._v[node]


def _anomaly_report(g: Graph, feeds: dict[str, Any], vals: list[Any], wrt: list[Node]) -> str:
    try:
        gn.run(g, feeds, outputs=["loss"], wrt=wrt, anomaly=True)
    except AnomalyError as e:
        return str(e)
    return f"the loss is {vals[0]} (no single node produced the first non-finite value)"


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
    m = _Model(model, X.shape[1:], None, None, batch_size, _engine(engine))
    return m.evaluate(X, None, max(1, min(batch_size, len(X))))[0]


def evaluate(model: Module, X: Any, y: Any, batch_size: int = 256,
             threshold: float = 0.0) -> float | None:
    """Accuracy of ``model`` on ``(X, y)`` in evaluation mode: argmax of class scores, or
    one score per row above ``threshold`` (0 for logits, 0.5 for probabilities); None for
    regression targets."""
    return _accuracy(predict(model, X, batch_size), np.asarray(y), threshold)


def _values_of(target: Module | Graph) -> dict[str, np.ndarray]:
    if isinstance(target, Module):
        return target.named_values()
    return {p.name: target.value_of(p) for p in target.params}


def save(path: str | os.PathLike[str], target: Module | Graph) -> str:
    """Write every param (and BatchNorm state) of a model or graph to ``path`` (.npz),
    atomically: a temporary file in the same folder, then ``os.replace``."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".graphnn-", suffix=".npz", dir=folder)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a saved model is a normal file
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **_values_of(target))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike[str], target: Module | Graph) -> None:
    """Read values written by :func:`save` into a model or graph, in place."""
    with np.load(os.fspath(path)) as f:
        data = {k: f[k] for k in f.files}
    if isinstance(target, Module):
        target.load_state_dict(data)
        return
    own = {p.name: p for p in target.params}
    missing = sorted(set(own) - set(data))
    if missing:
        raise gn.GraphError(f"load: {path} has no values for params {missing}")
    for name, p in own.items():
        v = np.asarray(data[name], dtype=p.dtype)
        if v.shape != p.shape:
            raise gn.FeedError(f"load: {name!r} has shape {v.shape} in {path}, "
                               f"the graph wants {p.shape}", node=p)
        target.value_of(p)[...] = v


__all__ = ["History", "evaluate", "fit", "load", "predict", "save"]
