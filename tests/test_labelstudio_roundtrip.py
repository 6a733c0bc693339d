"""Annotation round trip: model predictions out to Label Studio, an annotator's corrections back in
as training data. The export file below has the shape Label Studio 1.x writes (JSON array of tasks
with ids, annotations with results, timestamps, a cancelled attempt, and the predictions kept)."""

from __future__ import annotations

import json

from nlp_judgments.cli import main
from nlp_judgments.spans import Span, read_spans_jsonl
from nlp_judgments.training.config import load_config
from nlp_judgments.training.loop import train

TEXT = "被告人张某犯盗窃罪，判处拘役六个月。"


def tagged_lines(tmp_path):
    path = tmp_path / "tagged.jsonl"
    lines = [
        {"id": "j1", "source": "in.jsonl:1", "chars": len(TEXT), "text": TEXT, "entities": [
            {"start": 3, "end": 5, "label": "DEFENDANT", "text": "张某", "score": 0.91},
            {"start": 6, "end": 9, "label": "CHARGE", "text": "盗窃罪", "score": 0.62},
            {"start": 14, "end": 17, "label": "DATE", "text": "六个月", "score": 0.31}]},  # wrong: a model error
        {"id": None, "source": "in.jsonl:2", "error": "text is empty or only whitespace"},
    ]
    path.write_text("".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines), encoding="utf-8")
    return path


def test_predictions_out_corrections_back_in(tmp_path, capsys, tiny_dir):
    tasks_path, config_xml = tmp_path / "tasks.json", tmp_path / "labels.xml"
    assert main(["to-labelstudio", str(tagged_lines(tmp_path)), "-o", str(tasks_path), "--model-version", "m1",
                 "--config", str(config_xml)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["tasks"] == 1 and stats["spans"] == 3 and stats["error_lines_skipped"] == 1
    (task,) = json.loads(tasks_path.read_text(encoding="utf-8"))
    (pred,) = task["predictions"]
    assert pred["model_version"] == "m1" and pred["score"] == 0.31  # least certain span: sorts first
    assert [r["value"]["text"] for r in pred["result"]] == ["张某", "盗窃罪", "六个月"]
    assert 'value="PENALTY"' in config_xml.read_text(encoding="utf-8")  # the whole schema is offered

    # What Label Studio exports after an annotator deleted the wrong DATE, added the PENALTY, and kept
    # the rest; an earlier attempt was cancelled.
    kept = [r for r in pred["result"] if r["value"]["labels"] != ["DATE"]]
    added = {"id": "a1", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
             "value": {"start": 12, "end": 17, "text": TEXT[12:17], "labels": ["PENALTY"]}}
    export = [{
        "id": 17, "data": task["data"], "project": 3, "created_at": "2026-11-29T10:00:00.000000Z",
        "annotations": [
            {"id": 40, "completed_by": 1, "was_cancelled": True, "result": [],
             "created_at": "2026-11-29T10:01:00.000000Z", "updated_at": "2026-11-29T10:01:00.000000Z"},
            {"id": 41, "completed_by": 1, "was_cancelled": False, "ground_truth": False, "lead_time": 12.5,
             "result": kept + [added], "prediction": pred, "parent_prediction": 9,
             "created_at": "2026-11-29T10:02:00.000000Z", "updated_at": "2026-11-29T10:03:00.000000Z"},
        ],
        "predictions": [pred | {"id": 9}],
        "drafts": [], "meta": {}, "updated_by": 1,
    }]
    export_path, train_path = tmp_path / "export.json", tmp_path / "corrected.jsonl"
    export_path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    assert main(["convert", str(export_path), str(train_path), "--from", "labelstudio", "--to", "spans"]) == 0
    (doc,) = read_spans_jsonl(train_path)
    assert doc.id == "j1" and doc.text == TEXT
    assert doc.spans == [Span(3, 5, "DEFENDANT"), Span(6, 9, "CHARGE"), Span(12, 17, "PENALTY")]

    # ... and it is training data as it stands.
    config = load_config(None, {"output_dir": str(tmp_path / "run"), "model": {"name_or_path": str(tiny_dir)},
                                "data": {"train_file": str(train_path), "format": "spans"},
                                "train": {"epochs": 1, "progress": False}})
    assert train(config).steps == 1
