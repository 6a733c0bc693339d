"""The tagging model: a Hugging Face token-classification encoder, optionally topped by a CRF.

The emission model is a plain ``AutoModelForTokenClassification`` so that a saved folder stays
loadable by anyone with transformers. The CRF (``head: crf``) is a small module of our own whose
transition scores are saved beside the weights in ``crf.safetensors``; illegal transitions (``O`` →
``I-X``, ``B-X`` → ``I-Y``) are fixed at -10000 so Viterbi never produces them.

Ignored positions (special tokens, the lone ``▁``, padding) are removed before the CRF sees a
sequence: the chain runs over real tokens only, so an ignored token never breaks an entity.

Partial annotation: when a source annotates only some labels, each token comes with the set of tags
it may have (``allowed [B, L, T]``, built by ``encoding.allowed_tag_matrix``) instead of one gold tag.
The loss is then the negative log of the total probability of those tags: for the softmax head
``logsumexp(allowed logits) - logsumexp(all logits)`` per token; for the CRF the forward algorithm
over the lattice restricted to allowed tags minus the full log partition function, i.e. the marginal
likelihood of every tag path consistent with the annotation. With one allowed tag per token both are
the usual losses (cross-entropy, CRF negative log-likelihood) to rounding error.

Span head (``head: span``, global-pointer style): instead of one tag per token, every span
``(i, j)`` of at most ``max_span`` tokens gets a score per label, so nested spans (a victim inside a
place) can both be predicted. The encoder's token-classification layer emits, per token, a query
and a key of ``span_dim`` values and a start and an end bias per label; a span's score is
``rope(q_i) . rope(k_j) / sqrt(span_dim) + start_l(i) + end_l(j)``, where ``rope`` rotates by the
token's position so the product depends on ``j - i`` only. The head has no parameters of its own,
which keeps the folder an ordinary token-classification checkpoint and lets windows be merged per
token exactly as for the other heads. The loss is the multi-label cross-entropy of Su Jianlin's
GlobalPointer: ``log(1 + sum_neg e^s) + log(1 + sum_pos e^-s)`` per window and label, which pushes every
gold span above 0 and every other span below it without a softmax over the quadratic span set.

Not here: training (``train.py``), folders and metadata on disk (``artifacts.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nlp_judgments.tagging.encoding import IGNORE, allowed_transition

NEG = -1e4  # score of an impossible transition: large enough to never win, small enough for fp16


class CRF(nn.Module):
    """Linear-chain CRF over tag sequences, vectorised over the batch."""

    def __init__(self, tags: list[str], scheme: str):
        super().__init__()
        n = len(tags)
        self.num_tags = n
        self.transitions = nn.Parameter(torch.zeros(n, n))  # [from, to]
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))
        allowed = torch.tensor([[allowed_transition(a, b, scheme) for b in tags] for a in tags])
        self.register_buffer("mask_trans", torch.where(allowed, 0.0, NEG), persistent=False)
        start_ok = torch.tensor([allowed_transition("START", t, scheme) for t in tags])
        end_ok = torch.tensor([allowed_transition(t, "O", scheme) for t in tags])  # END acts like O
        self.register_buffer("mask_start", torch.where(start_ok, 0.0, NEG), persistent=False)
        self.register_buffer("mask_end", torch.where(end_ok, 0.0, NEG), persistent=False)

    def _scores(self):
        return self.transitions + self.mask_trans, self.start + self.mask_start, self.end + self.mask_end

    def nll(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor,
        allowed: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean negative log-likelihood. ``emissions [B, L, T]``, ``tags [B, L]``, ``mask [B, L]`` left-packed.

        With ``allowed [B, L, T]`` (bool), the negative log of the total probability of the paths that
        use allowed tags only (``tags`` is then unused); ``weights [B]`` scale each sequence's term.
        """
        emissions = emissions.float()
        trans, start, end = self._scores()
        B, L, _ = emissions.shape
        mask = mask.bool()
        lengths = mask.sum(1)
        has = lengths > 0
        if allowed is None:
            tags = tags.clamp(min=0)
            # Score of the gold path.
            idx = torch.arange(B, device=emissions.device)
            score = start[tags[:, 0]] + emissions[idx, 0, tags[:, 0]]
            for t in range(1, L):
                step = trans[tags[:, t - 1], tags[:, t]] + emissions[idx, t, tags[:, t]]
                score = score + step * mask[:, t]
            last = tags[idx, (lengths - 1).clamp(min=0)]
            score = score + end[last]
        else:
            # A disallowed tag scores like an impossible transition: its paths add exp(-1e4) = 0.
            score = self._log_partition(emissions.masked_fill(~allowed, NEG), mask, trans, start, end)
        log_z = self._log_partition(emissions, mask, trans, start, end)
        nll = log_z - score
        if weights is not None:
            nll = nll * weights
        nll = nll[has]
        return nll.mean() if nll.numel() else emissions.sum() * 0.0

    @staticmethod
    def _log_partition(emissions, mask, trans, start, end) -> torch.Tensor:
        """Log of the summed scores of all paths, by the forward algorithm: ``[B]``."""
        alpha = start + emissions[:, 0]  # [B, T]
        for t in range(1, emissions.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans.unsqueeze(0), dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t : t + 1], nxt, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Viterbi best paths, one list of tag ids per sequence (length = number of real tokens)."""
        emissions = emissions.float()
        trans, start, end = self._scores()
        B, L, T = emissions.shape
        mask = mask.bool()
        lengths = mask.sum(1).tolist()
        score = start + emissions[:, 0]
        history = []
        for t in range(1, L):
            cand = score.unsqueeze(2) + trans.unsqueeze(0)  # [B, from, to]
            best, arg = cand.max(dim=1)
            history.append(arg)
            score = torch.where(mask[:, t : t + 1], best + emissions[:, t], score)
        score = score + end
        # Backtrack in numpy: indexing a tensor per token costs microseconds each, thousands per judgment.
        back = torch.stack(history).cpu().numpy() if history else np.zeros((0, B, T), dtype=np.int64)
        last = score.argmax(dim=1).tolist()
        paths = []
        for b in range(B):
            n = lengths[b]
            if n == 0:
                paths.append([])
                continue
            tag = last[b]
            path = [tag]
            for t in range(n - 1, 0, -1):
                tag = int(back[t - 1, b, tag])
                path.append(tag)
            paths.append(path[::-1])
        return paths


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


class SpanHead(nn.Module):
    """Global-pointer span scores from per-token features ``[q | k | start biases | end biases]``."""

    def __init__(self, num_labels: int, dim: int, max_span: int):
        super().__init__()
        if dim % 2:
            raise ValueError(f"span_dim must be even (rotary encoding pairs dimensions), got {dim}")
        self.num_labels, self.dim, self.max_span = num_labels, dim, max_span

    @staticmethod
    def features(num_labels: int, dim: int) -> int:
        """How many values per token the encoder must emit."""
        return 2 * dim + 2 * num_labels

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

    def loss(
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
    def decode(
        self, feats: torch.Tensor, valid: torch.Tensor, nested: bool = True, chunk: int = 512
    ) -> list[tuple[int, int, int, float]]:
        """Spans ``(i, j, label, score)`` of one document's merged features ``[n, F]`` whose score is
        above 0, with ``score`` the sigmoid probability.

        Overlaps are resolved greedily by score: a span that crosses a better one, or covers the
        same tokens with another label, is dropped; one inside another (nested) is kept unless
        ``nested`` is False.
        """
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
            i, w = (best > 0).nonzero(as_tuple=True)
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


def pack(values: torch.Tensor, keep: torch.Tensor, fill: float | int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the kept positions of each row to the left: ``[B, L, ...] -> [B, L', ...]`` plus a mask."""
    B = values.shape[0]
    counts = keep.sum(1)
    width = max(int(counts.max()) if B else 0, 1)
    out = values.new_full((B, width) + tuple(values.shape[2:]), fill)
    mask = torch.arange(width, device=values.device).unsqueeze(0) < counts.unsqueeze(1)
    out[mask] = values[keep]
    return out, mask


