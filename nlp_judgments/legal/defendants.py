"""Defendants outside the verdict: their party headers (name, gender, birth date) and illegal gains.

``header_defendants`` reads 被告人X，男，1994年7月3日出生… before the verdict; ``illegal_gains``
attributes each amount right after 违法所得/获利/渔利 to the defendant named before it in its
sentence (rules: ``records.py``).

Not here: the verdict (``verdict.py``), the record (``records.py``).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from nlp_judgments.legal.evidence import Ent, Entities, Searcher, field, number
from nlp_judgments.legal.normalize import amount_to_yuan, parse_date

_SENTENCE_END = re.compile(r"[。；;\n]")
_GAIN_CUE = re.compile(r"违法所得|非法获利|获利|渔利|非法所得")
_ROLE_BEFORE = ("被告人", "上诉人", "原审被告人", "罪犯")
_NEWLINE = re.compile(r"\n")
_FULL_STOP = re.compile(r"。")
GENDER = re.compile(r"[，,（(]\s*(男|女)\s*(?=[，,。；;）)]|$)")
_DAY = "[0-9〇○零一二三四五六七八九十]{4}年[0-9〇○零一二三四五六七八九十]{1,2}月[0-9〇○零一二三四五六七八九十]{1,3}日"
BIRTH = re.compile(f"({_DAY})(?:出生|生[，,。])|(?:出生于|生于)({_DAY})")
# How far (characters) an amount may sit after its 违法所得/获利 cue: 违法所得共计人民币 is 7.
GAIN_CUE_WINDOW = 10


def header_defendants(text: str, ents: Entities, verdict_start: int | None) -> list[dict]:
    """Defendants from party headers: 被告人X，男，1994年7月3日出生…"""
    limit = verdict_start if verdict_start is not None else len(text)
    seen: dict[str, dict] = {}
    # Dates that read as a birth date (1994年7月3日出生 / 1994年7月3日生 / 出生于1994年7月3日).
    births = [d for d in ents.of("DATE") if text.startswith(("出生", "生，", "生,", "生。"), d.end)
              or text.endswith(("出生于", "生于"), 0, d.start)]
    birth_starts = [d.start for d in births]
    newline, full_stop = Searcher(_NEWLINE, text), Searcher(_FULL_STOP, text)
    gender_in, birth_in = Searcher(GENDER, text), Searcher(BIRTH, text)
    for x in ents.of("DEFENDANT", 0, limit):
        # A header is the role, the name, then a comma or full stop (被告人X，男 / 被告人X。因本案…);
        # 被告人X犯… and 被告人X、Y… are mentions, not headers. The first header of a name wins.
        if not re.match(r"\s*[，,。（(]", text[x.end : x.end + 2]) or x.surface in seen:
            continue
        before = re.sub(r"(?:自报|自称)$", "", text[max(0, x.start - 12) : x.start])  # 被告人自报安旭，男
        if not before.endswith(_ROLE_BEFORE + ("）", ")")):
            continue
        found = newline(x.end, len(text))
        line_end = found.start() if found else len(text)
        # The header sentence ends at the first 。; gender and birth date are read inside it, where
        # other clauses may come first (被告人X，曾用名Y，男，…).
        found = full_stop(x.end, line_end)
        stop = found.start() if found else line_end
        m = gender_in(x.end, stop)
        gender = field(text, None)
        if m:
            gender = field(text, m.group(1), [(m.start(1), m.start(1) + 1)])
        # A birth date: the first DATE entity that reads as one, else a date written so in the text.
        birth = None
        i = bisect_left(birth_starts, x.end)
        if i < len(births) and births[i].start < stop:
            parsed = parse_date(births[i].surface)
            birth = field(text, parsed.value if parsed else None, [births[i].key])
        else:
            bm = birth_in(x.end, stop)
            if bm:
                g = 1 if bm.group(1) else 2
                parsed = parse_date(bm.group(g))
                birth = field(text, parsed.value if parsed else None, [bm.span(g)])
        seen[x.surface] = {
            "name": field(text, x.surface, [x.key]),
            "gender": gender,
            "birth_date": birth or field(text, None),
        }
    return list(seen.values())


def _listed_together(text: str, a: Ent, b: Ent) -> bool:
    """Are two names adjacent in a list (甲、乙 / 甲和乙)?"""
    first, second = (a, b) if a.start < b.start else (b, a)
    if not 0 < second.start - first.end <= 4:  # what can sit between two names in a list (、被告人)
        return False
    return re.fullmatch(r"[、和及与]|被告人|、被告人", text[first.end : second.start]) is not None


def illegal_gains(text: str, ents: Entities, names: list[str], warnings: list[str]) -> dict[str, list]:
    """Defendant name → [(value Decimal, span)] of amounts right after a gain cue."""
    gains: dict[str, list] = {}
    sentence_ends: list[int] | None = None  # ends of the 。；\n of the text, found when first needed
    # Defendant mentions in text order, those right after 被告人 (introduced), and by end: each gain
    # looks up its mentions by bisection, since a sentence may be long and hold many of them.
    defendants = ents.of("DEFENDANT")
    starts = [d.start for d in defendants]
    introduced = [d for d in defendants if text[max(0, d.start - 6) : d.start].endswith(_ROLE_BEFORE)]
    introduced_starts = [d.start for d in introduced]
    by_end = sorted(defendants, key=lambda d: d.end)
    ends = [d.end for d in by_end]
    for a in ents.of("AMOUNT"):
        cue = None
        for m in _GAIN_CUE.finditer(text, max(0, a.start - GAIN_CUE_WINDOW - 4), a.start):
            if a.start - m.end() <= GAIN_CUE_WINDOW and not _SENTENCE_END.search(text, m.end(), a.start):
                cue = m
        if cue is None:
            continue
        parsed = amount_to_yuan(a.surface)
        if parsed is None or parsed.currency != "CNY":
            continue
        # Sentence start: the last 。；\n before the cue.
        if sentence_ends is None:
            sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        i = bisect_right(sentence_ends, cue.start())
        sent_lo = sentence_ends[i - 1] if i else 0
        # The mentions inside [sent_lo, cue): the last one introduced by 被告人, else the last one.
        hi = cue.start()
        pick = _last_inside(introduced, introduced_starts, sent_lo, hi) or _last_inside(defendants, starts, sent_lo, hi)
        if pick is None:
            if len(names) == 1:
                gains.setdefault(names[0], []).append((parsed.value, a))
            else:
                warnings.append(f"illegal gain {a.surface!r} at {a.start}: no defendant named before it")
            continue
        # Names listed with it (甲、乙): ones ending just before it or starting just after it.
        near = [d for d in defendants[bisect_right(starts, pick.end) : bisect_right(starts, pick.end + 4)] if d.end <= hi]
        near += [d for d in by_end[bisect_left(ends, pick.start - 4) : bisect_left(ends, pick.start)] if d.start >= sent_lo]
        joint = [d for d in near if _listed_together(text, d, pick)]
        if joint:
            who = "、".join(sorted({pick.surface, *(d.surface for d in joint)}))
            warnings.append(f"illegal gain {a.surface!r} at {a.start} is joint ({who}); not attributed")
            continue
        gains.setdefault(pick.surface, []).append((parsed.value, a))
    return gains


def _last_inside(xs: list[Ent], starts: list[int], lo: int, hi: int) -> Ent | None:
    """The last of ``xs`` (in text order, ``starts`` theirs) lying inside ``[lo, hi)``, or None."""
    i = bisect_left(starts, hi)
    while i > 0:
        i -= 1
        if xs[i].start < lo:
            return None
        if xs[i].end <= hi:
            return xs[i]
    return None


def gain_field(text: str, name: str, found: list, warnings: list[str]) -> dict:
    if not found:
        return field(text, None)
    values = {v for v, _ in found}
    if len(values) > 1:
        warnings.append(f"{name}: illegal gain mentioned with different values "
                        f"({', '.join(str(number(v)) for v in sorted(values))}); the largest is taken")
    best = max(values)
    return field(text, number(best), [a.key for v, a in found if v == best])
