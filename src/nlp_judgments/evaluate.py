"""Evaluation of a saved model on a labelled file: exact character spans on whole documents.

``evaluate(model_dir, data, fmt)`` tags each document in full (windows merged as in production), and
scores predictions against every gold span (``metrics.span_scores``). When no document has
overlapping gold spans, seqeval's strict IOB2 micro-F1 over character tags is computed too and must
agree with ours: a built-in check that our span metric is the standard one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

from .metrics import seqeval_micro_f1, span_scores
from .spans import Document


def evaluate_documents(tagger, docs: Sequence[Document]) -> dict:
    """Tag ``docs`` with ``tagger`` and score the predictions against their gold spans."""
    texts = [d.text for d in docs]
    start = time.perf_counter()
    pred = tagger.predict_spans(texts)
    seconds = time.perf_counter() - start
    gold = [d.spans for d in docs]
    scores = span_scores(gold, pred, texts, [d.id for d in docs])
    scores["seqeval_strict_micro_f1"] = seqeval_micro_f1(texts, gold, pred)
    scores["documents"] = len(docs)
    scores["tagging_chars_per_second"] = round(sum(map(len, texts)) / seconds, 1) if seconds else None
    return scores


def evaluate(
    model_dir: str | Path,
    data: str | Path,
    fmt: str = "auto",
    label_map: str | dict | None = "model",
    output: str | Path | None = None,
    batch_size: int = 32,
) -> dict:
    """Score a model folder on a data file. ``label_map="model"`` reuses the map the model was
    trained with (from its ``config.yaml``), so native CAIL files evaluate as they trained."""
    import yaml

    from .tagger import Tagger
    from .train import load_documents

    tagger = Tagger.load(model_dir, batch_size=batch_size)
    if label_map == "model":
        cfg_path = Path(model_dir) / "config.yaml"
        label_map = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))["data"]["label_map"] if cfg_path.is_file() else None
    docs, read_stats = load_documents(str(data), fmt, label_map)
    known = set(tagger.meta.labels)
    scores = evaluate_documents(tagger, docs)
    scores["labels_not_in_model"] = sorted({s.label for d in docs for s in d.spans} - known)
    scores["read"] = read_stats
    if output is not None:
        Path(output).write_text(json.dumps(scores, ensure_ascii=False, indent=2), encoding="utf-8")
    return scores
