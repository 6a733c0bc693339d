"""Labelled documents from a data file in any supported format, through a label map.

``load_documents(path, fmt, label_map, labels, columns, split)`` is what training, evaluation and
export read data with; the formats themselves live in ``data.formats``.

Not here: corpus input for tagging (``data.inputs``), splitting and batching (``training.data``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from nlp_judgments.data import formats
from nlp_judgments.data.columns import Columns
from nlp_judgments.spans import DataError, Document


def load_documents(
    path: str,
    fmt: str,
    label_map,
    labels: list[str] | None = None,
    columns: Columns | Mapping[str, Any] | None = None,
    split: str | None = None,
) -> tuple[list[Document], dict]:
    """Read a data file into documents with the configured label map; returns (docs, read stats).

    ``columns`` and ``split`` say how to read a ``datasets`` table (``formats/hf_datasets.py``).
    Columns are ignored when ``path`` turns out to be a file of another format, which names its
    own fields (a model's columns travel to whatever file it is evaluated on); a split is not,
    since only a table has one.
    """
    if not Path(path).exists():
        raise DataError("file not found", path)
    if fmt == "auto":
        fmt = formats.detect_format(path)
    options: dict[str, Any] = {}
    if fmt == "datasets":
        options = {"columns": columns, "split": split}
    elif split is not None:
        raise DataError(f"split {split!r} asked for, but the file reads as {fmt!r}: only datasets tables have splits",
                        path)
    stats = formats.ReadStats()
    docs = list(formats.read_documents(path, fmt, label_map=label_map, allowed=labels, stats=stats, **options))
    return docs, stats.to_dict()
