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


NO_INT_TARGETS = Unsupported(
    "ONNX NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss take integer labels, which "
    "from_onnx does not take as run-time tensors (graphnn imports floating-point inputs; "
    "integers only as static values)")


def _reduce(ex: Any, n: Any, v: str, weight: int | None = None) -> None:
    """The reduction of the per-element loss ``v``, times input ``weight`` when present."""
    if weight is not None and len(n.inputs) > weight:
        v = _tmp(ex, n, "Mul", [v, n.inputs[weight].name], "weighted")
    red = n.params.get("reduction", "mean")
    if red == "batchmean":
        batch = n.inputs[0].shape[0] if n.inputs[0].shape else 1
        total = _tmp(ex, n, "ReduceSum", [v], "total", keepdims=0)
        ex.emit("Div", [total, _num(ex, n, float(batch), "batch")], n.name)
        return
    op = {"mean": "ReduceMean", "sum": "ReduceSum"}.get(red)
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
    z, y = (i.name for i in n.inputs[:2])
    e = _tmp(ex, n, "Exp", [_tmp(ex, n, "Neg", [_tmp(ex, n, "Abs", [z], "abs")], "nabs")],
             "exp")
    softplus = _tmp(ex, n, "Log", [_tmp(ex, n, "Add", [_num(ex, n, 1.0, "one"), e], "onep")],
                    "log1p")
    if len(n.inputs) > 3:  # (1 - y) z + (1 + (pw - 1) y) softplus(-z)
        one, pw = _num(ex, n, 1.0, "one1"), n.inputs[3].name
        lw = _tmp(ex, n, "Add", [one, _tmp(ex, n, "Mul", [
            _tmp(ex, n, "Sub", [pw, one], "pwm1"), y], "pwy")], "lw")
        spn = _tmp(ex, n, "Add", [softplus, _tmp(ex, n, "Max", [
            _tmp(ex, n, "Neg", [z], "negz"), _num(ex, n, 0.0, "zero")], "relun")], "spn")
        a = _tmp(ex, n, "Mul", [_tmp(ex, n, "Sub", [one, y], "ny"), z], "nyz")
        _reduce(ex, n, _tmp(ex, n, "Add", [a, _tmp(ex, n, "Mul", [lw, spn], "lwsp")], "per"), 2)
        return
    relu = _tmp(ex, n, "Max", [z, _num(ex, n, 0.0, "zero")], "relu")
    zy = _tmp(ex, n, "Mul", [z, y], "zy")
    _reduce(ex, n, _tmp(ex, n, "Add", [_tmp(ex, n, "Sub", [relu, zy], "lin"), softplus],
                        "per"), 2)


def _clamped_log(ex: Any, n: Any, a: str, tag: str) -> str:
    tiny = _tmp(ex, n, "Max", [a, _num(ex, n, 1e-44, tag + "_tiny")], tag + "_floor")
    return _tmp(ex, n, "Max", [_tmp(ex, n, "Log", [tiny], tag + "_log"),
                               _num(ex, n, -100.0, tag + "_clamp")], tag)


def export_bce(ex: Any, n: Any) -> None:
    p, y = (i.name for i in n.inputs[:2])
    one = _num(ex, n, 1.0, "one")
    lp = _clamped_log(ex, n, p, "lp")
    lq = _clamped_log(ex, n, _tmp(ex, n, "Sub", [one, p], "q"), "lq")
    a = _tmp(ex, n, "Mul", [y, lp], "ylp")
    b = _tmp(ex, n, "Mul", [_tmp(ex, n, "Sub", [one, y], "ny"), lq], "nylq")
    _reduce(ex, n, _tmp(ex, n, "Neg", [_tmp(ex, n, "Add", [a, b], "sum")], "per"), 2)


