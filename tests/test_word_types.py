"""data.word_types: characters split out of a tokenizer word keep their place in it as a token type."""

from __future__ import annotations

import json

import pytest
import torch

from nlp_judgments.config import ConfigError, load_config
from nlp_judgments.encoding import WHOLE, WORD_FIRST, WORD_INSIDE, WORD_LAST, Encoder, TokenIndex
from nlp_judgments.evaluate import evaluate_documents
from nlp_judgments.export import export_onnx
from nlp_judgments.artifacts import ModelFolderError
from nlp_judgments.spans import Document
from nlp_judgments.tagger import Tagger
from nlp_judgments.train import add_word_types, train

from .conftest import MARKED, doc_from_marked


def test_split_words_get_first_inside_last_types(piece_tokenizer):
    text = "被告人以人民币"
    toks = TokenIndex(piece_tokenizer, "cjk_chars", word_types=True).tokenize([text])[0]
    live = [(text[s:e], t) for (s, e), ig, t in zip(toks.offsets, toks.ignored, toks.types) if not ig]
    assert live == [("被", WORD_FIRST), ("告", WORD_INSIDE), ("人", WORD_LAST), ("以", WHOLE),
                    ("人", WORD_FIRST), ("民", WORD_INSIDE), ("币", WORD_LAST)]
    assert len(toks.types) == len(toks.ids)
    # Without word_types nothing changes: no types, the same pieces.
    plain = TokenIndex(piece_tokenizer, "cjk_chars").tokenize([text])[0]
    assert plain.types is None and plain.ids == toks.ids


def test_windows_carry_types_aligned_with_their_ids(piece_tokenizer):
    doc = doc_from_marked("x", "被告人[张某|DEFENDANT]以人民币[1200元|AMOUNT]的价格出售")
    index = TokenIndex(piece_tokenizer, "cjk_chars", word_types=True)
    windows = Encoder(index, ["DEFENDANT", "AMOUNT"], max_length=10, stride=2).encode([doc])
    assert len(windows) > 1
    whole = index.tokenize([doc.text])[0]
    for w in windows:
        assert len(w["token_type_ids"]) == len(w["input_ids"])
        assert w["token_type_ids"][0] == w["token_type_ids"][-1] == WHOLE  # CLS and SEP
    assert windows[0]["token_type_ids"][1:4] == [WORD_FIRST, WORD_INSIDE, WORD_LAST]
    assert sum(t != WHOLE for w in windows for t in w["token_type_ids"]) >= sum(t != WHOLE for t in whole.types)


def test_word_types_need_cjk_chars(piece_tokenizer, spans_file, tmp_path):
    with pytest.raises(ValueError, match="cjk_chars"):
        TokenIndex(piece_tokenizer, "none", word_types=True)
    with pytest.raises(ConfigError, match="data.pretokenize=cjk_chars"):
        load_config(None, {"output_dir": str(tmp_path), "data": {"train_file": str(spans_file), "word_types": True}})


def test_new_type_rows_start_as_copies_so_a_fresh_model_is_unchanged(piece_encoder):
    from transformers import AutoModelForTokenClassification

    encoder = AutoModelForTokenClassification.from_pretrained(str(piece_encoder), num_labels=3).eval()
    ids = torch.tensor([[0, 5, 6, 7, 2]])
    mask = torch.ones_like(ids)
    before = encoder(input_ids=ids, attention_mask=mask).logits
    add_word_types(encoder)
    assert encoder.config.type_vocab_size == 4
    types = torch.tensor([[WHOLE, WORD_FIRST, WORD_INSIDE, WORD_LAST, WHOLE]])
    after = encoder(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert torch.allclose(before, after, atol=1e-6)


def test_training_with_word_types_learns_saves_and_tags(piece_encoder, tmp_path):
    docs = [doc_from_marked(f"d{i}", m) for i, m in enumerate(MARKED[:2])]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    config = load_config(None, {
        "output_dir": str(tmp_path / "run"),
        "model": {"name_or_path": str(piece_encoder), "head": "span", "span_dim": 16, "max_span": 16},
        "data": {"train_file": str(data), "dev_file": str(data), "format": "spans", "max_length": 64, "stride": 16,
                 "pretokenize": "cjk_chars", "word_types": True},
        "train": {"epochs": 60, "batch_size": 2, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0, "eval_every": 30,
                  "progress": False, "log_every": 1000, "seed": 3},
    })
    result = train(config)
    assert result.best_f1 == 1.0, "could not overfit two sentences with word types"

    folder = tmp_path / "run" / "model-best"
    assert json.loads((folder / "nlp_judgments.json").read_text())["word_types"] is True
    assert json.loads((folder / "config.json").read_text())["type_vocab_size"] == 4
    tagger = Tagger.load(folder)
    assert evaluate_documents(tagger, docs)["micro"]["f1"] == 1.0
    # The types matter to the trained model: tagging with every type WHOLE gives other scores.
    ids = torch.tensor([[0] + tagger.index.tokenize([docs[0].text])[0].ids + [2]])
    types = torch.tensor([[WHOLE] + tagger.index.tokenize([docs[0].text])[0].types + [WHOLE]])
    with torch.no_grad():
        typed = tagger.model.emissions(ids, torch.ones_like(ids), types)
        untyped = tagger.model.emissions(ids, torch.ones_like(ids), torch.zeros_like(types))
    assert not torch.allclose(typed, untyped)

    with pytest.raises(ModelFolderError, match="word types"):
        export_onnx(folder, tmp_path / "onnx")
