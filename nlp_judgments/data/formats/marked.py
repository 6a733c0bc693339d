"""Inline-marked text: JSON lines of ``{"id", "marked"}`` where each span is written in place as
``⟦surface|LABEL⟧``.

The form people write by hand when they annotate a few texts in an editor (the project's off-format
texts, ``gold/offformat/`` and ``corpus/offformat_train/``, are written in it): removing the marks
(``⟦surface|LABEL⟧`` → ``surface``) gives the plain text, and each mark is a span over its surface.
Marks are flat: a mark inside a mark, a ``⟦`` or ``⟧`` left after the marks are read, or a label that
is not upper-case letters and underscores is a data error naming the line. Other keys of a record
(``genre``, notes) are ignored. The writer can only mark flat spans: overlapping spans are resolved
to the longest, and what it drops is counted, as the CoNLL writer does.

Not here: the label map and the checks every format shares (``reading.Assembler``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Iterator

from nlp_judgments.data.formats.reading import Assembler, Mention, ReadStats, require, require_object
from nlp_judgments.spans import DataError, Document, Span, read_jsonl_objects, resolve_overlaps

MARK = re.compile(r"⟦([^⟦⟧|]+)\|([A-Z][A-Z0-9_]*)⟧")
BRACKETS = "⟦⟧"


def unmark(marked: str) -> tuple[str, list[Span], list[str]]:
    """The plain text, its spans and the problems found (stray brackets: a mark not of the form).

    >>> unmark("⟦张某|DEFENDANT⟧在⟦美团|APP⟧下单")
    ('张某在美团下单', [Span(start=0, end=2, label='DEFENDANT'), Span(start=3, end=5, label='APP')], [])
    """
    pieces, spans, pos, length = [], [], 0, 0
    for m in MARK.finditer(marked):
        before = marked[pos : m.start()]
        surface, label = m.group(1), m.group(2)
        length += len(before)
        spans.append(Span(length, length + len(surface), label))
        length += len(surface)
        pieces += [before, surface]
        pos = m.end()
    pieces.append(marked[pos:])
    plain = "".join(pieces)
    problems = []
    for ch in BRACKETS:
        if ch in plain:
            at = plain.index(ch)
            problems.append(f"a stray {ch} (a mark not of the form ⟦surface|LABEL⟧) near {plain[max(0, at - 10): at + 10]!r}")
    return plain, spans, problems


def mark(text: str, spans: Iterable[Span]) -> str:
    """``text`` with each (flat) span written as ``⟦surface|LABEL⟧``; the inverse of :func:`unmark`."""
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: (s.start, s.end)):
        out += [text[pos : s.start], f"⟦{text[s.start : s.end]}|{s.label}⟧"]
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


def read_marked(path: Path, asm: Assembler) -> Iterator[Document]:
    for lineno, obj in read_jsonl_objects(path):
        obj = require_object(obj, path, lineno)
        doc_id = require(obj, "id", (str, int), path, lineno)
        text, spans, problems = unmark(require(obj, "marked", str, path, lineno))
        if problems:
            raise DataError(f"document {doc_id!r}: {problems[0]}", path, lineno)
        yield asm.build(str(doc_id), text, (Mention(s.start, s.end, s.label, None) for s in spans), lineno)


def write_marked(docs: Iterable[Document], path: str | Path, stats: ReadStats | None = None) -> int:
    """Write marked JSON lines. Overlapping spans keep the longest and spans whose surface holds a
    bracket or ``|`` cannot be marked: both are dropped and counted in ``stats.anomalies``; a text
    that holds ``⟦`` or ``⟧`` itself is a DataError."""
    stats = stats if stats is not None else ReadStats()
    n = 0
    with Path(path).open("w", encoding="utf-8") as f:
        for doc in docs:
            if any(c in doc.text for c in BRACKETS):
                raise DataError(f"document {doc.id!r}: its text holds ⟦ or ⟧, which the marked format cannot write", Path(path))
            flat, dropped = resolve_overlaps(doc.spans, policy="longest")
            bad = [s for s in flat if "|" in doc.text[s.start : s.end]]
            if dropped:
                stats.anomalies["marked writer: overlapping spans dropped"] += len(dropped)
            if bad:
                stats.anomalies["marked writer: spans with | dropped"] += len(bad)
            marked = mark(doc.text, [s for s in flat if s not in bad])
            f.write(json.dumps({"id": doc.id, "marked": marked}, ensure_ascii=False) + "\n")
            n += 1
    return n
