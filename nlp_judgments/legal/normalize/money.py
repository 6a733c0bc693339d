"""Money: ``amount_to_yuan`` reads one amount (人民币1.2万余元, 2至3万元, 六七十元) as an :class:`Amount`.

Not here: currency conversion (a US-dollar amount keeps its currency), and finding amounts in
running text (``prelabel.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from nlp_judgments.legal.normalize.numbers import (
    CN_BIG_UNIT,
    CN_DIGIT,
    CN_SMALL_UNIT,
    fold,
    parse_number,
)


@dataclass(frozen=True)
class Amount:
    """A sum of money. ``value`` is in units of ``currency`` (yuan for CNY); a range has ``high``.

    ``unit`` is the unit as written (元, 万元, 亿元) so a reader can tell 2万元 from 20000元.
    """

    value: Decimal
    high: Decimal | None = None
    approximate: bool = False
    currency: str = "CNY"
    unit: str = "元"

    @property
    def is_range(self) -> bool:
        return self.high is not None


_CURRENCIES = {
    "人民币": "CNY", "RMB": "CNY", "CNY": "CNY", "¥": "CNY", "￥": "CNY",
    "美元": "USD", "美金": "USD", "US$": "USD", "$": "USD", "港币": "HKD", "港元": "HKD",
    "澳门币": "MOP", "新台币": "TWD", "欧元": "EUR", "日元": "JPY", "英镑": "GBP", "韩元": "KRW",
}
_CURRENCY_RE = "|".join(sorted((re.escape(c) for c in _CURRENCIES), key=len, reverse=True))
_LEAD_WORDS = ("价值", "共计", "合计", "总计", "累计", "计", "共", "现金", "金额")
_TRAIL_WORDS = ("现金", "赃款")
_NUM = r"[0-9.,〇○零一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]+"
_AMOUNT_RE = re.compile(
    rf"(?P<pre>(?:{_CURRENCY_RE})?)(?P<approx_pre>约合|大约|约|近|逾)?(?P<n1>{_NUM}?)(?P<a1>余|多)?(?P<u1>万|亿)?(?P<a1b>余|多)?"
    rf"(?:(?P<cur1>元|块)?(?:至|到|-|—|~|〜)(?P<pre2>(?:{_CURRENCY_RE})?)(?P<n2>{_NUM}?))?"
    rf"(?P<a2>余|多)?(?P<u2>万|亿)?(?P<a3>余|多)?(?P<yuan>元|块钱|块|(?:{_CURRENCY_RE}))?(?P<post>(?:{_CURRENCY_RE})?)"
    r"(?P<approx_post>左右|上下|许)?(?:不等)?"
)
_ADJACENT_RANGE = re.compile(r"^([一二三四五六七八九])([一二三四五六七八九])(十|百|千|万)$")


def amount_to_yuan(text: str) -> Amount | None:
    """Parse a money expression; None if it names no currency or unit, or is not a number.

    Approximation (余, 多, 约, 左右, 近) sets ``approximate``; 2万至3万元 and 2至3万元 are ranges
    (``value`` the low end, ``high`` the high end). Leading 价值/共计/现金 are tolerated.

    >>> amount_to_yuan("人民币二万八千元左右")
    Amount(value=Decimal('28000'), high=None, approximate=True, currency='CNY', unit='元')
    >>> amount_to_yuan("10万至30万元").high
    Decimal('300000')
    """
    s = fold(text)
    for w in _LEAD_WORDS:
        if s.startswith(w) and len(s) > len(w):
            s = s[len(w):]
            break
    lead_approx = False
    for w in ("大约", "约合", "约", "近", "逾"):
        if s.startswith(w) and len(s) > len(w):
            s, lead_approx = s[len(w):], True
            break
    for w in _TRAIL_WORDS:
        if s.endswith(w) and len(s) > len(w):
            s = s[: -len(w)]
    m = _AMOUNT_RE.fullmatch(s)
    if not m or not m.group("n1"):
        return None
    currency = None
    for key in ("pre", "pre2", "yuan", "post"):
        g = m.group(key)
        if g and g in _CURRENCIES:
            currency = _CURRENCIES[g]
        elif g and key == "yuan":
            currency = currency or "CNY"
    if currency is None:
        return None  # a bare number is not money
    approximate = lead_approx or bool(m.group("approx_pre") or m.group("approx_post")
                       or m.group("a1") or m.group("a1b") or m.group("a2") or m.group("a3"))
    n1, n2 = m.group("n1"), m.group("n2")
    u1 = m.group("u1") or ""
    u2 = m.group("u2") or ""
    if n2:
        if m.group("cur1"):
            u1 = u1 or ""
        v1, v2 = parse_number(n1), parse_number(n2)
        if v1 is None or v2 is None:
            return None
        if not u1 and u2 and not m.group("cur1") and v1 < v2 and not _has_unit(n1):
            u1 = u2  # 2至3万元: the unit written once applies to both ends
        low, high = parse_number(n1 + u1), parse_number(n2 + u2)
        if low is None or high is None:
            return None
        if low > high:
            low, high = high, low
        return Amount(_clean(low), _clean(high), approximate, currency, (u2 or u1) + "元")
    unit = u1 or u2
    written = m.group("yuan")
    unit_text = unit + "元" if written in (None, "元", "块", "块钱") or _CURRENCIES.get(written) == "CNY" else unit + written
    adj = _ADJACENT_RANGE.match(n1)
    if adj and not unit:
        # 六七十元: two adjacent digits before a unit mean "sixty or seventy".
        mult = {"十": 10, "百": 100, "千": 1000, "万": 10**4}[adj.group(3)]
        lo, hi = CN_DIGIT[adj.group(1)] * mult, CN_DIGIT[adj.group(2)] * mult
        if hi == lo + mult:
            return Amount(Decimal(lo), Decimal(hi), True, currency, "元")
    # Parse number and unit together so 3亿2000万 reads as one numeral.
    value = parse_number(n1 + unit)
    if value is None:
        return None
    return Amount(_clean(value), None, approximate, currency, unit_text)


def _has_unit(numeral: str) -> bool:
    return any(ch in CN_BIG_UNIT or ch in CN_SMALL_UNIT for ch in numeral)


def _clean(d: Decimal) -> Decimal:
    """Drop trailing zeros after the point without scientific notation: 12000.00 → 12000."""
    if d == d.to_integral_value():
        return Decimal(int(d))
    return d.normalize()

