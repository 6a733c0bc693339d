"""Case records: turn one judgment's entity spans into a structured, evidence-carrying record.

``build_record(text, entities)`` reads spans from any source (gold :class:`~nlp_judgments.spans.Span`,
tagger :class:`~nlp_judgments.tagging.tagger.Entity`, plain dicts with start/end/label) and returns a
JSON-serialisable dict; ``record_from_rules(text)`` does the same over the rule pre-labeller.
The record's shape is ``resources/record.schema.json`` (shipped with the package).

Evidence shape (one rule everywhere): every leaf value is a *field*::

    {"value": <the value>, "evidence": [{"start": 120, "end": 129, "text": "有期徒刑三年三个月"}]}

``text`` is always ``judgment[start:end]`` of the ORIGINAL text. Some fields carry typed detail
next to ``value`` (a case number's ``year``/``court_code``/``procedure``, an amount's
``currency``/``approximate``). A value that is a default rather than read from the text (no
probation → ``probation_months`` 0) has empty evidence; a value that could not be found is
``null`` with empty evidence and, where that matters, a line in ``warnings``.

Top-level keys: ``case_number``, ``court``, ``procuratorate``, ``judgment_date`` (fields or
null), ``defendants`` (one object per defendant: ``name``, ``gender``, ``birth_date``,
``charges``, ``sentence`` {``type``, ``months``, ``probation_months``, ``reprieve_months``},
``fine_yuan``, ``illegal_gain_yuan``, ``supplementary``, ``probation_revoked``), ``apps``,
``amounts``, ``dates``, ``law_articles`` (lists of fields) and ``warnings`` (strings).

How the verdict is linked: the verdict is the text after the last 判决如下 up to 如不服本判决 /
本判决为终审判决 / the bench signature; it is split into numbered items (一、二、…). In an item,
each DEFENDANT span directly followed by 犯 opens a conviction segment that runs to the next
such span; its CHARGE and PENALTY spans belong to that defendant. With 决定执行 (several crimes
punished together) the penalties after it are the executed sentence. Illegal gains are AMOUNT
spans right after 违法所得/获利/渔利, attributed to the nearest 被告人-introduced name earlier in
the same sentence; a name listed jointly (甲、乙退缴的违法所得共计…) is ambiguous and only warned.

Left out: second-instance bookkeeping (which first-instance sentence was upheld), civil claims,
restitution orders, and money in foreign currencies (kept in its own currency, with a warning).
Never raises on odd input: everything it cannot resolve becomes a warning.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import Any, Callable, Iterator, Sequence

from nlp_judgments.legal import lexicons
from nlp_judgments.legal.normalize import (
    amount_to_yuan,
    canonical_charge,
    parse_case_number,
    parse_date,
    penalty_to_months,
)
from nlp_judgments.legal.prelabel import prelabel_text

# Principal penalties: exactly one is the sentence of a defendant (after 决定执行 if there are several).
PRINCIPAL = ("有期徒刑", "拘役", "管制", "无期徒刑", "死刑", "死刑缓期执行", "免予刑事处罚")
SUPPLEMENTARY = ("剥夺政治权利", "没收财产", "驱逐出境")

_VERDICT_START = re.compile(r"判决如下[：:]?")
# The verdict ends at the first of these phrases or at a line opening (after spaces) with the bench.
_VERDICT_END = re.compile(r"如不服本判决|本判决为终审判决")
_BENCH = ("审判长", "审判员", "人民陪审员")
_ITEM_NUMBER = re.compile(r"[一二三四五六七八九十]*")  # a verdict item is a line opening with 一、 二、 …
_SPACES = re.compile(r"\s*")
_SENTENCE_END = re.compile(r"[。；;\n]")
_GAIN_CUE = re.compile(r"违法所得|非法获利|获利|渔利|非法所得")
_ROLE_BEFORE = ("被告人", "上诉人", "原审被告人", "罪犯")
_NEWLINE = re.compile(r"\n")
_FULL_STOP = re.compile(r"。")
_GENDER = re.compile(r"[，,（(]\s*(男|女)\s*(?=[，,。；;）)]|$)")
_DAY = "[0-9〇○零一二三四五六七八九十]{4}年[0-9〇○零一二三四五六七八九十]{1,2}月[0-9〇○零一二三四五六七八九十]{1,3}日"
_BIRTH = re.compile(f"({_DAY})(?:出生|生[，,。])|(?:出生于|生于)({_DAY})")
_REVOKED = re.compile(r"撤销[^。；;\n]{0,40}缓刑")
_EXEMPT = re.compile(r"免[予于]刑事处罚")
_ARTICLE = re.compile(r"第[零〇一二两三四五六七八九十百千0-9]+条(?:之[一二三四五六七八九十]+)?")
_LAW_NAME = re.compile(r"《[^》]+》|(?:中华人民共和国)?(?:刑法|刑事诉讼法)")
# How far (characters) an amount may sit after its 违法所得/获利 cue: 违法所得共计人民币 is 7.
GAIN_CUE_WINDOW = 10


# --- small helpers -----------------------------------------------------------------------------

def _number(d: Decimal | None) -> int | float | None:
    """A Decimal as a JSON number: integral values as int, others as float."""
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


def _get(ent: Any, key: str) -> Any:
    return ent[key] if isinstance(ent, Mapping) else getattr(ent, key)


def _ev(text: str, spans) -> list[dict]:
    """Evidence list for ``(start, end)`` pairs, in text order, without duplicates."""
    out = []
    for s, e in sorted(set(spans)):
        out.append({"start": s, "end": e, "text": text[s:e]})
    return out


def _field(text: str, value: Any, spans=(), **detail) -> dict:
    return {"value": value, **detail, "evidence": _ev(text, spans)}


class _Ent:
    """One input entity, with its surface read from the original text."""

    __slots__ = ("start", "end", "label", "surface")

    def __init__(self, start: int, end: int, label: str, surface: str):
        self.start, self.end, self.label, self.surface = start, end, label, surface

    @property
    def key(self) -> tuple[int, int]:
        return self.start, self.end


class _Entities:
    """The cleaned entities of one judgment by label, each label's in text order, for range queries.

    A query bisects one label's list: records ask per defendant and per verdict segment, and
    scanning every entity for each question made records quadratic in long judgments.
    """

    def __init__(self, ents: list[_Ent]):
        self.by_label: dict[str, list[_Ent]] = {}
        for x in ents:  # sorted by (start, end), so each label's list is too
            self.by_label.setdefault(x.label, []).append(x)
        self.starts = {label: [x.start for x in xs] for label, xs in self.by_label.items()}
        self._first: dict[str, dict[str, _Ent]] = {}

    def of(self, label: str, lo: int = 0, hi: int | None = None) -> list[_Ent]:
        """Entities of ``label`` lying inside ``[lo, hi)`` (``hi`` None: to the end), in text order."""
        xs, starts = self.by_label.get(label, []), self.starts.get(label, [])
        i = bisect_left(starts, lo)
        if hi is None:
            return xs[i:]
        j = bisect_left(starts, hi, i)  # entities are never empty: one starting at hi ends after it
        return [x for x in xs[i:j] if x.end <= hi]

    def first(self, label: str, surface: str) -> _Ent | None:
        """The first entity of ``label`` that reads ``surface``."""
        if label not in self._first:
            self._first[label] = {}
            for x in self.by_label.get(label, ()):
                self._first[label].setdefault(x.surface, x)
        return self._first[label].get(surface)


class _Searcher:
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


def _clean_entities(text: str, entities: Sequence, warnings: list[str]) -> _Entities:
    out: list[_Ent] = []
    for ent in entities or ():
        try:
            s, e, label = int(_get(ent, "start")), int(_get(ent, "end")), str(_get(ent, "label"))
        except (KeyError, AttributeError, TypeError, ValueError):
            warnings.append(f"ignored an entity without start/end/label: {ent!r}")
            continue
        if not 0 <= s < e <= len(text):
            warnings.append(f"ignored entity [{s}, {e}) {label}: outside the text of length {len(text)}")
            continue
        out.append(_Ent(s, e, label, text[s:e]))
    out.sort(key=lambda x: (x.start, x.end))
    return _Entities(out)


# --- document-level fields ---------------------------------------------------------------------

def _case_number(text: str, ents: _Entities, warnings: list[str]) -> dict | None:
    court_numbers, other = [], []
    for x in ents.of("CASE_NO"):
        parsed = parse_case_number(x.surface)
        (court_numbers if parsed and parsed.court_code else other).append((x, parsed))
    if not court_numbers:
        if other:
            warnings.append("no court case number; only procuratorate or unparsed numbers found")
        else:
            warnings.append("no case number found")
        return None
    x, p = court_numbers[0]  # the header comes first; later ones are cited earlier cases
    return _field(text, x.surface, [x.key], year=p.year, court_code=p.court_code, procedure=p.procedure,
                  serial=p.serial)


def _first_named(text: str, ents: _Entities, label: str, warnings: list[str]) -> dict | None:
    found = ents.of(label)
    if not found:
        warnings.append(f"no {label} found")
        return None
    first = found[0]
    return _field(text, first.surface, [x.key for x in found if x.surface == first.surface])


def _dates(text: str, ents: _Entities, warnings: list[str]) -> list[dict]:
    out, reference = [], None
    for x in ents.of("DATE"):
        d = parse_date(x.surface, reference)
        if d is None:
            warnings.append(f"could not parse date {x.surface!r} at {x.start}")
            out.append(_field(text, None, [x.key], end=None, precision=None))
            continue
        if d.precision in ("day", "hour", "minute") and not d.value.startswith("-"):
            try:  # the reference for 同年/次日 in the next mention
                reference = date.fromisoformat(d.value[:10])
            except ValueError:
                pass
        out.append(_field(text, d.value, [x.key], end=d.end, precision=d.precision))
    return out


def _judgment_date(text: str, dates: list[dict], verdict_start: int | None, warnings: list[str]) -> dict | None:
    """The last full date after the verdict, preferring one in Chinese numerals (二〇一七年六月二十八日,
    how judgments are dated) and never a bound of the term (即自2017年3月16日起至2018年6月25日止)."""
    def term_bound(d: dict) -> bool:
        s, e = d["evidence"][0]["start"], d["evidence"][0]["end"]
        return text[e : e + 1] in ("起", "止") or text[max(0, s - 1) : s] in ("自", "至")

    day = [d for d in dates if d["value"] and d["precision"] == "day" and d["end"] is None and not term_bound(d)]
    if verdict_start is not None:
        after = [d for d in day if d["evidence"][0]["start"] >= verdict_start]
        chinese = [d for d in after if re.match("[〇○零一二三四五六七八九]", d["evidence"][0]["text"])]
        day = chinese or after
    if not day:
        warnings.append("no judgment date found" + (" after the verdict" if verdict_start is not None else ""))
        return None
    last = day[-1]
    return {"value": last["value"], "evidence": last["evidence"]}


def _amounts(text: str, ents: _Entities, warnings: list[str]) -> list[dict]:
    out = []
    for x in ents.of("AMOUNT"):
        a = amount_to_yuan(x.surface)
        if a is None:
            warnings.append(f"could not parse amount {x.surface!r} at {x.start}")
            out.append(_field(text, None, [x.key], high=None, approximate=False, currency=None))
            continue
        if a.currency != "CNY":
            warnings.append(f"amount {x.surface!r} is in {a.currency}, not converted to yuan")
        out.append(_field(text, _number(a.value), [x.key], high=_number(a.high), approximate=a.approximate,
                          currency=a.currency))
    return out


def _apps(text: str, ents: _Entities) -> list[dict]:
    index = lexicons.app_index()
    by_name: dict[str, list[tuple[int, int]]] = {}
    for x in ents.of("APP"):
        name = index.get(x.surface, (x.surface, False))[0]
        by_name.setdefault(name, []).append(x.key)
    return [_field(text, name, spans) for name, spans in by_name.items()]


def _laws(text: str, ents: _Entities) -> list[dict]:
    out = []
    for x in ents.of("LAW"):
        name = _LAW_NAME.match(x.surface)
        articles = list(dict.fromkeys(m.group(0) for m in _ARTICLE.finditer(x.surface)))
        out.append(_field(text, x.surface, [x.key], law=name.group(0).strip("《》") if name else None,
                          articles=articles))
    return out


# --- defendants: header --------------------------------------------------------------------------

def _header_defendants(text: str, ents: _Entities, verdict_start: int | None) -> list[dict]:
    """Defendants from party headers: 被告人X，男，1994年7月3日出生…"""
    limit = verdict_start if verdict_start is not None else len(text)
    seen: dict[str, dict] = {}
    # Dates that read as a birth date (1994年7月3日出生 / 1994年7月3日生 / 出生于1994年7月3日).
    births = [d for d in ents.of("DATE") if text.startswith(("出生", "生，", "生,", "生。"), d.end)
              or text.endswith(("出生于", "生于"), 0, d.start)]
    birth_starts = [d.start for d in births]
    newline, full_stop = _Searcher(_NEWLINE, text), _Searcher(_FULL_STOP, text)
    gender_in, birth_in = _Searcher(_GENDER, text), _Searcher(_BIRTH, text)
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
        gender = _field(text, None)
        if m:
            gender = _field(text, m.group(1), [(m.start(1), m.start(1) + 1)])
        # A birth date: the first DATE entity that reads as one, else a date written so in the text.
        birth = None
        i = bisect_left(birth_starts, x.end)
        if i < len(births) and births[i].start < stop:
            parsed = parse_date(births[i].surface)
            birth = _field(text, parsed.value if parsed else None, [births[i].key])
        else:
            bm = birth_in(x.end, stop)
            if bm:
                g = 1 if bm.group(1) else 2
                parsed = parse_date(bm.group(g))
                birth = _field(text, parsed.value if parsed else None, [bm.span(g)])
        seen[x.surface] = {
            "name": _field(text, x.surface, [x.key]),
            "gender": gender,
            "birth_date": birth or _field(text, None),
        }
    return list(seen.values())


# --- defendants: verdict -------------------------------------------------------------------------

def _verdict_bounds(text: str) -> tuple[int, int] | None:
    starts = list(_VERDICT_START.finditer(text))
    if not starts:
        return None
    start = starts[-1].end()
    phrase = _VERDICT_END.search(text, start)
    bench = next(_indented(text, start, len(text), _bench_end), None)
    return start, min(phrase.start() if phrase else len(text), bench[0] if bench else len(text))


def _indented(text: str, lo: int, hi: int, rest: Callable[[str, int, int], int | None]) -> Iterator[tuple[int, int]]:
    """The matches ``(start, end)`` of the regex ``(?m)^\\s*REST`` in ``text[lo:hi]``, left to right.

    ``rest(text, q, hi)`` is the end of REST read at ``q`` (None where it does not match there); REST
    never opens with a space. The regex tries every line start, and from each reads all the spaces
    and newlines after it, quadratic on blank lines; here the line starts inside one run of spaces
    are settled together, since they all reach the same first non-space character.
    """
    p = lo
    while True:
        if p != 0 and text[p - 1] != "\n":  # not at a line start: go to the next one
            p = text.find("\n", p, hi) + 1
            if p == 0:
                return
        if p >= hi:
            return
        q = _SPACES.match(text, p, hi).end()
        end = rest(text, q, hi)
        if end is not None:
            yield p, end
            p = end
        else:  # every line start up to q reaches q as well: go on after q
            p = text.find("\n", q, hi) + 1
            if p == 0:
                return


def _bench_end(text: str, q: int, hi: int) -> int | None:
    """The end of 审判长 / 审判员 / 人民陪审员 at ``q``, or None."""
    for word in _BENCH:
        if text.startswith(word, q, hi):
            return q + len(word)
    return None


def _item_number_end(text: str, q: int, hi: int) -> int | None:
    """The end of 一、 / 十二、 at ``q``, or None."""
    r = _ITEM_NUMBER.match(text, q, hi).end()
    return r + 1 if q < r < hi and text[r] == "、" else None


def _items(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    heads = [p for p, _ in _indented(text, lo, hi, _item_number_end)]
    if not heads:
        return [(lo, hi)]
    bounds = heads + [hi]
    return [(bounds[i], bounds[i + 1]) for i in range(len(heads))]


def _listed_together(text: str, a: _Ent, b: _Ent) -> bool:
    """Are two names adjacent in a list (甲、乙 / 甲和乙)?"""
    first, second = (a, b) if a.start < b.start else (b, a)
    if not 0 < second.start - first.end <= 4:  # what can sit between two names in a list (、被告人)
        return False
    return re.fullmatch(r"[、和及与]|被告人|、被告人", text[first.end : second.start]) is not None


def _sentence(text: str, name: str, seg_lo: int, seg_hi: int, ents: _Entities, warnings: list[str]) -> dict:
    """Charges, sentence, fine and supplementary penalties of one conviction segment."""
    charges: dict[str, list[tuple[int, int]]] = {}
    for x in ents.of("CHARGE", seg_lo, seg_hi):
        c = canonical_charge(x.surface)
        if c is None:
            warnings.append(f"{name}: charge {x.surface!r} is not a known statutory charge")
            charges.setdefault(x.surface, []).append(x.key)
        else:
            charges.setdefault(c.name, []).append(x.key)
    penalties = []
    for x in ents.of("PENALTY", seg_lo, seg_hi):
        p = penalty_to_months(x.surface)
        if p is None:
            warnings.append(f"{name}: could not parse penalty {x.surface!r}")
        else:
            penalties.append((p, x))
    executed_at = text.find("决定执行", seg_lo, seg_hi)
    if executed_at >= 0:
        executed = [(p, x) for p, x in penalties if x.start >= executed_at]
        per_charge = [(p, x) for p, x in penalties if x.start < executed_at]
    else:
        executed, per_charge = penalties, []
    principal = [(p, x) for p, x in executed if p.kind in PRINCIPAL]
    if executed_at < 0 and len(principal) > 1:
        warnings.append(f"{name}: {len(principal)} principal penalties and no 决定执行; the last one is taken")
    if executed_at >= 0 and not principal:
        warnings.append(f"{name}: 决定执行 without a principal penalty after it")
    sentence = None
    if principal:
        p, x = principal[-1]
        kind = "死刑" if p.kind == "死刑缓期执行" else p.kind
        months = None if p.kind in ("死刑", "死刑缓期执行", "无期徒刑") else p.months
        reprieve = p.months if p.kind == "死刑缓期执行" else 0
        sentence = {
            "type": _field(text, kind, [x.key]),
            "months": _field(text, months, [x.key]),
            "probation_months": _field(text, 0),
            "reprieve_months": _field(text, reprieve, [x.key] if reprieve else ()),
        }
        if p.days:
            warnings.append(f"{name}: {p.days} days of the term are not counted in months")
    else:
        m = _EXEMPT.search(text, seg_lo, seg_hi)
        if m:
            sentence = {
                "type": _field(text, "免予刑事处罚", [m.span()]),
                "months": _field(text, 0),
                "probation_months": _field(text, 0),
                "reprieve_months": _field(text, 0),
            }
    probation = [(p, x) for p, x in executed if p.kind == "缓刑"]
    if probation:
        p, x = probation[-1]
        if sentence is None:
            warnings.append(f"{name}: probation without a principal penalty")
        else:
            sentence["probation_months"] = _field(text, p.months, [x.key])
    fines = [(p, x) for p, x in executed if p.kind == "罚金"] or [(p, x) for p, x in per_charge if p.kind == "罚金"]
    fine = _field(text, None)
    if fines:
        if any(p.amount is None for p, _ in fines):
            warnings.append(f"{name}: a fine without an amount")
        total = sum((p.amount.value for p, _ in fines if p.amount is not None), Decimal(0))
        fine = _field(text, _number(total), [x.key for _, x in fines])
    supplementary = []
    for p, x in executed or per_charge:
        if p.kind in SUPPLEMENTARY:
            supplementary.append(_field(
                text, p.kind, [x.key], months=p.months, life=p.life, all_property=p.all_property,
                amount_yuan=_number(p.amount.value) if p.amount else None,
            ))
    if sentence is None:
        warnings.append(f"{name}: no sentence found in the verdict")
    return {
        "charges": [_field(text, c, spans) for c, spans in charges.items()],
        "sentence": sentence,
        "fine_yuan": fine,
        "supplementary": supplementary,
    }


def _verdict_links(text: str, ents: _Entities, bounds: tuple[int, int], warnings: list[str]) -> dict[str, dict]:
    lo, hi = bounds
    out: dict[str, dict] = {}
    for item_lo, item_hi in _items(text, lo, hi):
        item_text = text[item_lo:item_hi]
        heads = [x for x in ents.of("DEFENDANT", item_lo, item_hi) if text.startswith("犯", x.end)]
        if _REVOKED.search(item_text):
            names = list(dict.fromkeys(x.surface for x in ents.of("DEFENDANT", item_lo, item_hi)))
            warnings.append(f"probation revoked (撤销缓刑) in a verdict item for {', '.join(names) or 'an unnamed defendant'}")
            for n in names:
                out.setdefault(n, {}).setdefault("revoked", []).append((item_lo, item_hi))
        for i, x in enumerate(heads):
            seg_hi = heads[i + 1].start if i + 1 < len(heads) else item_hi
            linked = _sentence(text, x.surface, x.start, seg_hi, ents, warnings)
            linked["segment"] = (x.start, seg_hi)
            entry = out.setdefault(x.surface, {})
            if "sentence" in entry:
                warnings.append(f"{x.surface}: sentenced in more than one verdict item; the last one is taken")
            entry.update(linked)
    return out


# --- defendants: illegal gains -------------------------------------------------------------------

def _illegal_gains(text: str, ents: _Entities, names: list[str], warnings: list[str]) -> dict[str, list]:
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


def _last_inside(xs: list[_Ent], starts: list[int], lo: int, hi: int) -> _Ent | None:
    """The last of ``xs`` (in text order, ``starts`` theirs) lying inside ``[lo, hi)``, or None."""
    i = bisect_left(starts, hi)
    while i > 0:
        i -= 1
        if xs[i].start < lo:
            return None
        if xs[i].end <= hi:
            return xs[i]
    return None


def _gain_field(text: str, name: str, found: list, warnings: list[str]) -> dict:
    if not found:
        return _field(text, None)
    values = {v for v, _ in found}
    if len(values) > 1:
        warnings.append(f"{name}: illegal gain mentioned with different values "
                        f"({', '.join(str(_number(v)) for v in sorted(values))}); the largest is taken")
    best = max(values)
    return _field(text, _number(best), [a.key for v, a in found if v == best])


# --- the record ----------------------------------------------------------------------------------

def build_record(text: str, entities: Sequence) -> dict:
    """Build a structured case record from ``text`` and its entity spans (never raises on odd input).

    >>> t = "被告人张某，男，1990年1月2日出生。判决如下：\\n一、被告人张某犯盗窃罪，判处有期徒刑六个月。"
    >>> spans = [(3, 5, "DEFENDANT"), (8, 17, "DATE"), (31, 33, "DEFENDANT"), (34, 37, "CHARGE"), (40, 47, "PENALTY")]
    >>> rec = build_record(t, [dict(start=s, end=e, label=l) for s, e, l in spans])
    >>> d = rec["defendants"][0]
    >>> d["name"]["value"], d["birth_date"]["value"], d["sentence"]["months"]["value"], d["charges"][0]["value"]
    ('张某', '1990-01-02', 6, '盗窃罪')
    """
    text = text if isinstance(text, str) else ""
    warnings: list[str] = []
    ents = _clean_entities(text, entities, warnings)
    bounds = _verdict_bounds(text)
    if bounds is None:
        warnings.append("no verdict section (判决如下) found")
    dates = _dates(text, ents, warnings)
    record: dict[str, Any] = {
        "case_number": _case_number(text, ents, warnings),
        "court": _first_named(text, ents, "COURT", warnings),
        "procuratorate": _first_named(text, ents, "PROCURATORATE", warnings),
        "judgment_date": _judgment_date(text, dates, bounds[0] if bounds else None, warnings),
    }
    defendants = _header_defendants(text, ents, bounds[0] if bounds else None)
    links = _verdict_links(text, ents, bounds, warnings) if bounds else {}
    known = {d["name"]["value"] for d in defendants}
    for name, link in links.items():
        if name not in known and "sentence" in link:
            warnings.append(f"{name}: sentenced in the verdict but has no party header")
            first = ents.first("DEFENDANT", name)
            defendants.append({"name": _field(text, name, [first.key]), "gender": _field(text, None),
                               "birth_date": _field(text, None)})
            known.add(name)
    if not defendants:
        warnings.append("no defendants found")
    if bounds and not any("sentence" in link for link in links.values()):
        warnings.append("the verdict names no convicted defendant (被告人X犯…罪)")
    names = [d["name"]["value"] for d in defendants]
    gains = _illegal_gains(text, ents, names, warnings)
    for d in defendants:
        name = d["name"]["value"]
        link = links.get(name, {})
        if bounds and "sentence" not in link:
            warnings.append(f"{name}: no verdict item convicts this defendant")
        d["charges"] = link.get("charges", [])
        d["sentence"] = link.get("sentence")
        d["fine_yuan"] = link.get("fine_yuan", _field(text, None))
        d["illegal_gain_yuan"] = _gain_field(text, name, gains.get(name, []), warnings)
        d["supplementary"] = link.get("supplementary", [])
        d["probation_revoked"] = _field(text, bool(link.get("revoked")), link.get("revoked", ()))
    for name in gains:
        if name not in known:
            warnings.append(f"illegal gain attributed to {name}, who is not a listed defendant")
    record.update({
        "defendants": defendants,
        "apps": _apps(text, ents),
        "amounts": _amounts(text, ents, warnings),
        "dates": dates,
        "law_articles": _laws(text, ents),
        "warnings": warnings,
    })
    return record


def record_from_rules(text: str) -> dict:
    """:func:`build_record` over the rule pre-labeller's spans (no model needed)."""

    return build_record(text, prelabel_text(text if isinstance(text, str) else ""))


