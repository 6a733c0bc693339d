"""From character spans to model inputs and back: tokens, tags and windows live only here.

Everything outside this module speaks character spans into the original text. Inside:

1. ``TokenIndex.tokenize`` runs the tokenizer with ``offset_mapping`` (so it works for character
   vocabularies and for sentencepiece vocabularies whose pieces cover several characters), trims
   whitespace off offsets, and marks tokens that own no character of their own (the lone ``▁`` that
   sentencepiece puts before a text carries the same offsets as the next token) as *ignored*: they get
   no label and are never decoded, so no character is counted twice.
2. ``spans_to_tags`` turns spans into one tag per token (BIO or BIOES). Overlapping gold spans are
   resolved by a policy (``resolve_overlaps``) and counted; a span whose edge falls inside a token is
   tagged on the tokens that cover it and reported as *misaligned* (count and examples), never dropped
   silently.
3. ``tags_to_spans`` decodes a tag sequence back to character spans.
4. ``allowed_tag_matrix`` says, for a source that annotates only some labels, which tags a token may
   really have given the tag the source implies (partial annotation: an ``O`` from a source that does
   not annotate apps may be an app). Windows carry their source's index; the training loop turns tag
   ids into per-token allowed sets with one lookup in this matrix.

Not here: cutting token sequences into windows and putting them back together (``windows.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from nlp_judgments.spans import Document, Span

IGNORE = -100  # label id for positions that carry no loss (special tokens, ignored tokens, padding)


# --------------------------------------------------------------------------------------------
# Tag vocabularies
# --------------------------------------------------------------------------------------------


def tag_names(labels: Sequence[str], scheme: str) -> list[str]:
    """``["O", "B-X", "I-X", ...]`` (BIO) or with ``E-X``/``S-X`` too (BIOES), in a fixed order.

    >>> tag_names(["PER"], "BIOES")
    ['O', 'B-PER', 'I-PER', 'E-PER', 'S-PER']
    """
    prefixes = "BI" if scheme == "BIO" else "BIES"
    return ["O"] + [f"{p}-{label}" for label in labels for p in prefixes]


def allowed_tag_matrix(
    labels: Sequence[str],
    scheme: str,
    annotates: Iterable[str] | None = None,
    alternatives: dict[str, Sequence[str]] | None = None,
) -> np.ndarray:
    """Which tags a token may have, given the tag a source gave it: a boolean ``[T, T]`` matrix.

    Row ``g`` is the allowed set of a token tagged ``g`` (``T = len(tag_names(labels, scheme))``):

    - ``O``: ``O`` plus every tag of every label the source does not annotate (``annotates``; None =
      all labels, when the matrix is the identity and training reduces to the usual loss);
    - an entity tag ``P-X``: ``P-X`` itself, plus ``P-Y`` for each ``Y`` of ``alternatives[X]`` when the
      source cannot tell ``X`` from ``Y`` (same position prefix: a ``B`` stays a ``B``).

    >>> m = allowed_tag_matrix(["DEFENDANT", "PERSON", "APP"], "BIO", ["DEFENDANT", "PERSON"],
    ...                        {"PERSON": ["PERSON", "DEFENDANT"]})
    >>> tags = tag_names(["DEFENDANT", "PERSON", "APP"], "BIO")
    >>> [[tags[j] for j in np.nonzero(m[tags.index(t)])[0]] for t in ("O", "B-PERSON", "I-DEFENDANT")]
    [['O', 'B-APP', 'I-APP'], ['B-DEFENDANT', 'B-PERSON'], ['I-DEFENDANT']]
    """
    tags = tag_names(labels, scheme)
    index = {t: i for i, t in enumerate(tags)}
    matrix = np.eye(len(tags), dtype=bool)
    complete = set(labels if annotates is None else annotates)
    for label in labels:
        if label not in complete:
            for tag in tags:
                if tag.partition("-")[2] == label:
                    matrix[0, index[tag]] = True
    for label, others in (alternatives or {}).items():
        for prefix in ("BI" if scheme == "BIO" else "BIES"):
            for other in others:
                matrix[index[f"{prefix}-{label}"], index[f"{prefix}-{other}"]] = True
    return matrix


def allowed_transition(prev: str, cur: str, scheme: str) -> bool:
    """Whether tag ``cur`` may follow tag ``prev`` (``prev`` may be "START"; ``cur`` may be "END")."""
    p_kind, _, p_label = prev.partition("-")
    c_kind, _, c_label = cur.partition("-")
    open_entity = p_kind in ("B", "I")  # an entity is open after B or I
    if scheme == "BIO":
        return c_kind != "I" or (open_entity and p_label == c_label)
    # BIOES: an open entity must continue with I or E of its label; I and E need an open entity.
    if c_kind in ("I", "E"):
        return open_entity and p_label == c_label
    return not open_entity


# --------------------------------------------------------------------------------------------
# Tokenization with character offsets
# --------------------------------------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2FA1F
        or 0xF900 <= cp <= 0xFAFF
        or 0x3000 <= cp <= 0x303F  # CJK punctuation: 、。〇《》「」
        or 0xFF00 <= cp <= 0xFFEF  # full-width forms: ，（）：；
        or 0x2010 <= cp <= 0x206F  # general punctuation: “”‘’…—
    )


@dataclass
class TokenizedText:
    """One text as tokens: ids, ``[start, end)`` character offsets, and which tokens own no character."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    ignored: list[bool]

    def __len__(self) -> int:
        return len(self.ids)


