"""Resumable training state on disk, without pickle: tensors in safetensors, everything else in JSON.

``output_dir/checkpoint/`` holds the model's weights (``model.safetensors``), the optimizer's state
(``optimizer.safetensors`` + ``optimizer.json``), the lr schedule (``scheduler.json``), the
gradient scaler of fp16 runs (``scaler.json``), each process's random number generators
(``rng-RANK.json`` + ``rng-RANK.safetensors``), where the loop was (``trainer_state.json``) and the
config it ran under (``config.yaml``). Nothing in it is executable: a crafted file in an output
folder cannot run code at the next ``train``. (accelerate's ``save_state`` pickles part of this
and unpickles it on load; checkpoints written that way are refused, never read.)

A checkpoint is written beside the old one and then swapped in, so a crash never leaves a mixed
one; a crash between retiring the old one and renaming the new one leaves ``checkpoint.old``, which
is then resumed from. Resuming refuses a checkpoint whose config differs from the run's in anything
but the runtime-only settings.

Not here: the loop (``training.loop``), model folders (``tagging.artifacts``).
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save_file

from nlp_judgments.training.config import Config, ConfigError, config_from_dict

STATE_FILE = "trainer_state.json"
# Settings that may change between an interrupted run and its resumption; anything else would
# silently mix two experiments in one model.
RUNTIME_ONLY = {"train.resume", "train.progress", "train.log_every", "train.num_threads"}


@dataclass
class TrainState:
    """Where the loop is; saved in the checkpoint as JSON."""

    step: int = 0  # optimizer updates done
    epoch: int = 0
    batch_in_epoch: int = 0  # micro-batches of this epoch already consumed
    best_f1: float = -1.0
    best_step: int = 0
    bad_evals: int = 0
    train_seconds: float = 0.0
    history: list[dict] = field(default_factory=list)


def _flatten(values, prefix: str = ""):
    """``("train.lr", 1e-4)`` pairs of a nested config dict; list items are keyed by index."""
    if isinstance(values, dict):
        items = values.items()
    elif isinstance(values, list):
        items = ((str(i), v) for i, v in enumerate(values))
    else:
        yield prefix, values
        return
    for key, value in items:
        yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))


def config_changes(saved: Config, now: Config) -> list[str]:
    """The dotted keys (runtime-only ones aside) whose values differ, each as ``key: old -> new``."""
    def comparable(config: Config) -> dict:
        return {k: v for k, v in _flatten(json.loads(json.dumps(config.to_dict()))) if k not in RUNTIME_ONLY}

    before, after = comparable(saved), comparable(now)
    return [f"{k}: {before.get(k)!r} -> {after.get(k)!r}"
            for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)]


def find(output_dir: Path) -> Path | None:
    """The checkpoint folder to resume from, or None."""
    for name in ("checkpoint", "checkpoint.old"):
        if (output_dir / name / STATE_FILE).is_file():
            return output_dir / name
    return None


def _json(path: Path, value) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")


def _rng_state() -> tuple[dict, dict[str, torch.Tensor]]:
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors |= {f"cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
    return {"python": [version, list(internal), gauss],
            "numpy": [kind, keys.tolist(), pos, has_gauss, cached]}, tensors


def _set_rng_state(values: dict, tensors: dict[str, torch.Tensor]) -> None:
    version, internal, gauss = values["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = values["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("cuda.")), key=lambda k: int(k[5:]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _optimizer_split(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, plain = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "state": plain}


def _optimizer_join(tensors: dict[str, torch.Tensor], plain: dict) -> dict:
    state: dict[int, dict] = {int(i): dict(v) for i, v in plain["state"].items()}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in plain["param_groups"]]
    return {"state": state, "param_groups": groups}


def save(output_dir: Path, accelerator, model, optimizer, scheduler, state: TrainState, config: Config) -> None:
    """Write the checkpoint beside the old one, then swap (every process calls this)."""
    ckpt, tmp, old = output_dir / "checkpoint", output_dir / "checkpoint.tmp", output_dir / "checkpoint.old"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    values, tensors = _rng_state()
    _json(tmp / f"rng-{accelerator.process_index}.json", values)
    save_file(tensors, str(tmp / f"rng-{accelerator.process_index}.safetensors"))
    if accelerator.is_main_process:
        weights = {k: v.detach().cpu().contiguous() for k, v in accelerator.unwrap_model(model).state_dict().items()}
        save_file(weights, str(tmp / "model.safetensors"))
        tensors, plain = _optimizer_split(optimizer.state_dict())
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        _json(tmp / "optimizer.json", plain)
        _json(tmp / "scheduler.json", scheduler.state_dict())
        if accelerator.scaler is not None:
            _json(tmp / "scaler.json", accelerator.scaler.state_dict())
        _json(tmp / STATE_FILE, state.__dict__)
        config.save(tmp / "config.yaml")
        shutil.rmtree(old, ignore_errors=True)
        if ckpt.exists():
            ckpt.rename(old)
        tmp.rename(ckpt)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def load(ckpt: Path, accelerator, model, optimizer, scheduler, config: Config) -> TrainState:
    """Restore everything :func:`save` wrote, after checking that the config matches."""
    if not (ckpt / "model.safetensors").is_file():
        raise ConfigError(f"{ckpt} was written by an older nlp_judgments in a format that unpickles on load, "
                          "which is never done; start afresh with --train.resume=false or another --output_dir")
    # Read through today's schema: a key added since the checkpoint was written takes its default.
    saved = config_from_dict(yaml.safe_load((ckpt / "config.yaml").read_text(encoding="utf-8")))
    changed = config_changes(saved, config)
    if changed:
        raise ConfigError(
            f"{ckpt.parent} holds a checkpoint of a run with a different config ({'; '.join(changed[:5])}"
            f"{'; ...' if len(changed) > 5 else ''}); resume it with the same settings, "
            f"or start afresh with --train.resume=false or another --output_dir")
    device = accelerator.device
    accelerator.unwrap_model(model).load_state_dict(load_file(str(ckpt / "model.safetensors"), device=str(device)))
    plain = json.loads((ckpt / "optimizer.json").read_text(encoding="utf-8"))
    optimizer.load_state_dict(_optimizer_join(load_file(str(ckpt / "optimizer.safetensors"), device=str(device)), plain))
    scheduler.load_state_dict(json.loads((ckpt / "scheduler.json").read_text(encoding="utf-8")))
    if accelerator.scaler is not None and (ckpt / "scaler.json").is_file():
        accelerator.scaler.load_state_dict(json.loads((ckpt / "scaler.json").read_text(encoding="utf-8")))
    rank = accelerator.process_index
    if (ckpt / f"rng-{rank}.json").is_file():
        _set_rng_state(json.loads((ckpt / f"rng-{rank}.json").read_text(encoding="utf-8")),
                       load_file(str(ckpt / f"rng-{rank}.safetensors")))
    return TrainState(**json.loads((ckpt / STATE_FILE).read_text(encoding="utf-8")))
