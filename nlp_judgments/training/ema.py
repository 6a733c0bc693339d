"""An exponential moving average of a model's trainable weights (Polyak averaging).

Dev F1 of a small tagger trained on a few thousand sentences wobbles from epoch to epoch by half a
point or more; the average of the weights over the last few hundred updates is a smoother, usually
better model than the weights of any one update. The average is kept beside the model in float32
and swapped in to evaluate and to save:

    ema = EMA(model, decay=0.998)
    ...                      # after each optimizer step:
    ema.update()
    with ema.swapped():      # the model holds the averaged weights inside the block
        evaluate(model)

Early updates would dominate an average that starts from the random head, so the decay used at
update ``t`` is ``min(decay, (1 + t) / (10 + t))``: short memory first, ``decay`` later.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self.shadow = [p.detach().float().clone() for p in self._params]

    @torch.no_grad()
    def update(self) -> None:
        """Fold the model's current weights into the average (call after each optimizer step)."""
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_mul_(self.shadow, d)
        torch._foreach_add_(self.shadow, [p.detach().float() for p in self._params], alpha=1 - d)

    @contextmanager
    def swapped(self):
        """Inside the block the model holds the averaged weights; its own come back afterwards."""
        saved = [p.detach().clone() for p in self._params]
        with torch.no_grad():
            for p, s in zip(self._params, self.shadow):
                p.copy_(s)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, s in zip(self._params, saved):
                    p.copy_(s)

    # accelerate's register_for_checkpointing saves and restores these with the run's checkpoint.
    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "names": self.names, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        if state["names"] != self.names:
            raise ValueError(f"EMA state holds {len(state['names'])} tensors that do not match the model's "
                             f"{len(self.names)} trainable ones")
        self.updates = int(state["updates"])
        for s, saved in zip(self.shadow, state["shadow"]):
            s.copy_(saved)
