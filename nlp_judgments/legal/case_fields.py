"""The judgment-level fields, each read from the part where it belongs.

- ``court``: the court line of the header, as written (钟山县人民法院 stays without its province);
  never a title line before it, nor a court named in a prior conviction or the appeal notice.
- ``case_number``: the case-number line of the header, as written, split into parts where it
  parses (a number without its bracketed year, 格刑初字第117号, is kept as written, unsplit).
- ``procuratorate``: the 公诉机关 / 原公诉机关 party line (an inserted （以下简称…） dropped); with
  only a 抗诉机关 in the header, the office that laid the charge in the procedure. A name the party
  line writes once and the judgment writes otherwise several times (a one-off garble: 杭州干区 for
  杭州市江干区) is replaced by that form, marked uncertain.
- ``judgment_date``: the date of the signature block, read through the typos judgments carry (O,
  Ο, 0 or ○ for 〇; 七无 for 七日; a duplicated year 二Ο二Ο一七), marked uncertain when a typo was read.

Each falls back to the entity spans (the first COURT, CASE_NO, PROCURATORATE; the last full date
after the verdict) when the part is missing, and says so: the field gets ``"uncertain": true``
and a warning naming it.

Not here: the sections themselves (``structure.py``), party lines (``parties.py``).
"""

from __future__ import annotations

import re

from nlp_judgments.legal.evidence import Entities, field
from nlp_judgments.legal.normalize import parse_case_number, parse_date
from nlp_judgments.legal.parties import Party, prosecutor
from nlp_judgments.legal.structure import Section, find

_COURT_IN_HEADER = re.compile(r"[^\s，。、；：,.;:（）()“”]{2,40}?法院")
_DOC_TYPE = re.compile(r"判决书|裁定书")
_CASE_NUMBER_IN_HEADER = re.compile(r"[（(〔［\[【﹝][^\s，。；]{0,30}?号|[^\s，。；（(]{1,20}?刑[^\s，。；]{0,12}?号")
_D = "0-9〇○零ＯOΟ一二三四五六七八九十"
_SIGNATURE_DATE = re.compile(
    rf"(?P<y>[{_D}]{{4,8}})\s*年\s*(?P<m>[{_D}]{{1,2}})\s*月\s*(?P<d>[{_D}]{{1,3}})\s*(?P<end>日|号)?"
)


def uncertain(f: dict | None, name: str, why: str, warnings: list[str]) -> dict | None:
    """Mark field ``f`` uncertain and say why in ``warnings`` (the line starts with the field's name)."""
    if f is not None:
        f["uncertain"] = True
    warnings.append(f"{name}: {why}")
    return f


def court(text: str, sections: list[Section], ents: Entities, warnings: list[str]) -> dict | None:
    header = find(sections, "header")
    if header is not None:
        m = _COURT_IN_HEADER.match(text, header.start, header.end)
        if m:
            return field(text, m.group(0), [m.span()])
    # No header: the first court named before the parties end (a prior conviction's court comes later).
    limit = next((s.end for s in sections if s.kind == "parties"), len(text))
    title = find(sections, "title")
    found = [x for x in ents.of("COURT", title.end if title else 0, limit)]
    if not found:
        warnings.append("court: no court found in a header")
        return None
    first = found[0]
    return uncertain(field(text, first.surface, [first.key]), "court", "no header; the first court named is taken",
                     warnings)


