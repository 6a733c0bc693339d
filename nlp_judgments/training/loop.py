"""Training: ``train(config)`` reads data, builds the model, runs the loop, saves model folders.

Shaped like a fine-tune script in three steps: ``train`` (public signature) → ``_setup`` (build every
object from the config) → ``_fit`` (the loop). Written against ``accelerate`` so that
``accelerate launch -m nlp_judgments.cli train ...`` runs it unchanged on several GPUs or nodes: each
process takes every N-th batch of the same seeded order, gradients are averaged by accelerate, and
evaluation and saving happen on the main process.

Outputs in ``output_dir``:

- ``model-best/``: the best dev micro-F1 so far (or the last model when there is no dev set);
- ``model-last/``: the model at the end of training;
- ``checkpoint/``: optimizer, scheduler, RNG state and position in the data, for resuming;
- ``config.yaml``, ``train_log.jsonl`` (one line per evaluation), ``encoding_report.json``.

Resuming (``train.resume``, on by default) restarts from ``checkpoint/`` at the exact batch it reached,
with the same RNG state, so an interrupted run ends with the same weights as an uninterrupted one.

Several sources (``data.sources``): each file is read with its own format and label map, and its last
``dev_last_n`` documents become its dev block. A source may annotate only some labels (``annotates``):
where it leaves a token ``O``, the token may still belong to a label it does not annotate, so the loss
does not push those labels down. Each token gets an allowed tag set (``encoding.allowed_tag_matrix``:
``O`` plus every tag of the unannotated labels for an ``O`` token, the gold tag, or its ambiguous
alternatives, for an entity token) and the loss is the negative log of the total probability of the
allowed tags (paths, for the CRF; ``model.py``). With every label annotated this is the usual loss.
Each dev block is scored over its source's labels only; the pooled micro-F1 over all blocks selects
``model-best``, and ``train_log.jsonl`` adds ``dev_f1_by_source``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import resource
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list, set_seed
from tqdm.auto import tqdm
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)

from nlp_judgments.data.documents import load_documents
from nlp_judgments.spans import DataError, Document, join_consecutive
from nlp_judgments.tagging.artifacts import ModelMeta, save_model
from nlp_judgments.tagging.encoders import resolve_encoder
from nlp_judgments.tagging.encoding import (
    IGNORE,
    AlignmentReport,
    Encoder,
    TokenIndex,
    allowed_tag_matrix,
)
from nlp_judgments.tagging.evaluate import DevSet, evaluate_documents, evaluate_sources
from nlp_judgments.tagging.hardware import cpu_has_native_bf16, warn_if_emulated_bf16
from nlp_judgments.tagging.model import SpanHead, TaggingModel
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.training.adversarial import FGM
from nlp_judgments.training.config import (
    Config,
    ConfigError,
    SourceConfig,
    config_from_dict,
)
from nlp_judgments.training.ema import EMA

log = logging.getLogger("nlp_judgments.training.loop")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def split_data(config: Config) -> tuple[list[Document], list[Document], dict]:
    d = config.data
    if d.train_file is None:
        raise ConfigError("data.train_file is not set (give --data.train_file=PATH, or a data.sources list)")
    train_docs, train_stats = load_documents(d.train_file, d.format, d.label_map, d.labels)
    dev_docs: list[Document] = []
    dev_stats: dict = {}
    if d.dev_file is not None:
        dev_docs, dev_stats = load_documents(d.dev_file, d.format, d.label_map, d.labels)
    elif d.dev_last_n:
        if d.dev_last_n >= len(train_docs):
            raise ConfigError(f"data.dev_last_n={d.dev_last_n} leaves no training data ({len(train_docs)} documents)")
        train_docs, dev_docs = train_docs[: -d.dev_last_n], train_docs[-d.dev_last_n :]
    if not train_docs:
        raise DataError("no training documents", d.train_file)
    if d.join_chars:
        train_docs, dev_docs = join_consecutive(train_docs, d.join_chars), join_consecutive(dev_docs, d.join_chars)
    return train_docs, dev_docs, {"train": train_stats, "dev": dev_stats}


@dataclass
class SourceData:
    """One entry of ``data.sources``, read and split into training documents and its dev block."""

    config: SourceConfig
    train_docs: list[Document]
    dev_docs: list[Document]
    read_stats: dict


def source_dev_set(src: SourceData, labels: list[str]) -> DevSet:
    """A source's dev block with what it is scored on: the labels it annotates, a predicted
    alternative (DEFENDANT for CAIL2022's PERSON) counted as the source's own label."""
    alternatives = src.config.alternatives()
    collapse = {alt: key for key, alts in alternatives.items() for alt in alts if alt != key}
    scored = list(dict.fromkeys(collapse.get(label, label) for label in src.config.annotated(labels)))
    return DevSet(src.config.name, src.dev_docs, scored, collapse)


def read_sources(config: Config) -> list[SourceData]:
    """Read every source of ``data.sources`` (labels checked against ``data.labels``) and split off
    each one's dev block: its last ``dev_last_n`` documents, contiguous as for ``data.dev_last_n``."""
    out = []
    for i, s in enumerate(config.data.sources or []):
        docs, stats = load_documents(s.file, s.format, s.label_map, config.data.labels)
        if s.dev_last_n and s.dev_last_n >= len(docs):
            raise ConfigError(f"data.sources[{i}] ({s.name}): dev_last_n={s.dev_last_n} leaves no training data "
                              f"({len(docs)} documents)")
        cut = len(docs) - s.dev_last_n
        if not docs[:cut]:
            raise DataError("no training documents", s.file)
        out.append(SourceData(s, docs[:cut], docs[cut:], stats))
    return out


def length_bucketed_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths: little padding, still a different order every epoch.

    Indices are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into
    batches, and the batches shuffled again.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: lengths[j])
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def rank_batches(lengths: list[int], batch_size: int, seed: int, world: int, rank: int) -> list[list[int]]:
    """This process's share of one epoch: every ``world``-th batch of one seeded order.

    The order is cut to a multiple of ``world`` so that all processes make the same number of
    updates (DDP needs that); with fewer batches than processes, each process repeats the order.
    """
    order = length_bucketed_batches(lengths, batch_size, seed)
    order = order[: len(order) - len(order) % world] if len(order) >= world else order * world
    return order[rank::world]


