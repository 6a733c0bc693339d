"""Review page: one self-contained HTML file for reading tagged judgments in a browser, offline.

``write_review("out.jsonl", "review.html")`` reads the output of corpus tagging (one JSON object a
line) and writes a page where each judgment's text has its entities highlighted by label, with its
case record beside it; every record field links to the span(s) of text it was read from. The page
is rendered here, in Python: highlights and links are plain HTML, and the small inline script only
adds scrolling, flashing, the document filter and the label toggles.

Input lines, as the tag command writes them:

- a judgment: ``{"id", "text", "entities": [{"start", "end", "label", "text"?, "score"?}], "record"?}``
- an error: ``{"id", "error": reason, "source": "file:line"}``
- a judgment tagged without its text (no ``"text"``): listed in the summary, since there is nothing
  to highlight.

A line that cannot be shown as it stands is shown as an error row saying why (:func:`check_line`):
entities that are not a list of objects with integer offsets inside the text, record evidence that
is not such a list, or nesting deeper than ``MAX_DEPTH``. Whatever a line holds, the page is written.

DOM contract (what tests and scripts may rely on): each judgment is an ``article.doc``; an entity is
``<mark class="ent" data-label data-start data-end data-span="S-E">`` whose text is
``text[data-start:data-end]``. Overlapping entities nest; an entity that crosses the end of an
enclosing one is split there into ``mark.frag`` pieces that share its ``data-span``. Evidence that
is not an entity span gets a plain ``<span class="ev">`` with the same attributes. A record field is
``<a class="fld" data-field="defendants.0.name" data-evidence="S-E S-E" href="#d3-S-E">``, where
``d3-S-E`` is the id of the first element of that span in document 3.

Left out: editing or correcting spans (this is a reading page), and paging: a page holds every
line given, so use ``limit`` for large corpora.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from dataclasses import dataclass
from heapq import heapify, heappop, heappush
from pathlib import Path
from typing import Any, Iterable

from nlp_judgments.legal.schema import LABEL_INFO, LABELS

# Hue per label (CSS hsl): people warm, institutions cool, money green, numbers and laws muted.
_HUES = {
    "DEFENDANT": 0, "PERSON": 28, "DATE": 48, "LOCATION": 80, "AMOUNT": 130, "PROCURATORATE": 172,
    "COURT": 205, "CHARGE": 245, "ORG": 275, "APP": 305, "PENALTY": 335,
}
_MUTED = {"CASE_NO": 215, "LAW": 30}  # low saturation: long spans that would dominate the page

# A record nests 8 levels deep (line, record, defendants, one defendant, sentence, months, evidence,
# one item); a line nested far deeper is broken, and would exhaust the recursion of the renderer.
MAX_DEPTH = 64

# Record fields shown at the top of the record panel: (key, caption).
_HEADER_FIELDS = (("court", "Court"), ("case_number", "Case number"), ("procuratorate", "Procuratorate"),
                  ("judgment_date", "Judgment date"))


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class _Range:
    """A highlighted stretch of one judgment: an entity (label set) or evidence-only text (label None)."""

    start: int
    end: int
    label: str | None = None
    score: float | None = None

    @property
    def key(self) -> str:
        return f"{self.start}-{self.end}"


def _nest(frags: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, list]]:
    """Nest fragments ``(start, end, order, ref)`` into a forest of ``(start, end, ref, children)``.

    Longer spans enclose shorter ones that start at the same place; a span that crosses the end of
    its enclosing span is cut there and its tail continues as a sibling, so every node covers a
    contiguous stretch and HTML stays well-formed.

    >>> _nest([(0, 4, 0, 0), (2, 6, 1, 1)])
    [(0, 4, 0, [(2, 4, 1, [])]), (4, 6, 1, [])]
    """
    heap = [(s, -e, o, r) for s, e, o, r in frags]
    heapify(heap)
    forest = []
    while heap:
        s, neg_e, _, ref = heappop(heap)
        e = -neg_e
        inner, tails = [], []
        while heap and heap[0][0] < e:
            s2, neg_e2, o2, r2 = heappop(heap)
            if -neg_e2 <= e:
                inner.append((s2, -neg_e2, o2, r2))
            else:
                inner.append((s2, e, o2, r2))
                tails.append((e, neg_e2, o2, r2))
        for t in tails:
            heappush(heap, t)
        forest.append((s, e, ref, _nest(inner)))
    return forest


class _Labels:
    """Label → CSS class index, in schema order first, then unknown labels as they appear."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        for label in LABELS:
            self.cls(label)

    def cls(self, label: str) -> str:
        if label not in self.index:
            self.index[label] = len(self.index)
        return f"l{self.index[label]}"

    def css(self) -> str:
        rules = []
        for label, i in self.index.items():
            if label in _HUES:
                bg, accent = f"hsl({_HUES[label]} 85% 90%)", f"hsl({_HUES[label]} 60% 42%)"
            elif label in _MUTED:
                bg, accent = f"hsl({_MUTED[label]} 18% 90%)", f"hsl({_MUTED[label]} 14% 50%)"
            else:  # a label outside the schema (another label map): grey, still distinct from text
                bg, accent = "hsl(0 0% 89%)", "hsl(0 0% 45%)"
            rules.append(f".l{i}{{--hl:{bg};--ac:{accent}}}")
            rules.append(f"body.hide-l{i} mark.l{i}{{background:none;border-bottom-color:transparent}}")
        return "\n".join(rules)


