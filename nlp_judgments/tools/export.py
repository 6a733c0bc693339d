"""ONNX export of a model folder, and int8 dynamic quantisation kept only if it costs no F1.

``export_onnx(model_dir, out_dir, int8=True, dev=DEV)`` makes ``out_dir`` a copy of the model folder
(it still loads with ``Tagger.load`` and transformers as before) plus:

- ``model.onnx``: the encoder and classifier, inputs ``input_ids`` and ``attention_mask`` ``[batch, seq]``
  (int64, both axes dynamic), output ``logits`` ``[batch, seq, num_tags]`` (the emissions, before any
  CRF). Exported by torch's TorchScript tracer (``dynamo=False``): the dynamo exporter needs
  ``onnxscript``, which the ``onnx`` extra does not install, and the traced graph of our BERT
  encoders is shape-generic (the example batch is padded, so the mask is in the graph). It is
  checked against torch (max abs logit difference at most ``1e-4`` over the real positions of a few
  texts, padded and alone) or not kept. No offline graph rewrite:
  ONNX Runtime's own optimisations (level "all") are applied when a session opens, and the fused
  Attention graph of ``onnxruntime.transformers`` measured no faster here.
- ``model.int8.onnx`` (``int8=True``): ``quantize_dynamic`` of ``model.onnx``: int8 weights, per
  output channel, on the MatMuls with a constant weight (the linear layers) and on the embedding
  Gathers (4x smaller file and memory for a 250k-piece vocabulary); activations are quantised at run
  time per tensor. No ``reduce_range``: it exists for CPUs without VNNI and costs accuracy.
  With a ``dev`` file, torch fp32, ONNX fp32 and ONNX int8 tag it; the int8 model is kept only if its
  exact-span micro-F1 is at most ``max_drop_points`` (0.5) points below torch's (:func:`int8_decision`),
  otherwise deleted. Without one it is kept but marked "unverified".
- ``export_report.json``: sizes, logit differences, F1 figures and deltas, the decision.

The ONNX backends of ``Tagger`` open these files with :func:`onnx_file` and :func:`open_session`.
Not here: GPU execution providers, static (calibrated) quantisation, the CRF (it stays in torch).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from nlp_judgments.data.documents import load_documents
from nlp_judgments.tagging.artifacts import load_meta, load_model
from nlp_judgments.tagging.card import write_card
from nlp_judgments.tagging.evaluate import evaluate_documents, model_label_map
from nlp_judgments.tagging.onnx import (
    INT8_FILE,
    MAX_F1_DROP_POINTS,
    ONNX_FILE,
    REPORT_FILE,
    import_onnxruntime,
    open_session,
)
from nlp_judgments.tagging.tagger import Tagger

MAX_LOGIT_DIFF = 1e-4  # ONNX fp32 against torch, max abs over real positions
INT8_SETTINGS = {"weight_type": "QInt8", "per_channel": True, "reduce_range": False,
                 "op_types_to_quantize": ["MatMul", "Gather"], "extra_options": {"MatMulConstBOnly": True}}
# Texts for the logit check when no dev file is given: different lengths, so one batch is padded.
CHECK_TEXTS = [
    "被告人张某某于2021年3月在杭州市西湖区盗窃他人手机一部，价值人民币3200元。",
    "本院认为，被告人李某犯诈骗罪，判处有期徒刑三年。",
    "公诉机关浙江省杭州市西湖区人民检察院。",
    "经审理查明：2020年11月至2021年3月，被告人陈某强利用美团、京东注册账号，非法获利43.4万余元。",
]

log = logging.getLogger(__name__)


def int8_decision(f1_torch: float | None, f1_int8: float | None, max_drop_points: float = MAX_F1_DROP_POINTS) -> str:
    """What becomes of the int8 model: "kept" if it loses at most ``max_drop_points`` F1 points (F1 in
    0..1) against torch, "rejected" if more, "unverified" without figures.

    >>> int8_decision(0.9000, 0.8950), int8_decision(0.9000, 0.8949), int8_decision(None, None)
    ('kept', 'rejected', 'unverified')
    """
    if f1_torch is None or f1_int8 is None:
        return "unverified"
    return "kept" if round(100 * (f1_torch - f1_int8), 6) <= max_drop_points else "rejected"


class _Emissions(torch.nn.Module):
    """``TaggingModel.emissions`` as a module with positional inputs, for the tracer."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model.emissions(input_ids, attention_mask)


