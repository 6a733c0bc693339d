"""Label Studio data no Python type can hold, and entities of the wrong shape: a DataError naming the
file, the line and the item, never a traceback (issue 21). Tasks and lines are written here."""

from __future__ import annotations

import json

import pytest

from nlp_judgments.data.formats import predictions_from_tagged, read_documents
from nlp_judgments.spans import DataError, Span

from .test_formats import labelstudio_json


def _ls_task(annotations: list) -> dict:
    region = {"id": "r1", "type": "labels", "value": {"start": 3, "end": 5, "text": "张某", "labels": ["DEFENDANT"]}}
    return {"data": {"text": "被告人张某"}, "annotations": [dict(a, result=[region]) for a in annotations]}


LS_OUT_OF_RANGE = [
    ({"id": 41, "updated_at": 10**400}, "annotation 1 (id 41): updated_at 1000000000"),  # past float range
    ({"id": 41, "created_at": float("inf")}, "annotation 1 (id 41): created_at inf"),  # JSON 1e999 reads as inf
    ({"created_at": float("nan")}, "annotation 1: created_at nan"),
]


@pytest.mark.parametrize("annotation, reason", LS_OUT_OF_RANGE)
def test_labelstudio_timestamp_out_of_range_is_a_data_error(tmp_path, annotation, reason):
    path = tmp_path / "export.json"
    tasks = [_ls_task([{}]), _ls_task([{"id": 40, "created_at": "2026-11-29T10:01:00Z"}, annotation])]
    path.write_text(labelstudio_json(tasks), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_documents(path, "labelstudio"))
    line = labelstudio_json(tasks).splitlines().index(" {", 2) + 1  # where the second task starts
    assert str(caught.value).startswith(f"{path}:{line}: {reason}")
    assert "is not a time (out of range)" in str(caught.value)


def test_labelstudio_timestamps_still_pick_the_latest_annotation(tmp_path):
    old, new = ({"id": i, "updated_at": t} for i, t in ((1, "2026-11-29T10:03:00Z"), (2, 1_900_000_000)))
    task = _ls_task([new, old])
    task["annotations"][1]["result"] = []  # the older one holds no span
    path = tmp_path / "export.json"
    path.write_text(labelstudio_json([task]), encoding="utf-8")
    (doc,) = read_documents(path, "labelstudio")
    assert doc.spans == [Span(3, 5, "DEFENDANT")]


@pytest.mark.parametrize("content, reason", [
    ("[" + "[" * 100_000 + "]" * 100_000 + "]", "JSON nested too deeply to read"),
    ('[{"data": {"text": "x"}, "annotations": [{"result": [], "created_at": ' + "1" * 5000 + "}]}]", "unreadable JSON"),
    ("[" * 100_000 + "]" * 100_000 + "\n", "JSON nested too deeply to read"),  # JSON lines
])
def test_json_python_cannot_read_is_a_data_error(tmp_path, content, reason):
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=rf"export\.json:1: {reason}"):
        list(read_documents(path, "labelstudio"))


TAGGED_ENTITY = {"start": 3, "end": 5, "label": "DEFENDANT", "score": 0.9}
BAD_TAGGED_ENTITIES = [
    ([3, 5, "DEFENDANT"], "entity 0 needs 'start', 'end' and 'label': [3, 5, 'DEFENDANT']"),
    ("张某", "entity 0 needs 'start', 'end' and 'label'"),
    ({"start": 3, "label": "DEFENDANT"}, "entity 0 needs 'start', 'end' and 'label'"),
    (dict(TAGGED_ENTITY, start=True), "entity 0: offsets must be integers, got start=True end=5"),
    (dict(TAGGED_ENTITY, end=5.0), "entity 0: offsets must be integers"),
    (dict(TAGGED_ENTITY, end=9), "entity 0: span [3, 9) DEFENDANT lies outside the text of length 5"),
    (dict(TAGGED_ENTITY, label=["DEFENDANT"]), "entity 0: label must be a string"),
    (dict(TAGGED_ENTITY, score="high"), "entity 0: score must be a finite number, got 'high'"),
    (dict(TAGGED_ENTITY, score=10**400), "entity 0: score must be a finite number"),
    (dict(TAGGED_ENTITY, score=float("nan")), "entity 0: score must be a finite number, got nan"),
]


@pytest.mark.parametrize("entity, reason", BAD_TAGGED_ENTITIES)
def test_tagged_entity_of_the_wrong_shape_is_a_data_error(tmp_path, entity, reason):
    tagged = tmp_path / "tagged.jsonl"
    good = {"id": "a", "text": "被告人张某", "entities": [TAGGED_ENTITY]}
    bad = {"id": "b", "text": "被告人张某", "entities": [entity, TAGGED_ENTITY]}
    tagged.write_text(f"{json.dumps(good)}\n{json.dumps(bad, ensure_ascii=False)}\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        predictions_from_tagged(tagged, tmp_path / "tasks.json")
    assert str(caught.value).startswith(f"{tagged}:2: document 'b': {reason}")
    assert not (tmp_path / "tasks.json").exists()
