"""Normalisers: turn the text of one span into a typed value (money, a term, a date, a charge, a case number).

Each public function takes the text of a single mention as a judgment writes it and returns a
small frozen dataclass, or ``None`` when the text is not of that kind. They are pure (no I/O
beyond the lexicon read once) and never raise on odd input; the golden tables in
``tests/test_normalize.py`` are their specification.

    amount_to_yuan("人民币1.2万余元")        -> Amount(value=12000, approximate=True, ...)
    penalty_to_months("有期徒刑三年三个月")   -> Penalty(kind="有期徒刑", months=39, ...)
    parse_date("二〇一七年六月二十八日")       -> DateValue(value="2017-06-28", precision="day")
    canonical_charge("贩卖毒品罪")            -> Charge(name="走私、贩卖、运输、制造毒品罪", ...)
    parse_case_number("（2017）沪0120刑初684号") -> CaseNumber(year=2017, court_code="沪0120", ...)

Left out: finding mentions in running text (``prelabel.py``), currency conversion (a US-dollar
amount keeps its currency), and calendar arithmetic beyond 次日/同年/同月 relative to a reference.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from nlp_judgments.legal import lexicons

# --- Numbers ---------------------------------------------------------------------------------

_CN_DIGIT = {
    "零": 0, "〇": 0, "○": 0, "Ｏ": 0, "O": 0, "Ο": 0, "0": 0,
    "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
    "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
_CN_SMALL_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG_UNIT = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_NUM_CHARS = "".join(_CN_DIGIT) + "".join(_CN_SMALL_UNIT) + "".join(_CN_BIG_UNIT) + "0123456789.,"
_ARABIC = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?")


def _fold(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII; strip spaces. ``１２，０００`` → ``12,000``."""
    text = unicodedata.normalize("NFKC", text)
    # NFKC leaves these; judgments use them as digit zero or thousands separators.
    return text.replace("．", ".").replace(" ", "").replace("\u3000", "")


def parse_number(text: str) -> Decimal | None:
    """Read an Arabic, Chinese or mixed numeral; None if ``text`` is not entirely a number.

    >>> parse_number("二万八千"), parse_number("1.37亿"), parse_number("3,000"), parse_number("一千零六十二")
    (Decimal('28000'), Decimal('137000000.00'), Decimal('3000'), Decimal('1062'))
    """
    s = _fold(text)
    if not s or any(ch not in _NUM_CHARS for ch in s):
        return None
    # Thousands separators: a comma between a digit and exactly three digits.
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    if "," in s:
        return None
    # Only Chinese digits and no units: a digit-by-digit reading (二〇一七 → 2017).
    if all(ch in _CN_DIGIT for ch in s) and len(s) > 1:
        return Decimal("".join(str(_CN_DIGIT[ch]) for ch in s))
    total = Decimal(0)  # finished 亿 / 万 sections
    section = Decimal(0)  # the part below the current big unit
    number: Decimal | None = None  # the digit waiting for its unit
    i = 0
    while i < len(s):
        ch = s[i]
        m = _ARABIC.match(s, i)
        if m and m.end() > i:
            try:
                number = Decimal(m.group(0))
            except InvalidOperation:
                return None
            i = m.end()
            continue
        if ch in _CN_DIGIT:
            number = Decimal(_CN_DIGIT[ch])
        elif ch in _CN_SMALL_UNIT:
            section += (number if number is not None else Decimal(1)) * _CN_SMALL_UNIT[ch]
            number = None
        elif ch in _CN_BIG_UNIT:
            unit = _CN_BIG_UNIT[ch]
            chunk = section + (number or 0)
            if chunk == 0:
                chunk = Decimal(1)
            if unit == 10**8:
                total = (total + chunk) * unit
            else:
                total += chunk * unit
            section, number = Decimal(0), None
        else:
            return None
        i += 1
    return total + section + (number or 0)


# --- Amounts ---------------------------------------------------------------------------------

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
    s = _fold(text)
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
        lo, hi = _CN_DIGIT[adj.group(1)] * mult, _CN_DIGIT[adj.group(2)] * mult
        if hi == lo + mult:
            return Amount(Decimal(lo), Decimal(hi), True, currency, "元")
    # Parse number and unit together so 3亿2000万 reads as one numeral.
    value = parse_number(n1 + unit)
    if value is None:
        return None
    return Amount(_clean(value), None, approximate, currency, unit_text)


