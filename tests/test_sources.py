"""Training on several sources that each annotate only some labels (partial annotation).

The loss reduces to the usual one when everything is annotated, matches a brute-force marginal over
tag paths when not, does not teach a source's unannotated labels as O, and dev blocks are scored on
their source's labels only.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from nlp_judgments.spans import Document, Span
from nlp_judgments.tagging.encoding import IGNORE, allowed_tag_matrix, tag_names
from nlp_judgments.tagging.evaluate import DevSet, evaluate_documents, evaluate_sources
from nlp_judgments.tagging.heads import CRF, HEADS, SoftmaxHead
from nlp_judgments.tagging.model import TaggingModel
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.training.config import load_config
from nlp_judgments.training.data import SourceTables, collate
from nlp_judgments.training.loop import train

from .conftest import doc_from_marked

# Each judgment sentence names a defendant and a charge; source A marks only the defendants, source B
# only the charges, over the same sentences.
BOTH = [
    "本院认为，被告人[王某|DEFENDANT]犯[侵犯公民个人信息罪|CHARGE]，判处有期徒刑三年三个月。",
    "被告人[林某某|DEFENDANT]以非法占有为目的，秘密窃取他人财物，其行为已构成[盗窃罪|CHARGE]。",
    "公诉机关指控被告人[陈某强|DEFENDANT]犯[诈骗罪|CHARGE]，于2021年5月向本院提起公诉。",
    "被告人[吴3|DEFENDANT]因涉嫌[帮助信息网络犯罪活动罪|CHARGE]于2021年3月被刑事拘留。",
]
LABELS = ["DEFENDANT", "PERSON", "CHARGE", "APP"]


def union_docs() -> list[Document]:
    return [doc_from_marked(f"d{i}", m) for i, m in enumerate(BOTH)]


def write_source(path, label: str, docs: list[Document]) -> str:
    with path.open("w", encoding="utf-8") as f:
        for d in docs:
            kept = Document(d.id, d.text, [s for s in d.spans if s.label == label])
            f.write(json.dumps(kept.to_dict(), ensure_ascii=False) + "\n")
    return str(path)


def sources_config(tiny_dir, tmp_path, out, masked=True, dev_last_n=0, **train_overrides):
    docs = union_docs()
    a = write_source(tmp_path / "defendants.jsonl", "DEFENDANT", docs)
    b = write_source(tmp_path / "charges.jsonl", "CHARGE", docs)
    # Masked: A annotates every label but CHARGE, B every label but DEFENDANT (a label that no source
    # annotates completely would have nothing to teach where it is absent).
    sources = [
        {"file": a, "format": "spans", "dev_last_n": dev_last_n} | ({"annotates": ["DEFENDANT", "PERSON", "APP"]} if masked else {}),
        {"file": b, "format": "spans", "dev_last_n": dev_last_n} | ({"annotates": ["CHARGE", "PERSON", "APP"]} if masked else {}),
    ]
    values = {
        "output_dir": str(out),
        "model": {"name_or_path": str(tiny_dir)},
        "data": {"labels": LABELS, "sources": sources, "max_length": 64, "stride": 16},
        # batch_size 8: both sources in every batch; at lr 1e-2 smaller batches of this toy set oscillate
        "train": {"epochs": 40, "batch_size": 8, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0,
                  "progress": False, "log_every": 1000, "seed": 7} | train_overrides,
    }
    return load_config(None, values)


# --------------------------------------------------------------------------------------------
# The allowed tag sets
# --------------------------------------------------------------------------------------------


def test_allowed_tag_matrix_bioes_with_ambiguous_spans():
    labels = ["DEFENDANT", "PERSON", "APP"]
    tags = tag_names(labels, "BIOES")
    m = allowed_tag_matrix(labels, "BIOES", ["DEFENDANT", "PERSON"], {"PERSON": ["PERSON", "DEFENDANT"]})
    allowed = lambda t: [tags[j] for j in np.nonzero(m[tags.index(t)])[0]]  # noqa: E731
    assert allowed("O") == ["O", "B-APP", "I-APP", "E-APP", "S-APP"]
    assert allowed("S-PERSON") == ["S-DEFENDANT", "S-PERSON"]
    assert allowed("E-PERSON") == ["E-DEFENDANT", "E-PERSON"]
    assert allowed("B-DEFENDANT") == ["B-DEFENDANT"]  # the source's own defendants stay defendants
    assert allowed("B-APP") == ["B-APP"]  # a span of an incompletely annotated label is still gold
    # Everything annotated, nothing ambiguous: one tag per token, the usual supervision.
    assert (allowed_tag_matrix(labels, "BIOES") == np.eye(len(tags), dtype=bool)).all()


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def tiny_model(tiny_dir, head: str, labels=LABELS, scheme="BIO") -> TaggingModel:
    from transformers import AutoModelForTokenClassification

    torch.manual_seed(0)
    tags = tag_names(labels, scheme)
    encoder = AutoModelForTokenClassification.from_pretrained(str(tiny_dir), num_labels=len(tags))
    model = TaggingModel(encoder, HEADS[head](labels, scheme))
    if head == "crf":  # non-zero transitions, so the chain really matters
        with torch.no_grad():
            for p in model.head.crf.parameters():
                p.normal_()
    return model


def random_batch(num_tags: int, seed: int = 1):
    """Three windows of different lengths with IGNORE at CLS/SEP, padding and one inner token, and
    legal BIO sequences (tag 0 is O, then B-/I- pairs): a CRF gold path never breaks a transition."""
    g = torch.Generator().manual_seed(seed)
    lengths = [12, 9, 5]
    ids = torch.randint(5, 5000, (3, 12), generator=g)
    mask = torch.zeros(3, 12, dtype=torch.long)
    labels = torch.full((3, 12), IGNORE)
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
        prev = 0
        for i in range(1, n - 1):
            if row == 0 and i == 4:
                continue  # an ignored token inside the window
            tag = int(torch.randint(0, num_tags, (1,), generator=g))
            if tag and tag % 2 == 0 and prev not in (tag - 1, tag):  # I-X must continue an X entity
                tag -= 1
            labels[row, i] = prev = tag
    return ids, mask, labels


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_full_annotation_gives_the_usual_loss(tiny_dir, head):
    model = tiny_model(tiny_dir, head)
    T = len(model.tags)
    ids, mask, labels = random_batch(T)
    usual = model(ids, mask, labels)
    # The training path: every label annotated, allowed sets looked up by collate's rule.
    matrix = torch.from_numpy(allowed_tag_matrix(LABELS, "BIO"))
    allowed = matrix[labels.clamp(min=0)]
    partial = model(ids, mask, labels, allowed=allowed, weights=torch.ones(3))
    assert torch.allclose(partial, usual, rtol=1e-6, atol=1e-6), (partial.item(), usual.item())

    grads = []
    for kwargs in ({}, {"allowed": allowed}):
        model.zero_grad()
        model(ids, mask, labels, **kwargs).backward()
        grads.append(model.encoder.classifier.weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_softmax_partial_loss_is_minus_log_of_the_allowed_probability(tiny_dir):
    model = tiny_model(tiny_dir, "softmax")
    T = len(model.tags)
    ids, mask, labels = random_batch(T)
    allowed = torch.rand(3, 12, T, generator=torch.Generator().manual_seed(2)) < 0.4
    allowed.scatter_(-1, labels.clamp(min=0).unsqueeze(-1), True)
    probs = model.emissions(ids, mask).softmax(-1)
    keep = labels != IGNORE
    expected = -(probs * allowed).sum(-1).log()[keep].mean()
    assert torch.allclose(model(ids, mask, labels, allowed=allowed), expected, atol=1e-5)
    # A loss weight scales the window's term: all windows at 2 doubles the loss.
    doubled = model(ids, mask, labels, allowed=allowed, weights=torch.full((3,), 2.0))
    assert torch.allclose(doubled, 2 * expected, atol=1e-5)


def test_crf_partial_loss_is_the_marginal_over_allowed_paths():
    """Against brute force: every tag path of a short chain, scored by hand."""
    tags = tag_names(["X", "Y"], "BIO")  # O B-X I-X B-Y I-Y
    T, L = len(tags), 4
    crf = CRF(tags, "BIO")
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    emissions = torch.randn(2, L, T, generator=g)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    allowed = torch.rand(2, L, T, generator=g) < 0.5
    allowed[..., 0] = True  # every token may be O, so some legal path is allowed
    trans, start, end = crf._scores()

    def path_score(b, path):
        s = start[path[0]] + emissions[b, 0, path[0]]
        for t in range(1, len(path)):
            s = s + trans[path[t - 1], path[t]] + emissions[b, t, path[t]]
        return s + end[path[-1]]

    expected = []
    for b in range(2):
        n = int(mask[b].sum())
        paths = list(itertools.product(range(T), repeat=n))
        every = torch.stack([path_score(b, p) for p in paths])
        ok = torch.tensor([all(allowed[b, t, p[t]] for t in range(n)) for p in paths])
        expected.append(every.logsumexp(0) - every[ok].logsumexp(0))
    dummy_tags = torch.zeros(2, L, dtype=torch.long)
    got = crf.nll(emissions, dummy_tags, mask, allowed)
    assert torch.allclose(got, torch.stack(expected).mean(), atol=1e-4)


def test_collate_looks_up_allowed_sets_and_weights_by_source():
    labels = ["X", "Y"]
    matrices = torch.from_numpy(np.stack([allowed_tag_matrix(labels, "BIO"), allowed_tag_matrix(labels, "BIO", ["X"])]))
    features = [{"input_ids": [2, 7, 3], "labels": [IGNORE, 0, IGNORE], "source": 0},
                {"input_ids": [2, 7, 8, 3], "labels": [IGNORE, 0, 1, IGNORE], "source": 1}]
    tables = SourceTables(matrices, torch.tensor([[True, True], [True, False]]), torch.tensor([1.0, 0.5]))
    batch = collate(features, 0, SoftmaxHead(labels, "BIO"), tables)
    assert batch["allowed"].shape == (2, 4, 5)
    assert batch["allowed"][0, 1].tolist() == [True, False, False, False, False]  # O, everything annotated
    assert batch["allowed"][1, 1].tolist() == [True, False, False, True, True]  # O, Y not annotated
    assert batch["allowed"][1, 2].tolist() == [False, True, False, False, False]  # B-X stays B-X
    assert batch["weights"].tolist() == [1.0, 0.5]
    assert batch["label_mask"].tolist() == [[True, True], [True, False]]
    single = collate(features, 0, SoftmaxHead(labels, "BIO"))
    assert set(single) == {"input_ids", "attention_mask", "labels"}  # single-file batches unchanged


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("head", ["softmax", "crf", "span"])
def test_unannotated_labels_are_not_taught_as_O(tiny_dir, tmp_path, head):
    """A marks only defendants, B only charges, on the same sentences. Masked, the model learns both;
    unmasked, each entity is gold in one source and O in the other, so the best the model can do is a
    probability of one half for it (and whichever side a near-tie falls on)."""
    docs = union_docs()
    f1, scores = {}, {}
    for masked in (True, False):
        out = tmp_path / ("masked" if masked else "unmasked")
        config = sources_config(tiny_dir, tmp_path, out, masked=masked, eval_every=1000)  # one checkpoint, at the end
        config.model.head = head
        train(config)
        tagger = Tagger.load(out / "model-last")
        f1[masked] = evaluate_documents(tagger, docs)["micro"]["f1"]
        scores[masked] = [e.score for ents in tagger.tag([d.text for d in docs]) for e in ents]
    assert f1[True] == 1.0
    assert min(scores[True]) > 0.7
    # The span head's multi-label loss (log(1 + sum e^-s) over a window's gold spans, log(1 + sum e^s)
    # over the others) balances a span that is gold in one copy and negative in the other a little
    # above one half; the per-token losses balance it at one half.
    ceiling = 0.75 if head == "span" else 0.6
    assert f1[False] < 0.8 and all(s < ceiling for s in scores[False]), (f1, scores)


def test_dev_blocks_are_scored_on_their_source_labels(tiny_dir, tmp_path):
    out = tmp_path / "run"
    config = sources_config(tiny_dir, tmp_path, out, dev_last_n=1, epochs=2, batch_size=2)
    result = train(config)
    dev = json.loads((out / "model-best" / "metrics.json").read_text())["dev"]  # the full scores of the best evaluation
    assert set(dev["sources"]) == {"defendants", "charges"}
    assert dev["sources"]["defendants"]["labels"] == ["DEFENDANT", "PERSON", "APP"]
    for name, label in (("defendants", "DEFENDANT"), ("charges", "CHARGE")):
        assert set(dev["sources"][name]["per_type"]) <= {label, "PERSON", "APP"}
        assert dev["sources"][name]["micro"]["support"] == 1  # the one gold span of its label in the last sentence
    assert dev["micro"]["support"] == 2  # pooled
    log = [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [3, 6]  # 3 training sentences a source: 6 windows, batch 2; dev once an epoch
    assert set(log[-1]["dev_f1_by_source"]) == {"defendants", "charges"}
    assert result.best_f1 == max(e["dev_f1"] for e in log)
    assert json.loads((out / "metrics.json").read_text())["dev"]["dev_f1_by_source"] == log[-1]["dev_f1_by_source"]
    report = json.loads((out / "encoding_report.json").read_text())
    assert report["sources"]["charges"]["annotates"] == ["PERSON", "CHARGE", "APP"] and report["train"]["documents"] == 6


def test_evaluate_sources_scores_only_annotated_labels_and_collapses_ambiguous_ones():
    text_a = "被告人王某使用微信联系被害人张某。"
    text_b = "被告人李某贩卖毒品。"
    a = DevSet("a", [Document("a1", text_a, [Span(3, 5, "DEFENDANT")])], ["DEFENDANT"])
    b = DevSet("b", [Document("b1", text_b, [Span(3, 5, "PERSON")])], ["PERSON"], {"DEFENDANT": "PERSON"})

    class FakeTagger:
        def predict_spans(self, texts):
            assert texts == [text_a, text_b]  # one tagging pass over every block
            return [[Span(3, 5, "DEFENDANT"), Span(7, 9, "APP"), Span(14, 16, "PERSON")],  # APP, PERSON: not A's labels
                    [Span(3, 5, "DEFENDANT")]]  # B cannot tell defendants from persons

    scores = evaluate_sources(FakeTagger(), [a, b])
    assert scores["sources"]["a"]["micro"]["f1"] == 1.0 and scores["sources"]["a"]["micro"]["predicted"] == 1
    assert scores["sources"]["b"]["micro"]["f1"] == 1.0
    assert scores["micro"]["correct"] == 2 and scores["micro"]["f1"] == 1.0 and scores["documents"] == 2


def test_resume_with_sources_reproduces_an_uninterrupted_run(tiny_dir, tmp_path):
    common = dict(epochs=3, batch_size=2, checkpoint_every=2, eval_every=3)
    train(sources_config(tiny_dir, tmp_path, tmp_path / "straight", dev_last_n=1, **common))

    class Crash(Exception):
        pass

    def crash_at_5(step):
        if step == 5:  # after the checkpoint at update 4, before the one at 6
            raise Crash

    interrupted = sources_config(tiny_dir, tmp_path, tmp_path / "resumed", dev_last_n=1, **common)
    with pytest.raises(Crash):
        train(interrupted, on_update=crash_at_5)
    result = train(interrupted)
    assert result.steps == 9  # 6 windows, batch 2 -> 3 updates an epoch
    a = load_file(str(tmp_path / "straight" / "model-last" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model-last" / "model.safetensors"))
    for key in a:
        assert torch.equal(a[key], b[key]), key
