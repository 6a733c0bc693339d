"""Case records: turn one judgment into a structured, evidence-carrying record, with or without a model.

``build_record(text, entities)`` reads the judgment's structure with rules (``structure.segment``)
and its entity spans from any source (gold :class:`~nlp_judgments.spans.Span`, tagger
:class:`~nlp_judgments.tagging.tagger.Entity`, plain dicts with start/end/label), and returns a
JSON-serialisable dict; ``record_from_rules(text)`` does the same over the rule pre-labeller.
The record's shape is ``resources/record.schema.json`` (shipped with the package).

Evidence shape (one rule everywhere): every leaf value is a *field*::

    {"value": <the value>, "evidence": [{"start": 120, "end": 129, "text": "有期徒刑三年三个月"}]}

``text`` is always ``judgment[start:end]`` of the ORIGINAL text. Some fields carry typed detail
next to ``value`` (a case number's ``year``/``court_code``/``procedure``, an amount's
``currency``/``approximate``). A value that is a default rather than read from the text (no
probation → ``probation_months`` 0) has empty evidence; a value that could not be found is
``null`` with empty evidence and a line in ``warnings``. A value the builder had to guess (a
typo read, a fallback taken, a choice between readings) carries ``"uncertain": true``, and a
line in ``warnings`` starts with whose field it is and says why: filter on them to check by hand.

Each field comes from the part of the judgment where it belongs (``case_fields.py``): court and
case number from the header, the procuratorate from the party lines, the date from the
signature block; defendants from the party lines (``parties.py``), their charges and sentences
from the verdict read as a grammar (``verdict.py``, ``clauses.py``). Where a part is missing the
builder falls back to the entity spans and says so. Top-level keys: ``case_number``, ``court``,
``procuratorate``, ``judgment_date`` (fields or null), ``defendants`` (one object per defendant:
``name``, ``aliases``, ``unit``, ``gender``, ``birth_date``, ``charges``, ``sentence`` {``type``,
``months``, ``probation_months``, ``reprieve_months``}, ``fine_yuan``, ``illegal_gain_yuan``,
``supplementary``, ``probation_revoked``), ``apps``, ``amounts``, ``dates``, ``law_articles``
(lists of fields), ``sections`` (the parts found: ``kind``, ``start``, ``end``) and ``warnings``.

Charges are named as in force on the judgment's date (a 2019 judgment convicts of 生产、销售假药罪,
renamed 生产、销售、提供假药罪 in 2021). Illegal gains are AMOUNT spans right after
违法所得/获利/渔利, attributed to the nearest 被告人-introduced name earlier in the same sentence;
a name listed jointly (甲、乙退缴的违法所得共计…) is ambiguous and only warned.

Every step reads each part once or bisects sorted positions, so a record takes time linear (up to a
log factor) in the text: a 200,000-character judgment with hundreds of defendants takes well
under a second (``benchmarks/records_speed.py``).

Not here: civil claims, restitution orders, and money in foreign currencies (kept in its own
currency, with a warning). Never raises on odd input: everything it cannot resolve is a warning.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from datetime import date
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import Any, Sequence

from nlp_judgments.legal import case_fields, lexicons
from nlp_judgments.legal.defendants import (
    GAIN_CUE_WINDOW,
    gain_field,
    header_defendants,
    illegal_gains,
)
from nlp_judgments.legal.evidence import Entities, clean_entities, field, get, number
from nlp_judgments.legal.normalize import amount_to_yuan, parse_date, statutory_name
from nlp_judgments.legal.parties import defendants_of, read_parties
from nlp_judgments.legal.prelabel import prelabel_text
from nlp_judgments.legal.structure import find, segment
from nlp_judgments.legal.verdict import (
    PRINCIPAL,
    SUPPLEMENTARY,
    verdict_bounds,
    verdict_links,
)

# Re-exported: how the record reads a verdict and gains is part of what this module documents.
__all__ = ["GAIN_CUE_WINDOW", "PRINCIPAL", "SUPPLEMENTARY", "build_record", "combine_spans", "record_from_model_and_rules",
           "record_from_rules", "record_schema"]

_ARTICLE = re.compile(r"第[零〇一二两三四五六七八九十百千0-9]+条(?:之[一二三四五六七八九十]+)?")
_LAW_NAME = re.compile(r"《[^》]+》|(?:中华人民共和国)?(?:刑法|刑事诉讼法)")


# --- document-level fields ---------------------------------------------------------------------

def _dates(text: str, ents: Entities, warnings: list[str]) -> list[dict]:
    out, reference = [], None
    for x in ents.of("DATE"):
        d = parse_date(x.surface, reference)
        if d is None:
            warnings.append(f"could not parse date {x.surface!r} at {x.start}")
            out.append(field(text, None, [x.key], end=None, precision=None))
            continue
        if d.precision in ("day", "hour", "minute") and not d.value.startswith("-"):
            try:  # the reference for 同年/次日 in the next mention
                reference = date.fromisoformat(d.value[:10])
            except ValueError:
                pass
        out.append(field(text, d.value, [x.key], end=d.end, precision=d.precision))
    return out


def _last_date(text: str, dates: list[dict], verdict_start: int | None) -> dict | None:
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
        return None
    last = day[-1]
    return {"value": last["value"], "evidence": last["evidence"]}


def _amounts(text: str, ents: Entities, warnings: list[str]) -> list[dict]:
    out = []
    for x in ents.of("AMOUNT"):
        a = amount_to_yuan(x.surface)
        if a is None:
            warnings.append(f"could not parse amount {x.surface!r} at {x.start}")
            out.append(field(text, None, [x.key], high=None, approximate=False, currency=None))
            continue
        if a.currency != "CNY":
            warnings.append(f"amount {x.surface!r} is in {a.currency}, not converted to yuan")
        out.append(field(text, number(a.value), [x.key], high=number(a.high), approximate=a.approximate,
                          currency=a.currency))
    return out


def _apps(text: str, ents: Entities) -> list[dict]:
    index = lexicons.app_index()
    by_name: dict[str, list[tuple[int, int]]] = {}
    for x in ents.of("APP"):
        name = index.get(x.surface, (x.surface, False))[0]
        by_name.setdefault(name, []).append(x.key)
    return [field(text, name, spans) for name, spans in by_name.items()]


def _laws(text: str, ents: Entities) -> list[dict]:
    out = []
    for x in ents.of("LAW"):
        name = _LAW_NAME.match(x.surface)
        articles = list(dict.fromkeys(m.group(0) for m in _ARTICLE.finditer(x.surface)))
        out.append(field(text, x.surface, [x.key], law=name.group(0).strip("《》") if name else None,
                          articles=articles))
    return out


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
    ents = clean_entities(text, entities, warnings)
    sections = segment(text)
    verdict = find(sections, "verdict")
    bounds = (verdict.start, verdict.end) if verdict else verdict_bounds(text)
    if bounds is None:
        warnings.append("no verdict section (判决如下) found")
    dates = _dates(text, ents, warnings)
    parties = read_parties(text, find(sections, "parties"))
    record: dict[str, Any] = {
        "case_number": case_fields.case_number(text, sections, ents, warnings),
        "court": case_fields.court(text, sections, ents, warnings),
        "procuratorate": case_fields.procuratorate(text, parties, sections, ents, warnings),
        "judgment_date": case_fields.judgment_date(
            text, sections, _last_date(text, dates, bounds[0] if bounds else None), warnings),
    }
    defendants = _defendants(text, parties, ents, bounds, warnings)
    people = {d["name"]["value"]: [a["value"] for a in d["aliases"]] for d in defendants}
    links = verdict_links(text, bounds[0], bounds[1], people, warnings) if bounds else {}
    for name, link in links.items():
        if name not in people and (link.get("sentence") or link.get("charges")):
            warnings.append(f"{name}: convicted in the verdict but has no party line (name: uncertain)")
            found = text.find(name, bounds[0], bounds[1])
            defendant = _defendant(text, field(text, name, [(found, found + len(name))] if found >= 0 else []))
            defendant["name"]["uncertain"] = True
            defendants.append(defendant)
            people[name] = []
    if not defendants:
        warnings.append("no defendants found")
    if bounds and not any(link.get("sentence") or link.get("charges") for link in links.values()):
        warnings.append("the verdict names no convicted defendant (被告人X犯…罪)")
    on = _judgment_day(record)
    gains = illegal_gains(text, ents, list(people), warnings)
    for d in defendants:
        name = d["name"]["value"]
        link = links.get(name, {})
        if bounds and not (link.get("sentence") or link.get("charges") or link.get("fine_yuan", {}).get("value")):
            warnings.append(f"{name}: no verdict item convicts this defendant")
        d["charges"] = [_named_on(c, on) for c in link.get("charges", [])]
        d["sentence"] = link.get("sentence")
        d["fine_yuan"] = link.get("fine_yuan", field(text, None))
        d["illegal_gain_yuan"] = gain_field(text, name, gains.get(name, []), warnings)
        d["supplementary"] = link.get("supplementary", [])
        d["probation_revoked"] = field(text, bool(link.get("revoked")), link.get("revoked", ()))
        if link.get("revoked"):
            warnings.append(f"{name}: probation revoked (撤销缓刑) in the verdict")
    for name in gains:
        if name not in people:
            warnings.append(f"illegal gain attributed to {name}, who is not a listed defendant")
    record.update({
        "defendants": defendants,
        "apps": _apps(text, ents),
        "amounts": _amounts(text, ents, warnings),
        "dates": dates,
        "law_articles": _laws(text, ents),
        "sections": [{"kind": x.kind, "start": x.start, "end": x.end} for x in sections],
        "warnings": warnings,
    })
    return record


def _defendant(text: str, name: dict, aliases: list | None = None, unit: dict | None = None, gender: dict | None = None,
               birth: dict | None = None) -> dict:
    return {"name": name, "aliases": aliases or [], "unit": unit or field(text, False),
            "gender": gender or field(text, None), "birth_date": birth or field(text, None)}


def _defendants(text: str, parties: list, ents: Entities, bounds: tuple[int, int] | None,
                warnings: list[str]) -> list[dict]:
    """The defendants of the party lines; without any, the DEFENDANT spans' headers (uncertain)."""
    out = []
    for p in defendants_of(parties):
        out.append(_defendant(
            text, field(text, p.name, [p.span]), [field(text, a, [span]) for a, span in p.aliases],
            field(text, p.kind == "unit", [(p.line[0], p.line[0] + len(p.role))] if p.kind == "unit" else ()),
            field(text, p.gender[0], [p.gender[1]]) if p.gender else None,
            field(text, p.birth[0], [p.birth[1]]) if p.birth else None,
        ))
    if out:
        return out
    for d in header_defendants(text, ents, bounds[0] if bounds else None):
        d["name"]["uncertain"] = True
        warnings.append(f"{d['name']['value']}: no party line; the name comes from a 被告人 mention (name: uncertain)")
        out.append(_defendant(text, d["name"], gender=d["gender"], birth=d["birth_date"]))
    return out


