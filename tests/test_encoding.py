"""Spans <-> tags <-> spans on tricky Chinese text, for a character vocabulary and a sentencepiece one."""

from __future__ import annotations

import numpy as np
import pytest

from nlp_judgments.spans import Document, Span, resolve_overlaps
from nlp_judgments.tagging.encoding import (
    AlignmentReport,
    TokenIndex,
    spans_to_tags,
    tags_to_spans,
)
from nlp_judgments.tagging.windows import (
    Encoder,
    merge_windows,
    window_owners,
    window_starts,
)

from .conftest import doc_from_marked


@pytest.mark.parametrize("scheme", ["BIO", "BIOES"])
def test_round_trip_char_vocab(tiny_tokenizer, sample_docs, scheme):
    index = TokenIndex(tiny_tokenizer)
    for doc, toks in zip(sample_docs, index.tokenize([d.text for d in sample_docs])):
        report = AlignmentReport()
        tags = spans_to_tags(toks, doc.spans, scheme, doc, report)
        assert report.misaligned == report.unreachable == report.token_conflicts == 0, report.examples
        assert tags_to_spans(tags, toks.offsets) == doc.spans
        # Every decoded span slices the ORIGINAL text (full-width digits, spaces and Latin kept).
        for s in doc.spans:
            assert doc.text[s.start : s.end]


def test_full_width_and_latin_offsets(tiny_tokenizer):
    doc = doc_from_marked("x", "价值[１２００元|AMOUNT]的[iPhone12|GOODS]手机")
    toks = TokenIndex(tiny_tokenizer).tokenize([doc.text])[0]
    tags = spans_to_tags(toks, doc.spans, "BIO")
    spans = tags_to_spans(tags, toks.offsets)
    assert [doc.text[s.start : s.end] for s in spans] == ["１２００元", "iPhone12"]


def test_sentencepiece_leading_marker_is_ignored_not_double_counted(piece_tokenizer):
    toks = TokenIndex(piece_tokenizer).tokenize(["被告人以"])[0]
    owned = [o for o, ig in zip(toks.offsets, toks.ignored) if not ig]
    covered = [i for s, e in owned for i in range(s, e)]
    assert covered == sorted(set(covered)), "a character belongs to two labelled tokens"
    assert covered == [0, 1, 2, 3]


def test_sentencepiece_boundary_inside_token_is_reported(piece_tokenizer):
    # "价值人民币1200元": AMOUNT starts at 人 of 人民币? No: it starts at 1 of 1200, but a gold span that
    # begins at 民 (inside the piece 人民币) cannot be reached and must be reported.
    doc = doc_from_marked("x", "价值人[民币1200元|AMOUNT]")
    index = TokenIndex(piece_tokenizer)
    toks = index.tokenize([doc.text])[0]
    report = AlignmentReport()
    tags = spans_to_tags(toks, doc.spans, "BIO", doc, report)
    assert report.misaligned == 1 and "民币1200元" in report.examples["misaligned"][0]
    (decoded,) = tags_to_spans(tags, toks.offsets)
    assert decoded.start < doc.spans[0].start and decoded.end == doc.spans[0].end  # expanded, not dropped


def test_cjk_char_pretokenization_aligns_every_boundary(piece_tokenizer):
    doc = doc_from_marked("x", "价值人[民币1200元|AMOUNT]")
    toks = TokenIndex(piece_tokenizer, pretokenize="cjk_chars").tokenize([doc.text])[0]
    report = AlignmentReport()
    tags = spans_to_tags(toks, doc.spans, "BIOES", doc, report)
    assert report.misaligned == 0
    assert tags_to_spans(tags, toks.offsets) == doc.spans


def test_spaces_are_trimmed_from_offsets(piece_tokenizer):
    doc = doc_from_marked("x", "元 [iPhone|GOODS]")
    toks = TokenIndex(piece_tokenizer).tokenize([doc.text])[0]
    report = AlignmentReport()
    tags = spans_to_tags(toks, doc.spans, "BIO", doc, report)
    assert report.misaligned == 0
    assert tags_to_spans(tags, toks.offsets) == doc.spans


