"""Training: ``train(config)`` builds a run (``training.build``) and fits it, saving model folders.

Written against ``accelerate`` so that ``accelerate launch -m nlp_judgments.cli train ...`` runs it
unchanged on several GPUs or nodes: each process takes every N-th batch of the same seeded order,
gradients are averaged by accelerate, and evaluation and saving happen on the main process.

A run is read top to bottom in :class:`Fit`: ``__init__`` plans the updates and builds the
optimizer and schedule, restores a checkpoint if there is one; ``run`` goes through epochs of
batches; each micro-batch is one ``step`` (forward and backward: plain, or FGM's two passes,
``training.adversarial``), every ``grad_accum`` of them one ``_update``; an evaluation on dev
saves ``model-best`` when micro-F1 improves and writes a checkpoint (``training.checkpoint``).

Outputs in ``output_dir``: ``model-best/`` (the best dev micro-F1 so far, or the last model when
there is no dev set), ``model-last/``, ``checkpoint/`` (for resuming at the exact batch reached, with
the same RNG state, so an interrupted run ends with the same weights as an uninterrupted one),
``config.yaml``, ``train_log.jsonl`` (one line per evaluation), ``encoding_report.json``,
``metrics.json``.

Several sources (``data.sources``): a source may annotate only some labels; where it leaves a token
``O`` the token may still belong to a label it does not annotate, so the loss does not push those
labels down (the heads' ``loss`` under ``allowed`` tag sets or a ``label_mask``). Each dev block is
scored over its source's labels only; the pooled micro-F1 over all blocks selects ``model-best``.

Not here: data and batches (``training.data``), model building (``training.build``), checkpoint
files (``training.checkpoint``), the settings (``training.config``).
"""

from __future__ import annotations

import json
import logging
import math
import resource
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list, set_seed
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from nlp_judgments.tagging.artifacts import save_model
from nlp_judgments.tagging.evaluate import evaluate_documents, evaluate_sources
from nlp_judgments.tagging.hardware import cpu_has_native_bf16, warn_if_emulated_bf16
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.training import checkpoint
from nlp_judgments.training.adversarial import FGMStep, plain_step
from nlp_judgments.training.build import Setup, param_groups, setup
from nlp_judgments.training.checkpoint import TrainState
from nlp_judgments.training.config import Config
from nlp_judgments.training.data import collate, rank_batches

log = logging.getLogger("nlp_judgments.train")


@dataclass
class TrainResult:
    output_dir: Path
    best_f1: float | None
    steps: int
    seconds: float
    metrics: dict
    is_main_process: bool = True  # False in the other processes of a distributed run
    window_lengths: list[int] | None = None  # tokens of each training window, in encoding order


def resolve_precision(setting: str, cpu_bf16: bool = False) -> str:
    """The precision ``accelerate`` runs under for ``train.mixed_precision``; see ``TrainConfig``."""
    if setting != "auto":
        if setting == "bf16" and not torch.cuda.is_available():
            warn_if_emulated_bf16(log, "train.mixed_precision=bf16", "mixed_precision=auto or no")
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_bf16 and cpu_has_native_bf16() else "no"


