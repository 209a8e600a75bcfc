"""Teaching: step-through traces (``gn.trace``), their text/Markdown/LaTeX formatting,
local Jacobians, and sympy views of graphs and ops (``gn.to_sympy``, ``gn.formula``).
"""