class TokenIndex:
    """A tokenizer plus what this module needs to know about it (special ids, vocabulary lookups)."""

    def __init__(self, tokenizer, pretokenize: str = "none"):
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("a fast (Rust) tokenizer is required for character offsets")
        self.tokenizer = tokenizer
        self.pretokenize = pretokenize
        self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        if self.cls_id is None or self.sep_id is None:
            raise ValueError("the tokenizer has no CLS/SEP (or BOS/EOS) token")
        self._vocab = tokenizer.get_vocab() if pretokenize == "cjk_chars" else None

    def window_ids(self, ids: Sequence[int]) -> list[int]:
        """One window's model input: ``[CLS] + ids + [SEP]`` (what training and tagging both feed)."""
        return [self.cls_id, *ids, self.sep_id]

    def tokenize(self, texts: Sequence[str]) -> list[TokenizedText]:
        """Tokenize a batch of texts (one call into the Rust tokenizer) with cleaned offsets."""
        if not texts:
            return []
        enc = self.tokenizer(
            list(texts), add_special_tokens=False, return_offsets_mapping=True, return_attention_mask=False,
            verbose=False,  # long texts are expected: windows cut them to max_length later
        )
        out = []
        for text, ids, offsets in zip(texts, enc["input_ids"], enc["offset_mapping"]):
            ids, offsets = list(ids), [tuple(o) for o in offsets]
            if self._vocab is not None:
                ids, offsets = self._split_cjk(text, ids, offsets)
            out.append(_clean_offsets(text, ids, offsets))
        return out

    def _split_cjk(self, text: str, ids: list[int], offsets: list[tuple[int, int]]):
        """Give each CJK character its own piece where the vocabulary has one (``cjk_chars``).

        A sentencepiece vocabulary merges frequent words (``价值人民币`` may become ``价值`` ``人民币``), so an
        entity starting at ``人`` of ``价值人民币`` would start inside a token. Splitting every token that
        contains a CJK character (``2台``, ``”、“`` too) into single-character pieces puts every boundary on
        a token boundary; Latin/digit-only tokens (``iPhone``, ``2021``) stay whole. A token with a character
        missing from the vocabulary is kept whole (and any span inside it is reported as misaligned).
        """
        vocab = self._vocab
        new_ids, new_offsets = [], []
        for tid, (s, e) in zip(ids, offsets):
            piece = text[s:e]
            if e - s > 1 and any(_is_cjk(c) for c in piece) and not any(c.isspace() for c in piece):
                # The first character keeps the word-initial marker if the original piece had one.
                token = self.tokenizer.convert_ids_to_tokens(tid)
                first = ("▁" + piece[0]) if token.startswith("▁") else piece[0]
                chars = [vocab.get(first, vocab.get(piece[0]))] + [vocab.get(c) for c in piece[1:]]
                if all(c is not None for c in chars):
                    new_ids.extend(chars)
                    new_offsets.extend((s + i, s + i + 1) for i in range(e - s))
                    continue
            new_ids.append(tid)
            new_offsets.append((s, e))
        return new_ids, new_offsets


