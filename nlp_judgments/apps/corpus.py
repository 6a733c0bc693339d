"""Corpus tagging: many documents in, one JSON line per document out; streaming, resumable, sharded.

Inputs are JSONL files of ``{"id", "text"}`` objects, ``.txt`` files, folders of ``.txt`` files
(searched recursively; the id is the path inside the folder without ``.txt``), or ``-`` for JSONL
on stdin. Every input document yields exactly one output line:

- ``{"id", "source", "chars", "entities"?, "record"?, "text"?}`` for a tagged document;
- ``{"id", "source", "error"}`` for one that could not be tagged (invalid UTF-8, malformed JSON,
  no id, empty or over-long text, a failure inside the model...), whatever its input line holds.
  ``id`` is ``null`` when the input gave no usable, unique id; ``source`` (``file:line`` or the
  file) always says where it came from.

Memory stays flat in corpus size: documents are read, tagged and written a chunk at a time (only
the set of written ids grows). Resuming: re-running the same command reads the output, skips
documents already written and cuts a partial last line left by a crash, so each document appears
once; an existing file that is not ``tag`` output, or an output that is also an input, is refused
and left untouched (``corpus_output.py``). Sharding: under ``accelerate launch`` (or ``--shard
RANK/WORLD``) process ``r`` of ``n`` takes documents ``r, r + n, ...`` of the input stream and
writes ``OUT.shard-r-of-n``; no collective communication is needed, only a shared file system. The
process of rank 0 waits for every shard's ``.done`` marker and appends the shards to ``OUT`` (in
shard order, not input order).

Parquet: an output named ``*.parquet`` gets the same rows as typed columns (and a records table
beside it with ``--records``), written as a part file per chunk and merged when the stream is done;
resuming, refusing a foreign file and sharding work as above (``parquet_output.py``).

Not here: the model (``tagger.py``), record building (``records.py``), the output file's lines and
the checks that protect it (``corpus_output.py``), Parquet files (``parquet_output.py``, ``parquet_rows.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Container, Iterable, Iterator, Sequence

from tqdm import tqdm

from nlp_judgments.apps.corpus_output import (
    ResumableWriter,
    check_output_path,
    dump_line,
    line_key,
    read_output,
)
from nlp_judgments.apps.parquet_output import (
    PartWriter,
    check_paths,
    is_parquet,
    merge_parts,
    shard_marker,
)
from nlp_judgments.apps.parquet_rows import options_of
from nlp_judgments.data.inputs import (
    STDIN,
    InputDoc,
    check_text,
    count_documents,
    iter_documents,
)
from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.spans import Document

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Tagging
# --------------------------------------------------------------------------------------------


@dataclass
class TagOptions:
    records: bool = False  # add a case record (model + rule spans) to every line
    entities: bool = True  # keep the entity list (with records, only if asked for)
    include_text: bool = False  # copy the text into the line (for `nlp-judgments review`)
    max_chars: int = 200_000  # longer texts become error lines; judgments run to tens of thousands
    chunk_chars: int = 100_000  # characters read, tagged and written together
    progress: bool = True


@dataclass
class TagStats:
    docs: int = 0  # tagged in this run
    errors: int = 0  # error lines written in this run
    skipped: int = 0  # already in the output
    chars: int = 0
    entities: int = 0
    seconds: float = 0.0
    error_reasons: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        s = self.seconds or float("nan")
        return {"docs": self.docs, "errors": self.errors, "skipped": self.skipped, "chars": self.chars,
                "entities": self.entities, "seconds": round(self.seconds, 3),
                "docs_per_second": round(self.docs / s, 2) if self.seconds else None,
                "chars_per_second": round(self.chars / s) if self.seconds else None,
                "error_reasons": dict(sorted(self.error_reasons.items(), key=lambda kv: -kv[1])[:10])}


def _error_line(doc: InputDoc, reason: str) -> dict:
    return {"id": doc.id, "source": doc.source, "error": reason}


def _tag_chunk(tagger, docs: list[InputDoc], opts: TagOptions) -> list[dict]:
    """Output lines for ``docs``, in order. A failure inside the model becomes the failing
    document's error line (a chunk that fails is retried one document at a time to find it), and a
    failure of the record builder that document's error line: one document, never the run."""

    try:
        tagged = tagger.tag([d.text for d in docs])
    except Exception as e:
        if len(docs) > 1:
            return [line for d in docs for line in _tag_chunk(tagger, [d], opts)]
        log.debug("tagging failed for %s", docs[0].source, exc_info=True)
        return [_error_line(docs[0], f"tagging failed: {type(e).__name__}: {e}"[:500])]
    lines = []
    for doc, entities in zip(docs, tagged):
        line = {"id": doc.id, "source": doc.source, "chars": len(doc.text)}
        if opts.entities or not opts.records:
            line["entities"] = [e.to_dict() for e in entities]
        if opts.records:
            try:
                line["record"] = tagger.record(doc.text, entities)
            except Exception as e:
                log.debug("record failed for %s", doc.source, exc_info=True)
                lines.append(_error_line(doc, f"building the record failed: {type(e).__name__}: {e}"[:500]))
                continue
        if opts.include_text:
            line["text"] = doc.text
        lines.append(line)
    return lines