class TaggingModel(nn.Module):
    """Encoder emissions plus the loss/decoding rule of the chosen head."""

    def __init__(
        self,
        encoder: nn.Module,
        tags: list[str],
        scheme: str,
        head: str = "softmax",
        label_smoothing: float = 0.0,
        span: SpanHead | None = None,
    ):
        super().__init__()
        self.encoder = encoder  # an AutoModelForTokenClassification
        self.tags = tags
        self.head = head
        self.crf = CRF(tags, scheme) if head == "crf" else None
        if (head == "span") != (span is not None):
            raise ValueError("a SpanHead is given exactly when head is 'span'")
        self.span = span
        self.label_smoothing = label_smoothing

    def emissions(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).logits

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        allowed: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
        span_targets: torch.Tensor | None = None,
        label_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The training loss for a batch: mean over tokens (softmax), sequences (CRF) or (window, label)
        pairs (span).

        ``labels [B, L]``: gold tag ids, IGNORE where no loss applies. ``allowed [B, L, T]`` (bool,
        optional): the tags each token may have under partial annotation (the loss is then the
        negative log of their total probability). ``weights [B]`` (optional): a loss weight per window.
        Span head: ``span_targets [B, L, n, W]`` (bool, ``SpanHead.band_targets``) are the gold spans, ``labels`` only say which
        tokens may start or end one (not IGNORE), ``label_mask [B, L]`` the labels each window's source
        annotates.
        """
        logits = self.emissions(input_ids, attention_mask)
        keep = labels != IGNORE
        if self.span is not None:
            if span_targets is None:
                raise ValueError("the span head trains on span_targets")
            return self.span.loss(logits, keep, span_targets, label_mask, weights)
        if self.crf is None:
            if allowed is None and weights is None:
                return nn.functional.cross_entropy(
                    logits.float().reshape(-1, logits.shape[-1]),
                    labels.reshape(-1),
                    ignore_index=IGNORE,
                    label_smoothing=self.label_smoothing,
                )
            if self.label_smoothing:
                raise ValueError("label smoothing is not supported with allowed tag sets or weights")
            log_probs = logits.float().log_softmax(-1)
            if allowed is None:
                nll = -log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            else:
                # Every row holds at least one allowed tag (its own), so no logsumexp sees only -inf.
                nll = -log_probs.masked_fill(~allowed, float("-inf")).logsumexp(-1)
            if weights is not None:
                nll = nll * weights.unsqueeze(1)
            return nll[keep].sum() / keep.sum().clamp(min=1)
        packed_logits, mask = pack(logits, keep)
        packed_tags, _ = pack(labels, keep)
        packed_allowed = pack(allowed, keep, fill=True)[0] if allowed is not None else None
        return self.crf.nll(packed_logits, packed_tags, mask, packed_allowed, weights)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, keep: torch.Tensor) -> list[list[int]]:
        """Tag ids for the kept positions of each row (``keep [B, L]``), by argmax or Viterbi."""
        if self.crf is None:
            best = emissions.argmax(-1)
            return [row[k].tolist() for row, k in zip(best, keep)]
        packed, mask = pack(emissions, keep)
        return self.crf.decode(packed, mask)
