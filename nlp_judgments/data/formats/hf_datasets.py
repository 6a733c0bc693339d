"""Tables the ``datasets`` library loads from disk, read as documents: the ``datasets`` format.

A path is one file (``.parquet``, ``.arrow``, ``.csv``, ``.json``/``.jsonl``), a folder written by
``save_to_disk`` (a Dataset or a DatasetDict), or a hub repository's layout on disk: a folder of data
files such as ``data/train-00000-of-00001.parquet``, whose splits ``load_dataset(folder)`` takes from
the file names or the README's ``configs``. A folder holding a Python file is refused before
``datasets`` sees it: a loading script is code, and none runs here (``trust_remote_code`` is never
passed, whatever the installed ``datasets`` would do with it). ``load_dataset`` converts into a
temporary cache deleted once the table is in memory, so reading leaves nothing in ``~/.cache``.

Which columns hold what is :class:`~nlp_judgments.data.columns.Columns`. A row's entities are its
spans column when the table has one, else its tokens and tags:

- tags are BIO/BIOES strings or ClassLabel ids, decoded as CoNLL's are (``tags.tag_runs``): a stray
  ``I-`` starts a span and is counted;
- with a text column each token is located in it, in order (``tags.locate_tokens``); a token not
  found is counted with an example, and a span that starts or ends on one is dropped and counted;
- without one, the text is the tokens joined (``tags.join_tokens``), counted so it is seen.

All of it lands in the :class:`ReadStats` every reader fills (``anomalies`` and ``examples``), so
it shows in ``convert``'s output and in training's ``encoding_report.json``. Errors name the path
and the row, numbered from 0 as ``dataset[i]`` numbers them. A DatasetDict is read one split at a
time: ``split`` names it; None reads the only one and refuses to guess among several. Cells of a
CSV file hold lists as JSON strings.

Not here: writing tables (convert to span JSONL, which ``datasets`` reads as it is), anything over
the network (paths on disk only), label mapping and span checks (the shared ``reading.Assembler``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import datasets
from datasets.exceptions import DatasetsError

from nlp_judgments.data.columns import Columns
from nlp_judgments.data.formats.reading import Assembler, Mention, ReadStats
from nlp_judgments.data.formats.tags import BadTag, join_tokens, locate_tokens, tag_runs
from nlp_judgments.spans import DataError, Document

# One file, by suffix: the ``datasets`` builder that reads it.
FILE_BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".csv": "csv", ".json": "json", ".jsonl": "json"}
# What save_to_disk writes at a folder's top: such a folder is load_from_disk's, not load_dataset's.
SAVED_MARKERS = ("dataset_dict.json", "state.json")
_ROWS_PER_BATCH = 1000  # rows turned into Python objects at a time


def is_table_folder(path: Path) -> bool:
    """Whether ``auto`` reads the folder as a table: saved by ``save_to_disk`` or holding data files."""
    if any((path / name).is_file() for name in (*SAVED_MARKERS, "dataset_info.json")):
        return True
    return any(p.suffix.lower() in FILE_BUILDERS and p.is_file() for p in path.rglob("*"))


def load_table(path: Path, split: str | None = None) -> datasets.Dataset:
    """The table at ``path``: for a DatasetDict, its split ``split`` (or its only split)."""
    if path.is_dir():
        scripts = sorted(p.name for p in path.glob("*.py"))
        if scripts:
            raise DataError(f"holds a loading script ({', '.join(scripts)}); scripts never run here: "
                            "convert the data to Parquet, or point at its data files", path)
    elif path.suffix.lower() not in FILE_BUILDERS:
        raise DataError(f"the datasets format reads folders and {', '.join(FILE_BUILDERS)} files", path)
    try:
        loaded = _load(path)
    except (OSError, ValueError, DatasetsError) as e:
        raise DataError(f"datasets cannot load it: {e}", path) from None
    if not isinstance(loaded, datasets.DatasetDict):
        if split is not None:
            raise DataError(f"split {split!r} asked for, but this is one table without splits (a file is one)", path)
        return loaded
    names = ", ".join(loaded)
    if split is None:
        if len(loaded) == 1:
            return next(iter(loaded.values()))
        raise DataError(f"has splits {names}: name the one to read (data.split, data.dev_split, "
                        "a source's split, or --split)", path)
    if split not in loaded:
        raise DataError(f"has no split {split!r} (splits: {names})", path)
    return loaded[split]


def _load(path: Path) -> datasets.Dataset | datasets.DatasetDict:
    if path.is_dir() and any((path / name).is_file() for name in SAVED_MARKERS):
        return datasets.load_from_disk(str(path))
    with tempfile.TemporaryDirectory(prefix="nlp_judgments-datasets-") as cache:
        if path.is_dir():
            # Absolute: load_dataset("csv") would mean the builder, not a folder named csv.
            return datasets.load_dataset(str(path.resolve()), cache_dir=cache, keep_in_memory=True)
        builder = FILE_BUILDERS[path.suffix.lower()]
        return datasets.load_dataset(builder, data_files=str(path), split="train", cache_dir=cache,
                                     keep_in_memory=True)


def read_datasets(
    path: Path, asm: Assembler, columns: Columns | Mapping[str, Any] | None = None, split: str | None = None
) -> Iterator[Document]:
    """Documents of a table; use :func:`nlp_judgments.data.formats.read_documents` rather than this."""
    cols = Columns.resolve(columns)  # checked now, before the first document is asked for
    return _documents(path, asm, cols, split)


def _documents(path: Path, asm: Assembler, cols: Columns, split: str | None) -> Iterator[Document]:
    table = load_table(path, split)
    present = set(table.column_names)
    if cols.spans in present:
        if cols.text not in present:
            raise DataError(f"spans column {cols.spans!r} needs a text column; {cols.text!r} is not one of "
                            f"{sorted(present)} (set columns.text)", path)
        row_reader = _SpanRows(cols, _class_names(_item(table.features[cols.spans], "label")))
    elif cols.tokens in present and cols.tags in present:
        row_reader = _TagRows(cols, _class_names(table.features[cols.tags]), cols.text in present)
    else:
        wanted = [f"a spans column {cols.spans!r}"] if cols.spans else []
        wanted += [f"token and tag columns {cols.tokens!r} and {cols.tags!r}"] if cols.tags else []
        raise DataError(f"no entity columns: the table has {sorted(present)}; expected {' or '.join(wanted)} "
                        "(set columns)", path)
    id_column = cols.id if cols.id in present else None
    used = [c for c in (cols.text, id_column, *row_reader.columns) if c in present]
    prefix = f"{path.stem}-{split}" if split is not None else path.stem
    index = 0
    for batch in table.select_columns(list(dict.fromkeys(used))).iter(batch_size=_ROWS_PER_BATCH):
        for values in zip(*(batch[c] for c in batch)):
            row = dict(zip(batch, values))
            doc_id = f"{prefix}-{index}" if id_column is None else row[id_column]
            if doc_id is None:
                raise DataError(f"row {index}: no id in column {id_column!r}", path)
            where = f"row {index} (id {doc_id!r})"
            try:
                text, mentions = row_reader.read(row, asm.stats, where)
            except _RowError as e:
                raise DataError(f"{where}: {e}", path) from None
            yield asm.build(str(doc_id), text, mentions, None)
            index += 1


class _RowError(ValueError):
    """A bad cell; the row loop adds path and row."""


class _SpanRows:
    """Rows whose entities are character spans."""

    def __init__(self, cols: Columns, label_names: list[str] | None):
        self.cols, self.label_names = cols, label_names
        self.columns = (cols.spans,)

    def read(self, row: dict, stats: ReadStats, where: str) -> tuple[str, list[Mention]]:
        text = _text(row, self.cols.text)
        value = _decoded(row[self.cols.spans], self.cols.spans)
        if isinstance(value, dict):  # a datasets Sequence of a dict: {start: [...], end: [...], label: [...]}
            value = [dict(zip(value, items)) for items in zip(*value.values())]
        if not isinstance(value, list):
            raise _RowError(f"column {self.cols.spans!r} must hold a list of spans, got {type(value).__name__}")
        return text, [self._mention(item, text) for item in value]

    def _mention(self, item: object, text: str) -> Mention:
        if isinstance(item, dict) and {"start", "end", "label"} <= item.keys():
            start, end, label = item["start"], item["end"], item["label"]
        elif isinstance(item, (list, tuple)) and len(item) == 3:
            start, end, label = item
        else:
            raise _RowError(f"span {item!r} needs start, end and label")
        if type(label) is int and self.label_names is not None and 0 <= label < len(self.label_names):
            label = self.label_names[label]
        if not isinstance(label, str):
            raise _RowError(f"span {item!r}: the label must be a string or a ClassLabel id")
        quoted = item.get("text") if isinstance(item, dict) else None
        in_range = type(start) is int and type(end) is int and 0 <= start < end <= len(text)
        # Out-of-range offsets are the assembler's to report; here only the quoted text is checked.
        if isinstance(quoted, str) and in_range and text[start:end] != quoted:
            raise _RowError(f"span text {quoted!r} differs from text[{start}:{end}] = {text[start:end]!r}")
        return Mention(start, end, label, None)


class _TagRows:
    """Rows whose entities are tokens with one tag each, placed in the text or joined into one."""

    def __init__(self, cols: Columns, tag_names: list[str] | None, has_text: bool):
        self.cols, self.tag_names, self.has_text = cols, tag_names, has_text
        self.columns = (cols.tokens, cols.tags)

    def read(self, row: dict, stats: ReadStats, where: str) -> tuple[str, list[Mention]]:
        tokens = _decoded(row[self.cols.tokens], self.cols.tokens)
        tags = self._tag_strings(_decoded(row[self.cols.tags], self.cols.tags))
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise _RowError(f"column {self.cols.tokens!r} must hold a list of strings")
        if len(tokens) != len(tags):
            raise _RowError(f"{len(tokens)} tokens but {len(tags)} tags")
        if self.has_text:
            text = _text(row, self.cols.text)
            offsets = locate_tokens(tokens, text)
        else:
            text, joined = join_tokens(tokens, self.cols.joiner)
            offsets = [span if token else None for token, span in zip(tokens, joined)]
            stats.note("datasets: texts joined from tokens", f"{where}: {text[:30]!r}")
        for k, (token, at) in enumerate(zip(tokens, offsets)):
            if at is None:
                kind = "datasets: tokens not found in the text" if token else "datasets: empty tokens"
                stats.note(kind, f"{where}: token {k} {token!r}")
        try:
            runs = tag_runs(tags, stats, "datasets")
        except BadTag as e:
            raise _RowError(f"tag {e.index}: {e}") from None
        mentions = []
        for run in runs:
            first, last = offsets[run.first], offsets[run.last]
            if first is None or last is None:
                stats.note("datasets: spans on tokens not found, dropped",
                           f"{where}: {run.label} on tokens {run.first}-{run.last}")
                continue
            mentions.append(Mention(first[0], last[1], run.label, None))
        return text, mentions

    def _tag_strings(self, tags: object) -> list:
        if not isinstance(tags, list):
            raise _RowError(f"column {self.cols.tags!r} must hold a list of tags")
        if self.tag_names is None:
            if any(type(t) is int for t in tags):
                raise _RowError(f"column {self.cols.tags!r} holds integer tags without a ClassLabel feature "
                                "naming them; store the tag strings, or cast the column to ClassLabel")
            return tags
        names = self.tag_names
        return [names[t] if type(t) is int and 0 <= t < len(names) else t for t in tags]


def _text(row: dict, column: str) -> str:
    text = row[column]
    if not isinstance(text, str):
        raise _RowError(f"missing or non-string text in column {column!r}")
    return text


def _decoded(value: object, column: str) -> object:
    """A cell's list, also when a CSV file holds it as a JSON string."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise _RowError(f"column {column!r} holds {value[:40]!r}: not a list, nor a JSON string of one") from None


def _item(feature: object, key: str) -> object:
    """The feature of ``key`` inside a list of dicts (or a Sequence of a dict); None if there is none."""
    feature = getattr(feature, "feature", feature)  # List/Sequence wrap their item
    return feature.get(key) if isinstance(feature, dict) else None


def _class_names(feature: object) -> list[str] | None:
    """The names of the ClassLabel inside ``feature`` (through list wrappers), or None."""
    while feature is not None and not isinstance(feature, datasets.ClassLabel):
        feature = getattr(feature, "feature", None)
    return list(feature.names) if feature is not None else None
