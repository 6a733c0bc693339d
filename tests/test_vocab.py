"""Vocabulary trimming on tiny random encoders: same tokens, same hidden states, same entities."""

from __future__ import annotations

import json

import pytest
import torch

from nlp_judgments.cli import main
from nlp_judgments.spans import DataError
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.tools.corpus_texts import read_corpus_texts
from nlp_judgments.tools.vocab import TrimError, trim_vocabulary
from nlp_judgments.tools.vocab_folder import trim_tokenizer_json
from nlp_judgments.training.config import load_config
from nlp_judgments.training.loop import train

from .conftest import MARKED, doc_from_marked

TEXTS = [doc_from_marked("x", m).text for m in MARKED]


@pytest.fixture(scope="module")
def piece_encoder(tmp_path_factory, piece_tokenizer):
    """An XLM-R-like encoder folder: Unigram pieces, ``<s> … </s>`` template, ``<mask>`` added after the
    model's vocabulary, a random 1-layer BERT with one embedding row per token and ``<pad>`` = 1."""
    from tokenizers import Tokenizer, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    backend = Tokenizer.from_str(piece_tokenizer.backend_tokenizer.to_str())
    backend.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                           special_tokens=[("<s>", 0), ("</s>", 2)])
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", cls_token="<s>",
                                  sep_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>")
    assert tok.mask_token_id == len(tok) - 1
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("encoders") / "pieces"
    BertModel(config).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


def tokens(tokenizer, text: str, **kwargs) -> list[str]:
    return tokenizer.convert_ids_to_tokens(tokenizer(text, **kwargs)["input_ids"])


@pytest.mark.parametrize("fallback", ["corpus", "all-cjk"])
@pytest.mark.parametrize("pretokenize", ["cjk_chars", "none"])
def test_trimmed_encoder_tokenizes_and_encodes_the_corpus_identically(piece_encoder, tmp_path, fallback, pretokenize):
    from transformers import AutoModel, AutoTokenizer

    out = tmp_path / "trimmed"
    report = trim_vocabulary(piece_encoder, out, TEXTS, pretokenize=pretokenize, fallback=fallback)
    assert report["verified"] and report["tokenization_check"] == {
        "documents": 5, "mismatches": 0, "special_tokens_identical": True, "examples": []}
    assert report["hidden_states_check"]["max_abs_diff"] == 0.0
    assert report["pieces"]["after"] < report["pieces"]["before"] == 265
    assert json.loads((out / "trim_report.json").read_text())["pieces"] == report["pieces"]

    # A plain transformers load: special tokens keep their ids, <s> … </s> is added, rows moved with their pieces.
    old_tok, new_tok = AutoTokenizer.from_pretrained(str(piece_encoder)), AutoTokenizer.from_pretrained(str(out))
    assert [new_tok.bos_token_id, new_tok.pad_token_id, new_tok.eos_token_id, new_tok.unk_token_id] == [0, 1, 2, 3]
    assert new_tok.mask_token_id == len(new_tok) - 1
    for text in TEXTS:
        assert tokens(new_tok, text) == tokens(old_tok, text) and tokens(new_tok, text)[0] == "<s>"
    old, new = AutoModel.from_pretrained(str(piece_encoder)), AutoModel.from_pretrained(str(out))
    assert new.config.vocab_size == len(new_tok) == new.get_input_embeddings().weight.shape[0] == report["pieces"]["after"]
    old_vocab = old_tok.get_vocab()
    for piece, i in new_tok.get_vocab().items():
        assert torch.equal(new.get_input_embeddings().weight[i], old.get_input_embeddings().weight[old_vocab[piece]])


def test_fallback_keeps_unseen_characters_as_single_pieces_not_unk(piece_encoder, tmp_path):
    from transformers import AutoTokenizer

    unseen = "判处有期徒刑三年"  # 有期徒刑 is one piece of the original, and none of these is in the corpus
    old_tok = AutoTokenizer.from_pretrained(str(piece_encoder))
    assert "有期徒刑" in tokens(old_tok, unseen, add_special_tokens=False)

    trim_vocabulary(piece_encoder, tmp_path / "all", TEXTS[:1], fallback="all-cjk")
    trim_vocabulary(piece_encoder, tmp_path / "corpus", TEXTS[:1], fallback="corpus")
    with_fallback = tokens(AutoTokenizer.from_pretrained(str(tmp_path / "all")), unseen, add_special_tokens=False)
    assert [t.lstrip("▁") for t in with_fallback] == list(unseen)
    corpus_only = tokens(AutoTokenizer.from_pretrained(str(tmp_path / "corpus")), unseen, add_special_tokens=False)
    assert "<unk>" in corpus_only


