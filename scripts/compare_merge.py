"""Compare the policies that stitch overlapping tagging windows back together (``encoding.merge_windows``).

A judgment is longer than a window, so each token sits in one or two windows. For several window
lengths (shorter windows make more seams, which magnifies the differences) this tags the same
documents with each policy and reports exact-span micro-F1 against the file's spans, counting only
labels the model predicts, and how many tokens' predicted tags differ from the central policy.

    python scripts/compare_merge.py --model runs/silver/model/model-best \
        --data runs/silver/dev.spans.jsonl --max-length 64 128 256 --out runs/merge_policies.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nlp_judgments.spans import read_spans_jsonl
from nlp_judgments.tagging.encoding import MERGE_POLICIES
from nlp_judgments.tagging.metrics import span_scores
from nlp_judgments.tagging.tagger import Tagger


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="span JSONL: documents with reference spans")
    ap.add_argument("--max-length", type=int, nargs="+", default=[64, 128, 256], help="window lengths in tokens")
    ap.add_argument("--stride", type=int, help="tokens shared by neighbouring windows (default: the model's)")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", default="runs/merge_policies.json")
    args = ap.parse_args(argv)

    tagger = Tagger.load(args.model)
    docs = list(read_spans_jsonl(args.data))[: args.limit]
    known = set(tagger.meta.labels)
    texts = [d.text for d in docs]
    gold = [[s for s in d.spans if s.label in known] for d in docs]
    stride = args.stride or tagger.stride
    rows = []
    for max_length in args.max_length:
        tagger.content_length = max_length - 2
        tagger.stride = min(stride, max_length // 4)
        predictions = {}
        for policy in MERGE_POLICIES:
            tagger.merge = policy
            t0 = time.perf_counter()
            predictions[policy] = tagger.predict_spans(texts)
            seconds = time.perf_counter() - t0
            micro = span_scores(gold, predictions[policy], texts, [d.id for d in docs])["micro"]
            rows.append({"max_length": max_length, "stride": tagger.stride, "policy": policy,
                         "precision": micro["precision"], "recall": micro["recall"], "f1": micro["f1"],
                         "seconds": round(seconds, 2)})
        central = [set(p) for p in predictions["central"]]
        for row in rows[-len(MERGE_POLICIES):]:
            other = [set(p) for p in predictions[row["policy"]]]
            row["spans_not_in_central"] = sum(len(o - c) + len(c - o) for o, c in zip(other, central))

    print(f"{len(docs)} documents, {sum(map(len, texts)):,} characters, labels scored: {', '.join(sorted(known))}")
    print(f"{'max_len':>7} {'stride':>6} {'policy':>8} {'P':>7} {'R':>7} {'F1':>7} {'Δspans':>7} {'sec':>6}")
    for r in rows:
        print(f"{r['max_length']:>7} {r['stride']:>6} {r['policy']:>8} {r['precision']:>7.4f} {r['recall']:>7.4f} "
              f"{r['f1']:>7.4f} {r['spans_not_in_central']:>7} {r['seconds']:>6}")
    result = {"model": args.model, "data": args.data, "documents": len(docs), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
