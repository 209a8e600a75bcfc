"""build() adds a (3,) and a (4,) vector: a shape error naming this file."""

import graphnn as gn


def build():
    with gn.Graph("bad") as g:
        a = gn.input("a", shape=(3,))
        b = gn.input("b", shape=(4,))
        a + b
    return g