def test_trimmed_encoder_trains_and_a_trimmed_model_folder_tags_identically(piece_encoder, spans_file, tmp_path):
    encoder = tmp_path / "encoder"
    trim_vocabulary(piece_encoder, encoder, TEXTS, fallback="all-cjk")
    config = load_config(None, {
        "output_dir": str(tmp_path / "run"),
        "model": {"name_or_path": str(encoder), "head": "crf"},
        "data": {"train_file": str(spans_file), "dev_file": str(spans_file), "format": "spans", "max_length": 64,
                 "stride": 16, "pretokenize": "cjk_chars"},
        "train": {"epochs": 30, "batch_size": 5, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0, "eval_every": 0,
                  "progress": False, "log_every": 1000, "seed": 7},
    })
    train(config)
    model_dir = tmp_path / "run" / "model-last"

    with pytest.raises(TrimError, match="pretokenize='cjk_chars'"):
        trim_vocabulary(model_dir, tmp_path / "wrong", TEXTS, pretokenize="none")
    out = tmp_path / "trimmed-model"
    report = trim_vocabulary(model_dir, out, TEXTS, pretokenize=None, fallback="corpus")
    assert report["pretokenize"] == "cjk_chars" and report["entities_check"]["identical"]
    assert report["pieces"]["after"] < report["pieces"]["before"]
    for name in ("nlp_judgments.json", "crf.safetensors", "config.yaml", "metrics.json"):
        assert (out / name).read_bytes() == (model_dir / name).read_bytes()
    before, after = Tagger.load(model_dir, device="cpu").tag(TEXTS), Tagger.load(out, device="cpu").tag(TEXTS)
    assert after == before and sum(map(len, before)) > 0


def test_wordpiece_encoder_trims_too(tiny_dir, tmp_path):
    report = trim_vocabulary(tiny_dir, tmp_path / "tiny", TEXTS, pretokenize="none", fallback="corpus")
    assert report["tokenizer_model"] == "WordPiece" and report["verified"]
    assert report["pieces"]["after"] < 200 < 20_000 < report["pieces"]["before"]


def test_trim_tokenizer_json_renumbers_vocabulary_unk_added_tokens_and_template():
    data = {
        "added_tokens": [{"id": 0, "content": "<s>"}, {"id": 2, "content": "<unk>"}, {"id": 5, "content": "<mask>"}],
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁"},
        "post_processor": {"type": "TemplateProcessing", "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
        "model": {"type": "Unigram", "unk_id": 2,
                  "vocab": [["<s>", 0.0], ["盗窃", -3.0], ["<unk>", 0.0], ["罪", -4.0], ["▁罪", -5.0], ["<mask>", 0.0]]},
    }
    trimmed = trim_tokenizer_json(data, [0, 2, 3, 5])
    assert trimmed["model"]["vocab"] == [["<s>", 0.0], ["<unk>", 0.0], ["罪", -4.0], ["<mask>", 0.0]]
    assert trimmed["model"]["unk_id"] == 1
    assert [t["id"] for t in trimmed["added_tokens"]] == [0, 1, 3]
    assert data["model"]["unk_id"] == 2  # the input is not modified


def test_read_corpus_texts_takes_text_context_and_senttext(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "1", "context": "被告人张某"}\n\n{"id": "2", "text": "公诉机关"}\n', encoding="utf-8")
    (tmp_path / "b.json").write_text('[{"sentId": 1, "sentText": "价值人民币"}]', encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "c.txt").write_text("本院认为", encoding="utf-8")
    inputs = [tmp_path / "a.jsonl", tmp_path / "b.json", tmp_path / "docs"]
    assert list(read_corpus_texts(inputs)) == ["被告人张某", "公诉机关", "价值人民币", "本院认为"]
    (tmp_path / "bad.jsonl").write_text('{"id": "1", "body": "x"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="no record has a text"):
        list(read_corpus_texts([tmp_path / "bad.jsonl"]))


def test_cli_trims_and_refuses_a_folder_it_did_not_write(piece_encoder, spans_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["trim-vocab", str(piece_encoder), "-o", str(out), "--corpus", str(spans_file)]) == 0
    printed = capsys.readouterr().out
    assert "pieces: 265 ->" in printed and "5/5 documents identical, 0 mismatches" in printed
    assert main(["trim-vocab", str(piece_encoder), "-o", str(out), "--corpus", str(spans_file)]) == 0  # rerun replaces
    assert main(["trim-vocab", str(piece_encoder), "-o", str(piece_encoder.parent), "--corpus", str(spans_file)]) == 2
    assert "was not written by trim-vocab" in capsys.readouterr().err
