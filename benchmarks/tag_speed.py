"""Tagging speed: our ``Tagger`` against transformers' token-classification pipeline, side by side.

Both engines tag the same documents with the same model folder (an ``AutoModelForTokenClassification``
plus its tokenizer, as ``artifacts.save_model`` writes it), on the same device, with the same number of
torch (and Rust tokenizer) threads and the same batch size, from raw text to entity spans:

- ``ours``: ``Tagger.load(model).tag(texts)``: all texts tokenized in one call, windows of
  ``max_length - 2`` tokens sharing ``stride`` tokens, windows of all texts sorted by length and
  batched, predictions merged per document (each token from its most central window), then decoded.
- ``pipeline``: ``transformers.pipeline("token-classification", aggregation_strategy="simple",
  stride=S)`` with the tokenizer's ``model_max_length`` set to the model's ``max_length``, called as
  ``pipe(texts, batch_size=B)``. With a ``stride`` the pipeline tokenizes each text with
  ``return_overflowing_tokens=True, stride=S, truncation=True, padding=True``: the Rust tokenizer cuts
  it into chunks of ``model_max_length - 2`` tokens, each sharing S tokens with the one before (the
  same windows as ours, see ``encoding.window_starts``), pads the chunks of a text to its longest
  chunk, decodes every chunk on its own, and among entities of different chunks that overlap keeps
  the longer one (``aggregate_overlapping_entities``).

- ``ours-onnx``, ``ours-onnx-int8``: the same Tagger with ``backend="onnx"`` / ``"onnx-int8"`` (the
  encoder in an ONNX Runtime CPU session with ``--threads`` intra-op threads, everything else shared),
  run when ``--export-dir`` (a folder written by ``nlp-judgments export --onnx`` from ``--model``) or
  the model folder itself holds ``model.onnx`` / ``model.int8.onnx`` (an int8 model rejected at export
  is not run). Their spans are compared with the pipeline's and with ``ours``; the int8 row shows the
  dev F1 change that ``export_report.json`` recorded.

Each row also gets the CPU's float32 GEMM rate and the FLOP/s its forward passes achieved (encoder
FLOPs of the padded positions it computed / seconds inside the forward), as a fraction of that rate:
see ``benchmarks/flops.py`` for the count.

Each engine runs in its own subprocess, so peak RSS (``ru_maxrss``) is per engine and no engine inherits
the other's warm allocator or thread pools; with ``--repeats 2`` or more the order alternates. Model
loading and a warm-up call on the first ``--warmup`` documents are not timed. A forward hook on the
model records, in the timed call, the time inside the model's ``forward`` and the batch shapes (real
tokens against padded positions).

Spans are compared per document as sets of ``(start, end, label)``: the pipeline's entities are
normalised to end-exclusive offsets with whitespace trimmed off both edges (our ``TokenIndex`` trims
offsets the same way) and its ``entity_group`` is our label name. The comparison means something only
for a softmax BIO model trained with ``pretokenize: none``: with ``cjk_chars`` our tokens differ from
the tokenizer's own, and the pipeline's "simple" grouping knows only ``B-``/``I-`` tags. A CRF model is
refused: the pipeline would decode its emissions by argmax.

Every run of ``ours`` also reports where its time went, from the Tagger's own phase clock
(``Tagger.timings``: tokenization, batch building, model forward with log-softmax and copy, window
merging, decoding) and its padding (real against padded positions).

Usage (see benchmarks/README.md)::

    python benchmarks/tag_speed.py --model runs/judgment/model-best --limit 20 --repeats 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

# The ONNX rows only with ONNX files, the bf16 row only with --bf16.
ENGINES = ("ours", "ours-bf16", "ours-onnx", "ours-onnx-int8", "pipeline")
BACKEND_OF = {"ours": "torch", "ours-bf16": "torch-bf16", "ours-onnx": "onnx", "ours-onnx-int8": "onnx-int8"}
DEFAULT_DATA = "../shared/data/judge_docs/judgments.jsonl"
DEFAULT_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


# --------------------------------------------------------------------------------------------
# Arguments, data, model checks
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a model folder written by `nlp-judgments train` (softmax head)")
    p.add_argument("--data", default=DEFAULT_DATA, help="JSONL with id and text per line (read only; never copied)")
    p.add_argument("--limit", type=int, default=0, help="first N documents only; 0 = all")
    p.add_argument("--batch-size", type=int, default=16, help="windows per forward pass, both engines")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch and tokenizer threads, both engines "
                   "(default: all usable cores)")
    p.add_argument("--device", help="cpu | cuda (default: cuda if available)")
    p.add_argument("--repeats", type=int, default=2, help="runs per engine; the order alternates")
    p.add_argument("--warmup", type=int, default=4, help="documents tagged untimed before the clock starts")
    p.add_argument("--examples", type=int, default=8, help="differing spans shown")
    p.add_argument("--out", default="runs/bench/tag_speed.json", help="JSON with settings, figures and runs")
    p.add_argument("--export-dir", help="folder written by `nlp-judgments export --onnx` from --model: adds the "
                   "ours-onnx and ours-onnx-int8 rows (default: --model, if it holds ONNX files)")
    p.add_argument("--bf16", action="store_true", help="add the ours-bf16 row: the same torch model under bfloat16 "
                   "autocast (fast where the CPU has AVX512-BF16 or AMX)")
    # Internal: the parent runs each engine as `tag_speed.py <same args> --engine E --result FILE [--profile]`.
    p.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1 or args.batch_size < 1 or args.threads < 1 or args.limit < 0 or args.warmup < 0:
        p.error("--repeats, --batch-size and --threads must be >= 1; --limit and --warmup >= 0")
    if not Path(args.data).is_file():
        p.error(f"--data {args.data}: no such file")
    if args.export_dir and not (Path(args.export_dir) / "model.onnx").is_file():
        p.error(f"--export-dir {args.export_dir}: no model.onnx; write it with `nlp-judgments export --onnx`")
    return args


def read_docs(path: str, limit: int) -> list[tuple[str, str]]:
    """``(id, text)`` of the first ``limit`` documents (all if 0); entities, if any, are not used."""
    from nlp_judgments.spans import read_spans_jsonl

    docs = read_spans_jsonl(path)
    return [(d.id, d.text) for d in (islice(docs, limit) if limit else docs)]


def check_model(model_dir: str) -> tuple[object, list[str]]:
    """The model's metadata and warnings about what makes the span comparison meaningless; CRF is refused."""
    from nlp_judgments.tagging.artifacts import load_meta

    meta = load_meta(model_dir)
    if meta.head != "softmax":
        raise SystemExit(f"{model_dir} has a {meta.head} head: the pipeline would decode its emissions by argmax, "
                         "so neither speed nor spans would compare like with like; use a softmax model")
    warnings = []
    if meta.pretokenize != "none":
        warnings.append(f"pretokenize={meta.pretokenize}: our tokens (one per CJK character) differ from the "
                        "pipeline's (the tokenizer's own pieces), so spans cannot match; use a pretokenize=none "
                        "model for the identical-span check")
    if meta.scheme != "BIO":
        warnings.append(f"scheme={meta.scheme}: the pipeline's 'simple' grouping knows only B-/I- tags, so spans "
                        "cannot match; use a BIO model for the identical-span check")
    return meta, warnings


