"""Case numbers: ``parse_case_number`` splits a court case number or a procuratorate document number.

Not here: the patterns themselves (``lexicons.CASE_NO_COURT`` and ``CASE_NO_PROCURATORATE``, shared
with the pre-labeller).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp_judgments.legal import lexicons
from nlp_judgments.legal.normalize.numbers import fold


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
    s = fold(text).strip("，,。；;")
    m = lexicons.CASE_NO_COURT.fullmatch(s)
    if m:
        return CaseNumber(int(m.group("year")), int(m.group("serial")), m.group("code") or None, m.group("proc"))
    m = lexicons.CASE_NO_PROCURATORATE.fullmatch(s)
    if m and m.group("issuer"):
        serial = re.sub(r"\D", "", m.group("serial"))
        return CaseNumber(int(m.group("year")), int(serial), issuer=m.group("issuer"))
    return None
