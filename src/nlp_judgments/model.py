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

Not here: training (``train.py``), folders and metadata on disk (``artifacts.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .encoding import IGNORE, allowed_transition

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

    def __init__(self, encoder: nn.Module, tags: list[str], scheme: str, head: str = "softmax", label_smoothing: float = 0.0):
        super().__init__()
        self.encoder = encoder  # an AutoModelForTokenClassification
        self.tags = tags
        self.head = head
        self.crf = CRF(tags, scheme) if head == "crf" else None
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
    ) -> torch.Tensor:
        """The training loss for a batch: mean over tokens (softmax) or sequences (CRF).

        ``labels [B, L]``: gold tag ids, IGNORE where no loss applies. ``allowed [B, L, T]`` (bool,
        optional): the tags each token may have under partial annotation (the loss is then the
        negative log of their total probability). ``weights [B]`` (optional): a loss weight per window.
        """
        logits = self.emissions(input_ids, attention_mask)
        keep = labels != IGNORE
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
