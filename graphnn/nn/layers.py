"""Layers with PyTorch-style constructors; calling one on a node adds its nodes.

>>> import graphnn as gn
>>> conv = gn.nn.Conv2d(3, 6, 5)
>>> conv.num_params()          # a 5x5x3 filter has 76 parameters; six of them
456
>>> gn.nn.Conv2d(3, 6, 5).summary((3, 32, 32)).rows[0][2]
(6, 28, 28)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphnn import ops as gn
from graphnn.core.errors import ShapeError
from graphnn.core.ir import Node
from graphnn.nn import init as I
from graphnn.nn.module import Module, Sequential, graph_state


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features); a 1-D input gives
    W x + b (the lectures' column form). Init: U(-c, c), c = 1/sqrt(in_features)."""

    kind = "fc"

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str | I.Init = "lecun", name: str | None = None) -> None:
        super().__init__(name)
        self.in_features, self.out_features, self.bias = in_features, out_features, bias
        self.declare("weight", (out_features, in_features), init)
        if bias:
            fi = in_features
            self.declare("bias", (out_features,), lambda s, r: I.lecun_uniform(s, r, fi))

    def forward(self, x: Node, train: bool) -> Node:
        w = self.param(x.graph, "weight")
        y = w @ x if x.ndim == 1 else x @ w.T
        return y + self.param(x.graph, "bias") if self.bias else y

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias}"


def _tuple(v: Any, nd: int) -> tuple[int, ...]:
    return (int(v),) * nd if isinstance(v, int) else tuple(int(e) for e in v)


class _ConvNd(Module):
    """Shared by Conv1d/2d/3d: weights (out, in/groups, *k), gn.conv{nd}d."""

    kind = "conv"
    nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 init: str | I.Init = "lecun", name: str | None = None) -> None:
        super().__init__(name)
        cls = type(self).__name__
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{cls}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        nd = self.nd
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _tuple(kernel_size, nd), _tuple(stride, nd)
        self.padding, self.dilation = _tuple(padding, nd), _tuple(dilation, nd)
        self.bias = bias
        self.declare("weight", self._weight_shape(), init)
        if bias:
            fi = self._fan_in()
            self.declare("bias", (out_channels,), lambda s, r: I.lecun_uniform(s, r, fi))

    def _weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def _fan_in(self) -> int:
        k = 1
        for e in self.kernel_size:
            k *= e
        return self.in_channels // self.groups * k

    def forward(self, x: Node, train: bool) -> Node:
        b = self.param(x.graph, "bias") if self.bias else None
        return getattr(gn, f"conv{self.nd}d")(
            x, self.param(x.graph, "weight"), b, stride=self.stride, padding=self.padding,
            dilation=self.dilation, groups=self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, groups={self.groups}")


class Conv1d(_ConvNd):
    """1-D convolution (N, C, L) with weights (out, in/groups, k): gn.conv1d."""

    nd = 1


class Conv2d(_ConvNd):
    """2-D convolution (NCHW) with weights (out, in/groups, kh, kw): gn.conv2d."""

    nd = 2


class Conv3d(_ConvNd):
    """3-D convolution (N, C, D, H, W) with weights (out, in/groups, kd, kh, kw):
    gn.conv3d."""

    nd = 3


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution with weights (in, out/groups, kh, kw):
    gn.conv_transpose2d (output_padding < stride)."""

    nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, init: str | I.Init = "lecun",
                 name: str | None = None) -> None:
        self.output_padding = _tuple(output_padding, 2)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, init, name)

    def _weight_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_channels // self.groups) + self.kernel_size

    def _fan_in(self) -> int:
        k = 1
        for e in self.kernel_size:
            k *= e
        return self.out_channels // self.groups * k

    def forward(self, x: Node, train: bool) -> Node:
        b = self.param(x.graph, "bias") if self.bias else None
        return gn.conv_transpose2d(x, self.param(x.graph, "weight"), b, self.stride,
                                   self.padding, self.output_padding, self.groups,
                                   self.dilation)


class MaxPool2d(Module):
    """Max pooling (no parameters); stride defaults to kernel_size."""

    kind = "pool"
    nd = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, ceil_mode: bool = False, name: str | None = None) -> None:
        super().__init__(name)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x: Node, train: bool) -> Node:
        return getattr(gn, f"max_pool{self.nd}d")(x, self.kernel_size, self.stride,
                                                  self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool1d(MaxPool2d):
    """1-D max pooling (N, C, L); stride defaults to kernel_size."""

    nd = 1


class MaxPool3d(MaxPool2d):
    """3-D max pooling (N, C, D, H, W); stride defaults to kernel_size."""

    nd = 3


class AvgPool2d(MaxPool2d):
    """Average pooling (no parameters); stride defaults to kernel_size."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None, name: str | None = None) -> None:
        super().__init__(kernel_size, stride, padding, 1, ceil_mode, name)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Node, train: bool) -> Node:
        extra = () if self.nd == 1 else (self.divisor_override,)
        return getattr(gn, f"avg_pool{self.nd}d")(x, self.kernel_size, self.stride,
                                                  self.padding, self.ceil_mode,
                                                  self.count_include_pad, *extra)


