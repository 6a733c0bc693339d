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

One module per kind of value: ``numbers`` (numerals, and the full-width folding all share),
``money``, ``penalties``, ``dates``, ``charges``, ``case_numbers``; import from this package.

Not here: finding mentions in running text (``prelabel.py``), currency conversion (a US-dollar
amount keeps its currency), and calendar arithmetic beyond 次日/同年/同月 relative to a reference.
"""

from nlp_judgments.legal.normalize.case_numbers import CaseNumber, parse_case_number
from nlp_judgments.legal.normalize.charges import (
    Charge,
    canonical_charge,
    statutory_name,
)
from nlp_judgments.legal.normalize.dates import DateValue, parse_date
from nlp_judgments.legal.normalize.money import Amount, amount_to_yuan
from nlp_judgments.legal.normalize.numbers import parse_number
from nlp_judgments.legal.normalize.penalties import Penalty, penalty_to_months

__all__ = [
    "Amount", "CaseNumber", "Charge", "DateValue", "Penalty",
    "amount_to_yuan", "canonical_charge", "parse_case_number", "parse_date", "parse_number", "penalty_to_months",
    "statutory_name",
]
