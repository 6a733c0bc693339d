"""Span head (global-pointer style): a score for every span of at most ``max_span`` tokens and label.

Instead of one tag per token, every span ``(i, j)`` gets a score per label, so nested spans (a
victim inside a place) can both be predicted. The encoder's token-classification layer emits, per
token, a query and a key of ``span_dim`` values and a start and an end bias per label; a span's
score is ``rope(q_i) . rope(k_j) / sqrt(span_dim) + start_l(i) + end_l(j)``, where ``rope`` rotates
by the token's position so the product depends on ``j - i`` only. The head has no parameters of its
own, which keeps the folder an ordinary token-classification checkpoint and lets windows be merged
per token exactly as for the other heads. The loss is the multi-label cross-entropy of Su Jianlin's
GlobalPointer: ``log(1 + sum_neg e^s) + log(1 + sum_pos e^-s)`` per window and label, which pushes
every gold span above 0 and every other span below it without a softmax over the quadratic span set.
Under partial annotation ``label_mask [B, labels]`` says which labels each window's source
annotates; the others carry no loss.

Not here: tag-sequence heads (``softmax.py``, ``crf.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from nlp_judgments.spans import Span
from nlp_judgments.tagging.encoding import IGNORE, TokenizedText
from nlp_judgments.tagging.heads.base import NEG, Decoded, Head


def rope(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotary position encoding of ``x [..., n, d]`` (``d`` even) at integer ``positions [n]``.

    Pairs of dimensions are rotated by ``position * 10000^(-2k/d)``, so that the dot product of a
    rotated query and key depends on their distance, not on where a window starts:

    >>> q, k = torch.randn(1, 4), torch.randn(1, 4)
    >>> a = rope(q, torch.tensor([3])) @ rope(k, torch.tensor([5])).T
    >>> b = rope(q, torch.tensor([10])) @ rope(k, torch.tensor([12])).T
    >>> bool(torch.allclose(a, b, atol=1e-5))
    True
    """
    half = x.shape[-1] // 2
    freqs = 10000.0 ** (-torch.arange(half, dtype=torch.float32, device=x.device) / half)
    angles = positions.to(x.device, torch.float32).unsqueeze(-1) * freqs  # [n, half]
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class SpanHead(Head):
    """Global-pointer span scores from per-token features ``[q | k | start biases | end biases]``.

    ``threshold`` (0: a span is predicted where its probability is above 1/2) and ``nested`` (keep
    a span inside a better one) are decoding settings a caller may change on a loaded model.
    """

    name = "span"

    def __init__(self, labels, scheme: str = "BIO", span_dim: int = 64, max_span: int = 64):
        super().__init__(labels, scheme)
        if span_dim % 2:
            raise ValueError(f"span_dim must be even (rotary encoding pairs dimensions), got {span_dim}")
        self.num_labels, self.dim, self.max_span = len(self.labels), span_dim, max_span
        self.threshold = 0.0
        self.nested = True

    @classmethod
    def options(cls, model_config) -> dict:
        return {"span_dim": model_config.span_dim, "max_span": model_config.max_span}

    def output_names(self) -> list[str]:
        """Per token a query and a key of ``span_dim`` values, and a start and an end bias per label."""
        d = self.dim
        return ([f"span-q{i}" for i in range(d)] + [f"span-k{i}" for i in range(d)]
                + [f"span-start-{l}" for l in self.labels] + [f"span-end-{l}" for l in self.labels])

    def window_outputs(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.float()

    def batch_targets(self, features: list[dict], width: int) -> dict[str, torch.Tensor]:
        return {"span_targets": self.band_targets([f["spans"] for f in features], width)}

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, span_targets: torch.Tensor | None = None,
             label_mask: torch.Tensor | None = None, weights: torch.Tensor | None = None, **_) -> torch.Tensor:
        """``labels`` only say which tokens may start or end a span (not IGNORE)."""
        if span_targets is None:
            raise ValueError("the span head trains on span_targets")
        return self.span_loss(logits, labels != IGNORE, span_targets, label_mask, weights)

    def decode(self, merged: list[np.ndarray], tokenized: list[TokenizedText]) -> list[Decoded]:
        out = []
        for toks, feats in zip(tokenized, merged):
            valid = torch.tensor([not ig for ig in toks.ignored], dtype=torch.bool)
            found = self.decode_features(torch.from_numpy(feats), valid)
            out.append(([Span(toks.offsets[i][0], toks.offsets[j][1], self.labels[l]) for i, j, l, _ in found],
                        [p for *_, p in found]))
        return out

    def split(self, feats: torch.Tensor, positions: torch.Tensor):
        """``(q, k, start, end)``: rotated queries and keys ``[..., n, d]``, biases ``[..., n, L]``."""
        d, L = self.dim, self.num_labels
        feats = feats.float()
        q, k = rope(feats[..., :d], positions), rope(feats[..., d : 2 * d], positions)
        return q, k, feats[..., 2 * d : 2 * d + L], feats[..., 2 * d + L : 2 * d + 2 * L]

    def band_scores(self, feats: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Scores ``[B, L, n, W]`` for ``feats [B, n, F]``: entry ``[b, l, i, w]`` is span ``(i, i + w)``
        (tokens ``i..i+w`` inclusive, ``W = min(max_span, n)``) with label ``l``; ``NEG`` where an
        endpoint is not a ``valid [B, n]`` token or the span runs past the end. Only spans the head can
        predict are computed: ``n * W`` of them rather than ``n * n``."""
        B, n = feats.shape[:2]
        W = min(self.max_span, n)
        q, k, start, end = self.split(feats, torch.arange(n, device=feats.device))
        j = torch.arange(n, device=feats.device).unsqueeze(1) + torch.arange(W, device=feats.device)  # [n, W]
        inside = j < n
        j = j.clamp(max=n - 1)
        pair = torch.einsum("bid,bjd->bij", q, k).gather(2, j.expand(B, n, W)) / self.dim**0.5  # [B, n, W]
        end_j = end.transpose(1, 2)[:, :, j]  # [B, L, n, W]
        ok = inside & valid.unsqueeze(2) & valid[:, j]  # [B, n, W]
        return (pair + torch.where(ok, 0.0, NEG)).unsqueeze(1) + start.transpose(1, 2).unsqueeze(3) + end_j

    def band_targets(self, spans: list[list[tuple[int, int, int]]], n: int) -> torch.Tensor:
        """Gold spans ``(first, last, label)`` per window as ``[B, L, n, W]`` booleans (see
        ``band_scores``); spans longer than ``max_span`` cannot be predicted and are left out."""
        W = min(self.max_span, n)
        out = torch.zeros((len(spans), self.num_labels, n, W), dtype=torch.bool)
        for row, window in enumerate(spans):
            for first, last, label in window:
                if last - first < W:
                    out[row, label, first, last - first] = True
        return out

    def span_loss(
        self,
        feats: torch.Tensor,
        valid: torch.Tensor,
        targets: torch.Tensor,
        label_mask: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Multi-label span cross-entropy, mean over the scored (window, label) pairs.

        ``targets [B, L, n, W]`` (bool, from ``band_targets``): the gold spans. ``label_mask [B, L]``
        (bool): the labels each window's source annotates (others carry no loss, positive or negative).
        ``weights [B]``: per window.
        """
        s = self.band_scores(feats, valid)
        B, L = s.shape[:2]
        s = s.reshape(B, L, -1)
        # A gold span on a pair that is never scored (an endpoint cut by the window edge) is no
        # target: pushing NEG above 0 would swamp the loss.
        t = targets.reshape(B, L, -1) & (s > NEG / 2)
        zero = s.new_zeros(B, L, 1)
        neg = torch.cat([zero, s.masked_fill(t, NEG)], -1).logsumexp(-1)
        pos = torch.cat([zero, (-s).masked_fill(~t, NEG)], -1).logsumexp(-1)
        loss = neg + pos  # [B, L]
        scale = torch.ones_like(loss) if label_mask is None else label_mask.float()
        if weights is not None:
            scale = scale * weights.unsqueeze(1)
        return (loss * scale).sum() / (scale > 0).sum().clamp(min=1)

    @torch.no_grad()
    def decode_features(self, feats: torch.Tensor, valid: torch.Tensor, chunk: int = 512) -> list[tuple[int, int, int, float]]:
        """Spans ``(i, j, label, score)`` of one document's merged features ``[n, F]`` whose score is
        above ``threshold``, with ``score`` the sigmoid probability.

        Overlaps are resolved greedily by score: a span that crosses a better one, or covers the
        same tokens with another label, is dropped; one inside another (nested) is kept unless
        ``nested`` is False.
        """
        nested = self.nested
        n = feats.shape[0]
        found = [], [], [], []  # first token, last token, label, score of each candidate
        # In chunks of rows: a long judgment's n x n products would not fit in memory. Scores depend
        # on distances only, so each chunk (plus the max_span - 1 tokens after it) is scored alone.
        for i0 in range(0, n, chunk):
            rows = min(chunk, n - i0)
            part = slice(i0, min(n, i0 + rows + self.max_span - 1))
            band = self.band_scores(feats[part].unsqueeze(0), valid[part].unsqueeze(0))[0, :, :rows]  # [L, rows, W]
            # Of several labels on the same tokens only the best can survive: keep just that one.
            best, label = band.max(0)
            i, w = (best > self.threshold).nonzero(as_tuple=True)
            for out, values in zip(found, (i + i0, i + i0 + w, label[i, w], best[i, w])):
                out.append(values.cpu().numpy())
        first, last, labels, scores = (np.concatenate(v) if v else np.zeros(0) for v in found)
        if not len(scores):
            return []
        order = np.lexsort((labels, last, first, -scores))
        # Kept spans never cross, so there are at most 2n - 1 of them: stop looking once there are.
        kept_first, kept_last = np.empty(2 * n, dtype=np.int64), np.empty(2 * n, dtype=np.int64)
        kept: list[int] = []
        for c in order:
            i, j = first[c], last[c]
            a, b = kept_first[: len(kept)], kept_last[: len(kept)]
            overlapping = (a <= j) & (i <= b)
            inside = ((a <= i) & (j <= b)) | ((i <= a) & (b <= j))
            same = (a == i) & (b == j)
            if np.any(overlapping & (same | ~inside | (not nested))):
                continue
            kept_first[len(kept)], kept_last[len(kept)] = i, j
            kept.append(c)
            if len(kept) >= 2 * n - 1:
                break
        probs = 1 / (1 + np.exp(-scores[kept].astype(np.float64)))
        return sorted((int(first[c]), int(last[c]), int(labels[c]), float(pr)) for c, pr in zip(kept, probs))
