"""Numerals as judgments write them: Arabic, Chinese, financial (壹贰叁) and mixed (1.2万), to Decimal.

``fold`` also lives here: every normaliser first folds full-width characters to ASCII.

Not here: what a number measures (money, a term, a date: the sibling modules).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

CN_DIGIT = {
    "零": 0, "〇": 0, "○": 0, "Ｏ": 0, "O": 0, "Ο": 0, "0": 0,
    "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
    "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
CN_SMALL_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_BIG_UNIT = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_NUM_CHARS = "".join(CN_DIGIT) + "".join(CN_SMALL_UNIT) + "".join(CN_BIG_UNIT) + "0123456789.,"
_ARABIC = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?")


def fold(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII; strip spaces. ``１２，０００`` → ``12,000``."""
    text = unicodedata.normalize("NFKC", text)
    # NFKC leaves these; judgments use them as digit zero or thousands separators.
    return text.replace("．", ".").replace(" ", "").replace("\u3000", "")


def parse_number(text: str) -> Decimal | None:
    """Read an Arabic, Chinese or mixed numeral; None if ``text`` is not entirely a number.

    >>> parse_number("二万八千"), parse_number("1.37亿"), parse_number("3,000"), parse_number("一千零六十二")
    (Decimal('28000'), Decimal('137000000.00'), Decimal('3000'), Decimal('1062'))
    """
    s = fold(text)
    if not s or any(ch not in _NUM_CHARS for ch in s):
        return None
    # Thousands separators: a comma between a digit and exactly three digits.
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    if "," in s:
        return None
    # Only Chinese digits and no units: a digit-by-digit reading (二〇一七 → 2017).
    if all(ch in CN_DIGIT for ch in s) and len(s) > 1:
        return Decimal("".join(str(CN_DIGIT[ch]) for ch in s))
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
        if ch in CN_DIGIT:
            number = Decimal(CN_DIGIT[ch])
        elif ch in CN_SMALL_UNIT:
            section += (number if number is not None else Decimal(1)) * CN_SMALL_UNIT[ch]
            number = None
        elif ch in CN_BIG_UNIT:
            unit = CN_BIG_UNIT[ch]
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

