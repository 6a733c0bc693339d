"""Training speed: our loop (``nlp_judgments.training.loop.train``) against ``transformers.Trainer``, side by side.

Both sides train the same ``AutoModelForTokenClassification`` (softmax head, same seed, so the same
initial weights) on the same training windows (``Encoder.encode`` of the same documents), with the same
batch size, gradient accumulation, peak learning rate, linear warm-up/decay schedule, weight decay and
gradient clipping, for the same number of optimizer updates. Nothing is evaluated or saved while the
clock runs. Each side runs in its own subprocess, so peak RSS is per side and no side inherits the
other's warm allocator, thread pools or page cache state; with ``--repeats 2`` or more the order of the
sides alternates. The sides:

- ``ours``: the real ``train(config)`` with ``max_steps``; timestamps come from its ``on_update``
  hook. Its lr schedule is built for ``max_steps`` updates, so the Trainer is given the same count.
- ``trainer``: ``Trainer`` as users get it: random batches padded to their longest window.
- ``trainer-grouped``: ``Trainer`` with ``train_sampling_strategy="group_by_length"`` (transformers 5's
  name for ``group_by_length=True``); skipped with ``--no-grouped``.

The clock starts at the end of update ``--warmup`` (model loading, encoding, optimizer creation and the
first updates are excluded) and stops at the end of update ``warmup + steps``. One more update follows,
untimed, because ``train()`` writes a checkpoint right after its last update. Batch statistics (real
tokens, padded positions) come from ``train``'s ``on_batch`` hook and from wrapping the Trainer's
collator; both only observe.

Figures: updates/s; tokens/s (non-pad positions, CLS/SEP included, per second), the fairer throughput
figure when samplers differ because a wide batch costs more than a narrow one; positions/s (padding
included: raw compute speed); padding waste (padded positions / all positions in the timed batches);
peak RSS (``ru_maxrss`` at the end of the timed window, so the final save is excluded).

Left out: evaluation speed, multi-GPU runs, the CRF head (Trainer has no equivalent).

Usage (see benchmarks/README.md)::

    python benchmarks/train_speed.py --data ../shared/data/cail2021_ie/train.jsonl --format cail2021 \\
        --model builtin:tiny --steps 10 --json /tmp/speed.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

SIDES = ("ours", "trainer", "trainer-grouped")
SAMPLING = {"trainer": "random", "trainer-grouped": "group_by_length"}
FORMATS = ("auto", "spans", "cail2021", "cail2022", "conll", "labelstudio")


# --------------------------------------------------------------------------------------------
# Arguments and config
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="training file (read only; never copied)")
    p.add_argument("--format", default="auto", choices=FORMATS)
    p.add_argument("--config", help="optional YAML (e.g. configs/cail2021.yaml) for data and train settings; "
                   "flags below override it; head is always softmax and there is never a dev set")
    p.add_argument("--model", help="builtin:tiny | builtin:e5-small | a folder (default: --config's, else the library's)")
    p.add_argument("--batch-size", type=int, help="windows per micro-batch (default: --config's, else 16)")
    p.add_argument("--max-length", type=int, help="tokens per window (default: --config's, else 256)")
    p.add_argument("--stride", type=int, help="tokens shared by consecutive windows (default: --config's, else 64)")
    p.add_argument("--pretokenize", choices=["none", "cjk_chars"], help="default: --config's, else none")
    p.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=None,
                   help="freeze the word embeddings (default: --config's, else not frozen)")
    p.add_argument("--steps", type=int, default=30, help="timed optimizer updates")
    p.add_argument("--warmup", type=int, default=3, help="untimed updates before the clock starts (>= 1)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads on both sides; 0 = torch's default")
    p.add_argument("--repeats", type=int, default=1, help="runs per side; the order of the sides alternates")
    p.add_argument("--no-grouped", action="store_true", help="skip the Trainer group_by_length row")
    p.add_argument("--trainer-optim", help="TrainingArguments.optim (default: Trainer's own, adamw_torch_fused in "
                   "transformers 5); adamw_torch is the same per-tensor AdamW as our loop on CPU")
    p.add_argument("--json", help="write figures and environment here")
    # Internal: the parent runs each side as `train_speed.py <same args> --side S --result FILE`.
    p.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--work-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.warmup < 1:
        p.error("--warmup must be >= 1: the clock starts at the end of an update")
    if args.steps < 1 or args.repeats < 1:
        p.error("--steps and --repeats must be >= 1")
    if not Path(args.data).is_file():
        p.error(f"--data {args.data}: no such file")
    return args


def total_updates(args: argparse.Namespace) -> int:
    """Updates each side runs: warm-up, timed ones, and one untimed after (ours checkpoints after its last)."""
    return args.warmup + args.steps + 1


def make_config(args: argparse.Namespace, output_dir: Path):
    """The library config both sides use: ``--config`` (if any), then the flags, then the benchmark's fixes."""
    from nlp_judgments.training.config import load_config

    model = {"head": "softmax"}  # compare like with like: Trainer trains the plain softmax tagger
    if args.model is not None:
        model["name_or_path"] = args.model
    if args.freeze_embeddings is not None:
        model["freeze_embeddings"] = args.freeze_embeddings
    data = {"train_file": args.data, "format": args.format, "dev_file": None, "dev_last_n": 0}
    for key in ("max_length", "stride", "pretokenize"):
        if getattr(args, key) is not None:
            data[key] = getattr(args, key)
    train = {
        "max_steps": total_updates(args),
        "epochs": 10_000,  # max_steps always binds, however small the data
        "eval_every": 0,
        "checkpoint_every": 0,
        "resume": False,
        "progress": False,  # the Trainer side runs with disable_tqdm
        "num_threads": args.threads,
    }
    if args.batch_size is not None:
        train["batch_size"] = args.batch_size
    return load_config(args.config, {"output_dir": str(output_dir), "model": model, "data": data, "train": train})


