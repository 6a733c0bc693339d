"""What every format reader shares: statistics, the document assembler and JSON records.

Each reader turns its records into :class:`Mention` objects ``(start, end, native_label, line)``
and hands them to one :class:`Assembler`, so every format is validated and counted the same way:
offsets checked (a bad one is a :class:`~nlp_judgments.spans.DataError` naming file, 1-based line
and reason), labels mapped (unmapped ones dropped and counted, ones outside ``allowed`` refused),
identical duplicates dropped and counted, spans sorted, overlaps counted but kept. Resolving
overlaps is ``encoding.py``'s job.

Left out: anything specific to one format (see ``cail.py``, ``conll.py``, ``labelstudio.py``,
``hf_datasets.py``; tag sequences in ``tags.py``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

from nlp_judgments.data.formats.label_maps import LabelMap
from nlp_judgments.spans import (
    DataError,
    Document,
    Span,
    check_span,
    read_jsonl_objects,
    unreadable_json,
)


@dataclass
class ReadStats:
    """What reading (and, for CoNLL, writing) did to the data; pass one in to accumulate."""

    docs: int = 0  # documents yielded
    spans: int = 0  # spans kept, after mapping and de-duplication
    dropped: Counter[str] = field(default_factory=Counter)  # native label -> spans the map dropped
    duplicate_spans: int = 0  # identical (start, end, label) after mapping; dropped
    overlapping_docs: int = 0  # documents with at least one pair of overlapping spans
    overlapping_spans: int = 0  # spans that overlap at least one other span (kept)
    docs_without_spans: int = 0  # normal data, but worth seeing next to ``docs``
    empty_docs: int = 0  # documents whose text is empty
    duplicate_ids: int = 0  # documents whose id was already seen in the same read
    duplicate_texts: int = 0  # documents whose exact text was already seen in the same read
    anomalies: Counter[str] = field(default_factory=Counter)  # other tolerated oddities
    examples: dict[str, list[str]] = field(default_factory=dict)  # anomaly -> a few instances, to find them

    def note(self, anomaly: str, example: str, count: int = 1, keep: int = 5) -> None:
        """Count ``anomaly`` and keep the first ``keep`` examples of it (a count alone says not where)."""
        self.anomalies[anomaly] += count
        bucket = self.examples.setdefault(anomaly, [])
        if len(bucket) < keep:
            bucket.append(example)

    def to_dict(self) -> dict[str, Any]:
        out = dict(vars(self))
        out["dropped"] = dict(self.dropped)
        out["anomalies"] = dict(self.anomalies)
        out["examples"] = {k: list(v) for k, v in self.examples.items()}
        return out

    def summary(self) -> str:
        """One line a person can read, e.g. for ``nlp-judgments convert`` to print."""
        parts = [f"{self.docs} docs", f"{self.spans} spans"]
        if self.dropped:
            dropped = ", ".join(f"{label} {n}" for label, n in sorted(self.dropped.items()))
            parts.append(f"dropped {sum(self.dropped.values())} ({dropped})")
        for name in ("duplicate_spans", "overlapping_spans", "overlapping_docs", "docs_without_spans",
                     "empty_docs", "duplicate_ids", "duplicate_texts"):
            if getattr(self, name):
                parts.append(f"{name.replace('_', ' ')} {getattr(self, name)}")
        parts += [f"{what} {n}" for what, n in sorted(self.anomalies.items())]
        return "; ".join(parts)


class Mention(NamedTuple):
    """A span as a file states it, before validation and label mapping."""

    start: Any  # not yet known to be an int: the assembler checks
    end: Any
    label: str
    line: int | None  # where it is written, when that differs from the document's line


@dataclass
class Assembler:
    """Turns one file's raw mentions into validated documents and keeps the counts."""

    file: Path
    labels: LabelMap
    stats: ReadStats
    seen_ids: set[str] = field(default_factory=set)
    seen_texts: set[int] = field(default_factory=set)  # hashes: keeps memory flat on big files

    def build(self, doc_id: str, text: str, mentions: Iterable[Mention], line: int | None) -> Document:
        spans: set[Span] = set()
        for m in mentions:
            span = self._mapped_span(doc_id, text, m, m.line if m.line is not None else line)
            if span is None:
                continue
            if span in spans:
                self.stats.duplicate_spans += 1
                continue
            spans.add(span)
        doc = Document(doc_id, text, sorted(spans))
        self._count(doc)
        return doc

    def _mapped_span(self, doc_id: str, text: str, m: Mention, line: int | None) -> Span | None:
        # bool is an int subclass, and float offsets would slice wrongly: demand exact ints.
        if type(m.start) is not int or type(m.end) is not int:
            reason = f"offsets must be integers, got start={m.start!r} end={m.end!r}"
        else:
            reason = check_span(Span(m.start, m.end, m.label), text)
        if reason is not None:
            raise DataError(f"document {doc_id!r}: {reason}", self.file, line)
        label = self.labels.target(m.label)
        if label is None:
            self.stats.dropped[m.label] += 1
            return None
        allowed = self.labels.allowed
        if allowed is not None and label not in allowed:
            via = f" (from {m.label!r})" if label != m.label else ""
            known = ", ".join(sorted(allowed))
            reason = f"document {doc_id!r}: label {label!r}{via} is not allowed (allowed: {known})"
            raise DataError(reason, self.file, line)
        return Span(m.start, m.end, label)

    def _count(self, doc: Document) -> None:
        s = self.stats
        s.docs += 1
        s.spans += len(doc.spans)
        s.docs_without_spans += not doc.spans
        s.empty_docs += not doc.text
        overlapping = count_overlapping(doc.spans)
        s.overlapping_spans += overlapping
        s.overlapping_docs += overlapping > 0
        s.duplicate_ids += doc.id in self.seen_ids
        self.seen_ids.add(doc.id)
        s.duplicate_texts += hash(doc.text) in self.seen_texts
        self.seen_texts.add(hash(doc.text))


