"""Model cards: every figure a saved folder's README.md states comes from the folder's own files."""

from __future__ import annotations

import json
import re

import yaml

from nlp_judgments.tagging.card import card_text
from nlp_judgments.training.loop import train

from .test_train import tiny_config


def test_a_trained_folder_has_a_card_that_renders_its_own_figures(tiny_dir, spans_file, tmp_path):
    train(tiny_config(tiny_dir, spans_file, tmp_path / "run", epochs=3))
    folder = tmp_path / "run" / "model-best"
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert card == card_text(folder)
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["pipeline_tag"] == "token-classification" and front["language"] == ["zh"]
    assert "base_model" not in front  # a local test encoder names no hub checkpoint
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    micro = metrics["dev"]["micro"]
    assert front["model-index"][0]["results"][0]["metrics"][0]["value"] == micro["f1"]
    assert f"**{micro['f1']:.4f}**" in card
    labels = json.loads((folder / "nlp_judgments.json").read_text(encoding="utf-8"))["labels"]
    for label in labels:
        row = next(line for line in card.splitlines() if line.startswith(f"| {label} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        scores = metrics["dev"]["per_type"][label]
        assert cells[2:5] == [f"{scores[k]:.4f}" for k in ("precision", "recall", "f1")], row
        assert cells[5] == str(scores["support"])
    assert f"Updates: {metrics['step']}," in card
    assert re.search(r"Tagger\.load\(\"model-best\"\)", card)
