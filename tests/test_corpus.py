"""Corpus tagging: reading hostile inputs, one line per document, resuming after a kill, shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nlp_judgments.apps.corpus import ResumableWriter, TagOptions, tag_corpus
from nlp_judgments.data.inputs import iter_documents
from nlp_judgments.legal.records import record_schema
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.training.config import load_config
from nlp_judgments.training.loop import train

from .conftest import MARKED, doc_from_marked

SENTENCES = [doc_from_marked("s", m).text for m in MARKED]
JUDGMENT = (
    "浙江省杭州市临平区人民法院刑事判决书（2021）浙0113刑初88号。公诉机关杭州市临平区人民检察院。"
    "被告人李某某，男，1990年1月2日出生。经审理查明，2020年11月至2021年3月，被告人李某某通过微信出售公民个人信息，"
    "获利人民币6650元。判决如下：被告人李某某犯侵犯公民个人信息罪，判处有期徒刑三年三个月，并处罚金人民币七万元。"
)


@pytest.fixture(scope="module")
def model_dir(tiny_dir, spans_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tagmodel")
    config = load_config(None, {
        "output_dir": str(out), "model": {"name_or_path": str(tiny_dir)},
        "data": {"train_file": str(spans_file), "format": "spans", "max_length": 32, "stride": 8},
        "train": {"epochs": 30, "batch_size": 5, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0,
                  "progress": False, "log_every": 1000, "seed": 3},
    })
    train(config)
    return out / "model-last"


def write_jsonl(path: Path, rows: list) -> Path:
    with path.open("wb") as f:
        for row in rows:
            f.write(row if isinstance(row, bytes) else json.dumps(row).encode() + b"\n")
    return path


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


HOSTILE = [
    {"id": "ok", "text": JUDGMENT},
    {"id": "empty", "text": ""},
    {"id": "blank", "text": " \n\t\u3000 "},
    {"id": "huge", "text": "被告人张某。" * 200_000},  # 1.2 M characters
    {"id": "control", "text": "被告人\x00张某\x07犯\x1b[31m盗窃罪\u200b，\ufeff判处拘役六个月。"},
    b'{"id": "bad-utf8", "text": "\xff\xfe\xe4\xb8"}\n',
    b'{"id": "truncated", "text": "abc\n',
    b'not json at all\n',
    b'\n',  # a blank line is not a document
    ["a", "list"],
    {"text": "没有编号的文书。"},
    {"id": "", "text": "空编号。"},
    {"id": True, "text": "布尔编号。"},
    {"id": "no-text"},
    {"id": "number-text", "text": 12},
    {"id": "surrogate", "text": "被告人\ud800张某"},
    {"id": 42, "text": "整数编号的文书，被告人王某。"},
    {"id": "ok", "text": "重复的编号。"},
    {"id": "html", "text": "<script>alert('x')</script>被告人张某犯盗窃罪。"},
    {"id": "traditional", "text": "被告人張某犯詐騙罪，判處有期徒刑一年。ＡＢＣ１２３"},
]


def test_hostile_inputs_each_get_one_line_and_a_reason(model_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", HOSTILE)
    out = tmp_path / "out.jsonl"
    opts = TagOptions(records=True, entities=True, max_chars=1_000_000, progress=False)
    stats = tag_corpus(lambda: Tagger.load(model_dir), [src], out, opts)
    lines = read_lines(out)
    by_source = {int(l["source"].rsplit(":", 1)[1]): l for l in lines}
    assert len(lines) == len(HOSTILE) - 1 == stats.docs + stats.errors  # every line but the blank one
    assert sorted(by_source) == [i + 1 for i, row in enumerate(HOSTILE) if row != b"\n"]

    def reason(i: int) -> str:
        return by_source[i + 1].get("error", "")

    errors = {i: reason(i) for i in range(len(HOSTILE)) if HOSTILE[i] != b"\n" and reason(i)}
    expected = {1: "empty", 2: "empty", 3: "more than the limit", 5: "not valid UTF-8", 6: "malformed JSON",
                7: "malformed JSON", 9: "expected a JSON object", 10: "no 'id'", 11: "'id' must be",
                12: "'id' must be", 13: "no 'text'", 14: "'text' must be a string", 15: "surrogate",
                17: "duplicate id 'ok'"}
    assert set(errors) == set(expected), errors
    for i, fragment in expected.items():
        assert fragment in errors[i], (i, errors[i])
    for i in (0, 4, 16, 18, 19):  # tagged, with offsets into the original text and a valid record
        line, text = by_source[i + 1], HOSTILE[i]["text"]
        assert line["id"] == str(HOSTILE[i]["id"]) and line["chars"] == len(text)
        assert all(text[e["start"]:e["end"]] == e["text"] for e in line["entities"])
        import jsonschema

        jsonschema.validate(line["record"], record_schema())
    assert by_source[1]["record"]["case_number"]["value"] == "（2021）浙0113刑初88号"


def test_records_only_and_text(model_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "j", "text": JUDGMENT}])
    out = tmp_path / "out.jsonl"
    tag_corpus(lambda: Tagger.load(model_dir), [src], out,
               TagOptions(records=True, entities=False, include_text=True, progress=False))
    (line,) = read_lines(out)
    assert "entities" not in line and line["text"] == JUDGMENT
    assert line["record"]["defendants"][0]["name"]["value"] == "李某某"


def test_txt_files_and_folders(model_dir, tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(JUDGMENT, encoding="utf-8")
    (folder / "sub" / "b.txt").write_bytes(b"\xef\xbb\xbf" + "被告人王某犯盗窃罪。".encode())
    (folder / "sub" / "c.txt").write_bytes(b"\xff\xfe broken")
    out = tmp_path / "out.jsonl"
    tag_corpus(lambda: Tagger.load(model_dir), [folder], out, TagOptions(progress=False))
    lines = {l["id"]: l for l in read_lines(out)}
    assert set(lines) == {"a", "sub/b", "sub/c"}
    assert lines["sub/b"]["chars"] == len("被告人王某犯盗窃罪。")  # BOM dropped
    assert "not valid UTF-8" in lines["sub/c"]["error"]


def test_writer_cuts_a_partial_line_and_knows_what_is_done(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "a", "source": "x:1", "chars": 1}\n{"id": null, "source": "x:2", "error": "e"}\n{"id": "c", "sour')
    with ResumableWriter(out) as w:
        assert set(w.done) == {"a", "x:2"}
        w.write({"id": "c", "source": "x:3", "chars": 1})
    assert [l["source"] for l in read_lines(out)] == ["x:1", "x:2", "x:3"]
    with ResumableWriter(out):
        with pytest.raises(ValueError, match="another run"):
            ResumableWriter(out)


def test_a_finished_run_resumes_without_loading_the_model(model_dir, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": s} for i, s in enumerate(SENTENCES)])
    out = tmp_path / "out.jsonl"
    tag_corpus(lambda: Tagger.load(model_dir), [src], out, TagOptions(progress=False))
    first = out.read_bytes()

    def refuse():
        raise AssertionError("nothing was left to tag")

    stats = tag_corpus(refuse, [src], out, TagOptions(progress=False))
    assert stats.skipped == len(SENTENCES) and out.read_bytes() == first


def run_cli(*args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "nlp_judgments.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_killed_mid_run_then_resumed_every_id_once(model_dir, tmp_path):
    n = 400
    rows = [{"id": f"d{i:04d}", "text": SENTENCES[i % len(SENTENCES)] * (1 + i % 3)} for i in range(n)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    args = ["tag", "--model", str(model_dir), str(src), "-o", str(out), "--chunk-chars", "300", "-q", "--threads", "1"]

    proc = run_cli(*args)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 30):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = out.read_bytes().count(b"\n")
    assert 30 <= written < n, "the kill must land mid-run"

    proc = run_cli(*args)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    stats = json.loads(err.strip().splitlines()[-1])
    assert stats["skipped"] == written and stats["docs"] == n - written

    ids = [l["id"] for l in read_lines(out)]
    assert sorted(ids) == [r["id"] for r in rows]  # every id exactly once


def test_shards_are_tagged_apart_and_merged(model_dir, tmp_path):
    rows = [{"id": f"d{i}", "text": SENTENCES[i % len(SENTENCES)]} for i in range(23)] + [{"id": "d3", "text": "重复。"}]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    common = ["tag", "--model", str(model_dir), str(src), "-o", str(out), "-q", "--threads", "1"]
    procs = [run_cli(*common, "--shard", f"{r}/3") for r in (0, 1, 2)]  # rank 0 waits for the others, then merges
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    lines = read_lines(out)
    assert sorted(l["id"] for l in lines if l["id"]) == sorted(r["id"] for r in rows[:-1])
    (dup,) = [l for l in lines if "error" in l]
    assert "duplicate id 'd3'" in dup["error"] and dup["source"].endswith(":24")
    assert not list(tmp_path.glob("out.jsonl.shard-*"))

    single = tmp_path / "single.jsonl"
    tag_corpus(lambda: Tagger.load(model_dir), [src], single, TagOptions(progress=False))
    by_id = {l["id"]: l for l in read_lines(single) if l["id"]}
    for line in lines:
        if line["id"]:
            assert [(e["start"], e["end"], e["label"]) for e in line["entities"]] == \
                   [(e["start"], e["end"], e["label"]) for e in by_id[line["id"]]["entities"]]


def test_shard_reader_partitions_the_stream(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": "x"} for i in range(10)])
    parts = [[d.id for d in iter_documents([src], (r, 3))] for r in range(3)]
    assert sorted(sum(parts, [])) == sorted(str(i) for i in range(10))
    assert parts[1] == ["1", "4", "7"]


def test_cli_errors_are_one_line(model_dir, tmp_path, capsys):
    from nlp_judgments.cli import main

    assert main(["tag", "--model", str(tmp_path), str(tmp_path / "x.jsonl")]) == 2
    assert "not a model folder" in capsys.readouterr().err
    assert main(["tag", "--model", str(model_dir), str(tmp_path / "missing.jsonl"), "-q"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["tag", "--model", str(model_dir), "--shard", "x", str(tmp_path)]) == 2
    assert "RANK/WORLD" in capsys.readouterr().err


class FailsOn:
    """A tagger that raises whenever a given text is in its batch."""

    def __init__(self, poison: str):
        self.poison = poison

    def tag(self, texts):
        if self.poison in texts:
            raise RuntimeError("out of memory (simulated)")
        return [[] for _ in texts]


@pytest.mark.parametrize("chunk_chars", [1, 10_000])  # one document a chunk, and all in one chunk
def test_a_document_that_breaks_the_model_costs_only_itself(tmp_path, chunk_chars):
    rows = [{"id": str(i), "text": t} for i, t in enumerate(["甲。", "毒。", "乙。"])]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    stats = tag_corpus(lambda: FailsOn("毒。"), [src], out, TagOptions(chunk_chars=chunk_chars, progress=False))
    lines = read_lines(out)
    assert [l["id"] for l in lines] == ["0", "1", "2"] and stats.docs == 2 and stats.errors == 1
    assert lines[1]["error"] == "tagging failed: RuntimeError: out of memory (simulated)"
