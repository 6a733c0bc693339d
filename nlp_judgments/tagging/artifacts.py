"""Self-describing model folders: everything ``load`` needs, nothing it has to be told.

A saved folder is a regular ``save_pretrained`` folder that ``AutoModelForTokenClassification`` and
``AutoTokenizer`` load as they are (weights as safetensors, ``id2label`` in ``config.json``), plus:

- ``nlp_judgments.json``: labels, tag scheme, head, pre-tokenization, window size and stride;
- ``crf.safetensors``: CRF transition scores (CRF head only; a plain HF load then decodes by argmax);
  a span head (``head: span``) has no file of its own: its "logits" are each token's query, key and
  biases (``id2label`` names them), which only ``Tagger`` turns into spans;
- ``config.yaml``: the resolved training config; ``metrics.json``: dev scores and training figures;
- after ``nlp-judgments export --onnx`` (``export.py``): ``model.onnx``, maybe ``model.int8.onnx``, and
  ``export_report.json``; loaders other than the ONNX backends ignore them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForTokenClassification, AutoTokenizer

from nlp_judgments.tagging.encoding import tag_names
from nlp_judgments.tagging.model import SpanHead, TaggingModel

META_FILE = "nlp_judgments.json"
CRF_FILE = "crf.safetensors"
FORMAT_VERSION = 1


@dataclass
class ModelMeta:
    labels: list[str]
    scheme: str = "BIO"
    head: str = "softmax"
    pretokenize: str = "none"
    max_length: int = 256
    stride: int = 64
    span_dim: int = 0  # span head only: query/key size and longest span in tokens
    max_span: int = 0
    format_version: int = FORMAT_VERSION

    @property
    def tags(self) -> list[str]:
        return tag_names(self.labels, self.scheme)

    def output_names(self) -> list[str]:
        """What each value the encoder emits per token means: a tag, or for the span head a part of
        a query, key or bias (so that ``id2label`` in ``config.json`` tells the truth)."""
        if self.head != "span":
            return self.tags
        d = self.span_dim
        return ([f"span-q{i}" for i in range(d)] + [f"span-k{i}" for i in range(d)]
                + [f"span-start-{l}" for l in self.labels] + [f"span-end-{l}" for l in self.labels])

    def span_head(self) -> SpanHead | None:
        return SpanHead(len(self.labels), self.span_dim, self.max_span) if self.head == "span" else None

    def tagging_model(self, encoder, label_smoothing: float = 0.0) -> TaggingModel:
        return TaggingModel(encoder, self.tags, self.scheme, self.head, label_smoothing, self.span_head())


def save_model(
    model: TaggingModel,
    tokenizer: Any,
    meta: ModelMeta,
    folder: str | Path,
    config_yaml: str | None = None,
    metrics: dict | None = None,
) -> Path:
    """Write a complete model folder (overwriting files of the same names)."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(folder), safe_serialization=True)
    tokenizer.save_pretrained(str(folder))
    (folder / META_FILE).write_text(json.dumps(asdict(meta), ensure_ascii=False, indent=2), encoding="utf-8")
    if model.crf is not None:
        state = {k: v.detach().cpu().contiguous() for k, v in model.crf.state_dict().items()}
        save_file(state, str(folder / CRF_FILE))
    if config_yaml is not None:
        (folder / "config.yaml").write_text(config_yaml, encoding="utf-8")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder


class ModelFolderError(ValueError):
    pass


def load_meta(folder: str | Path) -> ModelMeta:
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise ModelFolderError(f"{folder} is not an nlp_judgments model folder (no {META_FILE}); train one first")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFolderError(f"{folder} was written by a newer nlp_judgments (format {data['format_version']})")
    return ModelMeta(**data)


def load_model(
    folder: str | Path, device: str | torch.device = "cpu", with_encoder: bool = True
) -> tuple[TaggingModel, Any, ModelMeta]:
    """Load ``(model, tokenizer, meta)`` from a folder written by :func:`save_model`, in eval mode.

    ``with_encoder=False`` skips the encoder weights (``model.encoder`` is None): for callers that compute
    emissions elsewhere (an ONNX session) and need only the tokenizer, metadata and CRF.
    """

    folder = Path(folder)
    meta = load_meta(folder)
    encoder = AutoModelForTokenClassification.from_pretrained(str(folder), use_safetensors=True) if with_encoder else None
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = meta.tagging_model(encoder)
    if model.crf is not None:
        model.crf.load_state_dict(load_file(str(folder / CRF_FILE)))
    return model.to(device).eval(), tokenizer, meta
