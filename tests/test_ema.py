"""The weight average: its arithmetic, the swap, and the training loop's evaluated, saved and resumed models."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from nlp_judgments.training.config import ConfigError, load_config
from nlp_judgments.training.ema import EMA
from nlp_judgments.training.loop import train

from .test_train import tiny_config


def test_the_average_follows_the_decay_schedule():
    layer = torch.nn.Linear(1, 1, bias=False)
    frozen = torch.nn.Parameter(torch.ones(1), requires_grad=False)
    layer.register_parameter("frozen", frozen)
    with torch.no_grad():
        layer.weight.fill_(0.0)
    ema = EMA(layer, decay=0.9)
    assert len(ema.shadow) == 1  # frozen parameters are not averaged
    expected = 0.0
    for t in range(1, 30):
        with torch.no_grad():
            layer.weight.fill_(float(t))
        ema.update()
        d = min(0.9, (1 + t) / (10 + t))
        expected = d * expected + (1 - d) * t
        assert ema.shadow[0].item() == pytest.approx(expected, rel=1e-6)
    assert expected < 29 - 2  # the average lags the weights


def test_swapped_restores_the_weights_even_after_an_error():
    layer = torch.nn.Linear(3, 2)
    ema = EMA(layer, decay=0.5)
    with torch.no_grad():
        layer.weight.add_(1.0)
    ema.update()
    own = layer.weight.detach().clone()
    with pytest.raises(RuntimeError):
        with ema.swapped():
            assert torch.equal(layer.weight, ema.shadow[0])
            raise RuntimeError("inside")
    assert torch.equal(layer.weight, own)


def test_state_round_trip_and_mismatch():
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ema_a, ema_b = EMA(a, 0.99), EMA(b, 0.99)
    ema_a.update()
    ema_b.load_state_dict(ema_a.state_dict())
    assert ema_b.updates == 1 and all(torch.equal(x, y) for x, y in zip(ema_a.shadow, ema_b.shadow))
    with pytest.raises(ValueError, match="tensors"):
        EMA(torch.nn.Linear(3, 2, bias=False), 0.99).load_state_dict(ema_a.state_dict())
    with pytest.raises(ValueError, match="decay"):
        EMA(a, 1.0)


def test_saved_models_hold_the_average_and_resume_keeps_it(tiny_dir, spans_file, tmp_path):
    common = dict(epochs=4, batch_size=2, checkpoint_every=2, eval_every=3, ema_decay=0.9)
    train(tiny_config(tiny_dir, spans_file, tmp_path / "straight", **common))
    out = tmp_path / "straight"
    saved = load_file(str(out / "model-last" / "model.safetensors"))
    # The checkpoint keeps the weights as trained and the average beside them.
    raw = load_file(str(out / "checkpoint" / "model.safetensors"))
    ema_state = torch.load(out / "checkpoint" / "custom_checkpoint_1.pkl", weights_only=True)
    assert ema_state["updates"] == 12
    averaged = dict(zip(ema_state["names"], ema_state["shadow"]))
    assert len(averaged) > 10
    for name, value in averaged.items():
        key = name.removeprefix("encoder.")  # TaggingModel.encoder is the saved transformers model
        assert torch.equal(saved[key], value.to(saved[key].dtype)), key
    raw = {k.removeprefix("encoder."): v for k, v in raw.items()}  # the whole TaggingModel
    assert sum(not torch.equal(saved[k], raw[k]) for k in saved) > len(averaged) // 2

    class Crash(Exception):
        pass

    def crash_at_5(step):
        if step == 5:
            raise Crash

    interrupted = tiny_config(tiny_dir, spans_file, tmp_path / "resumed", **common)
    with pytest.raises(Crash):
        train(interrupted, on_update=crash_at_5)
    train(interrupted)
    again = load_file(str(tmp_path / "resumed" / "model-last" / "model.safetensors"))
    for key in saved:
        assert torch.equal(saved[key], again[key]), key
    log = [json.loads(line) for line in (tmp_path / "resumed" / "train_log.jsonl").read_text().splitlines()]
    straight = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["dev_f1"] for e in log] == [e["dev_f1"] for e in straight]


def test_a_decay_of_one_is_refused():
    with pytest.raises(ConfigError, match="ema_decay"):
        load_config(None, ["--train.ema_decay=1"])