class AvgPool1d(AvgPool2d):
    """1-D average pooling (N, C, L); stride defaults to kernel_size."""

    nd = 1


class AvgPool3d(AvgPool2d):
    """3-D average pooling (N, C, D, H, W); stride defaults to kernel_size."""

    nd = 3


class AdaptiveAvgPool2d(Module):
    """Adaptive average pooling to ``output_size`` (an int, or a tuple whose None entries
    keep that axis), PyTorch's nn.AdaptiveAvgPool2d (no parameters).

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     gn.nn.AdaptiveAvgPool2d((1, None))(gn.input("x", (2, 3, 5, 7))).shape
    (2, 3, 1, 7)
    """

    kind = "pool"
    nd = 2
    fn = "adaptive_avg_pool"

    def __init__(self, output_size: Any, name: str | None = None) -> None:
        super().__init__(name)
        self.output_size = output_size

    def forward(self, x: Node, train: bool) -> Node:
        return getattr(gn, f"{self.fn}{self.nd}d")(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """1-D adaptive average pooling (N, C, L)."""

    nd = 1


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """3-D adaptive average pooling (N, C, D, H, W)."""

    nd = 3


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """Adaptive max pooling, PyTorch's nn.AdaptiveMaxPool2d; with ``return_indices`` the
    layer returns (values, indices)."""

    fn = "adaptive_max_pool"

    def __init__(self, output_size: Any, return_indices: bool = False,
                 name: str | None = None) -> None:
        super().__init__(output_size, name)
        self.return_indices = return_indices

    def forward(self, x: Node, train: bool) -> Any:
        return getattr(gn, f"{self.fn}{self.nd}d")(x, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """1-D adaptive max pooling (N, C, L)."""

    nd = 1


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """3-D adaptive max pooling (N, C, D, H, W)."""

    nd = 3


class Upsample(Module):
    """PyTorch's nn.Upsample: ``interpolate`` with fixed ``size`` or ``scale_factor``,
    ``mode`` (nearest, nearest-exact, linear, bilinear, trilinear) and ``align_corners``.

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     gn.nn.Upsample(scale_factor=2, mode="bilinear")(gn.input("x", (1, 3, 4, 5))).shape
    (1, 3, 8, 10)
    """

    kind = "up"

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.size, self.scale_factor = size, scale_factor
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x: Node, train: bool) -> Node:
        return gn.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        what = (f"size={self.size}" if self.size is not None
                else f"scale_factor={self.scale_factor}")
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """PyTorch's nn.UpsamplingNearest2d: nearest upsampling of an NCHW input."""

    def __init__(self, size: Any = None, scale_factor: Any = None,
                 name: str | None = None) -> None:
        super().__init__(size, scale_factor, "nearest", None, name)


class UpsamplingBilinear2d(Upsample):
    """PyTorch's nn.UpsamplingBilinear2d: bilinear with ``align_corners=True``."""

    def __init__(self, size: Any = None, scale_factor: Any = None,
                 name: str | None = None) -> None:
        super().__init__(size, scale_factor, "bilinear", True, name)


class Flatten(Module):
    """Flatten dims start_dim..end_dim (default: all but the batch axis)."""

    kind = "flat"

    def __init__(self, start_dim: int = 1, end_dim: int = -1, name: str | None = None) -> None:
        super().__init__(name)
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Node, train: bool) -> Node:
        return gn.flatten(x, self.start_dim, self.end_dim)


class _Act(Module):
    kind = "act"
    fn: Callable[..., Node] = staticmethod(gn.relu)

    def forward(self, x: Node, train: bool) -> Node:
        return type(self).fn(x)


class Activation(Module):
    """Any unary elementwise op as a layer, by its op name (``Activation("erf")``): the
    layer MLP builds for an activation name that has no dedicated class.

    >>> import graphnn as gn
    >>> gn.nn.MLP([2, 3, 1], activation="sin").layers[1][1]
    Activation('sin')
    """

    kind = "act"

    def __init__(self, op: str, name: str | None = None, **params: Any) -> None:
        from graphnn.core.op import FUNCTIONS, REGISTRY

        rec = REGISTRY.get(op)
        if rec is None or not rec.elementwise or op not in FUNCTIONS:
            known = sorted(n for n, r in REGISTRY.items() if r.elementwise and n in FUNCTIONS)
            raise ValueError(f"activation {op!r} is not a registered elementwise op "
                             f"function; known: {', '.join(known)}")
        super().__init__(name)
        self.op, self.params = op, params
        FUNCTIONS[op](0.0, **params)  # bad parameters fail here, not at the first call

    def forward(self, x: Node, train: bool) -> Node:
        from graphnn.core.op import FUNCTIONS

        return FUNCTIONS[self.op](x, **self.params)

    def __repr__(self) -> str:
        args = [repr(self.op)] + [f"{k}={v!r}" for k, v in self.params.items()]
        return f"Activation({', '.join(args)})"


