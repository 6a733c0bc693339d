"""Tagging whole documents with a trained model: windows in, character spans out.

``Tagger.load(model_dir).tag(texts)`` returns, per text, entities with end-exclusive offsets into the
ORIGINAL text. Long texts are cut into windows of the model's ``max_length`` with its ``stride``;
windows of all texts are sorted by length and batched (little padding), run under
``torch.inference_mode``, and stitched back per document by ``windows.merge_windows`` (each token
from the window where it sits most centrally) before decoding, so a CRF decodes each document as one
chain.

Backends: ``backend="torch"`` (also ``"auto"``, the default) runs the encoder in torch; ``"torch-bf16"``
the same under bfloat16 autocast (matrix products in bf16, results within bf16 rounding: on a CPU with
AVX512-BF16 or AMX, or a recent GPU, about twice the speed; elsewhere slower); ``"onnx"`` and
``"onnx-int8"`` run ``model.onnx`` / ``model.int8.onnx`` of an exported folder (``tools.export``) in an
ONNX Runtime session on the CPU (``onnx.py``). Only the encoder's outputs differ: windows, batches,
merging and decoding are shared.

Decoding is the head's (``heads/``): each window passes on ``head.window_outputs`` (log-probabilities
of tags, or a span head's per-token features), merged per token, and ``head.decode`` turns a
document's merged outputs into spans (argmax, Viterbi over the whole document, or span scores
band by band, where entities may nest but never cross).

With ``rules=True`` the model is one tagger with the rule pre-labeller: the rules' spans (precision
first, ``legal.prelabel``) are kept and the model's spans fill everything they do not overlap
(``legal.records.combine_spans``); each entity says its ``source``.

Not here: structured records, corpus files, serving, ONNX export.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.legal.records import (
    build_record,
    combine_spans,
    record_from_model_and_rules,
)
from nlp_judgments.legal.schema import LABELS
from nlp_judgments.spans import Entity, Span
from nlp_judgments.tagging.artifacts import ModelMeta, load_model
from nlp_judgments.tagging.encoding import TokenIndex
from nlp_judgments.tagging.hardware import warn_if_emulated_bf16
from nlp_judgments.tagging.model import TaggingModel
from nlp_judgments.tagging.onnx import onnx_file, open_session
from nlp_judgments.tagging.options import BACKENDS
from nlp_judgments.tagging.windows import merge_windows, window_starts

log = logging.getLogger(__name__)


class Tagger:
    def __init__(
        self,
        model: TaggingModel,
        tokenizer,
        meta: ModelMeta,
        device: str | torch.device = "cpu",
        batch_size: int = 16,
        session=None,
        bf16: bool = False,
        rules: bool = False,
    ):
        self.model = model.eval()
        # Combine with the rule pre-labeller (legal.prelabel): its spans are kept, the model's fill the
        # rest (legal.records.combine_spans). Only for models of the judgment schema.
        if rules and not set(meta.labels) & set(LABELS):
            raise ValueError(f"rules=True combines the model with the rule pre-labeller, which tags the judgment "
                             f"schema ({', '.join(LABELS)}); this model predicts {', '.join(meta.labels)}")
        self.rules = rules
        self.head = model.head
        # An onnxruntime.InferenceSession that computes the emissions instead of model.encoder (then unused).
        self.session = session
        self.bf16 = bf16  # the torch encoder under bfloat16 autocast
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
        backend: str = "auto",
        rules: bool = False,
    ) -> "Tagger":
        """``backend``: "auto" or "torch"; "torch-bf16" (bfloat16 autocast); "onnx" or "onnx-int8" for a folder written by
        ``nlp-judgments export --onnx`` (CPU only; ``num_threads`` also sets ONNX Runtime's intra-op threads)."""
        if backend not in BACKENDS:  # options.BACKENDS: the CLI offers the same list
            raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
        if num_threads:
            torch.set_num_threads(num_threads)
        if backend in ("auto", "torch", "torch-bf16"):
            if device is None:  # under `accelerate launch` / torchrun, one GPU per local process
                device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"
            if backend == "torch-bf16" and torch.device(device).type == "cpu":
                warn_if_emulated_bf16(log, "backend torch-bf16", "backend torch, or onnx-int8 for speed")
            model, tokenizer, meta = load_model(model_dir, device)
            return cls(model, tokenizer, meta, device, batch_size, bf16=backend == "torch-bf16", rules=rules)

        if device not in (None, "cpu"):
            raise ValueError(f"backend {backend} runs on the CPU only, not {device}; use --backend torch for a GPU")
        path = onnx_file(model_dir, int8=backend == "onnx-int8")  # checked before anything slow is loaded
        model, tokenizer, meta = load_model(model_dir, "cpu", with_encoder=False)
        return cls(model, tokenizer, meta, "cpu", batch_size, session=open_session(path, num_threads), rules=rules)

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """Entities per text, sorted by start offset (with ``rules``, combined with the rules' spans)."""
        out = []
        for text, (spans, scores) in zip(texts, self._predict(texts)):
            found = [Entity(s.start, s.end, s.label, text[s.start : s.end], sc) for s, sc in zip(spans, scores)]
            if self.rules:
                ruled = [Entity(s.start, s.end, s.label, text[s.start : s.end], 1.0, "rules") for s in prelabel_text(text)]
                found = combine_spans(found, ruled)
            out.append(found)
        return out

    def record(self, text: str, entities: Sequence[Entity]) -> dict:
        """The case record of ``text`` from its entities (``tag``'s output for it): with ``rules`` they
        already hold the rules' spans; otherwise the rules fill in (``record_from_model_and_rules``)."""
        return build_record(text, entities) if self.rules else record_from_model_and_rules(text, entities)

    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        if self.rules:
            return [[Span(e.start, e.end, e.label) for e in ents] for ents in self.tag(texts)]
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
                piece = self.index.window_ids(tokenized[d].ids[s:e])
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
        merged = []
        for d, toks in enumerate(tokenized):
            if len(toks):
                starts = starts_of[d]
                merged.append(merge_windows([scores[(d, s)] for s in starts], starts, len(toks), self.content_length))
            else:
                merged.append(np.zeros((0, self.width), dtype=np.float32))
        lap("merge")
        out = self.head.decode(merged, tokenized)
        lap("decode")
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The head's per-token window outputs ``[B, L, C]`` (float32) for int64 ``ids`` and ``mask`` ``[B, L]``."""
        if self.session is not None:
            logits = torch.from_numpy(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        else:
            autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)
            with torch.inference_mode(), autocast:
                logits = self.model.emissions(torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device))
        return self.head.window_outputs(logits).cpu().numpy()  # .cpu() waits for the device

    def _stopwatch(self):
        """``lap(phase)`` adds the seconds since the previous lap to ``self.timings[phase]``."""
        last = [time.perf_counter()]

        def lap(phase: str) -> None:
            now = time.perf_counter()
            self.timings[phase] += now - last[0]
            last[0] = now

        return lap
