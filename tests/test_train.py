"""The real training entry point on a tiny model: overfitting, saved folders, reload, resume."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from nlp_judgments.spans import read_spans_jsonl
from nlp_judgments.tagging.evaluate import evaluate_documents
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.training.config import ConfigError, load_config
from nlp_judgments.training.loop import train


def tiny_config(tiny_dir, spans_file, out, **train_overrides):
    values = {
        "output_dir": str(out),
        "model": {"name_or_path": str(tiny_dir)},
        "data": {"train_file": str(spans_file), "dev_file": str(spans_file), "format": "spans", "max_length": 64, "stride": 16},
        "train": {"epochs": 80, "batch_size": 5, "lr": 1e-2, "head_lr": 1e-2, "warmup_ratio": 0.0,
                  "eval_every": 0, "progress": False, "log_every": 1000, "seed": 7} | train_overrides,
    }
    return load_config(None, values)


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_overfits_five_sentences_and_reloads_identically(tiny_dir, spans_file, tmp_path, head):
    config = tiny_config(tiny_dir, spans_file, tmp_path / "run", eval_every=40)
    config.model.head = head
    result = train(config)
    assert result.best_f1 == 1.0, f"could not overfit five sentences with the {head} head"

    out = tmp_path / "run"
    for name in ("model-best", "model-last"):
        folder = out / name
        for f in ("config.json", "model.safetensors", "tokenizer.json", "nlp_judgments.json", "config.yaml", "metrics.json"):
            assert (folder / f).is_file(), f"{name}/{f} missing"
        assert (folder / "crf.safetensors").is_file() == (head == "crf")
    assert (out / "checkpoint" / "trainer_state.json").is_file()

    docs = list(read_spans_jsonl(spans_file))
    tagger = Tagger.load(out / "model-best")
    assert evaluate_documents(tagger, docs)["micro"]["f1"] == 1.0
    again = Tagger.load(out / "model-best")
    texts = [d.text for d in docs]
    assert tagger.tag(texts) == again.tag(texts)

    # A plain transformers load of the same folder gives the same emissions and label names.
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    hf = AutoModelForTokenClassification.from_pretrained(str(out / "model-best")).eval()
    tok = AutoTokenizer.from_pretrained(str(out / "model-best"))
    batch = tok(texts[0], return_tensors="pt")
    with torch.inference_mode():
        ours = tagger.model.emissions(batch["input_ids"], batch["attention_mask"])
        theirs = hf(**batch).logits
    assert torch.equal(ours, theirs)
    assert hf.config.id2label[0] == "O" and "B-DEFENDANT" in hf.config.label2id


def test_resume_reproduces_an_uninterrupted_run(tiny_dir, spans_file, tmp_path):
    common = dict(epochs=4, batch_size=2, checkpoint_every=2, eval_every=3)
    train(tiny_config(tiny_dir, spans_file, tmp_path / "straight", **common))

    class Crash(Exception):
        pass

    def crash_at_5(step):
        if step == 5:  # after the checkpoint at update 4, before the one at 6
            raise Crash

    interrupted = tiny_config(tiny_dir, spans_file, tmp_path / "resumed", **common)
    with pytest.raises(Crash):
        train(interrupted, on_update=crash_at_5)
    state = json.loads((tmp_path / "resumed" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 4
    result = train(interrupted)
    assert result.steps == 12  # 5 sentences, batch 2 -> 3 updates per epoch, 4 epochs

    a = load_file(str(tmp_path / "straight" / "model-last" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model-last" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    log = [json.loads(l) for l in (tmp_path / "resumed" / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [3, 6, 9, 12]


def test_unknown_label_in_dev_is_a_clear_error(tiny_dir, spans_file, tmp_path):
    from nlp_judgments.spans import DataError

    config = tiny_config(tiny_dir, spans_file, tmp_path / "run", epochs=1)
    config.data.labels = ["DEFENDANT"]
    with pytest.raises(DataError, match="sample.jsonl"):
        train(config)


def test_resuming_with_a_different_config_is_refused(tiny_dir, spans_file, tmp_path):
    from nlp_judgments.training.config import ConfigError

    out = tmp_path / "run"
    train(tiny_config(tiny_dir, spans_file, out, epochs=1))
    changed = tiny_config(tiny_dir, spans_file, out, epochs=1, lr=1e-3)
    with pytest.raises(ConfigError, match=r"different config \(train.lr: 0.01 -> 0.001\)"):
        train(changed)
    changed.train.resume = False  # starting afresh in the same folder is allowed
    assert train(changed).steps == 1
    assert not (out / "checkpoint.tmp").exists() and not (out / "checkpoint.old").exists()


def test_a_checkpoint_older_than_a_config_key_still_resumes(tiny_dir, spans_file, tmp_path):
    """A key added to the schema after a checkpoint was written takes its default when resuming."""
    import yaml

    class Crash(Exception):
        pass

    def crash_at_3(step):
        if step == 3:  # after the checkpoint at update 2
            raise Crash

    out = tmp_path / "run"
    config = tiny_config(tiny_dir, spans_file, out, epochs=2, batch_size=2, checkpoint_every=2)
    with pytest.raises(Crash):
        train(config, on_update=crash_at_3)
    saved = out / "checkpoint" / "config.yaml"
    values = yaml.safe_load(saved.read_text(encoding="utf-8"))
    del values["train"]["adv_epsilon"], values["train"]["cpu_bf16"]  # as written before those existed
    saved.write_text(yaml.safe_dump(values), encoding="utf-8")
    assert train(config).steps == 6  # 5 sentences, batch 2 -> 3 updates per epoch
    log = [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]
    assert log[0]["step"] == 3  # the first epoch's end came after resuming at update 2


@pytest.mark.parametrize("n, batch, world", [(5, 2, 2), (4, 2, 2), (1, 4, 3), (37, 4, 3)])
def test_every_process_gets_the_same_number_of_batches(n, batch, world):
    from nlp_judgments.training.data import rank_batches

    lengths = list(range(n))
    shares = [rank_batches(lengths, batch, seed=1, world=world, rank=r) for r in range(world)]
    assert len({len(s) for s in shares}) == 1  # DDP needs equal update counts
    assert all(len(b) <= batch for s in shares for b in s)
    if n >= batch * world:  # no repetition: each window is used at most once per epoch
        flat = [i for s in shares for b in s for i in b]
        assert len(flat) == len(set(flat))


def test_param_groups_put_the_output_layer_and_head_at_head_lr(tiny_dir, spans_file, tmp_path):
    from nlp_judgments.training.build import build_model, param_groups

    for head in ("softmax", "crf"):
        config = tiny_config(tiny_dir, spans_file, tmp_path / "run")
        config.model.head = head
        _, model = build_model(config, ["DEFENDANT"])
        lr_of = {id(p): (g["lr"], g["weight_decay"]) for g in param_groups(model, 1.0, 5.0, 0.01) for p in g["params"]}
        for name, p in model.named_parameters():
            is_head = "classifier." in name or name.startswith("head.")
            expected = (5.0, 0.0) if is_head else (1.0, 0.0 if p.ndim < 2 else 0.01)
            assert lr_of[id(p)] == expected, name
        assert any(name.startswith("head.crf.") for name, _ in model.named_parameters()) == (head == "crf")


@pytest.mark.parametrize("key, value", [("data.join_chars", 150), ("train.layer_lr_decay", 0.9),
                                        ("train.ema_decay", 0.997), ("train.label_smoothing", 0.1)])
def test_removed_settings_name_the_commit_that_has_them(key, value):


    with pytest.raises(ConfigError, match=f"{key} was removed .* reproducible at commit a9124fc"):
        load_config(None, [f"--{key}={value}"])
    section, name = key.split(".")
    default = {"join_chars": 0, "layer_lr_decay": 1.0, "ema_decay": 0.0, "label_smoothing": 0.0}[name]
    assert load_config(None, {section: {name: default}}) == load_config(None, [])  # as an old config.yaml lists it


def test_auto_precision_takes_bf16_only_on_a_cpu_that_has_it(monkeypatch):
    from nlp_judgments.training import loop as train_module

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for native, expected in ((True, "bf16"), (False, "no")):
        monkeypatch.setattr(train_module, "cpu_has_native_bf16", lambda: native)
        assert train_module.resolve_precision("auto", cpu_bf16=True) == expected
        assert train_module.resolve_precision("auto") == "no"
        assert train_module.resolve_precision("bf16") == "bf16"  # asked for explicitly: warned, not changed


class _Payload:
    """Unpickling this creates a file: proof that a pickle in a checkpoint folder was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_resuming_never_unpickles_files_planted_in_the_checkpoint(tiny_dir, spans_file, tmp_path):
    import pickle

    class Crash(Exception):
        pass

    def crash_at_3(step):
        if step == 3:
            raise Crash

    out = tmp_path / "run"
    config = tiny_config(tiny_dir, spans_file, out, epochs=2, batch_size=2, checkpoint_every=2)
    with pytest.raises(Crash):
        train(config, on_update=crash_at_3)
    marker = tmp_path / "pwned"
    ckpt = out / "checkpoint"
    # The files accelerate's save_state writes and load_state unpickles, each a payload.
    for name in ("custom_checkpoint_0.pkl", "random_states_0.pkl", "optimizer.bin", "scheduler.bin", "scaler.pt",
                 "pytorch_model.bin"):
        (ckpt / name).write_bytes(pickle.dumps(_Payload(marker)))
    assert train(config).steps == 6
    assert not marker.exists()
    assert not any(p.suffix in (".pkl", ".bin", ".pt") for p in (out / "checkpoint").iterdir())

    # A checkpoint in the old pickled layout (no model.safetensors) is refused, not read.
    (out / "checkpoint" / "model.safetensors").unlink()
    (out / "checkpoint" / "custom_checkpoint_0.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ConfigError, match="unpickles on load"):
        train(config)
    assert not marker.exists()
