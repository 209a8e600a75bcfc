"""build() fails with an ordinary Python error on line 6."""


def build():
    values = {}
    return values["missing"]