def _one_hot_rows(ex: Any, n: Any, t: Any, classes: int, dtype: Any, out: str) -> str:
    """(t[..., None] == arange(classes)) cast to ``dtype``, written to tensor ``out``."""
    last = ex.const(n.name + "__last", np.array([-1], dtype=np.int64))
    col = _tmp(ex, n, "Unsqueeze", [t.name, last], "col")
    rng = ex.const(n.name + "__classes", np.arange(classes, dtype=t.dtype))
    hit = _tmp(ex, n, "Equal", [col, rng], "hit")
    return ex.emit("Cast", [hit], out, to=ex.elem(dtype))


def export_one_hot(ex: Any, n: Any) -> None:
    _one_hot_rows(ex, n, n.inputs[0], int(n.params["num_classes"]), n.dtype, n.name)


def _axis_const(ex: Any, n: Any, axis: int, tag: str) -> str:
    return ex.const(f"{n.name}__{tag}", np.array([axis], dtype=np.int64))


def _class_mask(ex: Any, n: Any, t: Any, w: Any, classes: int, ignore: int, eps: float,
                dtype: Any, tag: str, out: str | None = None) -> str:
    """nll_grad_mask's forward: smoothed one-hot rows of the kept targets along the class
    axis (1, or 0 for a 0-d target), times the class weights."""
    ax = 1 if t.ndim >= 1 else 0
    shape = [1] * (t.ndim + 1)
    shape[ax] = classes
    ign = ex.const(f"{n.name}__{tag}_ign", np.array(ignore, dtype=t.dtype))
    col = _tmp(ex, n, "Unsqueeze", [t.name, _axis_const(ex, n, ax, tag + "_ax")], tag + "_col")
    drop = _tmp(ex, n, "Equal", [col, ign], tag + "_drop")
    safe = _tmp(ex, n, "Where", [drop, ex.const(f"{n.name}__{tag}_zero", np.array(
        0, dtype=t.dtype)), col], tag + "_safe")
    rng = ex.const(f"{n.name}__{tag}_rng", np.arange(classes, dtype=t.dtype).reshape(shape))
    m = _tmp(ex, n, "Cast", [_tmp(ex, n, "Equal", [safe, rng], tag + "_hit")], tag + "_oh",
             to=ex.elem(dtype))
    if eps:
        m = _tmp(ex, n, "Add", [_tmp(ex, n, "Mul", [m, ex.const(
            f"{n.name}__{tag}_keep", np.array(1.0 - eps, dtype=dtype))], tag + "_sm"),
            ex.const(f"{n.name}__{tag}_eps", np.array(eps / classes, dtype=dtype))], tag + "_ls")
    if w is not None:
        wr = _tmp(ex, n, "Reshape", [w.name, ex.const(f"{n.name}__{tag}_wsh", np.array(
            shape, dtype=np.int64))], tag + "_wr")
        m = _tmp(ex, n, "Mul", [m, _tmp(ex, n, "Cast", [wr], tag + "_wc", to=ex.elem(dtype))],
                 tag + "_w")
    kept = _tmp(ex, n, "Cast", [_tmp(ex, n, "Not", [drop], tag + "_not")], tag + "_kept",
                to=ex.elem(dtype))
    if out is None:
        return _tmp(ex, n, "Mul", [m, kept], tag)
    return ex.emit("Mul", [m, kept], out)


def export_nll_grad_mask(ex: Any, n: Any) -> None:
    p = n.params
    _class_mask(ex, n, n.inputs[0], n.inputs[1] if len(n.inputs) > 1 else None,
                int(p["num_classes"]), int(p.get("ignore_index", -100)),
                float(p.get("label_smoothing", 0.0)), n.dtype, "mask", out=n.name)


def _onnx_reduction(n: Any) -> str:
    return n.params.get("reduction", "mean")


