"""The ``datasets`` format: whatever the datasets library loads from disk, read as documents.

Every table is built here (``Dataset.from_dict``, ``to_parquet``, ``save_to_disk``) from sentences
written for these tests, with fictional names: spans tables in each file layout, token/tag tables
with ClassLabel ids and with tag strings, a token the text does not contain, and the commands
`train`, `evaluate` and `convert` on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

from nlp_judgments.cli import main
from nlp_judgments.data.columns import Columns
from nlp_judgments.data.documents import load_documents
from nlp_judgments.data.formats import ReadStats, detect_format, read_documents
from nlp_judgments.spans import DataError, Document, Span
from nlp_judgments.training.config import ConfigError, load_config

from .conftest import doc_from_marked

MARKED = [
    "经审理查明，[2021年4月12日|DATE]，被告人[周某明|DEFENDANT]在[温州市鹿城区五马街|LOCATION]一手机店内盗窃华为手机一部，"
    "价值[人民币3200元|AMOUNT]。",
    "被告人[郑某华|DEFENDANT]于[２０２０年９月|DATE]通过[微信|APP]向被害人[刘某芳|PERSON]转账[人民币５万元|AMOUNT]。",
    "本院认为，被告人[钱某|DEFENDANT]犯[诈骗罪|CHARGE]，判处[有期徒刑二年六个月|PENALTY]。",
    "公诉机关[宁波市海曙区人民检察院|ORG]。",
    "上述事实，被告人在开庭审理过程中亦无异议。",
]
DOCS = [doc_from_marked(f"j{i}", m) for i, m in enumerate(MARKED)]
LABELS = sorted({s.label for d in DOCS for s in d.spans})
TAG_NAMES = ["O"] + [f"{p}-{label}" for label in LABELS for p in "BI"]


def span_rows(docs: list[Document]) -> dict[str, list]:
    """Columns in our span JSONL's shape: id, text, entities = [{start, end, label}]."""
    return {"id": [d.id for d in docs], "text": [d.text for d in docs],
            "entities": [[{"start": s.start, "end": s.end, "label": s.label} for s in d.spans] for d in docs]}


def char_tags(doc: Document) -> list[str]:
    tags = ["O"] * len(doc.text)
    for s in doc.spans:
        tags[s.start:s.end] = [f"B-{s.label}"] + [f"I-{s.label}"] * (s.end - s.start - 1)
    return tags


def token_table(docs: list[Document]) -> Dataset:
    """A hub-style character-level NER table: tokens and ClassLabel tag ids, no text column."""
    features = Features({"id": Value("string"), "tokens": Sequence(Value("string")),
                         "ner_tags": Sequence(ClassLabel(names=TAG_NAMES))})
    return Dataset.from_dict({"id": [d.id for d in docs], "tokens": [list(d.text) for d in docs],
                              "ner_tags": [[TAG_NAMES.index(t) for t in char_tags(d)] for d in docs]},
                             features=features)


def read(path: Path, fmt: str = "auto", **options) -> tuple[list[Document], ReadStats]:
    stats = ReadStats()
    return list(read_documents(path, fmt, stats=stats, **options)), stats


def as_tuples(docs: list[Document]) -> list[tuple[str, str, list[Span]]]:
    return [(d.id, d.text, d.spans) for d in docs]


# ---------------------------------------------------------------------------------------------
# Span tables in every layout


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_parquet_and_arrow_span_files_read_exactly_and_auto_detect(tmp_path, suffix):
    path = tmp_path / f"judgments{suffix}"
    if suffix == ".parquet":
        Dataset.from_dict(span_rows(DOCS)).to_parquet(path)
    else:  # the Arrow file save_to_disk writes
        Dataset.from_dict(span_rows(DOCS)).save_to_disk(tmp_path / "saved")
        (tmp_path / "saved" / "data-00000-of-00001.arrow").rename(path)
    assert detect_format(path) == "datasets"
    docs, stats = read(path)
    assert as_tuples(docs) == as_tuples(DOCS)
    assert (stats.docs, stats.spans, stats.docs_without_spans, stats.anomalies) == (5, 13, 1, {})


