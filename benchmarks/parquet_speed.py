"""Parquet output speed: what ``tag -o corpus.parquet`` costs over ``tag -o corpus.jsonl``.

Tags the same corpus with the rules alone (``tag --records`` without a model: the fastest tagger
there is, so the output's share of the time is at its largest; ``--entities`` adds the entity
lists) three ways in one run:

- ``none``: the tagging alone, every line thrown away (``tag_stream`` with a writer that does nothing);
- ``jsonl``: ``tag_corpus`` to a JSONL file;
- ``parquet``: ``tag_corpus`` to a Parquet file (and its records table): parts per chunk, then the merge.

Each row is the median of ``--repeats`` runs, the three in rotating order, each into a fresh folder,
after one untimed warm-up of each; times are wall-clock around the whole call (the merge included).
The overhead of Parquet is reported as a share of the tagging time (``none``) and against JSONL; the
issue's target is under 5 %. The corpus is ``--judgments`` (default
``../shared/data/judge_docs/judgments.jsonl``), else the bundled demo judgments repeated
``--demo-copies`` times. The table names the CPU (``model name`` of ``/proc/cpuinfo``).

    python benchmarks/parquet_speed.py --json runs/bench/parquet_speed.json

Figures on a shared machine are noisy: compare rows of one run, don't quote them across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nlp_judgments.apps.corpus import TagOptions, tag_corpus, tag_stream
from nlp_judgments.data.inputs import iter_documents
from nlp_judgments.legal.rule_tagger import RuleTagger
from nlp_judgments.tagging.hardware import cpu_name

ROOT = Path(__file__).resolve().parents[1]
JUDGMENTS = ROOT.parent / "shared" / "data" / "judge_docs" / "judgments.jsonl"
DEMO = ROOT / "nlp_judgments" / "resources" / "demo" / "judgments.jsonl"


def demo_corpus(path: Path, copies: int) -> Path:
    """The demo judgments ``copies`` times over, each copy with its own ids."""
    texts = [json.loads(line)["text"] for line in DEMO.read_text(encoding="utf-8").splitlines()]
    with path.open("w", encoding="utf-8") as f:
        for k in range(copies):
            for i, text in enumerate(texts):
                f.write(json.dumps({"id": f"{k}-{i}", "text": text}, ensure_ascii=False) + "\n")
    return path


def run_once(kind: str, corpus: Path, folder: Path, opts: TagOptions) -> dict:
    """One timed run of ``kind`` (none, jsonl, parquet) into ``folder``."""
    start = time.perf_counter()
    if kind == "none":
        stats = tag_stream(RuleTagger, iter_documents([corpus]), lambda line: None, set(), opts)
    else:
        stats = tag_corpus(RuleTagger, [corpus], folder / f"out.{kind}", opts)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return {"seconds": seconds, "docs": stats.docs, "chars": stats.chars, "bytes": size}


def measure(corpus: Path, opts: TagOptions, repeats: int) -> list[dict]:
    kinds = ["none", "jsonl", "parquet"]
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(-1, repeats):  # r == -1: the warm-up (regexes compiled, lexicons and pyarrow loaded)
            for kind in kinds[r % 3:] + kinds[: r % 3]:
                folder = Path(tmp) / f"{kind}-{r}"
                folder.mkdir()
                result = run_once(kind, corpus, folder, opts)
                if r >= 0:
                    runs[kind].append(result)
    rows = []
    for kind in kinds:
        seconds = statistics.median(x["seconds"] for x in runs[kind])
        first = runs[kind][0]
        rows.append({"output": kind, "docs": first["docs"], "chars": first["chars"], "bytes": first["bytes"],
                     "seconds": round(seconds, 4), "chars_per_s": round(first["chars"] / seconds),
                     "runs": [round(x["seconds"], 4) for x in runs[kind]]})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judgments", type=Path, default=JUDGMENTS, help="JSONL with id and text per line (read only)")
    parser.add_argument("--demo-copies", type=int, default=30, help="without --judgments: the demo judgments this many times")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each output; the median is reported")
    parser.add_argument("--chunk-chars", type=int, default=100_000, help="as `tag --chunk-chars` (default: its default)")
    parser.add_argument("--entities", action="store_true", help="write the entity lists too, as `tag --records --entities`")
    parser.add_argument("--include-text", action="store_true", help="copy each text into its row, as `tag --include-text`")
    parser.add_argument("--json", type=Path, help="write the rows, the overhead and the machine here")
    args = parser.parse_args(argv)
    opts = TagOptions(records=True, entities=args.entities, include_text=args.include_text,
                      chunk_chars=args.chunk_chars, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        if args.judgments.is_file():
            corpus, label = args.judgments, str(args.judgments)
        else:
            corpus, label = demo_corpus(Path(tmp) / "demo.jsonl", args.demo_copies), f"demo judgments x {args.demo_copies}"
        rows = measure(corpus, opts, args.repeats)
    by = {r["output"]: r for r in rows}
    tagging, jsonl, parquet = by["none"]["seconds"], by["jsonl"]["seconds"], by["parquet"]["seconds"]
    overhead = {"parquet_over_tagging": round((parquet - tagging) / tagging, 4),
                "jsonl_over_tagging": round((jsonl - tagging) / tagging, 4),
                "parquet_over_jsonl": round((parquet - jsonl) / jsonl, 4)}
    machine = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
               "platform": platform.platform()}
    print(f"CPU: {machine['cpu']} ({machine['cores']} cores), Python {machine['python']}; corpus: {label}, "
          f"tag --records{' --entities' if args.entities else ''}{' --include-text' if args.include_text else ''}, "
          "rules alone, "
          f"median of {args.repeats}")
    print(f"{'output':<8} {'docs':>6} {'chars':>11} {'seconds':>9} {'chars/s':>10} {'bytes':>12}")
    for r in rows:
        print(f"{r['output']:<8} {r['docs']:>6} {r['chars']:>11,} {r['seconds']:>9.3f} {r['chars_per_s']:>10,} "
              f"{r['bytes']:>12,}")
    print(f"Parquet output costs {overhead['parquet_over_tagging']:+.1%} of the tagging time "
          f"(JSONL {overhead['jsonl_over_tagging']:+.1%}); Parquet against JSONL: {overhead['parquet_over_jsonl']:+.1%}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"machine": machine, "corpus": label, "options": vars(opts), "repeats": args.repeats,
                  "rows": rows, "overhead": overhead}
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