def _chunks(docs: Iterable[InputDoc], chunk_chars: int) -> Iterator[list[InputDoc]]:
    chunk, size = [], 0
    for doc in docs:
        chunk.append(doc)
        size += len(doc.text or "")
        if size >= chunk_chars:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _reason_kind(reason: str) -> str:
    """A reason with its specifics dropped, for counting: ``malformed JSON``, ``text has N characters``."""
    return re.sub(r"\d+", "N", reason.split(":")[0].split(" (")[0])[:80]


def tag_stream(make_tagger: Callable[[], object], docs: Iterable[InputDoc], write: Callable[[dict], None],
               done: Container[str], opts: TagOptions, total: int | None = None,
               on_chunk: Callable[[], None] | None = None) -> TagStats:
    """Tag the ``docs`` whose key is not in ``done`` and ``write`` one line for each.

    ``make_tagger`` is called once, when the first document needs the model, so a finished run
    resumes without loading it.
    """

    stats = TagStats()
    tagger = None
    t0 = time.perf_counter()
    bar = tqdm(total=total, unit="doc", dynamic_ncols=True, disable=not opts.progress, file=sys.stderr)

    def record(line: dict) -> None:
        write(line)
        if "error" in line:
            stats.errors += 1
            kind = _reason_kind(line["error"])
            stats.error_reasons[kind] = stats.error_reasons.get(kind, 0) + 1
        else:
            stats.docs += 1
            stats.chars += line["chars"]
            stats.entities += len(line.get("entities", ()))

    def todo() -> Iterator[InputDoc]:
        for doc in docs:
            if doc.key in done:
                stats.skipped += 1
                bar.update()
                continue
            reason = doc.error or check_text(doc.text, opts.max_chars)
            if reason:
                record(_error_line(doc, reason))
                bar.update()
                continue
            yield doc

    for chunk in _chunks(todo(), opts.chunk_chars):
        tagger = tagger or make_tagger()
        for line in _tag_chunk(tagger, chunk, opts):
            record(line)
        if on_chunk:
            on_chunk()
        bar.update(len(chunk))
        bar.set_postfix_str(f"{stats.chars / (time.perf_counter() - t0):,.0f} chars/s, {stats.errors} errors", refresh=False)
    bar.close()
    stats.seconds = time.perf_counter() - t0
    return stats


# --------------------------------------------------------------------------------------------
# Shards
# --------------------------------------------------------------------------------------------


