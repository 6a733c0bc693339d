"""The tagging model: a Hugging Face token-classification encoder and a head on its outputs.

The encoder is a plain ``AutoModelForTokenClassification`` so that a saved folder stays loadable by
anyone with transformers; its ``logits`` are whatever the head needs per token (tag scores, or a
span head's queries, keys and biases). The head (``heads/``) turns them into a loss and into spans.

Not here: training (``training/``), folders and metadata on disk (``artifacts.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from nlp_judgments.tagging.heads import Head


class TaggingModel(nn.Module):
    def __init__(self, encoder: nn.Module | None, head: Head):
        super().__init__()
        self.encoder = encoder  # an AutoModelForTokenClassification (None when an ONNX session replaces it)
        self.head = head

    @property
    def tags(self) -> list[str]:
        return self.head.tags

    def emissions(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).logits

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
                **targets: torch.Tensor) -> torch.Tensor:
        """The training loss of a batch. ``labels [B, L]``: gold tag ids, IGNORE where no loss
        applies; ``targets``: what the head's ``loss`` takes beyond them (``allowed``, ``weights``,
        ``span_targets``, ``label_mask``)."""
        return self.head.loss(self.emissions(input_ids, attention_mask), labels, **targets)
