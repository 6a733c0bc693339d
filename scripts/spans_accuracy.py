"""Entity spans against the span gold on real judgments: rules, a model, and both as one tagger.

Scores exact spans per label on ``gold/spans.jsonl`` (60 judgments, protocol ``docs/SPAN_GOLD.md``)
for the rule pre-labeller, for a model folder alone and for the model with the rules
(``Tagger(rules=True)``), on the ``dev`` or ``test`` split. The five product labels (DEFENDANT, APP,
AMOUNT, DATE, CHARGE) get their own micro-F1 row, as the issue that asked for this table states
its targets on them. The rules never emit PERSON, ORG or LOCATION: their scores there are 0 by design.

    python scripts/spans_accuracy.py --split dev                                  # rules only
    python scripts/spans_accuracy.py --split test --model runs/judgment_full/model-best --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.legal.schema import LABELS
from nlp_judgments.spans import Span
from nlp_judgments.tagging.metrics import restrict_spans, span_scores

REPO = Path(__file__).resolve().parents[1]
JUDGMENTS = REPO.parent / "shared" / "data" / "judge_docs" / "judgments.jsonl"
GOLD = REPO / "gold" / "spans.jsonl"
PRODUCT = ("DEFENDANT", "APP", "AMOUNT", "DATE", "CHARGE")


def load(gold_path: Path, judgments: Path, split: str) -> tuple[list[str], list[list[Span]]]:
    texts = {}
    for line in judgments.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        texts[obj["id"]] = obj["text"]
    ids, gold = [], []
    for line in gold_path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        if split in ("all", obj["split"]):
            ids.append(obj["id"])
            gold.append([Span(s, e, label) for s, e, label in obj["spans"]])
    return [texts[i] for i in ids], gold


def table(name: str, gold: list[list[Span]], pred: list[list[Span]]) -> dict:
    scores = span_scores(gold, pred)
    product = span_scores([restrict_spans(g, PRODUCT) for g in gold], [restrict_spans(p, PRODUCT) for p in pred])
    return {"engine": name, "per_label": {k: scores["per_type"].get(k) for k in LABELS}, "micro": scores["micro"],
            "product_micro": product["micro"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=["dev", "test", "all"], default="dev")
    p.add_argument("--model", help="a model folder of the judgment schema: adds 'model' and 'model+rules' columns")
    p.add_argument("--gold", default=str(GOLD))
    p.add_argument("--judgments", default=str(JUDGMENTS))
    p.add_argument("--json")
    args = p.parse_args()
    texts, gold = load(Path(args.gold), Path(args.judgments), args.split)
    rows = [table("rules", gold, [prelabel_text(t) for t in texts])]
    if args.model:
        from nlp_judgments.tagging.tagger import Tagger  # only with --model: the rules need no torch

        rows.append(table("model", gold, Tagger.load(args.model).predict_spans(texts)))
        rows.append(table("model+rules", gold, Tagger.load(args.model, rules=True).predict_spans(texts)))
    print(f"{args.split}: {len(texts)} judgments, {sum(map(len, gold))} gold spans; exact-span F1 per label")
    print(f"{'label':<15}" + "".join(f"{r['engine']:>13}" for r in rows) + f"{'gold':>7}")
    for label in LABELS:
        support = next((r["per_label"][label]["support"] for r in rows if r["per_label"][label]), 0)
        cells = "".join(f"{(r['per_label'][label] or {}).get('f1', 0):>13.4f}" for r in rows)
        print(f"{label:<15}{cells}{support:>7}")
    print(f"{'five products':<15}" + "".join(f"{r['product_micro']['f1']:>13.4f}" for r in rows))
    print(f"{'all 13':<15}" + "".join(f"{r['micro']['f1']:>13.4f}" for r in rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"split": args.split, "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
