"""File formats: readers, writers, label maps and the errors bad input gives.

Fixtures are sentences written for these tests (no competition text), chosen for what breaks
offset code: full-width digits, ASCII spaces inside and between entities, Latin letters and digits
inside entities, an empty text, a sentence with no entity and overlapping spans.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nlp_judgments.data.formats import (
    LABEL_MAPS,
    ReadStats,
    convert,
    detect_format,
    labelstudio_config,
    read_documents,
    write_documents,
)
from nlp_judgments.legal.schema import LABELS
from nlp_judgments.spans import DataError, Document, Span

THEFT = "被告人李某于２０１９年３月５日在杭州市西湖区盗窃iPhone12手机一部，价值人民币１２００元。"
SPACED = "被害人 王某 的 MacBook Pro 笔记本 被盗 。"
NO_ENTITY = "案发后，赃物已全部发还。"
OVERLAP = "张某潜入赵某家中窃得现金3000元。"


def sp(text: str, piece: str, label: str, nth: int = 0) -> Span:
    """The span of the ``nth`` occurrence of ``piece`` in ``text`` (offsets by search, not by hand)."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(piece, start + 1)
    return Span(start, start + len(piece), label)


def docs_flat() -> list[Document]:
    """Documents without overlapping spans: every writer, CoNLL included, can hold them exactly."""
    return [
        Document("d1", THEFT, sorted([
            sp(THEFT, "李某", "NHCS"),
            sp(THEFT, "２０１９年３月５日", "NT"),
            sp(THEFT, "杭州市西湖区", "NS"),
            sp(THEFT, "iPhone12手机", "NASI"),
            sp(THEFT, "人民币１２００元", "NCGV"),
        ])),
        Document("d2", SPACED, sorted([sp(SPACED, "王某", "NHVI"), sp(SPACED, "MacBook Pro 笔记本", "NASI")])),
        Document("d3", "", []),
        Document("d4", NO_ENTITY, []),
        Document("d5", "某", [Span(0, 1, "NHCS")]),  # one character: S- in BIOES
    ]


def docs_overlapping() -> list[Document]:
    return [Document("o1", OVERLAP, sorted([
        sp(OVERLAP, "张某", "NHCS"),
        sp(OVERLAP, "赵某家中", "NS"),
        sp(OVERLAP, "赵某", "NHVI"),
        sp(OVERLAP, "现金3000元", "NCSM"),
    ]))]


def as_tuples(docs: list[Document]) -> list[tuple[str, list[Span]]]:
    return [(d.text, d.spans) for d in docs]


def write_jsonl(path: Path, objects: list) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8")
    return path


def cail2021_record(doc: Document) -> dict:
    entities: dict[str, list[str]] = {"NHCS": [], "NO": []}  # empty lists are normal in CAIL2021
    for s in doc.spans:
        entities.setdefault(s.label, []).append(f"{s.start};{s.end}")
    return {"id": doc.id, "context": doc.text, "entities": [{"label": k, "span": v} for k, v in entities.items()]}


def cail2022_record(doc: Document, article: int, sent: int) -> dict:
    mentions = [{"start": s.start, "end": s.end, "text": doc.text[s.start:s.end], "label": s.label} for s in doc.spans]
    return {"articleId": article, "sentId": sent, "sentText": doc.text, "entityMentions": mentions, "relationMentions": []}


# ---------------------------------------------------------------------------------------------
# Readers


def test_cail2021_reads_spans_and_skips_empty_span_lists(tmp_path):
    path = write_jsonl(tmp_path / "c21.jsonl", [cail2021_record(d) for d in docs_flat()])
    stats = ReadStats()
    docs = list(read_documents(path, "cail2021", stats=stats))
    assert [(d.id, d.text, d.spans) for d in docs] == [(d.id, d.text, d.spans) for d in docs_flat()]
    assert THEFT[docs[0].spans[3].start:docs[0].spans[3].end] == "iPhone12手机"
    assert (stats.docs, stats.spans, stats.docs_without_spans, stats.empty_docs) == (5, 8, 2, 1)


