"""CAIL2021-IE and CAIL2022-IE files (and canonical span JSONL) read into documents; CAIL2021 written.

CAIL2021-IE is JSON lines of ``{"id", "context", "entities": [{"label", "span": ["start;end", ...]}]}``
with end-exclusive offsets; an entity with an empty span list means the label is absent.
CAIL2022-IE is JSON lines (a JSON array is accepted too) of ``{"articleId", "sentId", "sentText",
"entityMentions": [{"start", "end", "text", "label"}], "relationMentions"}``; the document id is
``f"{articleId}-{sentId}"`` and a mention whose ``text`` disagrees with ``sentText[start:end]`` is
a data error.

Left out: CAIL2022 relations (ignored) and a CAIL2022 writer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from nlp_judgments.data.formats.label_maps import CAIL2021_LABELS
from nlp_judgments.data.formats.reading import (
    Assembler,
    Mention,
    iter_json_records,
    require,
    require_object,
)
from nlp_judgments.spans import (
    DataError,
    Document,
    document_from_dict,
    read_jsonl_objects,
)

# Readers take the Assembler that read_documents builds; call read_documents rather than these.


def read_spans(path: Path, asm: Assembler) -> Iterator[Document]:
    # spans.py parses and validates; the assembler then applies the label map and the counts.
    for lineno, obj in read_jsonl_objects(path):
        doc = document_from_dict(obj, path, lineno)
        mentions = (Mention(s.start, s.end, s.label, lineno) for s in doc.spans)
        yield asm.build(doc.id, doc.text, mentions, lineno)


_CAIL2021_OFFSETS = re.compile(r"\s*(-?[0-9]+)\s*;\s*(-?[0-9]+)\s*")


def read_cail2021(path: Path, asm: Assembler) -> Iterator[Document]:
    for lineno, obj in read_jsonl_objects(path):
        obj = require_object(obj, path, lineno)
        doc_id = require(obj, "id", (str, int), path, lineno)
        text = require(obj, "context", str, path, lineno)
        entities = require(obj, "entities", list, path, lineno)
        yield asm.build(str(doc_id), text, _cail2021_mentions(entities, path, lineno), lineno)


def _cail2021_mentions(entities: list, file: Path, line: int) -> Iterator[Mention]:
    for ent in entities:
        if not (isinstance(ent, dict) and isinstance(ent.get("label"), str) and isinstance(ent.get("span"), list)):
            raise DataError(f"entity {ent!r} needs a string 'label' and a list 'span'", file, line)
        for offsets in ent["span"]:  # an empty list is normal: the label is absent
            match = _CAIL2021_OFFSETS.fullmatch(offsets) if isinstance(offsets, str) else None
            if match is None:
                reason = f"{ent['label']} span {offsets!r} is not 'start;end' with integer offsets"
                raise DataError(reason, file, line)
            yield Mention(int(match[1]), int(match[2]), ent["label"], line)


def read_cail2022(path: Path, asm: Assembler) -> Iterator[Document]:
    for lineno, obj in iter_json_records(path):
        obj = require_object(obj, path, lineno)
        article = require(obj, "articleId", (int, str), path, lineno)
        sentence = require(obj, "sentId", (int, str), path, lineno)
        text = require(obj, "sentText", str, path, lineno)
        mentions = require(obj, "entityMentions", list, path, lineno)
        yield asm.build(f"{article}-{sentence}", text, _cail2022_mentions(mentions, text, path, lineno), lineno)


def _cail2022_mentions(mentions: list, text: str, file: Path, line: int) -> Iterator[Mention]:
    for m in mentions:
        if not isinstance(m, dict) or "start" not in m or "end" not in m or not isinstance(m.get("label"), str):
            raise DataError(f"entity mention {m!r} needs 'start', 'end' and a string 'label'", file, line)
        start, end = m["start"], m["end"]
        # Out-of-range offsets are the assembler's to report; here only the quoted text is checked.
        in_range = type(start) is int and type(end) is int and 0 <= start < end <= len(text)
        if in_range and "text" in m and text[start:end] != m["text"]:
            raise DataError(
                f"entity mention text {m['text']!r} differs from sentText[{start}:{end}] = {text[start:end]!r}",
                file,
                line,
            )
        yield Mention(start, end, m["label"], line)


def write_cail2021(docs: Iterable[Document], path: str | Path, labels: Sequence[str] = CAIL2021_LABELS) -> int:
    """Write CAIL2021-IE JSONL; every label in ``labels`` is listed, others after them. Returns docs written."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as f:
        for doc in docs:
            by_label: dict[str, list[str]] = {label: [] for label in labels}
            for span in sorted(doc.spans):
                by_label.setdefault(span.label, []).append(f"{span.start};{span.end}")
            entities = [{"label": label, "span": offsets} for label, offsets in by_label.items()]
            record = {"id": doc.id, "context": doc.text, "entities": entities}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n
