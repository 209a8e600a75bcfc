"""The ``graphnn`` command line (installed as the ``graphnn_cli`` package)."""
