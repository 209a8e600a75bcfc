"""Layers (``gn.nn``): modules that add their nodes to a graph when called on a node.

>>> import graphnn as gn
>>> model = gn.nn.MLP([2, 8, 2], activation="tanh", seed=0)
>>> with gn.Graph() as g:
...     logits = model(gn.input("x", shape=(32, 2)))
>>> logits.shape
(32, 2)
"""

from graphnn.nn import init
from graphnn.nn.layers import (
    CELU,
    ELU,
    GELU,
    MLP,
    SELU,
    Activation,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    BatchNorm,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    Linear,
    LogSigmoid,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from graphnn.nn.models import alexnet, digit_classifier, lenet
from graphnn.nn.module import (
    GraphState,
    Module,
    Sequential,
    Summary,
    graph_state,
    manual_seed,
    random_feeds,
    state_outputs,
    trainable_params,
    update_state,
)
from graphnn.nn.nets import (
    GLU,
    Embedding,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LayerNorm,
    MultiheadAttention,
)

__all__ = [
    "ELU", "MLP", "Activation", "AvgPool1d", "AvgPool2d", "AvgPool3d", "BatchNorm",
    "BatchNorm1d", "BatchNorm2d",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "Dropout", "MaxPool1d", "MaxPool3d",
    "Flatten", "GraphState", "LeakyReLU", "Linear", "MaxPool2d", "Module", "PReLU", "ReLU",
    "Sequential", "Sigmoid", "Softmax", "Summary", "Tanh", "alexnet", "digit_classifier",
    "graph_state", "init", "lenet", "manual_seed", "random_feeds", "state_outputs",
    "trainable_params",
    "update_state",
    # issue 12: PyTorch's other activations
    "CELU", "GELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid", "Mish", "ReLU6",
    "SELU", "SiLU", "Softplus", "Softsign",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Upsample", "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
    # issue 12: network layers
    "Embedding", "GLU", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LayerNorm", "MultiheadAttention",
]
