"""Training: the typed config (``config``, loadable without torch), data and batches (``data``),
building a run (``build``), the loop (``loop.train``), resumable checkpoints without pickle
(``checkpoint``) and FGM (``adversarial``)."""
