"""The op library. Every public op function lives in one of these modules, next to
the Op record that holds all of its rules.

>>> from graphnn import ops
>>> ops.add(1.0, 2.0)
np.float64(3.0)
"""

from graphnn.core.op import FUNCTIONS as _FUNCTIONS  # noqa: E402
from graphnn.ops.activations import (  # noqa: F401  # noqa: F401  (issue 12: PyTorch's other activations)
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    maxout,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    tanh,
)
from graphnn.ops.conv import conv2d, conv2d_grad_input, conv2d_grad_weight  # noqa: F401
from graphnn.ops.elementwise import (  # noqa: F401
    abs,
    add,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    sign,
    sqrt,
    step,
    sub,
)
from graphnn.ops.index import (  # noqa: F401
    clamp,
    clip,
    embedding,
    eq,
    gather,
    ge,
    getitem,
    getitem_grad,
    gt,
    index_add,
    index_select,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
    scatter_add,
    take,
    where,
)
from graphnn.ops.linalg import (  # noqa: F401
    broadcast_to,
    flatten,
    matmul,
    reshape,
    sum_to,
    transpose,
)
from graphnn.ops.losses import (  # noqa: F401
    bce_loss,
    bce_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    one_hot,
    squared_loss,
)
from graphnn.ops.pool import (  # noqa: F401
    avg_pool2d,
    avg_pool2d_grad,
    global_avg_pool2d,
    max_pool2d,
    max_pool2d_grad,
    max_pool2d_select,
)
from graphnn.ops.reduce import max, mean, sum  # noqa: F401
from graphnn.ops.shape import (  # noqa: F401
    cat,
    chunk,
    concatenate,
    expand,
    flip,
    moveaxis,
    movedim,
    narrow,
    pad,
    permute,
    repeat,
    roll,
    split,
    squeeze,
    stack,
    tile,
    tril,
    triu,
    unsqueeze,
)
from graphnn.ops.unary import (  # noqa: F401
    acos,
    asin,
    atan,
    ceil,
    cos,
    cosh,
    erf,
    exp2,
    expm1,
    floor,
    log1p,
    log2,
    log10,
    reciprocal,
    round,
    rsqrt,
    sin,
    sinh,
    square,
    tan,
    trunc,
)

# Node operators in core reach the op functions through this table.
_FUNCTIONS.update({k: v for k, v in dict(globals()).items()
                   if not k.startswith("_") and callable(v) and getattr(v, "__module__", "")
                   .startswith("graphnn.ops")})
