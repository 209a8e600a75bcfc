"""How ``gn.fit`` runs a graph: the interpreter (``gn.run``) or the compiled function
(``gn.compile``), behind one call that returns a result of the result protocol
(:mod:`graphnn.run.results`): a Run or a CompiledResult, read with ``value(ref)`` and
``grad(ref)`` by node or name. And what ``gn.fit``'s one loop trains: a :class:`Task`,
either a model (:class:`ModelTask`: built into one graph with a training branch and
evaluation branches, :class:`BuiltModel`) or a hand-built graph (:class:`GraphTask`).

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     w = gn.param("w", 2.0)
...     loss = (w * w).named("loss")
>>> res = Runner(g, [loss], loss, [w], pick_engine("auto"))({})
>>> float(res.value("loss")), float(res.grad(w))
(4.0, 4.0)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from graphnn import ops
from graphnn.codegen.compiler import compile as compile_graph
from graphnn.codegen.update import fused_rule_of
from graphnn.core.device import require_cupy, to_host
from graphnn.core.errors import AnomalyError
from graphnn.core.ir import Graph, Node
from graphnn.nn.layers import Softmax
from graphnn.nn.module import Module, Sequential, state_outputs, trainable_params
from graphnn.run.interpret import run
from graphnn.run.results import Results

LossFn = Callable[[Node, Node], Node]


class Runner:
    """Runs one set of outputs (and optionally gradients) with the chosen engine, on the
    host (``device="cpu"``: NumPy) or the GPU (``"cuda"``: the CuPy backend, or the
    interpreter on CuPy arrays; results then hold device arrays).

    With the compiled engine, an ``optimizer`` that has a fused update is compiled into
    the step (``fused`` is then True: each call also updates ``wrt``; otherwise the
    caller runs ``optimizer.step``), and ``cuda_graph`` replays the CuPy step as a CUDA
    graph (:meth:`graph_status`)."""

    def __init__(self, g: Graph, outputs: list[Node], loss: Node | None, wrt: list[Node],
                 engine: str, device: str = "cpu", optimizer: Any = None,
                 cuda_graph: bool = False) -> None:
        self.g, self.outputs, self.loss, self.wrt, self.engine = g, outputs, loss, wrt, engine
        self.device = device
        self.fn = None
        self.fused = False
        if engine == "compiled":
            fused = optimizer if wrt and fused_rule_of(optimizer) is not None else None
            self.fn = compile_graph(g, outputs=outputs, wrt=wrt or None,
                                    backend="cupy" if device == "cuda" else "numpy",
                                    optimizer=fused, cuda_graph=cuda_graph and device == "cuda",
                                    **({"loss": loss} if wrt else {}))
            self.fused = fused is not None

    def graph_status(self) -> str | None:
        """The CUDA graph's status ("captured", "warm-up", "off: <why>"), None without."""
        cg = getattr(self.fn, "cuda_graph", None)
        return None if cg is None else cg.status

    def __call__(self, feeds: dict[str, Any]) -> Results:
        """Values of the outputs (and gradients of ``wrt``) for ``feeds``."""
        if self.fn is None:
            return run(self.g, feeds, outputs=self.outputs, wrt=self.wrt or None,
                       loss=self.loss if self.wrt else None, device=self.device)
        return self.fn(feeds)


def pick_engine(engine: str) -> str:
    """``"auto"`` means compiled; otherwise check the name."""
    if engine == "auto":
        return "compiled"
    if engine not in ("compiled", "interpret"):
        raise ValueError(f"engine must be 'auto', 'compiled' or 'interpret', not {engine!r}")
    return engine


def anomaly_report(g: Graph, feeds: dict[str, Any], wrt: list[Node], loss: Node,
                   loss_value: Any, device: str = "cpu") -> str:
    """Rerun in anomaly mode to name the first node that produced a NaN or Inf."""
    try:
        run(g, feeds, outputs=[loss], wrt=wrt, anomaly=True, device=device)
    except AnomalyError as e:
        return str(e)
    return f"the loss is {loss_value} (no single node produced the first non-finite value)"


def loss_fn(loss: str | LossFn) -> LossFn:
    """A loss function from a gn loss name (or the function itself)."""
    if callable(loss):
        return loss
    fn = getattr(ops, loss, None)
    if fn is None:
        raise ValueError(f"unknown loss {loss!r}: use a gn loss name (cross_entropy, mse_loss, "
                         "bce_with_logits, ...) or a function (output, target) -> node")
    return fn


