"""The party lines: who is tried (persons and units, with aliases, gender and birth date) and who prosecutes.

``read_parties(text, section)`` reads each paragraph of the ``parties`` section that opens with a
role word (被告人, 上诉人（原审被告人）, 原审被告人, 被告单位, 公诉机关, 辩护人, 法定代理人, …) into a
:class:`Party`; a paragraph without a role continues the one before it (a prior conviction, custody).
Defendants are the parties tried here: persons (被告人…) and units (被告单位…). Counsel, guardians
(法定代理人X（系被告人之母）), representatives, victims and civil plaintiffs are parties too, never
defendants. ``prosecutor(text, parties, sections)`` is the 公诉机关 (on appeal the 原公诉机关; where
the header names only a 抗诉机关, the office that prosecuted, from the procedure).

A name is what the party line writes between the role and the first comma, full stop or bracket:
masked names (张某, 刘3, 李XX, 王××), names with a middle dot (阿不力克木·模沙) and a company's
name alike. Aliases come from 曾用名 / 又名 / 别名 / 化名 / 绰号 / 外号 / 小名 / 自报 in that party
line, without quotation marks; a name given only as self-reported (被告人自报X) is the name.

Not here: the verdict (``verdict.py``), the record (``records.py``), finding the sections
(``structure.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from nlp_judgments.legal.defendants import BIRTH, GENDER
from nlp_judgments.legal.normalize import parse_date
from nlp_judgments.legal.structure import PARTY_ROLE, Section, find, paragraphs

# Defendant roles: a person, or a unit (被告单位), tried in this judgment.
_DEFENDANT_ROLE = re.compile(
    r"(?:(?:原审)?上诉人|申诉人|被上诉人|被申诉人)?[（(](?:原审|一审)?被告(?P<unit1>单位)?[^）)]{0,12}[）)]"
    r"|(?:原审|一审)?被告(?:人|(?P<unit2>单位))|罪犯"
)
_PROSECUTOR_ROLE = re.compile(r"(?:原审)?(?P<original>原)?公诉(?:暨[^，。：:机]{1,8})?机关|(?P<protest>抗诉机关)")
# The name runs to the first comma, stop, bracket, colon or space: 被告人X（曾用名…） is far more common
# than a company named with brackets (某某（中国）有限公司), which is then cut at its bracket.
_NAME = re.compile(r"[：:]?\s*(?P<self>自报|自称)?(?P<name>[^，,。；;：:（(\s、“”\"]{1,40})")
_ALIAS = re.compile(
    r"(?:曾用名|又名|别名|化名|绰号|外号|小名|乳名|艺名|网名|自报|自称)(?:为|是|叫)?[：:]?\s*"
    r"(?P<names>[“\"‘']?[^，,。；;（()）\s]{1,20}?[”\"’']?(?:、[“\"‘']?[^，,。；;（()）\s、]{1,20}?[”\"’']?)*)(?=[，,。；;）)\s]|$)"
)
_QUOTES = "“”\"‘’'「」『』"
_PROCURATORATE_NAME = re.compile(r"[^，,。；;：:\s]{2,60}?检察(?:院(?:[^，,。；;\s]{2,8}分院)?|分院)")
_ABBREVIATION_NOTE = re.compile(r"[（(]以下(?:简称|称)[^）)]{0,20}[）)]")
# What a party line's name never is: 上述三被告人…, a bare gender, a phrase with 的.
_NOT_A_NAME = re.compile(r"^(?:上述|男$|女$)|的")
# A person's name: up to five characters (欧阳某某, 努尔买买提), masked ones with Latin letters or a
# number (李XX, 王××, 张3, 徐某2), or parts joined by a middle dot (阿不力克木·模沙, 茹X·Y).
_PART = r"[\u4e00-\u9fffA-Za-zＡ-Ｚａ-ｚ×＊*]"
_PERSON_NAME = re.compile(rf"{_PART}{{1,5}}[0-9０-９]{{0,2}}|{_PART}{{1,10}}(?:[·•・．.]{_PART}{{1,10}}){{1,3}}")


@dataclass
class Party:
    """One party line. ``span`` is the name's character range; ``line`` the paragraph(s) it covers."""

    role: str
    kind: str  # "defendant", "unit", "prosecutor", "other"
    name: str | None
    span: tuple[int, int] | None
    line: tuple[int, int]
    aliases: list[tuple[str, tuple[int, int]]] = dataclass_field(default_factory=list)
    gender: tuple[str, tuple[int, int]] | None = None
    birth: tuple[str | None, tuple[int, int]] | None = None
    pieces: list[tuple[int, int]] = dataclass_field(default_factory=list)  # the name's text, less a note inside it
    original: bool = False  # a 原公诉机关
    protest: bool = False  # a 抗诉机关


def _sentence_end(text: str, lo: int, hi: int) -> int:
    found = text.find("。", lo, hi)
    return found if found >= 0 else hi


