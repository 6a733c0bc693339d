"""Measure the rule pre-labeller: speed on full judgments, recall against CAIL2021 gold, charge coverage.

Data paths are arguments; nothing is copied into the repository. Prints a table and writes JSON.

    python scripts/measure_prelabel.py \
        --judgments ../shared/data/judge_docs/judgments.jsonl \
        --cail ../shared/data/cail2021_ie/train.jsonl \
        --charges ../shared/data/charges.txt \
        --sample-out runs/prelabel_sample.tsv --out runs/prelabel_measure.json

``--sample-out`` writes a stratified random sample of predicted spans with context (a column
left empty for the verdict) for the hand check of precision.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from nlp_judgments.apps.corpus import prelabel_files
from nlp_judgments.legal.lexicons import load_charges
from nlp_judgments.legal.normalize import canonical_charge
from nlp_judgments.legal.prelabel import prelabel_text

# CAIL2021 codes → our labels, for the labels both schemas have.
CAIL_TO_OURS = {"NHCS": "DEFENDANT", "NCSM": "AMOUNT", "NCGV": "AMOUNT", "NCSP": "AMOUNT", "NT": "DATE"}


def measure_speed(judgments: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        stats = prelabel_files([judgments], Path(tmp) / "silver.jsonl", progress=False)
    return stats


def measure_cail(cail: Path) -> dict:
    """Recall per CAIL code: exact span match, and overlap with a predicted span of the mapped label."""
    found = Counter()
    overlap = Counter()
    total = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    for line in cail.open(encoding="utf-8"):
        obj = json.loads(line)
        text = obj["context"]
        pred = prelabel_text(text)
        for ent in obj["entities"]:
            ours = CAIL_TO_OURS.get(ent["label"])
            if ours is None:
                continue
            for sp in ent["span"]:
                a, b = map(int, sp.split(";"))
                total[ent["label"]] += 1
                same = [p for p in pred if p.label == ours]
                if any(p.start == a and p.end == b for p in same):
                    found[ent["label"]] += 1
                elif any(p.start < b and a < p.end for p in same):
                    overlap[ent["label"]] += 1
                else:
                    misses[ent["label"]].append(text[a:b])
    out = {}
    for code in total:
        out[code] = {
            "label": CAIL_TO_OURS[code],
            "gold": total[code],
            "exact_recall": round(found[code] / total[code], 4),
            "overlap_recall": round((found[code] + overlap[code]) / total[code], 4),
            "miss_examples": misses[code][:15],
        }
    shared = defaultdict(lambda: [0, 0, 0])
    for code, r in out.items():
        s = shared[r["label"]]
        s[0] += r["gold"]
        s[1] += found[code]
        s[2] += found[code] + overlap[code]
    out["_by_label"] = {k: {"gold": g, "exact_recall": round(f / g, 4), "overlap_recall": round(o / g, 4)}
                        for k, (g, f, o) in shared.items()}
    return out


def measure_charges(reference: Path, judgments: Path) -> dict:
    ref = [l.strip() for l in reference.read_text(encoding="utf-8").splitlines() if l.strip()]
    by_match = Counter()
    unmapped_ref = []
    for name in ref:
        c = canonical_charge(name)
        if c is None:
            unmapped_ref.append(name)
        else:
            by_match[c.match] += 1
    ours = {c.name for c in load_charges()}
    mapped = {canonical_charge(n).name for n in ref if canonical_charge(n)}
    # Charges as judgments write them, found independently of the pre-labeller's own finder.
    mention = re.compile(r"(?:犯|构成|涉嫌|以|判决)(?:有|了)?([\u4e00-\u9fff、（）()]{2,40}?罪)")
    # Words that show the match is prose about guilt (如实供述自己的罪行), not a charge name.
    prose = re.compile(r"^[罪、]|供述|认罪|悔罪|被告人|行为|构成|应当|判处|有期徒刑|事实|前款|两款|第.款|漏罪|新罪|其他|其它|无罪|什么|定罪|有罪|检")
    seen = Counter()
    unmapped_docs = Counter()
    for line in judgments.open(encoding="utf-8"):
        text = json.loads(line)["text"]
        for m in mention.finditer(text):
            surface = m.group(1)
            if surface in ("犯罪", "数罪") or prose.search(surface):
                continue
            if surface.endswith(("犯罪", "之罪", "此罪", "该罪", "本罪", "数罪", "一罪", "罚当其罪")):
                continue
            # 认定张某犯交通肇事罪, 犯有诈骗罪, 因容留他人吸毒罪: keep what follows the last cue word.
            surface = re.split(r"犯有|犯了|犯", surface)[-1]
            surface = re.sub(r"^(?:有|因|与|了)", "", surface)
            if "书" in surface or surface.endswith(("前罪", "的罪")):
                continue
            seen[surface] += 1
            if canonical_charge(surface) is not None:
                continue
            # 盗窃、诈骗、抢夺罪 lists several charges sharing one 罪: check each.
            parts = [p + "罪" for p in surface[:-1].split("、")]
            if len(parts) > 1 and all(canonical_charge(p) for p in parts):
                continue
            unmapped_docs[surface] += 1
    return {
        "reference_names": len(ref),
        "reference_covered": len(ref) - len(unmapped_ref),
        "reference_by_match": dict(by_match),
        "reference_unmapped": unmapped_ref,
        "lexicon_canonical": len(ours),
        "lexicon_not_in_reference": sorted(ours - mapped),
        "judgment_charge_surfaces": len(seen),
        "judgment_charge_mentions": sum(seen.values()),
        "judgment_unmapped": dict(unmapped_docs.most_common()),
    }


def write_sample(judgments: Path, out: Path, per_label: int, seed: int) -> int:
    rng = random.Random(seed)
    by_label = defaultdict(list)
    for line in judgments.open(encoding="utf-8"):
        obj = json.loads(line)
        text = obj["text"]
        for s in prelabel_text(text):
            left = text[max(0, s.start - 15) : s.start].replace("\t", " ").replace("\n", " ")
            right = text[s.end : s.end + 15].replace("\t", " ").replace("\n", " ")
            by_label[s.label].append((obj["id"], s.start, s.label, left, text[s.start : s.end], right))
    rows = []
    for label in sorted(by_label):
        rows += rng.sample(by_label[label], min(per_label, len(by_label[label])))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        f.write("id\tstart\tlabel\tleft\tspan\tright\tverdict\n")
        for r in rows:
            f.write("\t".join(map(str, r)) + "\t\n")
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judgments", type=Path, required=True)
    ap.add_argument("--cail", type=Path)
    ap.add_argument("--charges", type=Path)
    ap.add_argument("--sample-out", type=Path)
    ap.add_argument("--per-label", type=int, default=8, help="spans per label in the hand-check sample")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, default=Path("runs/prelabel_measure.json"))
    args = ap.parse_args()

    report: dict = {"speed": measure_speed(args.judgments)}
    sp = report["speed"]
    print(f"prelabel: {sp['docs']} docs, {sp['chars']} chars, {sp['errors']} errors in {sp['seconds']} s "
          f"= {sp['docs_per_second']} docs/s, {sp['chars_per_second']} chars/s")
    print("spans:", sp["spans"])
    if args.cail:
        report["cail2021"] = measure_cail(args.cail)
        print(f"{'CAIL code':10} {'ours':10} {'gold':>6} {'exact R':>8} {'overlap R':>9}")
        for code, r in sorted(report["cail2021"].items()):
            if not code.startswith("_"):
                print(f"{code:10} {r['label']:10} {r['gold']:>6} {r['exact_recall']:>8.3f} {r['overlap_recall']:>9.3f}")
        for label, r in report["cail2021"]["_by_label"].items():
            print(f"{'(all)':10} {label:10} {r['gold']:>6} {r['exact_recall']:>8.3f} {r['overlap_recall']:>9.3f}")
    if args.charges:
        report["charges"] = ch = measure_charges(args.charges, args.judgments)
        print(f"charges.txt: {ch['reference_covered']}/{ch['reference_names']} map to a canonical name "
              f"({ch['reference_by_match']}); unmapped: {ch['reference_unmapped']}")
        print(f"lexicon: {ch['lexicon_canonical']} canonical charges, {len(ch['lexicon_not_in_reference'])} not in charges.txt")
        print(f"judgments: {ch['judgment_charge_mentions']} charge mentions, {ch['judgment_charge_surfaces']} surfaces, "
              f"unmapped: {ch['judgment_unmapped']}")
    if args.sample_out:
        n = write_sample(args.judgments, args.sample_out, args.per_label, args.seed)
        report["sample"] = {"path": str(args.sample_out), "rows": n}
        print(f"hand-check sample: {n} spans → {args.sample_out}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
