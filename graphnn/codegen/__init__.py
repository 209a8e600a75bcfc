"""Code generation: compile graphs (forward + backward) to standalone NumPy / CuPy source."""
