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

The parts: ``lines`` (reading and checking lines), ``page`` (the page), ``document`` (one
judgment), ``highlight`` (marks and label colours), ``record_panel`` (the record), ``assets``
(stylesheet and script), ``markup`` (escaping).

Not here: editing or correcting spans (this is a reading page), and paging: a page holds every
line given, so use ``limit`` for large corpora.
"""

from nlp_judgments.apps.review.lines import MAX_DEPTH, check_line, read_lines
from nlp_judgments.apps.review.page import render_review, write_review

__all__ = ["MAX_DEPTH", "check_line", "read_lines", "render_review", "write_review"]
