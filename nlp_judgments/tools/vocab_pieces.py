"""Which word pieces a trimmed vocabulary keeps, in their original order (:func:`select_pieces`):

- the special tokens (added tokens, the post-processor's ``<s>``/``</s>``, ``<unk>``, the config's ids);
- every piece the tokenizer produces on the corpus, before and (``pretokenize="cjk_chars"``) after
  ``encoding.TokenIndex`` splits CJK tokens into characters;
- with ``fallback="all-cjk"``, every single-character piece (bare, ``▁``- or ``##``-prefixed) for
  the characters in :data:`FALLBACK_RANGES` (CJK ideographs and punctuation, ASCII, full-width
  forms, common symbols), so unseen legal text falls apart into known characters, not ``<unk>``;
- for a Unigram model, its lowest-scoring piece: the unknown-character penalty is that score
  minus 10, and keeping it keeps every lattice score exactly as it was.

Not here: reading the corpus (``corpus_texts.py``); renumbering the tokenizer and slicing the
weights (``vocab_folder.py``); checking the result and running the command (``vocab_checks.py``,
``vocab.py``).
"""

from __future__ import annotations

from typing import Iterator, Sequence

from nlp_judgments.tagging.encoding import TokenIndex

FALLBACK_MODES = ("all-cjk", "corpus")

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


class TrimError(ValueError):
    """A folder that cannot be trimmed, or a trimmed folder that failed its checks (not installed)."""


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


def _config_special_ids(config: dict, rows: int) -> set[int]:
    keys = ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id", "decoder_start_token_id")
    return {config[k] for k in keys if isinstance(config.get(k), int) and 0 <= config[k] < rows}


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
