"""The interface every head implements, and what the two tag-sequence heads share.

A head sits on the encoder's per-token outputs (the ``logits`` of an ``AutoModelForTokenClassification``,
so that a saved folder stays an ordinary checkpoint). It says:

- ``output_names()``: what each value the encoder emits per token means (``id2label``);
- ``window_outputs(logits)``: what each window passes on to be merged across windows;
- ``batch_targets(features, width)``: training targets it needs beyond the tag ids;
- ``loss(logits, labels, **targets)``: the training loss of a batch;
- ``decode(merged, tokenized)``: spans and scores per document from the merged outputs;
- ``save(folder)`` / ``load(folder)``: files of its own in a model folder (``files``).

ONNX export is the same for every head: it exports the encoder's per-token outputs, and the head
decodes them outside the graph.

Not here: the heads themselves (``softmax.py``, ``crf.py``, ``span.py``), the registry (``__init__``).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from nlp_judgments.spans import Span
from nlp_judgments.tagging.encoding import TokenizedText, tag_names, tags_to_spans

Decoded = tuple[list[Span], list[float]]  # a document's spans and one score per span
NEG = -1e4  # score of an impossible transition or span: large enough to never win, small enough for fp16


class Head(nn.Module):
    name: ClassVar[str]
    files: ClassVar[tuple[str, ...]] = ()  # files of its own in a saved folder
    max_span: int = 0  # > 0: training windows carry their gold spans up to this many tokens

    def __init__(self, labels: Sequence[str], scheme: str):
        super().__init__()
        self.labels = list(labels)
        self.scheme = scheme
        self.tags = tag_names(self.labels, scheme)

    @classmethod
    def options(cls, model_config) -> dict:
        """The head's settings from a ``ModelConfig`` as saved in ``nlp_judgments.json``."""
        return {}

    def output_names(self) -> list[str]:
        return self.tags

    def window_outputs(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(logits.float(), -1)

    def batch_targets(self, features: list[dict], width: int) -> dict[str, torch.Tensor]:
        return {}

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, **targets) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, merged: list[np.ndarray], tokenized: list[TokenizedText]) -> list[Decoded]:
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        pass

    def load(self, folder: Path) -> None:
        pass


class TagHead(Head):
    """A head that gives each token one tag of ``tags`` (BIO/BIOES): the windows' log-probabilities
    are merged, a tag path is chosen per document, and a span's score is the mean probability of its
    tokens' tags."""

    def paths(self, lives: list[np.ndarray]) -> list[list[int]]:
        """Tag ids for each document's kept tokens ``[n, T]``."""
        raise NotImplementedError

    def decode(self, merged: list[np.ndarray], tokenized: list[TokenizedText]) -> list[Decoded]:
        lives, live_offsets = [], []
        for scores, toks in zip(merged, tokenized):
            keep = np.array([not ig for ig in toks.ignored], dtype=bool)
            lives.append(scores[keep] if len(toks) else np.zeros((0, len(self.tags)), dtype=np.float32))
            live_offsets.append([o for o, k in zip(toks.offsets, keep) if k])
        return [self._spans(live, offsets, ids) for live, offsets, ids in zip(lives, live_offsets, self.paths(lives))]

    def _spans(self, live: np.ndarray, live_offsets, ids: list[int]) -> Decoded:
        spans = tags_to_spans([self.tags[i] for i in ids], live_offsets)
        probs = np.exp(live[np.arange(len(ids)), ids]) if ids else np.zeros(0)
        starts = {o[0]: i for i, o in enumerate(live_offsets)}
        ends = {o[1]: i for i, o in enumerate(live_offsets)}
        return spans, [float(probs[starts[s.start] : ends[s.end] + 1].mean()) for s in spans]


def pack(values: torch.Tensor, keep: torch.Tensor, fill: float | int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the kept positions of each row to the left: ``[B, L, ...] -> [B, L', ...]`` plus a mask."""
    B = values.shape[0]
    counts = keep.sum(1)
    width = max(int(counts.max()) if B else 0, 1)
    out = values.new_full((B, width) + tuple(values.shape[2:]), fill)
    mask = torch.arange(width, device=values.device).unsqueeze(0) < counts.unsqueeze(1)
    out[mask] = values[keep]
    return out, mask
