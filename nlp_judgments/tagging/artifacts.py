"""Self-describing model folders: everything ``load`` needs, nothing it has to be told.

A saved folder is a regular ``save_pretrained`` folder that ``AutoModelForTokenClassification`` and
``AutoTokenizer`` load as they are (weights as safetensors, ``id2label`` in ``config.json``), plus:

- ``nlp_judgments.json``: labels, tag scheme, head, pre-tokenization, window size and stride;
- the head's own files (``heads/``): ``crf.safetensors`` for the CRF's transitions (a plain HF load
  then decodes by argmax); a span head has none: its "logits" are each token's query, key and
  biases (``id2label`` names them), which only ``Tagger`` turns into spans;
- ``config.yaml``: the resolved training config; ``metrics.json``: dev scores and training figures;
- ``README.md``: a model card in the hub's format, written from the files above (``card.py``);
- after ``nlp-judgments export --onnx`` (``export.py``): ``model.onnx``, maybe ``model.int8.onnx``, and
  ``export_report.json``; loaders other than the ONNX backends ignore them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from nlp_judgments.tagging.card import write_card
from nlp_judgments.tagging.encoding import tag_names
from nlp_judgments.tagging.heads import HEADS, Head
from nlp_judgments.tagging.model import TaggingModel
from nlp_judgments.tagging.options import MAX_LENGTH, STRIDE

META_FILE = "nlp_judgments.json"
FORMAT_VERSION = 1


class ModelFolderError(ValueError):
    pass


@dataclass
class ModelMeta:
    labels: list[str]
    scheme: str = "BIO"
    head: str = "softmax"  # a name in heads.HEADS
    pretokenize: str = "none"
    max_length: int = MAX_LENGTH
    stride: int = STRIDE
    span_dim: int = 0  # span head only: query/key size and longest span in tokens (Head.options)
    max_span: int = 0
    format_version: int = FORMAT_VERSION

    @property
    def tags(self) -> list[str]:
        return tag_names(self.labels, self.scheme)

    def head_options(self) -> dict:
        """The settings the head's constructor takes (those its ``options`` saves, non-zero)."""
        return {k: v for k, v in (("span_dim", self.span_dim), ("max_span", self.max_span)) if v}

    def build_head(self) -> Head:
        if self.head not in HEADS:
            raise ModelFolderError(f"unknown head {self.head!r} (this nlp_judgments knows {', '.join(HEADS)})")
        return HEADS[self.head](self.labels, self.scheme, **self.head_options())

    def output_names(self) -> list[str]:
        """What each value the encoder emits per token means (``id2label`` in ``config.json``)."""
        return self.build_head().output_names()


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
    model.head.save(folder)
    if config_yaml is not None:
        (folder / "config.yaml").write_text(config_yaml, encoding="utf-8")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    write_card(folder)  # last: it reads the files above
    return folder


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
    emissions elsewhere (an ONNX session) and need only the tokenizer, metadata and head.
    """

    folder = Path(folder)
    meta = load_meta(folder)
    encoder = AutoModelForTokenClassification.from_pretrained(str(folder), use_safetensors=True) if with_encoder else None
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    head = meta.build_head()
    head.load(folder)
    model = TaggingModel(encoder, head)
    return model.to(device).eval(), tokenizer, meta
