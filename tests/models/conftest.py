# Model files for the CLI tests: some are broken on purpose, so pytest must not import them.
collect_ignore_glob = ["*.py"]
