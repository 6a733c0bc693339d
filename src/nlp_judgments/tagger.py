"""Tagging whole documents with a trained model: windows in, character spans out.

``Tagger.load(model_dir).tag(texts)`` returns, per text, entities with end-exclusive offsets into the
ORIGINAL text. Long texts are cut into windows of the model's ``max_length`` with its ``stride``;
windows of all texts are sorted by length and batched (little padding), run under
``torch.inference_mode``, and stitched back per document by ``encoding.merge_windows`` (each token
from the window where it sits most centrally) before decoding, so a CRF decodes each document as one
chain.

Not here: structured records, corpus files, serving.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .artifacts import ModelMeta, load_model
from .encoding import MERGE_POLICIES, TokenIndex, merge_windows, tags_to_spans, window_starts
from .model import TaggingModel
from .spans import Span


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    label: str
    text: str
    score: float  # mean probability of the predicted tag over the entity's tokens

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label, "text": self.text, "score": round(self.score, 4)}


class Tagger:
    def __init__(
        self,
        model: TaggingModel,
        tokenizer,
        meta: ModelMeta,
        device: str | torch.device = "cpu",
        batch_size: int = 16,
        merge: str = "central",
    ):
        if merge not in MERGE_POLICIES:
            raise ValueError(f"unknown merge policy {merge!r}; choose from {', '.join(MERGE_POLICIES)}")
        self.model = model.eval()
        self.merge = merge  # how windows that share tokens are stitched (encoding.merge_windows)
        self.stride = meta.stride
        self.meta = meta
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.index = TokenIndex(tokenizer, meta.pretokenize)
        self.content_length = meta.max_length - 2
        self.tags = meta.tags

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        device: str | None = None,
        batch_size: int = 16,
        num_threads: int | None = None,
        merge: str = "central",
    ) -> "Tagger":
        if num_threads:
            torch.set_num_threads(num_threads)
        if device is None:  # under `accelerate launch` / torchrun, one GPU per local process
            device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"
        model, tokenizer, meta = load_model(model_dir, device)
        return cls(model, tokenizer, meta, device, batch_size, merge)

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """Entities per text, sorted by start offset."""
        out = []
        for text, (spans, scores) in zip(texts, self._predict(texts)):
            out.append([Entity(s.start, s.end, s.label, text[s.start : s.end], sc) for s, sc in zip(spans, scores)])
        return out

    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return [spans for spans, _ in self._predict(texts)]

    def _predict(self, texts: Sequence[str]) -> list[tuple[list[Span], list[float]]]:
        tokenized = self.index.tokenize(list(texts))
        starts_of = [window_starts(len(t), self.content_length, self.stride) if len(t) else [] for t in tokenized]
        windows = [(d, s, min(s + self.content_length, len(tokenized[d]))) for d, starts in enumerate(starts_of) for s in starts]
        scores: dict[tuple[int, int], np.ndarray] = {}
        order = sorted(range(len(windows)), key=lambda i: windows[i][2] - windows[i][1])
        with torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                batch = [windows[i] for i in order[b : b + self.batch_size]]
                width = max(e - s for _, s, e in batch) + 2
                ids = torch.full((len(batch), width), self.index.pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, (d, s, e) in enumerate(batch):
                    piece = [self.index.cls_id] + tokenized[d].ids[s:e] + [self.index.sep_id]
                    ids[row, : len(piece)] = torch.tensor(piece)
                    mask[row, : len(piece)] = 1
                logits = self.model.emissions(ids.to(self.device), mask.to(self.device)).float()
                logp = torch.log_softmax(logits, -1).cpu().numpy()
                for row, (d, s, e) in enumerate(batch):
                    scores[(d, s)] = logp[row, 1 : 1 + e - s]
        results = []
        for d, toks in enumerate(tokenized):
            if len(toks) == 0:
                results.append(([], []))
                continue
            starts = starts_of[d]
            merged = merge_windows([scores[(d, s)] for s in starts], starts, len(toks), self.content_length, self.merge)
            results.append(self._decode(merged, toks.offsets, toks.ignored))
        return results

    def _decode(self, logp: np.ndarray, offsets, ignored) -> tuple[list[Span], list[float]]:
        keep = np.array([not ig for ig in ignored])
        live = logp[keep]
        live_offsets = [o for o, k in zip(offsets, keep) if k]
        if self.model.crf is None:
            ids = live.argmax(-1).tolist()
        else:
            emissions = torch.from_numpy(live).unsqueeze(0).to(self.device)
            ids = self.model.crf.decode(emissions, torch.ones(emissions.shape[:2], dtype=torch.bool, device=self.device))[0]
        tags = [self.tags[i] for i in ids]
        spans = tags_to_spans(tags, live_offsets)
        probs = np.exp(live[np.arange(len(ids)), ids]) if ids else np.zeros(0)
        starts = {o[0]: i for i, o in enumerate(live_offsets)}
        ends = {o[1]: i for i, o in enumerate(live_offsets)}
        span_scores = [float(probs[starts[s.start] : ends[s.end] + 1].mean()) for s in spans]
        return spans, span_scores