def _read_defendant(text: str, role: re.Match, lo: int, hi: int) -> Party:
    unit = bool(role.group("unit1") or role.group("unit2"))
    m = _NAME.match(text, role.end(), hi)
    name, span = None, None
    if m and not _NOT_A_NAME.search(m.group("name")):
        name, span = m.group("name"), m.span("name")
        if not unit and not _PERSON_NAME.fullmatch(name):
            name, span = None, None
    party = Party(role.group(0), "unit" if unit else "defendant", name, span, (lo, hi))
    if span is None:
        return party
    stop = _sentence_end(text, span[1], hi)
    # Aliases: in the identity clause (the first sentence), or in a bracket right after the name.
    for a in _ALIAS.finditer(text, span[1], stop):
        if a.group(0).startswith(("自报", "自称")) and m.group("self"):
            continue
        pos = a.start("names")
        for piece in a.group("names").split("、"):
            s = pos + len(piece) - len(piece.lstrip(_QUOTES))
            e = pos + len(piece.rstrip(_QUOTES))
            if e > s and text[s:e] != name:
                party.aliases.append((text[s:e], (s, e)))
            pos += len(piece) + 1
    g = GENDER.search(text, span[1], stop)
    if g:
        party.gender = (g.group(1), (g.start(1), g.start(1) + 1))
    b = BIRTH.search(text, span[1], stop)
    if b:
        k = 1 if b.group(1) else 2
        parsed = parse_date(b.group(k))
        party.birth = (parsed.value if parsed else None, b.span(k))
    return party


def _read_prosecutor(text: str, role: re.Match, lo: int, hi: int) -> Party:
    start = role.end()
    while start < hi and text[start] in "：: ":
        start += 1
    party = Party(role.group(0), "prosecutor", None, None, (lo, hi), original=bool(role.group("original")),
                  protest=bool(role.group("protest")))
    # An inserted abbreviation note is not part of the name: 某某自治县（以下简称某县）人民检察院.
    note = _ABBREVIATION_NOTE.search(text, start, hi)
    cut = (note.start(), note.end()) if note else (hi, hi)
    m = _PROCURATORATE_NAME.match(text[start:cut[0]] + text[cut[1]:hi])
    if m is None:
        return party
    party.name = m.group(0)
    before = cut[0] - start
    if m.end() <= before:
        party.span = (start, start + m.end())
        party.pieces = [party.span]
    else:
        party.span = (start, cut[1] + m.end() - before)
        party.pieces = [(start, cut[0]), (cut[1], party.span[1])]
    return party


def read_parties(text: str, section: Section | None) -> list[Party]:
    """The party lines of ``section`` (a ``parties`` section), in text order."""
    if section is None:
        return []
    out: list[Party] = []
    for s, e in paragraphs(text):  # of the whole text, as segment() read them
        if e <= section.start:
            continue
        if s >= section.end:
            break
        s, e = max(s, section.start), min(e, section.end)
        role = _DEFENDANT_ROLE.match(text, s, e)
        if role:
            out.append(_read_defendant(text, role, s, e))
            continue
        role = _PROSECUTOR_ROLE.match(text, s, e)
        if role:
            out.append(_read_prosecutor(text, role, s, e))
            continue
        role = PARTY_ROLE.match(text, s, e)
        if role:
            out.append(Party(role.group(0), "other", None, None, (s, e)))
        elif out:  # a continuation of the party line before
            out[-1].line = (out[-1].line[0], e)
    return out


def defendants_of(parties: list[Party]) -> list[Party]:
    """The parties tried here, first mention of each name only."""
    seen: set[str] = set()
    out = []
    for p in parties:
        if p.kind in ("defendant", "unit") and p.name and p.name not in seen:
            seen.add(p.name)
            out.append(p)
    return out


_PROSECUTES = re.compile(r"(?P<name>[^，,。；;：:\s]{2,60}?检察(?:院|分院))(?:以[^，。；]{0,40}?起诉书)?(?:起诉)?指控")
_LEAD_WORDS = re.compile(r"^.*(?:法院审理|审理|受理|经|由)")


def prosecutor(text: str, parties: list[Party], sections: list[Section]) -> tuple[str, list[tuple[int, int]], bool] | None:
    """``(name, evidence spans, certain)`` of the office that prosecuted this case, or None.

    The 公诉机关 / 原公诉机关 party line; without one (a retrial on a protest names only the 抗诉机关),
    the office that laid the charge in the procedure (X人民检察院以…起诉书指控 / 审理X人民检察院指控…),
    marked not certain. A private prosecution (自诉人) has none.
    """
    lines = [p for p in parties if p.kind == "prosecutor" and p.name and not p.protest]
    if lines:
        p = lines[0]
        return p.name, p.pieces, True
    procedure = find(sections, "procedure")
    if procedure is None or not any(p.kind == "prosecutor" for p in parties):
        return None
    m = _PROSECUTES.search(text, procedure.start, procedure.end)
    if m is None:
        return None
    name = m.group("name")
    lead = _LEAD_WORDS.match(name)
    start = m.start("name") + (lead.end() if lead else 0)
    return text[start:m.end("name")], [(start, m.end("name"))], False
