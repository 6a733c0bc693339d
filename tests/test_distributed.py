"""The training loop runs unchanged under ``accelerate launch`` with several processes (CPU, gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_two_process_training(tmp_path, spans_file, tiny_dir):
    out = tmp_path / "ddp"
    cmd = [
        # This interpreter's accelerate launcher (the venv's bin/ need not be on PATH). --multi_gpu
        # selects its torchrun launcher; without CUDA our loop asks accelerate for CPU processes,
        # which then join one gloo process group.
        sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--multi_gpu",
        "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "-m", "nlp_judgments.cli", "train",
        f"--data.train_file={spans_file}", "--data.format=spans", "--data.dev_last_n=1",
        f"--model.name_or_path={tiny_dir}", f"--output_dir={out}", "--train.epochs=2", "--train.batch_size=2",
        "--train.progress=false",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    # 4 training sentences, batch 2 per process, 2 processes: one update per epoch.
    assert metrics["step"] == 2
    assert (out / "model-best" / "model.safetensors").is_file()
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 2  # one evaluation per epoch, written once (main process only)