def _has_unit(numeral: str) -> bool:
    return any(ch in _CN_BIG_UNIT or ch in _CN_SMALL_UNIT for ch in numeral)


def _clean(d: Decimal) -> Decimal:
    """Drop trailing zeros after the point without scientific notation: 12000.00 → 12000."""
    if d == d.to_integral_value():
        return Decimal(int(d))
    return d.normalize()


# --- Penalties -------------------------------------------------------------------------------

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


_TERM = r"(?:[0-9一二两三四五六七八九十零]+年)?(?:零)?(?:[0-9一二两三四五六七八九十]+个?月)?(?:零)?(?:[0-9一二两三四五六七八九十]+日|[0-9一二两三四五六七八九十]+天)?"
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
        r"(?:(?P<y>[0-9一二两三四五六七八九十零]+)年)?零?(?:(?P<m>[0-9一二两三四五六七八九十]+)个?月)?零?"
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
    s = _fold(text).strip("，,。；;")
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


# --- Dates -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DateValue:
    """A date or a date range as ISO 8601 text of the precision the judgment gives.

    ``value`` is ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDTHH`` or ``YYYY-MM-DDTHH:MM``
    (``--MM-DD`` when no year is written and no reference is given); ``end`` is the end of a
    range in the same form; ``precision`` names the finest unit of ``value``. ``approximate`` is
    set by 许, 左右, 前后, 上旬/中旬/下旬, 初, 底 and 的一天.
    """

    value: str
    end: str | None = None
    precision: str = "day"
    approximate: bool = False

    @property
    def is_range(self) -> bool:
        return self.end is not None


_D = r"[0-9〇○零ＯOΟ一二三四五六七八九十]"
_POINT_RE = re.compile(
    rf"(?P<rel>同年|同月|当年|当月|次日|翌日|当日|当天|同日|次年|翌年)?"
    rf"(?:(?P<y>{_D}{{4}})年)?(?:(?P<mo>{_D}{{1,2}})月(?:份)?)?(?P<period>上旬|中旬|下旬|初|底|末|中)?"
    rf"(?:(?P<d>{_D}{{1,3}})[日号])?(?P<dapprox>左右|前后)?(?P<oneday>的?一天|某日|某天)?"
    rf"(?P<pod>凌晨|清晨|早晨|早上|上午|中午|午后|下午|傍晚|晚上|晚间|夜间|深夜|上半夜|下半夜|半夜|晚|夜|白天)?"
    rf"(?:(?P<h>{_D}{{1,3}})(?:时|点)(?:(?P<mi>{_D}{{1,3}})分|(?P<half>半))?)?(?P<approx>许|左右|前后|期间|间)?"
)
_RANGE_SEP = re.compile(r"至|到|—|-|~|〜")


def _num(s: str | None) -> int | None:
    if not s:
        return None
    v = parse_number(s)
    return int(v) if v is not None else None


def _year_of(reference: date | int | None) -> int | None:
    if reference is None:
        return None
    return reference if isinstance(reference, int) else reference.year


def _parse_point(s: str, reference: date | int | None):
    """Parse one date point; return (fields dict) or None."""
    m = _POINT_RE.fullmatch(s)
    if not m or not any(m.group(k) for k in ("rel", "y", "mo", "d")):
        return None
    y, mo, d = _num(m.group("y")), _num(m.group("mo")), _num(m.group("d"))
    rel = m.group("rel")
    ref_date = reference if isinstance(reference, date) else None
    if rel in ("次日", "翌日", "当日", "当天", "同日"):
        if ref_date is None or y or mo or d:
            return None
        day = ref_date + timedelta(days=1 if rel in ("次日", "翌日") else 0)
        y, mo, d = day.year, day.month, day.day
    elif rel in ("同年", "当年", "次年", "翌年"):
        ref_year = _year_of(reference)
        if ref_year is None or y:
            return None
        y = ref_year + (1 if rel in ("次年", "翌年") else 0)
    elif rel in ("同月", "当月"):
        if ref_date is None or y or mo:
            return None
        y, mo = ref_date.year, ref_date.month
    elif y is None and mo is not None:
        y = _year_of(reference)
    if mo is not None and not 1 <= mo <= 12 or d is not None and not 1 <= d <= 31:
        return None
    if d is not None and mo is None:
        return None
    h, mi = _num(m.group("h")), _num(m.group("mi"))
    if m.group("half"):
        mi = 30
    pod = m.group("pod")
    if h is not None:
        # 晚11时 and 下午3时 are 23:00 and 15:00; 晚21时 already is.
        if pod in ("下午", "午后", "傍晚", "晚上", "晚间", "晚", "夜间", "深夜", "夜") and h < 12:
            if not (pod in ("深夜", "夜", "夜间") and h <= 4):
                h += 12
        if h > 24 or (mi is not None and mi > 59):
            return None
    return {
        "y": y, "mo": mo, "d": d, "h": h, "mi": mi,
        "approx": bool(m.group("approx") in ("许", "左右", "前后") or m.group("period") or m.group("oneday")
                      or m.group("dapprox")),
        "range_word": m.group("approx") in ("期间", "间"),
    }