def onnx_engines(args: argparse.Namespace, meta) -> tuple[list[str], list[str], dict]:
    """The ONNX rows that can run, notes on those that cannot, and the folder's export report."""
    from nlp_judgments.tagging.artifacts import load_meta
    from nlp_judgments.tagging.onnx import INT8_FILE, ONNX_FILE, read_report

    folder = Path(args.export_dir or args.model)
    if args.export_dir and load_meta(folder) != meta:
        raise SystemExit(f"--export-dir {folder} holds a different model than --model {args.model} (nlp_judgments.json)")
    report = read_report(folder)
    decision = report.get("int8", {}).get("decision")
    engines = ["ours-onnx"] if (folder / ONNX_FILE).is_file() else []
    notes = []
    if decision == "rejected":
        notes.append(f"ours-onnx-int8 not run: the int8 model was rejected at export ({folder / 'export_report.json'})")
    elif (folder / INT8_FILE).is_file():
        engines.append("ours-onnx-int8")
        if decision != "kept":
            notes.append("note: the int8 model was not checked on a dev file at export (no F1 change known)")
    return engines, notes, report


def resolve_device(device: str | None) -> str:
    import torch

    return device or ("cuda" if torch.cuda.is_available() else "cpu")


# --------------------------------------------------------------------------------------------
# Inside an engine's process
# --------------------------------------------------------------------------------------------