class _OpLayer(Activation):
    """A PyTorch activation layer over one elementwise op: ``op`` names it, ``defaults``
    are its parameters in PyTorch's order (passed positionally or by keyword)."""

    op_name = ""
    defaults: dict[str, Any] = {}

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        cls = type(self).__name__
        if len(args) > len(self.defaults):
            raise TypeError(f"{cls} takes at most {len(self.defaults)} arguments "
                            f"({', '.join(self.defaults) or 'none'}), got {len(args)}")
        unknown = sorted(set(kwargs) - set(self.defaults))
        if unknown:
            raise TypeError(f"{cls}: unexpected argument(s) {unknown}; it takes "
                            f"{list(self.defaults) or 'none'}")
        params = {**self.defaults, **dict(zip(self.defaults, args)), **kwargs}
        super().__init__(self.op_name, name, **params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


class GELU(_OpLayer):
    """x Φ(x) (approximate="tanh": the tanh form): gn.gelu."""
    op_name, defaults = "gelu", {"approximate": "none"}


class SiLU(_OpLayer):
    """x σ(x): gn.silu."""
    op_name = "silu"


class Softplus(_OpLayer):
    """log(1 + e^(beta x)) / beta, linear above threshold: gn.softplus."""
    op_name, defaults = "softplus", {"beta": 1.0, "threshold": 20.0}


class Mish(_OpLayer):
    """x tanh(softplus(x)): gn.mish."""
    op_name = "mish"


class Hardtanh(_OpLayer):
    """x clipped to [min_val, max_val]: gn.hardtanh."""
    op_name, defaults = "hardtanh", {"min_val": -1.0, "max_val": 1.0}


class ReLU6(_OpLayer):
    """min(max(x, 0), 6): gn.relu6."""
    op_name = "relu6"


class Hardsigmoid(_OpLayer):
    """relu6(x + 3) / 6: gn.hardsigmoid."""
    op_name = "hardsigmoid"


class Hardswish(_OpLayer):
    """x relu6(x + 3) / 6: gn.hardswish."""
    op_name = "hardswish"


class SELU(_OpLayer):
    """scale elu(x, alpha) with PyTorch's constants: gn.selu."""
    op_name = "selu"


class CELU(_OpLayer):
    """x if x > 0 else alpha (e^(x/alpha) - 1): gn.celu."""
    op_name, defaults = "celu", {"alpha": 1.0}


class Softsign(_OpLayer):
    """x / (1 + |x|): gn.softsign."""
    op_name = "softsign"


class LogSigmoid(_OpLayer):
    """log σ(x), stable: gn.logsigmoid."""
    op_name = "logsigmoid"


class ReLU(_Act):
    """max(0, z)."""
    fn = staticmethod(gn.relu)


class Sigmoid(_Act):
    """1 / (1 + e^-z)."""
    fn = staticmethod(gn.sigmoid)


class Tanh(_Act):
    """tanh z."""
    fn = staticmethod(gn.tanh)


class LeakyReLU(Module):
    """max(slope z, z) (the lectures use slope 0.1; PyTorch's default is 0.01)."""

    kind = "act"

    def __init__(self, negative_slope: float = 0.01, name: str | None = None) -> None:
        super().__init__(name)
        self.negative_slope = negative_slope

    def forward(self, x: Node, train: bool) -> Node:
        return gn.leaky_relu(x, self.negative_slope)


class ELU(Module):
    """z if z > 0 else alpha (e^z - 1)."""

    kind = "act"

    def __init__(self, alpha: float = 1.0, name: str | None = None) -> None:
        super().__init__(name)
        self.alpha = alpha

    def forward(self, x: Node, train: bool) -> Node:
        return gn.elu(x, self.alpha)


class PReLU(Module):
    """max(a z, z) with a learnable slope ``a`` (one, or one per channel: axis 1)."""

    kind = "act"

    def __init__(self, num_parameters: int = 1, init: float = 0.25,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.num_parameters = num_parameters
        self.declare("weight", (num_parameters,), I.constant(init))

    def forward(self, x: Node, train: bool) -> Node:
        a = self.param(x.graph, "weight")
        if self.num_parameters > 1 and x.ndim > 2:
            a = a.reshape((self.num_parameters,) + (1,) * (x.ndim - 2))
        return gn.prelu(x, a)


class Softmax(Module):
    """exp(z_k) / sum_j exp(z_j) along ``dim``."""

    kind = "softmax"

    def __init__(self, dim: int = -1, name: str | None = None) -> None:
        super().__init__(name)
        self.dim = dim

    def forward(self, x: Node, train: bool) -> Node:
        return gn.softmax(x, self.dim)


class Dropout(Module):
    """Inverted dropout. Training mode builds ``x * mask`` where ``mask`` is an INPUT of
    the graph (named ``<path>.mask``) holding 0 or 1/(1-p), drawn per step by the training
    loop from a seeded generator (``gn.nn.random_feeds``); evaluation mode is the identity.
    """

    kind = "drop"

    def __init__(self, p: float = 0.5, name: str | None = None) -> None:
        super().__init__(name)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p_drop = p

    def forward(self, x: Node, train: bool) -> Node:
        if not train or self.p_drop == 0.0:
            return x
        g = x.graph
        base = f"{self.path}.mask"
        name, k = base, 1
        while name in g:
            k += 1
            name = f"{base}_{k}"
        mask = g.input(name, x.shape, x.dtype)
        graph_state(g).masks.append((mask, self.p_drop))
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p_drop}"


class _BatchNorm(Module):
    kind = "bn"
    axes: tuple[int, ...] = (0,)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, name: str | None = None) -> None:
        super().__init__(name)
        self.num_features, self.eps, self.momentum, self.affine = (
            num_features, eps, momentum, affine)
        if affine:
            self.declare("weight", (num_features,), "ones")
            self.declare("bias", (num_features,), "zeros")
        self.declare("running_mean", (num_features,), "zeros", trainable=False)
        self.declare("running_var", (num_features,), "ones", trainable=False)

    def forward(self, x: Node, train: bool) -> Node:
        g = x.graph
        bshape = tuple(self.num_features if i == 1 else 1 for i in range(x.ndim))
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}({self.num_features}) at "
                                f"'{self.path}': input shape {x.shape} has no channel axis "
                                f"1 of size {self.num_features}", node=x)
        axes = (0,) + tuple(range(2, x.ndim))
        if train:
            mean = gn.mean(x, axis=axes, keepdims=True)
            xc = x - mean
            var = gn.mean(xc * xc, axis=axes, keepdims=True)
            count = x.size // self.num_features
            graph_state(g).stats.append((self, mean, var, count))
            xhat = xc / gn.sqrt(var + self.eps)
        else:
            rm = self.param(g, "running_mean").reshape(bshape)
            rv = self.param(g, "running_var").reshape(bshape)
            xhat = (x - rm) / gn.sqrt(rv + self.eps)
        if not self.affine:
            return xhat
        gamma, beta = self.param(g, "weight"), self.param(g, "bias")
        return xhat * gamma.reshape(bshape) + beta.reshape(bshape)

    def update_running(self, mean: Any, var: Any, count: int) -> None:
        """running <- (1 - momentum) running + momentum batch (variance unbiased, as torch)."""
        m = self.momentum
        rm, rv = self._array("running_mean"), self._array("running_var")
        rm *= 1.0 - m
        rm += m * mean
        rv *= 1.0 - m
        rv += m * var * (count / max(count - 1, 1))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over the batch axis of (N, C) or (N, C, L) inputs."""


class BatchNorm2d(_BatchNorm):
    """Batch normalisation per channel of NCHW inputs (over N, H, W)."""


BatchNorm = BatchNorm2d

_ACTS: dict[str, type[Module]] = {
    "relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "leaky_relu": LeakyReLU, "elu": ELU,
    "prelu": PReLU,
}


class MLP(Sequential):
    """Fully connected layers ``sizes[0] -> sizes[1] -> ...`` with ``activation``
    between them (a name, a Module class, or None) and optional ``out_activation``.

    >>> import graphnn as gn
    >>> gn.nn.MLP([3, 4, 4, 1], activation="sigmoid").num_params()   # 16 + 20 + 5
    41
    """

    def __init__(self, sizes: list[int], activation: str | type[Module] | None = "relu",
                 out_activation: str | type[Module] | None = None, bias: bool = True,
                 init: str | I.Init = "lecun", seed: int | None = None,
                 name: str | None = None) -> None:
        if len(sizes) < 2:
            raise ValueError("MLP needs at least an input and an output size")

        def act(a: Any) -> Module | None:
            if a is None:
                return None
            if isinstance(a, str) and a not in _ACTS:
                return Activation(a)  # any other elementwise op record, by name
            cls = _ACTS[a] if isinstance(a, str) else a
            return cls()

        layers: list[Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(a, b, bias=bias, init=init))
            last = i == len(sizes) - 2
            m = act(out_activation if last else activation)
            if m is not None:
                layers.append(m)
        super().__init__(*layers, seed=seed, name=name)
