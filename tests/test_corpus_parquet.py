"""Parquet output of ``tag``: the same rows as JSONL in typed columns, a records table, resuming
after a crash (between chunks, by SIGKILL, inside the merge) without a lost or doubled row, foreign
files refused untouched, hostile lines as error rows, shards merged.

The taggers are the rules (``RuleTagger``: real entities and records, no model) and stand-ins.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nlp_judgments.apps import parquet_output
from nlp_judgments.apps.corpus import TagOptions, tag_corpus
from nlp_judgments.apps.parquet_output import PartWriter, parts_folder
from nlp_judgments.apps.parquet_rows import options_of, record_rows
from nlp_judgments.cli import main
from nlp_judgments.legal.rule_tagger import RuleTagger

from .test_corpus_safety import FOREIGN, HOSTILE
from .test_corpus_safety import Tagger as BreaksOnBomb

DEMO = Path(__file__).resolve().parents[1] / "nlp_judgments" / "resources" / "demo" / "judgments.jsonl"
TEXTS = [json.loads(line)["text"] for line in DEMO.read_text(encoding="utf-8").splitlines()]
ALL = dict(records=True, entities=True, include_text=True)


def corpus(path: Path, n: int) -> Path:
    """``n`` documents: the demo judgments over and over, each with its own id."""
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"d{i:04d}", "text": TEXTS[i % len(TEXTS)]}, ensure_ascii=False) + "\n")
    return path


def tag(src, out, tagger=RuleTagger, **kw):
    kw.setdefault("progress", False)
    return tag_corpus(tagger, src if isinstance(src, list) else [src], out, TagOptions(**kw))


def rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_tables_hold_what_the_json_lines_hold(tmp_path):
    src = corpus(tmp_path / "in.jsonl", 30)
    with src.open("a", encoding="utf-8") as f:
        f.write('{"id": "empty", "text": ""}\nnot json\n{"id": "nobody", "text": "本院认为，应予纠正。"}\n')
    tag(src, tmp_path / "out.jsonl", chunk_chars=5000, **ALL)
    tag(src, tmp_path / "out.parquet", chunk_chars=5000, **ALL)
    lines, docs = jsonl(tmp_path / "out.jsonl"), rows(tmp_path / "out.parquet")
    assert [r["id"] for r in docs] == [l["id"] for l in lines] and len(docs) == 33
    for line, row in zip(lines, docs):
        assert row["source"] == line["source"] and row["error"] == line.get("error")
        assert row["chars"] == line.get("chars") and row["text"] == line.get("text")
        assert row["entities"] == line.get("entities")
        assert (row["record_json"] and json.loads(row["record_json"])) == line.get("record")

    records = rows(tmp_path / "out.records.parquet")
    expected = [r for l in lines if "record" in l for r in record_rows(l["id"], l["record"])]
    assert records == expected and len(records) == sum(max(1, len(l["record"]["defendants"])) for l in lines if "record" in l)
    (nobody,) = [r for r in records if r["id"] == "nobody"]  # no defendant: one row all the same
    assert nobody["defendant"] is None and nobody["charges"] is None and "no defendants found" in nobody["warnings"]
    first = lines[0]["record"]
    assert [r["defendant"] for r in records if r["id"] == "d0000"] == [d["name"]["value"] for d in first["defendants"]]
    assert records[0]["charges"] == [c["value"] for c in first["defendants"][0]["charges"]]
    assert pq.read_schema(tmp_path / "out.records.parquet").field("charges").type == pa.list_(pa.string())
    assert pq.ParquetFile(tmp_path / "out.parquet").schema_arrow.field("entities").type.value_type.names == \
        ["start", "end", "label", "text", "score", "source"]
    assert not parts_folder(tmp_path / "out.parquet").exists()


def test_pandas_reads_both_tables(tmp_path):
    pd = pytest.importorskip("pandas")
    tag(corpus(tmp_path / "in.jsonl", 5), tmp_path / "out.parquet", records=True, entities=False)
    docs, records = pd.read_parquet(tmp_path / "out.parquet"), pd.read_parquet(tmp_path / "out.records.parquet")
    assert list(docs["id"]) == [f"d{i:04d}" for i in range(5)] and docs["entities"].isna().all()  # as `tag --records`
    assert set(records["id"]) == set(docs["id"]) and records["months"].dtype.kind in "iuf"
    joined = records.merge(docs[["id", "chars"]], on="id")
    assert len(joined) == len(records) and (joined["chars"] > 0).all()


def test_duckdb_reads_both_tables(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    tag(corpus(tmp_path / "in.jsonl", 5), tmp_path / "out.parquet", records=True, entities=False)
    n = duckdb.sql(f"select count(distinct r.id) from '{tmp_path / 'out.records.parquet'}' r "
                   f"join '{tmp_path / 'out.parquet'}' d using (id)").fetchone()[0]
    assert n == 5


def test_a_record_row_per_defendant_with_its_own_warnings():
    field = lambda v, uncertain=False: {"value": v, "evidence": [], **({"uncertain": True} if uncertain else {})}
    record = {
        "court": field("某市某区人民法院"), "case_number": field("（2021）浙0113刑初88号"), "procuratorate": None,
        "judgment_date": field("2021-03-04"),
        "defendants": [
            {"name": field("李某"), "charges": [field("盗窃罪")], "fine_yuan": field(2000),
             "illegal_gain_yuan": field(None), "sentence": {"type": field("有期徒刑"), "months": field(6),
                                                             "probation_months": field(0, True)}},
            {"name": field("李某某"), "charges": [], "sentence": None, "fine_yuan": field(1500.5),
             "illegal_gain_yuan": field(300)},
        ],
        "warnings": ["李某: the term is written ...", "李某某: no sentence found in the verdict", "court: a guess"],
    }
    a, b = record_rows("x", record)
    assert (a["defendant"], a["charges"], a["sentence_type"], a["months"], a["probation_months"], a["fine_yuan"]) == \
           ("李某", ["盗窃罪"], "有期徒刑", 6, 0, 2000.0)
    assert a["uncertain"] and not b["uncertain"]  # probation_months is a guess on 李某's row only
    assert (b["sentence_type"], b["months"], b["illegal_gain_yuan"]) == (None, None, 300.0)
    assert a["warnings"] == ["李某: the term is written ...", "court: a guess"]
    assert b["warnings"] == ["李某某: no sentence found in the verdict", "court: a guess"]
    assert a["procuratorate"] is None and a["court"] == b["court"] == "某市某区人民法院"


class Killed(BaseException):
    """What a kill looks like from inside: nothing catches it (``_tag_chunk`` catches ``Exception``)."""


class DiesOnCall(RuleTagger):
    def __init__(self, n: int):
        self.calls, self.n = 0, n

    def tag(self, texts):
        self.calls += 1
        if self.calls == self.n:
            raise Killed
        return super().tag(texts)


def test_a_crash_at_chunk_3_then_a_resume_gives_the_rows_of_an_uninterrupted_run(tmp_path):
    src = corpus(tmp_path / "in.jsonl", 24)
    whole = tmp_path / "whole.parquet"
    tag(src, whole, chunk_chars=4000, **ALL)
    out = tmp_path / "out.parquet"
    with pytest.raises(Killed):
        tag(src, out, tagger=lambda: DiesOnCall(3), chunk_chars=4000, **ALL)
    first, second = sorted(parts_folder(out).glob("0-of-1.*[0-9].parquet"))
    assert not out.exists()
    kept = pq.read_metadata(first).num_rows
    second.write_bytes(second.read_bytes()[:-100])  # as a power cut can leave a part: its footer lost
    stats = tag(src, out, chunk_chars=4000, **ALL)
    assert stats.skipped == kept and stats.docs == 24 - kept  # the broken part's documents tagged again
    assert rows(out) == rows(whole)
    assert rows(tmp_path / "out.records.parquet") == rows(tmp_path / "whole.records.parquet")
    assert pq.ParquetFile(out).num_row_groups == 1  # small parts gathered into one row group
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.parquet", "out.records.parquet",
                                                          "whole.parquet", "whole.records.parquet"]


def test_a_crash_inside_the_merge_loses_and_doubles_nothing(tmp_path, monkeypatch):
    src = corpus(tmp_path / "in.jsonl", 12)
    tag(src, tmp_path / "whole.parquet", chunk_chars=4000, records=True)
    out = tmp_path / "out.parquet"
    real_replace = os.replace

    def killed_before_the_records(a, b):  # the documents table is renamed into place, the records not yet
        if str(b).endswith("out.records.parquet"):
            raise Killed
        real_replace(a, b)

    monkeypatch.setattr(parquet_output.os, "replace", killed_before_the_records)
    with pytest.raises(Killed):
        tag(src, out, chunk_chars=4000, records=True)
    monkeypatch.setattr(parquet_output.os, "replace", real_replace)
    assert len(rows(out)) == 12 and not (tmp_path / "out.records.parquet").exists()
    stats = tag(src, out, chunk_chars=4000, records=True)
    assert stats.skipped == 12
    assert rows(out) == rows(tmp_path / "whole.parquet")
    assert rows(tmp_path / "out.records.parquet") == rows(tmp_path / "whole.records.parquet")


def test_killed_mid_run_then_resumed_every_id_once(tmp_path):
    n = 600
    src = corpus(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.parquet"
    cmd = [sys.executable, "-m", "nlp_judgments.cli", "tag", "--records", str(src), "-o", str(out),
           "--chunk-chars", "3000", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder, deadline = parts_folder(out), time.time() + 120
    while time.time() < deadline and len(list(folder.glob("*[0-9].parquet")) if folder.is_dir() else []) < 4:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    parts = sorted(folder.glob("*[0-9].parquet"))
    written = sum(pq.read_metadata(p).num_rows for p in parts)  # every part left is whole
    assert 4 <= len(parts) and written < n, "the kill must land mid-run"

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stderr.strip().splitlines()[-1])
    assert stats["skipped"] == written and stats["docs"] == n - written
    assert sorted(r["id"] for r in rows(out)) == [f"d{i:04d}" for i in range(n)]  # every id exactly once
    tag(src, tmp_path / "whole.parquet", records=True)
    key = lambda r: (r["id"], r["defendant"] or "")
    assert sorted(rows(tmp_path / "out.records.parquet"), key=key) == sorted(rows(tmp_path / "whole.records.parquet"), key=key)


def _ours(name: str):
    def make(tmp_path: Path) -> bytes:  # a table of ours, where the other table belongs
        tag(corpus(tmp_path / "other.jsonl", 2), tmp_path / "other.parquet", records=True, entities=False)
        return (tmp_path / name).read_bytes()
    return make


def _plain_parquet(tmp_path: Path) -> bytes:
    pq.write_table(pa.table({"id": ["a"], "source": ["x"]}), tmp_path / "plain.parquet")
    return (tmp_path / "plain.parquet").read_bytes()


FOREIGN_PARQUET = {
    "notes": lambda _: FOREIGN["notes"],
    "binary": lambda _: FOREIGN["binary"],
    "an input JSONL": lambda _: FOREIGN["an input JSONL"],
    "a damaged footer": lambda _: b"PAR1" + b"x" * 100 + b"\x10\x00\x00\x00PAR1",
    "a Parquet file of someone else": _plain_parquet,
    "our records table": _ours("other.records.parquet"),
    "our documents table": _ours("other.parquet"),
}
CASES = [(kind, which) for kind in FOREIGN_PARQUET for which in ("output", "records file")
         if (kind, which) not in {("our records table", "records file"), ("our documents table", "output")}]


@pytest.mark.parametrize("kind, which", CASES)
def test_a_foreign_parquet_is_refused_and_left_byte_identical(kind, which, tmp_path, capsys):
    src = corpus(tmp_path / "in.jsonl", 3)
    content = FOREIGN_PARQUET[kind](tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    out = run / "out.parquet"
    if which == "records file":
        tag(src, out, records=True, entities=False)  # a finished output of ours, and a foreign file put beside it
    (out if which == "output" else run / "out.records.parquet").write_bytes(content)
    before = snapshot(run)
    code = main(["tag", "--records", "-q", str(src), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "not the output of `tag`" in err and "Give -o a new file" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert snapshot(run) == before and not parts_folder(out).exists()


def test_a_resume_with_other_options_is_refused(tmp_path, capsys):
    src = corpus(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.parquet"
    tag(src, out, records=True, entities=False)  # as `tag --records`
    before = snapshot(tmp_path)
    assert main(["tag", "-q", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "records: yes, entities: no" in err and "records: no, entities: yes" in err and "a table holds one kind" in err
    assert snapshot(tmp_path) == before


def test_hostile_lines_become_the_error_rows_of_jsonl(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(raw for raw, _, _ in HOSTILE) + b"\n")
    tag(src, tmp_path / "out.jsonl", tagger=BreaksOnBomb)
    stats = tag(src, tmp_path / "out.parquet", tagger=BreaksOnBomb)
    docs, lines = rows(tmp_path / "out.parquet"), jsonl(tmp_path / "out.jsonl")
    assert [(r["id"], r["source"], r["error"]) for r in docs] == [(l["id"], l["source"], l.get("error")) for l in lines]
    for row, (raw, doc_id, error) in zip(sorted(docs, key=lambda r: int(r["source"].rsplit(":", 1)[1])), HOSTILE):
        assert row["id"] == doc_id and (error is None) == (row["error"] is None), raw[:60]
        assert (row["chars"] is None) == (error is not None)
    assert any("\\ud800" in (r["error"] or "") for r in docs)  # a lone surrogate written out, as in JSONL
    assert stats.errors == len(HOSTILE) - 3 and tag(src, tmp_path / "out.parquet", tagger=BreaksOnBomb).skipped == len(HOSTILE)


def test_no_documents_still_gives_both_tables(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("", encoding="utf-8")
    tag(src, tmp_path / "out.parquet", records=True)
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 0
    assert "uncertain" in pq.read_table(tmp_path / "out.records.parquet").column_names


def test_two_runs_on_one_output_is_an_error(tmp_path):
    out = tmp_path / "out.parquet"
    with PartWriter(out, options_of(False, True, False)):
        with pytest.raises(ValueError, match="another run is writing"):
            PartWriter(out, options_of(False, True, False))


def test_shards_are_tagged_apart_and_merged(tmp_path):
    src = corpus(tmp_path / "in.jsonl", 23)
    with src.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "d0003", "text": "重复的编号。"}, ensure_ascii=False) + "\n")
    out, errors = tmp_path / "out.parquet", []

    def rank(r: int) -> None:
        try:
            tag_corpus(RuleTagger, [src], out, TagOptions(records=True, chunk_chars=3000, progress=False),
                       shard=(r, 3), poll_seconds=0.01)
        except Exception as e:  # reported below, in the test's own thread
            errors.append(e)

    threads = [threading.Thread(target=rank, args=(r,)) for r in (1, 2)]
    for t in threads:
        t.start()
    rank(0)  # waits for the other two, then merges
    for t in threads:
        t.join(60)
    assert not errors
    docs = rows(out)
    assert sorted(r["id"] for r in docs if r["id"]) == [f"d{i:04d}" for i in range(23)]
    (dup,) = [r for r in docs if r["error"]]
    assert "duplicate id 'd0003'" in dup["error"] and dup["source"].endswith(":24")
    tag(src, tmp_path / "single.parquet", records=True)
    key = lambda r: (r["id"], r["defendant"] or "")
    assert sorted(rows(tmp_path / "out.records.parquet"), key=key) == \
           sorted(rows(tmp_path / "single.records.parquet"), key=key)
    assert not parts_folder(out).exists()


def test_parts_of_a_sharded_run_are_merged_by_a_run_without_shards(tmp_path):
    src = corpus(tmp_path / "in.jsonl", 10)
    out = tmp_path / "out.parquet"
    tag_corpus(RuleTagger, [src], out, TagOptions(records=True, chunk_chars=3000, progress=False), shard=(1, 2))
    assert not out.exists() and list(parts_folder(out).glob("1-of-2.*[0-9].parquet"))  # rank 0 never came
    stats = tag(src, out, records=True, chunk_chars=3000)
    assert stats.docs == 10  # only its own parts count as done: the other layout's are merged, deduplicated
    tag(src, tmp_path / "whole.parquet", records=True)
    assert rows(out) == rows(tmp_path / "whole.parquet")
    assert rows(tmp_path / "out.records.parquet") == rows(tmp_path / "whole.records.parquet")
    assert not parts_folder(out).exists()
