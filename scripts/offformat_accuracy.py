"""Text the rules cannot read: rules, a model and both on the off-format test set (not judgments).

``gold/offformat/texts.jsonl`` holds fictional news reports, case summaries, notices and single
sentences written for the project, marked by hand (``⟦surface|LABEL⟧``, ``gold/offformat/README.md``);
``gold/offformat/records.jsonl`` the defendants each text states a sentence for. This prints, per
engine, precision, recall and F1 per label (recall of DEFENDANT, AMOUNT, DATE and APP is what the
issue sets its target on) and, for the texts that state sentences, how many of their defendants the
record lists with the right months and fine.

    python scripts/offformat_accuracy.py                                      # rules only
    python scripts/offformat_accuracy.py --model runs/judgment_full/model-best --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from span_gold import unmark

from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.legal.records import build_record, record_from_rules
from nlp_judgments.legal.schema import LABELS
from nlp_judgments.spans import Span
from nlp_judgments.tagging.metrics import span_scores

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "gold" / "offformat"
TARGETS = ("DEFENDANT", "AMOUNT", "DATE", "APP")


def load(folder: Path):
    texts, gold, ids = [], [], []
    for line in (folder / "texts.jsonl").read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        text, spans, problems = unmark(obj["marked"])
        if problems:
            raise SystemExit(f"{obj['id']}: {problems[0]}")
        ids.append(obj["id"])
        texts.append(text)
        gold.append(spans)
    records = {}
    path = folder / "records.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            records[obj["id"]] = obj["defendants"]
    return ids, texts, gold, records


def record_hits(ids, records_built, gold_records) -> dict:
    """Gold defendants with a stated sentence: listed by the record, and with the right months and fine."""
    stated = listed = right = 0
    for doc_id, record in zip(ids, records_built):
        by_name = {d["name"]["value"]: d for d in record["defendants"]}
        for g in gold_records.get(doc_id, []):
            if g.get("sentence_type") is None and g.get("months") is None:
                continue
            stated += 1
            d = by_name.get(g["name"])
            if d is None:
                continue
            listed += 1
            months = (d.get("sentence") or {}).get("months", {}).get("value")
            fine = d.get("fine_yuan", {}).get("value")
            right += months == g.get("months") and (fine or None) == (g.get("fine_yuan") or None)
    return {"defendants_with_sentence": stated, "listed": listed, "months_and_fine_right": right}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", default=str(FOLDER))
    p.add_argument("--model", help="a judgment-schema model folder: adds 'model' and 'model+rules'")
    p.add_argument("--json")
    args = p.parse_args()
    ids, texts, gold, gold_records = load(Path(args.folder))
    engines = {"rules": ([prelabel_text(t) for t in texts], [record_from_rules(t) for t in texts])}
    if args.model:
        from nlp_judgments.tagging.tagger import Tagger  # only with --model: the rules need no torch

        for name, rules in (("model", False), ("model+rules", True)):
            tagger = Tagger.load(args.model, rules=rules)
            tagged = tagger.tag(texts)
            engines[name] = (tagged, [tagger.record(t, ents) if rules else build_record(t, ents)
                                     for t, ents in zip(texts, tagged)])
    rows = {}
    for name, (pred, records) in engines.items():
        pred = [[Span(s.start, s.end, s.label) for s in p] for p in pred]
        scores = span_scores(gold, pred)
        rows[name] = {"per_label": scores["per_type"], "micro": scores["micro"],
                      "records": record_hits(ids, records, gold_records)}
    print(f"{len(texts)} off-format texts, {sum(map(len, gold))} gold spans; recall / F1 per label")
    print(f"{'label':<15}" + "".join(f"{n:>22}" for n in rows) + f"{'gold':>7}")
    for label in LABELS:
        cells = "".join(f"{r['per_label'].get(label, {}).get('recall', 0):>11.3f}{r['per_label'].get(label, {}).get('f1', 0):>11.3f}"
                        for r in rows.values())
        support = next((r["per_label"][label]["support"] for r in rows.values() if label in r["per_label"]), 0)
        print(f"{label:<15}{cells}{support:>7}")
    for name, r in rows.items():
        rec = r["records"]
        print(f"{name}: micro-F1 {r['micro']['f1']:.4f}; records list {rec['listed']} of {rec['defendants_with_sentence']} "
              f"sentenced defendants, {rec['months_and_fine_right']} with the right months and fine")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
