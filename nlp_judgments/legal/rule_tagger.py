"""The rules as a tagger: ``RuleTagger().tag(texts)`` and ``.record(text, entities)`` with no model.

It has the interface corpus tagging and records need from ``tagging.Tagger`` (entities per text,
a record per text), so ``nlp-judgments tag --records`` without ``--model`` builds records from the
rule pre-labeller alone, at its speed and without loading torch. Every entity's ``source`` is
``"rules"`` and its score 1.

Not here: the rules themselves (``prelabel``), the record builder (``records``), a model.
"""

from __future__ import annotations

from typing import Sequence

from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.legal.records import build_record
from nlp_judgments.spans import Entity


class RuleTagger:
    rules = True

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        return [[Entity(s.start, s.end, s.label, text[s.start : s.end], 1.0, "rules") for s in prelabel_text(text)]
                for text in texts]

    def record(self, text: str, entities: Sequence[Entity]) -> dict:
        """The case record from the rules' entities of ``text`` (the same as ``records.record_from_rules``)."""
        return build_record(text, entities)
