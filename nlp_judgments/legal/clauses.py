"""One conviction clause of a verdict: its charges, its penalties, the merged earlier sentence and the executed part.

A clause is what the verdict says about one defendant (or a group, 甲、乙犯…，分别判处…) from the
name to the next defendant's name: 犯盗窃罪，判处有期徒刑一年，并处罚金二千元；犯诈骗罪，判处…，
决定执行有期徒刑一年六个月，并处罚金三千元. ``read_clause`` returns a :class:`Clause`:

- ``charges``: each 犯X罪 (and X罪、Y罪 lists), canonical statutory names in verdict order;
- ``penalties``: every imposed penalty, each marked ``executed`` when it follows 决定执行 /
  决定合并执行 / 合并执行 (several crimes punished together);
- skipped: notes in brackets (（刑期从判决执行之日起计算…）, （罚金已缴纳）) and the earlier sentence
  a merger restates (与前罪有期徒刑六个月并罚 / 与之前犯X罪没有执行的…合并执行): their charges are not
  this verdict's and their penalties are not this sentence's;
- ``revoked``: 撤销…缓刑 in the clause (an earlier probation revoked to merge);
- ``exempt``: 免予刑事处罚; ``acquitted``: 无罪.

Typos are read and flagged: a term without its 月 (有期徒刑六个；) and a fine without its 元 at a
clause end (罚金人民币5000。) come back with ``typo`` set.

Not here: which clauses belong to whom and what is in force (``verdict.py``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from nlp_judgments.legal.normalize import Penalty, canonical_charge, penalty_to_months

_CN = "0-9０-９一二两三四五六七八九十零〇"
_TERM = rf"(?:[{_CN}]+年)?[零又]?(?:[{_CN}]+个?月)?[零又]?(?:[{_CN}]+[日天])?"
_MONEY = rf"(?:人民币)?[{_CN}.,，百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]+(?:余|多)?(?:万|亿)?元"
_PENALTY = re.compile(
    rf"死刑[，,、]?缓期[一二两0-9]年执行|死刑(?:[，,]?立即执行)?|无期徒刑"
    rf"|(?:有期徒刑|拘役|管制|缓刑)(?=[{_CN}]){_TERM}(?!以下|以上|以内)"
    rf"|剥夺政治权利(?:终身|(?=[{_CN}]){_TERM})"
    rf"|罚金{_MONEY}|没收(?:个人)?(?:全部)?财产(?:{_MONEY})?|驱逐出境"
)
# Typos: a term that stops at 个 (六个；), a fine amount without 元 before a clause end.
_TERM_TYPO = re.compile(rf"(?:有期徒刑|拘役|管制|缓刑)(?:[{_CN}]+年)?[零又]?[{_CN}]+个(?!月)")
_FINE_TYPO = re.compile(rf"罚金(?:人民币)?[{_CN}.,，百千万亿]+(?:万)?(?=[，。；;、）)]|$)")
_EXEMPT = re.compile(r"免[予于]刑事处罚")
_EXECUTED = re.compile(r"决定(?:合并)?执行|合并执行")
# A merger with an earlier sentence: from 与/连同 after a clause break to 并罚 / 合并执行 / 合并处罚.
# 连同前判…，决定执行 states no 并罚: the merger then runs to 决定执行.
_MERGE = re.compile(r"(?<=[，,；;])\s*(?:与|连同)[^。；;]{0,120}?(?:并罚|合并执行|合并处罚|(?=[，,]?\s*决定(?:合并)?执行))")
_REVOKE_PROBATION = re.compile(r"撤销[^。；;即：:“]{0,60}?缓刑")
_ACQUITTED = re.compile(r"\s*无罪")


@dataclass
class Found:
    """One penalty: its parse, its span, whether it follows 决定执行, and whether a typo was read."""

    penalty: Penalty
    span: tuple[int, int]
    executed: bool = False
    typo: bool = False


@dataclass
class Clause:
    start: int
    end: int
    charges: list[tuple[str, tuple[int, int], bool]] = dataclass_field(default_factory=list)  # (name, span, known)
    penalties: list[Found] = dataclass_field(default_factory=list)
    exempt: tuple[int, int] | None = None
    acquitted: bool = False
    revoked: list[tuple[int, int]] = dataclass_field(default_factory=list)
    respectively: bool = False  # 分别判处: the i-th penalty of a kind is the i-th defendant's
    executed_at: int | None = None


def notes(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Bracketed notes ``（…）`` in ``[lo, hi)``, outermost only; an unclosed bracket opens none."""
    out, depth, start = [], 0, 0
    for m in re.finditer(r"[（()）]", text[lo:hi]):
        ch = m.group(0)
        if ch in "（(":
            if depth == 0:
                start = lo + m.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out.append((start, lo + m.end()))
    return out


