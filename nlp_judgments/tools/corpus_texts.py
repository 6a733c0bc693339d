"""Reading the plain text of a corpus for the encoder tools (``trim-vocab``, ``adapt-encoder``).

Both tools want only each document's text, from whatever the user has: ``.txt`` files, folders of
them, or the JSON lines and arrays of the labelled formats (whose labels they ignore).

Not here: labelled documents with their spans (``data.formats``); reading the inputs of the
tagging commands (``data.inputs``, which this module calls for ``.txt``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from nlp_judgments.data.formats.reading import iter_json_records
from nlp_judgments.data.inputs import iter_documents
from nlp_judgments.spans import DataError

TEXT_FIELDS = ("text", "context", "sentText")  # {id, text} JSONL, CAIL2021, CAIL2022


def read_corpus_texts(inputs: Sequence[str | Path]) -> Iterator[str]:
    """Texts of the corpus files: ``.txt`` files, folders of ``.txt`` (recursive), and JSON lines or
    JSON arrays of objects with a ``text``, ``context`` (CAIL2021) or ``sentText`` (CAIL2022) field.

    Raises :class:`DataError` for a JSON file in which no record has such a field.
    """
    for item in inputs:
        path = Path(item)
        if path.is_dir() or path.suffix == ".txt":
            yield from (doc.text for doc in iter_documents([path]) if doc.text)
            continue
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file or folder")
        found = 0
        for _line, obj in iter_json_records(path):
            text = next((obj[k] for k in TEXT_FIELDS if isinstance(obj, dict) and isinstance(obj.get(k), str)), None)
            if text:
                found += 1
                yield text
        if not found:
            raise DataError(f"no record has a {', '.join(TEXT_FIELDS)} field", path)
