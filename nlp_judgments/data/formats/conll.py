"""Character-per-line CoNLL files: one character and its tag a line, a blank line between documents.

Tags are ``O`` and ``B-X``/``I-X`` (BIO) or also ``E-X``/``S-X`` (BIOES); the BMES (``M-``) and
BILOU (``L-``, ``U-``) spellings are read too. Columns are whitespace-separated; the first is the
character and the last the tag, so extra middle columns are ignored. ``-DOCSTART-`` lines are
document boundaries and ids are ``f"{file stem}-{index}"`` unless a ``# id = ...`` line precedes
the document (written by ``write_conll(ids=True)``).

Whitespace inside the text needs a representation, since the column separator is whitespace:
an ASCII space is the token ``[SPACE]``, any other whitespace character (tab, newline, U+3000
ideographic space, ...) is ``[U+XXXX]``. When the columns are tab-separated a literal space or
U+3000 is read as the character too. Text containing spaces therefore round-trips exactly.

Left out: word-level CoNLL as such (a multi-character token is joined into the text as it is,
and counted), and overlap resolution beyond what a flat tag sequence forces on the writer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from nlp_judgments.data.formats.reading import Assembler, Mention, ReadStats
from nlp_judgments.data.formats.tags import BadTag, tag_runs
from nlp_judgments.spans import DataError, Document, Span, resolve_overlaps

_ID_COMMENT = re.compile(r"# id = (.*)")  # written by write_conll(ids=True)
_CODEPOINT_ESCAPE = re.compile(r"\[U\+([0-9A-Fa-f]{4,6})\]")
SPACE_TOKEN = "[SPACE]"


def read_conll(path: Path, asm: Assembler) -> Iterator[Document]:
    """Documents of a CoNLL file; use :func:`nlp_judgments.data.formats.read_documents` rather than this."""
    for index, (explicit_id, tokens, tags) in enumerate(_conll_blocks(path, asm.stats)):
        doc_id = explicit_id if explicit_id is not None else f"{path.stem}-{index}"
        offsets = [0]  # character offset where each token starts, plus the end
        for token in tokens:
            offsets.append(offsets[-1] + len(token))
        mentions = _decode_tags(tags, offsets, asm.stats, path)
        yield asm.build(doc_id, "".join(tokens), mentions, tags[0][1] if tags else None)


def _conll_blocks(path: Path, stats: ReadStats) -> Iterator[tuple[str | None, list[str], list[tuple[str, int]]]]:
    """Yield ``(explicit id or None, tokens, [(tag, line)])`` for each document of a CoNLL file."""
    tokens: list[str] = []
    tags: list[tuple[str, int]] = []  # with their line, so errors can name the tag's line
    explicit_id: str | None = None
    with path.open(encoding="utf-8-sig") as f:  # -sig: a BOM would otherwise become text
        for lineno, raw in enumerate(f, start=1):
            line = raw.rstrip("\r\n")
            id_comment = _ID_COMMENT.fullmatch(line)
            if not line.strip() or line.startswith("-DOCSTART-") or id_comment:
                if tokens or explicit_id is not None:
                    yield explicit_id, tokens, tags
                tokens, tags, explicit_id = [], [], None
                if id_comment:
                    explicit_id = id_comment[1]
                continue
            token, tag = _split_conll_line(line, path, lineno)
            tokens.append(_unescape_token(token, stats))
            tags.append((tag, lineno))
    if tokens or explicit_id is not None:
        yield explicit_id, tokens, tags


def _split_conll_line(line: str, file: Path, lineno: int) -> tuple[str, str]:
    """The token (first column) and tag (last column) of one line."""
    if "\t" in line:
        # Tab-separated columns can hold a literal space or U+3000 as the character.
        fields = line.split("\t")
        fields = [fields[0]] + [f.strip() for f in fields[1:] if f.strip()]
    else:
        fields = line.split()
    if len(fields) < 2 or not fields[0]:
        raise DataError(
            f"expected a character and a tag, got {line!r} (write a space character as {SPACE_TOKEN})",
            file,
            lineno,
        )
    return fields[0], fields[-1]


def _unescape_token(token: str, stats: ReadStats) -> str:
    if token == SPACE_TOKEN:
        return " "
    escape = _CODEPOINT_ESCAPE.fullmatch(token)
    if escape:
        return chr(int(escape[1], 16))
    if len(token) > 1:
        # Word-level files still give the right text for Chinese (no spaces between words), so a
        # longer token is kept whole rather than refused, but counted so it does not pass unseen.
        stats.anomalies["conll: multi-character tokens"] += 1
    return token


def _escape_char(ch: str) -> str:
    if ch == " ":
        return SPACE_TOKEN
    if ch.isspace():  # exactly the characters str.split() would swallow
        return f"[U+{ord(ch):04X}]"
    return ch


def _decode_tags(tags: list[tuple[str, int]], offsets: list[int], stats: ReadStats, file: Path) -> list[Mention]:
    """BIO/BIOES tags to mentions, leniently like conlleval: a stray I-/E- starts a new span."""
    try:
        runs = tag_runs([tag for tag, _ in tags], stats, "conll")
    except BadTag as e:
        raise DataError(str(e), file, tags[e.index][1]) from None
    return [Mention(offsets[r.first], offsets[r.last + 1], r.label, tags[r.first][1]) for r in runs]


def write_conll(
    docs: Iterable[Document],
    path: str | Path,
    scheme: str = "bio",
    ids: bool = False,
    stats: ReadStats | None = None,
) -> int:
    """Write one character and its tag a line, a blank line between documents. Returns docs written.

    ``scheme`` is ``"bio"`` or ``"bioes"``. Whitespace characters are written as escape tokens
    (``[SPACE]``, ``[U+3000]``, ...) so the text reads back exactly. ``ids=True`` writes a
    ``# id = ...`` line before each document so ids, and empty documents, survive a round trip;
    it is off by default because other tools would read that line as a token.

    A flat tag sequence cannot hold overlapping spans: as in training
    (``spans.resolve_overlaps(policy="longest")``) the longest span is kept and the others are
    dropped and counted in ``stats``; so are empty documents written without ids, which the
    format cannot represent.
    """
    if scheme not in ("bio", "bioes"):
        raise ValueError(f"scheme must be 'bio' or 'bioes', got {scheme!r}")
    stats = stats if stats is not None else ReadStats()
    n = 0
    with Path(path).open("w", encoding="utf-8", newline="\n") as f:
        for doc in docs:
            if not doc.text and not ids:
                stats.anomalies["conll writer: empty documents skipped"] += 1
                continue
            spans, dropped = resolve_overlaps(doc.spans, policy="longest")
            if dropped:
                stats.anomalies["conll writer: overlapping spans dropped"] += len(dropped)
            lines = [f"{_escape_char(ch)} {tag}" for ch, tag in zip(doc.text, _bio_tags(doc.text, spans, scheme))]
            if ids:
                if "\n" in doc.id or "\r" in doc.id:
                    raise DataError(f"document id {doc.id!r} contains a line break", path)
                lines.insert(0, f"# id = {doc.id}")
            f.write(("\n" if n else "") + "\n".join(lines) + "\n")
            n += 1
    return n


def _bio_tags(text: str, spans: Sequence[Span], scheme: str) -> list[str]:
    """One tag per character for non-overlapping ``spans``.

    >>> _bio_tags("被告人张某", [Span(3, 5, "DEFENDANT")], "bioes")
    ['O', 'O', 'O', 'B-DEFENDANT', 'E-DEFENDANT']
    """
    tags = ["O"] * len(text)
    for s in spans:
        if not s.label or any(ch.isspace() for ch in s.label):
            raise ValueError(f"label {s.label!r} cannot be written as a CoNLL tag")
        if scheme == "bioes" and s.end - s.start == 1:
            tags[s.start] = f"S-{s.label}"
            continue
        tags[s.start : s.end] = [f"B-{s.label}"] + [f"I-{s.label}"] * (s.end - s.start - 1)
        if scheme == "bioes":
            tags[s.end - 1] = f"E-{s.label}"
    return tags
