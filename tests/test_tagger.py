"""CRF head decoding: Viterbi batched across documents equals decoding each document alone."""

from __future__ import annotations

import numpy as np
import torch

from nlp_judgments.tagging.heads import CRFHead


def test_batched_viterbi_equals_one_document_at_a_time():
    head = CRFHead(["X", "Y"], "BIO")
    tags, crf = head.tags, head.crf
    assert tags == ["O", "B-X", "I-X", "B-Y", "I-Y"]
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    rng = np.random.default_rng(0)
    lives = [rng.normal(size=(n, len(tags))).astype(np.float32) for n in (0, 1, 7, 300, 2, 45, 45)]
    alone = [crf.decode(torch.from_numpy(x)[None], torch.ones(1, len(x), dtype=torch.bool))[0] if len(x) else []
             for x in lives]
    assert head.paths(lives, budget=400) == alone  # several groups, the long one alone
    assert head.paths(lives) == alone  # one group