def collate(
    features: list[dict],
    pad_id: int,
    allowed: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    span_head: SpanHead | None = None,
    label_masks: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Pad a batch of windows. With ``allowed [S, T, T]`` (one ``allowed_tag_matrix`` per source),
    also each token's allowed tags ``[B, L, T]``; with ``weights [S]``, each window's loss weight ``[B]``,
    both looked up by the window's ``"source"``. With a ``span_head``: the windows' gold spans as its
    ``span_targets`` and, with ``label_masks [S, labels]``, the labels each window's source annotates
    as ``label_mask [B, labels]``."""
    width = max(len(f["input_ids"]) for f in features)
    ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    labels = torch.full((len(features), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(features), width), dtype=torch.long)
    for row, f in enumerate(features):
        n = len(f["input_ids"])
        ids[row, :n] = torch.tensor(f["input_ids"])
        labels[row, :n] = torch.tensor(f["labels"])
        mask[row, :n] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    source = torch.tensor([f.get("source", 0) for f in features])
    if allowed is not None:
        # Ignored positions look up the O row: any non-empty set will do, they carry no loss.
        batch["allowed"] = allowed[source.unsqueeze(1), labels.clamp(min=0)]
    if weights is not None:
        batch["weights"] = weights[source]
    if span_head is not None:
        batch["span_targets"] = span_head.band_targets([f["spans"] for f in features], width)
        if label_masks is not None:
            batch["label_mask"] = label_masks[source]
    return batch


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


def model_meta(config: Config, labels: list[str]) -> ModelMeta:
    """What a saved folder of this config states about its model (``nlp_judgments.json``)."""
    d, m = config.data, config.model
    span = {"span_dim": m.span_dim, "max_span": m.max_span} if m.head == "span" else {}
    return ModelMeta(labels, d.scheme, m.head, d.pretokenize, d.max_length, d.stride, **span)


def make_encoder(config: Config, index: TokenIndex, labels: list[str]) -> Encoder:
    """Training windows as the configured head needs them (the span head adds span targets)."""
    d, m = config.data, config.model
    span = m.head == "span"
    return Encoder(index, labels, d.scheme, d.max_length, d.stride, d.overlap_policy, spans=span,
                   max_span=m.max_span if span else 0)


def build_model(config: Config, labels: list[str]):
    """Tokenizer and a fresh ``TaggingModel`` for ``labels`` on the configured encoder."""


    m = config.model
    source = resolve_encoder(m.name_or_path, tiny_hidden=m.tiny_hidden, tiny_layers=m.tiny_layers)
    meta = model_meta(config, labels)
    outputs = meta.output_names()
    extra = {}
    if m.dropout is not None:
        extra = {"hidden_dropout_prob": m.dropout, "attention_probs_dropout_prob": m.dropout}
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=m.trust_remote_code)
    encoder = AutoModelForTokenClassification.from_pretrained(
        source,
        num_labels=len(outputs),
        id2label=dict(enumerate(outputs)),
        label2id={t: i for i, t in enumerate(outputs)},
        trust_remote_code=m.trust_remote_code,
        **extra,
    )
    if m.freeze_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    return tokenizer, meta.tagging_model(encoder, config.train.label_smoothing)


def param_groups(
    model: TaggingModel, lr: float, head_lr: float, weight_decay: float, layer_decay: float = 1.0
) -> list[dict]:
    """Encoder weights at ``lr`` (no decay on biases and norms); new head and CRF at ``head_lr``.

    With ``layer_decay < 1`` the encoder's learning rate shrinks by that factor per layer from the
    top down: the top layer trains at ``lr``, layer ``i`` of ``n`` at ``lr * layer_decay**(n - 1 - i)``
    and the embeddings at ``lr * layer_decay**n`` (lower layers hold the more general features).
    """
    head_names = ("classifier.", "crf.")
    n_layers = getattr(getattr(model.encoder, "config", None), "num_hidden_layers", None)
    groups: dict[tuple[str, int], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if any(h in name for h in head_names):
            key = ("head", 0)
        else:
            depth = 0
            if layer_decay != 1.0 and n_layers:
                layer = re.search(r"\.layer\.(\d+)\.", name)
                depth = n_layers - 1 - int(layer.group(1)) if layer else (n_layers if "embeddings" in name else 0)
            key = ("no_decay" if p.ndim < 2 else "decay", depth)
        groups.setdefault(key, []).append(p)
    out = []
    for (kind, depth), params in sorted(groups.items()):
        if kind == "head":
            out.append({"params": params, "lr": head_lr, "weight_decay": 0.0})
        else:
            out.append({"params": params, "lr": lr * layer_decay**depth,
                        "weight_decay": weight_decay if kind == "decay" else 0.0})
    return out


# --------------------------------------------------------------------------------------------
# Loop
# --------------------------------------------------------------------------------------------


@dataclass
class TrainState:
    """Where the loop is; saved in the checkpoint as JSON."""

    step: int = 0  # optimizer updates done
    epoch: int = 0
    batch_in_epoch: int = 0  # micro-batches of this epoch already consumed
    best_f1: float = -1.0
    best_step: int = 0
    bad_evals: int = 0
    train_seconds: float = 0.0
    history: list[dict] = field(default_factory=list)


@dataclass
class TrainResult:
    output_dir: Path
    best_f1: float | None
    steps: int
    seconds: float
    metrics: dict
    is_main_process: bool = True  # False in the other processes of a distributed run


def resolve_precision(setting: str, cpu_bf16: bool = False) -> str:
    """The precision ``accelerate`` runs under for ``train.mixed_precision``; see ``TrainConfig``."""
    if setting != "auto":
        if setting == "bf16" and not torch.cuda.is_available():
            warn_if_emulated_bf16(log, "train.mixed_precision=bf16", "mixed_precision=auto or no")
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_bf16 and cpu_has_native_bf16() else "no"


def train(config: Config, on_update: Callable[[int], None] | None = None) -> TrainResult:
    """Train a tagger as configured. ``on_update(step)`` is called after each optimizer update
    (tests use it to interrupt a run and check that resuming reproduces it)."""

    t = config.train
    if t.num_threads:
        torch.set_num_threads(t.num_threads)
    # cpu=True on machines without CUDA makes accelerate set up gloo when launched with several
    # processes (torchrun / accelerate launch --multi_gpu); otherwise each would train alone.
    accelerator = Accelerator(mixed_precision=resolve_precision(t.mixed_precision, t.cpu_bf16), cpu=not torch.cuda.is_available())
    set_seed(t.seed)
    out = Path(config.output_dir)
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        config.save(out / "config.yaml")

    setup = _setup(config, accelerator)
    return _fit(config, accelerator, setup, on_update)


@dataclass
class _Setup:
    tokenizer: object
    model: TaggingModel
    meta: ModelMeta
    train_features: list[dict]
    dev_docs: list[Document]
    pad_id: int
    report: dict
    # With data.sources: each source's dev block, allowed tag sets [S, T, T] (span head: annotated
    # labels [S, L] instead) and loss weights [S].
    dev_sets: list[DevSet] | None = None
    allowed: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    label_masks: torch.Tensor | None = None

    def collate_options(self) -> dict:
        """``collate``'s keyword arguments beyond features and padding; none for a single-file run
        with a tagging head, which keeps the two-argument call (benchmarks wrap it)."""
        options = {}
        if self.allowed is not None:
            options.update(allowed=self.allowed, weights=self.weights)
        if self.model.span is not None:
            options.update(span_head=self.model.span, label_masks=self.label_masks,
                           weights=self.weights)
            options.pop("allowed", None)
        return options


def _setup(config: Config, accelerator) -> _Setup:
    if config.data.sources is not None:
        return _setup_sources(config, accelerator)
    d = config.data
    train_docs, dev_docs, read_stats = split_data(config)
    # Without a configured label set, the labels seen in the data (dev too: a dev-only label must
    # still be scorable, and predicting it never is the honest result).
    labels = d.labels or sorted({s.label for doc in train_docs + dev_docs for s in doc.spans})
    if not labels:
        raise DataError("the training data has no entity spans", d.train_file)
    tokenizer, model = build_model(config, labels)
    index = TokenIndex(tokenizer, d.pretokenize)
    encoder = make_encoder(config, index, labels)
    train_report = AlignmentReport()
    features = encoder.encode(train_docs, train_report)
    dev_report = AlignmentReport()
    encoder.encode(dev_docs, dev_report)  # only for the report: dev is scored on whole documents
    report = {"read": read_stats, "train": train_report.to_dict(), "dev": dev_report.to_dict(), "labels": labels}
    if accelerator.is_main_process:
        _log_and_save_report(config, report, train_report, dev_report, bool(dev_docs))
    meta = model_meta(config, labels)
    return _Setup(tokenizer, model, meta, features, dev_docs, index.pad_id, report)


def _log_and_save_report(config: Config, report: dict, train_report: AlignmentReport, dev_report: AlignmentReport,
                has_dev: bool) -> None:
    log.info("train encoding: %s", train_report.summary())
    if has_dev:
        log.info("dev encoding: %s", dev_report.summary())
    for kind, examples in train_report.examples.items():
        log.info("  %s e.g. %s", kind, " | ".join(examples[:3]))
    out = Path(config.output_dir)
    (out / "encoding_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


def _setup_sources(config: Config, accelerator) -> _Setup:
    """``_setup`` for ``data.sources``: windows tagged with their source, allowed tag sets, dev blocks."""
    d = config.data
    labels = list(d.labels)
    sources = read_sources(config)
    tokenizer, model = build_model(config, labels)
    index = TokenIndex(tokenizer, d.pretokenize)
    encoder = make_encoder(config, index, labels)
    features: list[dict] = []
    train_total, dev_total = AlignmentReport(), AlignmentReport()
    per_source, matrices, dev_sets = {}, [], []
    for i, src in enumerate(sources):
        s = src.config
        train_report, dev_report = AlignmentReport(), AlignmentReport()
        features += encoder.encode(src.train_docs, train_report, source=i)
        encoder.encode(src.dev_docs, dev_report)  # only for the report: dev is scored on whole documents
        train_total.merge(train_report)
        dev_total.merge(dev_report)
        annotated = s.annotated(labels)
        matrices.append(allowed_tag_matrix(labels, d.scheme, annotated, s.alternatives()))
        dev_set = source_dev_set(src, labels)
        scored = dev_set.labels
        if src.dev_docs:
            dev_sets.append(dev_set)
        per_source[s.name] = {"read": src.read_stats, "train": train_report.to_dict(), "dev": dev_report.to_dict(),
                              "annotates": annotated, "scored_labels": scored}
        if accelerator.is_main_process:
            log.info("source %s: %d train, %d dev documents; annotates %s; %s", s.name, len(src.train_docs),
                     len(src.dev_docs), ", ".join(annotated) or "nothing", train_report.summary())
    unchecked = [l for l in labels if not any(l in src.config.annotated(labels) for src in sources)]
    if unchecked and accelerator.is_main_process:
        log.warning("no source annotates %s completely: nothing teaches the model where they are absent",
                    ", ".join(unchecked))
    report = {"read": {k: v["read"] for k, v in per_source.items()}, "train": train_total.to_dict(),
              "dev": dev_total.to_dict(), "labels": labels, "sources": per_source}
    dev_docs = [doc for src in sources for doc in src.dev_docs]
    if accelerator.is_main_process:
        _log_and_save_report(config, report, train_total, dev_total, bool(dev_docs))
    meta = model_meta(config, labels)
    allowed = torch.from_numpy(np.stack(matrices))
    weights = torch.tensor([src.config.weight for src in sources], dtype=torch.float32)
    label_masks = torch.tensor([[label in src.config.annotated(labels) for label in labels] for src in sources])
    return _Setup(tokenizer, model, meta, features, dev_docs, index.pad_id, report, dev_sets, allowed, weights,
                  label_masks)


def _flatten(values, prefix: str = ""):
    """``("train.lr", 1e-4)`` pairs of a nested config dict; list items are keyed by index."""
    if isinstance(values, dict):
        items = values.items()
    elif isinstance(values, list):
        items = ((str(i), v) for i, v in enumerate(values))
    else:
        yield prefix, values
        return
    for key, value in items:
        yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))


def _evaluate(model: TaggingModel, setup: _Setup, accelerator) -> dict:

    unwrapped = accelerator.unwrap_model(model)
    unwrapped.eval()
    tagger = Tagger(unwrapped, setup.tokenizer, setup.meta, device=accelerator.device, batch_size=32)
    if setup.dev_sets is not None:
        scores = evaluate_sources(tagger, setup.dev_sets)
    else:
        scores = evaluate_documents(tagger, setup.dev_docs)
    unwrapped.train()
    return scores


def _fit(config: Config, accelerator, setup: _Setup, on_update) -> TrainResult:

    t = config.train
    out = Path(config.output_dir)
    ckpt = out / "checkpoint"
    world, rank = accelerator.num_processes, accelerator.process_index
    features = setup.train_features
    lengths = [len(f["input_ids"]) for f in features]
    batches_per_epoch = len(rank_batches(lengths, t.batch_size, t.seed, world, rank))  # the same every epoch
    updates_per_epoch = math.ceil(batches_per_epoch / t.grad_accum)
    total_updates = updates_per_epoch * t.epochs
    if t.max_steps:
        total_updates = min(total_updates, t.max_steps)

    model = setup.model
    # The fused kernel updates all tensors at once; torch's default on CPU loops over them in Python
    # (measured on e5-small's 198 non-embedding tensors: 9 ms against 47 ms a step).
    optimizer = torch.optim.AdamW(param_groups(model, t.lr, t.head_lr, t.weight_decay, t.layer_lr_decay), fused=True)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(t.warmup_ratio * total_updates), total_updates)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)
    # Evaluated and saved models hold the averaged weights; the checkpoint keeps both.
    ema = EMA(accelerator.unwrap_model(model), t.ema_decay) if t.ema_decay else None
    if ema is not None:
        accelerator.register_for_checkpointing(ema)
    averaged = ema.swapped if ema is not None else nullcontext

    state = TrainState()
    # Runtime-only settings may change between an interrupted run and its resumption; anything
    # else would silently mix two experiments in one model.
    runtime_only = {"train.resume", "train.progress", "train.log_every", "train.num_threads"}

    def comparable(values: dict) -> dict[str, object]:
        return {k: v for k, v in _flatten(json.loads(json.dumps(values))) if k not in runtime_only}

    if not (ckpt / "trainer_state.json").is_file() and (out / "checkpoint.old" / "trainer_state.json").is_file():
        ckpt = out / "checkpoint.old"  # a crash came between retiring the old checkpoint and renaming the new one
    if t.resume and (ckpt / "trainer_state.json").is_file():
        # Read through today's schema: a key added since the checkpoint was written takes its default.
        saved = config_from_dict(yaml.safe_load((ckpt / "config.yaml").read_text(encoding="utf-8")))
        before, now = comparable(saved.to_dict()), comparable(config.to_dict())
        changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
        if changed:
            shown = "; ".join(f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in changed[:5])
            raise ConfigError(
                f"{out} holds a checkpoint of a run with a different config ({shown}"
                f"{'; ...' if len(changed) > 5 else ''}); resume it with the same settings, "
                f"or start afresh with --train.resume=false or another --output_dir"
            )
        accelerator.load_state(str(ckpt))
        state = TrainState(**json.loads((ckpt / "trainer_state.json").read_text()))
        if accelerator.is_main_process:
            log.info("resumed from %s at update %d (epoch %d, batch %d)", ckpt, state.step, state.epoch, state.batch_in_epoch)
    ckpt = out / "checkpoint"

    def save_checkpoint() -> None:
        """Write the checkpoint beside the old one, then swap: a crash never leaves a mixed one."""
        tmp, old = out / "checkpoint.tmp", out / "checkpoint.old"
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp), safe_serialization=True)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            (tmp / "trainer_state.json").write_text(json.dumps(state.__dict__, ensure_ascii=False))
            config.save(tmp / "config.yaml")
            shutil.rmtree(old, ignore_errors=True)
            if ckpt.exists():
                ckpt.rename(old)
            tmp.rename(ckpt)
            shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()

    def save(name: str, metrics: dict) -> None:
        if accelerator.is_main_process:
            save_model(accelerator.unwrap_model(model), setup.tokenizer, setup.meta, out / name, config.to_yaml(), metrics)

    def metrics_now(dev: dict | None) -> dict:
        return {
            "step": state.step,
            "epoch": state.epoch,
            "dev": dev,
            "best_dev_f1": state.best_f1 if state.best_f1 >= 0 else None,
            "best_step": state.best_step,
            "train_seconds": round(state.train_seconds, 2),
            "updates_per_second": round(state.step / state.train_seconds, 4) if state.train_seconds else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "encoding": {k: setup.report[k] for k in ("train", "dev")},
        }

    def evaluate_and_maybe_stop(loss: float) -> bool:
        """Evaluate on dev (main process), save model-best on improvement; True = stop early."""
        stop = [False]
        if setup.dev_docs:
            record = [None]
            if accelerator.is_main_process:
                with averaged():
                    scores = _evaluate(model, setup, accelerator)
                f1 = scores["micro"]["f1"]
                improved = f1 > state.best_f1
                if improved:
                    state.best_f1, state.best_step, state.bad_evals = f1, state.step, 0
                else:
                    state.bad_evals += 1
                entry = {"step": state.step, "epoch": state.epoch, "loss": round(loss, 5), "dev_f1": f1,
                         "dev_precision": scores["micro"]["precision"], "dev_recall": scores["micro"]["recall"],
                         "seconds": round(state.train_seconds, 1)}
                by_source = ""
                if "sources" in scores:  # data.sources: dev_f1 is the pooled figure over all dev blocks
                    entry["dev_f1_by_source"] = {k: v["micro"]["f1"] for k, v in scores["sources"].items()}
                    by_source = " [" + ", ".join(f"{k} {v:.4f}" for k, v in entry["dev_f1_by_source"].items()) + "]"
                state.history.append(entry)
                with (out / "train_log.jsonl").open("a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
                log.info("update %d epoch %d: loss %.4f dev P %.4f R %.4f F1 %.4f%s%s", state.step, state.epoch, loss,
                         scores["micro"]["precision"], scores["micro"]["recall"], f1, by_source,
                         " (best)" if improved else "")
                if improved:
                    with averaged():
                        save("model-best", metrics_now(scores))
                stop = [bool(t.patience) and state.bad_evals >= t.patience]
                record = [state.__dict__.copy()]
            broadcast_object_list(record)
            broadcast_object_list(stop)
            state.__dict__.update(record[0])
        save_checkpoint()
        return stop[0]

    if accelerator.is_main_process:
        log.info("%d windows, %d process(es) on %s, %d updates (%d per epoch), mixed precision %s",
                 len(features), world, accelerator.device, total_updates, updates_per_epoch, accelerator.mixed_precision)
    model.train()
    pbar = tqdm(total=total_updates, initial=state.step, desc="training", unit="update",
                disable=not (t.progress and accelerator.is_main_process))
    # Loss summed over micro-batches since the last log line or evaluation; kept as a tensor so
    # that a GPU is not forced to synchronise after every batch.
    running, running_n = torch.zeros((), device=accelerator.device), 0
    stopped = state.step >= total_updates
    options = setup.collate_options()
    attack = FGM(accelerator.unwrap_model(model).encoder.get_input_embeddings(), t.adv_epsilon) if t.adv_epsilon else None
    while not stopped and state.epoch < t.epochs:
        mine = rank_batches(lengths, t.batch_size, t.seed * 1000 + state.epoch, world, rank)
        n_micro = len(mine)
        tick = time.perf_counter()
        for bi in range(state.batch_in_epoch, n_micro):
            is_update = (bi + 1) % t.grad_accum == 0 or bi + 1 == n_micro
            chosen = [features[i] for i in mine[bi]]
            batch = {k: v.to(accelerator.device) for k, v in collate(chosen, setup.pad_id, **options).items()}
            sync = nullcontext() if is_update else accelerator.no_sync(model)
            with sync, accelerator.autocast():
                with attack.recording() if attack else nullcontext():
                    loss = model(**batch)
                accelerator.backward(loss / t.grad_accum)
                if attack and attack.prepare():
                    with attack.attacking():
                        accelerator.backward(model(**batch) / t.grad_accum)
            running += loss.detach().float()
            running_n += 1
            state.batch_in_epoch = bi + 1
            if not is_update:
                continue
            if t.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), t.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if ema is not None:
                ema.update()
            state.step += 1
            state.train_seconds += time.perf_counter() - tick
            pbar.update(1)
            at_end = state.step >= total_updates
            if state.batch_in_epoch == n_micro:  # the epoch is complete: the next one starts at batch 0
                state.epoch += 1
                state.batch_in_epoch = 0
            evaluate_now = at_end or (state.step % t.eval_every == 0 if t.eval_every else state.batch_in_epoch == 0)
            if state.step % t.log_every == 0 or evaluate_now:
                mean_loss = float(running) / max(running_n, 1)
                running, running_n = torch.zeros_like(running), 0
                pbar.set_postfix(loss=f"{mean_loss:.4f}")
                if accelerator.is_main_process and not evaluate_now:
                    log.info("update %d/%d loss %.4f lr %.2e", state.step, total_updates, mean_loss, scheduler.get_last_lr()[0])
            if evaluate_now:
                stopped = evaluate_and_maybe_stop(mean_loss) or at_end
            elif t.checkpoint_every and state.step % t.checkpoint_every == 0:
                save_checkpoint()
            if on_update is not None:
                on_update(state.step)
            tick = time.perf_counter()  # evaluation and checkpoints are not training time
            if stopped:
                break
    pbar.close()
    if attack:
        attack.remove()

    final = metrics_now(state.history[-1] if state.history else None)
    with averaged():
        save("model-last", final)
    if accelerator.is_main_process and not setup.dev_docs:
        shutil.copytree(out / "model-last", out / "model-best", dirs_exist_ok=True)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (out / "metrics.json").write_text(json.dumps(final | {"history": state.history}, ensure_ascii=False, indent=2))
        log.info("done: %d updates in %.1fs; best dev F1 %s at update %d", state.step, state.train_seconds,
                 f"{state.best_f1:.4f}" if state.best_f1 >= 0 else "n/a", state.best_step)
    best = state.best_f1 if state.best_f1 >= 0 else None
    return TrainResult(out, best, state.step, state.train_seconds, final, accelerator.is_main_process)
