"""ONNX Runtime as a tagging backend: the files an exported folder holds, and a session over them.

``onnx_file(folder, int8)`` checks that an exported folder may be used that way (the int8 model was
not rejected at export, onnxruntime is installed) and returns the file; ``open_session`` opens it
on the CPU with all graph optimisations. ``Tagger`` calls both for ``backend="onnx"``/``"onnx-int8"``.

Not here: writing those files and the F1 gate that decides on int8 (``tools.export``).
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

from nlp_judgments.tagging.artifacts import load_meta

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
REPORT_FILE = "export_report.json"
MAX_F1_DROP_POINTS = 0.5  # an int8 model may lose at most this much exact-span micro-F1 (in points, 0-100)

log = logging.getLogger(__name__)


class OnnxRuntimeMissing(ImportError, ValueError):
    """onnxruntime (or onnx) is not installed. Also a ValueError, so the CLI reports it in one line."""


def import_onnxruntime(name: str = "onnxruntime"):
    """The module ``name`` (onnxruntime or onnx), or an error naming the extra that installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise OnnxRuntimeMissing(f"{e}: ONNX export and backends need the onnx extra: "
                                 "pip install 'nlp_judgments[onnx]'") from None


def read_report(folder: str | Path) -> dict:
    path = Path(folder) / REPORT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def onnx_file(folder: str | Path, int8: bool = False) -> Path:
    """The ONNX file of an exported folder, after checking that it may be used and onnxruntime is there."""
    folder = Path(folder)
    load_meta(folder)  # a clear error for a folder that is not a model at all
    name = INT8_FILE if int8 else ONNX_FILE
    decision = read_report(folder).get("int8", {}).get("decision")
    if int8 and decision == "rejected":
        raise ValueError(f"{folder}: the int8 model was rejected at export (it lost more than {MAX_F1_DROP_POINTS} "
                         f"F1 points on the dev file, see {REPORT_FILE}); use backend onnx")
    if not (folder / name).is_file():
        how = "--onnx --int8 --dev DEV_FILE" if int8 else "--onnx"
        raise FileNotFoundError(f"{folder}: no {name}; write it with `nlp-judgments export {how} MODEL_DIR OUT_DIR`")
    if int8 and decision != "kept":
        log.warning("%s: the int8 model was not checked on a dev file at export; its F1 may be lower", folder)
    import_onnxruntime()
    return folder / name


def open_session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime CPU session with all graph optimisations; ``threads`` intra-op threads (None: ORT's default)."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
