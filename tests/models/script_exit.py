"""A script, not a model file: it parses arguments and exits at import."""

import argparse

argparse.ArgumentParser().parse_args(["--bogus"])