def _iso(p: dict) -> tuple[str, str]:
    # ISO 8601 writes a date without a year as --MM-DD.
    y = f"{p['y']:04d}" if p["y"] is not None else "-"
    if p["mo"] is None:
        return y, "year"
    ym = f"{y}-{p['mo']:02d}"
    if p["d"] is None:
        return ym, "month"
    try:
        if p["y"] is not None:
            date(p["y"], p["mo"], p["d"])
    except ValueError:
        raise ValueError("no such day") from None
    ymd = f"{ym}-{p['d']:02d}"
    if p["h"] is None:
        return ymd, "day"
    if p["mi"] is None:
        return f"{ymd}T{p['h']:02d}", "hour"
    return f"{ymd}T{p['h']:02d}:{p['mi']:02d}", "minute"


def parse_date(text: str, reference: date | int | None = None) -> DateValue | None:
    """Parse a date, a date-time or a range; None if ``text`` is not a date.

    ``reference`` (a ``date`` or a year) fills what the text leaves to context: the year of
    6月21日 and 同年11月, the month of 同月20日, the day of 次日. A range end inherits the year
    (and month) of its start: 2020年3月5日至3月7日期间.

    >>> parse_date("二〇一七年六月二十八日").value
    '2017-06-28'
    >>> parse_date("2019年11月至2021年7月6日")
    DateValue(value='2019-11', end='2021-07-06', precision='month', approximate=False)
    """
    s = _fold(text).strip("，,。；;")
    for w in ("自", "于", "从", "在"):
        if s.startswith(w):
            s = s[len(w):]
            break
    s = re.sub(r"(起|止)$", "", s)
    parts = [p for p in _RANGE_SEP.split(s)]
    if len(parts) > 2:
        return None
    try:
        start = _parse_point(parts[0].removesuffix("起"), reference)
        if start is None:
            return None
        if len(parts) == 1:
            if start["y"] is None and start["mo"] is None:
                return None
            value, precision = _iso(start)
            return DateValue(value, None, precision, start["approx"])
        end_text = parts[1]
        ref_for_end: date | int | None = start["y"]
        if start["y"] and start["mo"]:
            ref_for_end = date(start["y"], start["mo"], start["d"] or 1)
        end = _parse_point(end_text, ref_for_end)
        if end is None:
            # 3月5日至7日: a bare day inherits year and month.
            md = re.fullmatch(rf"(?P<d>{_D}{{1,3}})[日号](?P<rest>.*)", end_text)
            if md and start["mo"] is not None:
                end = _parse_point(f"{start['mo']}月{end_text}", start["y"])
            if end is None:
                return None
        if end["y"] is None:
            end["y"] = start["y"]
        v1, precision = _iso(start)
        v2, _ = _iso(end)
        return DateValue(v1, v2, precision, start["approx"] or end["approx"])
    except ValueError:
        return None


# --- Charges ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Charge:
    """A charge mention resolved to its canonical statutory name.

    ``match`` says how: ``canonical`` (the text is the name), ``alias`` (a listed former or
    other name), or ``selection`` (the text names part of a selective charge, as 贩卖毒品罪 does
    of 走私、贩卖、运输、制造毒品罪).
    """

    name: str
    surface: str
    match: str
    chapter: str = ""


