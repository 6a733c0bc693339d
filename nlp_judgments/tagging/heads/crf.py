"""CRF head: the softmax head's emissions plus a linear-chain CRF, decoded by Viterbi per document.

Transition scores are the CRF's own parameters, saved beside the weights in ``crf.safetensors``
(a plain Hugging Face load of the folder then decodes by argmax). Illegal transitions (``O`` →
``I-X``, ``B-X`` → ``I-Y``) are fixed at ``NEG`` so Viterbi never produces them. Ignored positions
(special tokens, the lone ``▁``, padding) are removed before the CRF sees a sequence: the chain runs
over real tokens only, so an ignored token never breaks an entity.

Partial annotation (``allowed [B, L, T]``): the loss is the forward algorithm over the lattice
restricted to allowed tags minus the full log partition function, i.e. the marginal likelihood of
every tag path consistent with the annotation; with one allowed tag per token it is the usual
negative log-likelihood.

Not here: the tag-sequence decoding shared with the softmax head (``base.TagHead``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from nlp_judgments.tagging.encoding import IGNORE, allowed_transition
from nlp_judgments.tagging.heads.base import NEG, TagHead, pack

CRF_FILE = "crf.safetensors"



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


class CRFHead(TagHead):
    name = "crf"
    files = (CRF_FILE,)

    def __init__(self, labels, scheme: str):
        super().__init__(labels, scheme)
        self.crf = CRF(self.tags, scheme)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, allowed: torch.Tensor | None = None,
             weights: torch.Tensor | None = None, **_) -> torch.Tensor:
        """Mean negative log-likelihood over the windows, on their real tokens only."""
        keep = labels != IGNORE
        packed_logits, mask = pack(logits, keep)
        packed_tags, _ = pack(labels, keep)
        packed_allowed = pack(allowed, keep, fill=True)[0] if allowed is not None else None
        return self.crf.nll(packed_logits, packed_tags, mask, packed_allowed, weights)

    def paths(self, lives: list[np.ndarray], budget: int = 1 << 18) -> list[list[int]]:
        """Viterbi over each whole document, batched across documents of similar length (at most
        ``budget`` padded positions per call, so a huge one goes alone)."""
        device = self.crf.transitions.device
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
                for j, path in zip(group, self.crf.decode(emissions.to(device), mask.to(device))):
                    paths[j] = path
                group = []
        return paths

    def save(self, folder: Path) -> None:
        state = {k: v.detach().cpu().contiguous() for k, v in self.crf.state_dict().items()}
        save_file(state, str(Path(folder) / CRF_FILE))

    def load(self, folder: Path) -> None:
        self.crf.load_state_dict(load_file(str(Path(folder) / CRF_FILE)))
