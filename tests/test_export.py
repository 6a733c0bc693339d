"""ONNX export and the ONNX Runtime backends on tiny trained models: same logits, same entities, the int8 rule."""

from __future__ import annotations

import json
import logging
import shutil
import sys

import numpy as np
import pytest

from nlp_judgments.cli import main
from nlp_judgments.spans import read_spans_jsonl
from nlp_judgments.tagging.onnx import INT8_FILE, ONNX_FILE, REPORT_FILE, onnx_file
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.tools.export import export_onnx, int8_decision
from nlp_judgments.training.config import load_config
from nlp_judgments.training.loop import train

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module", params=["softmax", "crf", "span"])
def trained(request, tiny_dir, spans_file, tmp_path_factory):
    """A tiny model with short windows (so long texts are cut and merged), trained for a few seconds."""
    out = tmp_path_factory.mktemp(f"export-{request.param}") / "run"
    config = load_config(None, {
        "output_dir": str(out),
        "model": {"name_or_path": str(tiny_dir), "head": request.param},
        "data": {"train_file": str(spans_file), "format": "spans", "dev_last_n": 0, "max_length": 32, "stride": 8},
        # The span head starts from every span scoring about 0 and needs longer to rise above it.
        "train": {"max_steps": 80 if request.param == "span" else 25, "epochs": 100, "batch_size": 8, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0,
                  "progress": False, "log_every": 1000, "seed": 7},
    })
    train(config)
    return out / "model-last"


@pytest.fixture(scope="module")
def exported(trained, spans_file):
    out = trained.parent / "onnx"
    report = export_onnx(trained, out, int8=True, dev=spans_file, dev_format="spans")
    return out, report


def spans(tagged) -> list[list[tuple]]:
    return [[(e.start, e.end, e.label) for e in doc] for doc in tagged]


@pytest.fixture(scope="module")
def texts(sample_docs):
    return [d.text for d in sample_docs] + ["".join(d.text for d in sample_docs), ""]  # one needs many windows


def test_export_writes_a_loadable_copy_and_a_report(trained, exported):
    out, report = exported
    assert {p.name for p in trained.iterdir()} <= {p.name for p in out.iterdir()}
    assert (out / ONNX_FILE).is_file() and json.loads((out / REPORT_FILE).read_text()) == report
    assert report["max_abs_logit_diff"]["onnx"] <= 1e-4
    assert report["head"] == json.loads((trained / "nlp_judgments.json").read_text())["head"]
    dev = report["dev"]
    assert set(dev["f1"]) == {"torch", "onnx", "onnx-int8"} and dev["documents"] == 5
    assert dev["f1"]["onnx"] == dev["f1"]["torch"]
    decision = report["int8"]["decision"]
    assert decision == int8_decision(dev["f1"]["torch"], dev["f1"]["onnx-int8"])
    assert (out / INT8_FILE).is_file() == (decision == "kept")


def test_onnx_backend_tags_like_torch(trained, exported, texts):
    out, _ = exported
    torch_tagger = Tagger.load(trained, device="cpu", batch_size=3)
    onnx_tagger = Tagger.load(out, backend="onnx", batch_size=3, num_threads=1)
    assert onnx_tagger.session is not None and onnx_tagger.model.encoder is None
    expected, got = torch_tagger.tag(texts), onnx_tagger.tag(texts)
    assert spans(got) == spans(expected)
    assert np.allclose([e.score for doc in got for e in doc], [e.score for doc in expected for e in doc], atol=1e-4)
    assert sum(map(len, expected)) > 0, "the tiny model should find some entities"
    assert onnx_tagger.timings["forward"] > 0 and onnx_tagger.timings["windows"] > len(texts)
    # The exported folder still loads as a torch model and tags as the original.
    assert Tagger.load(out, device="cpu", batch_size=3).tag(texts) == expected


