"""Windows: a long token sequence cut into overlapping model inputs, and predictions put back together.

``window_starts`` cuts a sequence into windows of ``max_length`` tokens (special tokens included)
that share ``stride`` tokens; ``merge_windows`` stitches per-window outputs back into one sequence,
taking each token from the window where it sits most centrally. ``Encoder`` turns labelled
documents into training windows (token ids and tag ids, and gold spans for a span head).

Not here: tokenizing and tags (``encoding.py``), batching (``training.data``), tagging (``tagger.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nlp_judgments.spans import DataError, Document, resolve_overlaps
from nlp_judgments.tagging.encoding import (
    IGNORE,
    AlignmentReport,
    TokenIndex,
    span_token_ranges,
    spans_to_tags,
    tag_names,
)

# --------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------


def window_starts(n_tokens: int, content_length: int, stride: int) -> list[int]:
    """Start offsets of windows of ``content_length`` tokens sharing ``stride`` tokens.

    >>> window_starts(10, 4, 1)
    [0, 3, 6]
    >>> window_starts(0, 4, 1)
    [0]
    """
    if content_length <= stride:
        raise ValueError("window content must be longer than the stride")
    step = content_length - stride
    starts = [0]
    while starts[-1] + content_length < n_tokens:
        starts.append(starts[-1] + step)
    return starts


def window_owners(n_tokens: int, starts: Sequence[int], content_length: int) -> list[tuple[int, int]]:
    """The token range each window is responsible for when predictions are merged.

    A token that two windows share is taken from the one where it sits further from an edge: the
    boundary between windows k and k+1 is the middle of their overlap.
    """
    ranges = []
    for k, s in enumerate(starts):
        own_start = 0 if k == 0 else ranges[-1][1]
        if k + 1 < len(starts):
            prev_end = min(s + content_length, n_tokens)
            nxt = starts[k + 1]
            own_end = nxt + (prev_end - nxt) // 2
        else:
            own_end = n_tokens
        ranges.append((own_start, own_end))
    return ranges


def merge_windows(window_scores: Sequence[np.ndarray], starts: Sequence[int], n_tokens: int,
                  content_length: int) -> np.ndarray:
    """Stitch per-window token scores ``[len_w, C]`` into one ``[n_tokens, C]`` array.

    A token that several windows share is taken from the window where it sits furthest from an edge
    (``window_owners``), so every token is predicted with at least ``stride / 2`` tokens of context
    on both sides. (Taking the first window that holds it, or the mean of all, measured worse:
    ``docs/RESULTS.md``; both are reproducible at commit a9124fc.)

    >>> a, b = np.array([[0.], [1.], [2.], [3.]]), np.array([[12.], [13.], [14.], [15.]])
    >>> merge_windows([a, b], [0, 2], 6, 4)[:, 0].tolist()
    [0.0, 1.0, 2.0, 13.0, 14.0, 15.0]
    """
    if n_tokens == 0:
        width = window_scores[0].shape[1] if len(window_scores) else 0
        return np.zeros((0, width), dtype=np.float32)
    width, dtype = window_scores[0].shape[1], window_scores[0].dtype
    out = np.empty((n_tokens, width), dtype=dtype)
    for scores, start, (own_start, own_end) in zip(window_scores, starts, window_owners(n_tokens, starts, content_length)):
        out[own_start:own_end] = scores[own_start - start : own_end - start]
    return out


def window_labels(tags: Sequence[str | None], label_ids: Sequence[int], start: int, end: int) -> list[int]:
    """Label ids of tokens ``[start, end)``, with entities cut by the window edge set to IGNORE.

    A window that starts inside an entity would teach a sequence beginning with ``I-X`` (which a CRF
    forbids, and which no real text produces), and one that ends inside an entity would teach BIOES
    that it ends without ``E-X``. The cut part carries no loss here; the neighbouring window, which
    overlaps by ``stride`` tokens, sees the entity whole.

    >>> tags = ["O", "B-X", "I-X", "I-X", "O"]
    >>> window_labels(tags, [0, 1, 2, 2, 0], 2, 5)
    [-100, -100, 0]
    >>> window_labels(tags, [0, 1, 2, 2, 0], 0, 3)
    [0, -100, -100]
    """
    out = list(label_ids[start:end])

    def continues(i: int) -> bool:  # token i (first live one from i onwards) continues an entity
        while i < len(tags) and tags[i] is None:
            i += 1
        return i < len(tags) and tags[i] is not None and tags[i][0] in "IE"

    if start > 0 and continues(start):
        i = start
        while i < end and (tags[i] is None or tags[i][0] in "IE"):
            out[i - start] = IGNORE
            i += 1
    if end < len(tags) and continues(end):
        i = end - 1
        while i >= start and (tags[i] is None or tags[i][0] in "BI"):
            done = tags[i] is not None and tags[i][0] == "B"
            out[i - start] = IGNORE
            i -= 1
            if done:
                break
    return out


# --------------------------------------------------------------------------------------------
# Training features
# --------------------------------------------------------------------------------------------


@dataclass
class Encoder:
    """Turns documents into fixed-size training windows for one tokenizer, label set and scheme."""

    index: TokenIndex
    labels: list[str]
    scheme: str = "BIO"
    max_length: int = 256
    stride: int = 64
    overlap_policy: str = "longest"
    # Also give each window its gold spans in token positions (``"spans"``: ``[first, last, label
    # index]``, CLS counted), overlapping ones included: the span head's targets.
    spans: bool = False
    max_span: int = 0  # with ``spans``: longer gold spans are reported (the head never scores them)

    def __post_init__(self) -> None:
        self.tags = tag_names(self.labels, self.scheme)
        self.tag_to_id = {t: i for i, t in enumerate(self.tags)}
        self.label_set = frozenset(self.labels)
        self.label_index = {label: i for i, label in enumerate(self.labels)}
        self.content_length = self.max_length - 2

    def windows(self, n_tokens: int) -> list[int]:
        return window_starts(n_tokens, self.content_length, self.stride)

    def encode(
        self, docs: Sequence[Document], report: AlignmentReport | None = None, batch: int = 256, source: int | None = None
    ) -> list[dict]:
        """Training windows: ``{"input_ids": [...], "labels": [...]}`` with CLS/SEP added,
        ``"source": source`` when a source index is given (it selects the window's allowed tag sets),
        and ``"spans"`` with ``self.spans``: the gold spans wholly inside the window. A span the window
        edge cuts is no target there; its tokens are IGNORE in ``labels``, so no span starts or ends
        on them (the neighbouring window sees it whole).

        Windows with no token (empty texts) are skipped: they carry no supervision.
        """
        report = report if report is not None else AlignmentReport()
        features: list[dict] = []
        for i in range(0, len(docs), batch):
            chunk = docs[i : i + batch]
            for doc, toks in zip(chunk, self.index.tokenize([d.text for d in chunk])):
                report.documents += 1
                report.spans += len(doc.spans)
                unknown = {s.label for s in doc.spans} - self.label_set
                if unknown:
                    raise DataError(f"document {doc.id!r}: label(s) {sorted(unknown)} not in the model's labels {self.labels}")
                kept, dropped = resolve_overlaps(doc.spans, self.overlap_policy)
                if not self.spans:  # the span head keeps overlapping spans as targets
                    for span in dropped:
                        report.note("overlapping_dropped", doc, span)
                tags = spans_to_tags(toks, kept, self.scheme, doc, report)
                label_ids = [IGNORE if t is None else self.tag_to_id[t] for t in tags]
                if len(toks) == 0:
                    continue
                ranges = span_token_ranges(toks, doc.spans) if self.spans else []
                for first, last, span in ranges:
                    if self.max_span and last - first + 1 > self.max_span:
                        report.note("too_long", doc, span)
                for start in self.windows(len(toks)):
                    end = min(start + self.content_length, len(toks))
                    feature = {
                        "input_ids": self.index.window_ids(toks.ids[start:end]),
                        "labels": [IGNORE] + window_labels(tags, label_ids, start, end) + [IGNORE],
                    }
                    if source is not None:
                        feature["source"] = source
                    if self.spans:
                        feature["spans"] = [[first - start + 1, last - start + 1, self.label_index[span.label]]
                                            for first, last, span in ranges if start <= first and last < end]
                    features.append(feature)
                    report.windows += 1
        return features

