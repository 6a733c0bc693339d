"""Encoders the project can build offline: ``builtin.resolve_encoder``, ``e5``, ``tiny``."""
