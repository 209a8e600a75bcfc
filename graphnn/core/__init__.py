"""Core IR: op records and registry, nodes and graphs, bind, traversal, shape rules.

Core imports nothing above it (tests/test_layers.py checks): node operators reach the op
functions through ``op.FUNCTIONS`` and ``Graph.save`` / ``Graph.to_dot`` reach io and viz
through ``op.ADAPTERS``, tables that those packages fill when imported.
"""

from graphnn.core import bind, ir, op, traverse  # noqa: F401
