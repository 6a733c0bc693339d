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


def test_two_process_tagging_is_sharded_and_merged(tmp_path, spans_file, tiny_dir):
    """``accelerate launch`` sets RANK and WORLD_SIZE; each process tags its shard, rank 0 merges."""
    from nlp_judgments.training.config import load_config
    from nlp_judgments.training.loop import train

    config = load_config(None, {"output_dir": str(tmp_path / "run"), "model": {"name_or_path": str(tiny_dir)},
                                "data": {"train_file": str(spans_file), "format": "spans"},
                                "train": {"epochs": 1, "progress": False}})
    train(config)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": "被告人张某犯盗窃罪。" * (i + 1)}, ensure_ascii=False) + "\n"
                           for i in range(9)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--multi_gpu",
           "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "nlp_judgments.cli", "tag", "--model", str(tmp_path / "run" / "model-best"), str(src),
           "-o", str(out), "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                          env=dict(os.environ, OMP_NUM_THREADS="1"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(json.loads(line)["id"] for line in out.read_text().splitlines()) == [f"d{i}" for i in range(9)]
    assert not list(tmp_path.glob("out.jsonl.shard-*"))
    stats = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith('{"docs"')]
    assert sorted(s["docs"] for s in stats) == [4, 5]  # each process tagged its own shard
