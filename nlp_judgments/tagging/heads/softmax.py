"""Softmax head: a linear layer per token (the encoder's classifier) and the argmax tag.

Loss: cross-entropy over the tag ids; under partial annotation (``allowed [B, L, T]``, one set of
tags each token may have, from ``encoding.allowed_tag_matrix``) the negative log of the allowed
tags' total probability, ``logsumexp(allowed log-probs)``, which with one allowed tag per token is
the cross-entropy itself. ``weights [B]`` scale each window's tokens.

Not here: tag paths with transition constraints (``crf.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nlp_judgments.tagging.encoding import IGNORE
from nlp_judgments.tagging.heads.base import TagHead


class SoftmaxHead(TagHead):
    name = "softmax"

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, allowed: torch.Tensor | None = None,
             weights: torch.Tensor | None = None, **_) -> torch.Tensor:
        """Mean over the tokens that carry a loss (``labels != IGNORE``)."""
        if allowed is None and weights is None:
            return nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                               ignore_index=IGNORE)
        keep = labels != IGNORE
        log_probs = logits.float().log_softmax(-1)
        if allowed is None:
            nll = -log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        else:
            # Every row holds at least one allowed tag (its own), so no logsumexp sees only -inf.
            nll = -log_probs.masked_fill(~allowed, float("-inf")).logsumexp(-1)
        if weights is not None:
            nll = nll * weights.unsqueeze(1)
        return nll[keep].sum() / keep.sum().clamp(min=1)

    def paths(self, lives: list[np.ndarray]) -> list[list[int]]:
        return [live.argmax(-1).tolist() for live in lives]
