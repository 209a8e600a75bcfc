"""A model file with a syntax error on line 5."""


def build():
    return (1 +
