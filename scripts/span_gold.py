"""Span gold on real judgments: pick the documents, check annotators' marked copies, measure agreement.

Annotators (protocol: ``docs/SPAN_GOLD.md``) write, for each judgment, a marked copy of its text in
which every entity is ``⟦surface|LABEL⟧``; removing the marks must give back the judgment exactly.
The marked copies quote the judgments, so they stay outside the repo; the repo keeps only
``gold/spans.jsonl`` (id, split, offsets and labels).

    python scripts/span_gold.py pick                          # the 60 judgment lines, with their split
    python scripts/span_gold.py check PASS.jsonl              # every mark well-formed, text unchanged
    python scripts/span_gold.py agree A.jsonl B.jsonl         # per-label agreement, every disagreement
    python scripts/span_gold.py convert MARKED.jsonl -o gold/spans.jsonl
    python scripts/span_gold.py materialize runs/gold            # training files: gold dev part with text,
                                                                  # and the judgments outside the gold

Picking: the 60 judgments whose SHA-1 of the id sorts first; ``test`` as in the records gold (the
digest ends in 0-3), the rest ``dev``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from nlp_judgments.data.formats.marked import unmark as _unmark
from nlp_judgments.legal.schema import LABELS
from nlp_judgments.spans import Span

REPO = Path(__file__).resolve().parents[1]
JUDGMENTS = REPO.parent / "shared" / "data" / "judge_docs" / "judgments.jsonl"
N_DOCS = 60


def split_of(doc_id: str) -> str:
    return "test" if hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[-1] in "0123" else "dev"


def judgments(path: Path = JUDGMENTS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def pick(docs: list[dict], n: int = N_DOCS) -> list[int]:
    """Line indices of the ``n`` judgments whose id's SHA-1 sorts first, in line order."""
    order = sorted(range(len(docs)), key=lambda i: hashlib.sha1(docs[i]["id"].encode("utf-8")).hexdigest())
    return sorted(order[:n])


def unmark(marked: str) -> tuple[str, list[Span], list[str]]:
    """The plain text, its spans and the problems found (stray marks, labels outside the schema)."""
    plain, spans, problems = _unmark(marked)
    unknown = [f"unknown label {s.label!r} on {plain[s.start:s.end]!r}" for s in spans if s.label not in LABELS]
    return plain, spans, unknown + problems


def read_pass(path: Path, docs: list[dict]) -> tuple[dict[str, list[Span]], list[str]]:
    by_id = {d["id"]: d for d in docs}
    out, problems = {}, []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        obj = json.loads(line)
        doc = by_id.get(obj["id"])
        if doc is None:
            problems.append(f"{path}:{n}: unknown id {obj['id']!r}")
            continue
        plain, spans, found = unmark(obj["marked"])
        problems += [f"{path}:{n} ({obj['id']}): {p}" for p in found]
        if plain != doc["text"]:
            i = next((k for k, (a, b) in enumerate(zip(plain, doc["text"])) if a != b), min(len(plain), len(doc["text"])))
            problems.append(f"{path}:{n} ({obj['id']}): the text differs from the judgment at character {i}: "
                            f"marked {plain[max(0, i - 15): i + 15]!r} vs original {doc['text'][max(0, i - 15): i + 15]!r}")
            continue
        overlapping = [(a, b) for a, b in zip(spans, spans[1:]) if b.start < a.end]
        problems += [f"{path}:{n}: overlapping spans {a} {b}" for a, b in overlapping]
        out[obj["id"]] = spans
    return out, problems


