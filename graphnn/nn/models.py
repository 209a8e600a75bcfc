"""The lectures' architectures: LeNet, the small batch-norm digit classifier, AlexNet.

All return logits (the softmax lives in ``gn.cross_entropy``) unless ``softmax=True``.

>>> import graphnn as gn
>>> s = gn.nn.alexnet().summary((3, 227, 227))
>>> s.total, s.hwc(s.rows[0][2])
(60965224, '55x55x96')
>>> gn.nn.alexnet(groups=False).num_params()
62378344
"""

from __future__ import annotations

from graphnn.nn.layers import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Softmax,
)
from graphnn.nn.module import Module, Sequential


def _tail(softmax: bool) -> list[Module]:
    return [Softmax()] if softmax else []


def lenet(in_channels: int = 1, size: int = 8, classes: int = 10, softmax: bool = False,
          seed: int | None = 0) -> Sequential:
    """conv-relu-pool, conv-relu-pool, two fully connected layers (LeNet's pattern) sized
    for ``size`` x ``size`` images (8 for scikit-learn's digits, 28 for MNIST)."""
    flat = 16 * (size // 4) ** 2
    return Sequential(
        Conv2d(in_channels, 6, 5, padding=2), ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 3, padding=1), ReLU(), MaxPool2d(2),
        Flatten(), Linear(flat, 84), ReLU(), Linear(84, classes), *_tail(softmax), seed=seed)


def digit_classifier(in_channels: int = 1, size: int = 8, classes: int = 10,
                     softmax: bool = False, seed: int | None = 0) -> Sequential:
    """The lectures' small classifier: conv 3x3x16 pad 1, batch norm, ReLU, max-pool 2
    stride 2, conv 3x3x32 pad 1, conv 3x3x64 pad 1, FC 50, FC 10, softmax (ReLUs
    after the later convolutions and FC 50, as the full lecture network has)."""
    half = size // 2
    return Sequential(
        Conv2d(in_channels, 16, 3, padding=1), BatchNorm2d(16), ReLU(), MaxPool2d(2, 2),
        Conv2d(16, 32, 3, padding=1), ReLU(), Conv2d(32, 64, 3, padding=1), ReLU(),
        Flatten(), Linear(64 * half * half, 50), ReLU(), Linear(50, classes),
        *_tail(softmax), seed=seed)


def alexnet(groups: bool = True, classes: int = 1000, softmax: bool = False,
            seed: int | None = 0) -> Sequential:
    """AlexNet on 227x227x3 (for its layer table; training it is not the point).

    ``groups=True`` is the original two-GPU network (conv2, conv4, conv5 see half the
    channels: 5x5x48, 3x3x192): 60,965,224 parameters; ``groups=False``: 62,378,344.
    """
    k = 2 if groups else 1
    return Sequential(
        Conv2d(3, 96, 11, stride=4), ReLU(), MaxPool2d(3, 2),
        Conv2d(96, 256, 5, padding=2, groups=k), ReLU(), MaxPool2d(3, 2),
        Conv2d(256, 384, 3, padding=1), ReLU(),
        Conv2d(384, 384, 3, padding=1, groups=k), ReLU(),
        Conv2d(384, 256, 3, padding=1, groups=k), ReLU(), MaxPool2d(3, 2),
        Flatten(), Dropout(0.5), Linear(256 * 6 * 6, 4096), ReLU(),
        Dropout(0.5), Linear(4096, 4096), ReLU(), Linear(4096, classes), *_tail(softmax),
        seed=seed)
