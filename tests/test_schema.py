"""The schema is complete and the shipped demo corpus obeys it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import nlp_judgments.legal.schema
from nlp_judgments.legal.schema import LABELS, RULE_LABELS, label_info
from nlp_judgments.spans import Span, read_spans_jsonl

DEMO = Path(nlp_judgments.legal.schema.__file__).parents[1] / "resources" / "demo"
BUILDER = Path(__file__).resolve().parents[1] / "scripts" / "build_demo.py"


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_demo", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_labels_fixed_order():
    # Tag ids in saved models follow this order; changing it silently breaks old models.
    assert LABELS == (
        "DEFENDANT", "PERSON", "ORG", "COURT", "PROCURATORATE", "APP", "AMOUNT",
        "DATE", "LOCATION", "CHARGE", "PENALTY", "CASE_NO", "LAW",
    )
    assert set(RULE_LABELS) <= set(LABELS)


@pytest.mark.parametrize("label", LABELS)
def test_every_label_documented(label):
    info = label_info(label)
    assert info.chinese and info.definition and info.boundary
    assert len(info.examples) >= 1
    assert all(isinstance(e, str) and e for e in info.examples)


def test_unknown_label_names_known_ones():
    with pytest.raises(KeyError, match="DEFENDANT"):
        label_info("VICTIM")


def test_demo_corpus_matches_marked_source():
    built = _load_builder().read_marked(DEMO / "judgments.marked.txt")
    shipped = list(read_spans_jsonl(DEMO / "judgments.jsonl"))
    assert [d.to_dict() for d in built] == [d.to_dict() for d in shipped]


def test_demo_corpus_shape():
    docs = list(read_spans_jsonl(DEMO / "judgments.jsonl"))
    assert 8 <= len(docs) <= 12
    assert len({d.id for d in docs}) == len(docs)
    used = set()
    for d in docs:
        assert 500 <= len(d.text) <= 2500, d.id
        assert "判决如下" in d.text
        used |= {s.label for s in d.spans}
        # Flat tagging: spans never overlap, and no span starts or ends on whitespace.
        for a, b in zip(d.spans, d.spans[1:]):
            assert a.end <= b.start, (d.id, a, b)
        for s in d.spans:
            piece = d.text[s.start : s.end]
            assert piece == piece.strip(), (d.id, piece)
    assert used == set(LABELS)


def test_demo_has_the_founding_case():
    docs = {d.id: d for d in read_spans_jsonl(DEMO / "judgments.jsonl")}
    doc = docs["demo-001"]
    apps = {doc.text[s.start : s.end] for s in doc.spans if s.label == "APP"}
    charges = {doc.text[s.start : s.end] for s in doc.spans if s.label == "CHARGE"}
    assert {"美团", "京东", "微信"} <= apps
    assert charges == {"侵犯公民个人信息罪"}


def test_marked_parser_reference_case():
    builder = _load_builder()
    doc = builder.parse_marked(["[上海市长宁区人民法院|CT]", "被告人[安某|D]犯[盗窃罪|CH]。"], "t")
    assert doc.text == "上海市长宁区人民法院\n被告人安某犯盗窃罪。"
    assert doc.spans == [Span(0, 10, "COURT"), Span(14, 16, "DEFENDANT"), Span(17, 20, "CHARGE")]


def test_shipped_jsonl_is_canonical():
    for line in (DEMO / "judgments.jsonl").read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        assert set(obj) == {"id", "text", "entities"}
        assert all(set(e) == {"start", "end", "label"} for e in obj["entities"])
