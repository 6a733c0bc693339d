"""The verdict as a grammar: items, conviction clauses, and the sentence in force for each defendant.

``verdict_links(text, lo, hi, people, warnings)`` reads the verdict ``text[lo:hi]`` (from the
``verdict`` section) for the defendants ``people`` (name → the surfaces that name them: the name
and its aliases):

- **items**: numbered (一、二、…) at paragraph starts, or the whole verdict; an item that opens
  with 撤销 restates what it revokes (…刑事判决，即：被告人甲犯…，判处…): nothing in it is in force,
  except that a revoked *probation* (撤销…对被告人甲宣告缓刑的部分) marks ``probation_revoked``;
  an item that opens with 维持 restates what stays in force, read as a conviction that a later
  clause (改判) overrides where it speaks: 维持原判罚金 + a new term gives the new term and the fine;
- **clauses**: each defendant's name before 犯 (被告人甲犯…, 上诉人（原审被告人）甲犯…, 被告单位X犯…,
  甲、乙犯…，分别判处…) opens a clause that runs to the next name (``clauses.py`` reads it); the same
  defendant in several clauses (被告人甲犯盗窃罪，判处…；被告人甲犯诈骗罪，判处…。决定执行…) has them
  all, and the 决定执行 penalty is the sentence;
- **the sentence in force**: the principal penalty after 决定执行 where there is one, else the one
  principal penalty; its 缓刑; the 决定执行 fine, else the per-charge fines summed (a combined fine
  restating their sum is counted once); 剥夺政治权利 / 没收财产 / 驱逐出境 as supplementary. A unit
  defendant fined only has no sentence and its fine. 免予刑事处罚 is a sentence type with no months.

A name the verdict spells differently from the party line (one character apart) is linked to that
defendant with a warning; a name with no party line becomes a defendant of its own, with a warning.
Every guess is a warning that names the defendant and the field, and the field is marked
``"uncertain": true``.

``verdict_bounds`` is the fallback without sections: the text after the last 判决如下 up to
如不服本判决 / 本判决为终审判决 / the bench.

Not here: reading one clause (``clauses.py``), the sections (``structure.py``), the record
(``records.py``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Callable, Iterator

from nlp_judgments.legal.clauses import Clause, Found, Skips, notes, read_clause
from nlp_judgments.legal.evidence import field, number

# Principal penalties: exactly one is the sentence of a defendant (after 决定执行 if there are several).
PRINCIPAL = ("有期徒刑", "拘役", "管制", "无期徒刑", "死刑", "死刑缓期执行", "免予刑事处罚")
SUPPLEMENTARY = ("剥夺政治权利", "没收财产", "驱逐出境")

_VERDICT_START = re.compile(r"判决如下[：:]?")
_VERDICT_END = re.compile(r"如不服本判决|本判决为终审判决")
_BENCH = ("审判长", "审判员", "人民陪审员")
_SPACES = re.compile(r"\s*")
# An item opens a paragraph (after a newline or a space) or a sentence (after 。 or ；) with 一、 二、 …
_ITEM = re.compile(r"(?:^|(?<=[ \n\r\t\u3000。；;”]))[一二三四五六七八九十]+、")
_ITEM_OPENING = re.compile(r"[一二三四五六七八九十]+、\s*(?:对)?")
_ROLE = r"(?:(?:原审)?被告(?:人|单位)|上诉人|上诉单位|罪犯)(?:[（(][^）)]{0,12}[）)])?"
_NAME = r"[^，,。；;、：:\s（()）“”犯的]{1,20}?"
# Where a clause head ends: before 犯 (not 犯罪), 无罪, or 免予刑事处罚.
_HEAD_END = re.compile(r"犯(?!罪)|\s*无罪|[，,]?\s*免[予于]刑事处罚")
_ROLE_BEFORE = re.compile(rf"{_ROLE}$")
_ROLE_PREFIX = re.compile(rf"^{_ROLE}")
_ROLE_ANYWHERE = re.compile(_ROLE)
_UNKNOWN_HEAD = re.compile(rf"{_ROLE}(?P<names>{_NAME}(?:、(?:{_ROLE})?{_NAME})*)$")


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


def items(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """The numbered items of ``text[lo:hi]`` (一、 opening a paragraph or a sentence), or the whole range as one."""
    heads = [m.start() for m in _ITEM.finditer(text, lo, hi)]
    if not heads:
        return [(lo, hi)]
    if text[lo:heads[0]].strip():
        heads.insert(0, lo)
    bounds = heads + [hi]
    return [(bounds[i], bounds[i + 1]) for i in range(len(heads))]


_MASK_CHARS = set("某甲乙丙丁戊己庚辛0123456789０１２３４５６７８９XxＸ×*＊")


def _one_apart(a: str, b: str) -> bool:
    """Two spellings of one name: same length, same first character, one other character differs, and
    not where names are masked (张某甲 and 张某乙 are two people)."""
    if len(a) != len(b) or len(a) < 2 or a[0] != b[0]:
        return False
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    return len(diff) == 1 and not set(diff[0]) & _MASK_CHARS


class _People:
    """Defendant names and the surfaces that name them, and the verdict's heads (names before 犯).

    A head is found from its end: at each 犯 (not 犯罪), 无罪 or 免予刑事处罚, the known surfaces
    ending there are looked up by length, then 、 and role words are read leftwards; a name that
    is not known is read after a role word. Each end is settled in time bounded by the names'
    lengths, so a verdict with hundreds of defendants is read in one pass.
    """

    def __init__(self, people: dict[str, list[str]]):
        self.by_surface = {s: name for name, surfaces in people.items() for s in [name, *surfaces] if s}
        self.lengths = sorted({len(s) for s in self.by_surface}, reverse=True)

    def _known_before(self, text: str, lo: int, end: int) -> int | None:
        """The start of the longest known surface ending at ``end`` (not before ``lo``), or None."""
        for n in self.lengths:
            if end - n >= lo and text[end - n : end] in self.by_surface:
                return end - n
        return None

    def heads(self, text: str, lo: int, hi: int, skip: Skips, warnings: list[str]) -> list[tuple[int, int, list[str]]]:
        """``(start, end, names)`` of each clause head in ``[lo, hi)``, in text order."""
        found = []
        for m in _HEAD_END.finditer(text, lo, hi):
            end = m.start()
            if skip.covers(end):
                continue
            start, pieces = end, []
            while True:
                s = self._known_before(text, lo, start)
                if s is None:
                    break
                pieces.insert(0, text[s:start])
                role = _ROLE_BEFORE.search(text, max(lo, s - 20), s)
                start = role.start() if role else s
                if start - 1 < lo or text[start - 1] != "、":
                    break
                start -= 1
            if not pieces:
                unknown = _UNKNOWN_HEAD.search(text, max(lo, end - 60), end)
                if unknown is None or not text.startswith("犯", end):
                    continue
                start, pieces = unknown.start(), unknown.group("names").split("、")
            elif text[start] == "、":
                start += 1
            found.append((start, end, self._names(pieces, warnings)))
        return found

    def named_in(self, text: str, lo: int, hi: int) -> set[str]:
        """The defendants a role word names in ``[lo, hi)`` (对被告人甲宣告缓刑的部分 names 甲)."""
        out = set()
        for m in _ROLE_ANYWHERE.finditer(text, lo, hi):
            for n in self.lengths:
                name = self.by_surface.get(text[m.end() : min(hi, m.end() + n)])
                if name is not None:
                    out.add(name)
                    break
        return out

    def _names(self, pieces: list[str], warnings: list[str]) -> list[str]:
        out = []
        for piece in pieces:
            piece = _ROLE_PREFIX.sub("", piece)
            if piece in self.by_surface:
                out.append(self.by_surface[piece])
                continue
            close = sorted({n for s, n in self.by_surface.items() if _one_apart(piece, s)})
            if len(close) == 1:
                warnings.append(f"{close[0]}: the verdict writes {piece!r} for this defendant (name: uncertain)")
                self.by_surface[piece] = close[0]
                out.append(close[0])
            else:
                out.append(piece)
        return out


def _item_kind(text: str, lo: int, hi: int) -> str:
    m = _ITEM_OPENING.match(text, lo, hi)
    start = m.end() if m else lo
    if text.startswith("撤销", start):
        return "revoke"
    if text.startswith("维持", start):
        return "maintain"
    return "new"


def verdict_links(text: str, lo: int, hi: int, people: dict[str, list[str]], warnings: list[str]) -> dict[str, dict]:
    """Name → what the verdict ``text[lo:hi]`` decides for that defendant (see the module docstring)."""
    skip = Skips(notes(text, lo, hi))
    who = _People(people)
    parts: dict[str, list[tuple[bool, Clause, int, int]]] = {}  # name -> (maintained, clause, index, group size)
    revoked: dict[str, list[tuple[int, int]]] = {}
    for item_lo, item_hi in items(text, lo, hi):
        kind = _item_kind(text, item_lo, item_hi)
        heads = who.heads(text, item_lo, item_hi, skip, warnings)
        if kind == "revoke":
            cut = text.find("即", item_lo, item_hi)
            probation = read_clause(text, item_lo, cut if cut >= 0 else item_hi, skip).revoked
            if probation:
                named = who.named_in(text, item_lo, item_hi)
                for name in named or (set(people) if len(people) == 1 else ()):
                    revoked.setdefault(name, []).extend(probation)
            continue
        for i, (s, e, names) in enumerate(heads):
            clause_hi = heads[i + 1][0] if i + 1 < len(heads) else item_hi
            clause = read_clause(text, e, clause_hi, skip)
            for k, name in enumerate(names):
                parts.setdefault(name, []).append((kind == "maintain", clause, k, len(names)))
                revoked.setdefault(name, []).extend(clause.revoked)
        if not heads and kind == "new":
            _executed_only(text, item_lo, item_hi, skip, who, people, parts)
    out = {name: _outcome(text, name, ps, warnings) for name, ps in parts.items()}
    for name, spans in revoked.items():
        if spans:
            out.setdefault(name, {})["revoked"] = spans
    return out


def _executed_only(text: str, lo: int, hi: int, skip: Skips, who: _People, people: dict[str, list[str]],
                   parts: dict[str, list]) -> None:
    """An item that only states the executed sentence (对被告人甲决定执行有期徒刑…) joins that defendant's clauses."""
    clause = read_clause(text, lo, hi, skip)
    if clause.executed_at is None:
        return
    named = who.named_in(text, lo, hi)
    if len(named) == 1 or not named and len(people) == 1:
        name = next(iter(named or people))
        parts.setdefault(name, []).append((False, clause, 0, 1))


