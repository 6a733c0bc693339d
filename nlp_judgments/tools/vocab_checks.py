"""Checks that a trimmed folder behaves like its source: same tokens, hidden states and entities.

``trim-vocab`` installs nothing unless the corpus tokenizes identically (token strings and
offsets, the way training sees them), the encoders' last hidden states agree to 1e-5 on a few
texts, and, for a trained model folder, ``Tagger`` finds the same entities in them.

Not here: building the trimmed folder (``vocab_folder.py``); deciding from these results and
reporting them (``vocab.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from transformers import AutoModel

from nlp_judgments.tagging.encoding import TokenIndex
from nlp_judgments.tagging.tagger import Tagger


def compare_tokenization(before, after, texts: Sequence[str], pretokenize: str, batch: int = 256) -> dict:
    """Token strings and offsets of ``texts`` under two tokenizers, the way training sees them.

    Returns ``{"documents", "mismatches", "special_tokens_identical", "examples"}``.
    """
    old, new = TokenIndex(before, pretokenize), TokenIndex(after, pretokenize)
    mismatches, examples = 0, []
    for i in range(0, len(texts), batch):
        chunk = texts[i : i + batch]
        for j, (a, b) in enumerate(zip(old.tokenize(chunk), new.tokenize(chunk))):
            tokens_a, tokens_b = before.convert_ids_to_tokens(a.ids), after.convert_ids_to_tokens(b.ids)
            if tokens_a != tokens_b or a.offsets != b.offsets:
                mismatches += 1
                if len(examples) < 3:
                    k = next((k for k, (x, y) in enumerate(zip(zip(tokens_a, a.offsets), zip(tokens_b, b.offsets))) if x != y),
                             min(len(tokens_a), len(tokens_b)))
                    examples.append({"document": i + j, "token": k, "before": tokens_a[k : k + 5], "after": tokens_b[k : k + 5]})
    specials = [(old.cls_id, new.cls_id), (old.sep_id, new.sep_id), (old.pad_id, new.pad_id)]
    special_same = all(before.convert_ids_to_tokens(a) == after.convert_ids_to_tokens(b) for a, b in specials)
    probe = texts[0][:200] if texts else "被告人"
    special_same &= before.convert_ids_to_tokens(before(probe)["input_ids"]) == after.convert_ids_to_tokens(after(probe)["input_ids"])
    return {"documents": len(texts), "mismatches": mismatches, "special_tokens_identical": special_same, "examples": examples}


def compare_hidden_states(src: Path, dst: Path, before, after, texts: Sequence[str], pretokenize: str,
                          max_tokens: int = 128) -> dict:
    """Last hidden states of the two encoders on the first ``max_tokens`` tokens of each text."""

    def run(folder: Path, tokenizer) -> list:
        index = TokenIndex(tokenizer, pretokenize)
        model = AutoModel.from_pretrained(str(folder), use_safetensors=True).eval()
        with torch.inference_mode():
            return [model(input_ids=torch.tensor([index.window_ids(t.ids[: max_tokens - 2])])).last_hidden_state
                    for t in index.tokenize(texts)]

    old, new = run(src, before), run(dst, after)
    diff = max((float((a - b).abs().max()) for a, b in zip(old, new)), default=0.0)
    close = all(a.shape == b.shape and torch.allclose(a, b, atol=1e-5) for a, b in zip(old, new))
    return {"texts": len(texts), "tokens": sum(a.shape[1] for a in old), "max_abs_diff": diff, "allclose_1e-5": close}


def compare_entities(src: Path, dst: Path, texts: Sequence[str]) -> dict:
    """Entities that ``Tagger`` finds with the original and the trimmed model folder."""
    old = Tagger.load(src, device="cpu").tag(texts)
    new = Tagger.load(dst, device="cpu").tag(texts)
    return {"texts": len(texts), "entities": sum(map(len, old)), "identical": old == new}