class Skips:
    """Sorted, disjoint ranges to skip; ``covers(pos)`` by bisection."""

    def __init__(self, ranges: list[tuple[int, int]]):
        merged: list[tuple[int, int]] = []
        for s, e in sorted(ranges):
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self.ranges = merged
        self.starts = [s for s, _ in merged]

    def covers(self, pos: int) -> bool:
        i = bisect_right(self.starts, pos)
        return bool(i) and self.ranges[i - 1][1] > pos


def _charges_at(text: str, pos: int, hi: int) -> list[tuple[str, tuple[int, int], bool]]:
    """The charge(s) written from ``pos`` (just after 犯): 盗窃罪, 盗窃罪、诈骗罪, 生产、销售伪劣产品罪."""
    out = []
    while pos < hi:
        best = None
        for m in re.finditer("罪", text[pos : min(hi, pos + 40)]):
            end = pos + m.end()
            c = canonical_charge(text[pos:end])
            if c is not None:
                best = (c.name, (pos, end), True)
                if not text.startswith("、", end):
                    break  # 生产、销售…罪 reads on to the full name only through a 、
        if best is None:
            first = text.find("罪", pos, min(hi, pos + 40))
            if first > pos and not re.search(r"[，。；,;]", text[pos:first]):
                out.append((text[pos : first + 1], (pos, first + 1), False))
            break
        out.append(best)
        pos = best[1][1]
        if not text.startswith("、", pos):
            break
        pos += 1
    return out


_LISTED_TERM = re.compile(rf"、\s*((?=[{_CN}]){_TERM})")
_LISTED_MONEY = re.compile(rf"、\s*({_MONEY})")


def _listed(text: str, found: list[Found], hi: int) -> list[Found]:
    """Terms and amounts listed after a penalty (分别判处有期徒刑一年、八个月; 罚金人民币三千元、二千元): same kind."""
    out = []
    for f in found:
        kind, pos = f.penalty.kind, f.span[1]
        pattern = _LISTED_MONEY if kind == "罚金" else _LISTED_TERM if f.penalty.months is not None else None
        while pattern is not None:
            m = pattern.match(text, pos, hi)
            if m is None or not m.group(1):
                break
            p = penalty_to_months(kind + m.group(1))
            if p is None:
                break
            out.append(Found(p, m.span(1)))
            pos = m.end()
    return out


def read_clause(text: str, lo: int, hi: int, skip: Skips) -> Clause:
    """Read the clause ``text[lo:hi]`` (from just after the defendant's name); ``skip`` holds notes."""
    clause = Clause(lo, hi)
    merged = Skips([m.span() for m in _MERGE.finditer(text, lo, hi) if not skip.covers(m.start())])

    def skipped(pos: int) -> bool:  # in a note or in the merged earlier sentence
        return skip.covers(pos) or merged.covers(pos)
    for m in _REVOKE_PROBATION.finditer(text, lo, hi):
        if not skip.covers(m.start()):
            clause.revoked.append(m.span())
    revoked = Skips(clause.revoked)
    clause.acquitted = bool(_ACQUITTED.match(text, lo, hi))
    executed = next((m for m in _EXECUTED.finditer(text, lo, hi) if not skipped(m.start())), None)
    clause.executed_at = executed.start() if executed else None
    for m in re.finditer("犯", text[lo:hi]):
        p = lo + m.end()
        # A conviction's 犯 opens the clause or follows a clause break (；犯诈骗罪); 主犯, 犯罪所得 do not.
        if (p - 1 == lo or text[p - 2] in "，,；;。、又") and not skipped(p):
            clause.charges += _charges_at(text, p, hi)
    found: list[Found] = []
    for m in _PENALTY.finditer(text, lo, hi):
        if skipped(m.start()) or revoked.covers(m.start()):
            continue
        p = penalty_to_months(m.group(0))
        if p is not None:
            found.append(Found(p, m.span()))
    for m in _TERM_TYPO.finditer(text, lo, hi):
        if not skipped(m.start()) and not any(f.span[0] <= m.start() < f.span[1] for f in found):
            p = penalty_to_months(m.group(0) + "月")
            if p is not None:
                found.append(Found(p, m.span(), typo=True))
    for m in _FINE_TYPO.finditer(text, lo, hi):
        if not skipped(m.start()) and not any(f.span[0] <= m.start() < f.span[1] for f in found):
            p = penalty_to_months(m.group(0) + "元")
            if p is not None and p.amount is not None:
                found.append(Found(p, m.span(), typo=True))
    found += _listed(text, found, hi)
    found.sort(key=lambda f: f.span)
    for f in found:
        f.executed = clause.executed_at is not None and f.span[0] > clause.executed_at
    clause.penalties = found
    exempt = next((m for m in _EXEMPT.finditer(text, lo, hi) if not skipped(m.start())), None)
    clause.exempt = exempt.span() if exempt else None
    clause.respectively = "分别" in text[lo:hi]
    return clause