def test_empty_text(tiny_tokenizer, piece_tokenizer):
    for tok in (tiny_tokenizer, piece_tokenizer):
        toks = TokenIndex(tok).tokenize([""])[0]
        assert len(toks) == 0
        assert tags_to_spans(spans_to_tags(toks, [], "BIO"), toks.offsets) == []
        assert Encoder(TokenIndex(tok), ["X"]).encode([Document("e", "", [])]) == []


def test_overlap_policy_counts():
    spans = [Span(0, 10, "NS"), Span(2, 5, "NHVI"), Span(8, 12, "NASI")]
    kept, dropped = resolve_overlaps(spans, "longest")
    assert kept == [Span(0, 10, "NS")] and len(dropped) == 2
    kept, dropped = resolve_overlaps(spans, "first")
    assert kept == [Span(0, 10, "NS")]
    kept, dropped = resolve_overlaps([Span(0, 2, "A"), Span(1, 6, "B")], "longest")
    assert kept == [Span(1, 6, "B")] and dropped == [Span(0, 2, "A")]


def test_windows_cover_every_token_once():
    for n in (0, 1, 5, 17, 100):
        starts = window_starts(n, 8, 3)
        owners = window_owners(n, starts, 8)
        covered = [i for a, b in owners for i in range(a, b)]
        assert covered == list(range(n))
        for (a, b), s in zip(owners, starts):
            assert s <= a and b <= s + 8  # a window only answers for tokens it contains


def test_merge_takes_the_central_window():
    n, L, stride = 12, 8, 4
    starts = window_starts(n, L, stride)
    assert starts == [0, 4]  # windows [0, 8) and [4, 12) share tokens 4..7
    scores = [np.full((min(L, n - s), 1), k, dtype=np.float32) for k, s in enumerate(starts)]
    merged = merge_windows(scores, starts, n, L)[:, 0].tolist()
    # The boundary is the middle of the overlap: each shared token has >= 2 tokens of context.
    assert merged == [0] * 6 + [1] * 6


def test_entity_across_window_boundary_is_recovered(tiny_tokenizer):
    """An entity that straddles a window edge comes back whole after tagging in windows."""
    filler = "本院认为" * 10
    doc = doc_from_marked("w", filler + "被告人[陈某强|DEFENDANT]犯盗窃罪" + filler)
    enc = Encoder(TokenIndex(tiny_tokenizer), ["DEFENDANT"], max_length=44, stride=8)
    feats = enc.encode([doc])
    assert len(feats) > 2
    # Rebuild per-token tags from the windows and merge them centrally: the span must survive.
    toks = enc.index.tokenize([doc.text])[0]
    starts = enc.windows(len(toks))
    onehots = []
    for f in feats:
        labels = np.array(f["labels"][1:-1])
        onehot = np.zeros((len(labels), len(enc.tags)), dtype=np.float32)
        onehot[np.arange(len(labels)), np.where(labels < 0, 0, labels)] = 1
        onehots.append(onehot)
    merged = merge_windows(onehots, starts, len(toks), enc.content_length)
    tags = [enc.tags[i] for i in merged.argmax(-1)]
    assert tags_to_spans(tags, toks.offsets) == doc.spans


@pytest.mark.parametrize("scheme", ["BIO", "BIOES"])
def test_training_windows_never_start_or_end_inside_an_entity(tiny_tokenizer, scheme):
    """Every window's supervised tag sequence is one a CRF allows, from START to END."""
    from nlp_judgments.tagging.encoding import IGNORE, allowed_transition

    marked = "".join(f"被告人[陈某{i}强|DEFENDANT]于[2021年{i}月|DATE]在[杭州市临平区第{i}街道|LOCATION]。" for i in range(1, 12))
    doc = doc_from_marked("long", marked)
    enc = Encoder(TokenIndex(tiny_tokenizer), ["DEFENDANT", "DATE", "LOCATION"], scheme, max_length=20, stride=6)
    feats = enc.encode([doc])
    assert len(feats) > 10
    supervised = 0
    for f in feats:
        tags = ["START"] + [enc.tags[i] for i in f["labels"] if i != IGNORE] + ["O"]
        assert all(allowed_transition(a, b, scheme) for a, b in zip(tags, tags[1:])), tags
        supervised += len(tags) - 2
    assert supervised > len(enc.index.tokenize([doc.text])[0])  # overlaps: tokens seen more than once
