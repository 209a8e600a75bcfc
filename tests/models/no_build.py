"""A model file that forgets to define build()."""

X = 1
