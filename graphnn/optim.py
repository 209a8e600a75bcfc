"""Optimizers that update the params held in a graph, in place, from a Run's gradients.

The loop every lecture shows — forward, loss, backward, optimizer step:

>>> import numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     w = gn.param("w", [1.0, -2.0])
...     loss = gn.sum(w * w)
>>> opt = gn.optim.SGD([w], lr=0.1)
>>> for _ in range(2):
...     r = gn.run(g, wrt=[w])          # forward + backward
...     opt.step(r)                     # w <- w - lr dL/dw
>>> g.value_of(w)
array([ 0.64, -1.28])

Updates are written into the stored arrays (``value[...] = ...``), so models that share
their arrays with several graphs (``gn.nn``) see every step.

SGD, Adam, Adagrad and RMSprop can also have their update compiled into the step
(``gn.compile(..., optimizer=opt)``, used by ``gn.fit`` with the compiled engine): each
describes it as a :class:`~graphnn.codegen.update.UpdateRule` (``fused_rule``) and hands
the step its runtime scalars and state buffers (``fused_step``); the state lives in
``opt.state`` either way, so fused and unfused steps can follow each other. Other
optimizers (a subclass that only overrides ``update``) keep the unfused path. A fused
step whose loss is not finite leaves the params and buffers as they were but still
counts as a step (``opt.steps`` and Adam's bias-correction count advance, since the
scalars are handed over before the loss is known without a host sync); ``gn.fit`` stops
at such a step anyway.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from graphnn.codegen.update import UpdateRule
from graphnn.core.device import array_module, to_host
from graphnn.core.errors import GraphError
from graphnn.core.ir import Graph, Node
from graphnn.run.results import ResultError


class Optimizer:
    """Base class: holds params, per-param state and the learning rate ``lr``."""

    def __init__(self, params: Iterable[Node] | Graph | None = None, lr: float = 0.01,
                 weight_decay: float = 0.0) -> None:
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.params: list[Node] = []
        self.state: dict[Node, dict[str, Any]] = {}
        self.steps = 0
        if params is not None:
            self.add_params(params)

    def add_params(self, params: Iterable[Node] | Graph) -> None:
        """Attach params (nodes with role "param", or every param of a graph)."""
        if isinstance(params, Graph):
            params = params.params
        for p in params:
            if not isinstance(p, Node) or p.role != "param":
                raise GraphError(f"{type(self).__name__}: {p!r} is not a param node")
            if p not in self.params:
                self.params.append(p)

    def zero_state(self) -> None:
        """Forget momenta and step counts."""
        self.state.clear()
        self.steps = 0

    def step(self, grads: Any) -> None:
        """Apply one update; ``grads`` is a result (a Run of ``run(..., wrt=params)``, a
        compiled call's result) or a mapping from param nodes (or names) to gradients.
        Params the result holds no gradient for are left alone."""
        self.steps += 1
        for p in self.params:
            g = _grad_of(grads, p)
            if g is None:
                continue
            value = p.graph.value_of(p)
            g = array_module(value).asarray(g, dtype=value.dtype)  # NumPy or CuPy
            if self.weight_decay:
                g = g + self.weight_decay * value
            value[...] = self.update(value, g, self.state.setdefault(p, {}))
            p.graph.params_changed()

    def update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    # -- the update compiled into the step (gn.compile(..., optimizer=self)) -----------
    def fused_rule(self) -> UpdateRule | None:
        """This optimizer's update as a rule the compiled step runs in place, or None
        (the default: the step returns gradients and :meth:`step` updates). The rule
        depends on which hyperparameters are on (weight decay, momentum, ...), never on
        their values: those are :meth:`fused_scalars`, read at every step."""
        return None

    def fused_state(self) -> tuple[tuple[str, float], ...]:
        """The per-param state buffers of the fused rule and their initial values."""
        return ()

    def fused_scalars(self, st: dict[str, Any], first: bool) -> tuple[float, ...]:
        """The rule's scalars for one param this step (``st``: its state, advanced here;
        ``first``: its buffers were just created). Only called for an optimizer whose
        ``fused_rule`` is not None, and each such optimizer defines it."""
        raise NotImplementedError(  # pragma: no cover
            f"{type(self).__name__} has a fused rule but no fused_scalars")

    def fused_step(self, params: list[tuple[Node, Any]]
                   ) -> list[tuple[tuple[float, ...], tuple[Any, ...]]]:
        """One step begins: for each ``(param, value array)`` its scalars and its state
        buffers (created on the value's device on first use, in ``self.state``)."""
        self.steps += 1
        out = []
        names = self.fused_state()
        for p, w in params:
            st = self.state.get(p)
            if st is None:
                st = self.state[p] = {}
            bufs, first = [], False
            wt, shape, dtype = type(w), w.shape, w.dtype
            for name, init in names:
                b = st.get(name)
                # the common case (every step after the first): a buffer like w's
                if type(b) is not wt or b.shape != shape or b.dtype != dtype:
                    b, made = _state_buffer(b, w, init)
                    st[name] = b
                    first = first or made
                bufs.append(b)
            out.append((self.fused_scalars(st, first), tuple(bufs)))
        return out

    def _decayed(self, steps: list[tuple[str, str]]) -> tuple[str, tuple[str, ...]]:
        """The gradient's name after weight decay (a step ``d = g + wd * w`` when on)."""
        if self.weight_decay:
            steps.append(("d", "g + wd * w"))
            return "d", ("wd",)
        return "g", ()

    def _wd(self) -> tuple[float, ...]:
        return (self.weight_decay,) if self.weight_decay else ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, {len(self.params)} params)"


