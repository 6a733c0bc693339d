"""Every shipped config loads and validates against the code; bad keys and values are errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlp_judgments.training.config import (
    Config,
    ConfigError,
    load_config,
    parse_overrides,
)

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))


def test_there_are_configs():
    assert {p.stem for p in CONFIGS} >= {"cail2021", "debug", "judgment", "judgment_full"}


def has_sources(path: Path) -> bool:
    return bool((yaml.safe_load(path.read_text(encoding="utf-8")).get("data") or {}).get("sources"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_loads_and_round_trips(path, tmp_path):
    # A multi-source config names its files itself (data.train_file would be an error beside them);
    # loading reads no data, so it loads where the files are absent.
    train_file = [] if has_sources(path) else ["--data.train_file=x.jsonl"]
    config = load_config(path, train_file + [f"--output_dir={tmp_path}"])
    assert config.output_dir == str(tmp_path)
    assert config.data.train_file == (None if has_sources(path) else "x.jsonl")
    # The resolved config written next to a model loads back to the same thing.
    config.save(tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == config


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_labels_and_maps_exist(path):
    from nlp_judgments.data.formats import LABEL_MAPS
    from nlp_judgments.legal.schema import LABELS

    config = load_config(path)
    if isinstance(config.data.label_map, str):
        assert config.data.label_map in LABEL_MAPS
    if config.data.labels is not None and path.stem != "cail2021":
        assert set(config.data.labels) <= set(LABELS)
    for source in config.data.sources or []:
        if isinstance(source.label_map, str):
            # A source must not claim to annotate a label its map can never produce: that would
            # teach the model the label is absent from all of that source's text.
            producible = set(LABEL_MAPS[source.label_map].values())
            producible |= {alt for alts in source.ambiguous.values() for alt in alts}
            assert set(source.annotated(config.data.labels)) <= producible, source.name


SOURCES = [{"file": "a.jsonl", "annotates": ["DEFENDANT"]}, {"file": "b.jsonl", "name": "b"}]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"labels": ["DEFENDANT"], "sources": SOURCES, "train_file": "x.jsonl"}, "train_file or data.sources, not both"),
        ({"sources": SOURCES}, "needs data.labels"),
        ({"labels": ["DEFENDANT"], "sources": []}, "data.sources is empty"),
        ({"labels": ["PERSON"], "sources": SOURCES}, r"data.sources\[0\].annotates: \['DEFENDANT'\] not in data.labels"),
        ({"labels": ["DEFENDANT"], "sources": SOURCES, "format": "spans"}, "data.format applies to data.train_file"),
        ({"labels": ["DEFENDANT"], "sources": SOURCES, "dev_last_n": 3}, "data.dev_last_n applies to data.train_file"),
        ({"labels": ["DEFENDANT"], "sources": [{"file": "x/a.jsonl"}, {"file": "y/a.jsonl"}]}, "two sources are named 'a'"),
        ({"labels": ["DEFENDANT"], "sources": [{"name": "a"}]}, r"data.sources\[0\].file is required"),
        ({"labels": ["DEFENDANT"], "sources": [{"file": "a", "weight": 0}]}, "weight must be positive"),
        ({"labels": ["DEFENDANT"], "sources": [{"file": "a", "dev_last_n": -1}]}, "dev_last_n and .*augment_apps must be >= 0"),
        ({"labels": ["DEFENDANT"], "sources": [{"file": "a", "augment_apps": -1}]}, "augment_apps must be >= 0"),
        ({"labels": ["DEFENDANT"], "sources": [{"file": "a", "annotates": ["DEFENDANT", "DEFENDANT"]}]}, "duplicates"),
        ({"labels": ["DEFENDANT", "PERSON"], "sources": [{"file": "a", "ambiguous": {"PERSON": ["DEFENDNT"]}}]},
         r"ambiguous: \['DEFENDNT'\] not in data.labels"),
        ({"labels": ["A", "B", "C"], "sources": [{"file": "a", "ambiguous": {"A": ["C"], "B": ["C"]}}]},
         "alternative of one ambiguous label only"),
        ({"labels": ["DEFENDANT"], "sources": [{"file": "a", "annotate": ["DEFENDANT"]}]},
         r"unknown config key.*data.sources\[0\].annotate"),
        ({"labels": ["DEFENDANT"], "sources": [{"file": "a", "weight": "heavy"}]}, r"data.sources\[0\].weight must be a number"),
        ({"labels": ["DEFENDANT"], "sources": ["a.jsonl"]}, r"data.sources\[0\] must be a mapping"),
    ],
)
def test_bad_sources_are_rejected_with_the_key_named(data, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, {"data": data})


def test_sources_resolve_names_and_round_trip(tmp_path):
    config = load_config(None, {"data": {"labels": ["DEFENDANT", "CHARGE"], "sources": SOURCES}})
    a, b = config.data.sources
    assert (a.name, b.name) == ("a", "b")  # the file's stem unless named
    assert a.annotated(config.data.labels) == ["DEFENDANT"] and b.annotated(config.data.labels) == ["DEFENDANT", "CHARGE"]
    assert (b.weight, b.dev_last_n, b.format, b.ambiguous) == (1.0, 0, "auto", {})
    config.save(tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == config


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


def test_a_bare_no_is_the_literal_no_in_overrides_and_yaml(tmp_path):
    assert load_config(None, ["--train.mixed_precision=no"]).train.mixed_precision == "no"
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  mixed_precision: no\n", encoding="utf-8")
    assert load_config(path).train.mixed_precision == "no"
    with pytest.raises(ConfigError, match="mixed_precision"):
        load_config(None, ["--train.mixed_precision=yes"])
