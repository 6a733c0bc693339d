"""Names and defaults that the command line and the library share, importable without torch.

The CLI parses arguments before it loads torch, and the config is validated before any model is
built; both read their choices from here, and the modules that implement them check that they
agree (``heads.HEADS`` against :data:`HEAD_NAMES`, ``Tagger`` against :data:`BACKENDS`).

Not here: what a head or backend does (``heads/``, ``tagger.py``).
"""

from __future__ import annotations

# Heads on top of the encoder, by the name configs and saved folders use (``model.head``).
HEAD_NAMES = ("softmax", "crf", "span")

# How ``Tagger`` computes the encoder's outputs: "auto" is torch; "torch-bf16" torch under bfloat16
# autocast; "onnx"/"onnx-int8" the files ``nlp-judgments export --onnx`` writes (CPU only).
BACKENDS = ("auto", "torch", "torch-bf16", "onnx", "onnx-int8")

# Tokens per window (special tokens included) and tokens shared by consecutive windows.
MAX_LENGTH = 256
STRIDE = 64
