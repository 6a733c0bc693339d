"""Exact character-span scores, an error breakdown, and a cross-check against seqeval.

Scores are computed on whole documents: a predicted span counts only if ``(start, end, label)``
matches a gold span exactly. Every gold span counts, overlapping ones included, so a flat tagger's
recall ceiling on data with nested spans shows up honestly.

Errors, each predicted or gold span counted once, in this order of precedence:

- ``wrong_type``: a prediction with exactly a gold span's offsets but another label;
- ``wrong_boundary``: a prediction overlapping a gold span of the same label, offsets differ;
- ``wrong_both``: a prediction overlapping a gold span of another label, offsets differ;
- ``spurious``: a prediction overlapping no gold span;
- ``missed``: a gold span that no prediction overlaps.

A source that annotates only some labels is scored on those only: ``restrict_spans`` keeps the
labels it annotates on both sides (mapping labels it cannot tell apart onto the one it uses), and
``pooled_micro`` adds several such scores into one figure.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, Sequence

from seqeval.metrics import f1_score
from seqeval.scheme import IOB2

from nlp_judgments.spans import Span


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 6), "recall": round(r, 6), "f1": round(f, 6)}


def span_scores(
    gold: Sequence[Iterable[Span]],
    pred: Sequence[Iterable[Span]],
    texts: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    max_examples: int = 5,
) -> dict:
    """Micro and per-type precision/recall/F1 plus the error breakdown, as a JSON-ready dict."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold documents but {len(pred)} predicted")
    tp: Counter = Counter()
    n_gold: Counter = Counter()
    n_pred: Counter = Counter()
    errors: Counter = Counter()
    examples: dict[str, list[str]] = defaultdict(list)

    def example(kind: str, d: int, g: Span | None, p: Span | None) -> None:
        if len(examples[kind]) >= max_examples or texts is None:
            return
        text = texts[d]
        doc = ids[d] if ids is not None else str(d)
        show = lambda s: f"{text[s.start:s.end]}/{s.label}@{s.start}" if s else "-"  # noqa: E731
        examples[kind].append(f"{doc}: gold {show(g)} pred {show(p)}")

    for d, (g_doc, p_doc) in enumerate(zip(gold, pred)):
        g_set, p_set = set(g_doc), set(p_doc)
        for s in g_set:
            n_gold[s.label] += 1
        for s in p_set:
            n_pred[s.label] += 1
        for s in g_set & p_set:
            tp[s.label] += 1
        unmatched_gold = g_set - p_set
        for p in sorted(p_set - g_set):
            same_offsets = [g for g in unmatched_gold if (g.start, g.end) == (p.start, p.end)]
            overlapping = [g for g in unmatched_gold if g.start < p.end and p.start < g.end]
            if same_offsets:
                kind, g = "wrong_type", same_offsets[0]
            elif any(g.label == p.label for g in overlapping):
                kind, g = "wrong_boundary", next(g for g in overlapping if g.label == p.label)
            elif overlapping:
                kind, g = "wrong_both", overlapping[0]
            else:
                kind, g = "spurious", None
            errors[kind] += 1
            example(kind, d, g, p)
        for g in sorted(unmatched_gold):
            if not any(g.start < p.end and p.start < g.end for p in p_set):
                errors["missed"] += 1
                example("missed", d, g, None)

    labels = sorted(set(n_gold) | set(n_pred))
    per_type = {}
    for label in labels:
        per_type[label] = _prf(tp[label], n_pred[label], n_gold[label]) | {"support": n_gold[label]}
    micro = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    micro |= {"support": sum(n_gold.values()), "predicted": sum(n_pred.values()), "correct": sum(tp.values())}
    return {
        "micro": micro,
        "per_type": per_type,
        "errors": {k: errors[k] for k in ("missed", "spurious", "wrong_boundary", "wrong_type", "wrong_both")},
        "error_examples": dict(examples),
    }


def restrict_spans(spans: Iterable[Span], labels: Iterable[str], collapse: dict[str, str] | None = None) -> list[Span]:
    """Spans relabelled by ``collapse`` (label -> the label a source uses for it), then only those
    whose label is in ``labels``.

    >>> restrict_spans([Span(0, 2, "DEFENDANT"), Span(3, 5, "APP")], {"PERSON"}, {"DEFENDANT": "PERSON"})
    [Span(start=0, end=2, label='PERSON')]
    """
    collapse = collapse or {}
    keep = set(labels)
    out = (Span(s.start, s.end, collapse.get(s.label, s.label)) for s in spans)
    return [s for s in out if s.label in keep]


def pooled_micro(scores: Iterable[dict]) -> dict:
    """One micro P/R/F1 over several ``span_scores`` results: their counts added, then divided."""
    correct = predicted = support = 0
    for s in scores:
        correct += s["micro"]["correct"]
        predicted += s["micro"]["predicted"]
        support += s["micro"]["support"]
    return _prf(correct, predicted, support) | {"support": support, "predicted": predicted, "correct": correct}


def char_bio(text_length: int, spans: Iterable[Span]) -> list[str]:
    """One IOB2 tag per character (spans must not overlap)."""
    tags = ["O"] * text_length
    for s in sorted(spans):
        tags[s.start] = f"B-{s.label}"
        for i in range(s.start + 1, s.end):
            tags[i] = f"I-{s.label}"
    return tags


def seqeval_micro_f1(texts: Sequence[str], gold: Sequence[Iterable[Span]], pred: Sequence[Iterable[Span]]) -> float | None:
    """seqeval strict-mode (IOB2) micro-F1 on character tags; None when some document's gold spans
    overlap (no flat tag sequence can hold them, so the two metrics would not be comparable)."""

    y_true, y_pred = [], []
    for text, g, p in zip(texts, gold, pred):
        g = sorted(set(g))
        if any(a.end > b.start for a, b in zip(g, g[1:])):
            return None
        y_true.append(char_bio(len(text), g))
        y_pred.append(char_bio(len(text), p))
    if not any(t != "O" for seq in y_true + y_pred for t in seq):
        return 0.0
    return float(f1_score(y_true, y_pred, mode="strict", scheme=IOB2, zero_division=0))


def format_table(scores: dict) -> str:
    """A plain-text per-type table, micro last, for logs and the CLI."""
    rows = [f"{'label':<16}{'P':>8}{'R':>8}{'F1':>8}{'support':>9}"]
    for label, s in scores["per_type"].items():
        rows.append(f"{label:<16}{s['precision']:>8.4f}{s['recall']:>8.4f}{s['f1']:>8.4f}{s['support']:>9}")
    m = scores["micro"]
    rows.append(f"{'micro':<16}{m['precision']:>8.4f}{m['recall']:>8.4f}{m['f1']:>8.4f}{m['support']:>9}")
    if "errors" in scores:
        rows.append("errors: " + ", ".join(f"{k} {v}" for k, v in scores["errors"].items()))
    return "\n".join(rows)