def _derivable(s: str, c: str) -> bool:
    """Can ``s`` be read off ``c`` by dropping whole items of its 、 lists?

    An item is dropped together with one neighbouring 、: either a tail of the segment before a
    、 plus the 、 (``走私、``), or the 、 plus a head of the segment after it (``、制造``).
    """

    @lru_cache(maxsize=None)
    def go(i: int, j: int, mode: int) -> bool:
        # mode 0: copying; 1: deleting up to and including the next 、; 2: deleted a 、, now
        # deleting the head of the next segment (at least one char); 3: as 2, may stop.
        if i == len(c):
            return j == len(s) and mode in (0, 3)
        ch = c[i]
        if mode == 0:
            if ch == "、":
                return (j < len(s) and s[j] == "、" and go(i + 1, j + 1, 0)) or go(i + 1, j, 2)
            return (j < len(s) and s[j] == ch and go(i + 1, j + 1, 0)) or go(i + 1, j, 1)
        if mode == 1:
            return go(i + 1, j, 0) if ch == "、" else go(i + 1, j, 1)
        if ch == "、":
            return mode == 3 and go(i, j, 0)
        return go(i + 1, j, 3) or (mode == 3 and go(i, j, 0))

    return len(s) < len(c) and go(0, 0, 0)


@lru_cache(maxsize=None)
def _selective() -> tuple[tuple[str, frozenset[str], str], ...]:
    out = []
    for e in lexicons.load_charges():
        for surface in (e.name, *e.aliases):
            if "、" in surface:
                out.append((surface, frozenset(surface), e.name))
    return tuple(out)


@lru_cache(maxsize=None)
def _chapters() -> dict[str, str]:
    return {e.name: e.chapter for e in lexicons.load_charges()}


@lru_cache(maxsize=65536)
def canonical_charge(text: str) -> Charge | None:
    """Map a charge as written to its canonical statutory name; None if it is not a known charge.

    Leading 犯/构成/涉嫌 and bracket style (国(边)境) are tolerated; a bare offence word with no 罪
    is not a charge.

    >>> canonical_charge("贩卖毒品罪").name
    '走私、贩卖、运输、制造毒品罪'
    >>> canonical_charge("强制猥亵罪").name
    '强制猥亵、侮辱罪'
    """
    s = _fold(text).strip("，,。；;")
    for w in ("涉嫌犯", "涉嫌", "构成", "犯"):
        if s.startswith(w) and len(s) > len(w) + 1:
            s = s[len(w):]
            break
    s = s.replace("(", "（").replace(")", "）")
    if not s.endswith("罪") or len(s) < 3:
        return None
    index = lexicons.charge_index()
    chapters = _chapters()
    if s in index:
        name = index[s]
        return Charge(name, text, "canonical" if s == name else "alias", chapters[name])
    chars = set(s)
    hits = [(c, name) for c, cs, name in _selective() if chars <= cs and _derivable(s, c)]
    if not hits:
        return None
    # Several candidates: prefer the shortest source, the closest reading of the text.
    c, name = min(hits, key=lambda h: (len(h[0]), h[0]))
    return Charge(name, text, "selection", chapters[name])


# --- Case numbers ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseNumber:
    """A case or document number split into its parts.

    Court numbers carry ``court_code`` (沪0120: province abbreviation and district code; 京01 an
    intermediate court; 京 alone a high court) and ``procedure`` (刑初 first instance, 刑终
    appeal, 刑再 retrial, 刑更 sentence change…). Procuratorate numbers (沪闵检诉刑诉［2019］517号)
    carry ``issuer`` instead and leave the court fields None.
    """

    year: int
    serial: int
    court_code: str | None = None
    procedure: str | None = None
    issuer: str | None = None

    @property
    def court_level(self) -> str | None:
        """``basic``, ``intermediate`` or ``high`` from the digits of a post-2016 court code."""
        if not self.court_code:
            return None
        digits = re.sub(r"\D", "", self.court_code)
        if self.court_code == "最高法":
            return "supreme"
        return {0: "high", 2: "intermediate", 4: "basic"}.get(len(digits)) if self.court_code[0] in lexicons.PROVINCE_ABBREVIATIONS else None


def parse_case_number(text: str) -> CaseNumber | None:
    """Split a court case number or a procuratorate document number; None if it is neither.

    >>> parse_case_number("（2017）沪0120刑初684号")
    CaseNumber(year=2017, serial=684, court_code='沪0120', procedure='刑初', issuer=None)
    """
    s = _fold(text).strip("，,。；;")
    m = lexicons.CASE_NO_COURT.fullmatch(s)
    if m:
        return CaseNumber(int(m.group("year")), int(m.group("serial")), m.group("code") or None, m.group("proc"))
    m = lexicons.CASE_NO_PROCURATORATE.fullmatch(s)
    if m and m.group("issuer"):
        serial = re.sub(r"\D", "", m.group("serial"))
        return CaseNumber(int(m.group("year")), int(serial), issuer=m.group("issuer"))
    return None