def export_nll(ex: Any, n: Any) -> None:
    """NegativeLogLikelihoodLoss (unbatched (C,) inputs get a batch axis of 1)."""
    z, t = n.inputs[:2]
    ins = [z.name, t.name] + [i.name for i in n.inputs[2:]]
    attrs = {"reduction": _onnx_reduction(n), "ignore_index": int(
        n.params.get("ignore_index", -100))}
    if z.ndim >= 2:
        ex.emit("NegativeLogLikelihoodLoss", ins, n.name, **attrs)
        return
    zero = _axis_const(ex, n, 0, "ax0")
    ins[0] = _tmp(ex, n, "Unsqueeze", [z.name, zero], "z1")
    ins[1] = _tmp(ex, n, "Unsqueeze", [t.name, zero], "t1")
    if attrs["reduction"] != "none":
        ex.emit("NegativeLogLikelihoodLoss", ins, n.name, **attrs)
        return
    r = _tmp(ex, n, "NegativeLogLikelihoodLoss", ins, "r1", **attrs)
    ex.emit("Squeeze", [r, zero], n.name)


def export_cross_entropy(ex: Any, n: Any) -> None:
    """SoftmaxCrossEntropyLoss for batched class indices without label smoothing; else
    LogSoftmax and the weighted sum -sum(M log softmax) of nll_grad_mask's M."""
    z, t = n.inputs[:2]
    w = n.inputs[2] if len(n.inputs) > 2 else None
    p = n.params
    ax = 1 if z.ndim >= 2 else 0
    c = z.shape[ax]
    eps = float(p.get("label_smoothing", 0.0))
    ignore = int(p.get("ignore_index", -100))
    red = _onnx_reduction(n)
    if t.ndim < z.ndim and z.ndim >= 2 and not eps:
        ins = [z.name, t.name] + ([w.name] if w is not None else [])
        ex.emit("SoftmaxCrossEntropyLoss", ins, n.name, reduction=red, ignore_index=ignore)
        return
    lsm = _tmp(ex, n, "LogSoftmax", [z.name], "lsm", axis=ax)
    if t.ndim < z.ndim:
        m = _class_mask(ex, n, t, w, c, ignore, eps, z.dtype, "m")
        den = None
        if red == "mean":
            base = _class_mask(ex, n, t, w, c, ignore, 0.0, z.dtype, "m0") if eps else m
            den = _tmp(ex, n, "ReduceSum", [base], "den", keepdims=0)
    else:
        m = t.name
        if eps:
            m = _tmp(ex, n, "Add", [_tmp(ex, n, "Mul", [m, _num(ex, n, 1.0 - eps, "keep")],
                                         "tk"), _num(ex, n, eps / c, "eps")], "ts")
        if w is not None:
            shape = [1] * z.ndim
            shape[ax] = c
            wr = _tmp(ex, n, "Reshape", [w.name, ex.const(f"{n.name}__wsh", np.array(
                shape, dtype=np.int64))], "wr")
            m = _tmp(ex, n, "Mul", [m, wr], "tw")
        den = None
    s = _tmp(ex, n, "ReduceSum", [_tmp(ex, n, "Mul", [m, lsm], "tl"),
                                  _axis_const(ex, n, ax, "axes")], "rowsum", keepdims=0)
    per = _tmp(ex, n, "Neg", [s], "per")
    if den is not None:
        total = _tmp(ex, n, "ReduceSum", [per], "total", keepdims=0)
        ex.emit("Div", [total, den], n.name)
    else:
        _reduce(ex, n, per)


def _where_small(ex: Any, n: Any, a: str, c: float, small: str, big: str) -> None:
    less = _tmp(ex, n, "Less", [a, _num(ex, n, c, "cut")], "less")
    _reduce(ex, n, _tmp(ex, n, "Where", [less, small, big], "per"))


def export_huber(ex: Any, n: Any) -> None:
    p, t = (i.name for i in n.inputs)
    dl = float(n.params.get("delta", 1.0))
    a = _tmp(ex, n, "Abs", [_tmp(ex, n, "Sub", [p, t], "diff")], "abs")
    quad = _tmp(ex, n, "Mul", [_tmp(ex, n, "Mul", [a, a], "sq"), _num(ex, n, 0.5, "half")],
                "quad")
    lin = _tmp(ex, n, "Mul", [_tmp(ex, n, "Sub", [a, _num(ex, n, dl / 2, "hd")], "sh"),
                              _num(ex, n, dl, "delta")], "lin")
    _where_small(ex, n, a, dl, quad, lin)


