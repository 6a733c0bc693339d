"""The lines a review page is made of: reading them from a tagged JSONL file and checking each.

:func:`read_lines` turns a line that is no JSON object into an error line; :func:`check_line` turns
a judgment line that cannot be shown as it stands into one (see its docstring). Either way the
page shows an error row saying why, and the rest of the file as usual.

Not here: rendering (``page.py``, ``document.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nlp_judgments.apps.review.markup import plain

# A record nests 8 levels deep (line, record, defendants, one defendant, sentence, months, evidence,
# one item); a line nested far deeper is broken, and would exhaust the recursion of the renderer.
MAX_DEPTH = 64


def is_offset(x: Any) -> bool:
    return type(x) is int  # bool is an int subclass: True would slice as 1


def is_span(text: str, s: Any, e: Any) -> bool:
    """Are ``s`` and ``e`` the integer offsets of a non-empty span of ``text``?"""
    return is_offset(s) and is_offset(e) and 0 <= s < e <= len(text)


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
        return {"id": None, "error": f"not a JSON object: {plain(line)[:80]}"}
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
        return f"{what} is not an object with start and end: {plain(item)[:80]}"
    s, e = item["start"], item["end"]
    if not (is_offset(s) and is_offset(e)):
        return f"{what}: offsets must be integers, got start={s!r} end={e!r}"
    if not 0 <= s < e <= len(text):
        return f"{what} [{s}, {e}) is not a span of the text of length {len(text)}"
    return None


def _entities_problem(text: str, entities: Any) -> str | None:
    if entities is None:
        return None
    if not isinstance(entities, list):
        return f"'entities' is not a list: {plain(entities)[:80]}"
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
                return f"{path}: evidence is not a list: {plain(evidence)[:80]}"
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