def _mine(clause: Clause, index: int, size: int) -> list[Found]:
    """The penalties of the ``index``-th of ``size`` defendants of a clause (分别判处: the i-th of each kind)."""
    if size == 1 or not clause.respectively:
        return clause.penalties
    out = []
    for kind in dict.fromkeys(f.penalty.kind for f in clause.penalties):
        same = [f for f in clause.penalties if f.penalty.kind == kind]
        out += [same[index]] if len(same) == size else same
    return sorted(out, key=lambda f: f.span)


def _outcome(text: str, name: str, parts: list[tuple[bool, Clause, int, int]], warnings: list[str]) -> dict:
    charges: dict[str, list[tuple[int, int]]] = {}
    for _, clause, _, _ in parts:
        if clause.acquitted:
            continue
        for charge, span, known in clause.charges:
            if not known and charge not in charges:
                warnings.append(f"{name}: charge {charge!r} is not a known statutory charge")
            charges.setdefault(charge, []).append(span)
    new = [(c, _mine(c, i, n)) for m, c, i, n in parts if not m]
    kept = [(c, _mine(c, i, n)) for m, c, i, n in parts if m]

    def has_sentence(group):
        return any(f.penalty.kind in PRINCIPAL for _, fs in group for f in fs) or any(c.exempt for c, _ in group)

    source = new if has_sentence(new) or not has_sentence(kept) else kept
    found = [(c, f) for c, fs in source for f in fs]
    sentence = _sentence(text, name, found, source, warnings)
    fines = [f for _, f in found if f.penalty.kind == "罚金"]
    if not fines and source is new:
        fines = [f for _, fs in kept for f in fs if f.penalty.kind == "罚金"]
    fine = _fine(text, name, fines, warnings)
    executed = [f for _, f in found if f.executed]
    supplementary = [field(text, f.penalty.kind, [f.span], months=f.penalty.months, life=f.penalty.life,
                           all_property=f.penalty.all_property,
                           amount_yuan=number(f.penalty.amount.value) if f.penalty.amount else None)
                     for f in (executed or [f for _, f in found]) if f.penalty.kind in SUPPLEMENTARY]
    acquitted = bool(source) and all(c.acquitted for c, _ in source)
    if sentence is None and fine["value"] is None and not acquitted:
        warnings.append(f"{name}: no sentence found in the verdict")
    return {"charges": [field(text, c, spans) for c, spans in charges.items()], "sentence": sentence,
            "fine_yuan": fine, "supplementary": supplementary}