# --------------------------------------------------------------------------------------------
# Measuring inside a side's process
# --------------------------------------------------------------------------------------------


@dataclass
class BatchLog:
    """Shape and real-token count of every collated micro-batch, in the order they were made."""

    rows: list[int] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    real: list[int] = field(default_factory=list)

    def add(self, attention_mask) -> None:
        self.rows.append(int(attention_mask.shape[0]))
        self.widths.append(int(attention_mask.shape[1]))
        self.real.append(int(attention_mask.sum()))


class StepClock:
    """Timestamps at the end of updates ``warmup .. warmup + steps``; peak RSS at the last one.

    On a GPU the queue is drained at the two ends of the window only, so the steps in between run
    as they normally would.
    """

    def __init__(self, warmup: int, steps: int):
        self.first, self.last = warmup, warmup + steps
        self.times: dict[int, float] = {}
        self.peak_rss_mb: float | None = None
        self.cuda_peak_mb: float | None = None
        self._cuda = torch.cuda.is_available()

    def tick(self, step: int) -> None:
        if not self.first <= step <= self.last:
            return
        if self._cuda and step in (self.first, self.last):
            torch.cuda.synchronize()
        self.times[step] = time.perf_counter()
        if step == self.last:
            self.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            if self._cuda:
                self.cuda_peak_mb = torch.cuda.max_memory_allocated() / 2**20


def lengths_digest(lengths: list[int]) -> dict:
    """Enough to tell whether two sides encoded the same windows in the same order."""
    return {"windows": len(lengths), "tokens": sum(lengths),
            "sha1": hashlib.sha1(",".join(map(str, lengths)).encode()).hexdigest()[:12]}


def side_result(side: str, config, clock: StepClock, batches: BatchLog, lengths: list[int], extra: dict) -> dict:
    if len(clock.times) != clock.last - clock.first + 1:
        raise RuntimeError(f"{side}: only saw updates {sorted(clock.times)}; expected {clock.first}..{clock.last}")
    ga = config.train.grad_accum
    lo, hi = clock.first * ga, clock.last * ga  # micro-batches of the timed updates
    if len(batches.rows) < hi:
        raise RuntimeError(f"{side}: {len(batches.rows)} batches collated, expected at least {hi}")
    ticks = [clock.times[s] for s in range(clock.first, clock.last + 1)]
    return {
        "side": side,
        "seconds": ticks[-1] - ticks[0],
        "step_seconds": [b - a for a, b in zip(ticks, ticks[1:])],
        "batch_rows": batches.rows[lo:hi],
        "batch_widths": batches.widths[lo:hi],
        "batch_real_tokens": batches.real[lo:hi],
        "peak_rss_mb": clock.peak_rss_mb,
        "cuda_peak_mb": clock.cuda_peak_mb,
        "torch_threads": torch.get_num_threads(),
        "data": lengths_digest(lengths),
        **extra,
    }


def run_ours(args: argparse.Namespace, work_dir: Path) -> dict:
    """The real ``train()``, observed through its ``on_update`` and ``on_batch`` hooks."""
    from nlp_judgments.training.loop import train

    config = make_config(args, work_dir / "ours")
    clock, batches = StepClock(args.warmup, args.steps), BatchLog()
    result = train(config, on_update=clock.tick, on_batch=lambda batch: batches.add(batch["attention_mask"]))
    return side_result("ours", config, clock, batches, result.window_lengths,
                       {"sampler": "length_bucketed_batches", "optimizer": "torch.optim.AdamW(fused=True); "
                        "head at train.head_lr"})