def train(config: Config, on_update: Callable[[int], None] | None = None,
          on_batch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train a tagger as configured. ``on_update(step)`` is called after each optimizer update
    (tests interrupt a run there and check that resuming reproduces it); ``on_batch(batch)`` with
    each collated micro-batch before it moves to the device (benchmarks count its tokens)."""
    t = config.train
    if t.num_threads:
        torch.set_num_threads(t.num_threads)
    # cpu=True on machines without CUDA makes accelerate set up gloo when launched with several
    # processes (torchrun / accelerate launch --multi_gpu); otherwise each would train alone.
    accelerator = Accelerator(mixed_precision=resolve_precision(t.mixed_precision, t.cpu_bf16), cpu=not torch.cuda.is_available())
    set_seed(t.seed)
    out = Path(config.output_dir)
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        config.save(out / "config.yaml")
    run = setup(config, accelerator.is_main_process)
    return Fit(config, accelerator, run, on_update, on_batch).run()


class Fit:
    """One training run's loop (see the module docstring for its steps)."""

    def __init__(self, config: Config, accelerator, run: Setup, on_update=None, on_batch=None):
        t = self.t = config.train
        self.config, self.accelerator, self.run_setup = config, accelerator, run
        self.on_update, self.on_batch = on_update, on_batch
        self.out = Path(config.output_dir)
        self.world, self.rank = accelerator.num_processes, accelerator.process_index
        self.features = run.train_features
        self.lengths = [len(f["input_ids"]) for f in self.features]
        batches_per_epoch = len(rank_batches(self.lengths, t.batch_size, t.seed, self.world, self.rank))  # every epoch
        self.updates_per_epoch = math.ceil(batches_per_epoch / t.grad_accum)
        self.total_updates = self.updates_per_epoch * t.epochs
        if t.max_steps:
            self.total_updates = min(self.total_updates, t.max_steps)
        # The fused kernel updates all tensors at once; torch's default on CPU loops over them in Python
        # (measured on e5-small's 198 non-embedding tensors: 9 ms against 47 ms a step).
        optimizer = torch.optim.AdamW(param_groups(run.model, t.lr, t.head_lr, t.weight_decay), fused=True)
        self.scheduler = get_linear_schedule_with_warmup(optimizer, int(t.warmup_ratio * self.total_updates),
                                                         self.total_updates)
        self.model, self.optimizer = accelerator.prepare(run.model, optimizer)
        self.step = FGMStep(accelerator.unwrap_model(self.model), t.adv_epsilon) if t.adv_epsilon else plain_step
        self.state = TrainState()
        found = checkpoint.find(self.out) if t.resume else None
        if found is not None:
            self.state = checkpoint.load(found, accelerator, self.model, self.optimizer, self.scheduler, config)
            if accelerator.is_main_process:
                log.info("resumed from %s at update %d (epoch %d, batch %d)", found, self.state.step,
                         self.state.epoch, self.state.batch_in_epoch)

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> TrainResult:
        t, acc, state = self.t, self.accelerator, self.state
        if acc.is_main_process:
            log.info("%d windows, %d process(es) on %s, %d updates (%d per epoch), mixed precision %s",
                     len(self.features), self.world, acc.device, self.total_updates, self.updates_per_epoch,
                     acc.mixed_precision)
        self.model.train()
        self.pbar = tqdm(total=self.total_updates, initial=state.step, desc="training", unit="update",
                         disable=not (t.progress and acc.is_main_process))
        # Loss summed over micro-batches since the last log line or evaluation; kept as a tensor so
        # that a GPU is not forced to synchronise after every batch.
        self.running, self.running_n = torch.zeros((), device=acc.device), 0
        stopped = state.step >= self.total_updates
        while not stopped and state.epoch < t.epochs:
            stopped = self._epoch()
        self.pbar.close()
        if isinstance(self.step, FGMStep):
            self.step.close()
        return self._finish()

    def _epoch(self) -> bool:
        """The rest of the current epoch; True when training is over."""
        t, acc, state = self.t, self.accelerator, self.state
        mine = rank_batches(self.lengths, t.batch_size, t.seed * 1000 + state.epoch, self.world, self.rank)
        n_micro = len(mine)
        self.tick = time.perf_counter()
        for bi in range(state.batch_in_epoch, n_micro):
            is_update = (bi + 1) % t.grad_accum == 0 or bi + 1 == n_micro
            batch = collate([self.features[i] for i in mine[bi]], self.run_setup.pad_id, self.model_head,
                            self.run_setup.tables)
            if self.on_batch is not None:
                self.on_batch(batch)
            batch = {k: v.to(acc.device) for k, v in batch.items()}
            with nullcontext() if is_update else acc.no_sync(self.model), acc.autocast():
                loss = self.step(self.model, batch, lambda value: acc.backward(value / t.grad_accum))
            self.running += loss.detach().float()
            self.running_n += 1
            state.batch_in_epoch = bi + 1
            if is_update and self._update(n_micro):
                return True
        return False

    @property
    def model_head(self):
        return self.accelerator.unwrap_model(self.model).head

    def _update(self, n_micro: int) -> bool:
        """One optimizer update, then logging, evaluation and checkpoints as due; True = stop."""
        t, state = self.t, self.state
        if t.max_grad_norm:
            self.accelerator.clip_grad_norm_(self.model.parameters(), t.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.train_seconds += time.perf_counter() - self.tick
        self.pbar.update(1)
        at_end = state.step >= self.total_updates
        if state.batch_in_epoch == n_micro:  # the epoch is complete: the next one starts at batch 0
            state.epoch += 1
            state.batch_in_epoch = 0
        evaluate_now = at_end or (state.step % t.eval_every == 0 if t.eval_every else state.batch_in_epoch == 0)
        stopped = False
        if state.step % t.log_every == 0 or evaluate_now:
            self.mean_loss = float(self.running) / max(self.running_n, 1)
            self.running, self.running_n = torch.zeros_like(self.running), 0
            self.pbar.set_postfix(loss=f"{self.mean_loss:.4f}")
            if self.accelerator.is_main_process and not evaluate_now:
                log.info("update %d/%d loss %.4f lr %.2e", state.step, self.total_updates, self.mean_loss,
                         self.scheduler.get_last_lr()[0])
        if evaluate_now:
            stopped = self._evaluate_and_maybe_stop(self.mean_loss) or at_end
        elif t.checkpoint_every and state.step % t.checkpoint_every == 0:
            self._checkpoint()
        if self.on_update is not None:
            self.on_update(state.step)
        self.tick = time.perf_counter()  # evaluation and checkpoints are not training time
        return stopped

    # --- evaluation, saving ----------------------------------------------------------------

    def _scores(self) -> dict:
        unwrapped = self.accelerator.unwrap_model(self.model)
        unwrapped.eval()
        s = self.run_setup
        tagger = Tagger(unwrapped, s.tokenizer, s.meta, device=self.accelerator.device, batch_size=32)
        scores = evaluate_sources(tagger, s.dev_sets) if s.dev_sets is not None else evaluate_documents(tagger, s.dev_docs)
        unwrapped.train()
        return scores

    def _evaluate_and_maybe_stop(self, loss: float) -> bool:
        """Evaluate on dev (main process), save model-best on improvement; True = stop early."""
        state, acc = self.state, self.accelerator
        stop = [False]
        if self.run_setup.dev_docs:
            record = [None]
            if acc.is_main_process:
                scores = self._scores()
                f1 = scores["micro"]["f1"]
                improved = f1 > state.best_f1
                if improved:
                    state.best_f1, state.best_step, state.bad_evals = f1, state.step, 0
                else:
                    state.bad_evals += 1
                self._log_evaluation(loss, scores, improved)
                if improved:
                    self._save_model("model-best", self._metrics(scores))
                stop = [bool(self.t.patience) and state.bad_evals >= self.t.patience]
                record = [state.__dict__.copy()]
            broadcast_object_list(record)
            broadcast_object_list(stop)
            state.__dict__.update(record[0])
        self._checkpoint()
        return stop[0]

    def _log_evaluation(self, loss: float, scores: dict, improved: bool) -> None:
        state = self.state
        f1 = scores["micro"]["f1"]
        entry = {"step": state.step, "epoch": state.epoch, "loss": round(loss, 5), "dev_f1": f1,
                 "dev_precision": scores["micro"]["precision"], "dev_recall": scores["micro"]["recall"],
                 "seconds": round(state.train_seconds, 1)}
        by_source = ""
        if "sources" in scores:  # data.sources: dev_f1 is the pooled figure over all dev blocks
            entry["dev_f1_by_source"] = {k: v["micro"]["f1"] for k, v in scores["sources"].items()}
            by_source = " [" + ", ".join(f"{k} {v:.4f}" for k, v in entry["dev_f1_by_source"].items()) + "]"
        state.history.append(entry)
        with (self.out / "train_log.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        log.info("update %d epoch %d: loss %.4f dev P %.4f R %.4f F1 %.4f%s%s", state.step, state.epoch, loss,
                 scores["micro"]["precision"], scores["micro"]["recall"], f1, by_source, " (best)" if improved else "")

    def _checkpoint(self) -> None:
        checkpoint.save(self.out, self.accelerator, self.model, self.optimizer, self.scheduler, self.state, self.config)

    def _save_model(self, name: str, metrics: dict) -> None:
        if self.accelerator.is_main_process:
            s = self.run_setup
            save_model(self.accelerator.unwrap_model(self.model), s.tokenizer, s.meta, self.out / name,
                       self.config.to_yaml(), metrics)

    def _metrics(self, dev: dict | None) -> dict:
        state = self.state
        return {
            "step": state.step,
            "epoch": state.epoch,
            "dev": dev,
            "best_dev_f1": state.best_f1 if state.best_f1 >= 0 else None,
            "best_step": state.best_step,
            "train_seconds": round(state.train_seconds, 2),
            "updates_per_second": round(state.step / state.train_seconds, 4) if state.train_seconds else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "encoding": {k: self.run_setup.report[k] for k in ("train", "dev")},
        }

    def _finish(self) -> TrainResult:
        state, acc, out = self.state, self.accelerator, self.out
        final = self._metrics(state.history[-1] if state.history else None)
        self._save_model("model-last", final)
        if acc.is_main_process and not self.run_setup.dev_docs:
            shutil.copytree(out / "model-last", out / "model-best", dirs_exist_ok=True)
        acc.wait_for_everyone()
        if acc.is_main_process:
            (out / "metrics.json").write_text(json.dumps(final | {"history": state.history}, ensure_ascii=False, indent=2))
            log.info("done: %d updates in %.1fs; best dev F1 %s at update %d", state.step, state.train_seconds,
                     f"{state.best_f1:.4f}" if state.best_f1 >= 0 else "n/a", state.best_step)
        best = state.best_f1 if state.best_f1 >= 0 else None
        return TrainResult(out, best, state.step, state.train_seconds, final, acc.is_main_process, self.lengths)
