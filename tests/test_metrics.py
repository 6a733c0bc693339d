"""Span metrics: hand-derived cases, the error breakdown, and agreement with seqeval strict mode."""

from __future__ import annotations

import random

import pytest

from nlp_judgments.spans import Span
from nlp_judgments.tagging.metrics import seqeval_micro_f1, span_scores


def test_hand_derived_scores_and_errors():
    text = "被告人张某于2020年11月在美团盗窃人民币500元"
    gold = [[Span(3, 5, "DEFENDANT"), Span(6, 14, "DATE"), Span(15, 17, "APP"), Span(19, 26, "AMOUNT")]]
    pred = [[
        Span(3, 5, "DEFENDANT"),  # correct
        Span(6, 11, "DATE"),  # wrong boundary
        Span(15, 17, "ORG"),  # wrong type
        Span(0, 2, "PERSON"),  # spurious
    ]]  # AMOUNT missed
    s = span_scores(gold, pred, [text], ["d"])
    assert s["micro"]["precision"] == 0.25 and s["micro"]["recall"] == 0.25
    assert s["errors"] == {"missed": 1, "spurious": 1, "wrong_boundary": 1, "wrong_type": 1, "wrong_both": 0}
    assert s["per_type"]["DEFENDANT"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert "人民币500元/AMOUNT" in s["error_examples"]["missed"][0]


def test_overlapping_gold_spans_all_count():
    gold = [[Span(0, 6, "NS"), Span(2, 4, "NHVI")]]
    s = span_scores(gold, [[Span(0, 6, "NS")]])
    assert s["micro"]["recall"] == 0.5 and s["micro"]["precision"] == 1.0
    assert seqeval_micro_f1(["x" * 6], gold, [[Span(0, 6, "NS")]]) is None  # not comparable: skipped


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_seqeval_strict_on_flat_data(seed):
    rng = random.Random(seed)

    def random_spans(n):
        spans, pos = [], 0
        while pos < n - 1:
            pos += rng.randint(0, 4)
            length = rng.randint(1, 4)
            if pos + length > n:
                break
            spans.append(Span(pos, pos + length, rng.choice("ABC")))
            pos += length
        return spans

    texts = ["x" * rng.randint(5, 60) for _ in range(20)]
    gold = [random_spans(len(t)) for t in texts]
    # Predictions: gold with some spans dropped, shifted or relabelled.
    pred = []
    for g in gold:
        p = []
        for s in g:
            r = rng.random()
            if r < 0.6:
                p.append(s)
            elif r < 0.75:
                p.append(Span(s.start, s.end, "A" if s.label != "A" else "B"))
            elif r < 0.9 and s.end - s.start > 1:
                p.append(Span(s.start + 1, s.end, s.label))
        pred.append(p)
    ours = span_scores(gold, pred)["micro"]["f1"]
    assert seqeval_micro_f1(texts, gold, pred) == pytest.approx(ours, abs=1e-6)
