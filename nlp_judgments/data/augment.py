"""App augmentation: copies of documents with each app mention swapped for another app's name.

Public data marks few apps (the silver judgments hold about a hundred APP spans, CAIL2021 none), so
a model sees the same handful of names in the same contexts and learns the names rather than the
contexts. ``swap_apps(docs, copies)`` makes ``copies`` extra versions of every document that has an
APP span, each mention replaced by a name drawn from the app lexicon (one draw per distinct surface
in a document, so a name that recurs stays the same name); every other span keeps its place in the
new text. Names whose lexicon entry falls in the held-out share (``held_out``, by a hash of the
canonical name) are never drawn, so that recall on apps the augmentation never showed can be
measured (``held_out_apps``).

Not here: reading the sources (``documents``), the training loop that uses the copies.
"""

from __future__ import annotations

import hashlib
import random
from typing import Iterable

from nlp_judgments.legal.lexicons import load_apps
from nlp_judgments.spans import Document, Span

HELD_OUT_SHARE = 5  # one canonical app in five is never used as a replacement


def _held_out(canonical: str, share: int = HELD_OUT_SHARE) -> bool:
    return int(hashlib.sha1(canonical.encode("utf-8")).hexdigest(), 16) % share == 0


def replacement_names(share: int = HELD_OUT_SHARE) -> list[str]:
    """Unambiguous app names (canonical names and aliases) of the entries not held out."""
    names = []
    for entry in load_apps():
        if not _held_out(entry.name, share):
            names += [s for s in entry.surfaces if s not in entry.ambiguous]
    return sorted(set(names))


def held_out_apps(share: int = HELD_OUT_SHARE) -> list[str]:
    """Canonical names the augmentation never uses: a test of apps outside what it taught."""
    return sorted(e.name for e in load_apps() if _held_out(e.name, share))


def swap(doc: Document, names: list[str], rng: random.Random, suffix: str) -> Document:
    """``doc`` with every APP span's surface replaced, and every span's offsets moved to match."""
    chosen: dict[str, str] = {}
    pieces, edits, pos = [], {}, 0  # edits: (start, end) of a replaced mention -> change in length
    for span in sorted(doc.spans, key=lambda s: (s.start, s.end)):
        if span.label != "APP" or span.start < pos:
            continue
        new = chosen.setdefault(doc.text[span.start : span.end], rng.choice(names))
        pieces += [doc.text[pos : span.start], new]
        edits[(span.start, span.end)] = len(new) - (span.end - span.start)
        pos = span.end
    pieces.append(doc.text[pos:])

    def moved(offset: int) -> int:
        return offset + sum(delta for (_, end), delta in edits.items() if end <= offset)

    spans = []
    for span in doc.spans:
        if (span.start, span.end) in edits and span.label == "APP":
            spans.append(Span(moved(span.start), moved(span.start) + span.end - span.start + edits[(span.start, span.end)], "APP"))
        else:
            spans.append(Span(moved(span.start), moved(span.end), span.label))
    return Document(f"{doc.id}{suffix}", "".join(pieces), sorted(spans))


def swap_apps(docs: Iterable[Document], copies: int, seed: int = 0) -> list[Document]:
    """``copies`` app-swapped versions of each document that has an APP span (the originals are not
    included). A span that overlaps an APP span keeps its offsets only where it lies wholly before
    or after it; documents whose other spans cross an app mention are skipped.

    >>> d = Document("a", "在美团上下单，又在美团退款", [Span(1, 3, "APP"), Span(9, 11, "APP")])
    >>> (x,) = swap_apps([d], 1, seed=3)
    >>> a, b = (x.text[s.start:s.end] for s in x.spans)
    >>> a == b and a in replacement_names() and x.text == f"在{a}上下单，又在{a}退款"
    True
    """
    names = replacement_names()
    rng = random.Random(seed)
    out = []
    for doc in docs:
        apps = [s for s in doc.spans if s.label == "APP"]
        if not apps:
            continue
        crossing = any(s.label != "APP" and s.start < a.end and a.start < s.end and not (s.start <= a.start and a.end <= s.end)
                       for s in doc.spans for a in apps)
        if crossing:
            continue
        for k in range(copies):
            out.append(swap(doc, names, rng, f"#apps{k + 1}"))
    return out
