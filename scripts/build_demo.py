"""Build the demo corpus ``judgments.jsonl`` from its marked-up source ``judgments.marked.txt``.

The source is the one place a human edits: each document starts with a line ``### ID title``,
each following line is one paragraph, and an entity is written inline as ``[surface|TAG]``
(TAG is a short code, see ``TAGS``). Offsets are computed here, never typed by hand, and every
document is validated against the schema before anything is written.

Run from the repository root after editing the source::

    python scripts/build_demo.py

Left out: anything about training; the demo is read like any other span-JSONL file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nlp_judgments.legal.schema import LABELS
from nlp_judgments.spans import (
    DataError,
    Document,
    Span,
    validate_document,
    write_spans_jsonl,
)

HERE = Path(__file__).resolve().parents[1] / "nlp_judgments" / "resources" / "demo"
SOURCE = HERE / "judgments.marked.txt"
TARGET = HERE / "judgments.jsonl"

# Short codes keep the marked-up source readable; the JSONL carries full label names.
TAGS = {
    "D": "DEFENDANT", "PER": "PERSON", "ORG": "ORG", "CT": "COURT", "PR": "PROCURATORATE",
    "APP": "APP", "AMT": "AMOUNT", "DT": "DATE", "LOC": "LOCATION", "CH": "CHARGE",
    "PEN": "PENALTY", "NO": "CASE_NO", "LAW": "LAW",
}
# ASCII brackets never occur in the demo text itself (judgments use 〔〕［］（）), so they are safe markers.
_MARK = re.compile(r"\[([^\[\]|]+)\|([A-Z]+)\]")


def parse_marked(paragraphs: list[str], doc_id: str) -> Document:
    """Strip ``[surface|TAG]`` marks from paragraphs joined by newlines; return the spanned document.

    >>> parse_marked(["被告人[张某|D]犯[盗窃罪|CH]。"], "x").spans
    [Span(start=3, end=5, label='DEFENDANT'), Span(start=6, end=9, label='CHARGE')]
    """
    text_parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for i, para in enumerate(paragraphs):
        if i:
            text_parts.append("\n")
            pos += 1
        last = 0
        for m in _MARK.finditer(para):
            plain = para[last : m.start()]
            text_parts.append(plain)
            pos += len(plain)
            surface, tag = m.group(1), m.group(2)
            if tag not in TAGS:
                raise DataError(f"document {doc_id!r}: unknown tag {tag!r} on {surface!r}")
            spans.append(Span(pos, pos + len(surface), TAGS[tag]))
            text_parts.append(surface)
            pos += len(surface)
            last = m.end()
        rest = para[last:]
        if "[" in rest or "]" in rest or "|" in rest:
            raise DataError(f"document {doc_id!r}: unbalanced mark in paragraph {i + 1}: {rest[:40]!r}")
        text_parts.append(rest)
        pos += len(rest)
    doc = Document(doc_id, "".join(text_parts), sorted(spans))
    return validate_document(doc, labels=LABELS)


def read_marked(path: Path = SOURCE) -> list[Document]:
    """Parse the whole marked-up source into documents, in file order."""
    docs: list[Document] = []
    doc_id: str | None = None
    paragraphs: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("###"):
            if doc_id is not None:
                docs.append(parse_marked(paragraphs, doc_id))
            doc_id, paragraphs = line[3:].split()[0], []
        elif line and doc_id is not None:
            paragraphs.append(line)
    if doc_id is not None:
        docs.append(parse_marked(paragraphs, doc_id))
    return docs


def main() -> int:
    docs = read_marked()
    n = write_spans_jsonl(docs, TARGET)
    print(f"wrote {n} documents, {sum(len(d.spans) for d in docs)} spans to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