def _judgment_day(record: dict) -> str | None:
    """The day charges are named on: the judgment date, else the case number's year."""
    if record["judgment_date"] and record["judgment_date"]["value"]:
        return record["judgment_date"]["value"]
    if record["case_number"] and record["case_number"].get("year"):
        return str(record["case_number"]["year"])
    return None


def _named_on(charge: dict, on: str | None) -> dict:
    """A charge field with the statutory name in force on ``on`` (written form in its evidence)."""
    written = charge["evidence"][0]["text"] if charge["evidence"] else charge["value"]
    named = statutory_name(written, on)
    if named is not None and named != charge["value"]:
        return {**charge, "value": named}
    return charge


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
        return sorted(model, key=lambda e: (get(e, "start"), get(e, "end")))
    # Rules by start, with the furthest end reached so far: a model span [s, e) overlaps a rule
    # exactly when one of the rules starting before e ends after s. O(n log n), not model x rules.
    ordered = sorted((get(r, "start"), get(r, "end")) for r in kept)
    starts = [s for s, _ in ordered]
    reach = list(accumulate((e for _, e in ordered), max))
    for m in model:
        i = bisect_left(starts, get(m, "end"))
        if not (i and reach[i - 1] > get(m, "start")):
            kept.append(m)
    return sorted(kept, key=lambda e: (get(e, "start"), get(e, "end")))


def record_from_model_and_rules(text: str, entities: Sequence) -> dict:
    """:func:`build_record` over a model's entities combined with rule spans (:func:`combine_spans`)."""

    return build_record(text, combine_spans(entities, prelabel_text(text if isinstance(text, str) else "")))


@lru_cache(maxsize=1)
def record_schema() -> dict:
    """The JSON Schema of a record, as shipped in ``resources/record.schema.json``."""
    return json.loads((resources.files("nlp_judgments") / "resources" / "record.schema.json").read_text("utf-8"))
