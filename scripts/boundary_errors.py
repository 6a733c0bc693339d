"""Where a model's dev errors come from: each gold span it misses, by label and by kind of miss.

``metrics.span_scores`` counts errors from the predictions' side. This script takes the gold side,
which is what recall loses, and splits every gold span not predicted exactly into:

- ``too_short`` / ``too_long``: a prediction of the same label lies inside it / contains it;
- ``shifted``: a prediction of the same label crosses it;
- ``wrong_label``: only predictions of other labels overlap it (same offsets or not);
- ``missed``: nothing overlaps it.

It also counts the boundary misses that differ from a prediction only by a leading demonstrative
(该, 其, 此: "该手机" against "手机"), a convention the annotators did not apply consistently, and
how often the gold itself starts with one or leaves one just outside. Insight, not a score.

Usage::

    tail -300 ../shared/data/cail2021_ie/train.jsonl > /tmp/cail_dev300.jsonl
    python scripts/boundary_errors.py runs/cail2021/model-best /tmp/cail_dev300.jsonl --format cail2021
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict

from nlp_judgments.data.documents import load_documents
from nlp_judgments.tagging.evaluate import model_label_map
from nlp_judgments.tagging.tagger import Tagger

DEMONSTRATIVES = "该其此"
KINDS = ("too_short", "too_long", "shifted", "wrong_label", "missed")


def classify(gold, preds) -> str:
    """The kind of miss of one gold span against the predictions of its document."""
    overlapping = [p for p in preds if p.start < gold.end and gold.start < p.end]
    same = [p for p in overlapping if p.label == gold.label]
    if any(gold.start <= p.start and p.end <= gold.end for p in same):
        return "too_short"
    if any(p.start <= gold.start and gold.end <= p.end for p in same):
        return "too_long"
    if same:
        return "shifted"
    return "wrong_label" if overlapping else "missed"


def demonstrative_only(gold, preds, text: str) -> bool:
    """True if a same-label prediction differs from ``gold`` only by a demonstrative before it."""
    for p in preds:
        if p.label != gold.label or p.end != gold.end:
            continue
        lo, hi = sorted((p.start, gold.start))
        if hi - lo == 1 and text[lo] in DEMONSTRATIVES:
            return True
    return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a trained model folder")
    ap.add_argument("data", help="gold data file (the dev block)")
    ap.add_argument("--format", default="auto")
    ap.add_argument("--examples", type=int, default=3, help="examples shown per label and kind")
    ap.add_argument("--sample", type=int, default=0,
                    help="also print this many misses drawn at random (seed 0), in context, for a hand audit")
    ap.add_argument("--json", help="write the counts here")
    args = ap.parse_args()

    tagger = Tagger.load(args.model)
    docs, _ = load_documents(args.data, args.format, model_label_map(args.model, args.data))
    preds = tagger.predict_spans([d.text for d in docs])

    kinds: dict[str, Counter] = defaultdict(Counter)
    demonstrative: Counter = Counter()
    gold_prefix: Counter = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    misses: list[str] = []
    for doc, pred in zip(docs, preds):
        pred_set = set(pred)
        for g in doc.spans:
            if doc.text[g.start] in DEMONSTRATIVES:
                gold_prefix[(g.label, "inside")] += 1
            elif g.start and doc.text[g.start - 1] in DEMONSTRATIVES:
                gold_prefix[(g.label, "before")] += 1
            if g in pred_set:
                kinds[g.label]["exact"] += 1
                continue
            kind = classify(g, pred)
            kinds[g.label][kind] += 1
            if kind in ("too_short", "too_long") and demonstrative_only(g, pred, doc.text):
                demonstrative[g.label] += 1
            near = " | ".join(f"{doc.text[p.start:p.end]}/{p.label}" for p in pred
                              if p.start < g.end and g.start < p.end) or "-"
            if len(examples[(g.label, kind)]) < args.examples:
                examples[(g.label, kind)].append(f"{doc.text[g.start:g.end]} <- {near}")
            context = f"{doc.text[max(0, g.start - 15):g.start]}[{doc.text[g.start:g.end]}]{doc.text[g.end:g.end + 15]}"
            misses.append(f"{g.label}\t{kind}\t{context}\t{near}")

    labels = sorted(kinds)
    head = f"{'label':<6} {'gold':>5} {'exact':>6} " + " ".join(f"{k:>11}" for k in KINDS)
    print(head + f" {'该-only':>8} {'gold 该… / 该[…]':>17}")
    total: Counter = Counter()
    for label in labels + ["all"]:
        c = total if label == "all" else kinds[label]
        if label != "all":
            total.update(c)
        n = sum(c.values())
        dem = sum(demonstrative.values()) if label == "all" else demonstrative[label]
        inside = sum(v for (lab, w), v in gold_prefix.items() if w == "inside" and label in (lab, "all"))
        before = sum(v for (lab, w), v in gold_prefix.items() if w == "before" and label in (lab, "all"))
        print(f"{label:<6} {n:>5} {c['exact']:>6} " + " ".join(f"{c[k]:>11}" for k in KINDS)
              + f" {dem:>8} {f'{inside} / {before}':>17}")
    print()
    for (label, kind), ex in sorted(examples.items()):
        print(f"{label} {kind}: " + "; ".join(ex))
    if args.sample:
        print(f"\n{args.sample} of {len(misses)} misses at random: label, kind, [gold] in context, overlapping predictions")
        random.Random(0).shuffle(misses)
        for i, line in enumerate(misses[: args.sample]):
            print(f"{i}\t{line}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"model": args.model, "data": args.data,
                       "kinds": {k: dict(v) for k, v in kinds.items()},
                       "demonstrative_only": dict(demonstrative),
                       "gold_demonstrative": {f"{k[0]}:{k[1]}": v for k, v in gold_prefix.items()}},
                      f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
