"""App augmentation: swapped copies keep every span on its text, apps held out are never drawn."""

from __future__ import annotations

from nlp_judgments.data.augment import held_out_apps, replacement_names, swap_apps
from nlp_judgments.spans import Document, Span

from .conftest import doc_from_marked


def test_swapped_copies_keep_every_span_on_its_text():
    doc = doc_from_marked("d1", "[2021年3月|DATE]，被告人[陈某|DEFENDANT]在[美团|APP]、[京东|APP]注册账号，"
                                "又用[美团|APP]收款[300元|AMOUNT]，在[杭州市|LOCATION]被抓获。")
    copies = swap_apps([doc], 5, seed=1)
    assert len(copies) == 5 and all(c.id.startswith("d1#apps") for c in copies)
    before = [(doc.text[s.start:s.end], s.label) for s in doc.spans if s.label != "APP"]
    for c in copies:
        assert [(c.text[s.start:s.end], s.label) for s in c.spans if s.label != "APP"] == before
        apps = [c.text[s.start:s.end] for s in c.spans if s.label == "APP"]
        assert len(apps) == 3 and apps[0] == apps[2]  # one name per surface within a document
        assert all(a in replacement_names() for a in apps)
    assert len({tuple(c.text for c in copies)}) == 1 and len({c.text for c in copies}) > 1


def test_held_out_apps_are_never_drawn_and_documents_without_apps_are_skipped():
    held = held_out_apps()
    assert held and not set(held) & set(replacement_names())
    assert swap_apps([Document("x", "被告人张某盗窃。", [Span(3, 5, "DEFENDANT")])], 3) == []


def test_training_adds_app_copies_to_the_training_part_only(tmp_path):
    from nlp_judgments.spans import write_spans_jsonl
    from nlp_judgments.training.config import load_config
    from nlp_judgments.training.data import split_data

    docs = [doc_from_marked(f"d{i}", f"被告人[张某{i}|DEFENDANT]在[拼多多|APP]上出售手机号。") for i in range(4)]
    docs.append(doc_from_marked("plain", "被告人[李某|DEFENDANT]盗窃。"))
    path = tmp_path / "train.jsonl"
    write_spans_jsonl(docs, path)
    config = load_config(None, {"data": {"train_file": str(path), "format": "spans", "dev_last_n": 2, "augment_apps": 2}})
    train, dev, stats = split_data(config)
    assert [d.id for d in dev] == ["d3", "plain"]  # the dev block is cut first and never augmented
    assert len(train) == 3 + 3 * 2 and stats["train"]["app_swapped_copies"] == 6