def agreement(a: dict[str, list[Span]], b: dict[str, list[Span]]) -> dict[str, dict]:
    """Per label: spans in A, in B, in both (exact offsets and label), and F1 of B against A."""
    counts: dict[str, Counter] = {}
    for doc_id in sorted(set(a) & set(b)):
        sa, sb = set(a[doc_id]), set(b[doc_id])
        for label in LABELS:
            c = counts.setdefault(label, Counter())
            xa = {s for s in sa if s.label == label}
            xb = {s for s in sb if s.label == label}
            c["a"] += len(xa)
            c["b"] += len(xb)
            c["both"] += len(xa & xb)
    out = {}
    for label, c in counts.items():
        f1 = 2 * c["both"] / (c["a"] + c["b"]) if c["a"] + c["b"] else None
        out[label] = {"a": c["a"], "b": c["b"], "both": c["both"], "f1": None if f1 is None else round(f1, 4)}
    total = Counter()
    for c in counts.values():
        total.update(c)
    out["ALL"] = {"a": total["a"], "b": total["b"], "both": total["both"],
                  "f1": round(2 * total["both"] / (total["a"] + total["b"]), 4) if total["a"] + total["b"] else None}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("pick")
    c = sub.add_parser("check")
    c.add_argument("marked", nargs="+")
    g = sub.add_parser("agree")
    g.add_argument("a")
    g.add_argument("b")
    g.add_argument("--list", action="store_true", help="print every disagreement with context")
    m = sub.add_parser("materialize", help="write the gold's dev part with its text (span JSONL) and the judgments "
                                           "outside the gold (for silver pre-labelling), into a folder outside git")
    m.add_argument("folder")
    v = sub.add_parser("convert")
    v.add_argument("marked")
    v.add_argument("-o", "--output", required=True)
    args = p.parse_args()
    docs = judgments()
    if args.cmd == "pick":
        for i in pick(docs):
            print(i, docs[i]["id"], split_of(docs[i]["id"]))
        return 0
    if args.cmd == "check":
        bad = 0
        for path in args.marked:
            spans, problems = read_pass(Path(path), docs)
            for problem in problems:
                print(problem)
            bad += len(problems)
            print(f"{path}: {len(spans)} judgments read, {sum(map(len, spans.values()))} spans, {len(problems)} problems")
        return 1 if bad else 0
    if args.cmd == "materialize":
        folder = Path(args.folder)
        folder.mkdir(parents=True, exist_ok=True)
        gold = {json.loads(line)["id"]: json.loads(line) for line in (REPO / "gold" / "spans.jsonl").read_text(encoding="utf-8").splitlines()}
        with (folder / "spans_dev.jsonl").open("w", encoding="utf-8") as f, \
             (folder / "judgments_outside_gold.jsonl").open("w", encoding="utf-8") as rest:
            for doc in docs:
                g = gold.get(doc["id"])
                if g is None:
                    rest.write(json.dumps({"id": doc["id"], "text": doc["text"]}, ensure_ascii=False) + "\n")
                elif g["split"] == "dev":
                    entities = [{"start": a, "end": b, "label": label} for a, b, label in g["spans"]]
                    f.write(json.dumps({"id": doc["id"], "text": doc["text"], "entities": entities}, ensure_ascii=False) + "\n")
        print(f"{folder}/spans_dev.jsonl, {folder}/judgments_outside_gold.jsonl")
        return 0
    if args.cmd == "agree":
        a, pa = read_pass(Path(args.a), docs)
        b, pb = read_pass(Path(args.b), docs)
        for problem in pa + pb:
            print(problem)
        table = agreement(a, b)
        print(f"{'label':<15}{'A':>6}{'B':>6}{'both':>6}{'F1':>8}")
        for label, row in table.items():
            print(f"{label:<15}{row['a']:>6}{row['b']:>6}{row['both']:>6}{row['f1'] if row['f1'] is not None else '-':>8}")
        if args.list:
            text = {d["id"]: d["text"] for d in docs}
            for doc_id in sorted(set(a) & set(b)):
                for who, only in (("A only", set(a[doc_id]) - set(b[doc_id])), ("B only", set(b[doc_id]) - set(a[doc_id]))):
                    for s in sorted(only):
                        t = text[doc_id]
                        print(f"{doc_id} {who} [{s.start},{s.end}) {s.label} {t[s.start:s.end]!r} in "
                              f"{t[max(0, s.start - 12):s.start]}【{t[s.start:s.end]}】{t[s.end:s.end + 12]}")
        return 0
    spans, problems = read_pass(Path(args.marked), docs)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    with open(args.output, "w", encoding="utf-8") as f:
        for doc in docs:
            if doc["id"] in spans:
                f.write(json.dumps({"id": doc["id"], "split": split_of(doc["id"]),
                                    "spans": [[s.start, s.end, s.label] for s in spans[doc["id"]]]}) + "\n")
    print(f"{args.output}: {len(spans)} judgments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