def _batch(tokenizer, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    enc = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="np")
    return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)


def max_logit_diff(model, session, tokenizer, texts: list[str], max_length: int) -> float:
    """Max abs difference of the logits of torch and the session over real positions: one padded batch
    of all ``texts``, then the first text alone (no padding)."""
    worst = 0.0
    for batch in (texts, texts[:1]):
        ids, mask = _batch(tokenizer, batch, max_length)
        with torch.inference_mode():
            ref = model.emissions(torch.from_numpy(ids), torch.from_numpy(mask)).float().numpy()
        out = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        worst = max(worst, float(np.abs(out - ref)[mask.astype(bool)].max()))
    return worst


def export_onnx(
    model_dir: str | Path,
    out_dir: str | Path,
    int8: bool = False,
    dev: str | Path | None = None,
    dev_format: str = "auto",
    opset: int = 17,
    max_drop_points: float = MAX_F1_DROP_POINTS,
    batch_size: int = 16,
) -> dict:
    """Write ``out_dir`` (see the module docstring) and return the report also written to ``export_report.json``."""
    import_onnxruntime("onnx")  # the exporter and quantize_dynamic need it
    ort = import_onnxruntime()
    started = time.perf_counter()
    src, out = Path(model_dir), Path(out_dir)
    load_meta(src)  # a clear error before anything is copied
    docs = []
    if dev is not None:  # read first: a bad file fails before minutes of work

        docs, _ = load_documents(str(dev), dev_format, model_label_map(src, dev))
    if out.resolve() != src.resolve():
        shutil.copytree(src, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns(ONNX_FILE, INT8_FILE, REPORT_FILE))
    for name in (ONNX_FILE, INT8_FILE, REPORT_FILE):  # never leave files of an earlier export beside new ones
        (out / name).unlink(missing_ok=True)
    model, tokenizer, meta = load_model(src, "cpu")
    check_texts = [d.text for d in docs[:4] if d.text] or CHECK_TEXTS

    log.info("exporting %s to %s", src, out / ONNX_FILE)
    _export_fp32(model, tokenizer, meta.max_length, out / ONNX_FILE, opset)
    diff = max_logit_diff(model, open_session(out / ONNX_FILE), tokenizer, check_texts, meta.max_length)
    if not diff <= MAX_LOGIT_DIFF:
        (out / ONNX_FILE).unlink()
        raise ValueError(f"{src}: the ONNX model's logits differ from torch's by {diff:.2e} (> {MAX_LOGIT_DIFF:g}); "
                         "not kept. Try another --opset")
    report = {
        "model": str(src), "head": meta.head,
        "exporter": f"torch.onnx.export(dynamo=False), opset {opset}",
        "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__},
        "sizes_mb": {"model.safetensors": _mb(src / "model.safetensors"), ONNX_FILE: _mb(out / ONNX_FILE)},
        "max_abs_logit_diff": {"onnx": diff},
        "check_texts": len(check_texts),
    }
    files = {"torch": None, "onnx": out / ONNX_FILE}
    if int8:
        log.info("quantising to %s", out / INT8_FILE)
        _quantise(out / ONNX_FILE, out / INT8_FILE)
        files["onnx-int8"] = out / INT8_FILE
        report["sizes_mb"][INT8_FILE] = _mb(out / INT8_FILE)
        report["max_abs_logit_diff"]["onnx-int8"] = max_logit_diff(model, open_session(out / INT8_FILE), tokenizer,
                                                                   check_texts, meta.max_length)
    f1 = {}
    if docs:
        f1 = dev_f1(model, tokenizer, meta, files, docs, batch_size)
        report["dev"] = {"file": str(dev), "format": dev_format, "documents": len(docs), "f1": f1,
                         "delta_points": {k: round(100 * (v - f1["torch"]), 4) for k, v in f1.items() if k != "torch"}}
    if int8:
        decision = int8_decision(f1.get("torch"), f1.get("onnx-int8"), max_drop_points)
        report["int8"] = {"settings": INT8_SETTINGS, "max_drop_points": max_drop_points, "decision": decision}
        if decision == "rejected":
            (out / INT8_FILE).unlink()
            del report["sizes_mb"][INT8_FILE]
        elif decision == "unverified":
            log.warning("no --dev file: %s is kept unchecked; its F1 may be lower than the fp32 model's", INT8_FILE)
    report["seconds"] = round(time.perf_counter() - started, 1)
    (out / REPORT_FILE).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    write_card(out)  # the card now states the export's figures too
    return report


