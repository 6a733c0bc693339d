"""The output file of ``tag``: what its lines are, where it may go, resuming it without losing a byte.

Every line ``tag`` writes is a JSON object that starts with ``{"id"``, holds ``id`` (a string or
null) and ``source`` (a string), has only keys of :data:`OUTPUT_KEYS`, and has ``chars`` (a tagged
document) or ``error``. That is how an existing file is known to be ours: a non-empty file whose
complete lines are not all such lines, or whose unfinished last line does not start like one, is
refused with a one-line error and left byte-identical. Resuming cuts a partial last line (a line
without its newline: a crash mid-write) and nothing else. An output that is also an input, or not a
regular file, is refused before anything is opened. Lines are UTF-8 whatever they echo back: a lone
surrogate in a message is written out as the text ``\\udXXX``.

Not here: reading inputs (``data.inputs``), tagging and shards (``apps.corpus``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import stat
import sys
from pathlib import Path
from typing import IO, Sequence

from nlp_judgments.data.inputs import STDIN

log = logging.getLogger(__name__)

OUTPUT_KEYS = frozenset({"id", "source", "chars", "entities", "record", "text", "error"})
_LINE_START = b'{"id"'  # json.dumps of our lines: "id" is always the first key
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotOurOutput(ValueError):
    """An existing file given as the output that ``tag`` did not write: it must not be touched."""

    def __init__(self, path: Path, lineno: int | None, why: str):  # lineno: None for a Parquet file
        where = why if lineno is None else f"line {lineno}: {why}"
        super().__init__(f"{path}: not the output of `tag` ({where}); refusing to write to it. "
                         "Give -o a new file, or the output of an earlier `tag` run to resume it")


def line_key(obj: dict) -> str:
    """What resuming matches a line on: its id, or its source when it has none."""
    return obj["id"] if obj.get("id") is not None else obj["source"]


def is_output_line(obj: object) -> bool:
    """Whether ``obj`` (a parsed line) is a line ``tag`` writes.

    >>> is_output_line({"id": "a", "source": "in.jsonl:1", "chars": 3, "entities": []})
    True
    >>> is_output_line({"id": "a", "text": "被告人张某"})  # an input line
    False
    """
    return (isinstance(obj, dict) and obj.keys() <= OUTPUT_KEYS and isinstance(obj.get("source"), str)
            and "id" in obj and (obj["id"] is None or isinstance(obj["id"], str))
            and (isinstance(obj.get("error"), str) or isinstance(obj.get("chars"), int)))


def dump_line(obj: dict) -> str:
    r"""``obj`` as one JSON line (without the newline) that encodes as UTF-8.

    Ids and sources are safe already (``data.inputs``); this catches what else is echoed back, such
    as an exception's message. A lone surrogate becomes the text ``\udXXX`` (escaped once more, so
    that JSON does not read it back as the surrogate itself).

    >>> dump_line({"id": None, "error": "bad \ud800"})
    '{"id": null, "error": "bad \\\\ud800"}'
    """
    line = json.dumps(obj, ensure_ascii=False)
    if _SURROGATE.search(line):  # only inside strings: json.dumps writes everything else in ASCII
        line = _SURROGATE.sub(lambda m: f"\\\\u{ord(m.group()):04x}", line)
    return line


def read_output(path: Path) -> tuple[dict[str, str], int]:
    """The lines of ``tag`` output ``path`` as ``{key: source}``, and the length in bytes of its
    complete lines (what a resume keeps). Raises :class:`NotOurOutput` when ``path`` holds anything
    else; a missing or empty file is an empty output."""
    done: dict[str, str] = {}
    good = 0
    if not path.exists():
        return done, good
    with path.open("rb") as f:
        head = f.read(len(_LINE_START))
        if head and not _LINE_START.startswith(head):
            raise NotOurOutput(path, 1, "it does not start with '{\"id\"'")  # before reading a huge first line
        f.seek(0)
        for lineno, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                if not (raw.startswith(_LINE_START) or _LINE_START.startswith(raw)):
                    raise NotOurOutput(path, lineno, "an unfinished last line that is not the start of one of ours")
                break
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, too deep, too long a number
                raise NotOurOutput(path, lineno, "not JSON") from None
            if not is_output_line(obj):
                raise NotOurOutput(path, lineno, "a JSON line without our keys")
            done[line_key(obj)] = obj["source"]
            good += len(raw)
    return done, good


def check_output_path(output: Path, inputs: Sequence[str | Path]) -> None:
    """Refuse (``ValueError``) an ``output`` that is not a regular file, or that the run would also
    read: one of the ``inputs`` (the same file under any name), a ``.txt`` inside an input folder
    (even one not written yet: the folder is listed while the output grows), or stdin's file."""
    out_stat = None
    if output.exists():
        out_stat = output.stat()
        if not stat.S_ISREG(out_stat.st_mode):
            kind = "a folder" if output.is_dir() else "not a regular file"
            raise ValueError(f"{output}: -o must be a file, and this is {kind}")
    folder = output.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():  # else mkdir's error, "File exists", would name no culprit
        raise ValueError(f"{output}: cannot be created: {folder} is a file, not a folder")
    resolved = output.resolve()

    def refuse(what: str) -> ValueError:
        return ValueError(f"{output}: -o is also an input ({what}); tagging would write over what it reads. "
                          "Give -o a new file")

    for item in inputs:
        if str(item) == STDIN:
            stdin = _stdin_stat()
            if out_stat and stdin and os.path.samestat(stdin, out_stat):
                raise refuse("stdin")
            continue
        path = Path(item)
        if path.is_dir():
            if output.name.endswith(".txt") and resolved.is_relative_to(path.resolve()):
                raise refuse(f"{item} holds it")
            for txt in path.rglob("*.txt") if out_stat else ():
                if _same(txt, out_stat):
                    raise refuse(f"{item} holds it as {txt.relative_to(path)}")
        elif (out_stat and _same(path, out_stat)) or path.resolve() == resolved:
            raise refuse(str(item))


