"""Every shipped config loads and validates against the code; bad keys and values are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp_judgments.config import Config, ConfigError, load_config, parse_overrides

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))


def test_there_are_configs():
    assert {p.stem for p in CONFIGS} >= {"cail2021", "debug", "judgment"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_loads_and_round_trips(path, tmp_path):
    config = load_config(path, ["--data.train_file=x.jsonl", f"--output_dir={tmp_path}"])
    assert config.data.train_file == "x.jsonl" and config.output_dir == str(tmp_path)
    # The resolved config written next to a model loads back to the same thing.
    config.save(tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == config


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_labels_and_maps_exist(path):
    from nlp_judgments.formats import LABEL_MAPS
    from nlp_judgments.schema import LABELS

    config = load_config(path)
    if isinstance(config.data.label_map, str):
        assert config.data.label_map in LABEL_MAPS
    if config.data.labels is not None and path.stem != "cail2021":
        assert set(config.data.labels) <= set(LABELS)


def test_overrides_are_typed():
    config = load_config(None, ["--train.lr=3e-5", "--train.epochs", "4", "--model.head=crf",
                                "--train.progress=false", "--data.labels=[A, B]", "--data.dev_file=2021"])
    assert config.train.lr == 3e-5 and config.train.epochs == 4 and config.model.head == "crf"
    assert config.train.progress is False and config.data.labels == ["A", "B"]
    assert config.data.dev_file == "2021"  # a path that looks like a number stays a path


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["--train.lrr=1"], "unknown config key.*train.lrr"),
        (["--nope.x=1"], "unknown config key.*nope"),
        (["--model.head=mlp"], "model.head must be one of"),
        (["--train.epochs=zero"], "train.epochs must be an integer"),
        (["--train.epochs=0"], "train.epochs must be >= 1"),
        (["--data.stride=200", "--data.max_length=128"], "data.stride"),
        (["--data.dev_last_n=10", "--data.dev_file=d.jsonl"], "not both"),
        (["--model.head=crf", "--train.label_smoothing=0.1"], "softmax head only"),
        (["train.lr=1"], "expected --section.key=value"),
    ],
)
def test_bad_configs_are_rejected_with_the_key_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_bad_yaml_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochs: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(bad)
    bad.write_text("train:\n  epoch: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml.*train.epoch"):
        load_config(bad)


def test_defaults_are_valid():
    assert Config().train.seed == 42
    assert parse_overrides(["--a.b=1", "--a.c=x"]) == {"a": {"b": 1, "c": "x"}}
