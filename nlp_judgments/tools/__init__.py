"""Tools that make model artifacts: ONNX export with the int8 gate (``export``), vocabulary
trimming (``vocab``) and continued masked-LM pretraining of an encoder (``adapt``)."""
