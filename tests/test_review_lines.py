"""Review lines that cannot be shown as they stand: each is an error row saying why, never a crash.

One test per kind of damage reported in issue 21 (evidence that is no list, boolean offsets, deep
nesting, entities that are no objects, offsets outside the text), JSON the reader cannot parse,
and random damage to the demo lines. The page's own rendering is ``test_review.py``'s.
"""

from __future__ import annotations

import copy
import html
import json
import random

import pytest

from nlp_judgments.apps.review import render_review
from nlp_judgments.cli import main

from .test_review import Page, demo_lines, line


def _deep(depth: int) -> list:
    x: list = []
    for _ in range(depth):
        x = [x]
    return x


TEXT = "被告人张某犯盗窃罪"
COURT = {"value": "某法院", "evidence": [{"start": 3, "end": 5, "text": "张某"}]}
MALFORMED = {
    "evidence not a list": ({"record": {"court": dict(COURT, evidence={"start": 3, "end": 5})}},
                            "record.court: evidence is not a list"),
    "evidence a number": ({"record": {"court": dict(COURT, evidence=3.5)}}, "record.court: evidence is not a list"),
    "evidence item not an object": ({"record": {"defendants": [{"name": dict(COURT, evidence=["3-5"])}]}},
                                    "record.defendants.0.name: evidence 0 is not an object"),
    "boolean entity offsets": ({"entities": [{"start": 3, "end": True, "label": "DEFENDANT"}]},
                               "entity 0: offsets must be integers, got start=3 end=True"),
    # With a boolean entity offset, the record's (3, 1) evidence used to find no element and crash.
    "boolean offsets in entity and evidence": ({"entities": [{"start": False, "end": 2, "label": "X"}],
                                                "record": {"court": dict(COURT, evidence=[{"start": 0, "end": 2}])}},
                                               "entity 0: offsets must be integers"),
    "boolean evidence offsets": ({"record": {"court": dict(COURT, evidence=[{"start": False, "end": True}])}},
                                 "record.court: evidence 0: offsets must be integers"),
    "float entity offsets": ({"entities": [{"start": 3.0, "end": 5, "label": "X"}]}, "offsets must be integers"),
    "deep record": ({"record": {"apps": _deep(5000)}}, "nested deeper than 64 levels"),
    "deep entities": ({"entities": _deep(100)}, "nested deeper than 64 levels"),
    "deep error": ({"error": _deep(3000)}, "nested deeper than 64 levels"),
    "entities not a list": ({"entities": {"start": 3, "end": 5, "label": "X"}}, "'entities' is not a list"),
    "entity not an object": ({"entities": [{"start": 3, "end": 5, "label": "X"}, [3, 5, "X"]]},
                             "entity 1 is not an object with start and end"),
    "entity a string": ({"entities": ["张某"]}, "entity 0 is not an object"),
    "entity without end": ({"entities": [{"start": 3, "label": "X"}]}, "entity 0 is not an object with start and end"),
    "entity without label": ({"entities": [{"start": 3, "end": 5}]}, "entity 0 has no label"),
    "entity past the end": ({"entities": [{"start": 3, "end": 99, "label": "X"}]},
                            "entity 0 [3, 99) is not a span of the text of length 9"),
    "negative entity offset": ({"entities": [{"start": -1, "end": 2, "label": "X"}]}, "entity 0 [-1, 2)"),
    "empty entity": ({"entities": [{"start": 4, "end": 4, "label": "X"}]}, "entity 0 [4, 4)"),
    "evidence past the end": ({"record": {"court": dict(COURT, evidence=[{"start": 5, "end": 10**30}])}},
                              "record.court: evidence 0 [5, 1000000000000000000000000000000) is not a span"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_line_is_an_error_row(case):
    extra, reason = MALFORMED[case]
    lines = [{"id": "bad", "source": "tagged.jsonl:7", "text": TEXT, **extra}, line("ok", [("被告人", None), ("张某", "DEFENDANT")])]
    page = render_review(lines)
    parsed = Page(page)
    assert parsed.docs["bad"]["error"] and reason in html.unescape(page), page[page.find('class="reason"'):][:300]
    assert "tagged.jsonl:7" in page and not parsed.docs["ok"]["error"]  # the next line is shown as usual
    assert "1 judgment · 1 error" in page


def test_unusable_scores_are_left_out_of_the_tooltip():
    ents = [{"start": 3, "end": 5, "label": "DEFENDANT", "score": 10**400}, {"start": 6, "end": 9, "label": "CHARGE", "score": True}]
    parsed = Page(render_review([{"id": "x", "text": TEXT, "entities": ents}]))
    assert [m["title"] for m in parsed.docs["x"]["marks"]] == ["DEFENDANT 被告人", "CHARGE 罪名"]


def test_review_command_survives_what_json_cannot_read(tmp_path, capsys):
    src = tmp_path / "tagged.jsonl"
    good = json.dumps(line("ok", [("被告人", None), ("张某", "DEFENDANT")]), ensure_ascii=False)
    src.write_text("[" * 100_000 + "]" * 100_000 + "\n"  # deeper than json's recursion
                   + '{"id": "n", "text": "x", "score": ' + "9" * 5000 + "}\n"  # more digits than int() reads
                   + json.dumps({"id": "d", "text": TEXT, "record": {"apps": _deep(500)}}) + "\n" + good + "\n",
                   encoding="utf-8")
    assert main(["review", str(src), "-o", str(tmp_path / "r.html")]) == 0
    assert json.loads(capsys.readouterr().out) | {"output": None} == {
        "output": None, "judgments": 1, "errors": 3, "without_text": 0, "not_shown": 0}
    page = (tmp_path / "r.html").read_text("utf-8")
    assert "JSON nested too deeply to read" in page and "unreadable JSON" in page and "nested deeper than 64" in page
    assert f"{src}:1" in page and f"{src}:2" in page


def test_random_damage_to_real_lines_never_breaks_the_page():
    # Values that broke the page before (floats as evidence, booleans as offsets, huge scores, deep
    # nesting) put at random places of demo lines: each line is shown, or is an error row.
    rng = random.Random(0)
    junk = [True, False, None, 10**400, -1, 7, 1.5, float("nan"), "", "3-5", [], {}, [1, 2], {"start": 0, "end": 2},
            {"start": True, "end": 2}, [{"start": 0, "end": 10**6}], _deep(100), {"value": None}]
    lines = demo_lines()[:3]
    for _ in range(150):
        damaged = copy.deepcopy(rng.choice(lines))
        for _ in range(rng.randint(1, 3)):
            parent, key = _random_slot(rng, damaged)
            parent[key] = copy.deepcopy(rng.choice(junk))
        page = Page(render_review([damaged]))
        (doc,) = page.docs.values()
        assert doc["error"] or doc["text"] == damaged["text"]


def _random_slot(rng, obj):
    """A random (container, key) inside ``obj``, any depth."""
    slots, stack = [], [obj]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            slots.append((node, key))
            stack.append(value)
    return rng.choice(slots)
