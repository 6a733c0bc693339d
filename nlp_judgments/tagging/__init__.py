"""The tagging core: tokens and tags (``encoding``), windows, heads, the model and its folders
(``artifacts``), the ``Tagger`` with its backends (torch, bf16, ONNX), evaluation and metrics.
``options`` holds the names the CLI shares with it and loads without torch; this ``__init__``
stays empty so that it does too."""
