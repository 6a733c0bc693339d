"""Domain adaptation: continued masked-language-model pretraining of an encoder on judgment text.

multilingual-e5-small learned from sentencepiece pieces of web text in about a hundred languages.
Tagging Chinese judgments with ``pretokenize: cjk_chars`` shows it each character as a piece of its
own, an input it rarely saw, in a genre it rarely saw. :func:`adapt_encoder` continues its masked-LM
training on unlabelled judgment text under the same pre-tokenization, and writes a plain Hugging Face
encoder folder that ``model.name_or_path`` takes like any other.

- Text: each corpus document is tokenized (``encoding.TokenIndex``) and cut into blocks of
  ``max_length - 2`` tokens plus CLS/SEP; the last ``heldout`` fraction of blocks (in corpus order) is
  kept out of training and measures masked-token loss and accuracy before and after.
- Masking (:func:`mask_spans`): ``mask_prob`` of each block's tokens, in runs of 1 to ``max_span``
  consecutive tokens (with characters as tokens, a run is a word or part of one, as in whole-word
  masking for Chinese); of the chosen tokens 80 % become the mask token, 10 % a random piece, 10 %
  stay. A new mask every epoch; the held-out masks are fixed.
- The prediction head runs on masked positions only, so a 250k-piece vocabulary costs nothing at
  the unmasked ones. A checkpoint without an MLM head (e5 is an embedding model) gets a new one whose
  decoder is tied to the word embeddings.
- ``freeze_embeddings`` (default) leaves the word embeddings, and so the tied decoder, as they were:
  the layers adapt to the input the tagger will give them, and an AdamW state over 96M rows is saved.

Not here: the corpus reader (``corpus_texts.read_corpus_texts``), fine-tuning (``train.py``).
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)

from nlp_judgments.spans import DataError
from nlp_judgments.tagging.encoders.builtin import resolve_encoder
from nlp_judgments.tagging.encoders.install import install_folder
from nlp_judgments.tagging.encoding import TokenIndex
from nlp_judgments.tagging.hardware import warn_if_emulated_bf16
from nlp_judgments.tools.corpus_texts import read_corpus_texts
from nlp_judgments.training.data import length_bucketed_batches

log = logging.getLogger(__name__)

REPORT_FILE = "adapt_report.json"
IGNORE = -100


@dataclass
class AdaptSettings:
    pretokenize: str = "cjk_chars"
    max_length: int = 256  # tokens per block, CLS/SEP included
    epochs: int = 1
    batch_size: int = 16
    lr: float = 5e-5
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    mask_prob: float = 0.15
    max_span: int = 3  # longest run of consecutive masked tokens
    heldout: float = 0.05  # fraction of blocks for the before/after measurement
    freeze_embeddings: bool = True
    bf16: bool = False  # bfloat16 autocast (fast on CPUs with AVX512-BF16 or AMX, and on GPUs)
    seed: int = 42
    threads: int = 0


def blocks_of(index, texts: Sequence[str], max_length: int, batch: int = 256) -> list[list[int]]:
    """Each text's token ids cut into consecutive blocks of ``max_length - 2`` tokens, with CLS/SEP.

    Blocks of fewer than 4 real tokens carry little to predict and are dropped.
    """
    content = max_length - 2
    blocks = []
    for i in range(0, len(texts), batch):
        for toks in index.tokenize(list(texts[i : i + batch])):
            for s in range(0, len(toks), content):
                ids = toks.ids[s : s + content]
                if len(ids) >= 4:
                    blocks.append(index.window_ids(ids))
    return blocks


def mask_spans(
    ids: Sequence[int], special: set[int], mask_id: int, vocab_size: int, prob: float, max_span: int,
    rng: random.Random,
) -> tuple[list[int], list[int]]:
    """``(inputs, labels)`` for one block: about ``prob`` of the non-special tokens chosen in runs of 1
    to ``max_span``; labels hold the original id at chosen positions and IGNORE elsewhere.

    >>> inputs, labels = mask_spans([0, 5, 6, 7, 8, 2], {0, 2}, 1, 10, 0.5, 2, random.Random(0))
    >>> sum(l != IGNORE for l in labels), labels[0], labels[-1]
    (2, -100, -100)
    """
    candidates = [i for i, t in enumerate(ids) if t not in special]
    target = max(1, round(prob * len(candidates))) if candidates else 0
    chosen: set[int] = set()
    allowed = set(candidates)
    while len(chosen) < target:
        start = rng.choice(candidates)
        for i in range(start, start + rng.randint(1, max_span)):
            if i in allowed and len(chosen) < target:
                chosen.add(i)
    inputs, labels = list(ids), [IGNORE] * len(ids)
    for i in chosen:
        labels[i] = ids[i]
        roll = rng.random()
        if roll < 0.8:
            inputs[i] = mask_id
        elif roll < 0.9:
            inputs[i] = rng.randrange(vocab_size)
    return inputs, labels


def _collate(pairs: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
    labels = torch.full((len(pairs), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for row, (x, y) in enumerate(pairs):
        ids[row, : len(x)], labels[row, : len(y)], mask[row, : len(x)] = torch.tensor(x), torch.tensor(y), 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def masked_lm_loss(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int, int]:
    """Mean cross-entropy over the masked positions, their count, and how many were predicted right.

    The prediction head (``model.cls``) sees the masked positions only."""
    hidden = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    where = batch["labels"] != IGNORE
    logits = model.cls(hidden[where]).float()
    gold = batch["labels"][where]
    loss = torch.nn.functional.cross_entropy(logits, gold)
    return loss, int(gold.numel()), int((logits.argmax(-1) == gold).sum())


@torch.no_grad()
def _measure(model, batches: list[dict], autocast) -> dict:
    model.eval()
    total, count, right = 0.0, 0, 0
    for batch in batches:
        with autocast():
            loss, n, ok = masked_lm_loss(model, batch)
        total, count, right = total + float(loss) * n, count + n, right + ok
    model.train()
    return {"masked_tokens": count, "loss": round(total / max(count, 1), 4), "accuracy": round(right / max(count, 1), 4)}


def adapt_encoder(src: str, output: str | Path, corpus: Sequence[str | Path], settings: AdaptSettings | None = None,
                  progress: bool = True) -> dict:
    """Continue masked-LM pretraining of ``src`` (a folder, hub name or ``builtin:``) on ``corpus`` and
    write the encoder to ``output``; returns the report (also written to ``output/adapt_report.json``)."""


    s = settings or AdaptSettings()
    if s.threads:
        torch.set_num_threads(s.threads)
    random.seed(s.seed)
    torch.manual_seed(s.seed)
    output = Path(output)
    source = resolve_encoder(src)
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.mask_token_id is None:
        raise ValueError(f"{src}: the tokenizer has no mask token, so it cannot be trained as a masked LM")
    model = AutoModelForMaskedLM.from_pretrained(source)
    if not hasattr(model, "bert") or not hasattr(model, "cls"):
        raise ValueError(f"{src}: adapt-encoder supports BERT-architecture encoders (e5, BERT, RoBERTa-wwm), "
                         f"not {type(model).__name__}")
    model.tie_weights()
    if s.freeze_embeddings:
        model.bert.get_input_embeddings().weight.requires_grad_(False)

    index = TokenIndex(tokenizer, s.pretokenize)
    texts = list(read_corpus_texts(corpus))
    blocks = blocks_of(index, texts, s.max_length)
    n_heldout = max(1, round(s.heldout * len(blocks))) if s.heldout else 0
    if len(blocks) - n_heldout < 1:
        raise DataError(f"the corpus gives {len(blocks)} blocks of text: too few to train on", str(corpus[0]))
    train_blocks, heldout_blocks = blocks[: len(blocks) - n_heldout], blocks[len(blocks) - n_heldout :]
    special = set(tokenizer.all_special_ids)
    vocab = len(tokenizer)

    def masked(block_list, rng):
        return [mask_spans(b, special, tokenizer.mask_token_id, vocab, s.mask_prob, s.max_span, rng) for b in block_list]

    pad = index.pad_id
    heldout = masked(heldout_blocks, random.Random(s.seed + 1))
    heldout_batches = [_collate(heldout[i : i + 32], pad) for i in range(0, len(heldout), 32)]
    if s.bf16:
        warn_if_emulated_bf16(log, "bf16", "fp32 (no --bf16)")
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=s.bf16)  # noqa: E731

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": s.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=s.lr, fused=True)
    lengths = [len(b) for b in train_blocks]
    per_epoch = math.ceil(len(train_blocks) / s.batch_size)
    total = per_epoch * s.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(s.warmup_ratio * total), total)

    before = _measure(model, heldout_batches, autocast) if heldout_batches else None
    log.info("%d texts, %d blocks (%d held out), %d updates; held-out masked-token loss %s",
             len(texts), len(blocks), n_heldout, total, before and before["loss"])
    started = time.perf_counter()
    losses = []
    model.train()
    with tqdm(total=total, desc="adapting", unit="update", disable=not progress) as bar:
        for epoch in range(s.epochs):
            rng = random.Random(s.seed * 1000 + epoch)
            for batch_ids in length_bucketed_batches(lengths, s.batch_size, s.seed * 1000 + epoch):
                batch = _collate(masked([train_blocks[i] for i in batch_ids], rng), pad)
                with autocast():
                    loss, _, _ = masked_lm_loss(model, batch)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.detach().item())
                bar.update(1)
                if len(losses) % 50 == 0:
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    seconds = time.perf_counter() - started
    after = _measure(model, heldout_batches, autocast) if heldout_batches else None

    report = {
        "source": str(src), "output": str(output), "settings": asdict(s),
        "corpus": [str(c) for c in corpus], "texts": len(texts), "chars": sum(map(len, texts)),
        "blocks": {"train": len(train_blocks), "heldout": n_heldout},
        "tokens_trained": sum(lengths) * s.epochs, "updates": total, "seconds": round(seconds, 1),
        "train_loss_first_50": round(float(np.mean(losses[:50])), 4), "train_loss_last_50": round(float(np.mean(losses[-50:])), 4),
        "heldout_before": before, "heldout_after": after,
    }
    # Written beside the destination, then swapped in (install_folder): a crash never leaves half a folder.
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    try:
        model.bert.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        (tmp / REPORT_FILE).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        install_folder(tmp, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def format_report(report: dict) -> str:
    b, a = report["heldout_before"], report["heldout_after"]
    lines = [f"{report['texts']:,} texts, {report['chars']:,} characters: {report['blocks']['train']:,} blocks trained "
             f"({report['tokens_trained']:,} tokens, {report['updates']:,} updates in {report['seconds']:.0f} s), "
             f"{report['blocks']['heldout']:,} held out"]
    if b and a:
        lines.append(f"held-out masked tokens ({b['masked_tokens']:,}): loss {b['loss']:.3f} -> {a['loss']:.3f}, "
                     f"accuracy {b['accuracy']:.1%} -> {a['accuracy']:.1%}")
    lines.append(f"training loss: first 50 updates {report['train_loss_first_50']:.3f}, last 50 {report['train_loss_last_50']:.3f}")
    lines.append(f"encoder: {report['output']}")
    return "\n".join(lines)
