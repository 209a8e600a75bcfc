"""Code generation: compile graphs to standalone NumPy / CuPy source."""
