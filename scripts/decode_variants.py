"""Dev F1 of one span-head model under decoding variants: a shifted decision threshold, nesting on/off.

The span head keeps a span whose score is above its ``threshold`` (0) and keeps spans nested in
better ones (``nested``); both are public settings of a loaded head. This script scores the same
model with thresholds ``t`` and with nesting on and off, to see what each is worth. Thresholds chosen here are tuned on the
data they are scored on: insight, not a result; a shipped threshold must come from other data.

Usage::

    tail -300 ../shared/data/cail2021_ie/train.jsonl > /tmp/cail_dev300.jsonl
    python scripts/decode_variants.py runs/cail2021/model-best /tmp/cail_dev300.jsonl --format cail2021
"""

from __future__ import annotations

import argparse
import json

from nlp_judgments.data.documents import load_documents
from nlp_judgments.tagging.evaluate import model_label_map, score_documents
from nlp_judgments.tagging.tagger import Tagger


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a span-head model folder")
    p.add_argument("data", help="gold data file")
    p.add_argument("--format", default="auto")
    p.add_argument("--thresholds", default="-1,-0.5,0,0.5,1", help="comma-separated score thresholds")
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args()

    tagger = Tagger.load(args.model)
    if tagger.meta.head != "span":
        raise SystemExit(f"{args.model} has a {tagger.meta.head} head; this compares span decoding only")
    docs, _ = load_documents(args.data, args.format, model_label_map(args.model, args.data))
    texts = [d.text for d in docs]
    rows = []
    print(f"{'threshold':>9} {'nested':>6} {'F1':>7} {'P':>7} {'R':>7}")
    for t in (float(x) for x in args.thresholds.split(",")):
        for nested in (True, False):
            tagger.head.threshold, tagger.head.nested = t, nested
            micro = score_documents(docs, tagger.predict_spans(texts))["micro"]
            rows.append({"threshold": t, "nested": nested, **{k: micro[k] for k in ("f1", "precision", "recall")}})
            print(f"{t:>+9.1f} {str(nested):>6} {micro['f1']:>7.4f} {micro['precision']:>7.4f} {micro['recall']:>7.4f}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"model": args.model, "data": args.data, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
