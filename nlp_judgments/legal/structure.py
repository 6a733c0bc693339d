"""The judgment's structure: split a criminal judgment into its parts, in the order judgments write them.

``segment(text)`` returns the parts it finds as :class:`Section` ``(kind, start, end)`` character
ranges of the original text, in text order and never overlapping. The kinds, in document order:

- ``title``: words before the header (陈某盗窃一审刑事判决书, 终稿);
- ``header``: the court, the document type (刑事判决书) and the case number;
- ``parties``: the party lines: 公诉机关, each 被告人 / 上诉人（原审被告人） / 被告单位 with personal
  details, prior convictions and custody, counsel, guardians, representatives;
- ``procedure``: how the case came to this court (…以…起诉书指控…，于…向本院提起公诉…审理终结);
- ``charge``: the prosecution's charge (公诉机关指控…), on appeal the judgment appealed (原判认定…)
  and the grounds of appeal, and the defence's answer;
- ``facts``: the facts found (经审理查明…);
- ``reasoning``: 本院认为… up to and including 判决如下；
- ``verdict``: after 判决如下 up to the appeal notice;
- ``appeal_notice``: 如不服本判决… / 本判决为终审判决;
- ``signature``: the bench, the date and the clerk;
- ``appendix``: whatever follows the signature (the law text, an appended blank template).

Paragraphs are runs of text between newlines or ASCII spaces (the corpus writes paragraphs
separated by single spaces). Each part opens at a paragraph whose first words say what it is;
the verdict opens right after 判决如下 and the appeal notice at its first phrase, wherever they fall
in a paragraph. A part that cannot be found is absent, never an exception: a single sentence yields
a section or two, or none.

    >>> t = ("某县人民法院 刑事判决书 （2020）某0101刑初1号 公诉机关某县人民检察院。 被告人甲，男。 本院认为，甲犯盗窃罪。"
    ...      "判决如下： 被告人甲犯盗窃罪，判处拘役三个月。 如不服本判决，可上诉。 审判员乙 二〇二〇年一月二日 书记员丙")
    >>> [(s.kind, t[s.start:s.end][:4]) for s in segment(t)]
    [('header', '某县人民'), ('parties', '公诉机关'), ('reasoning', '本院认为'), ('verdict', '被告人甲'), ('appeal_notice', '如不服本'), ('signature', '审判员乙')]

Not here: reading fields out of the parts (``parties.py``, ``case_fields.py``, ``verdict.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from nlp_judgments.legal import lexicons

KINDS = ("title", "header", "parties", "procedure", "charge", "facts", "reasoning", "verdict", "appeal_notice",
         "signature", "appendix")


@dataclass(frozen=True)
class Section:
    """One part of a judgment: ``text[start:end]`` (end-exclusive, trimmed of surrounding spaces)."""

    kind: str
    start: int
    end: int


# The header looks at the first paragraphs only: a title of a line or two precedes it at most.
_HEADER_WINDOW = 8
_DOC_TYPE = re.compile(r"(?P<court>.{2,40}?法院)?\s*(?P<type>刑事(?:附带民事)?(?:判决书|裁定书)|判决书)")
_COURT_LINE = re.compile(r"[^\s，。、；：,.;:（）()“”]{2,40}法院")
# A case number paragraph: a bracketed year or a procedure code, ending in 号 (（2017）沪0120刑初684号,
# 格刑初字第117号).
_CASE_LINE = re.compile(r"[^\s，。；]{0,6}[（(〔［\[【﹝]?\s*(?:19|20)?[0-9]{0,2}\s*[）)〕］\]】﹞]?[^\s，。；]{0,20}?号")
PARTY_ROLE = re.compile(
    r"(?:原审|原)?(?:公诉|抗诉|自诉)[^，。：:]{0,12}?(?:机关|人)|(?:上诉人|原审上诉人|被上诉人|申诉人)?[（(]?原审被告[人单位]+[^）)]{0,12}[）)]?"
    r"|上诉人|被告人|被告单位|上诉单位|罪犯|(?:指定)?辩护人|诉讼代表人|法定代表人|(?:法定|委托|诉讼)代理人|近亲属|被害人"
    r"|附带民事诉讼(?:原告人|被告人|原告|被告)|监护人|翻译人员|上述[一二三四五六七八九十两\d]*(?:名)?被告人"
)
_PROCEDURE_CUE = re.compile(r"以[^，。；]{0,40}?起诉书|开庭审理了本案|提起公诉|提起控诉|提起自诉|提出控诉|审理终结|本院受理|提起抗诉|提出抗诉|向本院起诉|决定再审|提起再审")
_CASE_CUE = re.compile(r"一案")  # 审理…一案 opens the procedure; 一案 deep in a paragraph is a narrative
_DEFENDANT_START = re.compile(r"(?:原审)?(?:上诉人|被告人|被告单位|罪犯)|[（(]原审被告")  # a party line, even with 一案 in it
_CHARGE_CUE = re.compile(
    r"(?:原公诉机关|公诉机关|抗诉机关|自诉人[^，。：:]{0,8}?|[^，。：:]{0,30}?检察院(?:以[^，。]{0,30}?)?)(?:起诉书)?(?:指控|起诉指控|抗诉(?:称|认为|提出))"
    r"|(?:原判|原审|原审判决|原判决|一审判决|一审法院|原审法院|一审)(?:认定|查明|认为)"
    r"|[^，。：:]{0,20}?上诉(?:称|提出|理由|意见)"
)
_FACTS_CUE = re.compile(r"[^，。：:]{0,14}?(?:审理|二审|本院|经)[^，。：:]{0,4}?查明|经审理，本院查明|经法庭审理，查明|经审理认定|经审查")
_REASONING_CUE = re.compile(r"本院认为")
_VERDICT_START = re.compile(r"判决如下[：:]?")
_APPEAL_NOTICE = re.compile(r"如不服本判决|本判决为终审判决|如不服本裁定|本裁定为终审裁定")
_BENCH = re.compile(r"(?:审判长|(?:代理|助理)?审判员|人民陪审员|陪审员)")
_SIGNATURE_LINE = re.compile(
    r"(?:审判长|(?:代理|助理)?审判员|人民陪审员|陪审员|(?:[（(]代[）)]|见习|代理|代)?书记员|法官助理|速录员|本件与原本核对无异)"
    r"|[0-9〇○零ＯOΟ一二三四五六七八九十]{2,8}\s*年\s*[0-9〇○零ＯOΟ一二三四五六七八九十]{1,2}\s*月"
)


# A space inside a number or date (于2018 年2月9日) is a typing slip, not a paragraph break.
_PARAGRAPH = re.compile(r"[^ \n\r\t]+(?:[ \t]+(?<=[0-9][ \t])(?=[0-9年月日号元])[^ \n\r\t]+)*")
_INDENT = "\u3000"
# A text written without paragraph breaks (fewer than this many paragraphs, and longer than a
# sentence or two) is read sentence by sentence instead.
_FEW_PARAGRAPHS, _LONG_TEXT = 4, 300
_SENTENCE = re.compile(r"[^。]+。?")


@lru_cache(maxsize=4)  # segment() and the party lines read the same text's paragraphs
def paragraphs(text: str) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` of each paragraph: runs of text between newlines or ASCII spaces, indentation
    (full-width spaces) trimmed; sentences (to each 。) where the text has no paragraph breaks."""
    out = []
    for m in _PARAGRAPH.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s] == _INDENT:
            s += 1
        while e > s and text[e - 1] == _INDENT:
            e -= 1
        if e > s:
            out.append((s, e))
    if len(out) < _FEW_PARAGRAPHS and len(text) > _LONG_TEXT:
        out = [(m.start(), m.end()) for s, e in out for m in _SENTENCE.finditer(text, s, e)]
    return tuple(out)


