"""Plots (matplotlib, an optional extra: ``pip install "graphnn[plot]"``): training and
validation curves, 2-D decision boundaries, activation curves. Files are PNG, SVG or PDF
by suffix; figures use the non-interactive Agg backend and are closed after saving.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError('plots need matplotlib: pip install "graphnn[plot]" '
                          "(or pip install matplotlib)") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        _plt()
    except ImportError:
        return False
    return True


def _save(fig: Any, path: str | os.PathLike[str]) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    _plt().close(fig)
    return path


def plot_history(history: Any, path: str | os.PathLike[str]) -> str:
    """Training vs validation loss (and accuracy when recorded) per epoch."""
    plt = _plt()
    acc = bool(history.train_acc or history.val_acc)
    fig, axes = plt.subplots(1, 2 if acc else 1, figsize=(9 if acc else 5, 3.5))
    axes = np.atleast_1d(axes)
    ep = np.arange(1, len(history.train_loss) + 1)
    axes[0].plot(ep, history.train_loss, label="training")
    if history.val_loss:
        axes[0].plot(ep[:len(history.val_loss)], history.val_loss, label="validation")
    axes[0].set(xlabel="epoch", ylabel="loss", title="loss")
    axes[0].legend()
    if acc:
        if history.train_acc:
            axes[1].plot(ep[:len(history.train_acc)], history.train_acc, label="training")
        if history.val_acc:
            axes[1].plot(ep[:len(history.val_acc)], history.val_acc, label="validation")
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
        axes[1].legend()
    return _save(fig, path)


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                           y: np.ndarray, path: str | os.PathLike[str], steps: int = 150,
                           title: str = "") -> str:
    """Colour the plane by ``predict(points)`` (class scores or labels) and scatter ``X``."""
    plt = _plt()
    lo, hi = X.min(0) - 0.5, X.max(0) + 0.5
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    out = np.asarray(predict(np.c_[xx.ravel(), yy.ravel()]))
    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(1)
    elif out.ndim == 2:
        out = out[:, 0]
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.contourf(xx, yy, out.reshape(xx.shape), alpha=0.35, cmap="coolwarm")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=12, edgecolors="k", linewidths=0.3)
    ax.set(title=title or "decision boundary")
    return _save(fig, path)


def plot_curves(xs: np.ndarray, curves: dict[str, np.ndarray], path: str | os.PathLike[str],
                title: str = "", styles: Sequence[str] | None = None) -> str:
    """Several named y(x) curves on one axis (activations and their derivatives, boxes)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for k, (label, ys) in enumerate(curves.items()):
        ax.plot(xs, ys, styles[k] if styles else "-", label=label)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.legend(fontsize=8)
    ax.set(title=title)
    return _save(fig, path)


def plot_images(images: np.ndarray, path: str | os.PathLike[str],
                titles: Sequence[str] | None = None) -> str:
    """A row of grey images (feature maps, filter responses)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(images), figsize=(2.2 * len(images), 2.4))
    for k, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(images[k], cmap="gray")
        ax.set_axis_off()
        if titles:
            ax.set_title(titles[k], fontsize=8)
    return _save(fig, path)


__all__ = ["available", "plot_curves", "plot_decision_boundary", "plot_history", "plot_images"]
