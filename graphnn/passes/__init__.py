"""Passes over the graph: interpret, autodiff (reverse), forward (jvp), ..."""