def case_number(text: str, sections: list[Section], ents: Entities, warnings: list[str]) -> dict | None:
    header = find(sections, "header")
    if header is not None:
        doc_type = _DOC_TYPE.search(text, header.start, header.end)  # the number follows 刑事判决书
        for m in _CASE_NUMBER_IN_HEADER.finditer(text, doc_type.end() if doc_type else header.start, header.end):
            parsed = parse_case_number(m.group(0))
            if parsed and parsed.court_code is not None:
                return field(text, m.group(0), [m.span()], year=parsed.year, court_code=parsed.court_code,
                             procedure=parsed.procedure, serial=parsed.serial)
            # Irregular (no bracketed year, no procedure code): kept as written, with what parses of it.
            f = field(text, m.group(0), [m.span()], year=parsed.year if parsed else None, court_code=None,
                      procedure=None, serial=parsed.serial if parsed else None)
            return uncertain(f, "case_number", f"{m.group(0)!r} is not a regular case number; kept as written",
                             warnings)
    limit = next((s.end for s in sections if s.kind == "parties"), len(text))
    for x in ents.of("CASE_NO", 0, limit):
        parsed = parse_case_number(x.surface)
        if parsed and parsed.court_code:
            f = field(text, x.surface, [x.key], year=parsed.year, court_code=parsed.court_code,
                      procedure=parsed.procedure, serial=parsed.serial)
            return uncertain(f, "case_number", "no case number in a header; the first court number is taken", warnings)
    warnings.append("case_number: no case number found")
    return None


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def procuratorate(text: str, parties: list[Party], sections: list[Section], ents: Entities,
                  warnings: list[str]) -> dict | None:
    found = prosecutor(text, parties, sections)
    if found is None:
        if any(p.role.startswith("自诉") for p in parties):
            return None  # a private prosecution has no procuratorate
        limit = next((s.end for s in sections if s.kind in ("procedure", "parties")), len(text))
        xs = ents.of("PROCURATORATE", 0, limit)
        if not xs:
            warnings.append("procuratorate: none found")
            return None
        return uncertain(field(text, xs[0].surface, [xs[0].key]), "procuratorate",
                         "no 公诉机关 line; the first procuratorate named is taken", warnings)
    name, spans, certain = found
    f = field(text, name, spans)
    if not certain:
        uncertain(f, "procuratorate", "the header names only a 抗诉机关; the office that laid the charge is taken",
                  warnings)
    if text.count(name) == 1:
        # A one-off garble: another form written at least twice, of which this one is a subsequence.
        others = {x.surface for x in ents.of("PROCURATORATE") if x.surface != name}
        better = [o for o in others if 0 < len(o) - len(name) <= 2 and o[-3:] == name[-3:] and _subsequence(name, o)
                  and text.count(o) >= 2]
        if len(better) == 1:
            first = text.find(better[0])
            f = field(text, better[0], spans + [(first, first + len(better[0]))])
            uncertain(f, "procuratorate", f"the 公诉机关 line writes {name!r} once; {better[0]!r}, written "
                      f"{text.count(better[0])} times elsewhere, is taken", warnings)
    return f


def _year(digits: str) -> tuple[str, bool]:
    """The year of a signature date; a garbled year longer than four digits is read by its last four."""
    return (digits, False) if len(digits) == 4 else (digits[-4:], True)


def judgment_date(text: str, sections: list[Section], fallback: dict | None, warnings: list[str]) -> dict | None:
    """The signature block's date; ``fallback`` (a date read elsewhere) when there is no signature block."""
    signature = find(sections, "signature")
    if signature is not None:
        for m in _SIGNATURE_DATE.finditer(text, signature.start, signature.end):
            year, garbled = _year(m.group("y"))
            typo = m.group("end") not in ("日", "号")
            parsed = parse_date(f"{year}年{m.group('m')}月{m.group('d')}日")
            if parsed is None or parsed.precision != "day":
                continue
            end = m.end()
            if typo and end < signature.end and text[end] not in " \n\r\t":
                end += 1  # the character written for 日 (七无) belongs to the date
            f = field(text, parsed.value, [(m.start(), end)])
            if garbled or typo:
                uncertain(f, "judgment_date", f"the signature writes {text[m.start():end]!r}; read as {parsed.value}",
                          warnings)
            return f
    if fallback is None:
        warnings.append("judgment_date: no date found")
        return None
    return uncertain({"value": fallback["value"], "evidence": fallback["evidence"]}, "judgment_date",
                     "no date in a signature block; the last full date after the verdict is taken", warnings)
