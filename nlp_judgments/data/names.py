"""The data formats by name, importable without loading any reader (the CLI offers them as choices).

``formats.FORMATS`` and ``formats.WRITABLE_FORMATS`` are these tuples, and the registries there
refuse to import if a reader or writer is missing from them or added without them.

Not here: the readers and writers (``formats/``).
"""

FORMATS = ("spans", "cail2021", "cail2022", "conll", "labelstudio", "marked", "datasets")
WRITABLE_FORMATS = ("spans", "cail2021", "conll", "labelstudio", "marked")
