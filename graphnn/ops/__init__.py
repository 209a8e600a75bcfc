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
from graphnn.ops.conv import (  # noqa: F401
    conv1d,
    conv2d,
    conv2d_grad_input,
    conv2d_grad_weight,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
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
    cross_entropy,
    l1_loss,
    mse_loss,
    one_hot,
    squared_loss,
)
from graphnn.ops.pool import (  # noqa: F401
    avg_pool1d,
    avg_pool2d,
    avg_pool2d_grad,
    avg_pool3d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_pool2d_grad,
    max_pool2d_select,
    max_pool3d,
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