def test_cail2021_preset_drops_and_counts_unmapped_and_duplicate_labels(tmp_path):
    doc = docs_flat()[0]
    record = cail2021_record(doc)
    # Money marked twice (NCSM and NCGV) collapses to one AMOUNT: a duplicate, dropped and counted.
    record["entities"].append({"label": "NCSM", "span": [f"{doc.spans[4].start};{doc.spans[4].end}"]})
    path = write_jsonl(tmp_path / "c21.jsonl", [record])
    stats = ReadStats()
    (read,) = read_documents(path, "cail2021", label_map="cail2021_to_judgment", stats=stats)
    assert [(THEFT[s.start:s.end], s.label) for s in read.spans] == [
        ("李某", "DEFENDANT"), ("２０１９年３月５日", "DATE"), ("杭州市西湖区", "LOCATION"), ("人民币１２００元", "AMOUNT"),
    ]
    assert stats.dropped == {"NASI": 1}
    assert stats.duplicate_spans == 1
    assert stats.spans == 4


def test_label_map_accepts_a_mapping_and_allowed_rejects_with_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "c21.jsonl", [cail2021_record(d) for d in docs_flat()])
    docs = list(read_documents(path, "cail2021", label_map={"NHCS": "DEFENDANT"}, allowed={"DEFENDANT"}))
    assert [s.label for d in docs for s in d.spans] == ["DEFENDANT", "DEFENDANT"]
    with pytest.raises(DataError, match=r"c21\.jsonl:1: .*'NASI' is not allowed"):
        list(read_documents(path, "cail2021", allowed={"NHCS", "NT", "NS", "NCGV"}))


@pytest.mark.parametrize("layout", ["jsonl", "array"])
def test_cail2022_reads_json_lines_and_a_json_array(tmp_path, layout):
    records = [cail2022_record(d, 7, i) for i, d in enumerate(docs_flat())]
    path = tmp_path / "c22.json"
    if layout == "jsonl":
        write_jsonl(path, records)
    else:
        path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    docs = list(read_documents(path, "cail2022"))
    assert [d.id for d in docs] == ["7-0", "7-1", "7-2", "7-3", "7-4"]
    assert as_tuples(docs) == as_tuples(docs_flat())


@pytest.mark.parametrize("name", sorted(LABEL_MAPS))
def test_every_preset_maps_into_the_judgment_schema(name):
    assert set(LABEL_MAPS[name].values()) <= set(LABELS)


def test_cail2022_preset_drops_drug_and_weight_and_counts_them(tmp_path):
    text = "被告人韩某于２０２０年５月在某宾馆贩卖甲基苯丙胺0.5克给吸毒人员Tom Lee。"
    doc = Document("x", text, [sp(text, "韩某", "Nh"), sp(text, "２０２０年５月", "NT"), sp(text, "某宾馆", "Ns"),
                               sp(text, "甲基苯丙胺", "NDR"), sp(text, "0.5克", "NW"), sp(text, "Tom Lee", "Nh")])
    path = write_jsonl(tmp_path / "c22.json", [cail2022_record(doc, 3, 1)])
    stats = ReadStats()
    (read,) = read_documents(path, "cail2022", label_map="cail2022_to_judgment", stats=stats)
    assert [(text[s.start:s.end], s.label) for s in read.spans] == [
        ("韩某", "PERSON"), ("２０２０年５月", "DATE"), ("某宾馆", "LOCATION"), ("Tom Lee", "PERSON"),
    ]
    assert stats.dropped == {"NDR": 1, "NW": 1}


def test_conll_reads_bio_bioes_docstart_and_generates_ids(tmp_path):
    lines = [
        "-DOCSTART- -X- O O", "",
        "李 B-NHCS", "某 I-NHCS", "在 O", "i B-NASI", "P I-NASI", "1 I-NASI", "２ E-NASI", "",
        "", "",  # several blank lines are one boundary
        "某\tS-NHCS", "[SPACE]\tO", "\u3000\tO", "元 O",  # tab columns may hold a literal U+3000
    ]
    path = tmp_path / "dev.bio"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = list(read_documents(path, "conll"))
    assert [(d.id, d.text) for d in docs] == [("dev-0", "李某在iP1２"), ("dev-1", "某 \u3000元")]
    assert docs[0].spans == [Span(0, 2, "NHCS"), Span(3, 7, "NASI")]
    assert docs[1].spans == [Span(0, 1, "NHCS")]


