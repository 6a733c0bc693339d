"""The judgment's entities as the record builder reads them, and the record's field-with-evidence shape.

``clean_entities`` turns spans from any source into :class:`Ent` objects indexed by label
(:class:`Entities`, range queries by bisection), with a warning for each it cannot use;
``field`` builds ``{"value", ..., "evidence": [{"start", "end", "text"}]}``.

Not here: what the record says (``records.py``, ``defendants.py``, ``verdict.py``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Sequence


def number(d: Decimal | None) -> int | float | None:
    """A Decimal as a JSON number: integral values as int, others as float."""
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


def get(ent: Any, key: str) -> Any:
    return ent[key] if isinstance(ent, Mapping) else getattr(ent, key)


def _evidence(text: str, spans) -> list[dict]:
    """Evidence list for ``(start, end)`` pairs, in text order, without duplicates."""
    out = []
    for s, e in sorted(set(spans)):
        out.append({"start": s, "end": e, "text": text[s:e]})
    return out


def field(text: str, value: Any, spans=(), **detail) -> dict:
    return {"value": value, **detail, "evidence": _evidence(text, spans)}


class Ent:
    """One input entity, with its surface read from the original text."""

    __slots__ = ("start", "end", "label", "surface")

    def __init__(self, start: int, end: int, label: str, surface: str):
        self.start, self.end, self.label, self.surface = start, end, label, surface

    @property
    def key(self) -> tuple[int, int]:
        return self.start, self.end


class Entities:
    """The cleaned entities of one judgment by label, each label's in text order, for range queries.

    A query bisects one label's list: records ask per defendant and per verdict segment, and
    scanning every entity for each question made records quadratic in long judgments.
    """

    def __init__(self, ents: list[Ent]):
        self.by_label: dict[str, list[Ent]] = {}
        for x in ents:  # sorted by (start, end), so each label's list is too
            self.by_label.setdefault(x.label, []).append(x)
        self.starts = {label: [x.start for x in xs] for label, xs in self.by_label.items()}
        self._first: dict[str, dict[str, Ent]] = {}

    def of(self, label: str, lo: int = 0, hi: int | None = None) -> list[Ent]:
        """Entities of ``label`` lying inside ``[lo, hi)`` (``hi`` None: to the end), in text order."""
        xs, starts = self.by_label.get(label, []), self.starts.get(label, [])
        i = bisect_left(starts, lo)
        if hi is None:
            return xs[i:]
        j = bisect_left(starts, hi, i)  # entities are never empty: one starting at hi ends after it
        return [x for x in xs[i:j] if x.end <= hi]

    def first(self, label: str, surface: str) -> Ent | None:
        """The first entity of ``label`` that reads ``surface``."""
        if label not in self._first:
            self._first[label] = {}
            for x in self.by_label.get(label, ()):
                self._first[label].setdefault(x.surface, x)
        return self._first[label].get(surface)


class Searcher:
    """``pattern.search(text, pos, stop)`` for calls whose ``pos`` grows and that often share ``stop``.

    Whether a pattern matches at a position does not depend on where the search began (``^`` and
    lookbehinds see the text before ``pos``), so a match found from ``pos`` answers any later
    ``pos`` up to its start, and no match from ``pos`` means none from a later one. The headers
    of one long sentence then read it once between them, not once each.
    """

    def __init__(self, pattern: re.Pattern, text: str):
        self.pattern, self.text = pattern, text
        self.last: tuple[int, int, re.Match | None] | None = None  # (pos, stop, answer)

    def __call__(self, pos: int, stop: int) -> re.Match | None:
        if self.last is not None:
            last_pos, last_stop, found = self.last
            if last_stop == stop and last_pos <= pos and (found is None or found.start() >= pos):
                return found
        found = self.pattern.search(self.text, pos, stop)
        self.last = (pos, stop, found)
        return found


def clean_entities(text: str, entities: Sequence, warnings: list[str]) -> Entities:
    out: list[Ent] = []
    for ent in entities or ():
        try:
            s, e, label = int(get(ent, "start")), int(get(ent, "end")), str(get(ent, "label"))
        except (KeyError, AttributeError, TypeError, ValueError):
            warnings.append(f"ignored an entity without start/end/label: {ent!r}")
            continue
        if not 0 <= s < e <= len(text):
            warnings.append(f"ignored entity [{s}, {e}) {label}: outside the text of length {len(text)}")
            continue
        out.append(Ent(s, e, label, text[s:e]))
    out.sort(key=lambda x: (x.start, x.end))
    return Entities(out)
