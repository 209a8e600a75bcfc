"""Running graphs: the node-by-node interpreter (``gn.run``), reverse-mode autodiff
(``gn.grad``: Graph -> bigger Graph), forward mode (``gn.jvp``), Jacobians, and the
training runner. Imports only core, ops and (lazily, through core adapters) nothing above.
"""