def test_conll_stray_inside_tag_starts_a_span_and_is_counted(tmp_path):
    path = tmp_path / "x.conll"
    path.write_text("被 O\n告 I-NHCS\n人 I-NHCS\n", encoding="utf-8")
    stats = ReadStats()
    (doc,) = read_documents(path, "conll", stats=stats)
    assert doc.spans == [Span(1, 3, "NHCS")]
    assert stats.anomalies["conll: I-/E- tag that starts a span"] == 1


def test_overlapping_spans_are_kept_and_counted(tmp_path):
    path = write_jsonl(tmp_path / "o.jsonl", [d.to_dict() for d in docs_overlapping()])
    stats = ReadStats()
    (doc,) = read_documents(path, "spans", stats=stats)
    assert doc.spans == docs_overlapping()[0].spans
    assert (stats.overlapping_docs, stats.overlapping_spans) == (1, 2)


def test_identical_duplicate_spans_are_dropped_and_counted(tmp_path):
    record = {"id": "x", "text": "张某", "entities": [{"start": 0, "end": 2, "label": "PERSON"}] * 2}
    path = write_jsonl(tmp_path / "dup.jsonl", [record])
    stats = ReadStats()
    (doc,) = read_documents(path, "spans", stats=stats)
    assert doc.spans == [Span(0, 2, "PERSON")]
    assert stats.duplicate_spans == 1


# ---------------------------------------------------------------------------------------------
# Round trips: read -> write -> read is the identity


@pytest.mark.parametrize(
    "fmt, options",
    [
        ("spans", {}),
        ("cail2021", {}),
        ("conll", {"scheme": "bio", "ids": True}),
        ("conll", {"scheme": "bioes", "ids": True}),
        ("labelstudio", {"kind": "annotations"}),
        ("marked", {}),
    ],
)
def test_every_writer_round_trips(tmp_path, fmt, options):
    path = tmp_path / f"out.{fmt}"
    assert write_documents(docs_flat(), path, fmt, **options) == 5
    once = list(read_documents(path, fmt))
    assert [(d.id, d.text, d.spans) for d in once] == [(d.id, d.text, d.spans) for d in docs_flat()]
    again = tmp_path / f"again.{fmt}"
    write_documents(once, again, fmt, **options)
    assert again.read_bytes() == path.read_bytes()


TRICKY_TEXTS = [" 前后有空格 ", "全角\u3000空格", "换行\n第二行", "制表\t符", "回车\r\n", "𠀾某持刀", "[SPACE]", "#"]


@pytest.mark.parametrize("fmt", ["conll", "labelstudio", "cail2021", "spans", "marked"])
@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_whitespace_and_astral_characters_round_trip(tmp_path, fmt, text):
    doc = Document("t", text, [Span(0, len(text), "X")] if text.strip() else [])
    path = tmp_path / "t.out"
    options = {"ids": True} if fmt == "conll" else {"kind": "annotations"} if fmt == "labelstudio" else {}
    write_documents([doc], path, fmt, **options)
    (back,) = read_documents(path, fmt)
    assert (back.id, back.text, back.spans) == (doc.id, doc.text, doc.spans)


def test_conll_without_ids_keeps_text_and_spans_but_not_empty_documents(tmp_path):
    path = tmp_path / "plain.conll"
    stats = ReadStats()
    assert write_documents(docs_flat(), path, "conll", stats=stats) == 4
    assert "# id" not in path.read_text(encoding="utf-8")
    assert "[SPACE] O" in path.read_text(encoding="utf-8")
    expected = [d for d in docs_flat() if d.text]
    assert as_tuples(list(read_documents(path, "conll"))) == as_tuples(expected)
    assert stats.anomalies["conll writer: empty documents skipped"] == 1


def test_conll_writer_keeps_the_longest_of_overlapping_spans(tmp_path):
    path = tmp_path / "o.conll"
    stats = ReadStats()
    write_documents(docs_overlapping(), path, "conll", stats=stats)
    (doc,) = read_documents(path, "conll")
    assert [OVERLAP[s.start:s.end] for s in doc.spans] == ["张某", "赵某家中", "现金3000元"]
    assert stats.anomalies["conll writer: overlapping spans dropped"] == 1