@pytest.mark.parametrize(
    "f1_torch, f1_int8, expected",
    [
        (0.9000, 0.8950, "kept"),  # exactly 0.5 points
        (0.9000, 0.8949, "rejected"),
        (0.5000, 0.6000, "kept"),  # a gain is fine
        (0.0, 0.0, "kept"),
        (0.9, None, "unverified"),
    ],
)
def test_int8_decision_follows_the_half_point_rule(f1_torch, f1_int8, expected):
    assert int8_decision(f1_torch, f1_int8) == expected


def test_int8_without_dev_is_kept_but_unverified(trained, tmp_path, caplog):
    report = export_onnx(trained, tmp_path / "out", int8=True)
    assert report["int8"]["decision"] == "unverified" and "dev" not in report
    assert (tmp_path / "out" / INT8_FILE).is_file()
    with caplog.at_level(logging.WARNING):
        tagger = Tagger.load(tmp_path / "out", backend="onnx-int8")
    assert "not checked" in caplog.text
    assert len(tagger.tag(["被告人张某犯盗窃罪。"])) == 1


def test_helpful_errors(trained, exported, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="export --onnx"):
        Tagger.load(trained, backend="onnx")  # a plain model folder
    with pytest.raises(ValueError, match="unknown backend"):
        Tagger.load(trained, backend="tensorrt")
    out, report = exported
    with pytest.raises(ValueError, match="CPU only"):
        Tagger.load(out, backend="onnx", device="cuda")
    # A rejected int8 model is refused even if its file is still there.
    rejected = tmp_path / "rejected"
    shutil.copytree(out, rejected)
    (rejected / INT8_FILE).write_bytes((out / ONNX_FILE).read_bytes())
    (rejected / REPORT_FILE).write_text(json.dumps({"int8": {"decision": "rejected"}}))
    with pytest.raises(ValueError, match="rejected"):
        onnx_file(rejected, int8=True)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"nlp_judgments\[onnx\]"):
        Tagger.load(out, backend="onnx")


def test_bf16_backend_is_the_torch_model_in_bfloat16(trained, texts, monkeypatch, caplog):
    """Here rather than in test_tagger.py for the trained models of every head (the fixture above)."""
    from nlp_judgments.tagging import hardware

    fp32 = Tagger.load(trained, device="cpu", batch_size=3)
    for native in (True, False):
        monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: native)
        caplog.clear()
        bf16 = Tagger.load(trained, device="cpu", batch_size=3, backend="torch-bf16")
        assert ("emulates" in caplog.text) == (not native)  # a CPU without native bf16 is warned of
    assert bf16.bf16 and not fp32.bf16
    enc = fp32.index.tokenizer(texts[:3], truncation=True, max_length=32, padding=True, return_tensors="np")
    ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
    a, b = fp32._forward(ids, mask), bf16._forward(ids, mask)
    assert a.dtype == b.dtype == np.float32 and not np.array_equal(a, b)  # really computed in bf16
    assert np.abs(a - b).max() < 0.1 * max(1.0, np.abs(a).max())  # within bf16 rounding of the outputs
    assert len(bf16.tag(texts)) == len(texts)


def test_cli_export_then_tag_with_each_backend(trained, spans_file, tmp_path, capsys, monkeypatch):
    out = tmp_path / "exported"
    argv = ["export", "--onnx", "--int8", "--dev", str(spans_file), "--dev-format", "spans", str(trained), str(out)]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "int8 model:" in stdout and "dev micro-F1" in stdout
    lines = {}
    for backend in ("auto", "onnx"):
        assert main(["tag", "--model", str(out), "--backend", backend, "--threads", "1", "-q", str(spans_file)]) == 0
        lines[backend] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    strip = [[(e["start"], e["end"], e["label"]) for e in line["entities"]] for line in lines["auto"]]
    assert strip == [[(e["start"], e["end"], e["label"]) for e in line["entities"]] for line in lines["onnx"]]
    assert len(lines["onnx"]) == len(list(read_spans_jsonl(spans_file)))

    assert main(["tag", "--model", str(trained), "--backend", "onnx", str(spans_file)]) == 2
    assert "no model.onnx" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert main(["tag", "--model", str(out), "--backend", "onnx", str(spans_file)]) == 2
    assert "pip install 'nlp_judgments[onnx]'" in capsys.readouterr().err
