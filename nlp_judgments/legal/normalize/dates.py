"""Dates: ``parse_date`` reads a date, a date-time or a range (2019年11月至2021年7月6日) as a :class:`DateValue`.

Not here: calendar arithmetic beyond 次日/同年/同月 relative to a reference, and finding dates in
running text (``prelabel.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from nlp_judgments.legal.normalize.numbers import fold, parse_number


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
    s = fold(text).strip("，,。；;")
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