def combine_spans(model: Sequence, rules: Sequence) -> list:
    """Model spans plus rule spans: a rule span wins where the two overlap, and rules fill the
    labels the model was not trained on (a CAIL-trained model knows no PENALTY or CASE_NO).

    Rules are precision-first (see ``prelabel.py``), so where both speak the rule is kept.

    >>> from nlp_judgments.spans import Span
    >>> combine_spans([Span(0, 2, "DEFENDANT"), Span(5, 9, "PENALTY")], [Span(4, 10, "PENALTY")])
    [Span(start=0, end=2, label='DEFENDANT'), Span(start=4, end=10, label='PENALTY')]
    """
    kept = list(rules)
    if not kept:
        return sorted(model, key=lambda e: (_get(e, "start"), _get(e, "end")))
    # Rules by start, with the furthest end reached so far: a model span [s, e) overlaps a rule
    # exactly when one of the rules starting before e ends after s. O(n log n), not model x rules.
    ordered = sorted((_get(r, "start"), _get(r, "end")) for r in kept)
    starts = [s for s, _ in ordered]
    reach = list(accumulate((e for _, e in ordered), max))
    for m in model:
        i = bisect_left(starts, _get(m, "end"))
        if not (i and reach[i - 1] > _get(m, "start")):
            kept.append(m)
    return sorted(kept, key=lambda e: (_get(e, "start"), _get(e, "end")))


def record_from_model_and_rules(text: str, entities: Sequence) -> dict:
    """:func:`build_record` over a model's entities combined with rule spans (:func:`combine_spans`)."""

    return build_record(text, combine_spans(entities, prelabel_text(text if isinstance(text, str) else "")))


@lru_cache(maxsize=1)
def record_schema() -> dict:
    """The JSON Schema of a record, as shipped in ``resources/record.schema.json``."""
    return json.loads((resources.files("nlp_judgments") / "resources" / "record.schema.json").read_text("utf-8"))
