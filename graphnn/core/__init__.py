"""Core IR: nodes, graphs, op records and shape rules."""

from graphnn.core import (
    ir,  # noqa: F401  (import ir before op: op refers to ir.Node)
    op,  # noqa: F401
)
