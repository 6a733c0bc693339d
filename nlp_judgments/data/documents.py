"""Labelled documents from a data file in any supported format, through a label map.

``load_documents(path, fmt, label_map, labels)`` is what training, evaluation and export read data
with; the formats themselves live in ``data.formats``.

Not here: corpus input for tagging (``data.inputs``), splitting and batching (``training.data``).
"""

from __future__ import annotations

from pathlib import Path

from nlp_judgments.data import formats
from nlp_judgments.spans import DataError, Document


def load_documents(path: str, fmt: str, label_map, labels: list[str] | None = None) -> tuple[list[Document], dict]:
    """Read a data file into documents with the configured label map; returns (docs, read stats)."""
    if not Path(path).exists():
        raise DataError("file not found", path)
    stats = formats.ReadStats()
    docs = list(formats.read_documents(path, fmt, label_map=label_map, allowed=labels, stats=stats))
    return docs, stats.to_dict()