def _stdin_stat() -> os.stat_result | None:
    try:
        return os.fstat(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdin (under pytest, say)
        return None


def _same(path: Path, st: os.stat_result) -> bool:
    try:
        return os.path.samestat(path.stat(), st)
    except OSError:  # a broken link, say: cannot be our output
        return False


class ResumableWriter:
    """Appends lines to ``tag`` output ``path``; on opening, reads the keys already there and cuts a
    partial last line (a crash mid-write), so a re-run writes each document once. Refuses a file
    that is not ``tag`` output (see the module docstring). Holds an exclusive lock: two runs writing
    the same file is an error, not a corrupted file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = self.path.open("a+", encoding="utf-8")
        try:
            if not stat.S_ISREG(os.fstat(self._file.fileno()).st_mode):
                raise ValueError(f"{self.path}: -o must be a regular file")
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ValueError(f"{self.path}: another run is writing to this file") from None
            self.done, good = read_output(self.path)  # key -> source of every line already written
            size = os.fstat(self._file.fileno()).st_size
            if good < size:
                log.warning("%s: cutting %d bytes of a partial last line (an interrupted run)", self.path, size - good)
                self._file.truncate(good)
            self._file.seek(0, os.SEEK_END)
        except BaseException:
            self._file.close()
            raise

    def write(self, obj: dict) -> None:
        try:
            self._file.write(dump_line(obj) + "\n")
        except OSError as e:  # say which file: a full disk's error names none
            raise OSError(e.errno, e.strerror, str(self.path)) from e
        self.done[line_key(obj)] = obj.get("source")

    def sync(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            raise OSError(e.errno, e.strerror, str(self.path)) from e

    def close(self) -> None:
        try:
            self.sync()
        finally:  # the descriptor is released even when the last flush fails (a full disk)
            try:
                self._file.close()
            except OSError:
                pass  # the same failure sync() has just raised

    def __enter__(self) -> "ResumableWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def describe_os_error(e: OSError) -> str:
    """One line for an OS error of a ``tag`` run: the file, the reason, and what to do when clear."""
    if e.strerror is None:
        return str(e)
    text = f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    if e.errno == errno.ENOSPC:
        text += "; the lines written so far are kept: free some space and re-run the same command to resume"
    return text
