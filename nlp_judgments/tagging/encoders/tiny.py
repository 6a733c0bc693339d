"""A tiny random BERT over a generated character vocabulary: for tests and smoke runs, never for use.

The vocabulary is generated, not downloaded: special tokens, printable ASCII, full-width forms, CJK
punctuation and the CJK Unified Ideographs block, plus ``##`` continuations for the non-CJK characters
so that WordPiece splits ``iPhone12`` or ``１２００`` into characters instead of giving up with ``[UNK]``.
Weights are random but deterministic (seeded), so two builds of the same size are identical.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def default_cache() -> Path:
    return Path(os.environ.get("NLP_JUDGMENTS_CACHE", Path.home() / ".cache" / "nlp_judgments"))


def char_vocabulary() -> list[str]:
    """The generated vocabulary, in a fixed order (about 21k entries)."""
    singles = [chr(c) for c in range(0x21, 0x7F)]  # printable ASCII
    singles += [chr(c) for c in range(0xFF01, 0xFF5F)]  # full-width forms ！..～
    singles += [chr(c) for c in range(0x3001, 0x3040)]  # CJK punctuation 、。〇《》「」【】
    singles += list("·—–…‘’“”×√￥")
    continuations = ["##" + c for c in singles]
    cjk = [chr(c) for c in range(0x4E00, 0xA000)]
    seen: set[str] = set()
    vocab = []
    for tok in SPECIALS + singles + continuations + cjk:
        if tok not in seen:
            seen.add(tok)
            vocab.append(tok)
    return vocab


def build_tiny(cache_dir: Path | None = None, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Write (once) and return a folder holding a random tiny BERT and its character tokenizer."""

    root = Path(cache_dir) if cache_dir is not None else default_cache() / "encoders"
    folder = root / f"tiny-char-h{hidden}-l{layers}-s{seed}"
    if (folder / "model.safetensors").is_file():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=root))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is as readable as any other
    try:
        vocab = char_vocabulary()
        (tmp / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        # transformers 5 builds a 5-token vocabulary from BertTokenizerFast(vocab_file=...): load the folder.
        tokenizer = BertTokenizerFast.from_pretrained(str(tmp), do_lower_case=False, tokenize_chinese_chars=True)
        tokenizer.model_max_length = 512
        config = BertConfig(
            vocab_size=len(vocab),
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=max(1, hidden // 32),
            intermediate_size=hidden * 4,
            max_position_embeddings=512,
        )
        torch.manual_seed(seed)
        BertModel(config).save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        try:
            tmp.rename(folder)
        except OSError:  # another process finished the same build first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