def accuracy(out: np.ndarray, y: np.ndarray, threshold: float = 0.0) -> float | None:
    """Classification accuracy, or None for regression targets.

    Class indices (N,) or one-hot rows against scores (N, C): argmax. Binary targets
    (0/1) against one score per row: score > ``threshold`` (0 for logits, 0.5 for
    probabilities).

    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    0.5
    """
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


class Task(Protocol):
    """What the training loop needs: the graph, a runner of loss (+ outputs) and
    gradients, the params to update, rows ``n`` in batches of ``batch``."""

    g: Graph
    runner: Runner
    params: list[Node]
    loss: Node
    n: int
    batch: int

    def feeds(self, idx: np.ndarray) -> dict[str, Any]: ...

    def accuracy(self, res: Results, idx: np.ndarray) -> float | None: ...

    def validate(self) -> tuple[float, float | None] | None: ...


class BuiltModel:
    """A model built into one graph: a training branch and evaluation branches."""

    def __init__(self, model: Module, x_shape: tuple[int, ...], y: np.ndarray | None,
                 loss: str | LossFn | None, batch: int, engine: str,
                 device: str = "cpu") -> None:
        self.model, self.x_shape, self.engine, self.batch = model, x_shape, engine, batch
        self.device = device
        self.loss_fn = loss_fn(loss) if loss is not None else None
        self.t_dtype = (y.dtype if y is not None and y.dtype.kind in "iu" else np.float64)
        self.t_shape = () if y is None else tuple(y.shape[1:])
        self.g = Graph(f"fit_{type(model).__name__.lower()}")
        self.eval_branches: dict[int, tuple[Node, Node | None, Node, Node | None, Runner]] = {}

    def _target(self, name: str, n: int) -> Node:
        return self.g.input(name, (n, *self.t_shape), self.t_dtype)

    def build_train(self, optimizer: Any = None, cuda_graph: bool = False) -> Runner:
        """The training branch (inputs ``x``, ``t``; node ``loss``) and its runner (the
        optimizer's update compiled into it when it can be: ``Runner``)."""
        g = self.g
        x = g.input("x", (self.batch, *self.x_shape))
        t = self._target("t", self.batch)
        self.out = self.model(x, train=True)
        assert self.loss_fn is not None
        with g.scope("loss"):
            self.loss = self.loss_fn(self.out, t).named("loss")
        self.params = self.model.param_nodes(g)
        outputs = [self.loss, self.out, *state_outputs(g)]
        return Runner(g, outputs, self.loss, self.params, self.engine, self.device, optimizer,
                      cuda_graph)

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
                                                                   self.engine, self.device))
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
            res = runner(feeds)
            outs.append(to_host(res.value(out)))
            if loss is not None:
                total += float(res.value(loss)) * k
        return np.concatenate(outs), (total / n if y is not None and self.loss_fn else None)


def on_device(device: str, *arrays: np.ndarray) -> tuple[Any, ...]:
    """``arrays`` where ``device`` computes: as they are for "cpu", CuPy copies for "cuda"."""
    if device == "cpu":
        return arrays
    cp = require_cupy(f"training on device={device!r}")
    return tuple(cp.asarray(a) for a in arrays)


def _targets(y: Any) -> np.ndarray:
    y = np.asarray(y)
    return y.astype(np.float64) if y.dtype.kind in "fb" else y


