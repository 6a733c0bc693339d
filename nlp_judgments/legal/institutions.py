"""Court and procuratorate names in running text: read the place part leftwards from the institution's tail.

``find_institutions(text, tail, label)`` yields a span for each ``tail`` match (人民法院, 中级人民法院,
人民检察院, 铁路运输法院…) whose place part can be read: provinces, then administrative units
(市, 县, 区, 自治州, 开发区, 兵团, 第八师, 第二市区…) right to left, each with a name part of a few
characters. Words that run into a name in prose (审理, 经, 于…日) are not part of it.

Not here: the tails and unit lists themselves (``lexicons.py``), settling overlaps with other labels
(``prelabel.py``).
"""

from __future__ import annotations

import re
from typing import Iterator

from nlp_judgments.legal import lexicons
from nlp_judgments.spans import Span

_CJK = r"\u4e00-\u9fff"
_SUFFIX_CHARS = set("省市县区旗盟")  # not 州: 杭州市, 郑州市
_CN_DIGITS = "〇一二三四五六七八九十"
# Characters that end a place name when reading leftwards from an institution's tail.
_STOP_CHARS = set("向由被在于至及和与、，。；：:,.;（）()“”\"‘’ \n\t\u3000以将对的据关院向称人诉即系从自到")


# Words that run into a place name read leftwards (…日经黄州区…, …法院审理金平县…): the name starts
# after them. 经 of 经济技术开发区 is part of a name.
_LEAD_WORDS = re.compile(rf".*(?:审理|受理|批准|指派|通过|经(?!济)|[0-9{_CN_DIGITS}]日)")
# Numbered districts (东莞市第二市区) and divisions of the production corps (兵团第八师).
_NUMBERED_UNIT = re.compile(r"第[一二三四五六七八九十]+(?:市区|师)$")


def institution_start(text: str, pos: int) -> int | None:
    """Read administrative units leftwards from ``pos``; return where the name starts, or None."""
    start = pos
    units = 0
    while True:
        province = next((p for p in lexicons.PROVINCES if text.endswith(p, 0, start)), None)
        if province:
            return start - len(province)
        numbered = _NUMBERED_UNIT.search(text, max(0, start - 6), start)
        if numbered:
            start = numbered.start()
            units += 1
            continue
        suffix = next((s for s in lexicons.ADMIN_SUFFIXES if text.endswith(s, 0, start)), None)
        if suffix is None:
            break
        i = start - len(suffix)
        j = i
        # The name part: CJK, not an admin suffix char, not a stop char, at most 6 chars (12 for the
        # zones and autonomous areas that carry long names: 郑州航空港经济综合实验区, 苏州工业园区,
        # 红河哈尼族彝族自治州).
        longest = 12 if len(suffix) > 1 and (suffix.endswith("区") or suffix.startswith("自治")) else 6
        while j > 0 and i - j < longest and re.match(f"[{_CJK}]", text[j - 1]) and text[j - 1] not in _SUFFIX_CHARS \
                and text[j - 1] not in _STOP_CHARS:
            j -= 1
        if i - j == 1 and j >= 2 and text[j - 1] == "市" and text[j - 2] == "市":
            j -= 1  # a district whose name opens with 市: 青岛市市北区, 济南市市中区
        lead = _LEAD_WORDS.match(text, j, i)
        if lead:
            j = lead.end()
        if i - j < 1 or (i - j == 1 and units == 0 and suffix in ("区", "市")):
            break
        start = j
        units += 1
    return start if units else None


_SPECIAL_COURTS = ("铁路运输", "海事", "知识产权", "互联网", "金融", "林区", "农垦")


def find_institutions(text: str, tail: re.Pattern, label: str) -> Iterator[Span]:
    """A ``label`` span for each ``tail`` match whose name can be read (上海市长宁区人民法院, 最高人民法院).

    >>> t = "于2019年3月1日经青溪县人民检察院批准"
    >>> [t[s.start:s.end] for s in find_institutions(t, lexicons.PROCURATORATE_TAIL, "PROCURATORATE")]
    ['青溪县人民检察院']
    """
    for m in tail.finditer(text):
        if text.startswith("最高", m.start() - 2) and m.group(0) in ("人民法院", "人民检察院"):
            yield Span(m.start() - 2, m.end(), label)
            continue
        start = institution_start(text, m.start())
        if start is None and m.group(0).startswith(_SPECIAL_COURTS):
            # Special courts carry a bare city name: 锦州铁路运输法院, 上海海事法院.
            before = text[max(0, m.start() - 4) : m.start()]
            for n in range(len(before), 1, -1):
                if re.fullmatch(f"[{_CJK}]+", before[-n:]) and not set(before[-n:]) & _STOP_CHARS:
                    start = m.start() - n
                    break
        if start is not None and m.end() - start <= 40:
            yield Span(start, m.end(), label)
