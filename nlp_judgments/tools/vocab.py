"""Vocabulary trimming: keep the word pieces a corpus needs, and only their embedding rows.

multilingual-e5-small spends ~80 % of its parameters on a 250k-row word embedding, and Chinese
judgments use a few thousand of those rows. :func:`trim_vocabulary` writes a copy of an encoder
folder (or of a trained model folder) whose tokenizer and embedding hold only:

- the special tokens (added tokens, the post-processor's ``<s>``/``</s>``, ``<unk>``, the config's ids);
- every piece the tokenizer produces on the corpus, before and (``pretokenize="cjk_chars"``) after
  ``encoding.TokenIndex`` splits CJK tokens into characters;
- with ``fallback="all-cjk"``, every single-character piece (bare, ``▁``- or ``##``-prefixed) for
  the characters in :data:`FALLBACK_RANGES` (CJK ideographs and punctuation, ASCII, full-width
  forms, common symbols), so unseen legal text falls apart into known characters, not ``<unk>``;
- for a Unigram model, its lowest-scoring piece: the unknown-character penalty is that score
  minus 10, and keeping it keeps every lattice score exactly as it was.

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
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoTokenizer

from nlp_judgments.data.formats.reading import iter_json_records
from nlp_judgments.data.inputs import iter_documents
from nlp_judgments.spans import DataError
from nlp_judgments.tagging.artifacts import META_FILE, load_meta
from nlp_judgments.tagging.encoders import BUILTIN_PREFIX, resolve_encoder
from nlp_judgments.tagging.encoders.e5 import encoder_info
from nlp_judgments.tagging.encoders.install import install_folder
from nlp_judgments.tagging.encoding import TokenIndex
from nlp_judgments.tagging.tagger import Tagger

logger = logging.getLogger(__name__)

FALLBACK_MODES = ("all-cjk", "corpus")
TEXT_FIELDS = ("text", "context", "sentText")  # {id, text} JSONL, CAIL2021, CAIL2022
REPORT_FILE = "trim_report.json"
WEIGHTS_FILE = "model.safetensors"

#: Characters whose single-character pieces ``fallback="all-cjk"`` keeps, as inclusive code-point ranges.
FALLBACK_RANGES = (
    (0x0021, 0x007E),  # printable ASCII: letters, digits, punctuation
    (0x00A1, 0x00BF),  # Latin-1 signs: § ° ± ·
    (0x00D7, 0x00D7),  # ×
    (0x00F7, 0x00F7),  # ÷
    (0x0370, 0x03FF),  # Greek: α-PVP, γ-羟丁酸 in drug cases
    (0x2010, 0x206F),  # general punctuation: “ ” ‘ ’ … —
    (0x2100, 0x218F),  # letterlike symbols and number forms: ℃ № Ⅲ
    (0x2460, 0x24FF),  # enclosed numbers: ① ⑵
    (0x25A0, 0x25FF),  # geometric shapes: ○ □ ■, stand-ins for redacted names
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、 。 《 》 「 」 〇
    (0x3300, 0x33FF),  # CJK compatibility: ㎡ ㎏
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half- and full-width forms: ， （ ） ： ； １
    (0x20000, 0x2FA1F),  # CJK extensions B-F and the compatibility supplement
)

# Tensors indexed by token id. HF omits a tied copy from the file, so slicing every stored one
# keeps tied weights tied and untied weights untied.
VOCAB_TENSOR_SUFFIXES = ("word_embeddings.weight", "embed_tokens.weight", "shared.weight", "lm_head.weight",
                         "lm_head.bias", "decoder.weight", "decoder.bias", "predictions.bias")
# Files of a model folder that trimming leaves as they are (classifier and CRF do not see token ids).
COPIED_FILES = ("special_tokens_map.json", "nlp_judgments.json", "crf.safetensors", "config.yaml", "metrics.json")


class TrimError(ValueError):
    """A folder that cannot be trimmed, or a trimmed folder that failed its checks (not installed)."""


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------


def read_corpus_texts(inputs: Sequence[str | Path]) -> Iterator[str]:
    """Texts of the corpus files: ``.txt`` files, folders of ``.txt`` (recursive), and JSON lines or
    JSON arrays of objects with a ``text``, ``context`` (CAIL2021) or ``sentText`` (CAIL2022) field.

    Raises :class:`DataError` for a JSON file in which no record has such a field.
    """

    for item in inputs:
        path = Path(item)
        if path.is_dir() or path.suffix == ".txt":
            yield from (doc.text for doc in iter_documents([path]) if doc.text)
            continue
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file or folder")
        found = 0
        for _line, obj in iter_json_records(path):
            text = next((obj[k] for k in TEXT_FIELDS if isinstance(obj, dict) and isinstance(obj.get(k), str)), None)
            if text:
                found += 1
                yield text
        if not found:
            raise DataError(f"no record has a {', '.join(TEXT_FIELDS)} field", path)


# --------------------------------------------------------------------------------------------
# Which pieces to keep
# --------------------------------------------------------------------------------------------


def is_fallback_char(ch: str) -> bool:
    """Whether ``fallback="all-cjk"`` keeps the single-character pieces of ``ch``.

    >>> [is_fallback_char(c) for c in "罪，A①é"]
    [True, True, True, True, False]
    """
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in FALLBACK_RANGES)


def piece_prefixes(tokenizer_json: dict) -> tuple[str, ...]:
    """Markers a piece may carry before its characters: Metaspace's ``▁``, WordPiece's ``##``."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Metaspace":
                found.append(node.get("replacement", "▁"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tokenizer_json.get("pre_tokenizer"))
    if tokenizer_json["model"].get("continuing_subword_prefix"):
        found.append(tokenizer_json["model"]["continuing_subword_prefix"])
    return tuple(dict.fromkeys(found))


def model_pieces(tokenizer_json: dict) -> list[str]:
    """The model's pieces in id order (Unigram: a list of ``[piece, score]``; WordPiece: piece -> id)."""
    model = tokenizer_json["model"]
    if model["type"] == "Unigram":
        return [piece for piece, _score in model["vocab"]]
    if model["type"] == "WordPiece":
        pieces = sorted(model["vocab"].items(), key=lambda kv: kv[1])
        if [i for _, i in pieces] != list(range(len(pieces))):
            raise TrimError("the WordPiece vocabulary's ids are not 0..n-1")
        return [piece for piece, _ in pieces]
    raise TrimError(f"cannot trim a {model['type']} tokenizer: only Unigram (sentencepiece) and WordPiece are supported")


def fallback_piece_ids(pieces: Sequence[str], prefixes: Sequence[str]) -> set[int]:
    """Ids of single-character pieces of fallback characters, bare or after a prefix, and lone prefixes.

    >>> sorted(fallback_piece_ids(["<s>", "▁", "罪", "▁罪", "盗窃", "é", "##A"], ("▁", "##")))
    [1, 2, 3, 6]
    """
    keep = set()
    for i, piece in enumerate(pieces):
        bare = next((piece[len(p):] for p in prefixes if piece.startswith(p) and len(piece) > len(p)), piece)
        if piece in prefixes or (len(bare) == 1 and is_fallback_char(bare)):
            keep.add(i)
    return keep


def _processor_ids(node) -> Iterator[int]:
    """Token ids a post-processor inserts (TemplateProcessing, Bert/RobertaProcessing, Sequence)."""
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "Sequence":
        for child in node.get("processors", []):
            yield from _processor_ids(child)
    elif kind == "TemplateProcessing":
        for spec in node.get("special_tokens", {}).values():
            yield from spec["ids"]
    elif kind in ("BertProcessing", "RobertaProcessing"):
        yield node["sep"][1]
        yield node["cls"][1]


def corpus_piece_ids(tokenizer, texts: Sequence[str], pretokenize: str, batch: int = 256) -> set[int]:
    """Ids the tokenizer produces on ``texts``: its own pieces, plus the character pieces that
    ``cjk_chars`` splits them into (the tokenizer still needs the unsplit pieces to segment alike)."""

    ids: set[int] = set()
    for mode in dict.fromkeys(["none", pretokenize]):
        index = TokenIndex(tokenizer, mode)
        for i in range(0, len(texts), batch):
            for toks in index.tokenize(texts[i : i + batch]):
                ids.update(toks.ids)
    return ids


# --------------------------------------------------------------------------------------------
# Rebuilding tokenizer and weights
# --------------------------------------------------------------------------------------------


def trim_tokenizer_json(tokenizer_json: dict, keep: Sequence[int]) -> dict:
    """A copy of a ``tokenizer.json`` dict holding only the ids in ``keep`` (sorted), renumbered 0..n-1.

    Scores, normalizer, pre-tokenizer and decoder are unchanged; the unknown token, added tokens
    and the post-processor's special ids are renumbered.
    """
    new_id = {old: new for new, old in enumerate(keep)}
    data = copy.deepcopy(tokenizer_json)
    model = data["model"]
    pieces = model_pieces(data)
    kept_pieces = [i for i in keep if i < len(pieces)]
    if model["type"] == "Unigram":
        model["vocab"] = [model["vocab"][i] for i in kept_pieces]
        if model.get("unk_id") is not None:
            model["unk_id"] = new_id[model["unk_id"]]
    else:
        model["vocab"] = {pieces[i]: new_id[i] for i in kept_pieces}
    for token in data.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    data["post_processor"] = _remap_processor(data.get("post_processor"), new_id)
    return data


def _remap_processor(node, new_id: dict[int, int]):
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind == "Sequence":
        node["processors"] = [_remap_processor(child, new_id) for child in node.get("processors", [])]
    elif kind == "TemplateProcessing":
        for spec in node.get("special_tokens", {}).values():
            spec["ids"] = [new_id[i] for i in spec["ids"]]
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for key in ("sep", "cls"):
            node[key] = [node[key][0], new_id[node[key][1]]]
    return node


def trim_state_dict(state: dict, keep: Sequence[int], rows: int) -> dict:
    """Slice every tensor indexed by token id (leading dimension ``rows``) to the rows in ``keep``.

    A tensor of ``rows`` rows whose name is not a known embedding or output layer is an error, not a guess.
    """

    index = torch.tensor(list(keep), dtype=torch.long)
    out, sliced = {}, []
    for name, tensor in state.items():
        if tensor.dim() >= 1 and tensor.shape[0] == rows:
            if not name.endswith(VOCAB_TENSOR_SUFFIXES):
                raise TrimError(f"tensor {name!r} has one row per token id but is not a known embedding or output layer")
            tensor = tensor.index_select(0, index).contiguous()
            sliced.append(name)
        out[name] = tensor
    if not any(name.endswith("word_embeddings.weight") or name.endswith("embed_tokens.weight") for name in sliced):
        raise TrimError(f"found no word-embedding tensor with {rows} rows")
    return out


def _remap_config(config: dict, new_id: dict[int, int], size: int) -> dict:
    config = dict(config, vocab_size=size)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id", "decoder_start_token_id"):
        if isinstance(config.get(key), int) and config[key] in new_id:
            config[key] = new_id[config[key]]
    return config


def _config_special_ids(config: dict, rows: int) -> set[int]:
    keys = ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id", "decoder_start_token_id")
    return {config[k] for k in keys if isinstance(config.get(k), int) and 0 <= config[k] < rows}


def _write_tokenizer_files(src: Path, dst: Path, trimmed: dict, new_id: dict[int, int]) -> list[str]:
    """Write ``tokenizer.json`` and the tokenizer files that name ids; return the names not copied."""
    (dst / "tokenizer.json").write_text(json.dumps(trimmed, ensure_ascii=False), encoding="utf-8")
    settings_path = src / "tokenizer_config.json"
    if settings_path.is_file():
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
        if "added_tokens_decoder" in settings:  # keyed by id (str)
            settings["added_tokens_decoder"] = {str(new_id[int(k)]): v for k, v in settings["added_tokens_decoder"].items()}
        (dst / "tokenizer_config.json").write_text(json.dumps(settings, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    added_path = src / "added_tokens.json"
    if added_path.is_file():
        added = json.loads(added_path.read_text(encoding="utf-8"))
        (dst / "added_tokens.json").write_text(json.dumps({t: new_id[i] for t, i in added.items()}, ensure_ascii=False))
    if (src / "vocab.txt").is_file() and trimmed["model"]["type"] == "WordPiece":
        pieces = model_pieces(trimmed)
        (dst / "vocab.txt").write_text("\n".join(pieces) + "\n", encoding="utf-8")
    handled = {"tokenizer.json", "tokenizer_config.json", "added_tokens.json", "vocab.txt", "config.json",
               WEIGHTS_FILE, "manifest.json", REPORT_FILE, *COPIED_FILES}
    return sorted(p.name for p in src.iterdir() if p.is_file() and p.name not in handled)


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


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
            return [model(input_ids=torch.tensor([[index.cls_id] + t.ids[: max_tokens - 2] + [index.sep_id]])).last_hidden_state
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


def _evenly_spaced(items: Sequence, k: int) -> list:
    return list(items) if len(items) <= k else [items[i * len(items) // k] for i in range(k)]


# --------------------------------------------------------------------------------------------
# The whole job
# --------------------------------------------------------------------------------------------


def select_pieces(tokenizer, tokenizer_json: dict, config: dict, rows: int, texts: Sequence[str], pretokenize: str,
                  fallback: str) -> tuple[list[int], dict]:
    """Ids to keep, sorted (the original order), and how many each reason contributed."""
    special = {t["id"] for t in tokenizer_json.get("added_tokens", [])} | set(tokenizer.all_special_ids)
    special |= set(_processor_ids(tokenizer_json.get("post_processor"))) | _config_special_ids(config, rows)
    if tokenizer_json["model"].get("unk_id") is not None:
        special.add(tokenizer_json["model"]["unk_id"])
    corpus = corpus_piece_ids(tokenizer, texts, pretokenize)
    pieces = model_pieces(tokenizer_json)
    extra = fallback_piece_ids(pieces, piece_prefixes(tokenizer_json)) if fallback == "all-cjk" else set()
    if tokenizer_json["model"]["type"] == "Unigram":
        scores = [score for _piece, score in tokenizer_json["model"]["vocab"]]
        extra.add(min(range(len(scores)), key=scores.__getitem__))  # keeps the <unk> penalty (see top)
    keep = sorted(special | corpus | extra)
    if keep[-1] >= rows:
        raise TrimError(f"the tokenizer has id {keep[-1]} but the embedding only {rows} rows")
    counts = {"special": len(special), "from_corpus": len(corpus), "fallback_only": len(set(keep) - corpus - special)}
    return keep, counts


def _write_folder(src: Path, dst: Path, tokenizer_json: dict, config: dict, state: dict, rows: int,
                  keep: list[int]) -> list[str]:
    """Write the trimmed folder; return the names of source files not carried over."""

    new_id = {old: new for new, old in enumerate(keep)}
    not_copied = _write_tokenizer_files(src, dst, trim_tokenizer_json(tokenizer_json, keep), new_id)
    remapped = _remap_config(config, new_id, len(keep))
    (dst / "config.json").write_text(json.dumps(remapped, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    save_file(trim_state_dict(state, keep, rows), str(dst / WEIGHTS_FILE), metadata={"format": "pt"})
    shutil.copymode(dst / "config.json", dst / WEIGHTS_FILE)  # safetensors writes 0600 whatever the umask
    for name in COPIED_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    return not_copied


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
    pieces of :data:`FALLBACK_RANGES`; ``"corpus"`` keeps only what the corpus uses.
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
        not_copied = _write_folder(src, building, tokenizer_json, config, state, rows, keep)
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