def _sentence(text: str, name: str, found: list[tuple[Clause, Found]], source: list, warnings: list[str]) -> dict | None:
    executed = [(c, f) for c, f in found if f.executed and f.penalty.kind in PRINCIPAL]
    principal = executed or [(c, f) for c, f in found if f.penalty.kind in PRINCIPAL]
    if not principal:
        exempt = next((c.exempt for c, _ in source if c.exempt), None)
        if exempt is None:
            return None
        return {"type": field(text, "免予刑事处罚", [exempt]), "months": field(text, None),
                "probation_months": field(text, 0), "reprieve_months": field(text, 0)}
    if any(c.executed_at is not None for c, _ in found) and not executed:
        warnings.append(f"{name}: 决定执行 without a principal penalty after it (sentence: uncertain)")
    clause, chosen = principal[-1]
    p = chosen.penalty
    kind = "死刑" if p.kind == "死刑缓期执行" else p.kind
    months = None if p.kind in ("死刑", "死刑缓期执行", "无期徒刑") else p.months
    reprieve = p.months if p.kind == "死刑缓期执行" else 0
    sentence = {"type": field(text, kind, [chosen.span]), "months": field(text, months, [chosen.span]),
                "probation_months": field(text, 0), "reprieve_months": field(text, reprieve, [chosen.span] if reprieve else ())}
    if len(principal) > 1 and not executed:
        sentence["type"]["uncertain"] = sentence["months"]["uncertain"] = True
        warnings.append(f"{name}: {len(principal)} principal penalties and no 决定执行; the last one is taken "
                        "(sentence: uncertain)")
    if chosen.typo:
        sentence["months"]["uncertain"] = True
        warnings.append(f"{name}: the term is written {text[chosen.span[0]:chosen.span[1]]!r}; read as {months} "
                        "months (months: uncertain)")
    if p.days:
        warnings.append(f"{name}: {p.days} days of the term are not counted in months")
    # 缓刑: after the chosen principal in its clause (this defendant's share of it), before any later principal.
    later = [f for c, f in found if c is clause and f.span[0] > chosen.span[0]]
    for f in later:
        if f.penalty.kind in PRINCIPAL:
            break
        if f.penalty.kind == "缓刑":
            sentence["probation_months"] = field(text, f.penalty.months, [f.span])
            break
    return sentence


def _fine(text: str, name: str, fines: list[Found], warnings: list[str]) -> dict:
    if not fines:
        return field(text, None)
    executed = [f for f in fines if f.executed]
    chosen = executed or fines
    amounts = [f.penalty.amount.value for f in chosen if f.penalty.amount is not None]
    if len(amounts) < len(chosen):
        warnings.append(f"{name}: a fine without an amount")
    if not executed and len(amounts) >= 3 and amounts[-1] == sum(amounts[:-1], Decimal(0)):
        chosen, amounts = chosen[-1:], amounts[-1:]  # a combined fine restating the per-charge fines
    f = field(text, number(sum(amounts, Decimal(0))), [x.span for x in chosen])
    if any(x.typo for x in chosen):
        f["uncertain"] = True
        warnings.append(f"{name}: a fine is written without 元; read as yuan (fine_yuan: uncertain)")
    return f
