"""Highlighted text: the ranges of one judgment (entities, evidence), nested into well-formed marks,
and the CSS class and colour of each label.

Not here: the HTML of a judgment (``document.py``) and of its record (``record_panel.py``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from heapq import heapify, heappop, heappush
from typing import Any, Iterable

from nlp_judgments.apps.review.lines import is_offset
from nlp_judgments.legal.schema import LABELS

# Hue per label (CSS hsl): people warm, institutions cool, money green, numbers and laws muted.
HUES = {
    "DEFENDANT": 0, "PERSON": 28, "DATE": 48, "LOCATION": 80, "AMOUNT": 130, "PROCURATORATE": 172,
    "COURT": 205, "CHARGE": 245, "ORG": 275, "APP": 305, "PENALTY": 335,
}
MUTED = {"CASE_NO": 215, "LAW": 30}  # low saturation: long spans that would dominate the page


@dataclass(frozen=True)
class Range:
    """A highlighted stretch of one judgment: an entity (label set) or evidence-only text (label None)."""

    start: int
    end: int
    label: str | None = None
    score: float | None = None

    @property
    def key(self) -> str:
        return f"{self.start}-{self.end}"


def nest(frags: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, list]]:
    """Nest fragments ``(start, end, order, ref)`` into a forest of ``(start, end, ref, children)``.

    Longer spans enclose shorter ones that start at the same place; a span that crosses the end of
    its enclosing span is cut there and its tail continues as a sibling, so every node covers a
    contiguous stretch and HTML stays well-formed.

    >>> nest([(0, 4, 0, 0), (2, 6, 1, 1)])
    [(0, 4, 0, [(2, 4, 1, [])]), (4, 6, 1, [])]
    """
    heap = [(s, -e, o, r) for s, e, o, r in frags]
    heapify(heap)
    forest = []
    while heap:
        s, neg_e, _, ref = heappop(heap)
        e = -neg_e
        inner, tails = [], []
        while heap and heap[0][0] < e:
            s2, neg_e2, o2, r2 = heappop(heap)
            if -neg_e2 <= e:
                inner.append((s2, -neg_e2, o2, r2))
            else:
                inner.append((s2, e, o2, r2))
                tails.append((e, neg_e2, o2, r2))
        for t in tails:
            heappush(heap, t)
        forest.append((s, e, ref, nest(inner)))
    return forest


class Labels:
    """Label → CSS class index, in schema order first, then unknown labels as they appear."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        for label in LABELS:
            self.cls(label)

    def cls(self, label: str) -> str:
        if label not in self.index:
            self.index[label] = len(self.index)
        return f"l{self.index[label]}"

    def css(self) -> str:
        rules = []
        for label, i in self.index.items():
            if label in HUES:
                bg, accent = f"hsl({HUES[label]} 85% 90%)", f"hsl({HUES[label]} 60% 42%)"
            elif label in MUTED:
                bg, accent = f"hsl({MUTED[label]} 18% 90%)", f"hsl({MUTED[label]} 14% 50%)"
            else:  # a label outside the schema (another label map): grey, still distinct from text
                bg, accent = "hsl(0 0% 89%)", "hsl(0 0% 45%)"
            rules.append(f".l{i}{{--hl:{bg};--ac:{accent}}}")
            rules.append(f"body.hide-l{i} mark.l{i}{{background:none;border-bottom-color:transparent}}")
        return "\n".join(rules)


def evidence_spans(obj: Any) -> Iterable[tuple[int, int]]:
    """Every ``(start, end)`` in the ``evidence`` lists of a record, however deep."""
    if isinstance(obj, dict):
        evidence = obj.get("evidence")
        for item in evidence if isinstance(evidence, list) else ():
            if isinstance(item, dict) and is_offset(item.get("start")) and is_offset(item.get("end")):
                yield item["start"], item["end"]
        for key, value in obj.items():
            if key != "evidence":
                yield from evidence_spans(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from evidence_spans(value)
