"""Adversarial training by the fast gradient method (FGM; Miyato et al. 2017), as CAIL teams used it.

Each training batch runs twice: once as it is, and once with the word embeddings' output pushed a
distance ``epsilon`` along the gradient of the loss with respect to it (the direction that hurts the
model most, to first order). Both backward passes add to the same gradients, so the update learns
from the clean and the perturbed batch; about twice the step time.

The perturbation is applied to the output of the word-embedding layer (a forward hook), not to its
weight matrix as the original recipe does, so it also works with frozen word embeddings (the
default for e5-small: the output still gets a gradient) and touches only the rows the batch uses.
``epsilon`` is the L2 norm of the whole batch's perturbation, as in the weight-matrix recipe.

    attack = FGM(model.encoder.get_input_embeddings(), epsilon=1.0)
    with attack.recording():
        loss = model(**batch)
    loss.backward()
    if attack.prepare():
        with attack.attacking():
            model(**batch).backward()

The training loop runs each micro-batch through a *step*: ``plain_step`` (one forward and backward)
or an :class:`FGMStep` (the two passes above), so the loop has no branch for it.

Not here: the loop (``training.loop``).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch


class FGM:
    def __init__(self, embeddings: torch.nn.Module, epsilon: float = 1.0):
        if epsilon <= 0:
            raise ValueError(f"FGM epsilon must be positive, got {epsilon}")
        self.epsilon = epsilon
        self._mode: str | None = None
        self._output: torch.Tensor | None = None
        self._delta: torch.Tensor | None = None
        self._handle = embeddings.register_forward_hook(self._hook)

    def _hook(self, module, inputs, output: torch.Tensor):
        if self._mode == "record":
            if output.requires_grad:
                output.retain_grad()
            else:  # frozen embeddings: the output is a leaf, and a leaf keeps its gradient
                output.requires_grad_(True)
            self._output = output
            return output
        if self._mode == "attack":
            return output + self._delta
        return None

    @contextmanager
    def recording(self):
        """Forward passes inside keep the embeddings' output, for :meth:`prepare` after the backward."""
        self._mode, self._output = "record", None
        try:
            yield
        finally:
            self._mode = None

    def prepare(self) -> bool:
        """The perturbation from the recorded output's gradient; False (no attack) if there is none."""
        output, self._output = self._output, None
        grad = None if output is None else output.grad
        if grad is None:
            return False
        norm = torch.linalg.vector_norm(grad.float())
        if not torch.isfinite(norm) or norm == 0:
            return False
        self._delta = (self.epsilon * grad / norm).detach().to(output.dtype)
        return True

    @contextmanager
    def attacking(self):
        """Forward passes inside see the perturbed embeddings."""
        if self._delta is None:
            raise RuntimeError("FGM.attacking() without a successful prepare()")
        self._mode = "attack"
        try:
            yield
        finally:
            self._mode, self._delta = None, None

    def remove(self) -> None:
        self._handle.remove()


def plain_step(model, batch: dict, backward) -> torch.Tensor:
    """One forward and backward pass; returns the loss (``backward`` scales it for accumulation)."""
    loss = model(**batch)
    backward(loss)
    return loss


class FGMStep:
    """A training step with FGM: the clean pass, then the pass on perturbed embeddings."""

    def __init__(self, model, epsilon: float):
        self.attack = FGM(model.encoder.get_input_embeddings(), epsilon)

    def __call__(self, model, batch: dict, backward) -> torch.Tensor:
        with self.attack.recording():
            loss = model(**batch)
        backward(loss)
        if self.attack.prepare():
            with self.attack.attacking():
                backward(model(**batch))
        return loss

    def close(self) -> None:
        self.attack.remove()
