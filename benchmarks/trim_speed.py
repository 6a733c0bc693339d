"""What vocabulary trimming buys: size, forward time and training-step time, original against trimmed.

For each folder (``nlp-judgments trim-vocab`` output and its source), in its own subprocess, one after
another: load it as ``AutoModelForTokenClassification`` (``--labels`` tags, word embeddings trainable),
cut the concatenated tokens of ``--corpus`` (``TokenIndex``, ``--pretokenize``) into ``--batch`` windows
of ``--length`` tokens with ``<s>``/``</s>`` (the same token strings for both folders, since trimming
keeps corpus tokenization identical), then time, after one untimed warm-up each:

- ``forward_s``: an inference forward pass of the batch (eval mode, ``torch.inference_mode``);
- ``fwd_bwd_s``: forward and backward of the token-classification loss (train mode);
- ``adamw_step_s``: ``AdamW.step()`` over all parameters (torch's default implementation), the part
  whose cost grows with the embedding's rows, as does its state (two fp32 copies of every parameter).

Each figure is the median of ``--repeats`` runs (all runs are kept in the JSON). Torch runs on
``--threads`` threads; on a shared machine the figures are noisy: compare them, don't quote them.

    python benchmarks/trim_speed.py ~/.cache/nlp_judgments/encoders/multilingual-e5-small \\
        ~/.cache/nlp_judgments/encoders/multilingual-e5-small-legal --json /tmp/trim_speed.json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "nlp_judgments" / "resources" / "demo" / "judgments.jsonl"


def measure(folder: str, args: argparse.Namespace) -> dict:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from nlp_judgments.tagging.encoding import TokenIndex
    from nlp_judgments.tools.corpus_texts import read_corpus_texts

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    index = TokenIndex(tokenizer, args.pretokenize)
    stream = [i for t in index.tokenize(list(read_corpus_texts([args.corpus]))) for i in t.ids]
    content = args.length - 2
    if len(stream) < args.batch * content:
        raise SystemExit(f"{args.corpus} has {len(stream)} tokens, fewer than {args.batch} x {content}")
    ids = torch.tensor([[index.cls_id] + stream[k * content : (k + 1) * content] + [index.sep_id] for k in range(args.batch)])
    labels = torch.randint(0, args.labels, ids.shape)
    model = AutoModelForTokenClassification.from_pretrained(folder, num_labels=args.labels)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    forward, fwd_bwd, step = [], [], []
    model.eval()
    with torch.inference_mode():
        for k in range(args.repeats + 1):
            t = time.perf_counter()
            model(input_ids=ids)
            forward.append(time.perf_counter() - t)
    model.train()
    for k in range(args.repeats + 1):
        optimizer.zero_grad(set_to_none=True)
        t = time.perf_counter()
        model(input_ids=ids, labels=labels).loss.backward()
        fwd_bwd.append(time.perf_counter() - t)
        t = time.perf_counter()
        optimizer.step()
        step.append(time.perf_counter() - t)
    timed = {"forward_s": forward[1:], "fwd_bwd_s": fwd_bwd[1:], "adamw_step_s": step[1:]}  # [0] is the warm-up
    return {
        "folder": folder,
        "parameters": params,
        "embedding_rows": model.get_input_embeddings().weight.shape[0],
        "safetensors_mb": round((Path(folder) / "model.safetensors").stat().st_size / 1e6, 1),
        "adamw_state_mb": round(2 * 4 * params / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **{name: round(statistics.median(values), 4) for name, values in timed.items()},
        "runs": {name: [round(v, 4) for v in values] for name, values in timed.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", help="encoder or model folders (e.g. the original and the trimmed one)")
    parser.add_argument("--corpus", default=str(DEMO), help="texts to cut windows from (any trim-vocab corpus input)")
    parser.add_argument("--pretokenize", default="cjk_chars", choices=["cjk_chars", "none"])
    parser.add_argument("--batch", type=int, default=16, help="windows per batch")
    parser.add_argument("--length", type=int, default=256, help="tokens per window, <s> and </s> included")
    parser.add_argument("--labels", type=int, default=27, help="tags of the classifier (CAIL2021 BIO: 27)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--json", help="write all figures here")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: measure one folder
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.folders[0], args)))
        return
    rows = []
    for folder in args.folders:
        cmd = [sys.executable, __file__, folder, "--one"] + [a for a in sys.argv[1:] if a not in args.folders]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    keys = ["parameters", "embedding_rows", "safetensors_mb", "adamw_state_mb", "peak_rss_mb", "forward_s", "fwd_bwd_s", "adamw_step_s"]
    print(f"{'':>16}" + "".join(f"{Path(r['folder']).name[-28:]:>30}" for r in rows))
    for key in keys:
        print(f"{key:>16}" + "".join(f"{r[key]:>30,}" for r in rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
