"""Which columns of a ``datasets`` table hold the text, the id and the entities: the ``columns`` setting.

A table is anything the ``datasets`` library loads from disk (Parquet, Arrow, CSV, JSON lines, a
``save_to_disk`` folder, a hub repository's folder of data files; see ``formats/hf_datasets.py``).
Its entities are either character spans (one column) or tokens with one tag each (two columns).
The defaults are the names our span JSONL uses and the names hub NER data sets use
(``tokens``, ``ner_tags``), so most tables need no setting at all.

This module stays outside ``formats/`` and imports nothing heavy, so that the training config can
hold a :class:`Columns` without loading ``datasets``. :func:`column_pairs` reads the commands'
``--columns tokens=words,tags=labels``.

Not here: reading the table (``formats/hf_datasets.py``), which split of it to read (the ``split``
settings beside ``columns`` in ``training.config``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass
class Columns:
    # The document text. Token/tag tables may lack it: the text is then the tokens joined (`joiner`).
    text: str | None = "text"
    # The document id; None or a missing column: "{file or folder name}-{row index}".
    id: str | None = "id"
    # Character spans, end exclusive: a list of {start, end, label} (our JSONL's "entities"), of
    # [start, end, label] triples, or {start: [...], end: [...], label: [...]} (a datasets Sequence of
    # a dict); labels may be ClassLabel ids. Read in preference to tokens and tags when both exist:
    # offsets are exact, token alignment is not. None = the table has token/tag data only.
    spans: str | None = "entities"
    # Token/tag data: a list of token strings, and one tag per token, either BIO/BIOES strings or
    # ids of a ClassLabel feature whose names are those strings. None (both) = spans only.
    tokens: str | None = "tokens"
    tags: str | None = "ner_tags"
    # What joins the tokens into a text when there is no text column. None = "" when a document's
    # tokens hold a Han character (Chinese has no spaces, and character-level data splits 2019 into
    # four tokens), else " ".
    joiner: str | None = None

    def validate(self) -> None:
        """Raise ValueError, naming the key, for settings that cannot work together."""
        names = {k: v for k, v in self.names().items() if v is not None}
        for key, name in names.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"{key}: a column name must be a non-empty string or null, got {name!r}")
        if (self.tokens is None) != (self.tags is None):
            raise ValueError("tokens and tags go together: give both column names, or null both")
        if self.spans is None and self.tags is None:
            raise ValueError("give the spans column, or the tokens and tags columns")
        if len(set(names.values())) != len(names):
            raise ValueError(f"two settings name the same column: {names}")
        if self.joiner is not None and not isinstance(self.joiner, str):
            raise ValueError(f"joiner must be a string or null, got {self.joiner!r}")

    def names(self) -> dict[str, str | None]:
        """The column settings (joiner left out), key -> column name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "joiner"}

    @classmethod
    def resolve(cls, columns: Columns | Mapping[str, Any] | None) -> Columns:
        """A validated :class:`Columns` from itself, a mapping of settings, or None (the defaults)."""
        if columns is None:
            columns = cls()
        elif not isinstance(columns, Columns):
            unknown = set(columns) - {f.name for f in dataclasses.fields(cls)}
            if unknown:
                raise ValueError(f"unknown column settings {sorted(unknown)} (known: text, id, spans, tokens, tags, joiner)")
            columns = cls(**columns)
        columns.validate()
        return columns


def column_pairs(text: str) -> dict[str, str | None]:
    """Column settings written as on the command line, as a mapping (``none``: no such column).

    >>> column_pairs("tags=labels,text=none")
    {'tags': 'labels', 'text': None}
    """
    pairs = [pair.split("=", 1) for pair in text.split(",") if pair.strip()]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"expected KEY=COLUMN pairs separated by commas, got {text!r}")
    return {key.strip(): None if column.strip() in ("", "none") else column.strip() for key, column in pairs}
