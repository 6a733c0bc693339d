"""One judgment line as an ``article``: its text with entities and evidence marked, and its record.

Not here: checking the line (``lines.py``, done before), the record panel (``record_panel.py``)
and the page around the articles (``page.py``).
"""

from __future__ import annotations

from typing import Any

from nlp_judgments.apps.review.highlight import Labels, Range, evidence_spans, nest
from nlp_judgments.apps.review.lines import is_span
from nlp_judgments.apps.review.markup import esc, or_default
from nlp_judgments.apps.review.record_panel import RecordPanel
from nlp_judgments.legal.schema import LABEL_INFO


def _score(value: Any) -> float | None:
    """An entity's score as a float, or None when it is not a number a float can hold."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond float range
        return None


class DocRenderer:
    """Renders one judgment line as an ``article``; ``n`` makes its element ids unique in the page."""

    def __init__(self, n: int, line: dict, labels: Labels):
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

    def _clean_entities(self, entities: Any) -> list[Range]:
        """Ranges of the entities of a line that passed :func:`check_line`."""
        out = []
        for k, ent in enumerate(entities or ()):
            s, e, label = ent["start"], ent["end"], str(ent["label"])
            if isinstance(ent.get("text"), str) and ent["text"] != self.text[s:e]:
                self.notes.append(f"entity {k} {label}: its text {ent['text']!r} differs from the text at "
                                  f"[{s}, {e}) {self.text[s:e]!r}; highlighted by offsets")
            out.append(Range(s, e, label, _score(ent.get("score"))))
            self.labels.counts[label] += 1
        return out

    def ok_span(self, s: Any, e: Any) -> bool:
        return is_span(self.text, s, e)

    # text with highlights

    def render_text(self) -> str:
        ranges: list[Range] = list(self.entities)
        entity_keys = {(r.start, r.end) for r in ranges}
        extra = {(s, e) for s, e in evidence_spans(self.record) if self.ok_span(s, e)} - entity_keys
        ranges += [Range(s, e) for s, e in sorted(extra)]
        # Entities before evidence-only spans at the same place, then in input order.
        frags = [(r.start, r.end, (r.label is None, i), i) for i, r in enumerate(ranges)]
        out: list[str] = []
        self._emit(nest(frags), ranges, 0, len(self.text), out)
        return "".join(out)

    def _emit(self, forest: list, ranges: list[Range], lo: int, hi: int, out: list[str]) -> None:
        pos = lo
        for s, e, ref, children in forest:
            out.append(esc(self.text[pos:s]))
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
                out.append(f'<mark class="ent {self.labels.cls(r.label)}{frag}" data-label="{esc(r.label)}" '
                           f'{attrs} title="{esc(tip)}">')
            self._emit(children, ranges, s, e, out)
            out.append("</span>" if r.label is None else "</mark>")
            pos = e
        out.append(esc(self.text[pos:hi]))

    def render(self) -> str:
        text_html = self.render_text()
        record_html = RecordPanel(self.text, self.record, self.first_id).render()
        line = self.line
        court = self.record.get("court") if self.record else None
        case_no = self.record.get("case_number") if self.record else None
        sub = [str(f["value"]) for f in (court, case_no) if isinstance(f, dict) and f.get("value")]
        sub.append(f"{len(self.entities)} entities · {len(self.text):,} characters")
        if line.get("source"):
            sub.append(str(line["source"]))
        notes = ""
        if self.notes:
            notes = '<ul class="notes">' + "".join(f"<li>{esc(x)}</li>" for x in self.notes) + "</ul>"
        doc_id = line.get("id")
        return (f'<article class="doc" id="doc-{self.n}" data-doc-id="{esc(or_default(doc_id, ""))}">'
                f'<header><h2>{esc(or_default(doc_id, f"line {self.n + 1}"))}</h2>'
                f'<p class="sub">{esc(" · ".join(sub))}</p>{notes}</header>'
                f'<div class="doc-body"><div class="text" lang="zh-CN">{text_html}</div>{record_html}</div></article>')