def _clean_offsets(text: str, ids: list[int], offsets: list[tuple[int, int]]) -> TokenizedText:
    """Trim whitespace off token offsets and mark tokens that own no character.

    sentencepiece's ``▁iPhone`` covers the space before ``iPhone``; trimming lets an entity start at
    ``i``. A token is ignored when its trimmed range is empty or lies inside the next token's range (the
    lone ``▁`` before the first character, which some tokenizer versions map to ``(0, 1)`` while the
    next piece ``上海市`` has ``(0, 3)``), so each character belongs to at most one labelled token.

    >>> _clean_offsets("上海市 x", [5, 6, 7, 8], [(0, 1), (0, 3), (3, 5), (5, 5)]).ignored
    [True, False, False, True]
    """
    cleaned = []
    for s, e in offsets:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        cleaned.append((s, e))
    ignored = [s >= e for s, e in cleaned]
    for i in range(len(cleaned) - 1):
        (s, e), (ns, ne) = cleaned[i], cleaned[i + 1]
        if not ignored[i] and ns <= s and e <= ne:
            ignored[i] = True
    return TokenizedText(ids, cleaned, ignored)


# --------------------------------------------------------------------------------------------
# Spans <-> tags
# --------------------------------------------------------------------------------------------


@dataclass
class AlignmentReport:
    """What encoding had to do to the gold spans; printed before training and saved with the model."""

    documents: int = 0
    spans: int = 0
    overlapping_dropped: int = 0
    misaligned: int = 0  # edge inside a token: tagged on the covering tokens
    unreachable: int = 0  # no token covers the span at all (e.g. whitespace only)
    token_conflicts: int = 0  # two spans cover the same token after expansion: the later is dropped
    too_long: int = 0  # span head: more tokens than max_span, so never scored
    windows: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, doc: Document, span: Span, limit: int = 5) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        bucket = self.examples.setdefault(kind, [])
        if len(bucket) < limit:
            left = doc.text[max(0, span.start - 6) : span.start]
            right = doc.text[span.end : span.end + 6]
            bucket.append(f"{doc.id}: {left}[{doc.text[span.start:span.end]}]{right} {span.label}")

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def merge(self, other: AlignmentReport, limit: int = 5) -> None:
        """Add ``other``'s counts (and examples, up to ``limit`` a kind) to this report."""
        for key, value in other.__dict__.items():
            if key != "examples":
                setattr(self, key, getattr(self, key) + value)
        for kind, examples in other.examples.items():
            bucket = self.examples.setdefault(kind, [])
            bucket.extend(examples[: max(0, limit - len(bucket))])

    def summary(self) -> str:
        return (
            f"{self.documents} docs, {self.spans} spans, {self.windows} windows; "
            f"overlapping dropped {self.overlapping_dropped}, misaligned (edge inside a token) {self.misaligned}, "
            f"unreachable {self.unreachable}, token conflicts {self.token_conflicts}"
            + (f", longer than max_span {self.too_long}" if self.too_long else "")
        )


