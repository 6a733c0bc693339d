"""Training curves: a hand-written train_log.jsonl in the shape train.py writes becomes a PNG; a
missing, empty or malformed log, or a missing matplotlib, is one clear error."""

from __future__ import annotations

import json
import struct
import sys

import pytest

from nlp_judgments.apps.curves import plot_curves, read_log
from nlp_judgments.cli import main
from nlp_judgments.spans import DataError

# Four evaluations over two epochs; step 20 is logged twice, as after a resume (the last line wins).
LOG = [
    {"step": 10, "epoch": 0, "loss": 2.31, "dev_f1": 0.12, "dev_precision": 0.2, "dev_recall": 0.09, "seconds": 4.0},
    {"step": 20, "epoch": 0, "loss": 1.50, "dev_f1": 0.30, "dev_precision": 0.35, "dev_recall": 0.26, "seconds": 8.1},
    {"step": 20, "epoch": 0, "loss": 1.42, "dev_f1": 0.41, "dev_precision": 0.44, "dev_recall": 0.38, "seconds": 8.0},
    {"step": 30, "epoch": 1, "loss": 0.81, "dev_f1": 0.66, "dev_precision": 0.70, "dev_recall": 0.62, "seconds": 12.2,
     "dev_per_label": {"COURT": 0.9, "DEFENDANT": {"f1": 0.7}}},
    {"step": 40, "epoch": 1, "loss": 0.55, "dev_f1": 0.63, "dev_precision": 0.61, "dev_recall": 0.65, "seconds": 16.0,
     "dev_per_label": {"COURT": 0.95, "DEFENDANT": {"f1": 0.72}}},
]


def write_log(run_dir, entries=LOG):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train_log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    return run_dir


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_read_log_sorts_steps_and_keeps_the_last_line_of_a_step(tmp_path):
    entries = read_log(write_log(tmp_path, [LOG[3], *LOG[:3], LOG[4]]) / "train_log.jsonl")
    assert [e["step"] for e in entries] == [10, 20, 30, 40]
    assert entries[1]["dev_f1"] == 0.41


def test_curves_png_is_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    run = write_log(tmp_path / "run")
    out = plot_curves(run)
    assert out == run / "curves.png"
    width, height = png_size(out)
    assert width > 600 and height > 400 and out.stat().st_size > 10_000

    assert main(["curves", str(run / "train_log.jsonl"), "-o", str(tmp_path / "a" / "c.png")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "a" / "c.png")
    png_size(tmp_path / "a" / "c.png")


def test_a_log_without_dev_scores_still_plots(tmp_path):
    pytest.importorskip("matplotlib")
    run = write_log(tmp_path, [{"step": 5, "loss": 3.0}, {"step": 10, "loss": 2.0}])
    png_size(plot_curves(run))


@pytest.mark.parametrize("content, error, message", [
    (None, FileNotFoundError, "no training log"),
    ("", DataError, "empty training log"),
    ("\n\n", DataError, "empty training log"),
    ('{"step": 1, "loss": 1.0}\n{"step": 2, "lo', DataError, "train_log.jsonl:2: malformed JSON"),
    ('{"loss": 1.0}\n', DataError, "train_log.jsonl:1: a log line must be an object with an integer 'step'"),
])
def test_bad_logs_are_one_clear_error(tmp_path, capsys, content, error, message):
    if content is not None:
        (tmp_path / "train_log.jsonl").write_text(content, encoding="utf-8")
    with pytest.raises(error, match=message):
        plot_curves(tmp_path)
    assert main(["curves", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch, capsys):
    run = write_log(tmp_path)
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import of a None entry raises ImportError
    with pytest.raises(ImportError, match=r"nlp-judgments\[plot\]"):
        plot_curves(run)
    assert main(["curves", str(run)]) == 2
    assert "pip install 'nlp-judgments[plot]'" in capsys.readouterr().err
    assert not (run / "curves.png").exists()
