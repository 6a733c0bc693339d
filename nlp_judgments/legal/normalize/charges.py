"""Charges: ``canonical_charge`` maps a charge as written (贩卖毒品罪) to its statutory name as a :class:`Charge`.

Not here: the list of charges itself (``lexicons.py`` loads it from ``resources/lexicons``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from nlp_judgments.legal import lexicons
from nlp_judgments.legal.normalize.numbers import fold


@dataclass(frozen=True)
class Charge:
    """A charge mention resolved to its canonical statutory name.

    ``match`` says how: ``canonical`` (the text is the name), ``alias`` (a listed former or
    other name), or ``selection`` (the text names part of a selective charge, as 贩卖毒品罪 does
    of 走私、贩卖、运输、制造毒品罪).
    """

    name: str
    surface: str
    match: str
    chapter: str = ""


def _derivable(s: str, c: str) -> bool:
    """Can ``s`` be read off ``c`` by dropping whole items of its 、 lists?

    An item is dropped together with one neighbouring 、: either a tail of the segment before a
    、 plus the 、 (``走私、``), or the 、 plus a head of the segment after it (``、制造``).
    """

    @lru_cache(maxsize=None)
    def go(i: int, j: int, mode: int) -> bool:
        # mode 0: copying; 1: deleting up to and including the next 、; 2: deleted a 、, now
        # deleting the head of the next segment (at least one char); 3: as 2, may stop.
        if i == len(c):
            return j == len(s) and mode in (0, 3)
        ch = c[i]
        if mode == 0:
            if ch == "、":
                return (j < len(s) and s[j] == "、" and go(i + 1, j + 1, 0)) or go(i + 1, j, 2)
            return (j < len(s) and s[j] == ch and go(i + 1, j + 1, 0)) or go(i + 1, j, 1)
        if mode == 1:
            return go(i + 1, j, 0) if ch == "、" else go(i + 1, j, 1)
        if ch == "、":
            return mode == 3 and go(i, j, 0)
        return go(i + 1, j, 3) or (mode == 3 and go(i, j, 0))

    return len(s) < len(c) and go(0, 0, 0)


@lru_cache(maxsize=None)
def _selective() -> tuple[tuple[str, frozenset[str], str], ...]:
    out = []
    for e in lexicons.load_charges():
        for surface in (e.name, *e.aliases):
            if "、" in surface:
                out.append((surface, frozenset(surface), e.name))
    return tuple(out)


@lru_cache(maxsize=None)
def _chapters() -> dict[str, str]:
    return {e.name: e.chapter for e in lexicons.load_charges()}


@lru_cache(maxsize=65536)
def canonical_charge(text: str) -> Charge | None:
    """Map a charge as written to its canonical statutory name; None if it is not a known charge.

    Leading 犯/构成/涉嫌 and bracket style (国(边)境) are tolerated; a bare offence word with no 罪
    is not a charge.

    >>> canonical_charge("贩卖毒品罪").name
    '走私、贩卖、运输、制造毒品罪'
    >>> canonical_charge("强制猥亵罪").name
    '强制猥亵、侮辱罪'
    """
    s = fold(text).strip("，,。；;")
    for w in ("涉嫌犯", "涉嫌", "构成", "犯"):
        if s.startswith(w) and len(s) > len(w) + 1:
            s = s[len(w):]
            break
    s = s.replace("(", "（").replace(")", "）")
    if not s.endswith("罪") or len(s) < 3:
        return None
    index = lexicons.charge_index()
    chapters = _chapters()
    if s in index:
        name = index[s]
        return Charge(name, text, "canonical" if s == name else "alias", chapters[name])
    chars = set(s)
    hits = [(c, name) for c, cs, name in _selective() if chars <= cs and _derivable(s, c)]
    if not hits:
        return None
    # Several candidates: prefer the shortest source, the closest reading of the text.
    c, name = min(hits, key=lambda h: (len(h[0]), h[0]))
    return Charge(name, text, "selection", chapters[name])



@lru_cache(maxsize=None)
def _former() -> dict[str, tuple[tuple[str, str], ...]]:
    return {e.name: e.former for e in lexicons.load_charges() if e.former}


def statutory_name(text: str, on: str | None) -> str | None:
    """The statutory name in force on day ``on`` (ISO date, or a year) of the charge written ``text``.

    A charge renamed since (Amendment XI, in force 2021-03-01) keeps its former name in a judgment
    dated before the renaming, when the text names it or a selection of it; otherwise, and without
    a date, the canonical (current) name. None if ``text`` is not a known charge.

    >>> statutory_name("销售假药罪", "2019-06-27"), statutory_name("销售假药罪", "2022-01-05")
    ('生产、销售假药罪', '生产、销售、提供假药罪')
    """
    charge = canonical_charge(text)
    if charge is None or not on:
        return charge.name if charge else None
    s = fold(text).strip("，,。；;").replace("(", "（").replace(")", "）")
    for w in ("涉嫌犯", "涉嫌", "构成", "犯"):
        if s.startswith(w) and len(s) > len(w) + 1:
            s = s[len(w):]
            break
    for former, until in _former().get(charge.name, ()):
        if str(on) < until and (s == former or _derivable(s, former)):
            return former
    return charge.name