@pytest.mark.parametrize("name", ["judgments.csv", "judgments.jsonl"])
def test_csv_and_json_lines_files(tmp_path, name):
    rows = span_rows(DOCS)
    path = tmp_path / name
    if name.endswith(".csv"):  # a CSV cell holds the list as a JSON string
        rows["entities"] = [json.dumps(e, ensure_ascii=False) for e in rows["entities"]]
        Dataset.from_dict(rows).to_csv(path, index=False)
    else:
        Dataset.from_dict(rows).to_json(path, force_ascii=False)
    docs, _ = read(path, "datasets")
    assert as_tuples(docs) == as_tuples(DOCS)


def test_columnar_spans_with_classlabel_labels_and_renamed_columns(tmp_path):
    # A datasets Sequence of a dict reads back as {start: [...], end: [...], label: [...]}.
    features = Features({"doc": Value("int32"), "sentence": Value("string"), "mentions": Sequence(
        {"start": Value("int32"), "end": Value("int32"), "label": ClassLabel(names=LABELS)})})
    mentions = [{"start": [s.start for s in d.spans], "end": [s.end for s in d.spans],
                 "label": [LABELS.index(s.label) for s in d.spans]} for d in DOCS]
    Dataset.from_dict({"doc": list(range(5)), "sentence": [d.text for d in DOCS], "mentions": mentions},
                      features=features).save_to_disk(tmp_path / "saved")
    columns = {"text": "sentence", "id": "doc", "spans": "mentions"}
    docs, _ = read(tmp_path / "saved", columns=columns)
    assert [d.id for d in docs] == ["0", "1", "2", "3", "4"]
    assert [(d.text, d.spans) for d in docs] == [(d.text, d.spans) for d in DOCS]


def test_save_to_disk_datasetdict_reads_the_named_split_and_never_guesses(tmp_path):
    DatasetDict({"train": Dataset.from_dict(span_rows(DOCS[:3])),
                 "validation": Dataset.from_dict(span_rows(DOCS[3:]))}).save_to_disk(tmp_path / "saved")
    assert detect_format(tmp_path / "saved") == "datasets"
    docs, _ = read(tmp_path / "saved", split="validation")
    assert as_tuples(docs) == as_tuples(DOCS[3:])
    with pytest.raises(DataError, match="has splits train, validation: name the one"):
        read(tmp_path / "saved")
    with pytest.raises(DataError, match="no split 'test'"):
        read(tmp_path / "saved", split="test")


