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

The parts: ``evidence.py`` (the entities indexed for these lookups, the field shape),
``defendants.py`` (party headers, illegal gains), ``verdict.py`` (the verdict and its items). Every
lookup bisects sorted positions or reads each sentence once, so a record takes time linear (up to
a log factor) in the text: a 200,000-character judgment with hundreds of defendants takes well
under a second (``benchmarks/records_speed.py``).

Left out: second-instance bookkeeping (which first-instance sentence was upheld), civil claims,
restitution orders, and money in foreign currencies (kept in its own currency, with a warning).
Never raises on odd input: everything it cannot resolve becomes a warning.
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

from nlp_judgments.legal import lexicons
from nlp_judgments.legal.defendants import (
    GAIN_CUE_WINDOW,
    gain_field,
    header_defendants,
    illegal_gains,
)
from nlp_judgments.legal.evidence import Entities, clean_entities, field, get, number
from nlp_judgments.legal.normalize import amount_to_yuan, parse_case_number, parse_date
from nlp_judgments.legal.prelabel import prelabel_text
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

def _case_number(text: str, ents: Entities, warnings: list[str]) -> dict | None:
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
    return field(text, x.surface, [x.key], year=p.year, court_code=p.court_code, procedure=p.procedure,
                  serial=p.serial)


def _first_named(text: str, ents: Entities, label: str, warnings: list[str]) -> dict | None:
    found = ents.of(label)
    if not found:
        warnings.append(f"no {label} found")
        return None
    first = found[0]
    return field(text, first.surface, [x.key for x in found if x.surface == first.surface])


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
    bounds = verdict_bounds(text)
    if bounds is None:
        warnings.append("no verdict section (判决如下) found")
    dates = _dates(text, ents, warnings)
    record: dict[str, Any] = {
        "case_number": _case_number(text, ents, warnings),
        "court": _first_named(text, ents, "COURT", warnings),
        "procuratorate": _first_named(text, ents, "PROCURATORATE", warnings),
        "judgment_date": _judgment_date(text, dates, bounds[0] if bounds else None, warnings),
    }
    defendants = header_defendants(text, ents, bounds[0] if bounds else None)
    links = verdict_links(text, ents, bounds, warnings) if bounds else {}
    known = {d["name"]["value"] for d in defendants}
    for name, link in links.items():
        if name not in known and "sentence" in link:
            warnings.append(f"{name}: sentenced in the verdict but has no party header")
            first = ents.first("DEFENDANT", name)
            defendants.append({"name": field(text, name, [first.key]), "gender": field(text, None),
                               "birth_date": field(text, None)})
            known.add(name)
    if not defendants:
        warnings.append("no defendants found")
    if bounds and not any("sentence" in link for link in links.values()):
        warnings.append("the verdict names no convicted defendant (被告人X犯…罪)")
    names = [d["name"]["value"] for d in defendants]
    gains = illegal_gains(text, ents, names, warnings)
    for d in defendants:
        name = d["name"]["value"]
        link = links.get(name, {})
        if bounds and "sentence" not in link:
            warnings.append(f"{name}: no verdict item convicts this defendant")
        d["charges"] = link.get("charges", [])
        d["sentence"] = link.get("sentence")
        d["fine_yuan"] = link.get("fine_yuan", field(text, None))
        d["illegal_gain_yuan"] = gain_field(text, name, gains.get(name, []), warnings)
        d["supplementary"] = link.get("supplementary", [])
        d["probation_revoked"] = field(text, bool(link.get("revoked")), link.get("revoked", ()))
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
