"""Writing a trimmed model folder: the tokenizer renumbered, the embedding rows sliced, the rest copied.

Given the ids to keep (``vocab_pieces.select_pieces``), :func:`write_trimmed_folder` writes a folder
whose ``tokenizer.json``, tokenizer settings and ``config.json`` number the kept pieces 0..n-1 in
their original order, whose ``model.safetensors`` holds only the kept rows of every tensor indexed
by token id (:func:`trim_state_dict`), and which carries the files that do not see token ids
(:data:`COPIED_FILES`) unchanged.

Not here: choosing the ids (``vocab_pieces.py``); checking the folder and installing it
(``vocab_checks.py``, ``vocab.py``).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Sequence

import torch
from safetensors.torch import save_file

from nlp_judgments.tools.vocab_pieces import TrimError, model_pieces

REPORT_FILE = "trim_report.json"
WEIGHTS_FILE = "model.safetensors"

# Tensors indexed by token id. HF omits a tied copy from the file, so slicing every stored one
# keeps tied weights tied and untied weights untied.
VOCAB_TENSOR_SUFFIXES = ("word_embeddings.weight", "embed_tokens.weight", "shared.weight", "lm_head.weight",
                         "lm_head.bias", "decoder.weight", "decoder.bias", "predictions.bias")
# Files of a model folder that trimming leaves as they are (classifier and CRF do not see token ids).
COPIED_FILES = ("special_tokens_map.json", "nlp_judgments.json", "crf.safetensors", "config.yaml", "metrics.json")


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


def write_trimmed_folder(src: Path, dst: Path, tokenizer_json: dict, config: dict, state: dict, rows: int,
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