def count_overlapping(spans: Sequence[Span]) -> int:
    """How many of ``spans`` (sorted by start) share a character with another span.

    >>> count_overlapping([Span(0, 4, "LOCATION"), Span(0, 2, "PERSON"), Span(5, 6, "ORG")])
    2
    """
    overlapping: set[int] = set()
    for i, a in enumerate(spans):
        for j in range(i + 1, len(spans)):
            if spans[j].start >= a.end:  # sorted by start: nothing later can overlap ``a``
                break
            overlapping.update((i, j))
    return len(overlapping)


def require(obj: dict, key: str, types: type | tuple[type, ...], file: Path, line: int | None) -> Any:
    """``obj[key]`` if present and of ``types`` (bools never count as ints); a DataError otherwise."""
    value = obj.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, types):
        names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise DataError(f"missing or non-{names} {key!r}", file, line)
    return value


def require_object(obj: object, file: Path, line: int | None) -> dict:
    if not isinstance(obj, dict):
        raise DataError(f"expected a JSON object, got {type(obj).__name__}", file, line)
    return obj


def first_char(path: Path) -> str:
    """The first non-whitespace character of the file, or '' when there is none."""
    with path.open(encoding="utf-8-sig") as f:
        for raw in f:
            stripped = raw.strip()
            if stripped:
                return stripped[0]
    return ""


def iter_json_records(path: Path) -> Iterator[tuple[int, object]]:
    """Yield ``(line, value)`` for a JSON-lines file or for each element of one JSON array.

    Exports from annotation tools are arrays and competition data are JSON lines; tracking the
    line where each array element starts keeps error messages as precise for both.
    """
    if first_char(path) != "[":
        yield from read_jsonl_objects(path)
        return
    text = path.read_text(encoding="utf-8-sig")
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, text.index("[") + 1)
    line_counter = _LineCounter(text)
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            try:
                value, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                raise DataError(f"malformed JSON ({e.msg} at column {e.colno})", path, e.lineno) from None
            except (RecursionError, ValueError) as e:  # nested too deep; an integer of too many digits
                raise DataError(unreadable_json(e), path, line_counter.line_of(pos)) from None
            yield line_counter.line_of(pos), value
            pos = _skip_ws(text, end)
            if text.startswith(",", pos):
                pos = _skip_ws(text, pos + 1)
            elif text.startswith("]", pos):
                pos += 1
                break
            else:
                raise DataError("malformed JSON array (expected ',' or ']')", path, line_counter.line_of(pos))
    if _skip_ws(text, pos) != len(text):
        raise DataError("unexpected text after the JSON array", path, line_counter.line_of(pos))


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


class _LineCounter:
    """1-based line of a character position; positions must be asked in increasing order."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def line_of(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line
