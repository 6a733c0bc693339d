"""CRF head decoding: Viterbi batched across documents equals decoding each document alone."""

from __future__ import annotations

import numpy as np
import torch

from nlp_judgments.tagging.heads import CRFHead


def test_batched_viterbi_equals_one_document_at_a_time():
    head = CRFHead(["X", "Y"], "BIO")
    tags, crf = head.tags, head.crf
    assert tags == ["O", "B-X", "I-X", "B-Y", "I-Y"]
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    rng = np.random.default_rng(0)
    lives = [rng.normal(size=(n, len(tags))).astype(np.float32) for n in (0, 1, 7, 300, 2, 45, 45)]
    alone = [crf.decode(torch.from_numpy(x)[None], torch.ones(1, len(x), dtype=torch.bool))[0] if len(x) else []
             for x in lives]
    assert head.paths(lives, budget=400) == alone  # several groups, the long one alone
    assert head.paths(lives) == alone  # one group


def test_model_and_rules_tag_as_one(tiny_dir, spans_file, tmp_path):
    from nlp_judgments.legal.prelabel import prelabel_text
    from nlp_judgments.tagging.tagger import Tagger
    from nlp_judgments.training.loop import train

    from .test_train import tiny_config

    train(tiny_config(tiny_dir, spans_file, tmp_path / "run", epochs=2))
    folder = tmp_path / "run" / "model-best"
    text = "上海市长宁区人民法院认为，被告人李某犯诈骗罪，判处有期徒刑三年，并处罚金人民币五万元。"
    alone = Tagger.load(folder).tag([text])[0]
    both = Tagger.load(folder, rules=True).tag([text])[0]
    rules = prelabel_text(text)
    assert rules and {(e.start, e.end, e.label) for e in both if e.source == "rules"} == {(s.start, s.end, s.label) for s in rules}
    kept_model = [e for e in both if e.source == "model"]
    assert all(not (e.start < r.end and r.start < e.end) for e in kept_model for r in rules)  # rules win overlaps
    assert set(kept_model) <= set(alone)  # the model fills the rest, unchanged
    assert [e.start for e in both] == sorted(e.start for e in both)
    assert all(e.to_dict()["source"] in ("model", "rules") for e in both)


def test_rules_refuse_a_model_of_another_label_set(tiny_dir, tmp_path):
    import pytest

    from nlp_judgments.spans import Document, Span, write_spans_jsonl
    from nlp_judgments.tagging.tagger import Tagger
    from nlp_judgments.training.loop import train

    from .test_train import tiny_config

    data = tmp_path / "cail.jsonl"
    write_spans_jsonl([Document("a", "张某盗窃手机", [Span(0, 2, "NHCS")])], data)
    train(tiny_config(tiny_dir, data, tmp_path / "run", epochs=1))
    with pytest.raises(ValueError, match="judgment schema"):
        Tagger.load(tmp_path / "run" / "model-best", rules=True)
