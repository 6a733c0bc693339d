"""FGM adversarial training: the perturbation, frozen embeddings, and the training loop's second pass."""

from __future__ import annotations

import pytest
import torch

from nlp_judgments.training.adversarial import FGM
from nlp_judgments.training.config import ConfigError, load_config
from nlp_judgments.training.loop import train

from .conftest import MARKED, doc_from_marked


def tiny_batch(tiny_dir, freeze: bool):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(str(tiny_dir), num_labels=3)
    model.get_input_embeddings().weight.requires_grad_(not freeze)
    tok = AutoTokenizer.from_pretrained(str(tiny_dir))
    batch = tok([doc_from_marked("a", m).text for m in MARKED[:3]], padding=True, return_tensors="pt")
    labels = torch.randint(0, 3, batch["input_ids"].shape)
    return model, batch, labels


@pytest.mark.parametrize("freeze", [True, False])
def test_the_perturbation_has_norm_epsilon_and_raises_the_loss(tiny_dir, freeze):
    model, batch, labels = tiny_batch(tiny_dir, freeze)
    attack = FGM(model.get_input_embeddings(), epsilon=0.5)
    with attack.recording():
        clean = model(**batch, labels=labels).loss
    clean.backward()
    assert attack.prepare()
    assert torch.linalg.vector_norm(attack._delta).item() == pytest.approx(0.5, rel=1e-4)
    with attack.attacking(), torch.no_grad():
        attacked = model(**batch, labels=labels).loss
    assert attacked > clean  # along the gradient, the loss goes up
    with torch.no_grad():  # outside the contexts the hook changes nothing
        assert torch.equal(model(**batch, labels=labels).loss, clean.detach())
    assert not attack.prepare()  # one recording, one attack
    attack.remove()


def test_attacking_without_a_gradient_is_an_error(tiny_dir):
    model, _, _ = tiny_batch(tiny_dir, True)
    attack = FGM(model.get_input_embeddings())
    assert not attack.prepare()
    with pytest.raises(RuntimeError, match="prepare"):
        with attack.attacking():
            pass
    with pytest.raises(ValueError, match="positive"):
        FGM(model.get_input_embeddings(), epsilon=0)


def test_training_with_fgm_runs_two_passes_per_batch_and_learns(tiny_dir, spans_file, tmp_path, monkeypatch):
    calls = {"attack": 0}
    original = FGM.attacking

    def counting(self):
        calls["attack"] += 1
        return original(self)

    monkeypatch.setattr(FGM, "attacking", counting)
    values = {
        "output_dir": str(tmp_path / "run"),
        "model": {"name_or_path": str(tiny_dir), "freeze_embeddings": True},
        "data": {"train_file": str(spans_file), "dev_file": str(spans_file), "format": "spans", "max_length": 64,
                 "stride": 16},
        "train": {"epochs": 60, "batch_size": 5, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0, "eval_every": 30,
                  "progress": False, "log_every": 1000, "seed": 7, "adv_epsilon": 0.5},
    }
    result = train(load_config(None, values))
    assert calls["attack"] == result.steps == 60  # one batch per update, each attacked once
    assert result.best_f1 == 1.0, "could not overfit five sentences with FGM"


def test_a_negative_epsilon_is_refused():
    with pytest.raises(ConfigError, match="adv_epsilon"):
        load_config(None, ["--train.adv_epsilon=-1"])
