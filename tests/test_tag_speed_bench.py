"""benchmarks/tag_speed.py end to end on a tiny trained model: both engines run and their spans are compared.

Timings are not asserted (benchmarks assert nothing about speed); what is checked is that the two
engines saw the same windows and that they agree everywhere outside the tokens two windows share.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from nlp_judgments.training.config import load_config
from nlp_judgments.training.loop import train

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "tag_speed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("tag_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_model(tiny_dir, spans_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tag_speed") / "run"
    config = load_config(None, {
        "output_dir": str(out),
        "model": {"name_or_path": str(tiny_dir)},
        "data": {"train_file": str(spans_file), "format": "spans", "dev_last_n": 0, "max_length": 32, "stride": 8},
        "train": {"max_steps": 25, "epochs": 100, "batch_size": 8, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0,
                  "progress": False, "log_every": 1000, "seed": 7},
    })
    train(config)
    return out / "model-last"


def test_compares_both_engines_on_the_same_windows(bench, tiny_model, sample_docs, tmp_path):
    data = tmp_path / "docs.jsonl"
    texts = [sample_docs[1].text, sample_docs[4].text, "".join(d.text for d in sample_docs)]  # the last needs windows
    data.write_text("".join(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)),
                    encoding="utf-8")
    out = tmp_path / "tag_speed.json"
    argv = ["--model", str(tiny_model), "--data", str(data), "--repeats", "1", "--warmup", "1", "--threads", "1",
            "--device", "cpu", "--out", str(out)]
    assert bench.main(argv) == 0

    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result["table"]) == {"ours", "pipeline"}
    assert [r["engine"] for r in result["runs"]] == ["ours", "pipeline"]
    assert result["settings"]["comparable"] and result["settings"]["chars"] == sum(map(len, texts))
    assert result["table"]["ours"]["windows"] == result["table"]["pipeline"]["windows"] > 3
    assert result["breakdown"]["forward"] > 0 and result["breakdown"]["real_positions"] > 0

    spans = result["spans"]
    assert spans["docs"] == 3 and spans["windows_identical_docs"] == 3
    assert spans["spans_ours"] > 0, "the tiny model should find some entities"
    assert spans["identical_docs"] >= 2  # the two short documents fit in one window
    # A char-level WordPiece tokenizer and BIO decoding: the engines may differ only where windows overlap.
    assert spans["differing_in_window_overlap"] == spans["differing_spans"]


@pytest.mark.parametrize(
    "entities, expected",
    [
        ([{"start": 2, "end": 9, "entity_group": "APP"}], [(3, 9, "APP")]),  # "▁iPhone" carries the space
        ([{"start": 0, "end": 2, "entity_group": "PERSON"}] * 2, [(0, 2, "PERSON")]),  # same span from two chunks
        ([{"start": 2, "end": 3, "entity_group": "APP"}], []),  # whitespace only
        ([], []),
    ],
)
def test_normalise_pipeline(bench, entities, expected):
    assert bench.normalise_pipeline("被告 iPhone", entities) == expected


def test_crf_models_are_refused(bench, tmp_path):
    (tmp_path / "nlp_judgments.json").write_text(json.dumps({"labels": ["PERSON"], "head": "crf"}))
    with pytest.raises(SystemExit, match="crf head"):
        bench.check_model(str(tmp_path))


def test_onnx_rows_tag_like_ours(bench, tiny_model, sample_docs, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from nlp_judgments.tools.export import export_onnx

    export_onnx(tiny_model, tmp_path / "exported", int8=True)  # no dev file: int8 unverified, still run
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"id": d.id, "text": d.text}, ensure_ascii=False) + "\n" for d in sample_docs),
                    encoding="utf-8")
    out = tmp_path / "tag_speed.json"
    argv = ["--model", str(tiny_model), "--export-dir", str(tmp_path / "exported"), "--data", str(data),
            "--repeats", "1", "--warmup", "1", "--threads", "1", "--device", "cpu", "--out", str(out)]
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    assert "ours-onnx-int8" in printed and "GFLOP/s" in printed

    result = json.loads(out.read_text(encoding="utf-8"))
    assert list(result["table"]) == ["ours", "ours-onnx", "ours-onnx-int8", "pipeline"]
    assert result["span_identity"]["ours-onnx"]["vs_ours"] == {"identical_docs": 5, "differing_spans": 0}
    for row in result["table"].values():
        assert row["forward_flops"] > 0 and 0 < row["of_gemm_rate"]
    assert result["table"]["ours-onnx"]["windows"] == result["table"]["ours"]["windows"]
    assert any("not checked on a dev file" in n for n in result["notes"])


def test_bf16_row(bench, tiny_model, sample_docs, tmp_path):
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"id": d.id, "text": d.text}, ensure_ascii=False) + "\n" for d in sample_docs),
                    encoding="utf-8")
    out = tmp_path / "tag_speed.json"
    argv = ["--model", str(tiny_model), "--bf16", "--data", str(data), "--repeats", "1", "--warmup", "1",
            "--threads", "1", "--device", "cpu", "--out", str(out)]
    assert bench.main(argv) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert list(result["table"]) == ["ours", "ours-bf16", "pipeline"] and result["settings"]["bf16"]
    assert result["table"]["ours-bf16"]["windows"] == result["table"]["ours"]["windows"]
    assert set(result["span_identity"]["ours-bf16"]) == {"vs_ours", "vs_pipeline"}


def test_the_one_run_report_summarises_tagging(tiny_model, sample_docs, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("speed", SCRIPT.parent / "speed.py")
    speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(speed)
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"id": f"d{i}", "text": d.text}, ensure_ascii=False) + "\n"
                            for i, d in enumerate(sample_docs[:3])), encoding="utf-8")
    out = tmp_path / "speed.json"
    assert speed.main(["--model", str(tiny_model), "--data", str(data), "--limit", "0", "--threads", "1",
                       "--repeats", "1", "--skip-train", "--tag-args", "--warmup 1 --device cpu", "--out", str(out)]) == 0
    summary = capsys.readouterr().out.split("== summary ==")[1]
    lines = summary.strip().splitlines()
    assert lines[0].split()[:2] == ["engine", "chars/s"]
    assert [line.split()[0] for line in lines[1:3]] == ["ours", "pipeline"]
    assert "3/3" in lines[1]  # ours equals itself in every document
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["training"] is None and set(result["tagging"]["table"]) == {"ours", "pipeline"}