def spans_to_tags(
    tokens: TokenizedText,
    spans: Iterable[Span],
    scheme: str,
    doc: Document | None = None,
    report: AlignmentReport | None = None,
) -> list[str | None]:
    """One tag per token; ``None`` for ignored tokens. Spans must not overlap (see resolve_overlaps)."""
    tags: list[str | None] = [None if ig else "O" for ig in tokens.ignored]
    starts = np.array([s for s, _ in tokens.offsets], dtype=np.int64)
    ends = np.array([e for _, e in tokens.offsets], dtype=np.int64)
    live = ~np.array(tokens.ignored, dtype=bool) if len(tokens) else np.zeros(0, dtype=bool)
    for span in sorted(spans):
        idx = np.nonzero(live & (starts < span.end) & (ends > span.start))[0] if len(tokens) else []
        if len(idx) == 0:
            if report is not None and doc is not None:
                report.note("unreachable", doc, span)
            continue
        first, last = int(idx[0]), int(idx[-1])
        if any(tags[i] != "O" for i in idx):
            if report is not None and doc is not None:
                report.note("token_conflicts", doc, span)
            continue
        if report is not None and doc is not None and (starts[first] != span.start or ends[last] != span.end):
            report.note("misaligned", doc, span)
        for i in idx:
            tags[i] = f"I-{span.label}"
        tags[first] = f"B-{span.label}"
        if scheme == "BIOES":
            if first == last:
                tags[first] = f"S-{span.label}"
            else:
                tags[last] = f"E-{span.label}"
    return tags


def span_token_ranges(tokens: TokenizedText, spans: Iterable[Span]) -> list[tuple[int, int, Span]]:
    """``(first, last, span)``: the live tokens that cover each span (inclusive), for the span head.

    Unlike ``spans_to_tags`` this keeps overlapping and nested spans: a span head scores each one
    on its own. Spans no token covers are left out (``spans_to_tags`` reports them).

    >>> toks = TokenizedText([1, 2, 3], [(0, 2), (2, 3), (3, 5)], [False, False, False])
    >>> [(a, b, s.label) for a, b, s in span_token_ranges(toks, [Span(0, 5, "NS"), Span(2, 3, "NHVI")])]
    [(0, 2, 'NS'), (1, 1, 'NHVI')]
    """
    if not len(tokens):
        return []
    starts = np.array([s for s, _ in tokens.offsets], dtype=np.int64)
    ends = np.array([e for _, e in tokens.offsets], dtype=np.int64)
    live = ~np.array(tokens.ignored, dtype=bool)
    out = []
    for span in sorted(set(spans)):
        idx = np.nonzero(live & (starts < span.end) & (ends > span.start))[0]
        if len(idx):
            out.append((int(idx[0]), int(idx[-1]), span))
    return out


def tags_to_spans(tags: Sequence[str | None], offsets: Sequence[tuple[int, int]]) -> list[Span]:
    """Decode token tags to character spans; ``None`` (ignored) tokens are skipped.

    Decoding is lenient, as a user would want from a softmax tagger: an ``I-X`` that does not continue
    an ``X`` entity starts a new one, and ``E``/``S`` close entities in BIOES.

    >>> tags_to_spans(["B-PER", "I-PER", "O", "I-LOC"], [(0, 1), (1, 2), (2, 3), (3, 5)])
    [Span(start=0, end=2, label='PER'), Span(start=3, end=5, label='LOC')]
    """
    spans: list[Span] = []
    cur_label: str | None = None
    cur_start = cur_end = 0

    def close() -> None:
        nonlocal cur_label
        if cur_label is not None:
            spans.append(Span(cur_start, cur_end, cur_label))
        cur_label = None

    for tag, (s, e) in zip(tags, offsets):
        if tag is None:
            continue
        kind, _, label = tag.partition("-")
        if kind == "O":
            close()
        elif kind in ("B", "S") or cur_label != label:
            close()
            cur_label, cur_start, cur_end = label, s, e
            if kind == "S":
                close()
        else:  # I or E continuing the open entity
            cur_end = e
            if kind == "E":
                close()
    close()
    return spans