def test_marked_writer_keeps_the_longest_of_overlapping_spans_and_refuses_bracketed_text(tmp_path):
    path = tmp_path / "o.jsonl"
    stats = ReadStats()
    write_documents(docs_overlapping(), path, "marked", stats=stats)
    (doc,) = read_documents(path, "auto")
    assert [OVERLAP[s.start:s.end] for s in doc.spans] == ["张某", "赵某家中", "现金3000元"]
    assert stats.anomalies["marked writer: overlapping spans dropped"] == 1
    with pytest.raises(DataError, match="cannot write"):
        write_documents([Document("b", "⟦张某⟧", [])], tmp_path / "b.jsonl", "marked")


def test_marked_reader_takes_marks_in_place_and_ignores_other_keys(tmp_path):
    line = {"id": "n1", "genre": "news", "marked": "男子⟦陈某|DEFENDANT⟧通过⟦微信|APP⟧骗走⟦3万元|AMOUNT⟧"}
    path = write_jsonl(tmp_path / "m.jsonl", [line])
    (doc,) = read_documents(path, "auto", allowed=["DEFENDANT", "APP", "AMOUNT"])
    assert doc.text == "男子陈某通过微信骗走3万元"
    assert [(doc.text[s.start:s.end], s.label) for s in doc.spans] == [("陈某", "DEFENDANT"), ("微信", "APP"), ("3万元", "AMOUNT")]


def test_labelstudio_predictions_round_trip_with_scores(tmp_path):
    path = tmp_path / "tasks.json"
    docs = docs_flat() + docs_overlapping()
    scores = {"d2": [0.9, 0.4]}
    write_documents(docs, path, "labelstudio", model_version="tagger-v1", scores=scores)
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert tasks[1]["predictions"][0]["model_version"] == "tagger-v1"
    assert tasks[1]["predictions"][0]["score"] == 0.4
    assert [r["score"] for r in tasks[1]["predictions"][0]["result"]] == [0.9, 0.4]
    region = tasks[0]["predictions"][0]["result"][3]
    assert (region["from_name"], region["to_name"], region["type"]) == ("label", "text", "labels")
    assert region["value"]["text"] == "iPhone12手机"
    stats = ReadStats()
    assert list(read_documents(path, "labelstudio", stats=stats)) == []  # predictions only if asked
    assert stats.anomalies["labelstudio: tasks without annotation, skipped"] == 6
    back = list(read_documents(path, "labelstudio", use_predictions=True))
    assert [(d.id, d.text, d.spans) for d in back] == [(d.id, d.text, d.spans) for d in docs]


def labelstudio_task(text: str, annotations: list, predictions: list | None = None) -> dict:
    task = {"id": 41, "data": {"text": text}, "annotations": annotations}
    if predictions is not None:
        task["predictions"] = predictions
    return task


def region(text: str, piece: str, label: str, **extra) -> dict:
    s = sp(text, piece, label)
    value = {"start": s.start, "end": s.end, "text": piece, "labels": [label]}
    return {"from_name": "label", "to_name": "text", "type": "labels", "value": value, **extra}


def test_labelstudio_import_takes_the_latest_live_annotation(tmp_path):
    text = NO_ENTITY + "被告人刘某到案。"
    annotations = [
        {"id": 1, "result": [region(text, "刘某", "OLD")], "updated_at": "2024-03-01T10:00:00.000000Z"},
        {"id": 2, "result": [region(text, "刘某", "NEW"), {"type": "relation", "from_id": "a", "to_id": "b"}],
         "updated_at": "2024-03-02T09:00:00.000000Z"},
        {"id": 3, "result": [region(text, "刘某", "CANCELLED")], "was_cancelled": True,
         "updated_at": "2024-03-05T09:00:00.000000Z"},
    ]
    predictions = [{"result": [region(text, "刘某", "PREDICTED")]}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps([labelstudio_task(text, annotations, predictions)], ensure_ascii=False), encoding="utf-8")
    stats = ReadStats()
    (doc,) = read_documents(path, "labelstudio", use_predictions=True, stats=stats)
    assert doc.id == "41"
    assert doc.spans == [sp(text, "刘某", "NEW")]
    assert stats.anomalies["labelstudio: ignored results of type 'relation'"] == 1


