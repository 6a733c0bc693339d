"""Domain adaptation by masked-LM training: masking, blocks, and a whole run on a tiny encoder."""

from __future__ import annotations

import json
import random

import pytest

from nlp_judgments.tagging.encoding import TokenIndex
from nlp_judgments.tools.adapt import (
    IGNORE,
    REPORT_FILE,
    AdaptSettings,
    adapt_encoder,
    blocks_of,
    mask_spans,
)

from .conftest import MARKED, doc_from_marked


def test_masking_takes_runs_of_ordinary_tokens_and_keeps_the_80_10_10_split():
    rng = random.Random(0)
    special = {0, 2}
    ids = [0] + list(range(10, 210)) + [2]
    masked = replaced = kept = chosen = 0
    for _ in range(200):
        inputs, labels = mask_spans(ids, special, mask_id=1, vocab_size=300, prob=0.15, max_span=3, rng=rng)
        assert labels[0] == labels[-1] == IGNORE and inputs[0] == 0 and inputs[-1] == 2
        picked = [i for i, l in enumerate(labels) if l != IGNORE]
        assert len(picked) == 30  # 15 % of the 200 ordinary tokens, exactly
        assert all(labels[i] == ids[i] for i in picked)
        chosen += len(picked)
        masked += sum(inputs[i] == 1 for i in picked)
        kept += sum(inputs[i] == ids[i] for i in picked)
        replaced += sum(inputs[i] not in (1, ids[i]) for i in picked)
        assert all(inputs[i] == ids[i] for i in range(len(ids)) if labels[i] == IGNORE)
    assert abs(masked / chosen - 0.8) < 0.02 and abs(kept / chosen - 0.1) < 0.02 and abs(replaced / chosen - 0.1) < 0.02


def test_masked_positions_come_in_runs():
    rng = random.Random(1)
    ids = [0] + list(range(10, 1010)) + [2]
    runs = []
    for _ in range(20):
        _, labels = mask_spans(ids, {0, 2}, 1, 2000, 0.15, 3, rng)
        picked = [i for i, l in enumerate(labels) if l != IGNORE]
        run = 1
        for a, b in zip(picked, picked[1:]):
            if b == a + 1:
                run += 1
            else:
                runs.append(run)
                run = 1
        runs.append(run)
    assert max(runs) >= 3 and sum(runs) / len(runs) > 1.5  # not single tokens only


def test_blocks_cut_long_texts_and_carry_special_tokens(tiny_tokenizer):
    index = TokenIndex(tiny_tokenizer)
    text = "".join(MARKED) * 3
    blocks = blocks_of(index, [text, "短"], max_length=32)
    assert all(b[0] == index.cls_id and b[-1] == index.sep_id and len(b) <= 32 for b in blocks)
    assert sum(len(b) - 2 for b in blocks) == len(index.tokenize([text])[0])  # every token once; "短" too short


def test_adapting_a_tiny_encoder_lowers_the_heldout_loss_and_yields_an_encoder_folder(tiny_dir, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    # The same few sentences many times: the held-out blocks repeat the training text, so the masked
    # tokens there become predictable and the loss must fall.
    texts = [doc_from_marked("x", m).text for m in MARKED[:3]]
    corpus.write_text("".join(json.dumps({"id": f"t{i}", "text": texts[i % 3]}, ensure_ascii=False) + "\n"
                              for i in range(60)), encoding="utf-8")
    out = tmp_path / "adapted"
    settings = AdaptSettings(pretokenize="none", max_length=64, epochs=6, batch_size=8, lr=5e-3, heldout=0.1,
                             freeze_embeddings=False, threads=1)
    report = adapt_encoder(str(tiny_dir), out, [corpus], settings, progress=False)
    assert report["heldout_after"]["loss"] < report["heldout_before"]["loss"] - 1.0, report
    assert report["heldout_after"]["accuracy"] > report["heldout_before"]["accuracy"]
    assert json.loads((out / REPORT_FILE).read_text(encoding="utf-8")) == report
    assert not list(tmp_path.glob(".adapted.*.tmp"))

    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(str(out), num_labels=3)  # loads as an encoder
    assert model.config.num_labels == 3

    from nlp_judgments.training.config import load_config
    from nlp_judgments.training.loop import train

    data = tmp_path / "spans.jsonl"
    data.write_text("".join(json.dumps(doc_from_marked(f"s{i}", m).to_dict(), ensure_ascii=False) + "\n"
                            for i, m in enumerate(MARKED)), encoding="utf-8")
    config = load_config(None, {"output_dir": str(tmp_path / "run"), "model": {"name_or_path": str(out)},
                                "data": {"train_file": str(data), "format": "spans", "max_length": 64, "stride": 16},
                                "train": {"epochs": 1, "batch_size": 5, "progress": False}})
    assert train(config).steps == 1  # the adapted folder trains like any encoder


def test_a_corpus_too_small_is_a_clear_error(tiny_dir, tmp_path):
    from nlp_judgments.spans import DataError

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "短"}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="too few"):
        adapt_encoder(str(tiny_dir), tmp_path / "out", [corpus], AdaptSettings(max_length=32), progress=False)


def test_the_cli_adapts_and_a_too_small_corpus_is_one_line(tiny_dir, tmp_path, capsys):
    from nlp_judgments.cli import main

    corpus = tmp_path / "c.jsonl"
    text = doc_from_marked("x", MARKED[0]).text
    corpus.write_text("".join(json.dumps({"id": f"t{i}", "text": text}, ensure_ascii=False) + "\n" for i in range(20)),
                      encoding="utf-8")
    out = tmp_path / "adapted"
    assert main(["adapt-encoder", str(tiny_dir), "-o", str(out), "--corpus", str(corpus), "--pretokenize", "none",
                 "--max-length", "48", "--batch-size", "4", "--threads", "1", "--no-progress"]) == 0
    assert "held-out masked tokens" in capsys.readouterr().out and (out / REPORT_FILE).exists()
    (tmp_path / "tiny.jsonl").write_text(json.dumps({"id": "a", "text": "短"}) + "\n", encoding="utf-8")
    assert main(["adapt-encoder", str(tiny_dir), "-o", str(tmp_path / "o2"), "--corpus", str(tmp_path / "tiny.jsonl"),
                 "--no-progress"]) == 2
    assert "too few" in capsys.readouterr().err