class ForwardMeter:
    """Time inside ``module.forward`` and the shapes of its batches, by hooks (they only observe)."""

    def __init__(self, module, device: str):
        import torch

        self._sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        self._t0 = 0.0
        self.reset()
        self._handles = [module.register_forward_pre_hook(self._pre, with_kwargs=True),
                         module.register_forward_hook(self._post)]

    def reset(self) -> None:
        self.seconds, self.calls, self.rows, self.positions, self.real_tokens = 0.0, 0, 0, 0, 0
        self.shapes: list[tuple[int, int]] = []  # [rows, width] per call, for the FLOP count

    def _pre(self, _module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        rows, width = int(ids.shape[0]), int(ids.shape[1])
        self.calls += 1
        self.rows += rows
        self.positions += rows * width
        self.real_tokens += int(mask.sum()) if mask is not None else rows * width
        self.shapes.append((rows, width))
        self._sync()
        self._t0 = time.perf_counter()

    def _post(self, _module, _args, _output):
        self._sync()
        self.seconds += time.perf_counter() - self._t0

    def figures(self) -> dict:
        return {"forward_seconds": self.seconds, "forward_calls": self.calls, "windows": self.rows,
                "positions": self.positions, "real_tokens": self.real_tokens, "batch_shapes": self.shapes}

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


class SessionMeter(ForwardMeter):
    """The same figures for a Tagger's ONNX Runtime session, by wrapping the session's ``run``."""

    def __init__(self, tagger):
        self._sync = lambda: None
        self._t0 = 0.0
        self.reset()
        self._tagger, session, meter = tagger, tagger.session, self

        class Timed:
            def run(self, names, feed):
                meter._pre(None, (), feed)
                out = session.run(names, feed)
                meter._post(None, None, out)
                return out

        self._session = session
        tagger.session = Timed()

    def remove(self) -> None:
        self._tagger.session = self._session


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def normalise_pipeline(text: str, entities: list[dict]) -> list[tuple[int, int, str]]:
    """The pipeline's entities as sorted, unique ``(start, end, label)`` with whitespace trimmed off the edges.

    sentencepiece's ``▁iPhone`` carries the space before it; ``TokenIndex`` trims token offsets the same way.

    >>> normalise_pipeline("被告 iPhone", [{"start": 2, "end": 9, "entity_group": "APP"}])
    [(3, 9, 'APP')]
    """
    out = set()
    for ent in entities:
        s, e = int(ent["start"]), int(ent["end"])
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            out.add((s, e, ent["entity_group"]))
    return sorted(out)


def time_call(call, texts: list[str], warmup: int, meter: ForwardMeter):
    """Warm up on the first ``warmup`` texts, then time one call on all of them."""
    if warmup:
        call(texts[:warmup])
    meter.reset()
    start = time.perf_counter()
    out = call(texts)
    return out, time.perf_counter() - start


def run_ours(args: argparse.Namespace, texts: list[str]) -> dict:
    from nlp_judgments.tagging.tagger import Tagger

    backend = BACKEND_OF[args.engine]
    if backend.startswith("torch"):
        tagger = Tagger.load(args.model, device=resolve_device(args.device), batch_size=args.batch_size,
                             num_threads=args.threads, backend=backend)
    else:  # the ONNX backends run on the CPU
        tagger = Tagger.load(args.export_dir or args.model, batch_size=args.batch_size, num_threads=args.threads,
                             backend=backend)
    rss_loaded = peak_rss_mb()
    meter = ForwardMeter(tagger.model.encoder, str(tagger.device)) if tagger.session is None else SessionMeter(tagger)

    def call(batch: list[str]):
        tagger.timings.clear()  # so the timings are those of the timed call, not the warm-up
        return tagger.tag(batch)

    entities, seconds = time_call(call, texts, args.warmup, meter)
    result = {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "rss_after_load_mb": rss_loaded, **meter.figures(),
              "spans": [sorted((e.start, e.end, e.label) for e in ents) for ents in entities]}
    meter.remove()
    result["phases"] = dict(tagger.timings) | {"total": seconds}
    if args.profile:
        result["overlap_chars"] = shared_ranges(tagger, texts)
    return result


def shared_ranges(tagger, texts: list[str]) -> list[list[list[int]]]:
    """Per document, the character ranges that two neighbouring windows share (where merging matters)."""
    from nlp_judgments.tagging.windows import window_starts

    out = []
    for toks in tagger.index.tokenize(texts):
        starts = window_starts(len(toks), tagger.content_length, tagger.stride) if len(toks) else []
        out.append([[toks.offsets[starts[k + 1]][0], toks.offsets[min(starts[k] + tagger.content_length, len(toks)) - 1][1]]
                    for k in range(len(starts) - 1)])
    return out


def run_pipeline(args: argparse.Namespace, texts: list[str]) -> dict:
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    from nlp_judgments.tagging.artifacts import load_meta

    meta = load_meta(args.model)
    model = AutoModelForTokenClassification.from_pretrained(args.model, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    tokenizer.model_max_length = meta.max_length  # chunks of max_length tokens, CLS/SEP included, as ours
    device = resolve_device(args.device)
    pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple",
                    stride=meta.stride, device=device)
    rss_loaded = peak_rss_mb()
    meter = ForwardMeter(pipe.model, device)
    outputs, seconds = time_call(lambda t: pipe(t, batch_size=args.batch_size), texts, args.warmup, meter)
    result = {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "rss_after_load_mb": rss_loaded, **meter.figures()}
    meter.remove()
    result["spans"] = [normalise_pipeline(text, ents) for text, ents in zip(texts, outputs)]
    result["windows_identical_docs"] = count_same_windows(tokenizer, meta, texts)
    return result


def count_same_windows(tokenizer, meta, texts: list[str]) -> int:
    """Documents whose pipeline chunks (tokenized as its ``preprocess`` does) hold exactly our windows' tokens."""
    from nlp_judgments.tagging.encoding import TokenIndex
    from nlp_judgments.tagging.windows import window_starts

    length, same = meta.max_length - 2, 0
    for text, toks in zip(texts, TokenIndex(tokenizer, meta.pretokenize).tokenize(texts)):
        enc = tokenizer(text, truncation=True, return_overflowing_tokens=True, stride=meta.stride, padding=True,
                        return_special_tokens_mask=True)
        chunks = [[i for i, special in zip(ids, mask) if not special]
                  for ids, mask in zip(enc["input_ids"], enc["special_tokens_mask"])]
        same += chunks == [toks.ids[s : s + length] for s in window_starts(len(toks), length, meta.stride)]
    return same


def engine_main(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    texts = [text for _, text in read_docs(args.data, args.limit)]
    result = run_ours(args, texts) if args.engine in BACKEND_OF else run_pipeline(args, texts)
    return {"engine": args.engine, "torch_threads": torch.get_num_threads(), **result}


# --------------------------------------------------------------------------------------------
# The parent: run the engines, compare, print, write JSON
# --------------------------------------------------------------------------------------------


def run_engine(engine: str, argv: list[str], work_dir: Path, threads: int, profile: bool) -> dict:
    """Run one engine in a fresh interpreter and return its result; its output goes to a log file."""
    result, log = work_dir / f"{engine}.json", work_dir / f"{engine}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--engine", engine, "--result", str(result)]
    cmd += ["--profile"] if profile else []
    # The same thread count for torch's pools and the Rust tokenizer's (rayon) pool in both engines.
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), RAYON_NUM_THREADS=str(threads))
    with log.open("w") as f:
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        raise SystemExit(f"{engine} failed (exit {code}); last lines of its log:\n" + "\n".join(tail))
    return json.loads(result.read_text())