def _is_offset(x: Any) -> bool:
    return type(x) is int  # bool is an int subclass: True would slice as 1


def _evidence_spans(obj: Any) -> Iterable[tuple[int, int]]:
    """Every ``(start, end)`` in the ``evidence`` lists of a record, however deep."""
    if isinstance(obj, dict):
        evidence = obj.get("evidence")
        for item in evidence if isinstance(evidence, list) else ():
            if isinstance(item, dict) and _is_offset(item.get("start")) and _is_offset(item.get("end")):
                yield item["start"], item["end"]
        for key, value in obj.items():
            if key != "evidence":
                yield from _evidence_spans(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _evidence_spans(value)


# --- checking a line ---------------------------------------------------------------------------

def check_line(line: Any) -> dict:
    """``line`` when it can be shown as it stands, else an error line (``id``, ``error``, ``source``).

    A judgment line's ``entities`` (when present) must be a list of objects whose ``start`` and
    ``end`` are integers (not booleans) with ``0 <= start < end <= len(text)``, and every
    ``evidence`` in its record a list of objects with such offsets; no line may nest deeper than
    ``MAX_DEPTH``. An entity whose quoted ``text`` differs from the text at its offsets is not an
    error (it is highlighted by its offsets, with a note). Never raises.

    >>> check_line({"id": "a", "text": "被告人张某", "entities": [{"start": 3, "end": True, "label": "P"}]})["error"]
    'entity 0: offsets must be integers, got start=3 end=True'
    """
    if _too_deep(line):
        scalar = (str, int, float, type(None))
        doc_id = line.get("id") if isinstance(line, dict) and isinstance(line.get("id"), scalar) else None
        source = line.get("source") if isinstance(line, dict) and isinstance(line.get("source"), str) else None
        return _error_line(doc_id, f"nested deeper than {MAX_DEPTH} levels", source)
    if not isinstance(line, dict):
        return {"id": None, "error": f"not a JSON object: {_plain(line)[:80]}"}
    if "error" in line or not isinstance(line.get("text"), str):
        return line
    text = line["text"]
    problem = _entities_problem(text, line.get("entities"))
    if problem is None and isinstance(line.get("record"), dict):
        problem = _evidence_problem(text, line["record"], "record")
    return line if problem is None else _error_line(line.get("id"), problem, line.get("source"))


def _error_line(doc_id: Any, reason: str, source: Any) -> dict:
    return {"id": doc_id, "error": reason, **({"source": source} if source is not None else {})}


def _too_deep(obj: Any) -> bool:
    """Does ``obj`` hold a list or object nested deeper than ``MAX_DEPTH``? (Iterative: no recursion.)"""
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _offsets_problem(what: str, item: Any, text: str) -> str | None:
    if not isinstance(item, dict) or "start" not in item or "end" not in item:
        return f"{what} is not an object with start and end: {_plain(item)[:80]}"
    s, e = item["start"], item["end"]
    if not (_is_offset(s) and _is_offset(e)):
        return f"{what}: offsets must be integers, got start={s!r} end={e!r}"
    if not 0 <= s < e <= len(text):
        return f"{what} [{s}, {e}) is not a span of the text of length {len(text)}"
    return None


def _entities_problem(text: str, entities: Any) -> str | None:
    if entities is None:
        return None
    if not isinstance(entities, list):
        return f"'entities' is not a list: {_plain(entities)[:80]}"
    for k, ent in enumerate(entities):
        problem = _offsets_problem(f"entity {k}", ent, text)
        if problem is None and "label" not in ent:
            problem = f"entity {k} has no label"
        if problem is not None:
            return problem
    return None


def _evidence_problem(text: str, node: Any, path: str) -> str | None:
    """The first bad ``evidence`` in a record (depth already bounded by ``MAX_DEPTH``)."""
    if isinstance(node, dict):
        if "evidence" in node:
            evidence = node["evidence"]
            if not isinstance(evidence, list):
                return f"{path}: evidence is not a list: {_plain(evidence)[:80]}"
            for j, item in enumerate(evidence):
                problem = _offsets_problem(f"{path}: evidence {j}", item, text)
                if problem is not None:
                    return problem
        children = ((k, v) for k, v in node.items() if k != "evidence")
    elif isinstance(node, list):
        children = enumerate(node)
    else:
        return None
    for key, value in children:
        problem = _evidence_problem(text, value, f"{path}.{key}")
        if problem is not None:
            return problem
    return None


def _score(value: Any) -> float | None:
    """An entity's score as a float, or None when it is not a number a float can hold."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond float range
        return None


# --- one judgment ------------------------------------------------------------------------------

class _DocRenderer:
    """Renders one judgment line as an ``article``; ``n`` makes its element ids unique in the page."""

    def __init__(self, n: int, line: dict, labels: _Labels):
        self.n, self.line, self.labels = n, line, labels
        self.text: str = line["text"]
        self.notes: list[str] = []
        self.entities = self._clean_entities(line.get("entities"))
        if "entities" not in line:
            self.notes.append("no entity list in this line (tagged with --no-entities): only record evidence is marked")
        record = line.get("record")
        self.record = record if isinstance(record, dict) else None
        if record is not None and self.record is None:
            self.notes.append("the record is not a JSON object; not shown")
        self.first_id: dict[str, str] = {}  # span key -> id of its first element

    def _clean_entities(self, entities: Any) -> list[_Range]:
        """Ranges of the entities of a line that passed :func:`check_line`."""
        out = []
        for k, ent in enumerate(entities or ()):
            s, e, label = ent["start"], ent["end"], str(ent["label"])
            if isinstance(ent.get("text"), str) and ent["text"] != self.text[s:e]:
                self.notes.append(f"entity {k} {label}: its text {ent['text']!r} differs from the text at "
                                  f"[{s}, {e}) {self.text[s:e]!r}; highlighted by offsets")
            out.append(_Range(s, e, label, _score(ent.get("score"))))
            self.labels.counts[label] += 1
        return out

    def ok_span(self, s: Any, e: Any) -> bool:
        return _is_offset(s) and _is_offset(e) and 0 <= s < e <= len(self.text)

    # text with highlights

    def render_text(self) -> str:
        ranges: list[_Range] = list(self.entities)
        entity_keys = {(r.start, r.end) for r in ranges}
        extra = {(s, e) for s, e in _evidence_spans(self.record) if self.ok_span(s, e)} - entity_keys
        ranges += [_Range(s, e) for s, e in sorted(extra)]
        # Entities before evidence-only spans at the same place, then in input order.
        frags = [(r.start, r.end, (r.label is None, i), i) for i, r in enumerate(ranges)]
        out: list[str] = []
        self._emit(_nest(frags), ranges, 0, len(self.text), out)
        return "".join(out)

    def _emit(self, forest: list, ranges: list[_Range], lo: int, hi: int, out: list[str]) -> None:
        pos = lo
        for s, e, ref, children in forest:
            out.append(_esc(self.text[pos:s]))
            r = ranges[ref]
            attrs = f'data-start="{s}" data-end="{e}" data-span="{r.key}"'
            if r.key not in self.first_id:
                self.first_id[r.key] = f"d{self.n}-{r.key}"
                attrs += f' id="{self.first_id[r.key]}"'
            frag = " frag" if (s, e) != (r.start, r.end) else ""
            if r.label is None:
                out.append(f'<span class="ev{frag}" {attrs}>')
            else:
                info = LABEL_INFO.get(r.label)
                tip = r.label + (f" {info.chinese}" if info else "")
                tip += f" · {r.score:.2f}" if r.score is not None else ""
                out.append(f'<mark class="ent {self.labels.cls(r.label)}{frag}" data-label="{_esc(r.label)}" '
                           f'{attrs} title="{_esc(tip)}">')
            self._emit(children, ranges, s, e, out)
            out.append("</span>" if r.label is None else "</mark>")
            pos = e
        out.append(_esc(self.text[pos:hi]))

    # record panel (call after render_text, which assigns the element ids)

    def field(self, path: str, f: Any, shown: str | None = None, detail: str = "") -> str:
        """One record field as a link to its evidence (or plain text when it has none)."""
        if not isinstance(f, dict):
            return f'<span class="fld none" data-field="{_esc(path)}">—</span>'
        value = f.get("value")
        formatted = shown is not None
        if shown is None:
            shown = "—" if value is None else _esc(_plain(value))
        keys = []
        for ev in f.get("evidence") or ():
            if isinstance(ev, dict) and self.ok_span(ev.get("start"), ev.get("end")):
                key = f"{ev['start']}-{ev['end']}"
                if key not in keys:
                    keys.append(key)
        detail_html = f' <small class="detail">{_esc(detail)}</small>' if detail else ""
        short = " short" if formatted else ""  # numbers and terms: never broken across lines
        if not keys:
            why = "a default, not read from the text" if value is not None else "not found in the text"
            return f'<span class="fld none{short}" data-field="{_esc(path)}" title="{why}">{shown}{detail_html}</span>'
        more = f'<sup class="many">×{len(keys)}</sup>' if len(keys) > 1 else ""
        tip = " | ".join(self.text[int(k.split('-')[0]):int(k.split('-')[1])] for k in keys[:5])
        return (f'<a class="fld{short}" href="#{self.first_id[keys[0]]}" data-field="{_esc(path)}" '
                f'data-evidence="{" ".join(keys)}" title="{_esc(tip)}">{shown}{more}</a>{detail_html}')

    def render_record(self) -> str:
        rec = self.record
        if rec is None:
            return '<aside class="record"><p class="muted">No case record in this line.</p></aside>'
        rows = []
        for key, caption in _HEADER_FIELDS:
            detail = ""
            if key == "case_number" and isinstance(rec.get(key), dict):
                detail = str(rec[key].get("procedure") or "")
            rows.append(f"<dt>{caption}</dt><dd>{self.field(key, rec.get(key), detail=detail)}</dd>")
        parts = [f'<dl class="kv">{"".join(rows)}</dl>']
        defendants = rec.get("defendants") if isinstance(rec.get("defendants"), list) else []
        parts.append(f"<h4>Defendants <span class=\"count\">{len(defendants)}</span></h4>")
        parts += [self._defendant(i, d) for i, d in enumerate(defendants) if isinstance(d, dict)]
        parts.append(self._chips("apps", "Apps", rec.get("apps")))
        parts.append(self._list("amounts", "Amounts", rec.get("amounts"), _money_shown))
        parts.append(self._list("law_articles", "Law articles", rec.get("law_articles"), None))
        parts.append(self._list("dates", "Dates", rec.get("dates"), None))
        warnings = rec.get("warnings") if isinstance(rec.get("warnings"), list) else []
        if warnings:
            items = "".join(f"<li>{_esc(w)}</li>" for w in warnings)
            parts.append(f'<details class="warnings"><summary>Warnings <span class="count">{len(warnings)}</span>'
                         f"</summary><ul>{items}</ul></details>")
        return f'<aside class="record">{"".join(parts)}</aside>'

    def _defendant(self, i: int, d: dict) -> str:
        p = f"defendants.{i}"
        rows = []
        who = [self.field(f"{p}.gender", d.get("gender"))] if _has_value(d.get("gender")) else []
        if _has_value(d.get("birth_date")):
            who.append("born " + self.field(f"{p}.birth_date", d.get("birth_date")))
        charges = d.get("charges") if isinstance(d.get("charges"), list) else []
        shown_charges = " ".join(self.field(f"{p}.charges.{j}", c) for j, c in enumerate(charges))
        rows.append(f'<dt>Charges</dt><dd>{shown_charges or "<span class=muted>—</span>"}</dd>')
        s = d.get("sentence")
        if isinstance(s, dict):
            kind = s.get("type") if isinstance(s.get("type"), dict) else {}
            months = s.get("months") if isinstance(s.get("months"), dict) else {}
            line = self.field(f"{p}.sentence.type", kind)
            if isinstance(months.get("value"), int) and kind.get("value") != "免予刑事处罚":
                line += " " + self.field(f"{p}.sentence.months", months, _esc(_months(months["value"])))
            for key, caption in (("probation_months", "probation"), ("reprieve_months", "reprieve")):
                f = s.get(key)
                if isinstance(f, dict) and isinstance(f.get("value"), int) and f["value"] > 0:
                    line += f' <span class="muted">{caption}</span> ' + self.field(f"{p}.sentence.{key}", f,
                                                                                     _esc(_months(f["value"])))
        else:
            line = '<span class="muted">none found</span>'
        rows.append(f"<dt>Sentence</dt><dd>{line}</dd>")
        for key, caption in (("fine_yuan", "Fine"), ("illegal_gain_yuan", "Illegal gain")):
            if _has_value(d.get(key)):
                rows.append(f"<dt>{caption}</dt><dd>{self.field(f'{p}.{key}', d[key], _money_shown(d[key]))}</dd>")
        supp = d.get("supplementary") if isinstance(d.get("supplementary"), list) else []
        if supp:
            rows.append("<dt>Also</dt><dd>" + " ".join(
                self.field(f"{p}.supplementary.{j}", x, _supplementary_shown(x)) for j, x in enumerate(supp)) + "</dd>")
        revoked = d.get("probation_revoked")
        if isinstance(revoked, dict) and revoked.get("value") is True:
            rows.append(f"<dt>Probation</dt><dd>{self.field(f'{p}.probation_revoked', revoked, 'revoked')}</dd>")
        sub = f'<span class="who">{" · ".join(who)}</span>' if who else ""
        return (f'<section class="defendant"><div class="name">{self.field(f"{p}.name", d.get("name"))}{sub}</div>'
                f'<dl class="kv">{"".join(rows)}</dl></section>')

    def _chips(self, key: str, caption: str, items: Any) -> str:
        items = items if isinstance(items, list) else []
        if not items:
            return ""
        chips = " ".join(self.field(f"{key}.{j}", x) for j, x in enumerate(items))
        return f'<h4>{caption} <span class="count">{len(items)}</span></h4><div class="chips">{chips}</div>'

    def _list(self, key: str, caption: str, items: Any, shown) -> str:
        items = items if isinstance(items, list) else []
        if not items:
            return ""
        lis = "".join(f"<li>{self.field(f'{key}.{j}', x, shown(x) if shown else None)}</li>"
                      for j, x in enumerate(items))
        return (f'<details><summary>{caption} <span class="count">{len(items)}</span></summary>'
                f'<ul class="flds">{lis}</ul></details>')

    def render(self) -> str:
        text_html = self.render_text()
        record_html = self.render_record()
        line = self.line
        court = self.record.get("court") if self.record else None
        case_no = self.record.get("case_number") if self.record else None
        sub = [str(f["value"]) for f in (court, case_no) if isinstance(f, dict) and f.get("value")]
        sub.append(f"{len(self.entities)} entities · {len(self.text):,} characters")
        if line.get("source"):
            sub.append(str(line["source"]))
        notes = ""
        if self.notes:
            notes = '<ul class="notes">' + "".join(f"<li>{_esc(x)}</li>" for x in self.notes) + "</ul>"
        doc_id = line.get("id")
        return (f'<article class="doc" id="doc-{self.n}" data-doc-id="{_esc(_or(doc_id, ""))}">'
                f'<header><h2>{_esc(_or(doc_id, f"line {self.n + 1}"))}</h2>'
                f'<p class="sub">{_esc(" · ".join(sub))}</p>{notes}</header>'
                f'<div class="doc-body"><div class="text" lang="zh-CN">{text_html}</div>{record_html}</div></article>')


def _or(value: Any, default: str) -> Any:
    return default if value is None else value


def _has_value(f: Any) -> bool:
    return isinstance(f, dict) and f.get("value") is not None


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _months(m: int) -> str:
    """``39`` → ``'3 yr 3 mo'``: terms read as years and months, as the judgment writes them."""
    y, r = divmod(m, 12)
    return " ".join(p for p in (f"{y} yr" if y else "", f"{r} mo" if r or not y else "") if p)


def _money_shown(f: Any) -> str | None:
    if not isinstance(f, dict) or not isinstance(f.get("value"), (int, float)) or isinstance(f.get("value"), bool):
        return None
    v = f["value"]
    text = f"{v:,.2f}".rstrip("0").rstrip(".") if isinstance(v, float) else f"{v:,}"
    if isinstance(f.get("high"), (int, float)) and f["high"] != v:
        text += f" – {f['high']:,}"
    currency = f.get("currency") or "CNY"
    text = ("¥" + text) if currency == "CNY" else f"{text} {currency}"
    return _esc(("≈ " if f.get("approximate") else "") + text)


def _supplementary_shown(f: Any) -> str | None:
    if not isinstance(f, dict):
        return None
    value = str(f.get("value") or "—")
    if f.get("life"):
        value += " (life)"
    elif isinstance(f.get("months"), int):
        value += f" ({_months(f['months'])})"
    elif f.get("all_property"):
        value += " (all property)"
    elif isinstance(f.get("amount_yuan"), (int, float)):
        value += f" (¥{f['amount_yuan']:,})"
    return _esc(value)


# --- the page ------------------------------------------------------------------------------------

def render_review(lines: Iterable[dict], title: str = "Judgment review", notes: Iterable[str] = ()) -> str:
    """The review page for parsed output lines, as one self-contained HTML string.

    ``notes`` are extra sentences for the summary (e.g. that the input was cut by a limit).

    >>> ent = {"start": 3, "end": 5, "label": "DEFENDANT"}
    >>> page = render_review([{"id": "a", "text": "被告人张某", "entities": [ent]}])
    >>> '<mark class="ent l0" data-label="DEFENDANT" data-start="3" data-end="5"' in page
    True
    """
    labels = _Labels()
    docs, nav, no_text = [], [], []
    n_docs = n_errors = 0
    for n, line in enumerate(lines):
        line = check_line(line)
        doc_id = line.get("id")
        if "error" in line:
            n_errors += 1
            name = _esc(_or(doc_id, "(no id)"))
            source = f'<p class="sub">{_esc(line.get("source"))}</p>' if line.get("source") else ""
            docs.append(f'<article class="doc error" id="doc-{n}" data-doc-id="{_esc(_or(doc_id, ""))}"><header>'
                        f'<h2>{name} <span class="badge">error</span></h2>{source}</header>'
                        f'<p class="reason">{_esc(line["error"])}</p></article>')
            nav.append(f'<li class="err"><a href="#doc-{n}">{name}</a><span class="n">error</span></li>')
        elif isinstance(line.get("text"), str):
            n_docs += 1
            r = _DocRenderer(n, line, labels)
            docs.append(r.render())
            court = r.record.get("court") if r.record else None
            court_name = court.get("value") if isinstance(court, dict) else None
            hint = f' title="{_esc(court_name)}"' if court_name else ""
            nav.append(f'<li><a href="#doc-{n}"{hint}>{_esc(_or(doc_id, f"line {n + 1}"))}</a>'
                       f'<span class="n">{len(r.entities)}</span></li>')
        else:
            entities = line.get("entities")
            no_text.append((doc_id, len(entities) if isinstance(entities, list) else 0, line.get("source")))

    summary = [f"{n_docs} judgment{'s' if n_docs != 1 else ''}",
               f"{n_errors} error{'s' if n_errors != 1 else ''}"]
    if no_text:
        summary.append(f"{len(no_text)} without text")
    parts = [f'<section class="summary"><h1>{_esc(title)}</h1><p class="sub">{" · ".join(summary)}</p>']
    parts += [f'<p class="note">{_esc(x)}</p>' for x in notes]
    if not docs and not no_text:
        parts.append('<p class="muted">No lines to show.</p>')
    if no_text:
        rows = "".join(f"<li><code>{_esc(i)}</code> · {k} entities{f' · {_esc(s)}' if s else ''}</li>"
                       for i, k, s in no_text)
        parts.append(f'<div class="notext" id="no-text"><p><b>{len(no_text)} line(s) carry no judgment text</b>, so '
                     f"their entities cannot be shown. Tag again with <code>--include-text</code> to review them."
                     f"</p><ul>{rows}</ul></div>")
    parts.append("</section>")

    legend = "".join(
        f'<button type="button" class="chip {labels.cls(label)}" data-k="{labels.cls(label)}" aria-pressed="true" '
        f'title="show or hide this label"><i></i>{_esc(label)}'
        f'{f" <small>{LABEL_INFO[label].chinese}</small>" if label in LABEL_INFO else ""}'
        f'<span class="n">{labels.counts[label]}</span></button>'
        for label in labels.index if labels.counts[label] or label in LABEL_INFO)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>{_CSS}\n{labels.css()}</style></head><body>"
            f'<div class="layout"><nav class="side"><div class="brand">nlp-judgments <span>review</span></div>'
            f'<h3>Labels</h3><div class="legend">{legend}</div>'
            f'<h3>Documents <span class="count">{len(nav)}</span></h3>'
            f'<input type="search" id="filter" placeholder="Filter by id or court" aria-label="filter documents">'
            f'<ol class="docs">{"".join(nav)}</ol></nav>'
            f'<main>{"".join(parts)}{"".join(docs)}</main></div><script>{_JS}</script></body></html>\n')


def read_lines(path: str | Path, limit: int | None = None) -> tuple[list[dict], int]:
    """Parse up to ``limit`` non-blank lines of ``path``; return them and how many lines were left unread.

    A line that is not valid JSON becomes an error line (``source`` = ``path:line``) rather than
    stopping the review: a broken line is one more thing to review.
    """
    path = Path(path)
    out, left = [], 0
    with path.open(encoding="utf-8", errors="replace") as f:  # a stray bad byte must not stop the review
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            if limit is not None and len(out) >= limit:
                left += 1
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                obj = {"id": None, "error": f"malformed JSON ({e.msg} at column {e.colno})"}
            except RecursionError:
                obj = {"id": None, "error": "JSON nested too deeply to read"}
            except ValueError as e:  # an integer of more digits than Python converts
                obj = {"id": None, "error": f"unreadable JSON ({e})"}
            if not isinstance(obj, dict):
                obj = {"id": None, "error": f"not a JSON object: {raw.strip()[:80]}"}
            if "error" in obj and not obj.get("source"):
                obj["source"] = f"{path}:{lineno}"
            out.append(obj)
    return out, left


def write_review(path_in: str | Path, path_out: str | Path, limit: int | None = None) -> dict:
    """Write the review page for the JSONL ``path_in`` to ``path_out``; return counts for the CLI.

    ``limit`` keeps the first ``limit`` lines (errors included); the page says how many were left out.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    lines, left = read_lines(path_in, limit)
    lines = [check_line(x) for x in lines]  # so the counts below are those of the page
    notes = [f"Showing the first {len(lines)} lines; {left} more not shown (--limit)."] if left else []
    page = render_review(lines, title=f"Review of {Path(path_in).name}", notes=notes)
    Path(path_out).parent.mkdir(parents=True, exist_ok=True)
    Path(path_out).write_text(page, encoding="utf-8")
    errors = sum(1 for x in lines if "error" in x)
    with_text = sum(1 for x in lines if "error" not in x and isinstance(x.get("text"), str))
    return {"output": str(path_out), "judgments": with_text, "errors": errors,
            "without_text": len(lines) - errors - with_text, "not_shown": left}


_CSS = """
:root{--ink:#1f2328;--muted:#6b7280;--line:#e5e7eb;--paper:#fff;--bg:#f6f7f9;--accent:#1f5fa8;
--cjk:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","WenQuanYi Micro Hei","WenQuanYi Zen Hei",
"PingFang SC","Microsoft YaHei",sans-serif}
*{box-sizing:border-box}
html{scroll-padding-top:16px}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,var(--cjk)}
.layout{display:flex;align-items:flex-start}
nav.side{position:sticky;top:0;height:100vh;width:236px;flex:none;overflow:auto;padding:14px 12px;
background:#fbfbfc;border-right:1px solid var(--line)}
.brand{font-weight:600;font-size:15px;margin-bottom:10px}.brand span{color:var(--muted);font-weight:400}
nav h3{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:14px 0 6px}
.legend{display:flex;flex-direction:column;gap:3px}
.chip{display:flex;align-items:center;gap:6px;width:100%;border:0;background:none;padding:3px 6px;border-radius:5px;
font:12px/1.4 inherit;color:var(--ink);cursor:pointer;text-align:left}
.chip:hover{background:#eef0f3}.chip i{width:12px;height:12px;border-radius:3px;background:var(--hl);
border-bottom:3px solid var(--ac);flex:none}.chip small{color:var(--muted);font-family:var(--cjk)}
.chip .n{margin-left:auto;color:var(--muted);font-variant-numeric:tabular-nums}
.chip[aria-pressed=false]{opacity:.45}.chip[aria-pressed=false] i{background:none}
#filter{width:100%;padding:5px 8px;border:1px solid var(--line);border-radius:6px;font:inherit;margin-bottom:6px}
ol.docs{list-style:none;margin:0;padding:0}
ol.docs li{display:flex;align-items:center;border-radius:5px}
ol.docs a{flex:1;padding:3px 6px;color:var(--ink);text-decoration:none;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap}
ol.docs li:hover,ol.docs li.current{background:#e8eef7}
ol.docs .n{color:var(--muted);font-size:11px;padding-right:6px}
ol.docs li.err a,ol.docs li.err .n{color:#b42318}
main{flex:1;min-width:0;padding:18px 22px 60vh}
.summary h1{font-size:20px;margin:0 0 2px}
.sub{color:var(--muted);margin:0}
.note{color:#7a5b00;background:#fff8e1;border:1px solid #f3e2a5;border-radius:6px;padding:6px 10px}
.notext{background:var(--paper);border:1px solid var(--line);border-left:4px solid #d9a300;border-radius:8px;
padding:8px 14px;margin-top:12px}.notext ul{margin:4px 0;padding-left:18px;color:var(--muted)}
article.doc{background:var(--paper);border:1px solid var(--line);border-radius:10px;margin:18px 0;
box-shadow:0 1px 2px rgba(0,0,0,.04);content-visibility:auto;contain-intrinsic-size:auto 800px}
article.doc>header{padding:12px 18px;border-bottom:1px solid var(--line)}
article.doc h2{font-size:16px;margin:0}
article.doc h2,.doc .sub{font-family:system-ui,sans-serif,var(--cjk)}
article.error{border-color:#f1b8b3;background:#fff7f6}
.badge{font-size:11px;font-weight:600;color:#fff;background:#b42318;border-radius:10px;padding:1px 8px;
vertical-align:middle}
.reason{margin:0;padding:12px 18px;color:#7a1b12;font-family:ui-monospace,Menlo,Consolas,monospace;
white-space:pre-wrap;word-break:break-word}
ul.notes{margin:6px 0 0;padding-left:18px;color:#8a5a00;font-size:12px}
.doc-body{display:grid;grid-template-columns:minmax(0,1fr) 330px}
.text{padding:16px 20px;font:16px/2.05 var(--cjk);white-space:pre-wrap;word-break:break-all;
border-right:1px solid var(--line)}
.text:empty::before{content:"(empty text)";color:var(--muted)}
mark.ent{background:var(--hl);color:inherit;border-bottom:2px solid var(--ac);border-radius:3px;padding:1px 0;
-webkit-box-decoration-break:clone;box-decoration-break:clone}
mark.ent mark.ent{border-bottom-width:3px}
.ev{border-bottom:1px dashed #9aa3af}
.flash{animation:flash 1.6s ease-out}
@keyframes flash{0%,35%{outline:3px solid #f59e0b;outline-offset:1px;background-color:#fde68a}
100%{outline:3px solid transparent;outline-offset:1px}}
aside.record{padding:14px 16px;position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;
font-size:13px;background:#fcfcfd;border-radius:0 0 10px 0}
aside.record h4{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:14px 0 6px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 10px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;min-width:0;font-family:var(--cjk)}
.defendant{border:1px solid var(--line);border-radius:8px;padding:8px 10px;margin-bottom:8px;background:var(--paper)}
.defendant .name{font-size:15px;font-weight:600;margin-bottom:4px;font-family:var(--cjk)}
.defendant .who{font-weight:400;font-size:12px;color:var(--muted);margin-left:8px}
a.fld{color:var(--accent);text-decoration:none;border-bottom:1px dotted currentColor;cursor:pointer}
a.fld:hover{background:#e8eef7}.fld.none{color:var(--muted)}.fld.short{white-space:nowrap}
.many{font-size:10px;color:var(--muted);margin-left:1px;white-space:nowrap}
.detail{color:var(--muted)}
.chips{display:flex;flex-wrap:wrap;gap:4px}.chips .fld{font-family:var(--cjk);background:#eef3fa;border:0;
border-radius:10px;padding:1px 8px}
details{margin-top:10px}summary{cursor:pointer;font-size:11px;text-transform:uppercase;letter-spacing:.06em;
color:var(--muted)}
ul.flds{margin:4px 0;padding-left:16px;font-family:var(--cjk)}
.warnings ul{margin:4px 0;padding-left:16px;color:#8a5a00}
.count{font-weight:400;color:var(--muted);font-size:11px}
.muted{color:var(--muted)}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
@media (max-width:1000px){.doc-body{grid-template-columns:1fr}.text{border-right:0}
aside.record{position:static;max-height:none;border-top:1px solid var(--line)}nav.side{width:190px}}
"""

_JS = """
(function(){
  function flash(el){el.classList.remove('flash');void el.offsetWidth;el.classList.add('flash');}
  document.addEventListener('animationend',function(e){e.target.classList.remove('flash');});
  document.addEventListener('click',function(e){
    var a=e.target.closest('a.fld[data-evidence]');
    if(a){
      e.preventDefault();
      var doc=a.closest('article'),keys=a.dataset.evidence.split(' ');
      var i=(+a.dataset.next||0)%keys.length;  /* repeated clicks walk the mentions */
      var target=doc.querySelector('[data-span="'+keys[i]+'"]');
      if(!target)return;
      a.dataset.next=i+1;
      target.scrollIntoView({behavior:'smooth',block:'center'});
      keys.forEach(function(k){doc.querySelectorAll('[data-span="'+k+'"]').forEach(flash);});
      return;
    }
    var chip=e.target.closest('.chip[data-k]');
    if(chip){
      var on=chip.getAttribute('aria-pressed')!=='false';
      chip.setAttribute('aria-pressed',on?'false':'true');
      document.body.classList.toggle('hide-'+chip.dataset.k,on);
    }
  });
  var items=[].slice.call(document.querySelectorAll('ol.docs li'));
  document.getElementById('filter').addEventListener('input',function(){
    var q=this.value.trim().toLowerCase();
    items.forEach(function(li){var a=li.firstChild;
      li.hidden=q&&(a.textContent+' '+(a.title||'')).toLowerCase().indexOf(q)<0;});
  });
  if('IntersectionObserver' in window){  /* mark the document being read in the list */
    var byHref={};items.forEach(function(li){byHref[li.firstChild.getAttribute('href').slice(1)]=li;});
    var io=new IntersectionObserver(function(entries){entries.forEach(function(en){
      var li=byHref[en.target.id];if(li)li.classList.toggle('current',en.isIntersecting);});},
      {rootMargin:'-30% 0px -65% 0px'});
    document.querySelectorAll('article.doc').forEach(function(d){io.observe(d);});
  }
  document.documentElement.dataset.ready='1';  /* the script ran to the end */
})();
"""
