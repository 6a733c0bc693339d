"""The verdict: where it is, its numbered items, and what each conviction segment imposes on whom.

``verdict_bounds`` finds the text after the last 判决如下 up to 如不服本判决 / 本判决为终审判决 /
the bench; ``verdict_links`` reads, per defendant convicted there (被告人X犯…), the charges,
the sentence, the fine, supplementary penalties and a revoked probation (rules: ``records.py``).

Not here: party headers and illegal gains (``defendants.py``), the record (``records.py``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Callable, Iterator

from nlp_judgments.legal.evidence import Entities, field, number
from nlp_judgments.legal.normalize import canonical_charge, penalty_to_months

# Principal penalties: exactly one is the sentence of a defendant (after 决定执行 if there are several).
PRINCIPAL = ("有期徒刑", "拘役", "管制", "无期徒刑", "死刑", "死刑缓期执行", "免予刑事处罚")
SUPPLEMENTARY = ("剥夺政治权利", "没收财产", "驱逐出境")

_VERDICT_START = re.compile(r"判决如下[：:]?")
# The verdict ends at the first of these phrases or at a line opening (after spaces) with the bench.
_VERDICT_END = re.compile(r"如不服本判决|本判决为终审判决")
_BENCH = ("审判长", "审判员", "人民陪审员")
_ITEM_NUMBER = re.compile(r"[一二三四五六七八九十]*")  # a verdict item is a line opening with 一、 二、 …
_SPACES = re.compile(r"\s*")
_REVOKED = re.compile(r"撤销[^。；;\n]{0,40}缓刑")
_EXEMPT = re.compile(r"免[予于]刑事处罚")


def verdict_bounds(text: str) -> tuple[int, int] | None:
    starts = list(_VERDICT_START.finditer(text))
    if not starts:
        return None
    start = starts[-1].end()
    phrase = _VERDICT_END.search(text, start)
    bench = next(_indented(text, start, len(text), _bench_end), None)
    return start, min(phrase.start() if phrase else len(text), bench[0] if bench else len(text))


def _indented(text: str, lo: int, hi: int, rest: Callable[[str, int, int], int | None]) -> Iterator[tuple[int, int]]:
    """The matches ``(start, end)`` of the regex ``(?m)^\\s*REST`` in ``text[lo:hi]``, left to right.

    ``rest(text, q, hi)`` is the end of REST read at ``q`` (None where it does not match there); REST
    never opens with a space. The regex tries every line start, and from each reads all the spaces
    and newlines after it, quadratic on blank lines; here the line starts inside one run of spaces
    are settled together, since they all reach the same first non-space character.
    """
    p = lo
    while True:
        if p != 0 and text[p - 1] != "\n":  # not at a line start: go to the next one
            p = text.find("\n", p, hi) + 1
            if p == 0:
                return
        if p >= hi:
            return
        q = _SPACES.match(text, p, hi).end()
        end = rest(text, q, hi)
        if end is not None:
            yield p, end
            p = end
        else:  # every line start up to q reaches q as well: go on after q
            p = text.find("\n", q, hi) + 1
            if p == 0:
                return


def _bench_end(text: str, q: int, hi: int) -> int | None:
    """The end of 审判长 / 审判员 / 人民陪审员 at ``q``, or None."""
    for word in _BENCH:
        if text.startswith(word, q, hi):
            return q + len(word)
    return None


def _item_number_end(text: str, q: int, hi: int) -> int | None:
    """The end of 一、 / 十二、 at ``q``, or None."""
    r = _ITEM_NUMBER.match(text, q, hi).end()
    return r + 1 if q < r < hi and text[r] == "、" else None


def items(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    heads = [p for p, _ in _indented(text, lo, hi, _item_number_end)]
    if not heads:
        return [(lo, hi)]
    bounds = heads + [hi]
    return [(bounds[i], bounds[i + 1]) for i in range(len(heads))]


def _sentence(text: str, name: str, seg_lo: int, seg_hi: int, ents: Entities, warnings: list[str]) -> dict:
    """Charges, sentence, fine and supplementary penalties of one conviction segment."""
    charges: dict[str, list[tuple[int, int]]] = {}
    for x in ents.of("CHARGE", seg_lo, seg_hi):
        c = canonical_charge(x.surface)
        if c is None:
            warnings.append(f"{name}: charge {x.surface!r} is not a known statutory charge")
            charges.setdefault(x.surface, []).append(x.key)
        else:
            charges.setdefault(c.name, []).append(x.key)
    penalties = []
    for x in ents.of("PENALTY", seg_lo, seg_hi):
        p = penalty_to_months(x.surface)
        if p is None:
            warnings.append(f"{name}: could not parse penalty {x.surface!r}")
        else:
            penalties.append((p, x))
    executed_at = text.find("决定执行", seg_lo, seg_hi)
    if executed_at >= 0:
        executed = [(p, x) for p, x in penalties if x.start >= executed_at]
        per_charge = [(p, x) for p, x in penalties if x.start < executed_at]
    else:
        executed, per_charge = penalties, []
    principal = [(p, x) for p, x in executed if p.kind in PRINCIPAL]
    if executed_at < 0 and len(principal) > 1:
        warnings.append(f"{name}: {len(principal)} principal penalties and no 决定执行; the last one is taken")
    if executed_at >= 0 and not principal:
        warnings.append(f"{name}: 决定执行 without a principal penalty after it")
    sentence = None
    if principal:
        p, x = principal[-1]
        kind = "死刑" if p.kind == "死刑缓期执行" else p.kind
        months = None if p.kind in ("死刑", "死刑缓期执行", "无期徒刑") else p.months
        reprieve = p.months if p.kind == "死刑缓期执行" else 0
        sentence = {
            "type": field(text, kind, [x.key]),
            "months": field(text, months, [x.key]),
            "probation_months": field(text, 0),
            "reprieve_months": field(text, reprieve, [x.key] if reprieve else ()),
        }
        if p.days:
            warnings.append(f"{name}: {p.days} days of the term are not counted in months")
    else:
        m = _EXEMPT.search(text, seg_lo, seg_hi)
        if m:
            sentence = {
                "type": field(text, "免予刑事处罚", [m.span()]),
                "months": field(text, 0),
                "probation_months": field(text, 0),
                "reprieve_months": field(text, 0),
            }
    probation = [(p, x) for p, x in executed if p.kind == "缓刑"]
    if probation:
        p, x = probation[-1]
        if sentence is None:
            warnings.append(f"{name}: probation without a principal penalty")
        else:
            sentence["probation_months"] = field(text, p.months, [x.key])
    fines = [(p, x) for p, x in executed if p.kind == "罚金"] or [(p, x) for p, x in per_charge if p.kind == "罚金"]
    fine = field(text, None)
    if fines:
        if any(p.amount is None for p, _ in fines):
            warnings.append(f"{name}: a fine without an amount")
        total = sum((p.amount.value for p, _ in fines if p.amount is not None), Decimal(0))
        fine = field(text, number(total), [x.key for _, x in fines])
    supplementary = []
    for p, x in executed or per_charge:
        if p.kind in SUPPLEMENTARY:
            supplementary.append(field(
                text, p.kind, [x.key], months=p.months, life=p.life, all_property=p.all_property,
                amount_yuan=number(p.amount.value) if p.amount else None,
            ))
    if sentence is None:
        warnings.append(f"{name}: no sentence found in the verdict")
    return {
        "charges": [field(text, c, spans) for c, spans in charges.items()],
        "sentence": sentence,
        "fine_yuan": fine,
        "supplementary": supplementary,
    }


def verdict_links(text: str, ents: Entities, bounds: tuple[int, int], warnings: list[str]) -> dict[str, dict]:
    lo, hi = bounds
    out: dict[str, dict] = {}
    for item_lo, item_hi in items(text, lo, hi):
        item_text = text[item_lo:item_hi]
        heads = [x for x in ents.of("DEFENDANT", item_lo, item_hi) if text.startswith("犯", x.end)]
        if _REVOKED.search(item_text):
            names = list(dict.fromkeys(x.surface for x in ents.of("DEFENDANT", item_lo, item_hi)))
            warnings.append(f"probation revoked (撤销缓刑) in a verdict item for {', '.join(names) or 'an unnamed defendant'}")
            for n in names:
                out.setdefault(n, {}).setdefault("revoked", []).append((item_lo, item_hi))
        for i, x in enumerate(heads):
            seg_hi = heads[i + 1].start if i + 1 < len(heads) else item_hi
            linked = _sentence(text, x.surface, x.start, seg_hi, ents, warnings)
            linked["segment"] = (x.start, seg_hi)
            entry = out.setdefault(x.surface, {})
            if "sentence" in entry:
                warnings.append(f"{x.surface}: sentenced in more than one verdict item; the last one is taken")
            entry.update(linked)
    return out
