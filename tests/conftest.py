"""Shared fixtures: tiny models and original, real-looking judgment sentences written for the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp_judgments.spans import Document, Span


def doc_from_marked(doc_id: str, marked: str) -> Document:
    """Build a document from ``[text|LABEL]`` markup, so offsets in fixtures are never typed by hand.

    >>> doc_from_marked("x", "被告人[张某|DEFENDANT]犯罪").spans
    [Span(start=3, end=5, label='DEFENDANT')]
    """
    text, spans, i = [], [], 0
    pos = 0
    while i < len(marked):
        if marked[i] == "[":
            j = marked.index("]", i)
            surface, label = marked[i + 1 : j].rsplit("|", 1)
            spans.append(Span(pos, pos + len(surface), label))
            text.append(surface)
            pos += len(surface)
            i = j + 1
        else:
            text.append(marked[i])
            pos += 1
            i += 1
    return Document(doc_id, "".join(text), spans)


MARKED = [
    "[2020年11月至2021年3月|DATE]，被告人[陈某强|DEFENDANT]在[杭州市临平区|LOCATION]利用[美团|APP]、[京东|APP]注册账号。",
    "被告人[林某某|DEFENDANT]以人民币[6650元|AMOUNT]的价格出售手机号码及验证码，获利[43.4万余元|AMOUNT]。",
    "[２０１９年６月|DATE]，[吴3|DEFENDANT]窃得被害人[张某|PERSON]的[iPhone12|AMOUNT]手机一部，价值[１２００元|AMOUNT]。",
    "本院认为，被告人[王 某|DEFENDANT]犯[侵犯公民个人信息罪|CHARGE]，判处[有期徒刑三年三个月|PENALTY]。",
    "公诉机关[浙江省杭州市临平区人民检察院|ORG]。",
]


@pytest.fixture(scope="session")
def sample_docs() -> list[Document]:
    return [doc_from_marked(f"s{i}", m) for i, m in enumerate(MARKED)]


@pytest.fixture(scope="session")
def spans_file(tmp_path_factory, sample_docs) -> Path:
    path = tmp_path_factory.mktemp("data") / "sample.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for d in sample_docs:
            f.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    from nlp_judgments.tagging.encoders.tiny import build_tiny

    return build_tiny(cache_dir=tmp_path_factory.mktemp("encoders"), hidden=64, layers=2)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_dir))


@pytest.fixture(scope="session")
def piece_tokenizer():
    """A small sentencepiece-style (Unigram + Metaspace) tokenizer whose pieces span several
    characters, like multilingual-e5's: 人民币, 价值, 被告人 are single pieces."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    chars = set("".join(m for m in MARKED)) | set("0123456789元价值人民币被告以的 ")
    multi = ["▁被告人", "被告人", "人民币", "价值", "2020", "▁2020", "年", "个人信息", "侵犯", "有期徒刑", "▁", "iPhone", "▁iPhone"]
    vocab = [(s, 0.0) for s in specials] + [(p, -2.0) for p in multi] + [(c, -5.0) for c in sorted(chars) if c.strip()]
    vocab += [("▁" + c, -6.0) for c in sorted(chars) if c.strip()]
    seen, unique = set(), []
    for piece, score in vocab:
        if piece not in seen:
            seen.add(piece)
            unique.append((piece, score))
    tok = Tokenizer(models.Unigram(unique, unk_id=3))
    tok.normalizer = normalizers.NFKC()  # full-width digits become ASCII, as in XLM-R's tokenizer
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
                                   sep_token="</s>", pad_token="<pad>", unk_token="<unk>")