def _state_buffer(b: Any, w: Any, init: float) -> tuple[Any, bool]:
    """A fused state buffer for param value ``w`` from the one held (``b``): new, filled
    with ``init``, when there is none or its shape differs (second item True); moved to
    ``w``'s device and dtype when it is on the other one, a 0-d scalar or another dtype;
    else ``b`` itself."""
    xp = array_module(w)
    if b is None or getattr(b, "shape", None) != w.shape:
        return xp.full_like(w, init), True
    if array_module(b) is not xp or not isinstance(b, xp.ndarray) or b.dtype != w.dtype:
        return xp.array(to_host(b), dtype=w.dtype), False
    return b, False


def _grad_of(grads: Any, p: Node) -> Any:
    if isinstance(grads, Mapping):
        g = grads.get(p)
        return grads.get(p.name) if g is None else g
    try:  # a result (Run, CompiledResult, a training step): None where it holds none
        return grads.grad(p)
    except ResultError:
        return None


class SGD(Optimizer):
    """w <- w - lr v, with v = g (plain), v = mu v + g (momentum), or the Nesterov
    look-ahead g + mu v; ``weight_decay`` adds wd * w to g (PyTorch's conventions)."""

    def __init__(self, params: Any = None, lr: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0,
                 dampening: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and no dampening")
        self.momentum, self.nesterov, self.dampening = momentum, nesterov, dampening

    def update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any]) -> np.ndarray:
        if self.momentum:
            buf = st.get("v")
            buf = g.copy() if buf is None else self.momentum * buf + (1 - self.dampening) * g
            st["v"] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        return w - self.lr * g

    def fused_rule(self) -> UpdateRule:
        """``v = mu v + damp g`` (mu = 0, damp = 1 on a param's first step: v = g, as
        :meth:`update`), then ``w - lr v`` (or the Nesterov ``w - lr (g + momentum v)``)."""
        steps: list[tuple[str, str]] = []
        g, scalars = self._decayed(steps)
        state: tuple[str, ...] = ()
        if self.momentum:
            steps.append(("v", f"mu * v + damp * {g}"))
            scalars += ("mu", "damp")
            state = ("v",)
            if self.nesterov:
                steps.append(("e", f"{g} + momentum * v"))
                scalars += ("momentum",)
                g = "e"
            else:
                g = "v"
        steps.append(("w", f"w - lr * {g}"))
        name = "sgd" + ("_wd" if self.weight_decay else "") + (
            "_nesterov" if self.nesterov else "_momentum" if self.momentum else "")
        return UpdateRule(name, ("lr", *scalars), state, tuple(steps))

    def fused_state(self) -> tuple[tuple[str, float], ...]:
        return (("v", 0.0),) if self.momentum else ()

    def fused_scalars(self, st: dict[str, Any], first: bool) -> tuple[float, ...]:
        out: tuple[float, ...] = (self.lr, *self._wd())
        if self.momentum:
            out += (0.0, 1.0) if first else (self.momentum, 1 - self.dampening)
            if self.nesterov:
                out += (self.momentum,)
        return out


class Adam(Optimizer):
    """m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
    w <- w - lr m^ / (sqrt(v^) + eps), with bias corrections m^ = m/(1-b1^t), v^ = v/(1-b2^t).
    """

    def __init__(self, params: Any = None, lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = betas, eps

    def update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any]) -> np.ndarray:
        b1, b2 = self.betas
        t = st["t"] = st.get("t", 0) + 1
        m = st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        v = st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        return w - self.lr * mhat / (np.sqrt(vhat) + self.eps)

    def fused_rule(self) -> UpdateRule:
        """:meth:`update`'s operations in its order; the bias corrections ``c1 = 1 -
        b1^t``, ``c2 = 1 - b2^t`` are scalars of the step."""
        steps: list[tuple[str, str]] = []
        g, scalars = self._decayed(steps)
        steps += [("m", f"b1 * m + omb1 * {g}"), ("v", f"b2 * v + omb2 * {g} * {g}"),
                  ("w", "w - lr * (m / c1) / (sqrt(v / c2) + eps)")]
        return UpdateRule("adam" + ("_wd" if self.weight_decay else ""),
                          ("lr", *scalars, "b1", "omb1", "b2", "omb2", "c1", "c2", "eps"),
                          ("m", "v"), tuple(steps))

    def fused_state(self) -> tuple[tuple[str, float], ...]:
        return (("m", 0.0), ("v", 0.0))

    def fused_scalars(self, st: dict[str, Any], first: bool) -> tuple[float, ...]:
        b1, b2 = self.betas
        t = st["t"] = st.get("t", 0) + 1
        return (self.lr, *self._wd(), b1, 1 - b1, b2, 1 - b2, 1 - b1 ** t, 1 - b2 ** t,
                self.eps)


