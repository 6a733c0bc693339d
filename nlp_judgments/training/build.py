"""Everything a training run builds before its first update: model, tokenizer, windows, dev sets.

``setup(config, is_main)`` reads the data (one file or ``data.sources``), builds the tokenizer and a
fresh ``TaggingModel`` with the configured head, encodes the training windows and writes
``encoding_report.json``. ``param_groups`` gives the optimizer its learning rates.

Not here: reading data files (``training.data``), the loop (``training.loop``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from nlp_judgments.spans import DataError, Document
from nlp_judgments.tagging.artifacts import ModelMeta
from nlp_judgments.tagging.encoders.builtin import resolve_encoder
from nlp_judgments.tagging.encoding import (
    AlignmentReport,
    TokenIndex,
    allowed_tag_matrix,
)
from nlp_judgments.tagging.evaluate import DevSet
from nlp_judgments.tagging.heads import HEADS, Head
from nlp_judgments.tagging.model import TaggingModel
from nlp_judgments.tagging.windows import Encoder
from nlp_judgments.training.config import Config
from nlp_judgments.training.data import (
    SourceTables,
    read_sources,
    source_dev_set,
    split_data,
)

log = logging.getLogger("nlp_judgments.train")


def model_meta(config: Config, labels: list[str]) -> ModelMeta:
    """What a saved folder of this config states about its model (``nlp_judgments.json``)."""
    d, m = config.data, config.model
    return ModelMeta(labels, d.scheme, m.head, d.pretokenize, d.max_length, d.stride, **HEADS[m.head].options(m))


def make_encoder(config: Config, index: TokenIndex, head: Head) -> Encoder:
    """Training windows as the head needs them (a head with ``max_span`` trains on gold spans)."""
    d = config.data
    return Encoder(index, head.labels, d.scheme, d.max_length, d.stride, d.overlap_policy,
                   spans=head.max_span > 0, max_span=head.max_span)


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
    return tokenizer, TaggingModel(encoder, meta.build_head())


def param_groups(model: TaggingModel, lr: float, head_lr: float, weight_decay: float) -> list[dict]:
    """Encoder weights at ``lr`` (no decay on biases and norms); the new output layer and the
    head's own parameters (a CRF's transitions) at ``head_lr``, without decay."""
    head = {id(p) for p in model.head.parameters()} | {
        id(p) for name, p in model.encoder.named_parameters() if name.startswith("classifier.")}
    groups: dict[str, list] = {"decay": [], "head": [], "no_decay": []}
    for p in model.parameters():
        if p.requires_grad:
            groups["head" if id(p) in head else "no_decay" if p.ndim < 2 else "decay"].append(p)
    rates = {"decay": (lr, weight_decay), "head": (head_lr, 0.0), "no_decay": (lr, 0.0)}
    return [{"params": ps, "lr": rates[k][0], "weight_decay": rates[k][1]} for k, ps in groups.items() if ps]


@dataclass
class Setup:
    tokenizer: object
    model: TaggingModel
    meta: ModelMeta
    train_features: list[dict]
    dev_docs: list[Document]
    pad_id: int
    report: dict
    # With data.sources: each source's dev block, and the per-source tables collate looks up.
    dev_sets: list[DevSet] | None = None
    tables: SourceTables | None = None


def setup(config: Config, is_main: bool = True) -> Setup:
    if config.data.sources is not None:
        return _setup_sources(config, is_main)
    d = config.data
    train_docs, dev_docs, read_stats = split_data(config)
    # Without a configured label set, the labels seen in the data (dev too: a dev-only label must
    # still be scorable, and predicting it never is the honest result).
    labels = d.labels or sorted({s.label for doc in train_docs + dev_docs for s in doc.spans})
    if not labels:
        raise DataError("the training data has no entity spans", d.train_file)
    tokenizer, model = build_model(config, labels)
    index = TokenIndex(tokenizer, d.pretokenize)
    encoder = make_encoder(config, index, model.head)
    train_report = AlignmentReport()
    features = encoder.encode(train_docs, train_report)
    dev_report = AlignmentReport()
    encoder.encode(dev_docs, dev_report)  # only for the report: dev is scored on whole documents
    report = {"read": read_stats, "train": train_report.to_dict(), "dev": dev_report.to_dict(), "labels": labels}
    if is_main:
        _log_and_save_report(config, report, train_report, dev_report, bool(dev_docs))
    meta = model_meta(config, labels)
    return Setup(tokenizer, model, meta, features, dev_docs, index.pad_id, report)


def _log_and_save_report(config: Config, report: dict, train_report: AlignmentReport, dev_report: AlignmentReport,
                has_dev: bool) -> None:
    log.info("train encoding: %s", train_report.summary())
    if has_dev:
        log.info("dev encoding: %s", dev_report.summary())
    for kind, examples in train_report.examples.items():
        log.info("  %s e.g. %s", kind, " | ".join(examples[:3]))
    out = Path(config.output_dir)
    (out / "encoding_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


def _setup_sources(config: Config, is_main: bool) -> Setup:
    """``setup`` for ``data.sources``: windows tagged with their source, allowed tag sets, dev blocks."""
    d = config.data
    labels = list(d.labels)
    sources = read_sources(config)
    tokenizer, model = build_model(config, labels)
    index = TokenIndex(tokenizer, d.pretokenize)
    encoder = make_encoder(config, index, model.head)
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
        if is_main:
            log.info("source %s: %d train, %d dev documents; annotates %s; %s", s.name, len(src.train_docs),
                     len(src.dev_docs), ", ".join(annotated) or "nothing", train_report.summary())
    unchecked = [l for l in labels if not any(l in src.config.annotated(labels) for src in sources)]
    if unchecked and is_main:
        log.warning("no source annotates %s completely: nothing teaches the model where they are absent",
                    ", ".join(unchecked))
    report = {"read": {k: v["read"] for k, v in per_source.items()}, "train": train_total.to_dict(),
              "dev": dev_total.to_dict(), "labels": labels, "sources": per_source}
    dev_docs = [doc for src in sources for doc in src.dev_docs]
    if is_main:
        _log_and_save_report(config, report, train_total, dev_total, bool(dev_docs))
    meta = model_meta(config, labels)
    allowed = torch.from_numpy(np.stack(matrices))
    weights = torch.tensor([src.config.weight for src in sources], dtype=torch.float32)
    label_masks = torch.tensor([[label in src.config.annotated(labels) for label in labels] for src in sources])
    return Setup(tokenizer, model, meta, features, dev_docs, index.pad_id, report, dev_sets,
                 SourceTables(allowed, label_masks, weights))
