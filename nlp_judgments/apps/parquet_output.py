"""Parquet output of ``tag`` (``-o corpus.parquet``): written a chunk at a time, resumable, merged at the end.

``corpus.parquet`` is the ``documents`` table; with ``--records``, ``corpus.records.parquet`` beside it
is the ``records`` table (columns in ``parquet_rows.py``).

Crash safety. A Parquet file is readable only once its footer is written, so rows cannot be appended
to the output the way JSON lines are. Each chunk's rows become one part file in a hidden folder
beside the output, ``.corpus.parquet.parts/`` (the documents' rows, each with its records rows
nested), written under a temporary name and renamed into place: a rename is atomic, so a part is
whole or absent, and a kill at any moment loses at most the chunk being written. Resuming reads
the keys (the id, or the source of an error row without one) of the output and of the run's own
parts, and skips those documents, as resuming JSONL does with its lines. Parts are not synced to disk (a
sync per chunk showed in ``benchmarks/parquet_speed.py``): every page carries a checksum, and a
part that a power cut left without its data fails it on resume, is removed, and its documents are
tagged again.

When every document is in, the output's row groups and then the parts' rows are streamed into
temporary files that are renamed over the output and the records file (in that order), and the
parts are removed. A row group gathers parts up to ``ROW_GROUP_BYTES``: a row group per
100,000-character chunk would give a corpus of millions of judgments a footer of hundreds of
megabytes. A kill during the merge leaves the old output or the new one, and the parts: merging
again skips every row whose key the output holds already (a records row, whose document id the
records file holds), so no row is lost or doubled. The merged files are synced before any part
is removed.

As with JSONL, an existing output or records file that is not a Parquet file with ``tag``'s
metadata in its schema is refused (one line) and left byte-identical; so is one written with other
options (``--records``, ``--entities``, ``--include-text``: a table holds one kind of row) or by
another format version. A lock makes a second run on one output an error, not a corrupted file.

Shards: rank ``r`` of ``n`` writes parts ``r-of-n.*`` into the same folder, then a ``r-of-n.done``
marker; rank 0 merges every part, in rank order (``corpus.py``). An id found in two shards keeps
its first row and the later document becomes an error row, as in a JSONL merge.

Not here: the columns and rows (``parquet_rows.py``), tagging and the shard protocol
(``corpus.py``), JSONL output (``corpus_output.py``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from nlp_judgments.apps.corpus_output import NotOurOutput, check_output_path, line_key
from nlp_judgments.apps.parquet_rows import (
    FORMAT_VERSION,
    document_row,
    metadata,
    part_table,
    schema,
    split_part,
)

log = logging.getLogger(__name__)

ROW_GROUP_BYTES = 64 << 20  # Arrow bytes gathered into one row group of the merged file
MAX_BUFFERED_ROWS = 10_000  # rows held before a part is written mid-chunk (a long run of unreadable lines)
COMPRESSION = "zstd"  # the output: a tenth of the JSONL's size, at a cost small next to tagging
PART_COMPRESSION = "lz4"  # parts live until the merge: the fastest codec that still halves them
_PART = re.compile(r"(\d+)-of-(\d+)\.(\d+)\.parquet")  # rank-of-world.sequence.parquet


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".parquet"


def records_path(output: Path) -> Path:  # corpus.parquet -> corpus.records.parquet
    return output.with_name(f"{output.stem}.records{output.suffix}")


def parts_folder(output: Path) -> Path:
    return output.with_name(f".{output.name}.parts")


def shard_marker(output: Path, rank: int, world: int) -> Path:
    return parts_folder(output) / f"{rank}-of-{world}.done"


def check_paths(output: Path, inputs: Sequence[str | Path]) -> None:
    """``check_output_path`` for the output and its records file; the parts folder must be a folder."""
    check_output_path(output, inputs)
    check_output_path(records_path(output), inputs)
    folder = parts_folder(output)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder}: not a folder; it is where the parts of {output.name} go: move it away")


def _flags(options: object) -> str:
    o = options if isinstance(options, dict) else {}
    return ", ".join(f"{k}: {'yes' if o.get(k) else 'no'}" for k in ("records", "entities", "include_text"))


def _has_rows(path: Path, table: str, options: dict) -> bool:
    """Whether ``path`` holds a ``tag`` table (False when absent or empty); raises ``ValueError``
    when it is not ``table`` of ``tag`` (:class:`NotOurOutput`), or was written with other options."""
    if not path.exists() or path.stat().st_size == 0:  # an empty file holds nothing to lose, as for JSONL
        return False
    try:
        meta = metadata(pq.read_schema(path))
    except pa.ArrowException:  # ArrowInvalid: no Parquet footer
        raise NotOurOutput(path, None, "not a Parquet file") from None
    except OSError as e:  # a damaged footer says so without an errno; a permission error has one
        if e.errno is not None:
            raise
        raise NotOurOutput(path, None, "not a readable Parquet file") from None
    _check(path, meta, table, options)
    return True


def _check(path: Path, meta: dict | None, table: str, options: dict) -> None:
    if meta is None or meta.get("table") != table:
        raise NotOurOutput(path, None, f"a Parquet file without the metadata of `tag`'s {table} table")
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: written by another version of `tag` (format {meta.get('version')}, this one "
                         f"writes {FORMAT_VERSION}); give -o a new file")
    if meta.get("options") != options:
        raise ValueError(f"{path}: written by a `tag` run with {_flags(meta.get('options'))}; this run has "
                         f"{_flags(options)}, and a table holds one kind of row. Give the same options to resume, "
                         "or -o a new file")


def _read_keys(table: pa.Table, into: dict[str, str]) -> None:
    for doc_id, source in zip(table["id"].to_pylist(), table["source"].to_pylist()):
        into[doc_id if doc_id is not None else source] = source


def _read_part(part: Path) -> pa.Table | None:
    """A part's table, every page checked against its checksum; ``None`` when it cannot be read (a
    power cut left it without its data: see the module docstring), and then it is removed."""
    try:
        return pq.read_table(part, page_checksum_verification=True)
    except (pa.ArrowException, OSError) as e:
        if isinstance(e, OSError) and e.errno is not None:  # a permission error: the user's to fix
            raise
        log.warning("%s: unreadable (%s); removed: its documents are tagged again", part, e)
        part.unlink()
        return None


def _sync(path: Path) -> None:  # a file's data, or a folder's entries, on disk
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_part(table: pa.Table, path: Path) -> None:
    """``table`` as ``path``, whole or not at all: written beside it, then renamed."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(table, tmp, compression=PART_COMPRESSION, write_page_checksum=True)
        os.replace(tmp, path)
    except OSError as e:  # say which file: pyarrow's message for a full disk names none
        raise OSError(e.errno, e.strerror or str(e), str(path)) from e


