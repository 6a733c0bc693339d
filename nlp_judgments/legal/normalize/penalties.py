"""Penalties: ``penalty_to_months`` reads one imposed penalty (有期徒刑三年三个月, 并处罚金人民币二千元) as a :class:`Penalty`.

Not here: which penalty is a defendant's sentence (``records.py`` reads the verdict), and
statutory ranges (三年以下有期徒刑 is no penalty).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp_judgments.legal.normalize.money import Amount, amount_to_yuan
from nlp_judgments.legal.normalize.numbers import fold, parse_number


@dataclass(frozen=True)
class Penalty:
    """One imposed penalty. ``months`` is the term (None when there is none or it is for life).

    ``kind`` is one of 有期徒刑, 拘役, 管制, 无期徒刑, 死刑, 死刑缓期执行, 缓刑, 剥夺政治权利,
    罚金, 没收财产, 驱逐出境, 免予刑事处罚. ``days`` holds a remainder in days (拘役一个月十五日).
    ``life`` marks 终身 and 无期; ``amount`` is the sum of a 罚金 or 没收财产; ``all_property``
    marks 没收个人全部财产.
    """

    kind: str
    months: int | None = None
    days: int = 0
    life: bool = False
    amount: Amount | None = None
    all_property: bool = False


# 零 and 又 join the parts of a term: 一年零六个月, 二年又三个月, 一个月零十五天.
_TERM = r"(?:[0-9一二两三四五六七八九十零]+年)?(?:零|又)?(?:[0-9一二两三四五六七八九十]+个?月)?(?:零|又)?(?:[0-9一二两三四五六七八九十]+日|[0-9一二两三四五六七八九十]+天)?"
_PENALTY_RE = re.compile(
    r"(?P<death_susp>死刑[，,、]?缓期(?P<susp>[一二两0-9]+)年执行)"
    r"|(?P<death>死刑(?:[，,、]?立即执行)?)"
    r"|(?P<life>无期徒刑)"
    r"|(?P<kind>有期徒刑|拘役|管制|缓刑|剥夺政治权利)(?P<term>终身|" + _TERM + r")"
    r"|(?P<fine>罚金)(?P<fine_amount>.*)"
    r"|(?P<confisc>没收(?:个人)?(?:全部)?财产)(?P<conf_amount>.*)"
    r"|(?P<expel>驱逐出境)"
    r"|(?P<exempt>免予刑事处罚|免于刑事处罚)"
)
_LEAD_PENALTY = ("判处", "并处", "单处", "决定执行", "执行", "处以", "处", "判")


def _term_to_months(term: str) -> tuple[int, int] | None:
    m = re.fullmatch(
        r"(?:(?P<y>[0-9一二两三四五六七八九十零]+)年)?[零又]?(?:(?P<m>[0-9一二两三四五六七八九十]+)个?月)?[零又]?"
        r"(?:(?P<d>[0-9一二两三四五六七八九十]+)(?:日|天))?",
        term,
    )
    if not m or not any(m.groups()):
        return None
    parts = []
    for key in ("y", "m", "d"):
        g = m.group(key)
        parts.append(int(parse_number(g)) if g else 0)
    years, months, days = parts
    return years * 12 + months, days


def penalty_to_months(text: str) -> Penalty | None:
    """Parse one penalty as a verdict writes it; None if ``text`` is not a penalty.

    >>> penalty_to_months("有期徒刑三年三个月").months
    39
    >>> penalty_to_months("并处罚金人民币二千元").amount.value
    Decimal('2000')
    """
    s = fold(text).strip("，,。；;")
    for w in _LEAD_PENALTY:
        if s.startswith(w) and len(s) > len(w):
            s = s[len(w):]
            break
    m = _PENALTY_RE.fullmatch(s)
    if not m:
        return None
    if m.group("death_susp"):
        return Penalty("死刑缓期执行", months=int(parse_number(m.group("susp"))) * 12)
    if m.group("death"):
        return Penalty("死刑", life=True)
    if m.group("life"):
        return Penalty("无期徒刑", life=True)
    if m.group("kind"):
        term = m.group("term")
        if term == "终身":
            return Penalty(m.group("kind"), life=True)
        parsed = _term_to_months(term) if term else None
        if parsed is None:
            return None  # 有期徒刑 with no term is a statutory reference, not a sentence
        return Penalty(m.group("kind"), months=parsed[0], days=parsed[1])
    if m.group("fine"):
        rest = m.group("fine_amount")
        if not rest:
            return Penalty("罚金")
        amount = amount_to_yuan(rest)
        return Penalty("罚金", amount=amount) if amount else None
    if m.group("confisc"):
        rest = m.group("conf_amount")
        all_property = "全部" in m.group("confisc")
        if not rest:
            return Penalty("没收财产", all_property=all_property)
        amount = amount_to_yuan(rest)
        return Penalty("没收财产", amount=amount, all_property=all_property) if amount else None
    if m.group("expel"):
        return Penalty("驱逐出境")
    return Penalty("免予刑事处罚")

