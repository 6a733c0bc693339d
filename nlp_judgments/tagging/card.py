"""Model cards: a ``README.md`` in the Hugging Face hub's format, written from the folder's own files.

``write_card(folder)`` reads ``nlp_judgments.json`` (labels, head, windows), ``config.yaml`` (encoder,
training data and settings), ``metrics.json`` (dev scores per label, training figures) and, after an
export, ``export_report.json``, and writes ``README.md``: a YAML metadata block the hub reads
(language, license, library, pipeline tag, base model, tags, datasets, a ``model-index`` with the dev
micro-F1) and sections on labels, scores, data, use and limits. Every figure in the card is read
from those files at the time it is written; nothing is fetched from the network.

Not here: writing the model itself (``artifacts.save_model`` calls this last).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from nlp_judgments.legal.schema import LABEL_INFO

CARD_FILE = "README.md"
# Built-in encoders: the checkpoint they reproduce and its licence.
BASE_MODELS = {"builtin:e5-small": ("intfloat/multilingual-e5-small", "mit"),
               "builtin:multilingual-e5-small": ("intfloat/multilingual-e5-small", "mit"),
               "builtin:tiny": (None, None)}
PIPELINE_HEADS = {"softmax"}  # heads whose argmax over id2label is the model's own decoding


def _read(folder: Path, name: str, loader):
    path = folder / name
    return loader(path.read_text(encoding="utf-8")) if path.is_file() else None


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.4f}"


def card_text(folder: str | Path) -> str:
    """The card of a model folder, from its files (see the module docstring)."""
    folder = Path(folder)
    meta = _read(folder, "nlp_judgments.json", json.loads) or {}
    config = _read(folder, "config.yaml", yaml.safe_load) or {}
    metrics = _read(folder, "metrics.json", json.loads) or {}
    export = _read(folder, "export_report.json", json.loads)
    labels = meta.get("labels", [])
    head = meta.get("head", "softmax")
    encoder = (config.get("model") or {}).get("name_or_path", "unknown")
    base, license_ = BASE_MODELS.get(encoder, (encoder if not Path(encoder).exists() else None, None))
    data = config.get("data") or {}
    files = [s.get("file") for s in data.get("sources") or []] or [f for f in (data.get("train_file"),) if f]
    dev = metrics.get("dev") or {}
    micro = dev.get("micro") or {}
    per_type = dev.get("per_type") or {}

    front = {"language": ["zh"], "license": license_ or "other", "library_name": "transformers",
             "pipeline_tag": "token-classification",
             "tags": ["token-classification", "ner", "legal", "chinese", "nlp_judgments", f"head-{head}"]}
    if base:
        front["base_model"] = base
    if micro.get("f1") is not None:
        front["model-index"] = [{"name": folder.name, "results": [{
            "task": {"type": "token-classification", "name": "Named entity recognition"},
            "dataset": {"type": "custom", "name": "dev split of the training data (see below)"},
            "metrics": [{"type": "f1", "name": "exact-span micro-F1", "value": micro["f1"]},
                        {"type": "precision", "value": micro.get("precision")},
                        {"type": "recall", "value": micro.get("recall")}]}]}]
    lines = ["---", yaml.safe_dump(front, allow_unicode=True, sort_keys=False).rstrip(), "---", "",
             f"# {folder.name}: entity tagger for Chinese criminal judgments", "",
             f"A `{head}` head on `{encoder}`, trained with nlp_judgments "
             f"to tag {len(labels)} entity types in 裁判文书, with exact character offsets into the original text. "
             f"Windows of {meta.get('max_length')} tokens sharing {meta.get('stride')}; "
             f"pre-tokenization `{meta.get('pretokenize')}`.", "",
             "## Labels", "", "| label | 中文 | dev P | dev R | dev F1 | dev spans |", "|---|---|---|---|---|---|"]
    for label in labels:
        info = LABEL_INFO.get(label)
        s = per_type.get(label, {})
        lines.append(f"| {label} | {info.chinese if info else ''} | {_fmt(s.get('precision'))} | {_fmt(s.get('recall'))} "
                     f"| {_fmt(s.get('f1'))} | {s.get('support', '–')} |")
    if micro:
        lines += ["", f"Exact-span micro-F1 on the dev split: **{_fmt(micro.get('f1'))}** (P {_fmt(micro.get('precision'))}, "
                  f"R {_fmt(micro.get('recall'))}, {micro.get('support')} gold spans), at update {metrics.get('step')} "
                  f"(epoch {metrics.get('epoch')}); best dev F1 {_fmt(metrics.get('best_dev_f1'))} at update "
                  f"{metrics.get('best_step')}."]
    else:
        lines += ["", "No dev split was scored for this folder."]
    if export:
        int8 = export.get("int8") or {}
        diffs = export.get("max_abs_logit_diff") or {}
        deltas = (export.get("dev") or {}).get("delta_points") or {}
        lines += ["", f"ONNX export: `model.onnx`, max logit difference to torch {diffs.get('onnx')}; "
                  f"int8 model: {int8.get('decision', 'not made')}"
                  + (f" ({deltas['onnx-int8']:+.2f} F1 points against torch on `{export['dev']['file']}`)"
                     if "onnx-int8" in deltas else "") + "."]
    lines += ["", "## Training", "",
              f"- Data: {', '.join(f'`{f}`' for f in files) or 'see config.yaml'}"
              + (f" ({len(data.get('sources'))} sources with partial annotation)" if data.get("sources") else ""),
              f"- Updates: {metrics.get('step')}, {metrics.get('train_seconds')} s of training, "
              f"{metrics.get('updates_per_second')} updates/s, peak memory {metrics.get('peak_rss_mb')} MB",
              "- Settings: `config.yaml` in this folder (`nlp-judgments train --config config.yaml` reproduces it)",
              "", "## Use", "", "```python", "from nlp_judgments import Tagger", "",
              f'tagger = Tagger.load("{folder.name}")',
              "for e in tagger.tag([text])[0]:", "    print(e.start, e.end, e.label, e.text, e.score)", "```", ""]
    if head in PIPELINE_HEADS and meta.get("pretokenize") == "none":
        lines += ["The folder is an ordinary token-classification checkpoint, so `transformers.pipeline("
                  '"token-classification", model=FOLDER, aggregation_strategy="simple")` also loads it '
                  "(it decodes window by window, without the whole-document merging `Tagger` does).", ""]
    else:
        lines += [f"Only `Tagger` decodes this model correctly: the {head} head"
                  + (" and its character pre-tokenization" if meta.get("pretokenize") != "none" else "")
                  + " are not what `transformers.pipeline` assumes, although the folder loads with "
                  "`AutoModelForTokenClassification`.", ""]
    lines += ["## Intended use and limits", "",
              "- Made for Chinese criminal judgments and texts about them; other legal documents or genres "
              "will score lower, and nothing here was measured on them unless stated.",
              "- Dev scores come from the training data's own dev split, not from an independent test set.",
              "- A tagger makes mistakes: records or statistics built from its spans need the evidence spans "
              "checked where they matter. Do not use it to make decisions about people.", ""]
    return "\n".join(lines)


def write_card(folder: str | Path) -> Path:
    path = Path(folder) / CARD_FILE
    path.write_text(card_text(folder), encoding="utf-8")
    return path