def _parts(folder: Path) -> list[Path]:
    """The parts in ``folder`` in merge order: by world, rank, then sequence."""
    found = [(tuple(int(g) for g in (m[2], m[1], m[3])), p) for p in folder.iterdir()
             if (m := _PART.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


class _Lock:
    """An exclusive ``flock`` on ``path`` (created, and removed on release) for the life of a run."""

    def __init__(self, path: Path, output: Path):
        for _ in range(3):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # a finishing merge removed the folder between the two calls
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    self.path, self._fd = path, fd
                    return
            except BlockingIOError:
                os.close(fd)
                raise ValueError(f"{output}: another run is writing to this output") from None
            except FileNotFoundError:
                pass
            os.close(fd)  # the run before removed this lock file after we opened it: take a fresh one
        raise ValueError(f"{output}: another run is writing to this output")

    def release(self) -> None:
        try:
            self.path.unlink(missing_ok=True)  # while still held, so that no one locks a removed file
        finally:
            os.close(self._fd)


class PartWriter:
    """Takes ``tag``'s output lines and writes them as parts (see the module docstring). ``done``
    maps the key of each document already written to its source, as ``ResumableWriter.done`` does."""

    def __init__(self, output: Path, options: dict, shard: tuple[int, int] = (0, 1)):
        self.output, self.options, self.folder = Path(output), options, parts_folder(Path(output))
        self.done: dict[str, str] = {}
        # Every check before the folder is made or anything is written.
        has_documents = _has_rows(self.output, "documents", options)
        if options["records"] and _has_rows(records_path(self.output), "records", options) and not has_documents:
            raise ValueError(f"{records_path(self.output)}: the records of an output that is not there "
                             f"({self.output.name}); move it away, or give -o a new file")
        if has_documents:
            _read_keys(pq.read_table(self.output, columns=["id", "source"]), self.done)
        prefix = f"{shard[0]}-of-{shard[1]}"
        self._lock = _Lock(self.folder / f"lock-{prefix}", self.output)
        try:
            self._seq = self._resume(prefix)
        except BaseException:
            self._lock.release()
            raise
        self._prefix, self._lines = prefix, []

    def _resume(self, prefix: str) -> int:
        """Remove this shard's half-written files, read its parts' keys; the next sequence number.
        Only this shard's parts count as done, so that a document whose id another shard holds
        still gets its duplicate row; another layout's parts (a killed ``--shard`` run resumed
        without) are merged all the same, and their documents tagged again."""
        for tmp in self.folder.glob(f"{prefix}.*.tmp"):
            tmp.unlink()
        seq, kept = 0, 0
        for part in _parts(self.folder):
            if not part.name.startswith(prefix + "."):
                try:
                    meta = metadata(pq.read_schema(part))
                except (pa.ArrowException, OSError):
                    continue  # unreadable: the merge removes it (its documents are tagged in this run)
                _check(part, meta, "part", self.options)  # refused now, not after the whole run
                continue
            seq = max(seq, int(_PART.fullmatch(part.name)[3]) + 1)
            table = _read_part(part)
            if table is not None:
                _check(part, metadata(table.schema), "part", self.options)
                _read_keys(table, self.done)
                kept += 1
        if kept:
            log.info("%s: %d parts of an unfinished run are kept", self.folder, kept)
        return seq

    def write(self, line: dict) -> None:
        self._lines.append(line)
        self.done[line_key(line)] = line["source"]
        if len(self._lines) >= MAX_BUFFERED_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            _write_part(part_table(self._lines, self.options), self.folder / f"{self._prefix}.{self._seq:06d}.parquet")
            self._seq += 1
            self._lines = []

    def close(self) -> None:
        try:
            self.flush()  # an interrupted run keeps what it tagged
        finally:
            self._lock.release()

    def __enter__(self) -> "PartWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _RowGroups:
    """Tables gathered into row groups of about ``ROW_GROUP_BYTES``, written to a Parquet file."""

    def __init__(self, writer: pq.ParquetWriter):
        self.writer, self.tables, self.size = writer, [], 0

    def add(self, table: pa.Table) -> None:
        if table.num_rows:
            self.tables.append(table)
            self.size += table.nbytes
        if self.size >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.tables:
            self.writer.write_table(pa.concat_tables(self.tables))
        self.tables, self.size = [], 0


class _NewDocuments:
    """Drops the part rows whose key an earlier row has (a merge run again); a document whose id
    an earlier document of another source has (two shards) becomes an error row, as in JSONL.
    ``ours``: the ids of the part's documents that are in the output, now or from before."""

    def __init__(self):
        self.seen: dict[str, str] = {}
        self.ours: set[str] = set()

    def __call__(self, table: pa.Table, base: bool) -> pa.Table:
        keep, errors, self.ours = [], [], set()
        for doc_id, source in zip(table["id"].to_pylist(), table["source"].to_pylist()):
            key = doc_id if doc_id is not None else source
            keep.append(base or key not in self.seen)
            if keep[-1] or self.seen[key] == source:
                self.seen[key] = source
                self.ours.add(doc_id)
            elif source not in self.seen:
                errors.append({"id": None, "source": source, "error": f"duplicate id {key!r} (first at {self.seen[key]})"})
                self.seen[source] = source
        if all(keep):
            return table
        return pa.concat_tables([table.filter(pa.array(keep)),
                                 pa.Table.from_pylist([document_row(e) for e in errors], schema=table.schema)])


class _NewRecords:
    """Keeps the part rows of the documents the documents table kept (``documents.ours``, not a
    duplicate id) that the records file does not hold yet."""

    def __init__(self, documents: _NewDocuments):
        self.documents, self.seen = documents, set()

    def __call__(self, table: pa.Table, base: bool) -> pa.Table:
        ids = table["id"].to_pylist()
        keep = [base or (i not in self.seen and i in self.documents.ours) for i in ids]
        self.seen.update(ids)  # after the whole part: a document's defendants are rows of one part
        return table if all(keep) else table.filter(pa.array(keep))


class _Merged:
    """One table of the merge: ``final``'s rows, then what ``select`` keeps of each part's, written
    to ``tmp``; ``commit`` renames it over ``final``, or drops it when the parts added nothing."""

    def __init__(self, final: Path, tmp: Path, table: str, options: dict, select):
        self.final, self.tmp, self.select, self.added = final, tmp, select, 0
        self.existed = final.exists() and final.stat().st_size > 0
        self.writer = pq.ParquetWriter(tmp, schema(table, options), compression=COMPRESSION)
        self.groups = _RowGroups(self.writer)
        if self.existed:
            base = pq.ParquetFile(final)
            for i in range(base.num_row_groups):
                self.groups.add(select(base.read_row_group(i), True))

    def add(self, table: pa.Table) -> None:
        new = self.select(table, False)
        self.added += new.num_rows
        self.groups.add(new)

    def commit(self) -> None:
        self.groups.flush()
        self.writer.close()
        if self.existed and not self.added:  # a merge run again after a kill: nothing new
            self.tmp.unlink()
            return
        _sync(self.tmp)
        os.replace(self.tmp, self.final)


def merge_parts(output: Path, options: dict) -> int:
    """Merge every part into ``output`` (and its records file), then remove the parts; the number merged.

    Writes an empty output (with every column) when a run had no document at all.
    """
    folder = parts_folder(output)
    finals = [output] + ([records_path(output)] if options["records"] else [])
    if not folder.is_dir() and all(f.exists() for f in finals):
        return 0
    lock = _Lock(folder / "lock-merge", output)
    try:
        parts = _parts(folder)
        if parts or not all(f.exists() for f in finals):
            documents = _NewDocuments()
            tables = [_Merged(output, folder / "merge-documents.parquet.tmp", "documents", options, documents)]
            if options["records"]:
                tables.append(_Merged(finals[1], folder / "merge-records.parquet.tmp", "records", options,
                                      _NewRecords(documents)))
            for part in parts:
                read = _read_part(part)
                for merged, table in zip(tables, split_part(read, options) if read is not None else ()):
                    merged.add(table)  # documents first: the records keep what it kept
            for merged in tables:  # documents first: it says which documents are done
                merged.commit()
            _sync(output.parent)  # the new files on disk before the parts go
        for path in [*parts, *folder.glob("*.done")]:
            path.unlink(missing_ok=True)  # an unreadable part is gone already
    finally:
        lock.release()
    try:
        folder.rmdir()
    except OSError:  # files a killed run of another shard layout left, or a run that has just started
        log.warning("%s: kept: it holds files of another run (%s)", folder,
                    ", ".join(sorted(p.name for p in folder.iterdir())[:5]))
    return len(parts)
