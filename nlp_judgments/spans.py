"""Character spans and documents: the one data model every public boundary speaks.

A document is an id, its text, and entity spans ``(start, end, label)`` with end-exclusive
character offsets into that exact text. Tokens, BIO tags and windows never leave
``encoding.py``; readers of other formats (``formats.py``) convert into this model.

Canonical on-disk form is span JSONL, one document a line::

    {"id": "d1", "text": "被告人张某犯盗窃罪", "entities": [{"start": 3, "end": 5, "label": "DEFENDANT"}]}

This module also owns validation: a bad span or line raises :class:`DataError` naming the
file, the line and the reason, so users never meet a bare ``KeyError`` from deep inside training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator


class DataError(ValueError):
    """A problem with input data, located precisely enough to fix it by hand."""

    def __init__(self, reason: str, file: str | Path | None = None, line: int | None = None):
        self.reason = reason
        self.file = str(file) if file is not None else None
        self.line = line
        where = ""
        if self.file is not None:
            where = f"{self.file}:{line}: " if line is not None else f"{self.file}: "
        super().__init__(where + reason)


@dataclass(frozen=True, order=True)
class Span:
    """An entity mention: ``text[start:end]`` carries ``label``."""

    start: int
    end: int
    label: str

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass(frozen=True)
class Entity:
    """A tagged span with its text, a confidence and where it came from: what taggers return."""
    start: int
    end: int
    label: str
    text: str
    score: float  # mean probability of the predicted tag over the entity's tokens (span head: the span's); rules: 1
    source: str = "model"  # "model", or "rules" for a rule pre-labeller span (``Tagger(rules=True)``, ``RuleTagger``)

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label, "text": self.text,
                "score": round(self.score, 4), "source": self.source}




@dataclass
class Document:
    id: str
    text: str
    spans: list[Span] = field(default_factory=list)

    def to_dict(self, with_text_of_spans: bool = False) -> dict:
        entities = []
        for s in self.spans:
            d = s.to_dict()
            if with_text_of_spans:
                d["text"] = self.text[s.start : s.end]
            entities.append(d)
        return {"id": self.id, "text": self.text, "entities": entities}


def _concatenate(parts: list[Document]) -> Document:
    spans, offset = [], 0
    for d in parts:
        spans.extend(Span(sp.start + offset, sp.end + offset, sp.label) for sp in d.spans)
        offset += len(d.text)
    return Document(f"{parts[0].id}..{parts[-1].id}", "".join(d.text for d in parts), spans)


def check_span(span: Span, text: str, labels: Iterable[str] | None = None) -> str | None:
    """Return why ``span`` is invalid for ``text`` (and the optional label set), or None.

    >>> check_span(Span(0, 2, "PERSON"), "张三犯罪") is None
    True
    >>> check_span(Span(3, 3, "PERSON"), "张三犯罪")
    'empty span [3, 3) PERSON'
    """
    if not isinstance(span.start, int) or not isinstance(span.end, int):
        return f"offsets must be integers, got start={span.start!r} end={span.end!r}"
    if span.start < 0 or span.end > len(text):
        return f"span [{span.start}, {span.end}) {span.label} lies outside the text of length {len(text)}"
    if span.start >= span.end:
        return f"empty span [{span.start}, {span.end}) {span.label}"
    if labels is not None and span.label not in labels:
        return f"unknown label {span.label!r} (known: {', '.join(sorted(labels))})"
    return None


def validate_document(
    doc: Document,
    labels: Iterable[str] | None = None,
    file: str | Path | None = None,
    line: int | None = None,
) -> Document:
    """Raise :class:`DataError` for the first invalid span of ``doc``; return ``doc`` otherwise."""
    label_set = set(labels) if labels is not None else None
    for span in doc.spans:
        reason = check_span(span, doc.text, label_set)
        if reason is not None:
            raise DataError(f"document {doc.id!r}: {reason}", file, line)
    return doc


def document_from_dict(obj: object, file: str | Path | None = None, line: int | None = None) -> Document:
    """Build a validated :class:`Document` from one parsed span-JSONL object."""
    if not isinstance(obj, dict):
        raise DataError(f"expected a JSON object, got {type(obj).__name__}", file, line)
    if "text" not in obj or not isinstance(obj["text"], str):
        raise DataError("missing or non-string 'text'", file, line)
    doc_id = obj.get("id")
    if doc_id is None:
        raise DataError("missing 'id'", file, line)
    entities = obj.get("entities", [])
    if not isinstance(entities, list):
        raise DataError("'entities' must be a list", file, line)
    spans = []
    for ent in entities:
        try:
            spans.append(Span(ent["start"], ent["end"], str(ent["label"])))
        except (KeyError, TypeError):
            raise DataError(f"entity {ent!r} needs 'start', 'end' and 'label'", file, line) from None
    return validate_document(Document(str(doc_id), obj["text"], sorted(spans)), file=file, line=line)


def read_jsonl_objects(path: str | Path) -> Iterator[tuple[int, object]]:
    """Yield ``(line_number, parsed_object)`` for each non-blank line; malformed JSON is a DataError."""
    path = Path(path)
    with path.open(encoding="utf-8") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise DataError(f"malformed JSON ({e.msg} at column {e.colno})", path, lineno) from None
            except (RecursionError, ValueError) as e:  # nested too deep; an integer of too many digits
                raise DataError(unreadable_json(e), path, lineno) from None
            yield lineno, obj


def unreadable_json(error: RecursionError | ValueError) -> str:
    """Why ``json`` could not read valid-looking JSON: too deep for its recursion, or an integer
    with more digits than Python converts (``sys.get_int_max_str_digits``)."""
    if isinstance(error, RecursionError):
        return "JSON nested too deeply to read"
    return f"unreadable JSON ({error})"


def read_spans_jsonl(path: str | Path) -> Iterator[Document]:
    """Stream documents from a span-JSONL file, validating each line."""
    for lineno, obj in read_jsonl_objects(path):
        yield document_from_dict(obj, path, lineno)


def write_spans_jsonl(docs: Iterable[Document], path: str | Path) -> int:
    """Write documents as span JSONL (UTF-8, one per line); return how many were written."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def resolve_overlaps(spans: Iterable[Span], policy: str = "longest") -> tuple[list[Span], list[Span]]:
    """Split spans into a non-overlapping set to tag and the ones that had to be dropped.

    ``longest`` keeps longer spans first (a location that contains a victim's name keeps the location);
    ``first`` keeps spans in order of start offset. Both are deterministic.

    >>> resolve_overlaps([Span(0, 6, "NS"), Span(2, 4, "NHVI")])
    ([Span(start=0, end=6, label='NS')], [Span(start=2, end=4, label='NHVI')])
    """
    spans = sorted(set(spans))
    if policy == "longest":
        order = sorted(spans, key=lambda s: (-(s.end - s.start), s.start, s.label))
    elif policy == "first":
        order = spans
    else:
        raise ValueError(f"unknown overlap policy {policy!r}")
    kept: list[Span] = []
    dropped: list[Span] = []
    for span in order:
        if any(span.start < k.end and k.start < span.end for k in kept):
            dropped.append(span)
        else:
            kept.append(span)
    return sorted(kept), sorted(dropped)
