"""Tagging whole documents with a trained model: windows in, character spans out.

``Tagger.load(model_dir).tag(texts)`` returns, per text, entities with end-exclusive offsets into the
ORIGINAL text. Long texts are cut into windows of the model's ``max_length`` with its ``stride``;
windows of all texts are sorted by length and batched (little padding), run under
``torch.inference_mode``, and stitched back per document by ``encoding.merge_windows`` (each token
from the window where it sits most centrally) before decoding, so a CRF decodes each document as one
chain.

Backends: ``backend="torch"`` (also ``"auto"``, the default) runs the encoder in torch; ``"torch-bf16"``
the same under bfloat16 autocast (matrix products in bf16, results within bf16 rounding: on a CPU with
AVX512-BF16 or AMX, or a recent GPU, about twice the speed; elsewhere slower); ``"onnx"`` and
``"onnx-int8"`` run ``model.onnx`` / ``model.int8.onnx`` of an exported folder (``export.py``) in an
ONNX Runtime session on the CPU. Only the emissions differ: windows, batches, merging and decoding
(a CRF still decodes in torch, from ``crf.safetensors``) are shared.

Span head (``head: span``): the windows' per-token features (query, key, biases) are merged the
same way, then each document's spans are scored band by band and decoded (``model.SpanHead``):
entities may then nest (a victim's name inside a place), never cross.

Not here: structured records, corpus files, serving, ONNX export.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from nlp_judgments.spans import Span
from nlp_judgments.tagging.artifacts import ModelMeta, load_model
from nlp_judgments.tagging.encoding import (
    MERGE_POLICIES,
    TokenIndex,
    merge_windows,
    tags_to_spans,
    window_starts,
)
from nlp_judgments.tagging.hardware import warn_if_emulated_bf16
from nlp_judgments.tagging.model import TaggingModel
from nlp_judgments.tagging.onnx import onnx_file, open_session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    label: str
    text: str
    score: float  # mean probability of the predicted tag over the entity's tokens (span head: the span's)

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label, "text": self.text, "score": round(self.score, 4)}


BACKENDS = ("auto", "torch", "torch-bf16", "onnx", "onnx-int8")  # "auto" is torch


class Tagger:
    def __init__(
        self,
        model: TaggingModel,
        tokenizer,
        meta: ModelMeta,
        device: str | torch.device = "cpu",
        batch_size: int = 16,
        merge: str = "central",
        session=None,
        bf16: bool = False,
    ):
        if merge not in MERGE_POLICIES:
            raise ValueError(f"unknown merge policy {merge!r}; choose from {', '.join(MERGE_POLICIES)}")
        self.model = model.eval()
        # An onnxruntime.InferenceSession that computes the emissions instead of model.encoder (then unused).
        self.session = session
        self.bf16 = bf16  # the torch encoder under bfloat16 autocast
        self.merge = merge  # how windows that share tokens are stitched (encoding.merge_windows)
        # Seconds per phase (tokenize, batch, forward, merge, decode) and window/position counts, summed
        # over calls; clear it to measure one call. Costs a clock read per batch.
        self.timings: Counter = Counter()
        self.stride = meta.stride
        self.meta = meta
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.index = TokenIndex(tokenizer, meta.pretokenize)
        self.content_length = meta.max_length - 2
        self.tags = meta.tags
        self.width = len(meta.output_names())  # values per token the encoder emits

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        device: str | None = None,
        batch_size: int = 16,
        num_threads: int | None = None,
        merge: str = "central",
        backend: str = "auto",
    ) -> "Tagger":
        """``backend``: "auto" or "torch"; "torch-bf16" (bfloat16 autocast); "onnx" or "onnx-int8" for a folder written by
        ``nlp-judgments export --onnx`` (CPU only; ``num_threads`` also sets ONNX Runtime's intra-op threads)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
        if num_threads:
            torch.set_num_threads(num_threads)
        if backend in ("auto", "torch", "torch-bf16"):
            if device is None:  # under `accelerate launch` / torchrun, one GPU per local process
                device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"
            if backend == "torch-bf16" and torch.device(device).type == "cpu":
                warn_if_emulated_bf16(log, "backend torch-bf16", "backend torch, or onnx-int8 for speed")
            model, tokenizer, meta = load_model(model_dir, device)
            return cls(model, tokenizer, meta, device, batch_size, merge, bf16=backend == "torch-bf16")

        if device not in (None, "cpu"):
            raise ValueError(f"backend {backend} runs on the CPU only, not {device}; use --backend torch for a GPU")
        path = onnx_file(model_dir, int8=backend == "onnx-int8")  # checked before anything slow is loaded
        model, tokenizer, meta = load_model(model_dir, "cpu", with_encoder=False)
        return cls(model, tokenizer, meta, "cpu", batch_size, merge, session=open_session(path, num_threads))

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """Entities per text, sorted by start offset."""
        out = []
        for text, (spans, scores) in zip(texts, self._predict(texts)):
            out.append([Entity(s.start, s.end, s.label, text[s.start : s.end], sc) for s, sc in zip(spans, scores)])
        return out

    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return [spans for spans, _ in self._predict(texts)]

    def _predict(self, texts: Sequence[str]) -> list[tuple[list[Span], list[float]]]:
        lap = self._stopwatch()
        tokenized = self.index.tokenize(list(texts))
        lap("tokenize")
        starts_of = [window_starts(len(t), self.content_length, self.stride) if len(t) else [] for t in tokenized]
        windows = [(d, s, min(s + self.content_length, len(tokenized[d]))) for d, starts in enumerate(starts_of) for s in starts]
        scores: dict[tuple[int, int], np.ndarray] = {}
        order = sorted(range(len(windows)), key=lambda i: windows[i][2] - windows[i][1])
        for b in range(0, len(order), self.batch_size):
            batch = [windows[i] for i in order[b : b + self.batch_size]]
            width = max(e - s for _, s, e in batch) + 2
            ids = np.full((len(batch), width), self.index.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, (d, s, e) in enumerate(batch):
                piece = [self.index.cls_id] + tokenized[d].ids[s:e] + [self.index.sep_id]
                ids[row, : len(piece)] = piece
                mask[row, : len(piece)] = 1
            self.timings["padded_positions"] += ids.size
            self.timings["real_positions"] += int(mask.sum())
            lap("batch")
            logp = self._forward(ids, mask)
            lap("forward")
            for row, (d, s, e) in enumerate(batch):
                scores[(d, s)] = logp[row, 1 : 1 + e - s]
        self.timings["windows"] += len(windows)
        if self.model.span is not None:
            return self._span_predict(tokenized, starts_of, scores, lap)
        lives, live_offsets = [], []
        for d, toks in enumerate(tokenized):
            keep = np.array([not ig for ig in toks.ignored], dtype=bool)
            if len(toks):
                starts = starts_of[d]
                merged = merge_windows([scores[(d, s)] for s in starts], starts, len(toks), self.content_length, self.merge)
                lives.append(merged[keep])
            else:
                lives.append(np.zeros((0, len(self.tags)), dtype=np.float32))
            live_offsets.append([o for o, k in zip(toks.offsets, keep) if k])
        lap("merge")
        paths = self._best_paths(lives)
        out = [self._spans(live, offsets, ids) for live, offsets, ids in zip(lives, live_offsets, paths)]
        lap("decode")
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Log-probabilities of the tags ``[B, L, T]`` (float32) for int64 ``ids`` and ``mask`` ``[B, L]``;
        for the span head, the raw per-token features."""
        if self.session is not None:
            logits = torch.from_numpy(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        else:
            autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)
            with torch.inference_mode(), autocast:
                logits = self.model.emissions(torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device))
        logits = logits.float()
        out = logits if self.model.span is not None else torch.log_softmax(logits, -1)
        return out.cpu().numpy()  # .cpu() waits for the device

    def _span_predict(self, tokenized, starts_of, scores, lap) -> list[tuple[list[Span], list[float]]]:
        """Span head: merge each document's window features, then score and decode its spans."""
        merged = []
        for d, toks in enumerate(tokenized):
            if len(toks):
                starts = starts_of[d]
                merged.append(merge_windows([scores[(d, s)] for s in starts], starts, len(toks), self.content_length,
                                            self.merge))
            else:
                merged.append(np.zeros((0, self.width), dtype=np.float32))
        lap("merge")
        out = []
        labels = self.meta.labels
        for toks, feats in zip(tokenized, merged):
            valid = torch.tensor([not ig for ig in toks.ignored], dtype=torch.bool)
            found = self.model.span.decode(torch.from_numpy(feats), valid)
            out.append(([Span(toks.offsets[i][0], toks.offsets[j][1], labels[l]) for i, j, l, _ in found],
                        [p for *_, p in found]))
        lap("decode")
        return out

    def _stopwatch(self):
        """``lap(phase)`` adds the seconds since the previous lap to ``self.timings[phase]``."""
        last = [time.perf_counter()]

        def lap(phase: str) -> None:
            now = time.perf_counter()
            self.timings[phase] += now - last[0]
            last[0] = now

        return lap

    def _best_paths(self, lives: list[np.ndarray], budget: int = 1 << 18) -> list[list[int]]:
        """Tag ids per document: argmax, or Viterbi over each whole document, batched across documents
        of similar length (at most ``budget`` padded positions per call, so a huge one goes alone)."""
        if self.model.crf is None:
            return [live.argmax(-1).tolist() for live in lives]
        paths: list[list[int]] = [[] for _ in lives]
        order = sorted(range(len(lives)), key=lambda i: len(lives[i]))
        group: list[int] = []
        for n, i in enumerate(order):
            group.append(i)
            nxt = order[n + 1] if n + 1 < len(order) else None
            if nxt is None or (len(group) + 1) * max(1, len(lives[nxt])) > budget:
                length = max(1, len(lives[group[-1]]))
                emissions = torch.zeros((len(group), length, len(self.tags)))
                mask = torch.zeros((len(group), length), dtype=torch.bool)
                for row, j in enumerate(group):
                    emissions[row, : len(lives[j])] = torch.from_numpy(lives[j])
                    mask[row, : len(lives[j])] = True
                for j, path in zip(group, self.model.crf.decode(emissions.to(self.device), mask.to(self.device))):
                    paths[j] = path
                group = []
        return paths

    def _spans(self, live: np.ndarray, live_offsets, ids: list[int]) -> tuple[list[Span], list[float]]:
        tags = [self.tags[i] for i in ids]
        spans = tags_to_spans(tags, live_offsets)
        probs = np.exp(live[np.arange(len(ids)), ids]) if ids else np.zeros(0)
        starts = {o[0]: i for i, o in enumerate(live_offsets)}
        ends = {o[1]: i for i, o in enumerate(live_offsets)}
        span_scores = [float(probs[starts[s.start] : ends[s.end] + 1].mean()) for s in spans]
        return spans, span_scores
