"""ONNX exporters of graphnn's losses and one_hot, which their records name in
``onnx=Onnx(export=...)`` (graphnn/ops/losses.py). They are spelled out with elementwise
ONNX ops (the default domain has no MSE, L1 or BCE operator, and its
SoftmaxCrossEntropyLoss takes only class indices), so training graphs export whole.

Each follows the op's forward helper in graphnn/ops/losses.py step by step; integer class
targets of cross_entropy become one-hot rows (Equal against a range, then Cast).

>>> import graphnn as gn
>>> gn.REGISTRY["mse_loss"].onnx.export is export_mse
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core.op import Unsupported

NO_LOSS_OP = Unsupported(
    "the default ONNX domain has no operator for this loss; the exported graph imports "
    "back as its elementwise ops and reductions")


def _reduce(ex: Any, n: Any, v: str) -> None:
    op = {"mean": "ReduceMean", "sum": "ReduceSum"}.get(n.params.get("reduction", "mean"))
    if op is None:
        ex.emit("Identity", [v], n.name)
    else:  # no axes input: reduce everything
        ex.emit(op, [v], n.name, keepdims=0)


def _tmp(ex: Any, n: Any, op: str, ins: list[str], tag: str, **attrs: Any) -> str:
    return ex.emit(op, ins, ex.name(f"{n.name}__{tag}"), **attrs)


def _num(ex: Any, n: Any, v: float, tag: str) -> str:
    return ex.const(f"{n.name}__{tag}", np.array(v, dtype=n.inputs[0].dtype))


def export_mse(ex: Any, n: Any) -> None:
    p, t = (i.name for i in n.inputs)
    d = _tmp(ex, n, "Sub", [p, t], "diff")
    _reduce(ex, n, _tmp(ex, n, "Mul", [d, d], "sq"))


def export_l1(ex: Any, n: Any) -> None:
    p, t = (i.name for i in n.inputs)
    d = _tmp(ex, n, "Sub", [p, t], "diff")
    _reduce(ex, n, _tmp(ex, n, "Abs", [d], "abs"))


def export_bce_with_logits(ex: Any, n: Any) -> None:
    z, y = (i.name for i in n.inputs)
    relu = _tmp(ex, n, "Max", [z, _num(ex, n, 0.0, "zero")], "relu")
    zy = _tmp(ex, n, "Mul", [z, y], "zy")
    e = _tmp(ex, n, "Exp", [_tmp(ex, n, "Neg", [_tmp(ex, n, "Abs", [z], "abs")], "nabs")],
             "exp")
    softplus = _tmp(ex, n, "Log", [_tmp(ex, n, "Add", [_num(ex, n, 1.0, "one"), e], "onep")],
                    "log1p")
    _reduce(ex, n, _tmp(ex, n, "Add", [_tmp(ex, n, "Sub", [relu, zy], "lin"), softplus],
                        "per"))


def _clamped_log(ex: Any, n: Any, a: str, tag: str) -> str:
    tiny = _tmp(ex, n, "Max", [a, _num(ex, n, 1e-44, tag + "_tiny")], tag + "_floor")
    return _tmp(ex, n, "Max", [_tmp(ex, n, "Log", [tiny], tag + "_log"),
                               _num(ex, n, -100.0, tag + "_clamp")], tag)


def export_bce(ex: Any, n: Any) -> None:
    p, y = (i.name for i in n.inputs)
    one = _num(ex, n, 1.0, "one")
    lp = _clamped_log(ex, n, p, "lp")
    lq = _clamped_log(ex, n, _tmp(ex, n, "Sub", [one, p], "q"), "lq")
    a = _tmp(ex, n, "Mul", [y, lp], "ylp")
    b = _tmp(ex, n, "Mul", [_tmp(ex, n, "Sub", [one, y], "ny"), lq], "nylq")
    _reduce(ex, n, _tmp(ex, n, "Neg", [_tmp(ex, n, "Add", [a, b], "sum")], "per"))


def _one_hot_rows(ex: Any, n: Any, t: Any, classes: int, dtype: Any, out: str) -> str:
    """(t[..., None] == arange(classes)) cast to ``dtype``, written to tensor ``out``."""
    last = ex.const(n.name + "__last", np.array([-1], dtype=np.int64))
    col = _tmp(ex, n, "Unsqueeze", [t.name, last], "col")
    rng = ex.const(n.name + "__classes", np.arange(classes, dtype=t.dtype))
    hit = _tmp(ex, n, "Equal", [col, rng], "hit")
    return ex.emit("Cast", [hit], out, to=ex.elem(dtype))


def export_one_hot(ex: Any, n: Any) -> None:
    _one_hot_rows(ex, n, n.inputs[0], int(n.params["num_classes"]), n.dtype, n.name)


def export_cross_entropy(ex: Any, n: Any) -> None:
    z, t = n.inputs
    lsm = _tmp(ex, n, "LogSoftmax", [z.name], "lsm", axis=-1)
    target = t.name
    if t.ndim != z.ndim:  # class indices -> one-hot rows
        target = _one_hot_rows(ex, n, t, z.shape[-1], z.dtype, ex.name(n.name + "__onehot"))
    axes = ex.const(n.name + "__axes", np.array([-1], dtype=np.int64))
    s = _tmp(ex, n, "ReduceSum", [_tmp(ex, n, "Mul", [target, lsm], "tl"), axes], "rowsum",
             keepdims=0)
    _reduce(ex, n, _tmp(ex, n, "Neg", [s], "per"))