class ModelTask:
    """Training a gn.nn model on arrays ``(X, y)`` (see ``gn.fit``)."""

    def __init__(self, model: Module, X: Any, y: Any, loss: Any, batch_size: int,
                 val: tuple[Any, Any] | None, eval_batch: int, engine: str,
                 device: str = "cpu", optimizer: Any = None, cuda_graph: bool = False) -> None:
        if isinstance(loss, Node):
            raise TypeError("fit: a loss node goes with a graph; for a model give a loss "
                            "name or a function (output, target) -> node")
        last = model.layers[-1][1] if isinstance(model, Sequential) and len(model) else model
        if isinstance(last, Softmax) and loss in ("cross_entropy", ops.cross_entropy):
            warnings.warn("the model ends with Softmax but gn.cross_entropy applies softmax "
                          "to its input already: build the model without the final Softmax "
                          "(softmax=False) and train on logits", stacklevel=3)
        self.X, self.y = np.asarray(X, dtype=np.float64), _targets(y)
        self.n = len(self.X)
        if self.n != len(self.y):
            raise ValueError(f"fit: X has {self.n} rows but y has {len(self.y)}")
        self.batch = max(1, min(int(batch_size), self.n))
        self.m = BuiltModel(model, self.X.shape[1:], self.y, loss, self.batch, engine, device)
        self.runner = self.m.build_train(optimizer, cuda_graph)
        self.device = device
        self.rows = on_device(device, self.X, self.y)  # the training rows, moved once
        self.g, self.params, self.loss = self.m.g, self.m.params, self.m.loss
        self.val = None if val is None else (np.asarray(val[0], dtype=np.float64),
                                             _targets(val[1]))
        self.eval_batch = eval_batch
        self.thr = 0.5 if loss in ("bce_loss", "mse_loss", "l1_loss", "squared_loss") else 0.0

    def feeds(self, idx: np.ndarray) -> dict[str, Any]:
        X, y = self.rows
        idx = on_device(self.device, idx)[0]
        return {"x": X[idx], "t": y[idx]}

    def accuracy(self, res: Results, idx: np.ndarray) -> float | None:
        return accuracy(to_host(res.value(self.m.out)), self.y[idx], self.thr)

    def validate(self) -> tuple[float, float | None] | None:
        if self.val is None:
            return None
        out, vl = self.m.evaluate(*self.val, self.eval_batch)
        return (float(vl) if vl is not None else float("nan"),
                accuracy(out, self.val[1], self.thr))


class GraphTask:
    """Training a hand-built graph on a dict of arrays by input name (see ``gn.fit``)."""

    def __init__(self, g: Graph, data: Any, loss: Any, val: Any, engine: str,
                 device: str = "cpu", optimizer: Any = None, cuda_graph: bool = False) -> None:
        if not isinstance(data, Mapping):
            raise TypeError("fit(graph, data): data must map input names to arrays")
        self.g = g
        self.loss = self._loss_node(loss)
        self.arrays = {g.node(k).name: np.asarray(v) for k, v in data.items()}
        self.n = len(next(iter(self.arrays.values())))
        self.batch = g.node(next(iter(self.arrays))).shape[0]
        for k, v in self.arrays.items():
            if len(v) != self.n or g.node(k).shape[1:] != v.shape[1:]:
                raise ValueError(f"fit(graph): {k!r} has shape {v.shape}; the input is "
                                 f"{g.node(k).shape} (rows, then the per-row shape) and every "
                                 f"array needs {self.n} rows")
        self.params = trainable_params(g)
        self.runner = Runner(g, [self.loss, *state_outputs(g)], self.loss, self.params, engine,
                             device, optimizer, cuda_graph)
        self.val, self.device = val, device
        names = list(self.arrays)
        self.rows = dict(zip(names, on_device(device, *self.arrays.values())))

    def _loss_node(self, loss: Any) -> Node:
        if isinstance(loss, Node) or (isinstance(loss, str) and loss in self.g):
            return self.g.node(loss)
        outs = self.g.default_outputs()
        if len(outs) != 1:
            raise ValueError("fit(graph): say which node is the loss with loss=")
        return outs[0]

    def feeds(self, idx: np.ndarray) -> dict[str, Any]:
        idx = on_device(self.device, idx)[0]
        return {k: v[idx] for k, v in self.rows.items()}

    def accuracy(self, res: Results, idx: np.ndarray) -> float | None:
        return None

    def validate(self) -> tuple[float, float | None] | None:
        """The mean loss over full batches of ``val`` (the interpreter, eval as built)."""
        if self.val is None:
            return None
        varr = {self.g.node(k).name: np.asarray(v) for k, v in self.val.items()}
        nv, b = len(next(iter(varr.values()))), self.batch
        vl = [float(run(self.g, {k: v[s:s + b] for k, v in varr.items()},
                        outputs=[self.loss], device=self.device).value(self.loss))
              for s in range(0, nv - b + 1, b)]
        return (float(np.mean(vl)) if vl else float("nan")), None