def shard_from_env() -> tuple[int, int]:
    """``(rank, world)`` as set by ``accelerate launch`` / ``torchrun``; ``(0, 1)`` otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _fingerprint(inputs: Sequence[str | Path], opts: TagOptions) -> str:
    """What a shard's ``.done`` marker vouches for: the same inputs (paths, sizes, times), the same options."""
    h = hashlib.sha256(json.dumps([opts.records, opts.entities, opts.include_text, opts.max_chars]).encode())
    for item in inputs:
        path = Path(item)
        files = sorted(path.rglob("*.txt")) if path.is_dir() else [path]
        for f in files:
            st = f.stat()
            h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _merge_shards(output: Path, parts: list[Path]) -> None:
    """Append every shard to ``output`` and remove the shards.

    Safe to interrupt: a re-run merges again and skips the lines already in ``output``. An id
    found in two shards (duplicated across the input) keeps its first line; the later document
    gets an error line, as a duplicate within one shard does.
    """
    with ResumableWriter(output) as out:
        for part in parts:
            with part.open("rb") as f:
                for raw in f:
                    if not raw.endswith(b"\n"):
                        break
                    obj = json.loads(raw)
                    key, source = line_key(obj), obj.get("source")
                    if key not in out.done:
                        out.write(obj)
                    elif out.done[key] != source and source not in out.done:
                        out.write({"id": None, "source": source, "error": f"duplicate id {key!r} (first at {out.done[key]})"})
    for part in parts:
        part.unlink()
        Path(f"{part}.done").unlink(missing_ok=True)


def tag_corpus(make_tagger: Callable[[], object], inputs: Sequence[str | Path], output: Path | None,
               opts: TagOptions, shard: tuple[int, int] | None = None, poll_seconds: float = 1.0) -> TagStats:
    """Tag every document of ``inputs`` into ``output`` (stdout when ``None``); see the module docstring.

    ``shard`` is ``(rank, world)``; by default it comes from ``accelerate launch``'s environment.
    Returns this process's statistics.
    """
    rank, world = shard or shard_from_env()
    if not 0 <= rank < world:
        raise ValueError(f"shard {rank}/{world}: the rank must be in [0, world)")
    if world > 1 and (output is None or STDIN in map(str, inputs)):
        raise ValueError("sharded tagging reads files, not stdin, and needs an output file (-o)")
    if output is not None:
        output = Path(output)
        (check_paths if is_parquet(output) else check_output_path)(output, inputs)  # before anything is read
    total = count_documents(inputs)
    if total is not None:
        total = len(range(rank, total, world))
    docs = iter_documents(inputs, (rank, world))

    if output is None:
        return tag_stream(make_tagger, docs, lambda o: print(dump_line(o), flush=True), set(), opts, total)
    if is_parquet(output):
        return _tag_parquet(make_tagger, inputs, docs, output, opts, total, rank, world, poll_seconds)
    if world == 1:
        with ResumableWriter(output) as out:
            if out.done:
                log.info("%s: %d documents already written; resuming", output, len(out.done))
            stats = tag_stream(make_tagger, docs, out.write, out.done, opts, total, on_chunk=out.sync)
        _say_if_nothing_to_do(output, stats)
        return stats

    part = output.with_name(f"{output.name}.shard-{rank}-of-{world}")
    marker = Path(f"{part}.done")
    fingerprint = _fingerprint(inputs, opts)
    marker.unlink(missing_ok=True)
    merged, _ = read_output(output)  # a previous run merged some shards already (refuses a foreign file)
    with ResumableWriter(part) as out:
        stats = tag_stream(make_tagger, docs, out.write, merged.keys() | out.done.keys(), opts, total,
                           on_chunk=out.sync)
    marker.write_text(fingerprint)
    if rank == 0:
        parts = [output.with_name(f"{output.name}.shard-{r}-of-{world}") for r in range(world)]
        _wait_for_shards([Path(f"{p}.done") for p in parts], fingerprint, poll_seconds)
        _merge_shards(output, parts)
        log.info("merged %d shards into %s", world, output)
    return stats