def export_smooth_l1(ex: Any, n: Any) -> None:
    p, t = (i.name for i in n.inputs)
    beta = float(n.params.get("beta", 1.0))
    a = _tmp(ex, n, "Abs", [_tmp(ex, n, "Sub", [p, t], "diff")], "abs")
    if beta == 0:
        _reduce(ex, n, a)
        return
    quad = _tmp(ex, n, "Mul", [_tmp(ex, n, "Mul", [a, a], "sq"),
                               _num(ex, n, 0.5 / beta, "half")], "quad")
    lin = _tmp(ex, n, "Sub", [a, _num(ex, n, beta / 2, "hb")], "lin")
    _where_small(ex, n, a, beta, quad, lin)


def export_kl_div(ex: Any, n: Any) -> None:
    x, t = (i.name for i in n.inputs)
    tx = _tmp(ex, n, "Mul", [t, x], "tx")
    if n.params.get("log_target", False):
        per = _tmp(ex, n, "Mul", [_tmp(ex, n, "Exp", [t], "et"),
                                  _tmp(ex, n, "Sub", [t, x], "tmx")], "per")
    else:
        zero = _tmp(ex, n, "Equal", [t, _num(ex, n, 0.0, "zero")], "isz")
        safe = _tmp(ex, n, "Where", [zero, _num(ex, n, 1.0, "one"), t], "safe")
        tlt = _tmp(ex, n, "Where", [zero, _num(ex, n, 0.0, "z2"), _tmp(ex, n, "Mul", [
            t, _tmp(ex, n, "Log", [safe], "log")], "tl")], "xlogy")
        per = _tmp(ex, n, "Sub", [tlt, tx], "per")
    _reduce(ex, n, per)


def export_margin_ranking(ex: Any, n: Any) -> None:
    a, b, y = (i.name for i in n.inputs)
    v = _tmp(ex, n, "Add", [_tmp(ex, n, "Neg", [_tmp(ex, n, "Mul", [
        y, _tmp(ex, n, "Sub", [a, b], "diff")], "yd")], "nyd"),
        _num(ex, n, float(n.params.get("margin", 0.0)), "margin")], "v")
    _reduce(ex, n, _tmp(ex, n, "Max", [v, _num(ex, n, 0.0, "zero")], "per"))


def export_cosine_similarity(ex: Any, n: Any) -> None:
    shape = tuple(np.broadcast_shapes(n.inputs[0].shape, n.inputs[1].shape))
    nd = max(len(shape), 1)
    d = int(n.params.get("dim", 1)) % nd
    full = ex.const(n.name + "__shape", np.array(shape or (1,), dtype=np.int64))
    a, b = (_tmp(ex, n, "Expand", [i.name, full], f"x{k}") for k, i in enumerate(n.inputs))
    axes = _axis_const(ex, n, d, "axes")
    eps = _num(ex, n, float(n.params.get("eps", 1e-8)), "eps")

    def unit(x: str, tag: str) -> str:
        sq = _tmp(ex, n, "ReduceSum", [_tmp(ex, n, "Mul", [x, x], tag + "_sq"), axes],
                  tag + "_ss", keepdims=1)
        c = _tmp(ex, n, "Max", [_tmp(ex, n, "Sqrt", [sq], tag + "_norm"), eps], tag + "_c")
        return _tmp(ex, n, "Div", [x, c], tag + "_u")
    prod = _tmp(ex, n, "Mul", [unit(a, "a"), unit(b, "b")], "prod")
    ex.emit("ReduceSum", [prod, axes], n.name, keepdims=0)
