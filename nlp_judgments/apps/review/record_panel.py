"""The record panel of one judgment: its case record, each field a link to the text it was read from.

A field with evidence is ``<a class="fld" data-field data-evidence href>`` pointing at the first
element of its first span (ids assigned by :class:`~nlp_judgments.apps.review.document.DocRenderer`
as it marks the text); a field without is plain text saying whether it is a default or missing.

Not here: the highlighted text (``document.py``, ``highlight.py``).
"""

from __future__ import annotations

from typing import Any

from nlp_judgments.apps.review.lines import is_span
from nlp_judgments.apps.review.markup import esc, plain

# Record fields shown at the top of the record panel: (key, caption).
_HEADER_FIELDS = (("court", "Court"), ("case_number", "Case number"), ("procuratorate", "Procuratorate"),
                  ("judgment_date", "Judgment date"))


class RecordPanel:
    """Renders the record of one judgment; ``first_id`` maps a span key (``S-E``) to the id of its
    first element in the text, as marking the text assigned them."""

    def __init__(self, text: str, record: dict | None, first_id: dict[str, str]):
        self.text, self.record, self.first_id = text, record, first_id

    def ok_span(self, s: Any, e: Any) -> bool:
        return is_span(self.text, s, e)

    def field(self, path: str, f: Any, shown: str | None = None, detail: str = "") -> str:
        """One record field as a link to its evidence (or plain text when it has none)."""
        if not isinstance(f, dict):
            return f'<span class="fld none" data-field="{esc(path)}">—</span>'
        value = f.get("value")
        formatted = shown is not None
        if shown is None:
            shown = "—" if value is None else esc(plain(value))
        keys = []
        for ev in f.get("evidence") or ():
            if isinstance(ev, dict) and self.ok_span(ev.get("start"), ev.get("end")):
                key = f"{ev['start']}-{ev['end']}"
                if key not in keys:
                    keys.append(key)
        detail_html = f' <small class="detail">{esc(detail)}</small>' if detail else ""
        short = " short" if formatted else ""  # numbers and terms: never broken across lines
        if not keys:
            why = "a default, not read from the text" if value is not None else "not found in the text"
            return f'<span class="fld none{short}" data-field="{esc(path)}" title="{why}">{shown}{detail_html}</span>'
        more = f'<sup class="many">×{len(keys)}</sup>' if len(keys) > 1 else ""
        tip = " | ".join(self.text[int(k.split('-')[0]):int(k.split('-')[1])] for k in keys[:5])
        return (f'<a class="fld{short}" href="#{self.first_id[keys[0]]}" data-field="{esc(path)}" '
                f'data-evidence="{" ".join(keys)}" title="{esc(tip)}">{shown}{more}</a>{detail_html}')

    def render(self) -> str:
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
            items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
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
                line += " " + self.field(f"{p}.sentence.months", months, esc(_months(months["value"])))
            for key, caption in (("probation_months", "probation"), ("reprieve_months", "reprieve")):
                f = s.get(key)
                if isinstance(f, dict) and isinstance(f.get("value"), int) and f["value"] > 0:
                    line += f' <span class="muted">{caption}</span> ' + self.field(f"{p}.sentence.{key}", f,
                                                                                     esc(_months(f["value"])))
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


def _has_value(f: Any) -> bool:
    return isinstance(f, dict) and f.get("value") is not None


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
    return esc(("≈ " if f.get("approximate") else "") + text)


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
    return esc(value)
