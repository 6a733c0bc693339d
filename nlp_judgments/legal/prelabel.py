"""Rule pre-labeller: raw judgments in, span JSONL with the project's labels out, precision first.

It is the baseline a trained tagger must beat and the way to bootstrap training data for labels
no public data set has. Each label has one finder that proposes spans only where the pattern is
unambiguous; every proposal is checked by the matching normaliser (a money span must parse as
money, a charge must map to a statutory charge), and overlaps are settled by a fixed priority.

Labels: CASE_NO, LAW, COURT, PROCURATORATE, PENALTY, CHARGE, DATE, AMOUNT, APP, DEFENDANT.
Left out on purpose: PERSON, ORG and LOCATION (names and places need a model), bare article
lists with no law name, and amounts or dates whose only cue is context.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from typing import Iterable, Iterator

from nlp_judgments.legal import lexicons
from nlp_judgments.legal.institutions import find_institutions
from nlp_judgments.legal.normalize import (
    amount_to_yuan,
    canonical_charge,
    parse_date,
    penalty_to_months,
)
from nlp_judgments.spans import Span

_CJK = r"\u4e00-\u9fff"

# When two proposals overlap, the earlier label in this order wins (then the longer span).
# Institutions and numbers are the most certain; a fine's amount belongs to its PENALTY.
PRIORITY = ("CASE_NO", "LAW", "COURT", "PROCURATORATE", "PENALTY", "CHARGE", "DATE", "AMOUNT", "APP", "DEFENDANT")

# --- case numbers and laws ---------------------------------------------------------------------

_BRACKET_NO = re.compile(r"[（(〔［\[【﹝]\s*(?:19|20)\d{2}\s*[）)〕］\]】﹞]\s*第?[A-Za-z]?\d+号")


def _find_case_numbers(text: str) -> Iterator[Span]:
    for m in lexicons.CASE_NO_COURT.finditer(text):
        yield Span(m.start(), m.end(), "CASE_NO")
    for m in _BRACKET_NO.finditer(text):
        # A procuratorate number: the issuer (沪闵检诉刑诉) sits just left of the bracket.
        j = m.start()
        while j > 0 and m.start() - j < 14 and re.match(f"[{_CJK}]", text[j - 1]) and text[j - 1] not in "以的于在及和、":
            j -= 1
        issuer = text[j : m.start()]
        if "检" in issuer and not issuer.endswith("检察院") and len(issuer) >= 2:
            yield Span(j, m.end(), "CASE_NO")


_LAW_BARE = re.compile(r"(?:中华人民共和国)?(?:刑法|刑事诉讼法)(?=第)")
_LAW_SEP = re.compile(r"[、，,]|及|和|以及")


def _find_laws(text: str) -> Iterator[Span]:
    starts = [(m.start(), m.end()) for m in lexicons.LAW_NAME.finditer(text)]
    starts += [(m.start(), m.end()) for m in _LAW_BARE.finditer(text)
               if not (m.start() > 0 and text[m.start() - 1] == "《")]
    for s, e in starts:
        end = e
        m = lexicons.LAW_ARTICLE.match(text, end)
        if m:
            end = m.end()
            while True:
                sep = _LAW_SEP.match(text, end)
                if not sep:
                    break
                nxt = lexicons.LAW_ARTICLE.match(text, sep.end()) or lexicons.LAW_ARTICLE_CONT.match(text, sep.end())
                if not nxt or nxt.end() == sep.end():
                    break
                end = nxt.end()
        elif text[s] != "《":
            continue
        yield Span(s, end, "LAW")


# --- penalties, charges, money, dates ----------------------------------------------------------

_CN = "0-9一二两三四五六七八九十零"
_TERM = rf"(?:[{_CN}]+年)?[零又]?(?:[{_CN}]+个?月)?(?:[{_CN}]+日)?"
_MONEY = r"(?:人民币|¥|￥)?[0-9０-９.,，一二两三四五六七八九十百千万亿零〇壹贰叁肆伍陆柒捌玖拾佰仟]+(?:余|多)?(?:万|亿)?(?:余|多)?元"
_PENALTY_RE = re.compile(
    rf"死刑[，,]?缓期[一二两]年执行"
    rf"|(?<=判处)死刑(?=[，。；,](?!可))"
    rf"|无期徒刑"
    rf"|(?:有期徒刑|拘役|管制|缓刑)(?=[{_CN}])" + _TERM + r"(?!以下|以上|以内)"
    rf"|剥夺政治权利(?:终身|(?=[{_CN}])" + _TERM + r")"
    rf"|罚金{_MONEY}"
    rf"|没收个人全部财产|没收(?:个人)?财产{_MONEY}"
)

_AMOUNT_RE = re.compile(
    r"(?:人民币|¥|￥)?"
    r"[0-9０-９][0-9０-９.,，]*(?:余|多)?(?:万|亿)?(?:余|多)?(?:元)?(?:至|到|-)[0-9０-９][0-9０-９.,，]*(?:余|多)?(?:万|亿)?(?:余|多)?元(?:人民币)?(?:左右)?"
    r"|(?:人民币|¥|￥)?[0-9０-９][0-9０-９.,，]*(?:余|多)?(?:万|亿)?(?:余|多)?元(?:人民币)?(?:左右)?"
    r"|人民币[一二两三四五六七八九十百千万亿零壹贰叁肆伍陆柒捌玖拾佰仟]+(?:余|多)?元(?:左右)?"
    r"|(?<![一二两三四五六七八九十百千万亿零])[一二两三四五六七八九十][一二两三四五六七八九十百千万亿零]*(?:余|多)?万元"
    r"|[¥￥][0-9][0-9.,]*"
)

_D = "0-9０-９〇○零ＯOΟ一二三四五六七八九十"  # Latin O and Greek Ο stand in for 〇 in some judgments
_POD = r"(?:凌晨|清晨|早晨|早上|上午|中午|午后|下午|傍晚|晚上|晚间|夜间|深夜|上半夜|下半夜|半夜|晚|夜)"
_CLOCK = rf"(?:[{_D}]{{1,3}}(?:时|点)(?:[{_D}]{{1,3}}分|半)?)"
_POINT = (
    rf"(?:[{_D}]{{4}}年(?:[{_D}]{{1,2}}月(?:份)?(?:上旬|中旬|下旬|初|底)?(?:[{_D}]{{1,3}}日)?)?"
    rf"|(?:同年|次年)[{_D}]{{1,2}}月(?:[{_D}]{{1,3}}日)?|同月[{_D}]{{1,3}}日|次日|翌日"
    rf"|(?:当日|当天|同日|次日|翌日)(?={_POD}|{_CLOCK})|当晚|当夜"
    rf"|(?<![{_D}日年月])(?=[0-9]{{1,2}}时(?:[0-9]{{1,2}}分)?(?:许|左右))"
    rf"|(?<![{_D}年])[0-9０-９]{{1,2}}月[0-9０-９]{{1,2}}日)"
    rf"(?:左右)?(?:的一天|某日)?{_POD}?{_CLOCK}?(?:许|左右)?"
)
_DATE_RE = re.compile(rf"{_POINT}(?:(?:至|到)(?:{_POINT}|[{_D}]{{1,2}}月(?:[{_D}]{{1,3}}日)?|[{_D}]{{1,3}}日))?(?:期间|间)?")


def _find_penalties(text: str) -> Iterator[Span]:
    for m in _PENALTY_RE.finditer(text):
        if penalty_to_months(m.group(0)) is not None:
            yield Span(m.start(), m.end(), "PENALTY")


def _find_charges(text: str) -> Iterator[Span]:
    for m in re.finditer("罪", text):
        end = m.end()
        best = None
        j = m.start()
        while j > 0 and end - j < 40:
            ch = text[j - 1]
            if not (re.match(f"[{_CJK}、（）()]", ch)):
                break
            j -= 1
            cand = text[j:end]
            if cand.startswith(("犯", "构成", "涉嫌", "以", "、")):
                continue
            if canonical_charge(cand) is not None:
                best = j
        if best is not None:
            yield Span(best, end, "CHARGE")


# Where an _AMOUNT_RE match can begin: its five branches open with 人民币, ¥/￥, a digit, or a
# Chinese digit.
_AMOUNT_OPENING = re.compile(r"[人¥￥0-9０-９一二两三四五六七八九十]")
_AMOUNT_DIGITS = re.compile(r"[0-9０-９.,，]+")


def _amount_matches(text: str) -> Iterator[re.Match]:
    """``_AMOUNT_RE.finditer(text)``, in linear time on long runs of digits.

    The regex engine tries every digit of a run as a start, and each try reads to the end of the
    run and back: quadratic in the run (a 20,000-digit run took 16 s). Every branch that can start
    at a digit reads the whole run of ``[0-9０-９.,，]`` and then needs a character outside it
    (余 多 万 亿 元 至 到 -), so it fails at every later digit of a run if it failed at the first;
    no branch starts at ``.,，``. After a failed try at a digit, the scan jumps past the run.

    >>> [m.group(0) for m in _amount_matches("账号1234,5678，价值3000元")]
    ['3000元']
    """
    pos = 0
    while True:
        opening = _AMOUNT_OPENING.search(text, pos)
        if opening is None:
            return
        p = opening.start()
        m = _AMOUNT_RE.match(text, p)
        if m is not None:
            yield m
            pos = m.end()  # never empty: every branch reads at least one character
        elif text[p] in "0123456789０１２３４５６７８９":
            pos = _AMOUNT_DIGITS.match(text, p).end()
        else:
            pos = p + 1


def _find_amounts(text: str) -> Iterator[Span]:
    for m in _amount_matches(text):
        s, e = m.start(), m.end()
        piece = text[s:e].rstrip(",，.")
        e = s + len(piece)
        if amount_to_yuan(piece) is not None:
            yield Span(s, e, "AMOUNT")


def _find_dates(text: str) -> Iterator[Span]:
    for m in _DATE_RE.finditer(text):
        piece = m.group(0)
        if not piece or piece in ("次日", "翌日") and not text.startswith(("凌晨", "上午", "下午", "晚", "被", "中午"), m.end()):
            continue
        # Relative dates cannot be checked without context; absolute ones must parse.
        if piece[0].isdigit() or piece[0] in "０１２３４５６７８９〇○一二":
            if parse_date(piece, reference=2000) is None:
                continue
        yield Span(m.start(), m.end(), "DATE")


# --- apps and defendants -----------------------------------------------------------------------

_APP_CONTEXT = ("App", "APP", "app", "软件", "平台", "账号", "帐号", "账户", "客户端", "网", "群", "小程序", "直播", "店铺", "商城")


def _app_regex() -> re.Pattern:
    surfaces = sorted(lexicons.app_index(), key=len, reverse=True)
    return re.compile("|".join(re.escape(s) for s in surfaces))


_APP_RE: re.Pattern | None = None


def _find_apps(text: str) -> Iterator[Span]:
    global _APP_RE  # compiled once, lazily: the lexicon is data, not configuration
    if _APP_RE is None:
        _APP_RE = _app_regex()
    index = lexicons.app_index()
    for m in _APP_RE.finditer(text):
        surface = m.group(0)
        s, e = m.start(), m.end()
        if surface.isascii():
            # ASCII names must not be glued to other ASCII letters or digits (QQ in QQQ, 360 in 3600).
            if (s > 0 and text[s - 1].isascii() and text[s - 1].isalnum()) or (e < len(text) and text[e].isascii() and text[e].isalnum()):
                continue
        _, ambiguous = index[surface]
        if ambiguous and not text.startswith(_APP_CONTEXT, e):
            continue
        yield Span(s, e, "APP")


# A name: up to five characters, masked ones with Latin letters (李XX, 张xx, 王××), or parts joined by
# a middle dot (阿不力克木·模沙).
_NAME = rf"(?:[{_CJK}A-Za-z]{{1,10}}[·•・][{_CJK}A-Za-z]{{1,10}}|[{_CJK}0-9×ＸXx*＊]{{1,5}}?)"
_DEFENDANT_HEAD = re.compile(
    rf"(?:被告人|上诉人（原审被告人）|上诉人\(原审被告人\)|原审被告人|罪犯)[：:]?(?:自报)?(?P<name>{_NAME})"
    rf"(?=[，,（(](?:男|女|曾用名|化名|绰号|又名|别名|自报|自称|汉族|\d|[一二]〇|[12][0-9]{{3}}年))"
)
_NAME_BAD = ("某某某某", "男", "女", "辩护人", "供述", "律师", "系", "在", "于", "之")  # 之母: a guardian's relation
# Never inside a name: 被告人张某的供述，2015年… looks like a header to the pattern above.
_NAME_BAD_PARTS = ("的", "供述", "辩解", "陈述", "证言")


# Without a header (a single sentence), take the name straight after 被告人: a masked name
# (黄某某, 陈某甲, 张3) or two or three characters followed by a word that ends a name.
_DEFENDANT_INLINE = re.compile(
    rf"(?:被告人|上诉人)(?P<name>[{_CJK}](?:某[某甲乙丙丁戊]?|[0-9]{{1,2}})|[{_CJK}]{{2,3}}?)"
    rf"(?=[，,、。；（(的在于将因及和与系到被伙窃趁先持用驾以向对从等供辩称明无犯])"
)
_NOT_NAME_START = set("的对在及均亦到家等所供具系将已与和其认自能无辩未虽先后当如同各一二三四五六七八九十某因为是称应可不提没故多伙主之")


# Characters that occur in legal words after 被告人 (犯罪, 缓刑, 酌情, 实施) but rarely in names.
_NOT_NAME_CHARS = set("罪刑罚法情求施过始则酒予次期审判诉讼供述称认犯窃骗盗抢夺伤害赃款物证据行为案")
_MASKED = re.compile(rf"[{_CJK}](?:某[某甲乙丙丁戊]?|[0-9]{{1,2}})")


def _find_defendants(text: str) -> Iterator[Span]:
    names = set()
    for m in _DEFENDANT_HEAD.finditer(text):
        name = m.group("name")
        if any(b == name or name.startswith(b) for b in _NAME_BAD) or any(p in name for p in _NAME_BAD_PARTS):
            continue
        names.add(name)
    if not names:
        # No party header (a single sentence): fall back to the name right after 被告人,
        # trusting masked names (黄某某) and only word-free two- or three-character names.
        for m in _DEFENDANT_INLINE.finditer(text):
            name = m.group("name")
            if name[0] in _NOT_NAME_START:
                continue
            if _MASKED.fullmatch(name) or not (set(name) & _NOT_NAME_CHARS) and "某" not in name:
                names.add(name)
    for s, e in _occurrences(text, names):
        nxt = text[e : e + 1]
        # 李某 must not match inside 李某某 or 李某甲; 张3 not inside 张31.
        if nxt and (nxt in "某甲乙丙丁戊" or nxt.isdigit()):
            continue
        yield Span(s, e, "DEFENDANT")


def _occurrences(text: str, names: set[str]) -> Iterator[tuple[int, int]]:
    """Where each name occurs, as ``re.finditer(re.escape(name), text)`` finds it, name by name.

    One pass over the text for all names together: a search per name costs names x text, and a
    long judgment has both many defendants and many characters. Only characters that open a name
    are visited, then the few name lengths are looked up there. Occurrences of one name do not
    overlap (as with finditer); occurrences of different names may.

    >>> sorted(_occurrences("张三丰和张三", {"张三", "张三丰", "三丰"}))
    [(0, 2), (0, 3), (1, 3), (4, 6)]
    """
    if not names:
        return
    lengths = sorted({len(n) for n in names})
    free_from = dict.fromkeys(names, 0)  # where each name's next occurrence may start
    opening = re.compile("|".join(sorted({re.escape(n[0]) for n in names})))
    for m in opening.finditer(text):
        s = m.start()
        for n in lengths:
            name = text[s : s + n]
            if len(name) == n and name in free_from and s >= free_from[name]:
                free_from[name] = s + n
                yield s, s + n


_FINDERS = (
    _find_case_numbers, _find_laws,
    lambda t: find_institutions(t, lexicons.COURT_TAIL, "COURT"),
    lambda t: find_institutions(t, lexicons.PROCURATORATE_TAIL, "PROCURATORATE"),
    _find_penalties, _find_charges, _find_dates, _find_amounts, _find_apps, _find_defendants,
)


def _resolve(proposals: Iterable[Span]) -> list[Span]:
    """Keep non-overlapping spans: higher-priority label first, then the longer span.

    Greedy in that order, each proposal kept unless it overlaps one kept before. The kept spans are
    disjoint, so sorted by ``(start, end)`` their ends never decrease: the one that starts last
    before a proposal's end has the largest end of all that start before it, and the proposal
    overlaps a kept span exactly when that end lies past the proposal's start. A bisection per
    proposal makes this O(n log n) comparisons where testing every kept span was quadratic in the text
    (``tests/test_prelabel.py`` checks both give the same spans).

    >>> [(s.start, s.end, s.label) for s in _resolve([Span(0, 4, "DATE"), Span(2, 6, "COURT"), Span(6, 8, "DATE")])]
    [(2, 6, 'COURT'), (6, 8, 'DATE')]
    """
    rank = {label: i for i, label in enumerate(PRIORITY)}
    kept: list[tuple[int, int]] = []  # sorted (start, end) of the spans kept so far
    chosen: list[Span] = []
    for span in sorted(set(proposals), key=lambda s: (rank[s.label], -(s.end - s.start), s.start)):
        i = bisect_left(kept, (span.end,))  # kept[:i] start before span.end
        if i and kept[i - 1][1] > span.start:
            continue
        insort(kept, (span.start, span.end))  # a C memmove per insert: cheap next to the Python loop
        chosen.append(span)
    return sorted(chosen)


def prelabel_text(text: str) -> list[Span]:
    """Propose entity spans for one judgment, sorted by position.

    >>> t = "上海市长宁区人民法院 （2019）沪0105刑初731号 被告人安某，男。被告人安某犯盗窃罪，判处有期徒刑六个月。"
    >>> [(t[s.start:s.end], s.label) for s in prelabel_text(t)][:3]
    [('上海市长宁区人民法院', 'COURT'), ('（2019）沪0105刑初731号', 'CASE_NO'), ('安某', 'DEFENDANT')]
    """
    proposals: list[Span] = []
    for finder in _FINDERS:
        proposals.extend(finder(text))
    return _resolve(proposals)
