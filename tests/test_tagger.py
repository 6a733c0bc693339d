"""Tagger internals: Viterbi batched across documents equals decoding each document alone."""

from __future__ import annotations

import numpy as np
import torch

from nlp_judgments.tagging.model import CRF
from nlp_judgments.tagging.tagger import Tagger


def test_batched_viterbi_equals_one_document_at_a_time():
    tags = ["O", "B-X", "I-X", "B-Y", "I-Y"]
    crf = CRF(tags, "BIO")
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    tagger = Tagger.__new__(Tagger)  # only what _best_paths reads
    tagger.model, tagger.tags, tagger.device = torch.nn.Module(), tags, torch.device("cpu")
    tagger.model.crf = crf
    rng = np.random.default_rng(0)
    lives = [rng.normal(size=(n, len(tags))).astype(np.float32) for n in (0, 1, 7, 300, 2, 45, 45)]
    alone = [crf.decode(torch.from_numpy(x)[None], torch.ones(1, len(x), dtype=torch.bool))[0] if len(x) else []
             for x in lives]
    assert tagger._best_paths(lives, budget=400) == alone  # several groups, the long one alone
    assert tagger._best_paths(lives) == alone  # one group