# A header glued to the text around it (a text without paragraph breaks): the court opens the text or
# follows a title ending in 判决书.
_GLUED_HEADER = re.compile(
    r"(?:^|(?<=判决书)|(?<=裁定书)|(?<=\s))(?P<court>(?:(?!判决书|裁定书)[^\s，。；：、（）()“”]){2,40}?法院)\s*"
    r"(?:刑事(?:附带民事)?(?:判决书|裁定书))\s*"
    r"(?P<number>[（(〔［\[【﹝]\s*(?:19|20)\d{2}\s*[）)〕］\]】﹞][^\s，。；]{1,30}?号|[^\s，。；（(公被原上]{1,6}刑[^\s，。；]{0,12}?号)?"
)
_GLUED_WINDOW = 300


def _header(text: str, paras: tuple[tuple[int, int], ...]) -> tuple[int, list[Section]]:
    """The title and header sections, and the position where the body starts."""
    first = paras[:_HEADER_WINDOW]
    doc, court = None, None
    for i, (s, e) in enumerate(first):
        m = _DOC_TYPE.fullmatch(text, s, e)
        # Of a document type written twice in a row (a title that is only 刑事判决书), the second.
        if m and not (i + 1 < len(first) and _DOC_TYPE.fullmatch(text, *first[i + 1])):
            doc = i
            if m.group("court"):
                court = i
            elif i and _COURT_LINE.fullmatch(text, *first[i - 1]):
                court = i - 1
            break
    if doc is None:  # no document type: a court name standing alone opens the header
        court = next((i for i, (s, e) in enumerate(first) if _COURT_LINE.fullmatch(text, s, e)), None)
        if court is None:
            return _glued_header(text, paras)
        doc = court
    start = court if court is not None else doc
    end = doc + 1
    if end < len(paras) and _CASE_LINE.fullmatch(text, *paras[end]):
        end += 1
    sections = []
    if start > 0:
        sections.append(Section("title", paras[0][0], paras[start - 1][1]))
    sections.append(Section("header", paras[start][0], paras[end - 1][1]))
    return paras[end - 1][1], sections


