"""A script, not a model file: it does its work and exits at import."""

import sys

print("doing script things")
sys.exit(3)