def test_labelstudio_import_repairs_utf16_offsets_from_old_exports(tmp_path):
    text = "被告人𠀾某持刀抢劫。"  # 𠀾 lies outside the BMP: two UTF-16 code units
    old_style = {"from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": 7, "end": 8, "text": "刀", "labels": ["TOOL"]}}
    path = tmp_path / "old.json"
    path.write_text(json.dumps([labelstudio_task(text, [{"result": [old_style]}])], ensure_ascii=False), encoding="utf-8")
    stats = ReadStats()
    (doc,) = read_documents(path, "labelstudio", stats=stats)
    assert doc.spans == [Span(6, 7, "TOOL")]
    assert stats.anomalies["labelstudio: UTF-16 offsets converted"] == 1


def test_labelstudio_config_is_valid_xml_with_every_label():
    config = labelstudio_config(["DEFENDANT", "AMOUNT", "A&B"])
    root = ET.fromstring(config)
    labels = root.find("Labels")
    assert (labels.get("name"), labels.get("toName")) == ("label", "text")
    assert [label.get("value") for label in labels] == ["DEFENDANT", "AMOUNT", "A&B"]
    assert root.find("Text").attrib == {"name": "text", "value": "$text"}


# ---------------------------------------------------------------------------------------------
# Detection and conversion


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("a.jsonl", json.dumps({"id": "1", "context": "某", "entities": []}) + "\n", "cail2021"),
        ("a.json", json.dumps({"articleId": 1, "sentId": 1, "sentText": "某", "entityMentions": []}) + "\n", "cail2022"),
        ("a.json", json.dumps([{"data": {"text": "某"}, "annotations": []}]), "labelstudio"),
        ("a.jsonl", json.dumps({"id": "1", "text": "某", "entities": []}) + "\n", "spans"),
        ("a.jsonl", json.dumps({"id": "1", "marked": "⟦某|P⟧"}, ensure_ascii=False) + "\n", "marked"),
        ("a.bio", "某 O\n", "conll"),
        ("a.dat", "某 O\n", "conll"),
    ],
)
def test_detect_format(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert detect_format(path) == expected


def test_convert_maps_labels_and_returns_stats(tmp_path):
    src = write_jsonl(tmp_path / "c21.jsonl", [cail2021_record(d) for d in docs_flat() + docs_overlapping()])
    dst = tmp_path / "out.jsonl"
    stats = convert(src, "auto", dst, "spans", label_map="cail2021_to_judgment")
    assert (stats.docs, stats.spans, stats.dropped) == (6, 10, {"NASI": 2})
    assert stats.overlapping_spans == 2
    assert [d.id for d in read_documents(dst, "spans")] == ["d1", "d2", "d3", "d4", "d5", "o1"]


def test_convert_to_conll_counts_what_the_flat_format_loses(tmp_path):
    src = write_jsonl(tmp_path / "o.jsonl", [d.to_dict() for d in docs_overlapping()])
    stats = convert(src, "spans", tmp_path / "o.conll", "conll")
    assert stats.anomalies["conll writer: overlapping spans dropped"] == 1


# ---------------------------------------------------------------------------------------------
# Malformed input: a DataError naming the file and the line


def labelstudio_json(tasks: list) -> str:
    return json.dumps(tasks, ensure_ascii=False, indent=1)


MALFORMED = [
    ("spans", "ok.jsonl", '{"id": "1", "text": "张某", "entities": []}\n{"id": "2", "text": \n', 2, "malformed JSON"),
    ("spans", "s.jsonl", '{"id": "1", "text": "张某", "entities": [{"start": 0, "end": 5, "label": "P"}]}\n', 1, "outside the text"),
    ("cail2021", "c.jsonl", '{"id": "1", "context": "张某", "entities": []}\n{"id": "2", "entities": []}\n', 2, "'context'"),
    ("cail2021", "c.jsonl", '\n{"id": "1", "context": "张某", "entities": [{"label": "NHCS", "span": ["0;x"]}]}\n', 2, "integer offsets"),
    ("cail2021", "c.jsonl", '{"id": "1", "context": "张某", "entities": [{"label": "NHCS", "span": ["1;1"]}]}\n', 1, "empty span"),
    ("cail2021", "c.jsonl", '{"id": "1", "context": "张某", "entities": [{"label": "NHCS", "span": ["0;3"]}]}\n', 1, "outside the text"),
    ("cail2021", "c.jsonl", '{"id": "1", "context": "张某", "entities": [{"span": ["0;2"]}]}\n', 1, "'label'"),
    ("cail2022", "d.json", json.dumps({"articleId": 1, "sentId": 2, "sentText": "张某贩卖海洛因",
                                       "entityMentions": [{"start": 4, "end": 7, "text": "冰毒", "label": "NDR"}]},
                                      ensure_ascii=False) + "\n", 1, "differs from sentText"),
    ("cail2022", "d.json", json.dumps({"articleId": 1, "sentId": 2, "sentText": "张某",
                                       "entityMentions": [{"start": 0.0, "end": 2, "label": "Nh"}]}) + "\n", 1, "integers"),
    ("cail2022", "d.json", '[\n {"articleId": 1, "sentId": 1, "sentText": "张某", "entityMentions": []},\n'
                           ' {"articleId": 1, "sentId": 2, "entityMentions": []}\n]', 3, "'sentText'"),
    ("cail2022", "d.json", '[\n {"articleId": 1, "sentId": 1, "sentText": "张某", "entityMentions": []}\n {}\n]', 3, "expected ','"),
    ("conll", "t.bio", "张 B-NHCS\n某 I-NHCS\n\n刘 X-NHCS\n", 4, "invalid tag 'X-NHCS'"),
    ("conll", "t.bio", "张 B-NHCS\n某 B-\n", 2, "invalid tag 'B-'"),
    ("conll", "t.bio", "张 O\n  O\n", 2, "expected a character and a tag"),
    ("marked", "m.jsonl", '{"id": "1", "marked": "⟦张某|P⟧"}\n{"id": "2", "marked": "⟦张某⟧犯罪"}\n', 2, "stray ⟦"),
    ("marked", "m.jsonl", '{"id": "1", "marked": "⟦张⟦某|P⟧|P⟧"}\n', 1, "stray"),
    ("marked", "m.jsonl", '{"id": "1", "text": "张某"}\n', 1, "'marked'"),
    ("labelstudio", "ls.json", labelstudio_json([{"data": {"text": "张某"}, "annotations": []},
                                                 {"data": {"txt": "张某"}, "annotations": []}]), 8, "'text'"),
    ("labelstudio", "ls.json", labelstudio_json([{"data": {"text": "张某"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 0, "end": 9, "labels": ["P"]}}]}]}]), 2, "outside the text"),
    ("labelstudio", "ls.json", labelstudio_json([{"data": {"text": "张某"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 0, "end": 2, "text": "李某", "labels": ["P"]}}]}]}]), 2, "differs"),
]


@pytest.mark.parametrize("fmt, name, content, line, reason", MALFORMED)
def test_malformed_input_names_file_and_line(tmp_path, fmt, name, content, line, reason):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_documents(path, fmt))
    assert caught.value.file == str(path) and caught.value.line == line
    assert f"{name}:{line}:" in str(caught.value)
    assert reason in str(caught.value)


def test_conll_allowed_label_error_names_the_tag_line(tmp_path):
    path = tmp_path / "t.bio"
    path.write_text("张 B-NHCS\n某 I-NHCS\n在 O\n家 B-NS\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.bio:4: .*'NS' is not allowed"):
        list(read_documents(path, "conll", allowed={"NHCS"}))


def test_bad_arguments_fail_before_reading(tmp_path):
    path = tmp_path / "none.jsonl"
    with pytest.raises(ValueError, match="unknown format"):
        read_documents(path, "brat")
    with pytest.raises(ValueError, match="unknown label map"):
        read_documents(path, "spans", label_map="cail2099")
    with pytest.raises(TypeError):
        read_documents(path, "spans", use_predictions=True)
