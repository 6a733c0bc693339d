"""Heads by name: ``HEADS["span"]`` is the class a config's ``model.head: span`` builds.

A new head is one file in this folder implementing ``base.Head``, its class added to ``HEADS``
and its name to ``options.HEAD_NAMES`` (which the CLI and config read without loading torch).

Not here: the encoder (``model.py``), saved folders (``artifacts.py``).
"""

from __future__ import annotations

from nlp_judgments.tagging.heads.base import Head, TagHead
from nlp_judgments.tagging.heads.crf import CRF, CRFHead
from nlp_judgments.tagging.heads.softmax import SoftmaxHead
from nlp_judgments.tagging.heads.span import SpanHead, rope
from nlp_judgments.tagging.options import HEAD_NAMES

HEADS: dict[str, type[Head]] = {cls.name: cls for cls in (SoftmaxHead, CRFHead, SpanHead)}
if tuple(HEADS) != HEAD_NAMES:
    raise ImportError(f"options.HEAD_NAMES {HEAD_NAMES} does not list the heads {tuple(HEADS)}")

__all__ = ["CRF", "CRFHead", "HEADS", "Head", "SoftmaxHead", "SpanHead", "TagHead", "rope"]
