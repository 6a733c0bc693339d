"""Tokens with one tag each, as character spans: what the CoNLL and ``datasets`` readers share.

``tag_runs`` decodes BIO/BIOES tags (BMES and BILOU spellings too) into runs of tokens, leniently
like conlleval: an ``I-``/``E-`` tag that continues no span of its label starts one, and is counted.
``locate_tokens`` finds each token in a given text, in order; ``join_tokens`` makes the text from
the tokens where there is none. A reader then turns runs into character spans through the tokens'
offsets.

Not here: reading files (``conll.py``, ``hf_datasets.py``) and the model's own word pieces and tags
(``tagging.encoding``).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from nlp_judgments.data.formats.reading import ReadStats

# BMES (M) and BILOU (L, U) spellings are read as their BIOES equivalents.
TAG_PREFIXES = {"B": "B", "I": "I", "M": "I", "E": "E", "L": "E", "S": "S", "U": "S"}


class TagRun(NamedTuple):
    """Tokens ``first`` to ``last`` (inclusive) carry ``label``."""

    first: int
    last: int
    label: str


class BadTag(ValueError):
    """A tag that is neither ``O`` nor a known prefix, a hyphen and a label; the reader locates it."""

    def __init__(self, index: int, tag: object):
        self.index = index
        super().__init__(f"invalid tag {tag!r}: expected O, or B-/I-/E-/S- and a label")


def parse_tag(tag: object) -> tuple[str, str] | None:
    """``(prefix, label)`` of a tag in BIOES terms, ``("O", "")`` for O, None when it is no tag.

    >>> parse_tag("M-NHCS"), parse_tag("O"), parse_tag("B-")
    (('I', 'NHCS'), ('O', ''), None)
    """
    if tag == "O":
        return "O", ""
    if not isinstance(tag, str):
        return None
    prefix, sep, label = tag.partition("-")
    if not sep or not label or prefix not in TAG_PREFIXES:
        return None
    return TAG_PREFIXES[prefix], label


def tag_runs(tags: Sequence[object], stats: ReadStats, family: str) -> list[TagRun]:
    """The entity runs of one tag sequence; a stray ``I-``/``E-`` is counted under ``family``.

    Raises :class:`BadTag` (with the tag's index) for a tag :func:`parse_tag` refuses.

    >>> tag_runs(["B-PER", "I-PER", "O", "I-LOC", "E-LOC", "S-PER"], ReadStats(), "conll")
    [TagRun(first=0, last=1, label='PER'), TagRun(first=3, last=4, label='LOC'), TagRun(first=5, last=5, label='PER')]
    """
    runs: list[TagRun] = []
    current: tuple[int, str] | None = None  # (first token, label) of the open run
    for i, tag in enumerate(tags):
        parsed = parse_tag(tag)
        if parsed is None:
            raise BadTag(i, tag)
        prefix, label = parsed
        continues = current is not None and current[1] == label and prefix in ("I", "E")
        if current is not None and not continues:
            runs.append(TagRun(current[0], i - 1, current[1]))
            current = None
        if prefix == "O":
            continue
        if prefix in ("I", "E") and not continues:
            stats.anomalies[f"{family}: I-/E- tag that starts a span"] += 1
        if current is None:
            current = (i, label)
        if prefix in ("E", "S"):
            runs.append(TagRun(current[0], i, label))
            current = None
    if current is not None:
        runs.append(TagRun(current[0], len(tags) - 1, current[1]))
    return runs


def locate_tokens(tokens: Sequence[str], text: str) -> list[tuple[int, int] | None]:
    """Each token's ``(start, end)`` in ``text``, or None where it is not found.

    A token must follow the previous one with at most whitespace between them. Searching further
    ahead would let a token that is missing at its place match a later copy of the same character
    (的, 某 recur in every sentence) and shift every span after it without a word. After tokens
    that are not found, the next token is looked for both where they should have started (they are
    extra) and just past the characters they would have covered (they are spelled differently,
    e.g. full-width ``２０`` against ``20``), so one mismatch costs one token, not the rest.

    >>> locate_tokens(["被告人", "李某", "20", "年"], "被告人 李某２０年")
    [(0, 3), (4, 6), None, (8, 9)]
    >>> locate_tokens(["王", " ", "某"], "王 某")
    [(0, 1), (1, 2), (2, 3)]
    """
    located: list[tuple[int, int] | None] = []
    pos = 0  # end of the last token found
    skipped = 0  # characters the tokens not found since then would have covered
    for token in tokens:
        hit = None
        for at in (pos, pos + skipped) if skipped else (pos,):
            # Right there first: a token may itself be a space (character-level data keeps them).
            hit = next((s for s in (at, _skip_space(text, at)) if token and text.startswith(token, s)), None)
            if hit is not None:
                break
        if hit is None:
            located.append(None)
            skipped += len(token)
            continue
        located.append((hit, hit + len(token)))
        pos, skipped = hit + len(token), 0
    return located


def join_tokens(tokens: Sequence[str], joiner: str | None = None) -> tuple[str, list[tuple[int, int]]]:
    """The text the tokens make and each token's ``(start, end)`` in it.

    ``joiner=None`` joins with ``""`` when any token holds a Han character (Chinese is written
    without spaces, and character-level data splits 2019 and iPhone into one token per character
    too), else with ``" "``.

    >>> join_tokens(["被告人", "张", "某", "盗窃", "iPhone", "12"])
    ('被告人张某盗窃iPhone12', [(0, 3), (3, 4), (4, 5), (5, 7), (7, 13), (13, 15)])
    >>> join_tokens(["Zhang", "San"])[0]
    'Zhang San'
    """
    if joiner is None:
        joiner = "" if any(_is_han(ch) for token in tokens for ch in token) else " "
    offsets, pos = [], 0
    for i, token in enumerate(tokens):
        pos += len(joiner) if i else 0
        offsets.append((pos, pos + len(token)))
        pos += len(token)
    return joiner.join(tokens), offsets


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _is_han(ch: str) -> bool:
    cp = ord(ch)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F
