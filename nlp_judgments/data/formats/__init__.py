"""Entity-annotation file formats, read into and written from :class:`~nlp_judgments.spans.Document`.

==============  ===============================================================  ====  =====
format name     what it is                                                       read  write
==============  ===============================================================  ====  =====
``spans``       canonical span JSONL (delegates to ``spans.py``)                 yes   yes
``cail2021``    CAIL2021-IE JSONL: ``{"id", "context", "entities":               yes   yes
                [{"label", "span": ["start;end", ...]}]}``
``cail2022``    CAIL2022-IE: JSON lines (or one JSON array) of ``{"articleId",   yes   no
                "sentId", "sentText", "entityMentions": [{"start", "end",
                "text", "label"}], "relationMentions"}``
``conll``       one character and its tag a line (BIO, or BIOES/BMES/BILOU),     yes   yes
                blank line between documents
``labelstudio`` Label Studio tasks: ``data.text`` with ``labels`` regions in      yes   yes
                ``annotations`` (or ``predictions``)
``marked``      JSON lines of ``{"id", "marked"}``, each span written in place   yes   yes
                as ``⟦surface|LABEL⟧`` (flat)
``datasets``    whatever the ``datasets`` library loads from disk: Parquet,       yes   no
                Arrow, CSV, JSON lines, a ``save_to_disk`` folder, a hub
                repository's folder of data files; spans or tokens and tags
                in configurable columns (``data.columns``)
==============  ===============================================================  ====  =====

Entry points: :func:`read_documents`, :func:`write_documents`, :func:`convert`. ``auto`` reads
``.parquet``, ``.arrow`` and ``.csv`` files and folders as ``datasets`` tables, other files by their
extension and first record.

Every reader goes through one assembler (``reading.py``), so all formats get the same checks
and counts: bad offsets and labels outside ``allowed`` are :class:`~nlp_judgments.spans.DataError`
naming file and 1-based line, labels missing from the :class:`LabelMap` are dropped and counted,
identical duplicate spans are dropped and counted.

Package layout: ``reading.py`` (the assembler and :class:`ReadStats`), ``label_maps.py``
(:class:`LabelMap`, :data:`LABEL_MAPS`), ``tags.py`` (tag sequences and tokens as character spans),
and one module per family of formats: ``cail.py``, ``conll.py``, ``labelstudio.py``, ``marked.py``,
``hf_datasets.py``; each module's docstring states its format's decisions (space characters in
CoNLL, Label Studio offsets and annotation choice, CAIL2022 text checks, token alignment).

Overlapping spans are valid data and are kept (and counted); resolving them is ``encoding.py``'s
job. Only the CoNLL *writer* must flatten them: it keeps the longest, with
``spans.resolve_overlaps(policy="longest")``, and counts what it drops.

Left out: relations (CAIL2022 ``relationMentions`` and Label Studio relation results are
ignored), text normalisation (full-width digits stay as they are: spans slice the original
text), tokenisation and windows (``encoding.py``), and writing CAIL2022 or ``datasets`` tables
(convert to span JSONL: ``datasets`` reads it as it is).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from nlp_judgments.data.formats.cail import (
    read_cail2021,
    read_cail2022,
    read_spans,
    write_cail2021,
)
from nlp_judgments.data.formats.conll import SPACE_TOKEN, read_conll, write_conll
from nlp_judgments.data.formats.hf_datasets import (
    FILE_BUILDERS,
    is_table_folder,
    read_datasets,
)
from nlp_judgments.data.formats.label_maps import CAIL2021_LABELS, LABEL_MAPS, LabelMap
from nlp_judgments.data.formats.labelstudio import (
    labelstudio_config,
    predictions_from_tagged,
    read_labelstudio,
    write_labelstudio,
)
from nlp_judgments.data.formats.marked import read_marked, write_marked
from nlp_judgments.data.formats.reading import (
    Assembler,
    ReadStats,
    count_overlapping,
    first_char,
    iter_json_records,
)
from nlp_judgments.data.names import FORMATS, WRITABLE_FORMATS
from nlp_judgments.spans import DataError, Document, write_spans_jsonl

__all__ = [
    "CAIL2021_LABELS",
    "FORMATS",
    "LABEL_MAPS",
    "LabelMap",
    "ReadStats",
    "SPACE_TOKEN",
    "WRITABLE_FORMATS",
    "convert",
    "count_overlapping",
    "detect_format",
    "labelstudio_config",
    "predictions_from_tagged",
    "read_documents",
    "write_cail2021",
    "write_conll",
    "write_documents",
    "write_labelstudio",
]


_READERS = {
    "spans": read_spans,
    "cail2021": read_cail2021,
    "cail2022": read_cail2022,
    "conll": read_conll,
    "labelstudio": read_labelstudio,
    "marked": read_marked,
    "datasets": read_datasets,
}
_WRITERS = {
    "spans": write_spans_jsonl,
    "cail2021": write_cail2021,
    "conll": write_conll,
    "labelstudio": write_labelstudio,
    "marked": write_marked,
}
if tuple(_READERS) != FORMATS or tuple(_WRITERS) != WRITABLE_FORMATS:
    raise ImportError("data.names lists other formats than the reader and writer registries hold")
_READER_OPTIONS = {"labelstudio": {"use_predictions"}, "datasets": {"columns", "split"}}
# A key only the format's records have, checked in this order ("text" last: others may carry one).
_KEY_TO_FORMAT = (("context", "cail2021"), ("sentText", "cail2022"), ("data", "labelstudio"), ("marked", "marked"),
                  ("text", "spans"))
_CONLL_SUFFIXES = {".conll", ".conllu", ".bio", ".bioes", ".bmes", ".iob", ".iob2", ".tsv", ".txt", ".char"}
# Files no other reader reads; JSON lines stay with the key test below (our own formats are JSON).
_TABLE_SUFFIXES = {".parquet", ".arrow", ".csv"}


def detect_format(path: str | Path) -> str:
    """Guess a file's format from its extension, then from the keys of its first record; a folder
    is a ``datasets`` table (saved by ``save_to_disk``, or a hub repository's folder of data files)."""
    path = Path(path)
    if path.is_dir():
        if is_table_folder(path):
            return "datasets"
        found = ", ".join(FILE_BUILDERS)
        raise DataError(f"a folder with neither save_to_disk files nor data files ({found}) in it", path)
    if path.suffix.lower() in _TABLE_SUFFIXES:
        return "datasets"
    if path.suffix.lower() in _CONLL_SUFFIXES:
        return "conll"
    initial = first_char(path)
    if initial == "":
        return "spans"  # an empty file reads as no documents in every format
    if initial not in "[{":
        return "conll"
    first = next(iter(iter_json_records(path)), (None, None))[1]
    keys = first.keys() if isinstance(first, dict) else ()
    for key, fmt in _KEY_TO_FORMAT:
        if key in keys:
            return fmt
    if "tokens" in keys:  # hub-style token/tag JSON lines: only where no format of ours matched
        return "datasets"
    raise DataError(f"cannot tell the format from the first record's keys {sorted(keys)}; name it", path)


def read_documents(
    path: str | Path,
    format: str = "auto",
    label_map: Mapping[str, str] | str | None = None,
    allowed: Iterable[str] | None = None,
    stats: ReadStats | None = None,
    **options: Any,
) -> Iterator[Document]:
    """Stream validated documents from ``path`` in ``format`` (one of :data:`FORMATS` or ``"auto"``).

    ``label_map`` is a native→ours mapping or a :data:`LABEL_MAPS` preset name; None keeps native
    labels. ``allowed`` is the label set spans must end up in. ``stats`` accumulates counts while
    the iterator is consumed. ``options`` go to the reader: Label Studio takes
    ``use_predictions=True`` to fall back to predictions for tasks without an annotation;
    ``datasets`` takes ``columns`` (a :class:`~nlp_judgments.data.columns.Columns` or a mapping of
    its settings) and ``split`` (which split of a DatasetDict).
    Arguments are checked now; data errors surface as the documents are read.
    """
    path = Path(path)
    detected = format == "auto"
    if detected:
        format = detect_format(path)
    if format not in _READERS:
        raise ValueError(f"unknown format {format!r} (known: {', '.join(FORMATS)}, auto)")
    unknown = set(options) - _READER_OPTIONS.get(format, set())
    if unknown and detected:  # the data, not the call, is at odds with the options
        raise DataError(f"reads as {format!r}, which takes no {', '.join(sorted(unknown))}", path)
    if unknown:
        raise TypeError(f"format {format!r} takes no reader options {sorted(unknown)}")
    asm = Assembler(path, LabelMap.resolve(label_map, allowed), stats if stats is not None else ReadStats())
    return _READERS[format](path, asm, **options)


def write_documents(docs: Iterable[Document], path: str | Path, format: str, **options: Any) -> int:
    """Write ``docs`` to ``path`` in ``format`` (one of :data:`WRITABLE_FORMATS`); return how many.

    ``options`` go to the writer: :func:`write_conll` (``scheme``, ``ids``, ``stats``), :func:`write_marked` (``stats``),
    :func:`write_labelstudio` (``kind``, ``model_version``, ``scores``), :func:`write_cail2021`
    (``labels``).
    """
    if format not in _WRITERS:
        raise ValueError(f"cannot write format {format!r} (writable: {', '.join(WRITABLE_FORMATS)})")
    return _WRITERS[format](docs, path, **options)


def convert(
    src: str | Path,
    src_format: str,
    dst: str | Path,
    dst_format: str,
    label_map: Mapping[str, str] | str | None = None,
    allowed: Iterable[str] | None = None,
    read_options: Mapping[str, Any] | None = None,
    write_options: Mapping[str, Any] | None = None,
) -> ReadStats:
    """Read ``src`` and write ``dst``; return what reading (and a lossy writer) counted.

    Everything is read before ``dst`` is opened, so a data error leaves no half-written file and
    ``dst`` may be ``src``.
    """
    stats = ReadStats()
    docs = list(read_documents(src, src_format, label_map, allowed, stats, **(read_options or {})))
    options = dict(write_options or {})
    if dst_format in ("conll", "marked"):  # the lossy writers count what they drop
        options.setdefault("stats", stats)
    write_documents(docs, dst, dst_format, **options)
    return stats