def _export_fp32(model, tokenizer, max_length: int, path: Path, opset: int) -> None:
    ids, mask = _batch(tokenizer, CHECK_TEXTS[:2], max_length)  # padded: an all-ones mask might be traced away
    axes = {0: "batch", 1: "seq"}
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about every Python-level shape test in the encoder; the logit check is what counts.
        warnings.simplefilter("ignore")
        torch.onnx.export(_Emissions(model).eval(), (torch.from_numpy(ids), torch.from_numpy(mask)), str(path),
                          dynamo=False, opset_version=opset, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes={n: axes for n in ("input_ids", "attention_mask", "logits")})


def _quantise(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    settings = dict(INT8_SETTINGS, weight_type=QuantType[INT8_SETTINGS["weight_type"]])
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a line per tensor on the root logger
    try:
        quantize_dynamic(str(src), str(dst), **settings)
    finally:
        root.setLevel(level)


def dev_f1(model, tokenizer, meta, files: dict, docs, batch_size: int = 16) -> dict[str, float]:
    """Exact-span micro-F1 on ``docs`` per engine: ``files`` maps a name to an ONNX file, or None for torch."""

    threads = torch.get_num_threads()  # the same for every engine
    f1 = {}
    for name, path in files.items():
        log.info("tagging %d dev documents with %s", len(docs), name)
        session = None if path is None else open_session(path, threads)
        tagger = Tagger(model, tokenizer, meta, "cpu", batch_size, session=session)
        f1[name] = evaluate_documents(tagger, docs)["micro"]["f1"]
    return f1


def format_report(report: dict) -> str:
    """A few lines for the terminal: sizes, logit differences, F1 figures, the int8 decision."""
    diffs = report["max_abs_logit_diff"].items()
    lines = ["sizes: " + ", ".join(f"{k} {v:,.1f} MB" for k, v in report["sizes_mb"].items()),
             "max abs logit difference to torch: " + ", ".join(f"{k} {v:.2e}" for k, v in diffs)]
    if "dev" in report:
        dev = report["dev"]
        lines.append(f"dev micro-F1 on {dev['documents']} documents: "
                     + ", ".join(f"{k} {v:.4f}" for k, v in dev["f1"].items())
                     + "; change in points: " + ", ".join(f"{k} {v:+.2f}" for k, v in dev["delta_points"].items()))
    if "int8" in report:
        decision = report["int8"]["decision"]
        why = {"kept": f"it loses at most {report['int8']['max_drop_points']} F1 points",
               "rejected": f"it loses more than {report['int8']['max_drop_points']} F1 points; file deleted",
               "unverified": "WARNING: not checked on a dev file (give --dev)"}[decision]
        lines.append(f"int8 model: {decision} ({why})")
    return "\n".join(lines)


def _mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1) if path.is_file() else 0.0