def _glued_header(text: str, paras: tuple[tuple[int, int], ...]) -> tuple[int, list[Section]]:
    lo = paras[0][0] if paras else 0
    m = _GLUED_HEADER.search(text, lo, min(len(text), lo + _GLUED_WINDOW))
    if m is None:
        return 0, []
    # A court name opens at the latest at its province (终稿广东省…法院: 终稿 is a title).
    start = m.start()
    province = next((p for p in lexicons.PROVINCES if text.find(p, start, m.end("court")) > start), None)
    if province:
        start = text.find(province, start, m.end("court"))
    sections = [Section("title", lo, _trim_end(text, lo, start))] if text[lo:start].strip() else []
    return m.end(), sections + [Section("header", start, m.end())]


def _classify(text: str, s: int, e: int) -> str | None:
    """The kind of section a paragraph opens, or None for a paragraph that continues the current one.

    The procedure paragraph also names the charge (…以…起诉书指控被告人甲犯盗窃罪，于…向本院提起公诉),
    so its own phrases are tried before the charge's; a party line opens with a role word.
    """
    if _REASONING_CUE.match(text, s, e):
        return "reasoning"
    if _FACTS_CUE.match(text, s, e):
        return "facts"
    if _PROCEDURE_CUE.search(text, s, e) or (_CASE_CUE.search(text, s, min(e, s + 80))
                                               and not _DEFENDANT_START.match(text, s, e)):
        return "procedure"
    if _CHARGE_CUE.match(text, s, e):
        return "charge"
    if PARTY_ROLE.match(text, s, e):
        return "parties"
    return None


def _body(text: str, paras: tuple[tuple[int, int], ...], first: int, limit: int) -> list[Section]:
    """Parties, procedure, charge, facts and reasoning: the paragraphs from position ``first`` that start
    before ``limit`` (a paragraph ``first`` falls inside is read from ``first``).

    Each part opens at a paragraph that says what it is and runs to the next opening; the order is
    fixed, so a cue of an earlier part later on (a party role word in the facts) opens nothing.
    """
    order = ("parties", "procedure", "charge", "facts", "reasoning")
    opened: list[tuple[str, int]] = []  # (kind, start)
    for s, e in paras:
        if e <= first:
            continue
        s = max(s, first)
        while s < e and text[s] in " \n\r\t" + _INDENT:
            s += 1
        if s >= limit:
            break
        kind = _classify(text, s, e)
        if kind is None or kind == "procedure" and opened and opened[-1][0] != "parties":
            continue  # procedure cues (一案, 立案) recur in later parts
        if opened and order.index(kind) <= order.index(opened[-1][0]):
            continue
        opened.append((kind, s))
    sections = []
    for i, (kind, s) in enumerate(opened):
        e = opened[i + 1][1] if i + 1 < len(opened) else limit
        e = _trim_end(text, s, e)
        if e > s:
            sections.append(Section(kind, s, e))
    return sections


