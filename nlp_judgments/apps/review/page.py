"""The review page: every line of a tagged file as one self-contained HTML file.

Not here: what a line may hold (``lines.py``) and how one judgment looks (``document.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from nlp_judgments.apps.review.assets import CSS, JS
from nlp_judgments.apps.review.document import DocRenderer
from nlp_judgments.apps.review.highlight import Labels
from nlp_judgments.apps.review.lines import check_line, read_lines
from nlp_judgments.apps.review.markup import esc, or_default
from nlp_judgments.legal.schema import LABEL_INFO


def render_review(lines: Iterable[dict], title: str = "Judgment review", notes: Iterable[str] = ()) -> str:
    """The review page for parsed output lines, as one self-contained HTML string.

    ``notes`` are extra sentences for the summary (e.g. that the input was cut by a limit).

    >>> ent = {"start": 3, "end": 5, "label": "DEFENDANT"}
    >>> page = render_review([{"id": "a", "text": "被告人张某", "entities": [ent]}])
    >>> '<mark class="ent l0" data-label="DEFENDANT" data-start="3" data-end="5"' in page
    True
    """
    labels = Labels()
    docs, nav, no_text = [], [], []
    n_docs = n_errors = 0
    for n, line in enumerate(lines):
        line = check_line(line)
        doc_id = line.get("id")
        if "error" in line:
            n_errors += 1
            name = esc(or_default(doc_id, "(no id)"))
            source = f'<p class="sub">{esc(line.get("source"))}</p>' if line.get("source") else ""
            docs.append(f'<article class="doc error" id="doc-{n}" data-doc-id="{esc(or_default(doc_id, ""))}"><header>'
                        f'<h2>{name} <span class="badge">error</span></h2>{source}</header>'
                        f'<p class="reason">{esc(line["error"])}</p></article>')
            nav.append(f'<li class="err"><a href="#doc-{n}">{name}</a><span class="n">error</span></li>')
        elif isinstance(line.get("text"), str):
            n_docs += 1
            r = DocRenderer(n, line, labels)
            docs.append(r.render())
            court = r.record.get("court") if r.record else None
            court_name = court.get("value") if isinstance(court, dict) else None
            hint = f' title="{esc(court_name)}"' if court_name else ""
            nav.append(f'<li><a href="#doc-{n}"{hint}>{esc(or_default(doc_id, f"line {n + 1}"))}</a>'
                       f'<span class="n">{len(r.entities)}</span></li>')
        else:
            entities = line.get("entities")
            no_text.append((doc_id, len(entities) if isinstance(entities, list) else 0, line.get("source")))

    summary = [f"{n_docs} judgment{'s' if n_docs != 1 else ''}",
               f"{n_errors} error{'s' if n_errors != 1 else ''}"]
    if no_text:
        summary.append(f"{len(no_text)} without text")
    parts = [f'<section class="summary"><h1>{esc(title)}</h1><p class="sub">{" · ".join(summary)}</p>']
    parts += [f'<p class="note">{esc(x)}</p>' for x in notes]
    if not docs and not no_text:
        parts.append('<p class="muted">No lines to show.</p>')
    if no_text:
        rows = "".join(f"<li><code>{esc(i)}</code> · {k} entities{f' · {esc(s)}' if s else ''}</li>"
                       for i, k, s in no_text)
        parts.append(f'<div class="notext" id="no-text"><p><b>{len(no_text)} line(s) carry no judgment text</b>, so '
                     f"their entities cannot be shown. Tag again with <code>--include-text</code> to review them."
                     f"</p><ul>{rows}</ul></div>")
    parts.append("</section>")

    legend = "".join(
        f'<button type="button" class="chip {labels.cls(label)}" data-k="{labels.cls(label)}" aria-pressed="true" '
        f'title="show or hide this label"><i></i>{esc(label)}'
        f'{f" <small>{LABEL_INFO[label].chinese}</small>" if label in LABEL_INFO else ""}'
        f'<span class="n">{labels.counts[label]}</span></button>'
        for label in labels.index if labels.counts[label] or label in LABEL_INFO)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}\n{labels.css()}</style></head><body>"
            f'<div class="layout"><nav class="side"><div class="brand">nlp-judgments <span>review</span></div>'
            f'<h3>Labels</h3><div class="legend">{legend}</div>'
            f'<h3>Documents <span class="count">{len(nav)}</span></h3>'
            f'<input type="search" id="filter" placeholder="Filter by id or court" aria-label="filter documents">'
            f'<ol class="docs">{"".join(nav)}</ol></nav>'
            f'<main>{"".join(parts)}{"".join(docs)}</main></div><script>{JS}</script></body></html>\n')


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