def training_windows(config):
    """Tokenizer, HF token-classification model and windows, built as ``train._setup`` builds them."""
    from nlp_judgments.tagging.encoding import TokenIndex
    from nlp_judgments.tagging.windows import Encoder
    from nlp_judgments.training.build import build_model
    from nlp_judgments.training.data import split_data

    d = config.data
    docs, _, _ = split_data(config)
    labels = d.labels or sorted({s.label for doc in docs for s in doc.spans})
    tokenizer, tagging_model = build_model(config, labels)
    index = TokenIndex(tokenizer, d.pretokenize)
    encoder = Encoder(index, labels, d.scheme, d.max_length, d.stride, d.overlap_policy)
    return tokenizer, tagging_model.encoder, encoder.encode(docs)


def run_trainer(args: argparse.Namespace, work_dir: Path, side: str) -> dict:
    """``transformers.Trainer`` on the same model and windows, timed by a callback."""
    import datasets
    from accelerate.utils import set_seed
    from transformers import (
        DataCollatorForTokenClassification,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from nlp_judgments.training.loop import resolve_precision

    config = make_config(args, work_dir / side)
    t = config.train
    if t.num_threads:
        torch.set_num_threads(t.num_threads)
    set_seed(t.seed)  # as train() does before building the model: same initial weights
    tokenizer, model, features = training_windows(config)
    clock, batches = StepClock(args.warmup, args.steps), BatchLog()
    pad_collator = DataCollatorForTokenClassification(tokenizer)

    def counting_collator(items):
        out = pad_collator(items)
        batches.add(out["attention_mask"])
        return out

    class Clock(TrainerCallback):
        def on_step_end(self, _args, state, control, **kwargs):
            clock.tick(state.global_step)

    total = total_updates(args)
    precision = resolve_precision(t.mixed_precision, t.cpu_bf16)
    optim = {"optim": args.trainer_optim} if args.trainer_optim else {}
    training_args = TrainingArguments(
        output_dir=str(work_dir / side),
        per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        max_steps=total,
        learning_rate=t.lr,
        weight_decay=t.weight_decay,
        lr_scheduler_type="linear",
        warmup_steps=int(t.warmup_ratio * total),  # our loop's rounding, not Trainer's ceil of a ratio
        max_grad_norm=t.max_grad_norm,
        seed=t.seed,
        train_sampling_strategy=SAMPLING[side],
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        **optim,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=datasets.Dataset.from_list(features),
        data_collator=counting_collator,
        processing_class=tokenizer,
        callbacks=[Clock()],
    )
    trainer.train()
    opt = trainer.optimizer
    opt = getattr(opt, "optimizer", opt)  # accelerate wraps it
    described = f"{type(opt).__module__}.{type(opt).__name__} (optim={training_args.optim}, " \
                f"fused={opt.defaults.get('fused')}, foreach={opt.defaults.get('foreach')}); one lr for all"
    return side_result(side, config, clock, batches, [len(f["input_ids"]) for f in features],
                       {"sampler": SAMPLING[side], "optimizer": described})


# --------------------------------------------------------------------------------------------
# The parent: run the sides, summarise, print, write JSON
# --------------------------------------------------------------------------------------------


def run_side(side: str, argv: list[str], work_dir: Path) -> dict:
    """Run one side in a fresh interpreter and return its result; its output goes to a log file."""
    result = work_dir / f"{side}.json"
    log = work_dir / f"{side}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--side", side,
           "--result", str(result), "--work-dir", str(work_dir)]
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    with log.open("w") as f:
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        raise SystemExit(f"{side} failed (exit {code}); last lines of its log:\n" + "\n".join(tail))
    return json.loads(result.read_text())


def summarise(runs: list[dict]) -> dict:
    """Per-run figures, then per side the median over repeats."""
    for r in runs:
        real, positions = sum(r["batch_real_tokens"]), sum(n * w for n, w in zip(r["batch_rows"], r["batch_widths"]))
        steps = len(r["step_seconds"])
        r["figures"] = {
            "updates_per_second": steps / r["seconds"],
            "median_seconds_per_update": statistics.median(r["step_seconds"]),
            "tokens_per_second": real / r["seconds"],
            "positions_per_second": positions / r["seconds"],
            "padding_waste": 1 - real / positions,
            "mean_batch_width": statistics.mean(r["batch_widths"]),
            "peak_rss_mb": r["peak_rss_mb"],
        }
        if r["cuda_peak_mb"] is not None:
            r["figures"]["cuda_peak_mb"] = r["cuda_peak_mb"]
    table = {}
    for side in SIDES:
        mine = [r["figures"] for r in runs if r["side"] == side]
        if mine:
            table[side] = {k: statistics.median(f[k] for f in mine) for k in mine[0]} | {"runs": len(mine)}
    return table