def compare_spans(docs: list[tuple[str, str]], ours: list, theirs: list, overlaps: list, n_examples: int) -> dict:
    """Per document, whether both engines found the same ``(start, end, label)`` set; differences with context.

    ``overlaps`` holds, per document, the character ranges two windows share: there the engines merge
    windows differently (ours by the most central window, the pipeline by the longer entity).
    """
    identical, counts, in_overlap, examples = 0, {"ours only": 0, "pipeline only": 0}, 0, []
    for (doc_id, text), a, b, shared in zip(docs, ours, theirs, overlaps):
        a, b = set(map(tuple, a)), set(map(tuple, b))
        identical += a == b
        for side, diff in (("ours only", a - b), ("pipeline only", b - a)):
            for s, e, label in sorted(diff):
                counts[side] += 1
                overlap = any(s < oe and os_ < e for os_, oe in shared)
                in_overlap += overlap
                if len(examples) < n_examples:
                    examples.append({"doc": doc_id, "side": side, "start": s, "end": e, "label": label,
                                     "in_window_overlap": overlap,
                                     "context": f"{text[max(0, s - 8):s]}[{text[s:e]}]{text[e:e + 8]}"})
    return {
        "docs": len(docs),
        "identical_docs": identical,
        "differing_spans": sum(counts.values()),
        "only_ours": counts["ours only"],
        "only_pipeline": counts["pipeline only"],
        "differing_in_window_overlap": in_overlap,
        "spans_ours": sum(map(len, ours)),
        "spans_pipeline": sum(map(len, theirs)),
        "examples": examples,
    }


