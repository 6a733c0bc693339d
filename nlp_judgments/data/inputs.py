"""Input documents for corpus commands: JSONL files, ``.txt`` files, folders of them, or stdin.

``iter_documents(inputs)`` yields one :class:`InputDoc` per input document (every non-blank JSONL
line, every ``.txt`` file), in a stable order, and never raises on a bad document, whatever its line
holds: it comes back with ``error`` set (invalid UTF-8, malformed or unreadable JSON, no, unusable or
duplicate id, a text that is not a string, a ``.txt`` that is not a regular file). ``check_text``
says why a read text cannot be tagged. The id of a ``.txt`` file is its path inside the folder
without ``.txt``; ``source`` is ``file:line`` for JSONL and the file for ``.txt``. Ids and sources
always encode as UTF-8: a lone surrogate (a file name that is not UTF-8) is written out as ``\\udXXX``.

Not here: tagging and writing output (``apps.corpus``), training data formats (``data.formats``).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

STDIN = "-"
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(s: str) -> str:
    r"""``s`` with every lone surrogate written out as ``\udXXX``, so that it encodes as UTF-8.

    Python decodes a file name that is not UTF-8 into lone surrogates, and JSON may escape one.

    >>> escape_surrogates("a\udcff.txt")
    'a\\udcff.txt'
    """
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", s)


def _preview(value: object) -> str:
    """A short description of a JSON value for an error message, never the whole of a huge one.

    >>> _preview([1, [2]]), _preview("x" * 100)[-8:], _preview(1.5)
    ('a list of 2 items', "xxxx'...", '1.5')
    """
    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'object'} of {len(value)} items"
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:40]) + "..."
    return repr(value)  # repr escapes lone surrogates


@dataclass
class InputDoc:
    """One document as read from the input: ``text`` and ``id`` are ``None`` when ``error`` says why."""

    source: str  # "file:line" for JSONL, the file for .txt
    id: str | None = None
    text: str | None = None
    error: str | None = None

    @property
    def key(self) -> str:
        """What resuming matches on: the id, or the source when there is no usable id."""
        return self.id if self.id is not None else self.source


def _jsonl_doc(raw: bytes, source: str) -> InputDoc:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return InputDoc(source, error=f"line is not valid UTF-8 (byte {e.start})")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return InputDoc(source, error=f"malformed JSON: {e.msg} (column {e.colno})")
    except RecursionError:
        return InputDoc(source, error="unreadable JSON: nested too deeply")
    except ValueError as e:  # an integer longer than sys.get_int_max_str_digits()
        return InputDoc(source, error=f"unreadable JSON: {str(e).split(';')[0]}"[:200])
    if not isinstance(obj, dict):
        return InputDoc(source, error=f"expected a JSON object with 'id' and 'text', got {type(obj).__name__}")
    doc_id = obj.get("id")
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)) or str(doc_id).strip() == "":
        reason = "no 'id'" if doc_id is None else f"'id' must be a non-empty string or integer, got {_preview(doc_id)}"
        return InputDoc(source, error=reason)
    doc_id = str(doc_id)
    if (bad := _SURROGATE.search(doc_id)) is not None:  # it could not be written back as UTF-8
        return InputDoc(source, error=f"'id' holds an unpaired surrogate at character {bad.start()}")
    text = obj.get("text")
    if not isinstance(text, str):
        return InputDoc(source, doc_id, error="no 'text'" if text is None else f"'text' must be a string, got {type(text).__name__}")
    return InputDoc(source, doc_id, text)


def _txt_doc(path: Path, doc_id: str) -> InputDoc:
    source, doc_id = escape_surrogates(str(path)), escape_surrogates(doc_id)
    try:
        # Non-blocking, so that opening a FIFO does not wait for a writer; fstat then says not to
        # read it (a FIFO, a device or a folder named *.txt would hang the run or fail later).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        return InputDoc(source, doc_id, error=f"cannot read: {e.strerror or e}")
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return InputDoc(source, doc_id, error=f"not a regular file ({_file_kind(mode)}): skipped, not read")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read()
    except OSError as e:
        return InputDoc(source, doc_id, error=f"cannot read: {e.strerror or e}")
    finally:
        os.close(fd)
    try:
        return InputDoc(source, doc_id, raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        return InputDoc(source, doc_id, error=f"file is not valid UTF-8 (byte {e.start})")


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _raw_items(inputs: Sequence[str | Path]) -> Iterator[Callable[[], InputDoc]]:
    """One cheap thunk per input document, in a stable order; parsing happens only when called,
    so a shard pays for parsing only its own documents."""
    for item in inputs:
        if str(item) == STDIN:
            for lineno, raw in enumerate(sys.stdin.buffer, 1):
                if raw.strip():
                    yield lambda raw=raw, lineno=lineno: _jsonl_doc(raw, f"<stdin>:{lineno}")
            continue
        path = Path(item)
        if path.is_dir():
            for txt in sorted(path.rglob("*.txt")):
                yield lambda txt=txt, root=path: _txt_doc(txt, txt.relative_to(root).with_suffix("").as_posix())
        elif path.suffix == ".txt":
            yield lambda path=path: _txt_doc(path, path.stem)
        elif path.is_file():
            name = escape_surrogates(str(path))
            with path.open("rb") as f:
                for lineno, raw in enumerate(f, 1):
                    if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    if raw.strip():  # blank lines are not documents
                        yield lambda raw=raw, lineno=lineno, name=name: _jsonl_doc(raw, f"{name}:{lineno}")
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")


def iter_documents(inputs: Sequence[str | Path], shard: tuple[int, int] = (0, 1)) -> Iterator[InputDoc]:
    """Documents of ``inputs`` (see the module docstring), or only shard ``(rank, world)`` of them.

    A document that cannot be read comes back with ``error`` set, never raised; duplicate ids get
    an error too (the first occurrence wins), so ids in the output are unique.
    """
    rank, world = shard
    seen: dict[str, str] = {}
    for i, make in enumerate(_raw_items(inputs)):
        if i % world != rank:
            continue
        doc = make()
        if doc.id is not None:
            if doc.id in seen:
                doc = InputDoc(doc.source, error=f"duplicate id {doc.id!r} (first at {seen[doc.id]})")
            else:
                seen[doc.id] = doc.source
        yield doc


def count_documents(inputs: Sequence[str | Path]) -> int | None:
    """How many documents the inputs hold (for a progress bar), or ``None`` when unknown (stdin)."""
    total = 0
    for item in inputs:
        if str(item) == STDIN:
            return None
        path = Path(item)
        if path.is_dir():
            total += sum(1 for _ in path.rglob("*.txt"))
        elif path.suffix == ".txt":
            total += 1
        elif path.is_file():
            with path.open("rb") as f:
                total += sum(1 for raw in f if raw.strip())
    return total


def check_text(text: str, max_chars: int) -> str | None:
    """Why ``text`` cannot be tagged, or ``None``.

    >>> check_text("   ", 100)
    'text is empty or only whitespace'
    >>> check_text("被告人张某", 3)
    'text has 5 characters, more than the limit of 3 (--max-chars)'
    """
    if not text.strip():
        return "text is empty or only whitespace"
    if len(text) > max_chars:
        return f"text has {len(text)} characters, more than the limit of {max_chars} (--max-chars)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, e.g. "\ud800" escaped in JSON
        return f"text holds an unpaired surrogate at character {e.start}"
    return None
