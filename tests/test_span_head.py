"""The span head (global pointer): its scores, decoding, training targets, and a whole training run."""

from __future__ import annotations

import json

import pytest
import torch

from nlp_judgments.spans import Document, Span
from nlp_judgments.tagging.encoding import AlignmentReport, TokenIndex
from nlp_judgments.tagging.evaluate import evaluate_documents
from nlp_judgments.tagging.heads import SpanHead
from nlp_judgments.tagging.heads.base import NEG
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.tagging.windows import Encoder
from nlp_judgments.training.config import ConfigError, load_config
from nlp_judgments.training.loop import train

from .conftest import doc_from_marked


def crossing(a, b) -> bool:
    overlap = a[0] <= b[1] and b[0] <= a[1]
    nested = (a[0] <= b[0] and b[1] <= a[1]) or (b[0] <= a[0] and a[1] <= b[1])
    return overlap and (not nested or (a[0], a[1]) == (b[0], b[1]))


def dense_scores(head: SpanHead, feats: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """The score of every span ``[L, n, n]`` straight from the formula, ``-inf`` where not scored."""
    n = feats.shape[0]
    q, k, start, end = head.split(feats, torch.arange(n))
    s = (q @ k.T / head.dim**0.5).unsqueeze(0) + start.T.unsqueeze(2) + end.T.unsqueeze(1)
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    ok = (j >= i) & (j - i < head.max_span) & valid.unsqueeze(1) & valid.unsqueeze(0)
    return s.masked_fill(~ok, float("-inf"))


@pytest.mark.parametrize("seed, chunk", [(0, 512), (1, 512), (2, 3)])
def test_decoding_agrees_with_the_span_scores(seed, chunk):
    torch.manual_seed(seed)
    head = SpanHead([f"L{i}" for i in range(3)], span_dim=8, max_span=5)
    feats = torch.randn(14, 2 * 8 + 2 * 3)
    valid = torch.ones(14, dtype=torch.bool)
    valid[[0, 6]] = False  # e.g. a lone ▁ and a special token
    full = dense_scores(head, feats, valid)  # [L, n, n]
    band = head.band_scores(feats[None], valid[None])[0]
    for label, i, j in (full > float("-inf")).nonzero().tolist():
        assert torch.isclose(band[label, i, j - i], full[label, i, j], atol=1e-5)
    found = head.decode_features(feats, valid, chunk=chunk)
    whole = head.decode_features(feats, valid)
    assert [c[:3] for c in found] == [c[:3] for c in whole], "chunked decoding must not change the spans"
    assert all(abs(a[3] - b[3]) < 1e-5 for a, b in zip(found, whole))
    assert found, "random features should give some positive spans"
    for i, j, label, p in found:
        assert valid[i] and valid[j] and 0 <= j - i < 5
        assert full[label, i, j] > 0 and full[label, i, j] == full[:, i, j].max()
        assert abs(torch.sigmoid(full[label, i, j]).item() - p) < 1e-5
    assert not any(crossing(a, b) for n, a in enumerate(found) for b in found[n + 1 :])
    # Every positive span left out crosses (or duplicates) a kept one that scores at least as high.
    kept = {(i, j) for i, j, _, _ in found}
    for label, i, j in (full > 0).nonzero().tolist():
        if (i, j) not in kept:
            assert any(crossing((i, j), (a, b)) and full[:, a, b].max() >= full[label, i, j] for a, b, _, _ in found)
    head.nested = False
    flat = head.decode_features(feats, valid)
    assert all(a[1] < b[0] for a, b in zip(flat, flat[1:]))


def test_scores_depend_on_distance_not_on_window_position():
    torch.manual_seed(0)
    head = SpanHead([f"L{i}" for i in range(2)], span_dim=8, max_span=6)
    feats = torch.randn(1, 6, 2 * 8 + 2 * 2)
    valid = torch.ones(1, 6, dtype=torch.bool)
    shifted = torch.cat([torch.randn(1, 4, feats.shape[2]), feats], dim=1)  # the same tokens 4 positions later
    a = head.band_scores(feats, valid)
    b = head.band_scores(shifted, torch.ones(1, 10, dtype=torch.bool))[:, :, 4:]
    real = a > NEG / 2  # spans that end inside the first six tokens
    assert torch.allclose(a[real], b[real], atol=1e-4)


def test_loss_learns_nested_spans_and_ignores_unannotated_labels():
    torch.manual_seed(0)
    head = SpanHead([f"L{i}" for i in range(2)], span_dim=8, max_span=8)
    feats = torch.randn(1, 8, 2 * 8 + 2 * 2, requires_grad=True)
    valid = torch.ones(1, 8, dtype=torch.bool)
    targets = head.band_targets([[(1, 6, 0), (3, 4, 1)]], 8)  # a place, and a name inside it
    opt = torch.optim.Adam([feats], lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = head.span_loss(feats, valid, targets)
        loss.backward()
        opt.step()
    assert [(i, j, l) for i, j, l, _ in head.decode_features(feats[0].detach(), valid[0])] == [(1, 6, 0), (3, 4, 1)]
    # A label the window's source does not annotate gets no gradient at all.
    feats.grad = None
    head.span_loss(feats, valid, targets, label_mask=torch.tensor([[True, False]])).backward()
    d, L = 8, 2
    assert feats.grad[..., 2 * d + 1].abs().sum() == 0 and feats.grad[..., 2 * d + L + 1].abs().sum() == 0
    assert feats.grad[..., 2 * d].abs().sum() > 0


def test_a_gold_span_on_an_unscored_pair_is_no_target():
    head = SpanHead([f"L{i}" for i in range(1)], span_dim=4, max_span=2)
    feats = torch.zeros(1, 5, 2 * 4 + 2 * 1)
    valid = torch.tensor([[False, True, True, True, False]])
    targets = head.band_targets([[(1, 3, 0), (0, 1, 0)]], 5)  # longer than max_span; on an invalid token
    assert targets.sum() == 1  # the long one cannot even be written down
    # With no reachable target, only the negative term: log(1 + number of scored pairs * e^0).
    scored = 3 + 2  # spans of length 1 and 2 over the three valid tokens
    assert head.span_loss(feats, valid, targets).item() == pytest.approx(torch.log(torch.tensor(1.0 + scored)).item())


def test_windows_carry_nested_spans_and_leave_out_cut_ones(tiny_tokenizer):
    text = "被告人张某在杭州市张某家中窃得手机一部。"
    outer, inner, name = Span(6, 13, "LOCATION"), Span(9, 11, "PERSON"), Span(3, 5, "DEFENDANT")
    doc = Document("d", text, [name, outer, inner])
    enc = Encoder(TokenIndex(tiny_tokenizer), ["DEFENDANT", "LOCATION", "PERSON"], max_length=12, stride=4,
                  spans=True, max_span=6)
    feats = enc.encode([doc])
    whole = [sorted(tuple(s) for s in f["spans"]) for f in feats]
    # Window 0 holds characters 0..9: the name only (the place is cut by its right edge).
    assert whole[0] == [(4, 5, 0)]
    # Window 1 starts at character 6: the place and the name inside it, both whole.
    assert whole[1] == [(1, 7, 1), (4, 5, 2)]
    report = AlignmentReport()
    enc.encode([doc], report)
    assert report.overlapping_dropped == 0 and report.too_long == 1  # the place has 7 characters > max_span 6


def span_config(tiny_dir, data, out, **extra):
    values = {
        "output_dir": str(out),
        "model": {"name_or_path": str(tiny_dir), "head": "span", "span_dim": 16, "max_span": 16},
        "data": {"train_file": str(data), "dev_file": str(data), "format": "spans", "max_length": 64, "stride": 16},
        "train": {"epochs": 80, "batch_size": 5, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0, "eval_every": 40,
                  "progress": False, "log_every": 1000, "seed": 7},
    }
    for key, value in extra.items():
        section, name = key.split("__")
        values[section][name] = value
    return load_config(None, values)


NESTED = [
    "被告人[张某|DEFENDANT]在[杭州市[李某|PERSON]家中|LOCATION]窃得手机一部。",
    "[2021年3月|DATE]，[王某|DEFENDANT]在[[赵某|PERSON]经营的超市|LOCATION]窃得现金[300元|AMOUNT]。",
    "被告人[陈某|DEFENDANT]犯[盗窃罪|CHARGE]。",
    "[刘某|DEFENDANT]窃得被害人[孙某|PERSON]的电动车一辆。",
]


def nested_doc(i: int, marked: str) -> Document:
    """``[outer [inner|X] rest|Y]`` markup: the inner span is parsed first, then the outer one."""
    stack, text, spans = [], [], []
    k = 0
    while k < len(marked):
        ch = marked[k]
        if ch == "[":
            stack.append(len(text))
        elif ch == "|":
            end = marked.index("]", k)
            spans.append(Span(stack.pop(), len(text), marked[k + 1 : end]))
            k = end
        else:
            text.append(ch)
        k += 1
    return Document(f"n{i}", "".join(text), spans)


def test_nested_markup_helper():
    doc = nested_doc(0, NESTED[0])
    assert [(doc.text[s.start : s.end], s.label) for s in sorted(doc.spans)] == [
        ("张某", "DEFENDANT"), ("杭州市李某家中", "LOCATION"), ("李某", "PERSON")]
    assert doc_from_marked("x", "[张某|DEFENDANT]").spans == [Span(0, 2, "DEFENDANT")]


def test_training_with_the_span_head_learns_nested_spans_and_reloads(tiny_dir, tmp_path):
    docs = [nested_doc(i, m) for i, m in enumerate(NESTED)]
    data = tmp_path / "nested.jsonl"
    data.write_text("".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    result = train(span_config(tiny_dir, data, tmp_path / "run"))
    assert result.best_f1 == 1.0, "could not overfit four sentences, nested spans included, with the span head"

    folder = tmp_path / "run" / "model-best"
    assert not (folder / "crf.safetensors").exists()
    meta = json.loads((folder / "nlp_judgments.json").read_text())
    assert (meta["head"], meta["span_dim"], meta["max_span"]) == ("span", 16, 16)
    tagger = Tagger.load(folder)
    scores = evaluate_documents(tagger, docs)
    assert scores["micro"]["f1"] == 1.0  # nested gold spans count: a flat tagger could reach 10/12 at most
    entities = tagger.tag([docs[0].text])[0]
    assert [(e.text, e.label) for e in entities] == [("张某", "DEFENDANT"), ("杭州市李某家中", "LOCATION"), ("李某", "PERSON")]
    assert all(0.5 < e.score <= 1.0 for e in entities)

    from transformers import AutoModelForTokenClassification

    hf = AutoModelForTokenClassification.from_pretrained(str(folder))
    names = list(hf.config.id2label.values())
    assert len(names) == 2 * 16 + 2 * len(meta["labels"]) and names[0] == "span-q0" and names[-1].startswith("span-end-")


def test_span_head_config_errors(tiny_dir, spans_file, tmp_path):
    with pytest.raises(ConfigError, match="span_dim"):
        span_config(tiny_dir, spans_file, tmp_path, model__span_dim=7)
    with pytest.raises(ConfigError, match="max_span"):
        span_config(tiny_dir, spans_file, tmp_path, model__max_span=0)
