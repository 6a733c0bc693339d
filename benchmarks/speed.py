"""The speed report in one run: tagging against ``transformers.pipeline``, then training against
``transformers.Trainer``, and one summary of both.

It runs ``tag_speed.py`` and ``train_speed.py`` one after the other (each in its own processes, as
they always do), reads the JSON each writes, prints their tables as they come and then a summary:
chars/s per tagging engine and its ratio to the pipeline, the identical-span check, the FLOP/s
fraction of the CPU's float32 GEMM rate, the ONNX/int8 rows with their dev F1 deltas, and training
updates/s and peak memory against the Trainer. ``--out`` gets all of it.

    python benchmarks/speed.py --model runs/speed/model-best --export-dir runs/speed/onnx --bf16 \
        --limit 100 --train-steps 30 --out runs/bench/speed.json

Arguments after ``--tag-args`` / ``--train-args`` pass straight through (quote them as one string).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model folder for tagging (softmax head, pretokenize none)")
    p.add_argument("--export-dir", help="its `nlp-judgments export --onnx --int8 --dev ...` folder: adds the ONNX rows")
    p.add_argument("--bf16", action="store_true", help="add the ours-bf16 tagging row")
    p.add_argument("--data", default="../shared/data/judge_docs/judgments.jsonl", help="documents to tag")
    p.add_argument("--limit", type=int, default=100, help="first N documents (0: all)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--train-config", default="configs/cail2021.yaml")
    p.add_argument("--train-data", default="../shared/data/cail2021_ie/train.jsonl")
    p.add_argument("--train-model", default="builtin:e5-small")
    p.add_argument("--train-steps", type=int, default=30)
    p.add_argument("--tag-args", default="", help="more arguments for tag_speed.py")
    p.add_argument("--train-args", default="", help="more arguments for train_speed.py")
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--out", default="runs/bench/speed.json")
    return p.parse_args(argv)


def run(script: str, args: list[str]) -> None:
    command = [sys.executable, str(HERE / script), *args]
    print("$ " + shlex.join(command[1:]), flush=True)
    subprocess.run(command, check=True)


def summary(tag: dict, train: dict | None) -> list[str]:
    table, identity = tag["table"], tag["span_identity"]
    docs = tag["settings"]["docs"]
    gemm = tag["environment"].get("gemm_flop_per_second")
    lines = [f"{'engine':<16} {'chars/s':>9} {'vs pipeline':>11} {'of fp32 GEMM':>12} {'spans = pipeline':>16} "
             f"{'spans = ours':>12} {'dev F1 change':>13}"]
    for engine, row in table.items():
        ident = identity.get(engine)
        fraction, change = row.get("of_gemm_rate"), row.get("f1_change_points")
        cells = [f"{row['chars_per_second']:,.0f}", f"{row['ratio_to_pipeline']:.2f}x",
                 f"{fraction:.0%}" if fraction is not None else "-",
                 f"{ident['vs_pipeline']['identical_docs']}/{docs}" if ident else "-",
                 f"{ident['vs_ours']['identical_docs']}/{docs}" if ident else "-",
                 f"{change:+.2f} pt" if change is not None else "-"]
        lines.append(f"{engine:<16} " + " ".join(c.rjust(w) for c, w in zip(cells, (9, 11, 12, 16, 12, 13))))
    if gemm:
        lines.append(f"torch float32 GEMM on {tag['settings']['threads']} thread(s): {gemm / 1e9:.1f} GFLOP/s")
    if train:
        t = train["table"]
        ours = t["ours"]
        for side in ("trainer", "trainer-grouped"):
            if side in t:
                lines.append(f"training, ours / {side}: {ours['updates_per_second'] / t[side]['updates_per_second']:.2f}x "
                             f"updates/s ({ours['updates_per_second']:.3f} vs {t[side]['updates_per_second']:.3f}), "
                             f"peak RSS {ours['peak_rss_mb']:,.0f} vs {t[side]['peak_rss_mb']:,.0f} MB")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="speed.") as tmp:
        tag_json, train_json = Path(tmp) / "tag.json", Path(tmp) / "train.json"
        tag = ["--model", args.model, "--data", args.data, "--limit", str(args.limit), "--threads", str(args.threads),
               "--repeats", str(args.repeats), "--out", str(tag_json)]
        tag += (["--export-dir", args.export_dir] if args.export_dir else []) + (["--bf16"] if args.bf16 else [])
        run("tag_speed.py", tag + shlex.split(args.tag_args))
        train = None
        if not args.skip_train:
            run("train_speed.py", ["--config", args.train_config, "--data", args.train_data, "--format", "cail2021",
                                   "--model", args.train_model, "--freeze-embeddings", "--steps", str(args.train_steps),
                                   "--threads", str(args.threads), "--repeats", str(args.repeats), "--json",
                                   str(train_json)] + shlex.split(args.train_args))
            train = json.loads(train_json.read_text())
        tag_result = json.loads(tag_json.read_text())
    print("\n== summary ==")
    print("\n".join(summary(tag_result, train)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"tagging": tag_result, "training": train}, indent=2, ensure_ascii=False))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