class Adagrad(Optimizer):
    """s <- s + g^2; w <- w - lr g / (sqrt(s) + eps)."""

    def __init__(self, params: Any = None, lr: float = 0.01, eps: float = 1e-10,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.eps, self.initial = eps, initial_accumulator_value

    def update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any]) -> np.ndarray:
        s = st["s"] = st.get("s", self.initial) + g * g
        return w - self.lr * g / (np.sqrt(s) + self.eps)

    def fused_rule(self) -> UpdateRule:
        steps: list[tuple[str, str]] = []
        g, scalars = self._decayed(steps)
        steps += [("s", f"s + {g} * {g}"), ("w", f"w - lr * {g} / (sqrt(s) + eps)")]
        return UpdateRule("adagrad" + ("_wd" if self.weight_decay else ""),
                          ("lr", *scalars, "eps"), ("s",), tuple(steps))

    def fused_state(self) -> tuple[tuple[str, float], ...]:
        return (("s", self.initial),)

    def fused_scalars(self, st: dict[str, Any], first: bool) -> tuple[float, ...]:
        return (self.lr, *self._wd(), self.eps)


class RMSprop(Optimizer):
    """v <- alpha v + (1-alpha) g^2; w <- w - lr g / (sqrt(v) + eps) (optionally with
    momentum on that step, as PyTorch)."""

    def __init__(self, params: Any = None, lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.alpha, self.eps, self.momentum = alpha, eps, momentum

    def update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any]) -> np.ndarray:
        v = st["v"] = self.alpha * st.get("v", 0.0) + (1 - self.alpha) * g * g
        d = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            d = st["buf"] = self.momentum * st.get("buf", 0.0) + d
        return w - self.lr * d

    def fused_rule(self) -> UpdateRule:
        steps: list[tuple[str, str]] = []
        g, scalars = self._decayed(steps)
        steps += [("v", f"alpha * v + oma * {g} * {g}"), ("e", f"{g} / (sqrt(v) + eps)")]
        state: tuple[str, ...] = ("v",)
        if self.momentum:
            steps.append(("buf", "momentum * buf + e"))
            state += ("buf",)
        steps.append(("w", "w - lr * " + ("buf" if self.momentum else "e")))
        return UpdateRule("rmsprop" + ("_wd" if self.weight_decay else "")
                          + ("_momentum" if self.momentum else ""),
                          ("lr", *scalars, "alpha", "oma", "eps")
                          + (("momentum",) if self.momentum else ()), state, tuple(steps))

    def fused_state(self) -> tuple[tuple[str, float], ...]:
        return (("v", 0.0), ("buf", 0.0)) if self.momentum else (("v", 0.0),)

    def fused_scalars(self, st: dict[str, Any], first: bool) -> tuple[float, ...]:
        return (self.lr, *self._wd(), self.alpha, 1 - self.alpha, self.eps) + (
            (self.momentum,) if self.momentum else ())


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adagrad": Adagrad, "rmsprop": RMSprop,
}


def make(spec: str | Optimizer, **kw: Any) -> Optimizer:
    """An optimizer by name (``"adam"``, ``"sgd"``, ...) with keyword hyperparameters."""
    if isinstance(spec, Optimizer):
        return spec
    try:
        return OPTIMIZERS[spec.lower()](**kw)
    except KeyError:
        raise ValueError(f"unknown optimizer {spec!r}; known: {', '.join(OPTIMIZERS)}") from None


class LRSchedule:
    """Sets ``optimizer.lr`` from the epoch count: call :meth:`step` once per epoch."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self) -> float:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr


class StepLR(LRSchedule):
    """lr = base * gamma ** (epoch // step_size).

    >>> opt = SGD(lr=1.0); s = StepLR(opt, step_size=2, gamma=0.5)
    >>> [s.step() for _ in range(4)]
    [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(LRSchedule):
    """lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch: int) -> float:
        t = min(epoch, self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (
            1 + math.cos(math.pi * t / self.T_max)) / 2


__all__ = ["Adagrad", "Adam", "CosineLR", "LRSchedule", "OPTIMIZERS", "Optimizer", "RMSprop",
           "SGD", "StepLR", "make"]