def format_table(table: dict) -> str:
    cols = [("updates/s", "updates_per_second", "{:.3f}"), ("s/update med", "median_seconds_per_update", "{:.3f}"),
            ("tokens/s", "tokens_per_second", "{:,.0f}"), ("positions/s", "positions_per_second", "{:,.0f}"),
            ("pad waste", "padding_waste", "{:.1%}"), ("mean width", "mean_batch_width", "{:.1f}"),
            ("peak RSS MB", "peak_rss_mb", "{:,.0f}")]
    if any("cuda_peak_mb" in row for row in table.values()):
        cols.append(("GPU peak MB", "cuda_peak_mb", "{:,.0f}"))
    lines = [["side"] + [c[0] for c in cols]]
    for side, row in table.items():
        lines.append([side] + [fmt.format(row[key]) if key in row else "-" for _, key, fmt in cols])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
           for line in lines]
    out.insert(1, "-" * len(out[0]))
    ours = table.get("ours")
    for side in ("trainer", "trainer-grouped"):
        if ours and side in table:
            out.append(f"ours / {side}: {ours['updates_per_second'] / table[side]['updates_per_second']:.2f}x updates/s, "
                       f"{ours['tokens_per_second'] / table[side]['tokens_per_second']:.2f}x tokens/s")
    return "\n".join(out)


def environment(args: argparse.Namespace, runs: list[dict]) -> dict:
    import accelerate
    import datasets
    import transformers

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "datasets": datasets.__version__,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads_requested": args.threads,
        "torch_threads_per_side": {r["side"]: r["torch_threads"] for r in runs},
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.side is not None:  # inside a side's subprocess
        work_dir = Path(args.work_dir)
        result = run_ours(args, work_dir) if args.side == "ours" else run_trainer(args, work_dir, args.side)
        Path(args.result).write_text(json.dumps(result))
        return 0

    config = make_config(args, Path("unused"))  # fail on a bad config before any subprocess starts
    sides = [s for s in SIDES if not (args.no_grouped and s == "trainer-grouped")]
    load_start = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory(prefix="train_speed.") as tmp:
        for rep in range(args.repeats):
            for side in (sides if rep % 2 == 0 else sides[::-1]):
                work_dir = Path(tmp) / f"{rep}-{side}"
                work_dir.mkdir()
                print(f"[{rep + 1}/{args.repeats}] {side} ...", file=sys.stderr, flush=True)
                runs.append(run_side(side, argv, work_dir) | {"repeat": rep})
    table = summarise(runs)

    digests = {json.dumps(r["data"], sort_keys=True) for r in runs}
    windows = runs[0]["data"]["windows"]
    t = config.train
    updates_per_epoch = math.ceil(math.ceil(windows / t.batch_size) / t.grad_accum)
    notes = []
    if len(digests) != 1:
        notes.append("WARNING: the sides encoded different windows: " + "; ".join(sorted(digests)))
    if total_updates(args) > updates_per_epoch:
        notes.append(f"note: {total_updates(args)} updates > {updates_per_epoch} per epoch; at each epoch end "
                     "train() without a dev set writes a checkpoint, and that time is inside the timed window")

    c = config
    print(f"model {c.model.name_or_path} (softmax head, freeze_embeddings={c.model.freeze_embeddings}); "
          f"{windows} windows of <= {c.data.max_length} tokens (pretokenize={c.data.pretokenize}, stride={c.data.stride}); "
          f"batch {t.batch_size} x accum {t.grad_accum}; {args.steps} timed updates after {args.warmup}; "
          f"threads {args.threads or 'default'}; load average at start {load_start[0]:.2f}")
    print(format_table(table))
    for side in sides:
        print(f"{side}: optimizer {next(r['optimizer'] for r in runs if r['side'] == side)}")
    for note in notes:
        print(note)

    if args.json:
        env = environment(args, runs) | {"loadavg_at_start": load_start, "loadavg_at_end": os.getloadavg()}
        settings = {"args": {k: v for k, v in vars(args).items() if k not in ("side", "result", "work_dir")},
                    "config": c.to_dict(), "total_updates_per_side": total_updates(args),
                    "windows": runs[0]["data"], "updates_per_epoch": updates_per_epoch}
        Path(args.json).write_text(json.dumps({"settings": settings, "environment": env, "table": table,
                                               "notes": notes, "runs": runs}, indent=2, ensure_ascii=False))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
