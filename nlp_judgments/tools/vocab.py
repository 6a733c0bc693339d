"""Vocabulary trimming: keep the word pieces a corpus needs, and only their embedding rows.

multilingual-e5-small spends ~80 % of its parameters on a 250k-row word embedding, and Chinese
judgments use a few thousand of those rows. :func:`trim_vocabulary` writes a copy of an encoder
folder (or of a trained model folder) whose tokenizer and embedding hold only the special tokens,
the pieces the tokenizer produces on the corpus and, with ``fallback="all-cjk"``, the
single-character pieces of CJK text and common symbols (``vocab_pieces.py`` lists them and why).

Why the corpus tokenizes identically: the original segmentation of each corpus text uses only kept
pieces; a Unigram model's Viterbi search over a subset still finds that best path (an exact tie
between two segmentations could in principle break the other way: the check would say so), and
WordPiece's longest-match-first finds the same longest piece. Kept pieces keep their original order, so special
tokens keep their small ids (``<s>`` = 0, ``<pad>`` = 1, ``</s>`` = 2). Every other weight (layers,
position embeddings, classifier, CRF) is copied unchanged, so hidden states and predictions on
corpus text are identical. The command checks all of this before it installs the folder.

Left out: BPE and byte-level tokenizers (raise), sharded or ``.bin`` weights (raise), the slow
sentencepiece model files (not copied: the fast ``tokenizer.json`` is the tokenizer), the e5 build's
``manifest.json`` (its checksums describe the source; ``trim_report.json`` names it). Text outside
the corpus may tokenize differently from the original (a dropped multi-character piece becomes its
characters), which is the point; characters outside the fallback ranges and the corpus become
``<unk>``. The corpus is held in memory (fine for the millions of characters it is meant for).

Not here: reading the corpus (``corpus_texts.py``), choosing the pieces (``vocab_pieces.py``),
writing the trimmed folder (``vocab_folder.py``), the checks (``vocab_checks.py``); this module
runs them in order, reports, and installs the folder only if every check passed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterable, Sequence

from safetensors.torch import load_file
from transformers import AutoTokenizer

from nlp_judgments.spans import DataError
from nlp_judgments.tagging.artifacts import META_FILE, load_meta
from nlp_judgments.tagging.encoders.builtin import BUILTIN_PREFIX, resolve_encoder
from nlp_judgments.tagging.encoders.e5 import encoder_info
from nlp_judgments.tagging.encoders.install import install_folder
from nlp_judgments.tools.vocab_checks import (
    compare_entities,
    compare_hidden_states,
    compare_tokenization,
)
from nlp_judgments.tools.vocab_folder import (
    REPORT_FILE,
    WEIGHTS_FILE,
    write_trimmed_folder,
)
from nlp_judgments.tools.vocab_pieces import FALLBACK_MODES, TrimError, select_pieces

logger = logging.getLogger(__name__)


def trim_vocabulary(
    src_dir: str | Path,
    out_dir: str | Path,
    texts: Iterable[str],
    pretokenize: str | None = "cjk_chars",
    fallback: str = "all-cjk",
    verify_docs: int = 2000,
    check_texts: int = 4,
) -> dict:
    """Write a copy of ``src_dir`` whose vocabulary holds only what ``texts`` need, check it, install it.

    ``src_dir``: an encoder folder, a trained model folder (its ``nlp_judgments.json``, CRF, config
    and metrics are copied), or ``builtin:e5-small``. ``pretokenize``: the ``TokenIndex`` mode the
    pieces are collected and checked under; ``None`` takes a model folder's own (else ``cjk_chars``),
    and a model folder refuses any other. ``fallback``: ``"all-cjk"`` also keeps the single-character
    pieces of ``vocab_pieces.FALLBACK_RANGES``; ``"corpus"`` keeps only what the corpus uses.
    ``verify_docs``: how many corpus texts (evenly spaced) must tokenize identically; 0 = all.
    ``check_texts``: texts whose hidden states (and, for a model folder, entities) must be equal.

    Returns the report that is also written to ``out_dir/trim_report.json``. Raises :class:`TrimError`
    (and installs nothing) when a check fails; an existing ``out_dir`` is replaced only if an earlier
    trim wrote it.
    """
    started = time.perf_counter()
    src = Path(resolve_encoder(str(src_dir))) if str(src_dir).startswith(BUILTIN_PREFIX) else Path(src_dir)
    out = Path(out_dir)
    if fallback not in FALLBACK_MODES:
        raise TrimError(f"unknown fallback {fallback!r}; choose from {', '.join(FALLBACK_MODES)}")
    for name in ("config.json", WEIGHTS_FILE, "tokenizer.json"):
        if not (src / name).is_file():
            raise TrimError(f"{src} has no {name}: give an encoder or model folder with safetensors weights and a fast tokenizer")
    model_folder = (src / META_FILE).is_file()
    own = load_meta(src).pretokenize if model_folder else None
    if pretokenize is None:
        pretokenize = own or "cjk_chars"
    elif own is not None and own != pretokenize:
        raise TrimError(f"{src} was trained with pretokenize={own!r}; trim it with the same (not {pretokenize!r})")
    if out.resolve() == src.resolve():
        raise TrimError("the output folder must differ from the source folder")
    if out.exists() and any(out.iterdir()) and not (out / REPORT_FILE).is_file():
        raise TrimError(f"{out} exists and was not written by trim-vocab; choose a new folder")
    texts = [t for t in texts if t]
    if not texts:
        raise DataError("the corpus has no text")

    tokenizer = AutoTokenizer.from_pretrained(str(src))
    tokenizer_json = json.loads(tokenizer.backend_tokenizer.to_str())  # the pipeline transformers actually runs
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    state = load_file(str(src / WEIGHTS_FILE))
    rows = next(t.shape[0] for n, t in state.items() if n.endswith(("word_embeddings.weight", "embed_tokens.weight")))
    keep, counts = select_pieces(tokenizer, tokenizer_json, config, rows, texts, pretokenize, fallback)
    logger.info("keeping %d of %d pieces (%d seen in %d texts)", len(keep), len(tokenizer), counts["from_corpus"], len(texts))

    out.parent.mkdir(parents=True, exist_ok=True)
    building = out.parent / f".{out.name}.trimming-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    building.mkdir()
    try:
        not_copied = write_trimmed_folder(src, building, tokenizer_json, config, state, rows, keep)
        del state
        trimmed = AutoTokenizer.from_pretrained(str(building))
        sample = _evenly_spaced(texts, verify_docs) if verify_docs else texts
        probes = _evenly_spaced(sample, check_texts)
        before, after = encoder_info(src), encoder_info(building)
        report = {
            "source": str(src),
            "output": str(out),
            "tokenizer_model": tokenizer_json["model"]["type"],
            "pretokenize": pretokenize,
            "fallback": fallback,
            "corpus": {"documents": len(texts), "characters": sum(map(len, texts))},
            "pieces": {"before": len(tokenizer), "after": len(trimmed), **counts},
            "embedding_rows": {"before": rows, "after": len(keep)},
            "parameters": {"before": before["parameters"], "after": after["parameters"]},
            "embedding_parameters": {"before": before["embedding_parameters"], "after": after["embedding_parameters"]},
            "safetensors_bytes": {"before": (src / WEIGHTS_FILE).stat().st_size, "after": (building / WEIGHTS_FILE).stat().st_size},
            "tokenization_check": compare_tokenization(tokenizer, trimmed, sample, pretokenize),
            "hidden_states_check": compare_hidden_states(src, building, tokenizer, trimmed, probes, pretokenize),
            "entities_check": compare_entities(src, building, probes) if model_folder else None,
            "files_not_copied": not_copied,
        }
        tok, entities = report["tokenization_check"], report["entities_check"]
        report["verified"] = (tok["mismatches"] == 0 and tok["special_tokens_identical"]
                              and report["hidden_states_check"]["allclose_1e-5"]
                              and (entities is None or entities["identical"]))
        report["seconds"] = round(time.perf_counter() - started, 1)
        if not report["verified"]:
            raise TrimError("the trimmed folder differs from the original; nothing installed:\n" + format_report(report))
        (building / REPORT_FILE).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        install_folder(building, out)
    finally:
        shutil.rmtree(building, ignore_errors=True)  # only left behind if something failed
    return report


def format_report(report: dict) -> str:
    """The report as a few lines for a terminal."""
    p, tok, hid, ent = report["pieces"], report["tokenization_check"], report["hidden_states_check"], report["entities_check"]
    size = report["safetensors_bytes"]
    lines = [
        f"pieces: {p['before']:,} -> {p['after']:,} ({p['from_corpus']:,} seen in {report['corpus']['documents']:,} "
        f"documents, {p['fallback_only']:,} fallback ({report['fallback']}), {p['special']} special)",
        f"embedding rows: {report['embedding_rows']['before']:,} -> {report['embedding_rows']['after']:,}",
        f"parameters: {report['parameters']['before']:,} -> {report['parameters']['after']:,}",
        f"{WEIGHTS_FILE}: {size['before'] / 1e6:,.1f} MB -> {size['after'] / 1e6:,.1f} MB",
        f"tokenization ({report['pretokenize']}): {tok['documents'] - tok['mismatches']:,}/{tok['documents']:,} documents "
        f"identical, {tok['mismatches']} mismatches; special tokens {'identical' if tok['special_tokens_identical'] else 'DIFFER'}",
        f"hidden states on {hid['texts']} texts ({hid['tokens']} tokens): max |diff| {hid['max_abs_diff']:.2g}, "
        f"allclose 1e-5: {'yes' if hid['allclose_1e-5'] else 'NO'}",
    ]
    if ent is not None:
        lines.append(f"entities on {ent['texts']} texts ({ent['entities']} entities): {'identical' if ent['identical'] else 'DIFFER'}")
    for example in tok["examples"]:
        lines.append(f"  mismatch: {json.dumps(example, ensure_ascii=False)}")
    if report["files_not_copied"]:
        lines.append(f"not copied: {', '.join(report['files_not_copied'])}")
    lines.append(f"report: {Path(report['output']) / REPORT_FILE}")
    return "\n".join(lines)


def _evenly_spaced(items: Sequence, k: int) -> list:
    return list(items) if len(items) <= k else [items[i * len(items) // k] for i in range(k)]
