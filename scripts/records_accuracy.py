"""Records against the hand-made records gold: per-field accuracy and every miss.

The gold (``gold/records.jsonl``, protocol in ``docs/RECORDS_GOLD.md``) holds, per judgment of
``../shared/data/judge_docs/judgments.jsonl``, the court, case number, procuratorate, judgment date
and each defendant's charges, sentence type, executed months, probation months and fine. This
script builds a record for every judgment, from the rules alone or from a tagged file, and compares:

- per judgment: ``court``, ``case_number``, ``procuratorate``, ``judgment_date``, and ``defendants``
  (the set of names; a gold alias counts as the same person);
- per gold defendant (a defendant the record lacks is a miss in each): ``charges`` (as a set of
  canonical names), ``sentence_type``, ``months``, ``probation_months``, ``fine``.

Usage::

    python scripts/records_accuracy.py                                   # rules alone
    python scripts/records_accuracy.py --tagged tagged.jsonl             # records of `tag --records`
    python scripts/records_accuracy.py --split test --json out.json --misses 50

The split (``dev``/``test``, by id hash) is the gold's: never tune rules on ``test``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from nlp_judgments.legal.records import record_from_rules

REPO = Path(__file__).resolve().parents[1]
JUDGMENTS = REPO.parent / "shared" / "data" / "judge_docs" / "judgments.jsonl"
GOLD = REPO / "gold" / "records.jsonl"
CASE_FIELDS = ("court", "case_number", "procuratorate", "judgment_date")
DEFENDANT_FIELDS = ("charges", "sentence_type", "months", "probation_months", "fine")
FIELDS = CASE_FIELDS + ("defendants",) + DEFENDANT_FIELDS


def _value(field: dict | None):
    return None if field is None else field.get("value")


def predicted_case(record: dict) -> dict:
    """The comparable values of a built record (``legal.records`` shape)."""
    out = {k: _value(record.get(k)) for k in CASE_FIELDS}
    out["defendants"] = []
    for d in record.get("defendants", []):
        sentence = d.get("sentence") or {}
        fine = _value(d.get("fine_yuan"))
        out["defendants"].append({
            "name": _value(d.get("name")),
            "charges": sorted({_value(c) for c in d.get("charges", [])}),
            "sentence_type": _value(sentence.get("type")),
            "months": _value(sentence.get("months")),
            "probation_months": _value(sentence.get("probation_months")) or 0,
            "fine": None if not fine else float(fine),
        })
    return out


def gold_case(gold: dict) -> dict:
    out = {k: gold[k] for k in CASE_FIELDS}
    out["defendants"] = [{
        "name": d["name"], "aliases": d.get("aliases", []), "charges": sorted(set(d["charges"])),
        "sentence_type": d["sentence_type"], "months": d["months"], "probation_months": d["probation_months"] or 0,
        "fine": None if not d["fine_yuan"] else float(d["fine_yuan"]),
    } for d in gold["defendants"]]
    return out


def compare(gold: dict, pred: dict) -> list[tuple[str, str, object, object]]:
    """Misses as ``(field, who, gold value, predicted value)``; also returns nothing for a hit."""
    misses = []
    for k in CASE_FIELDS:
        if gold[k] != pred[k]:
            misses.append((k, "", gold[k], pred[k]))
    by_name = {d["name"]: d for d in pred["defendants"]}
    matched = {}
    for g in gold["defendants"]:
        for name in [g["name"], *g["aliases"]]:
            if name in by_name:
                matched[g["name"]] = by_name[name]
                break
    gold_names = {g["name"] for g in gold["defendants"]}
    spurious = sorted(n for n in by_name if n not in {m["name"] for m in matched.values()})
    if set(matched) != gold_names or spurious:
        misses.append(("defendants", "", sorted(gold_names), sorted(by_name)))
    for g in gold["defendants"]:
        p = matched.get(g["name"])
        for k in DEFENDANT_FIELDS:
            if p is None or g[k] != p[k]:
                misses.append((k, g["name"], g[k], None if p is None else p[k]))
    return misses


def score(golds: dict[str, dict], preds: dict[str, dict]) -> tuple[dict, list]:
    counts = defaultdict(lambda: [0, 0])  # field -> [right, total]
    misses = []
    for doc_id, gold in golds.items():
        g, p = gold_case(gold), preds[doc_id]
        found = compare(g, p)
        missed = defaultdict(int)
        for field, *_ in found:
            missed[field] += 1
        for k in CASE_FIELDS + ("defendants",):
            counts[k][1] += 1
            counts[k][0] += missed[k] == 0
        for k in DEFENDANT_FIELDS:
            counts[k][1] += len(g["defendants"])
            counts[k][0] += len(g["defendants"]) - missed[k]
        misses += [(gold["line"], doc_id, *m) for m in found]
    return {k: {"right": r, "total": t, "accuracy": round(r / t, 4) if t else None} for k, (r, t) in counts.items()}, misses


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--judgments", default=str(JUDGMENTS))
    p.add_argument("--gold", default=str(GOLD))
    p.add_argument("--tagged", help="a `tag --records` output: score its records instead of the rules'")
    p.add_argument("--split", choices=["dev", "test", "all"], default="all")
    p.add_argument("--misses", type=int, default=1000, help="print at most this many misses")
    p.add_argument("--json", help="write the figures and misses here")
    args = p.parse_args()

    golds = {g["id"]: g for g in map(json.loads, Path(args.gold).read_text(encoding="utf-8").splitlines())
             if args.split == "all" or g["split"] == args.split}
    t0, chars = time.perf_counter(), 0
    preds = {}
    if args.tagged:
        for line in Path(args.tagged).read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            if obj.get("id") in golds:
                preds[obj["id"]] = predicted_case(obj.get("record") or {})
    else:
        for line in Path(args.judgments).read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            if obj["id"] in golds:
                chars += len(obj["text"])
                preds[obj["id"]] = predicted_case(record_from_rules(obj["text"]))
    seconds = time.perf_counter() - t0
    missing = sorted(set(golds) - set(preds))
    if missing:
        print(f"error: no record for {len(missing)} gold judgments (e.g. {missing[0]})", file=sys.stderr)
        return 2
    figures, misses = score(golds, preds)
    source = args.tagged or "rules alone"
    print(f"records of {source} against {args.gold} ({args.split}: {len(golds)} judgments, "
          f"{figures['charges']['total']} defendants)")
    print(f"{'field':<18}{'right':>7}{'total':>7}{'accuracy':>10}")
    for k in FIELDS:
        f = figures[k]
        print(f"{k:<18}{f['right']:>7}{f['total']:>7}{f['accuracy']:>10.4f}")
    if not args.tagged:
        print(f"rules: {chars / seconds:,.0f} characters/s ({seconds:.2f} s, one process)")
    for line, doc_id, field, who, gold, pred in misses[: args.misses]:
        print(f"miss line {line} {field}{' ' + who if who else ''}: gold {gold!r} record {pred!r}")
    if args.json:
        Path(args.json).write_text(json.dumps({"source": source, "split": args.split, "fields": figures,
                                               "misses": misses}, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
