"""How close tagging comes to the CPU's matrix-multiply speed: a GEMM rate and an encoder FLOP count.

- ``gemm_rate(threads)``: FLOP/s of a large float32 matmul in torch (``n x n @ n x n``, n = 2048, so
  ``2 n^3`` FLOPs), after one warm-up, best of several, with ``threads`` intra-op threads: about the
  most a dense encoder can get out of this CPU in float32.
- ``position_flops(config, width)``: FLOPs of one position of a batch ``width`` positions wide, for a
  BERT/XLM-R encoder with a linear classifier, counting a multiply-add as 2 FLOPs::

      layers * (2 * (4 h^2 + 2 h i)      # Q, K, V, output projections (h x h); FFN up and down (h x i)
                + 2 * 2 * width * h)     # attention scores q.k over `width` keys, then the weighted values
      + 2 * h * num_tags                 # classifier

  with h = hidden_size and i = intermediate_size. Left out: embeddings (lookups), biases, LayerNorm,
  softmax and GELU (a few percent). For e5-small (h 384, i 1536, 12 layers) at width 256: about
  47 MFLOP per position.
- ``batch_flops(config, shapes)``: the sum over batches ``[rows, width]`` of ``rows * width *
  position_flops(config, width)``: every PADDED position counts, because the model computes them all
  (padding is masked in the attention softmax, not skipped). Achieved FLOP/s = these FLOPs / seconds
  inside the model's forward.

For an int8 ONNX model the same count is of int8 multiply-adds in the linear layers: its fraction of
the float32 GEMM rate says how much faster than a perfect float32 run it is, not how well it uses
int8 units. ``gemm_rate(threads, "onnxruntime")`` times the same matmul as a one-node ONNX graph in
ONNX Runtime (its MLAS kernels): on an AMD EPYC with AVX-512 we measured it at about twice torch's
(MKL) rate per thread, which is why an ONNX fp32 row can show more than 100% of torch's rate.
Not here: GPU rates, memory bandwidth.

Usage: ``python benchmarks/flops.py --model runs/judgment/model-best --threads 2``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def gemm_rate(threads: int, library: str = "torch", n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of an ``n x n`` float32 matmul with ``threads`` threads in torch or onnxruntime: best of
    ``repeats`` after a warm-up."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    if library == "onnxruntime":
        matmul = _ort_matmul(n, threads)
        feed = {"a": a.numpy(), "b": b.numpy()}
        call = lambda: matmul.run(None, feed)  # noqa: E731
    else:
        call = lambda: a @ b  # noqa: E731
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        call()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return 2 * n**3 / best


def _ort_matmul(n: int, threads: int):
    """An ONNX Runtime session holding one ``MatMul`` of two float32 ``n x n`` inputs."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    square = [n, n]
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, square) for x in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, square)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def encoder_config(model_dir: str | Path) -> dict:
    """The sizes the count needs, from the folder's ``config.json``."""
    cfg = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    return {"hidden": cfg["hidden_size"], "intermediate": cfg["intermediate_size"], "layers": cfg["num_hidden_layers"],
            "tags": len(cfg["id2label"])}


def position_flops(config: dict, width: int) -> int:
    """FLOPs of one position in a batch ``width`` positions wide (formula in the module docstring).

    >>> position_flops({"hidden": 384, "intermediate": 1536, "layers": 12, "tags": 27}, 256)
    47206656
    """
    h, i = config["hidden"], config["intermediate"]
    return config["layers"] * (2 * (4 * h * h + 2 * h * i) + 2 * 2 * width * h) + 2 * h * config["tags"]


def batch_flops(config: dict, shapes: list[tuple[int, int]]) -> int:
    """FLOPs of batches ``[rows, width]``, padded positions included."""
    return sum(rows * width * position_flops(config, width) for rows, width in shapes)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="a model folder: also print its FLOPs per position")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--width", type=int, default=256, help="batch width (positions) for the per-position count")
    args = p.parse_args()
    rate = gemm_rate(args.threads)
    print(f"float32 GEMM (2048^3, torch, {args.threads} threads, best of 5): {rate / 1e9:.1f} GFLOP/s")
    try:
        print(f"the same in onnxruntime: {gemm_rate(args.threads, 'onnxruntime') / 1e9:.1f} GFLOP/s")
    except ImportError:
        pass
    if args.model:
        per = position_flops(encoder_config(args.model), args.width)
        print(f"encoder + classifier: {per / 1e6:.1f} MFLOP per position at width {args.width}; "
              f"at the GEMM rate at most {rate / per:,.0f} positions/s")


if __name__ == "__main__":
    main()