def test_hub_layout_folder_of_parquet_files(tmp_path):
    repo = tmp_path / "judgments-ner"
    (repo / "data").mkdir(parents=True)
    Dataset.from_dict(span_rows(DOCS[:4])).to_parquet(repo / "data" / "train-00000-of-00001.parquet")
    Dataset.from_dict(span_rows(DOCS[4:])).to_parquet(repo / "data" / "test-00000-of-00001.parquet")
    (repo / "README.md").write_text("---\nlicense: cc-by-4.0\n---\n# 刑事判决书实体\n", encoding="utf-8")
    assert detect_format(repo) == "datasets"
    docs, _ = read(repo, split="train")
    assert as_tuples(docs) == as_tuples(DOCS[:4])
    # What training reads: the same documents through load_documents, and a split only tables have.
    assert as_tuples(load_documents(str(repo), "auto", None, split="test")[0]) == as_tuples(DOCS[4:])
    spans_file = tmp_path / "a.jsonl"
    spans_file.write_text(json.dumps(DOCS[0].to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="only datasets tables have splits"):
        load_documents(str(spans_file), "auto", None, split="train")


def test_a_folder_with_a_loading_script_is_refused_and_the_script_never_runs(tmp_path):
    repo = tmp_path / "scripted"
    repo.mkdir()
    Dataset.from_dict(span_rows(DOCS)).to_parquet(repo / "train.parquet")
    marker = tmp_path / "script_ran"
    (repo / "scripted.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"loading script \(scripted\.py\)"):
        read(repo)
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# Token/tag tables


def test_classlabel_token_table_without_text_joins_characters(tmp_path):
    token_table(DOCS).to_parquet(tmp_path / "chars.parquet")
    docs, stats = read(tmp_path / "chars.parquet")
    assert as_tuples(docs) == as_tuples(DOCS)  # "2021" and "3200" are four tokens each, joined by ""
    assert stats.anomalies == {"datasets: texts joined from tokens": 5}


def test_string_tags_with_a_text_column_and_a_stray_inside_tag(tmp_path):
    text = "被告人 吴某强 在 Apple Store 骗取 iPhone 13 一部 。"
    tokens = ["被告人", "吴某强", "在", "Apple", "Store", "骗取", "iPhone", "13", "一部", "。"]
    tags = ["O", "B-DEFENDANT", "O", "I-LOCATION", "I-LOCATION", "O", "B-AMOUNT", "I-AMOUNT", "O", "O"]
    Dataset.from_dict({"text": [text], "tokens": [tokens], "tags": [tags]}).to_json(tmp_path / "words.jsonl")
    docs, stats = read(tmp_path / "words.jsonl", "datasets", columns={"tags": "tags"})
    assert [(text[s.start:s.end], s.label) for s in docs[0].spans] == [
        ("吴某强", "DEFENDANT"), ("Apple Store", "LOCATION"), ("iPhone 13", "AMOUNT")]
    assert docs[0].id == "words-0"
    assert stats.anomalies == {"datasets: I-/E- tag that starts a span": 1}  # repaired as CoNLL is


def test_joiner_for_tokens_without_han_characters(tmp_path):
    rows = {"tokens": [["Zhang", "San", "stole", "a", "phone"]], "ner_tags": [["B-PERSON", "I-PERSON", "O", "O", "O"]]}
    Dataset.from_dict(rows).save_to_disk(tmp_path / "latin")
    (doc,), _ = read(tmp_path / "latin")
    assert (doc.text, doc.spans) == ("Zhang San stole a phone", [Span(0, 9, "PERSON")])
    (doc,), _ = read(tmp_path / "latin", columns={"joiner": "_"})
    assert doc.text == "Zhang_San_stole_a_phone"


def test_tokens_missing_from_the_text_are_reported_and_their_spans_dropped(tmp_path):
    # The text has full-width digits, the tokens ASCII ones: "20", "9" and "5" are not in the text.
    doc = DOCS[1]
    tokens = ["被告人", "郑某华", "于", "20", "20", "年", "9", "月", "通过", "微信", "向", "被害人", "刘某芳",
              "转账", "人民币", "5", "万元", "。"]
    tags = ["O", "B-DEFENDANT", "O", "B-DATE", "I-DATE", "I-DATE", "I-DATE", "I-DATE", "O", "B-APP", "O", "O",
            "B-PERSON", "O", "B-AMOUNT", "I-AMOUNT", "I-AMOUNT", "O"]
    Dataset.from_dict({"id": ["j1"], "text": [doc.text], "tokens": [tokens], "ner_tags": [tags]}).to_parquet(
        tmp_path / "mixed.parquet")
    (read_doc,), stats = read(tmp_path / "mixed.parquet")
    kept = [(doc.text[s.start:s.end], s.label) for s in read_doc.spans]
    # The date starts on a missing token: dropped. The amount ends on a found one: kept whole.
    assert kept == [("郑某华", "DEFENDANT"), ("微信", "APP"), ("刘某芳", "PERSON"), ("人民币５万元", "AMOUNT")]
    assert stats.anomalies == {"datasets: tokens not found in the text": 4,
                               "datasets: spans on tokens not found, dropped": 1}
    assert stats.examples["datasets: tokens not found in the text"][0] == "row 0 (id 'j1'): token 3 '20'"
    assert stats.to_dict()["examples"]["datasets: spans on tokens not found, dropped"] == [
        "row 0 (id 'j1'): DATE on tokens 3-7"]


@pytest.mark.parametrize("rows, reason", [
    ({"tokens": [["张", "某"]], "ner_tags": [["B-PERSON"]]}, "row 0 (id 'bad-0'): 2 tokens but 1 tags"),
    ({"tokens": [["张", "某"]], "ner_tags": [["B-PERSON", "X-PERSON"]]}, "tag 1: invalid tag 'X-PERSON'"),
    ({"tokens": [["张", "某"]], "ner_tags": [[1, 0]]}, "integer tags without a ClassLabel"),
    ({"text": ["张某"], "entities": [[{"start": 0, "end": 2, "label": "PERSON", "text": "李某"}]]}, "differs"),
    ({"text": ["张某"], "entities": [[{"start": 0, "end": 3, "label": "PERSON"}]]}, "outside the text"),
    ({"text": ["张某"], "words": [["张某"]]}, "no entity columns"),
])
def test_bad_rows_name_the_path_and_the_row(tmp_path, rows, reason):
    path = tmp_path / "bad.parquet"
    Dataset.from_dict(rows).to_parquet(path)
    with pytest.raises(DataError, match="bad.parquet: ") as caught:
        read(path)
    assert reason in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Settings and commands


@pytest.mark.parametrize("overrides, message", [
    (["--data.columns.tags=null"], "data.columns: tokens and tags go together"),
    (["--data.columns.spans=null", "--data.columns.tokens=null", "--data.columns.tags=null"], "give the spans column"),
    (["--data.columns.tokens=text"], "two settings name the same column"),
    (["--data.format=conll", "--data.columns.tags=labels"], "data.columns applies to format datasets"),
    (["--data.format=spans", "--data.split=train"], "data.split applies to format datasets"),
    (["--data.dev_split=validation"], "data.dev_split names a split of data.dev_file"),
    (["--data.columns.colour=red"], "data.columns.colour"),
])
def test_bad_column_settings_are_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, ["--data.train_file=x.parquet", *overrides])


def test_column_settings_round_trip_and_reach_sources(tmp_path):
    config = load_config(None, {"data": {"labels": ["PERSON"], "sources": [
        {"file": "a.parquet", "columns": {"tags": "labels", "text": None}, "split": "train"}]}})
    assert config.data.sources[0].columns == Columns(text=None, tags="labels")
    config.save(tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == config
    with pytest.raises(ConfigError, match="data.columns applies to data.train_file"):
        load_config(None, {"data": {"labels": ["PERSON"], "columns": {"tags": "labels"},
                                    "sources": [{"file": "a.parquet"}]}})


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_on_a_token_table_then_evaluate_and_convert_parquet(tmp_path, capsys, tiny_dir):
    corpus = tmp_path / "corpus"
    (corpus / "data").mkdir(parents=True)
    token_table(DOCS[:4]).to_parquet(corpus / "data" / "train-00000-of-00001.parquet")
    token_table(DOCS[3:]).to_parquet(corpus / "data" / "validation-00000-of-00001.parquet")
    out = tmp_path / "run"
    # The README's command, on the tiny encoder and a few updates.
    code, stdout, err = run(capsys, "train", f"--data.train_file={corpus}", "--data.split=train",
                            f"--data.dev_file={corpus}", "--data.dev_split=validation",
                            "--data.format=datasets", "--data.columns.tokens=tokens", "--data.columns.tags=ner_tags",
                            f"--model.name_or_path={tiny_dir}", f"--output_dir={out}", "--train.max_steps=3",
                            "--train.progress=false")
    assert code == 0, err
    assert "best dev F1" in stdout
    report = json.loads((out / "encoding_report.json").read_text(encoding="utf-8"))
    assert report["read"]["train"]["docs"] == 4 and report["read"]["dev"]["docs"] == 2
    assert report["read"]["train"]["anomalies"] == {"datasets: texts joined from tokens": 4}

    test_file = tmp_path / "test.parquet"
    Dataset.from_dict(span_rows(DOCS)).to_parquet(test_file)
    code, stdout, err = run(capsys, "evaluate", "--model", out / "model-best", "--data", test_file,
                            "--output", tmp_path / "m.json")
    assert code == 0, err
    metrics = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert metrics["documents"] == 5 and metrics["read"]["spans"] == 13
    assert set(metrics["micro"]) >= {"precision", "recall", "f1"}
    # A split of a folder scored directly, and one a file does not have: one line, no traceback.
    code, _, err = run(capsys, "evaluate", "--model", out / "model-best", "--data", corpus, "--split", "test")
    assert code == 2 and "no split 'test'" in err and "Traceback" not in err

    code, stdout, _ = run(capsys, "convert", corpus, tmp_path / "dev.jsonl", "--split", "validation")
    assert code == 0 and json.loads(stdout)["docs"] == 2
    lines = (tmp_path / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == [DOCS[3].text, DOCS[4].text]
    code, _, err = run(capsys, "convert", corpus, tmp_path / "x.jsonl", "--split", "validation", "--columns", "tags=labels")
    assert code == 2 and "no entity columns" in err and "'labels'" in err
    code, _, err = run(capsys, "convert", tmp_path / "dev.jsonl", tmp_path / "y.jsonl", "--split", "validation")
    assert code == 2 and "reads as 'spans', which takes no split" in err
    code, _, err = run(capsys, "convert", tmp_path / "dev.jsonl", tmp_path / "y.jsonl", "--from", "spans", "--split", "x")
    assert code == 2 and "--columns and --split read datasets tables, not --from spans" in err
