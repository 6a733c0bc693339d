"""Evaluation of a saved model on a labelled file: exact character spans on whole documents.

``evaluate(model_dir, data, fmt)`` tags each document in full (windows merged as in production), and
scores predictions against every gold span (``metrics.span_scores``). When no document has
overlapping gold spans, seqeval's strict IOB2 micro-F1 over character tags is computed too and must
agree with ours: a built-in check that our span metric is the standard one.

``evaluate_sources`` scores the dev blocks of several training sources (``data.sources``) in one
tagging pass: each block only over the labels its source annotates, plus an overall micro figure
over all blocks (counts pooled), which is what model selection uses.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from nlp_judgments.data.columns import Columns
from nlp_judgments.data.documents import load_documents
from nlp_judgments.spans import Document, Span
from nlp_judgments.tagging.metrics import (
    pooled_micro,
    restrict_spans,
    seqeval_micro_f1,
    span_scores,
)
from nlp_judgments.tagging.tagger import Tagger


def score_documents(docs: Sequence[Document], pred: Sequence[Sequence[Span]]) -> dict:
    """Score predicted spans against the documents' gold spans (``span_scores`` plus seqeval)."""
    texts = [d.text for d in docs]
    gold = [d.spans for d in docs]
    scores = span_scores(gold, pred, texts, [d.id for d in docs])
    scores["seqeval_strict_micro_f1"] = seqeval_micro_f1(texts, gold, pred)
    scores["documents"] = len(docs)
    return scores


def evaluate_documents(tagger, docs: Sequence[Document]) -> dict:
    """Tag ``docs`` with ``tagger`` and score the predictions against their gold spans."""
    texts = [d.text for d in docs]
    start = time.perf_counter()
    pred = tagger.predict_spans(texts)
    seconds = time.perf_counter() - start
    scores = score_documents(docs, pred)
    scores["tagging_chars_per_second"] = round(sum(map(len, texts)) / seconds, 1) if seconds else None
    return scores


@dataclass
class DevSet:
    """The dev block of one training source and what it can be scored on."""

    name: str
    docs: list[Document]
    labels: list[str]  # the labels the source annotates completely: only these are scored
    collapse: dict[str, str] = field(default_factory=dict)  # predicted label -> the source's label for it


def evaluate_sources(tagger, dev_sets: Sequence[DevSet]) -> dict:
    """Tag every dev block in one pass; score each over its source's labels; pool them.

    Returns ``{"micro": pooled, "sources": {name: scores}, "documents", "tagging_chars_per_second"}``.
    The pooled micro figure adds the counts of all blocks, so a source weighs by its number of spans.
    """
    docs = [d for s in dev_sets for d in s.docs]
    texts = [d.text for d in docs]
    start = time.perf_counter()
    pred = tagger.predict_spans(texts)
    seconds = time.perf_counter() - start
    by_source, i = {}, 0
    for s in dev_sets:
        mine, i = pred[i : i + len(s.docs)], i + len(s.docs)
        scored = [Document(d.id, d.text, restrict_spans(d.spans, s.labels, s.collapse)) for d in s.docs]
        by_source[s.name] = score_documents(scored, [restrict_spans(p, s.labels, s.collapse) for p in mine])
        by_source[s.name]["labels"] = list(s.labels)
    return {
        "micro": pooled_micro(by_source.values()),
        "sources": by_source,
        "documents": len(docs),
        "tagging_chars_per_second": round(sum(map(len, texts)) / seconds, 1) if seconds else None,
    }


def _trained_data_settings(model_dir: str | Path, data: str | Path) -> dict:
    """The ``data`` section of the model's ``config.yaml`` ({} without one); for a model trained on
    several sources, the settings of the source read from this very file."""
    cfg_path = Path(model_dir) / "config.yaml"
    data_cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))["data"] if cfg_path.is_file() else {}
    for source in data_cfg.get("sources") or []:
        if Path(source["file"]).resolve() == Path(data).resolve():
            return source
    return data_cfg


def model_label_map(model_dir: str | Path, data: str | Path) -> str | dict | None:
    """The label map the model was trained with for ``data`` (from its ``config.yaml``; None without one)."""
    return _trained_data_settings(model_dir, data).get("label_map")


def model_columns(model_dir: str | Path, data: str | Path, changes: Mapping[str, Any] | None = None) -> Columns:
    """The ``datasets`` columns the model was trained with for ``data`` (the defaults for a model
    trained before there were columns), with ``changes`` applied."""
    trained = _trained_data_settings(model_dir, data).get("columns") or {}
    return Columns.resolve({**trained, **(changes or {})})


def evaluate(
    model_dir: str | Path,
    data: str | Path,
    fmt: str = "auto",
    label_map: str | dict | None = "model",
    output: str | Path | None = None,
    batch_size: int = 32,
    columns: Mapping[str, Any] | None = None,
    split: str | None = None,
) -> dict:
    """Score a model folder on a data file. ``label_map="model"`` reuses the map the model was
    trained with (from its ``config.yaml``), so native CAIL files evaluate as they trained; so are
    a ``datasets`` table's columns read, with ``columns`` (e.g. ``{"tags": "labels"}``) changing
    some. ``split`` is the split of a DatasetDict to score on."""

    tagger = Tagger.load(model_dir, batch_size=batch_size)
    if label_map == "model":
        label_map = model_label_map(model_dir, data)
    cols = model_columns(model_dir, data, columns)
    docs, read_stats = load_documents(str(data), fmt, label_map, columns=cols, split=split)
    known = set(tagger.meta.labels)
    scores = evaluate_documents(tagger, docs)
    scores["labels_not_in_model"] = sorted({s.label for d in docs for s in d.spans} - known)
    scores["read"] = read_stats
    if output is not None:
        Path(output).write_text(json.dumps(scores, ensure_ascii=False, indent=2), encoding="utf-8")
    return scores
