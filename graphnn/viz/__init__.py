"""Drawing graphs: DOT text (dot.py), engines (engine.py), ``gn.render`` (draw.py),
text printer (text.py) and step-through export (player.py).

Submodules are imported lazily by the functions that need them, so ``import graphnn``
does not pay for them.
"""
