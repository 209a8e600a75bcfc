"""build() returns something that is not a graph."""


def build():
    return 42