def span_identity(spans: list, reference: list) -> dict:
    """Documents whose ``(start, end, label)`` sets equal the reference's, and spans in one set but not the other."""
    same = differing = 0
    for a, b in zip(spans, reference):
        a, b = set(map(tuple, a)), set(map(tuple, b))
        same += a == b
        differing += len(a ^ b)
    return {"identical_docs": same, "differing_spans": differing}


def format_identity(identity: dict, docs: int) -> str:
    lines = ["span identity (documents identical / spans differing):"]
    for engine, r in identity.items():
        lines.append(f"  {engine:<15} vs pipeline {r['vs_pipeline']['identical_docs']}/{docs} docs, "
                     f"{r['vs_pipeline']['differing_spans']} spans; vs ours (torch) "
                     f"{r['vs_ours']['identical_docs']}/{docs} docs, {r['vs_ours']['differing_spans']} spans")
    return "\n".join(lines)


def summarise(runs: list[dict], chars: int) -> dict:
    """Per engine: median seconds over repeats, chars/s from it, the highest peak RSS, hook figures."""
    table = {}
    for engine in [e for e in ENGINES if any(r["engine"] == e for r in runs)]:
        mine = [r for r in runs if r["engine"] == engine]
        seconds = statistics.median(r["seconds"] for r in mine)
        table[engine] = {
            "runs": len(mine),
            "seconds": seconds,
            "chars_per_second": chars / seconds,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in mine),
            "rss_after_load_mb": max(r["rss_after_load_mb"] for r in mine),
            "forward_share": statistics.median(r["forward_seconds"] / r["seconds"] for r in mine),
            "windows": mine[0]["windows"],
            "padding_waste": 1 - mine[0]["real_tokens"] / mine[0]["positions"] if mine[0]["positions"] else 0.0,
            "all_seconds": [r["seconds"] for r in mine],
        }
    for row in table.values():
        row["ratio_to_pipeline"] = row["chars_per_second"] / table["pipeline"]["chars_per_second"]
    return table


def add_flops(table: dict, runs: list[dict], config: dict, gemm: float | None) -> None:
    """Per engine: encoder FLOPs of the padded positions its forward computed, FLOP/s over its median forward
    seconds, and that rate as a fraction of the GEMM rate (``flops.py``)."""
    flops = load_flops_module()
    for engine, row in table.items():
        mine = [r for r in runs if r["engine"] == engine]
        row["forward_flops"] = flops.batch_flops(config, [tuple(s) for s in mine[0]["batch_shapes"]])
        seconds = statistics.median(r["forward_seconds"] for r in mine)
        row["forward_flop_per_second"] = row["forward_flops"] / seconds if seconds else None
        row["of_gemm_rate"] = row["forward_flop_per_second"] / gemm if gemm and seconds else None