def _trim_end(text: str, s: int, e: int) -> int:
    while e > s and text[e - 1] in " \n\r\t":
        e -= 1
    return e


def _signature(text: str, paras: tuple[tuple[int, int], ...], lo: int) -> tuple[int, int] | None:
    """The signature block: the first run of bench, date and clerk paragraphs starting at or after ``lo``."""
    start = end = None
    for s, e in paras:
        if e <= lo:
            continue
        s = max(s, lo)
        if start is None:
            if _BENCH.match(text, s, e):
                start, end = s, e
            continue
        if _SIGNATURE_LINE.match(text, s, e) and e - s <= 40:
            end = e
        else:
            break
    return (start, end) if start is not None else None


def segment(text: str) -> list[Section]:
    """The parts of a judgment that can be found, in text order (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        return []
    paras = paragraphs(text)
    body_from, sections = _header(text, paras)
    # The verdict: the first 判决如下 after the reasoning opens (the reasoning ends with it); the
    # main judgment ends with the first signature block after it, so an appended copy or template
    # (with a 判决如下 of its own) is appendix.
    reasoning_at = next((s for s, e in paras if s >= body_from and _REASONING_CUE.match(text, s, e)), None)
    verdict = _VERDICT_START.search(text, reasoning_at if reasoning_at is not None else body_from)
    if verdict is None and reasoning_at is not None:
        verdict = _VERDICT_START.search(text)
    limit = verdict.start() if verdict else len(text)
    notice = _APPEAL_NOTICE.search(text, verdict.end()) if verdict else None
    signature = _signature(text, paras, notice.end() if notice else (verdict.end() if verdict else len(text)))
    if verdict is None and signature is not None:
        limit = min(limit, signature[0])
    if notice is not None and signature is not None and signature[0] < notice.start():
        notice = None
    body = _body(text, paras, body_from, limit)
    if verdict is not None:
        # The reasoning runs to the end of 判决如下; without one, the last body part does.
        if body:
            last = body[-1]
            body[-1] = Section(last.kind, last.start, verdict.end())
        sections += body
        v_end = notice.start() if notice else (signature[0] if signature else len(text))
        v_end = _trim_end(text, verdict.end(), v_end)
        v_start = verdict.end()
        while v_start < v_end and text[v_start] in " \n\r\t":
            v_start += 1
        if v_end > v_start:
            sections.append(Section("verdict", v_start, v_end))
    else:
        sections += body
    if notice is not None:
        n_end = _trim_end(text, notice.start(), signature[0] if signature else len(text))
        sections.append(Section("appeal_notice", notice.start(), n_end))
    if signature is not None:
        sections.append(Section("signature", *signature))
        rest = signature[1]
        while rest < len(text) and text[rest] in " \n\r\t":
            rest += 1
        if rest < len(text):
            sections.append(Section("appendix", rest, _trim_end(text, rest, len(text))))
    return _ordered(text, sections)


def _ordered(text: str, sections: list[Section]) -> list[Section]:
    """Sections in text order with overlaps cut (an earlier part never runs into a later one)."""
    out: list[Section] = []
    for sec in sorted(sections, key=lambda x: x.start):
        if out and out[-1].end > sec.start:
            prev = out[-1]
            out[-1] = Section(prev.kind, prev.start, _trim_end(text, prev.start, sec.start))
            if out[-1].end <= out[-1].start:
                out.pop()
        if sec.end > sec.start:
            out.append(sec)
    return out


def find(sections: list[Section], kind: str) -> Section | None:
    """The section of ``kind``, or None."""
    return next((s for s in sections if s.kind == kind), None)
