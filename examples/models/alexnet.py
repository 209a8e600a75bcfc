"""AlexNet for the lectures' layer table (lecture 8): shapes and parameter counts only.

Try it:  graphnn summary examples/models/alexnet.py --hwc
(60,965,224 parameters with the original two groups; nothing is allocated or run.)
"""

import graphnn as gn

INPUT_SHAPE = (3, 227, 227)


def model() -> gn.nn.Module:
    """AlexNet with the original two-group convolutions and a softmax head."""
    return gn.nn.alexnet(groups=True, softmax=True)