def load_flops_module():
    """``benchmarks/flops.py`` (beside this script, which tests load by path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("flops", Path(__file__).resolve().with_name("flops.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def format_table(table: dict, docs: int, chars: int) -> str:
    cols = ["engine", "docs", "chars", "seconds", "chars/s", "ratio", "peak RSS MB", "forward %", "windows", "pad waste",
            "GFLOP/s", "of GEMM", "F1 change"]
    lines = [cols]
    for engine, r in table.items():
        rate, share, delta = r.get("forward_flop_per_second"), r.get("of_gemm_rate"), r.get("f1_change_points")
        lines.append([engine, str(docs), f"{chars:,}", f"{r['seconds']:.2f}", f"{r['chars_per_second']:,.0f}",
                      f"{r['ratio_to_pipeline']:.2f}x", f"{r['peak_rss_mb']:,.0f}", f"{r['forward_share']:.0%}",
                      str(r["windows"]), f"{r['padding_waste']:.1%}", "" if rate is None else f"{rate / 1e9:.1f}",
                      "" if share is None else f"{share:.0%}", "" if delta is None else f"{delta:+.2f} pt"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(cols))]
    out = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))) for line in lines]
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)


def format_breakdown(phases: dict) -> str:
    total = phases["total"]
    counts = ("total", "windows", "padded_positions", "real_positions")
    rows = [f"  {name:<17} {sec:8.3f} s  {sec / total:6.1%}" for name, sec in phases.items() if name not in counts]
    waste = 1 - phases["real_positions"] / max(1, phases["padded_positions"])
    return "\n".join(rows + [f"  {'total':<17} {total:8.3f} s  ({phases['windows']} windows, {waste:.1%} padding)"])


def format_spans(spans: dict, comparable: bool) -> str:
    n = spans["docs"]
    lines = [
        f"windows: the pipeline's chunks hold the same tokens as ours in {spans['windows_identical_docs']}/{n} documents",
        f"spans: {spans['identical_docs']}/{n} documents identical; {spans['differing_spans']} differing spans "
        f"({spans['only_ours']} ours only, {spans['only_pipeline']} pipeline only; "
        f"{spans['differing_in_window_overlap']} touch a stretch two windows share); "
        f"spans in all: ours {spans['spans_ours']}, pipeline {spans['spans_pipeline']}"
        + ("" if comparable else "  [NOT COMPARABLE: see the warnings]"),
    ]
    lines += [f"  {x['doc']} {x['side']}: ({x['start']}, {x['end']}, {x['label']}) "
              f"{'[overlap] ' if x['in_window_overlap'] else ''}{x['context']}" for x in spans["examples"]]
    return "\n".join(lines)


def environment(args: argparse.Namespace, device: str) -> dict:
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "cpu_count": os.cpu_count(),
        "cpus_usable": DEFAULT_THREADS,
        "threads": args.threads,
        "tokenizers_parallelism": os.environ.get("TOKENIZERS_PARALLELISM"),
        "device": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu",
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.engine is not None:  # inside an engine's subprocess
        Path(args.result).write_text(json.dumps(engine_main(args)))
        return 0

    meta, warnings = check_model(args.model)
    onnx, onnx_notes, export_report = onnx_engines(args, meta)
    extra = (["ours-bf16"] if args.bf16 else []) + onnx
    engines = ["ours", *extra, "pipeline"]
    docs = read_docs(args.data, args.limit)
    chars = sum(len(text) for _, text in docs)
    device = resolve_device(args.device)
    load_start = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory(prefix="tag_speed.") as tmp:
        for rep in range(args.repeats):
            for engine in (engines if rep % 2 == 0 else engines[::-1]):
                work_dir = Path(tmp) / f"{rep}-{engine}"
                work_dir.mkdir()
                print(f"[{rep + 1}/{args.repeats}] {engine} ...", file=sys.stderr, flush=True)
                profile = rep == 0 and engine == "ours"
                runs.append(run_engine(engine, argv, work_dir, args.threads, profile) | {"repeat": rep})

    first = {e: next(r for r in runs if r["engine"] == e) for e in engines}
    spans = compare_spans(docs, first["ours"]["spans"], first["pipeline"]["spans"], first["ours"]["overlap_chars"],
                          args.examples)
    spans["windows_identical_docs"] = first["pipeline"]["windows_identical_docs"]
    identity = {e: {"vs_pipeline": span_identity(first[e]["spans"], first["pipeline"]["spans"]),
                    "vs_ours": span_identity(first[e]["spans"], first["ours"]["spans"])} for e in engines[:-1]}
    table = summarise(runs, chars)
    gemm = load_flops_module().gemm_rate(args.threads) if device == "cpu" else None
    gemm_ort = load_flops_module().gemm_rate(args.threads, "onnxruntime") if gemm and onnx else None
    add_flops(table, runs, load_flops_module().encoder_config(args.model), gemm)
    for engine in onnx:
        table[engine]["f1_change_points"] = export_report.get("dev", {}).get("delta_points", {}).get(BACKEND_OF[engine])
    phases = first["ours"]["phases"]
    notes = list(warnings) + onnx_notes
    if onnx and device != "cpu":
        notes.append(f"note: the ONNX rows ran on the CPU, ours on {device}")
    for engine in engines:
        if len({json.dumps(r["spans"]) for r in runs if r["engine"] == engine}) > 1:
            notes.append(f"WARNING: {engine} produced different spans in different repeats")
    if first["pipeline"]["windows_identical_docs"] != len(docs) and meta.pretokenize == "none":
        notes.append(f"WARNING: the pipeline's chunks differ from our windows in "
                     f"{len(docs) - first['pipeline']['windows_identical_docs']} documents")
    if spans["spans_ours"] + spans["spans_pipeline"] < 5 * len(docs):
        notes.append(f"note: few spans ({spans['spans_ours']} ours, {spans['spans_pipeline']} pipeline for {len(docs)} "
                     "documents): the identical-span check is weak on this model")

    settings = {
        "model": str(args.model), "meta": {k: getattr(meta, k) for k in ("labels", "scheme", "head", "pretokenize",
                                                                        "max_length", "stride")},
        "ours": f"Tagger(batch_size={args.batch_size}): windows of {meta.max_length - 2} tokens + CLS/SEP sharing "
                f"{meta.stride} tokens, length-sorted batches, central merge",
        "pipeline": f'pipeline("token-classification", aggregation_strategy="simple", stride={meta.stride}), '
                    f"tokenizer.model_max_length={meta.max_length}, called with batch_size={args.batch_size}",
        "data": str(args.data), "docs": len(docs), "chars": chars, "device": device, "threads": args.threads,
        "repeats": args.repeats, "warmup_docs": args.warmup, "comparable": not warnings,
        "onnx": {"engines": onnx, "folder": str(args.export_dir or args.model), "export_report": export_report}
        if onnx else None,
        "bf16": args.bf16,
        "args": {k: v for k, v in vars(args).items() if k not in ("engine", "result", "profile")},
    }
    print(f"model {args.model} (head {meta.head}, scheme {meta.scheme}, pretokenize {meta.pretokenize}); "
          f"windows of {meta.max_length} tokens with CLS/SEP, stride {meta.stride}, both engines; batch {args.batch_size}; "
          f"device {device}; threads {args.threads}; {args.repeats} repeat(s), warm-up {args.warmup} docs; "
          f"load average at start {load_start[0]:.2f}")
    print(format_table(table, len(docs), chars))
    if gemm:
        print(f"GFLOP/s: encoder FLOPs of all padded positions computed / seconds inside the forward; of GEMM: that "
              f"over torch's float32 2048^3 matmul rate on {args.threads} thread(s), {gemm / 1e9:.1f} GFLOP/s "
              "(benchmarks/flops.py)" + (f"; onnxruntime's rate for the same matmul: {gemm_ort / 1e9:.1f} GFLOP/s; "
                                         "F1 change: dev micro-F1 points against torch, from export_report.json"
                                         if onnx else "")
              + ("; ours-bf16 multiplies in bfloat16, so its fraction of the float32 rate can pass 100 %"
                 if args.bf16 else ""))
    print(f"ours, time by phase (Tagger.timings of the timed call):\n{format_breakdown(phases)}")
    print(format_spans(spans, not warnings))
    if extra:
        print(format_identity(identity, len(docs)))
    for note in notes:
        print(note)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for r in runs:  # spans as a digest: they are offsets into the data, compared above
        r["spans_sha1"] = hashlib.sha1(json.dumps(r.pop("spans")).encode()).hexdigest()[:12]
        r.pop("overlap_chars", None)
        r.pop("batch_shapes", None)
    env = environment(args, device) | {"loadavg_at_start": load_start, "loadavg_at_end": os.getloadavg(),
                                       "gemm_flop_per_second": gemm, "gemm_flop_per_second_onnxruntime": gemm_ort}
    out.write_text(json.dumps({"settings": settings, "environment": env, "table": table, "breakdown": phases,
                               "spans": spans, "span_identity": identity, "notes": notes, "runs": runs},
                              indent=2, ensure_ascii=False))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
