"""The op library. Every public op function lives in one of these modules, next to
the Op record that holds all of its rules.

>>> from graphnn import ops
>>> ops.add(1.0, 2.0)
np.float64(3.0)
"""

from graphnn.core.op import FUNCTIONS as _FUNCTIONS  # noqa: E402
from graphnn.ops.activations import (  # noqa: F401
    elu,
    leaky_relu,
    log_softmax,
    maxout,
    prelu,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from graphnn.ops.conv import conv2d, conv2d_grad_input, conv2d_grad_weight  # noqa: F401
from graphnn.ops.creation import (  # noqa: F401
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from graphnn.ops.elementwise import (  # noqa: F401
    abs,
    add,
    div,
    eq,
    exp,
    ge,
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
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_similarity,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    nll_loss,
    one_hot,
    smooth_l1_loss,
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