def _say_if_nothing_to_do(output: Path, stats: TagStats) -> None:
    if stats.skipped and not stats.docs + stats.errors:
        log.info("%s: nothing to do: all %d input documents are already in it", output, stats.skipped)


def _wait_for_shards(markers: list[Path], fingerprint: str, poll_seconds: float) -> None:
    """Until every shard's marker vouches for this run's inputs and options (rank 0 merges then)."""
    log.info("rank 0: waiting for %d shards to finish", len(markers))
    while not all(m.is_file() and m.read_text() == fingerprint for m in markers):
        time.sleep(poll_seconds)


def _tag_parquet(make_tagger: Callable[[], object], inputs: Sequence[str | Path], docs: Iterable[InputDoc],
                 output: Path, opts: TagOptions, total: int | None, rank: int, world: int,
                 poll_seconds: float) -> TagStats:
    """``tag_corpus`` into Parquet (``parquet_output.py``): parts per chunk, merged by rank 0 when all are in."""
    options = options_of(opts.records, opts.entities or not opts.records, opts.include_text)
    with PartWriter(output, options, (rank, world)) as out:
        shard_marker(output, rank, world).unlink(missing_ok=True)
        if out.done:
            log.info("%s: %d documents already written; resuming", output, len(out.done))
        stats = tag_stream(make_tagger, docs, out.write, out.done, opts, total, on_chunk=out.flush)
    if world > 1:
        fingerprint = _fingerprint(inputs, opts)
        shard_marker(output, rank, world).write_text(fingerprint)
        if rank != 0:
            return stats
        _wait_for_shards([shard_marker(output, r, world) for r in range(world)], fingerprint, poll_seconds)
    merged = merge_parts(output, options)
    log.debug("%s: merged %d parts", output, merged)
    _say_if_nothing_to_do(output, stats)
    return stats


# --------------------------------------------------------------------------------------------
# Rule spans for a corpus (silver training data)
# --------------------------------------------------------------------------------------------


def prelabel_files(inputs: list[Path], output: Path, progress: bool = True) -> dict:
    """Pre-label every document in ``inputs`` and write span JSONL to ``output``; return statistics.

    Inputs are JSONL files with ``id`` and ``text`` or folders of ``.txt`` files (the id is the
    file's relative path without suffix). A document that fails becomes an error line
    ``{"id", "error"}`` in the output and the run goes on. Statistics: ``docs``, ``chars``,
    ``spans`` (per label), ``errors``, ``seconds``, ``docs_per_second``, ``chars_per_second``.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    stats: dict = {"docs": 0, "chars": 0, "spans": Counter(), "errors": 0}
    t0 = time.perf_counter()
    with output.open("w", encoding="utf-8") as out:
        for item in iter_documents(list(inputs)):
            doc_id, text, error = item.id, item.text, item.error
            if error is None:
                try:
                    doc = Document(doc_id, text, prelabel_text(text))
                except Exception as e:  # one odd document must not stop a corpus run
                    error = f"{type(e).__name__}: {e}"
            if error is not None:
                stats["errors"] += 1
                out.write(json.dumps({"id": doc_id, "source": item.source, "error": error}, ensure_ascii=False) + "\n")
                continue
            stats["docs"] += 1
            stats["chars"] += len(text)
            stats["spans"].update(s.label for s in doc.spans)
            out.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
            if progress and stats["docs"] % 100 == 0:
                print(f"prelabel: {stats['docs']} documents", file=sys.stderr)
    seconds = time.perf_counter() - t0
    stats["spans"] = dict(sorted(stats["spans"].items()))
    stats["seconds"] = round(seconds, 3)
    stats["docs_per_second"] = round(stats["docs"] / seconds, 1) if seconds else None
    stats["chars_per_second"] = round(stats["chars"] / seconds) if seconds else None
    return stats
