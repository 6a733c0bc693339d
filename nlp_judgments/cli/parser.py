"""The ``nlp-judgments`` argument parser: every subcommand, its options and their help.

Choices come from the torch-free places the library keeps them (``data.names``, ``tagging.options``),
so the command offers exactly what the library accepts, and ``--help`` loads no ML stack.

Not here: what each subcommand does (``commands.py``), dispatch and errors (``__init__``).
"""

from __future__ import annotations

import argparse

from nlp_judgments.data.columns import column_pairs
from nlp_judgments.data.names import FORMATS, WRITABLE_FORMATS
from nlp_judgments.tagging.options import BACKENDS, MAX_LENGTH

COLUMNS_HELP = "a datasets table's columns as KEY=COLUMN pairs (keys: text id spans tokens tags joiner), e.g. tags=labels"
RULES_HELP = ("one tagger with the rule pre-labeller: its spans are kept, the model's fill the rest; each entity "
              "says its source (judgment-schema models only)")
BACKEND_HELP = ("auto/torch: the torch model; torch-bf16: the same in bfloat16 (fast on CPUs with AVX512-BF16 or AMX, "
                "and GPUs); onnx, onnx-int8: the ONNX files of a folder written by `export --onnx`, "
                "on the CPU with --threads ONNX Runtime threads")


def _encoder_corpus_args(p: argparse.ArgumentParser, src_help: str, output_help: str, corpus_note: str = "") -> None:
    """The source folder, output folder and corpus arguments that trim-vocab and adapt-encoder share."""
    p.add_argument("src", help=src_help)
    p.add_argument("-o", "--output", required=True, help=output_help)
    p.add_argument("--corpus", nargs="+", required=True,
                   help="JSONL/JSON with a text, context (CAIL2021) or sentText (CAIL2022) field, .txt files or folders"
                        + corpus_note)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlp-judgments", description="Tag entities in Chinese criminal judgments.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a tagger from a YAML config",
                       description="Train from a YAML config; any key can be overridden: --train.lr=3e-5 "
                                   "--data.train_file=PATH --data.dev_file=PATH --output_dir=PATH")
    p.add_argument("--config", help="YAML file (see configs/); defaults apply without one")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")

    p = sub.add_parser("evaluate", help="score a model folder on a labelled file")
    p.add_argument("--model", required=True, help="a model folder (model-best/ or model-last/)")
    p.add_argument("--data", required=True, help="a data file, or a datasets folder (save_to_disk or hub layout)")
    p.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    p.add_argument("--label-map", help="preset name, or 'none'; default: the map the model was trained with")
    p.add_argument("--output", help="write the full metrics JSON here")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--columns", type=column_pairs, help=COLUMNS_HELP + "; default: as the model was trained")
    p.add_argument("--split", help="the split of a datasets folder with several (e.g. test)")

    p = sub.add_parser("convert", help="convert between data formats")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--from", dest="input_format", default="auto", choices=("auto", *FORMATS))
    p.add_argument("--to", dest="output_format", default="spans", choices=WRITABLE_FORMATS)
    p.add_argument("--label-map", help="preset name from formats.LABEL_MAPS, or 'none'")
    p.add_argument("--columns", type=column_pairs, help=COLUMNS_HELP)
    p.add_argument("--split", help="the split of a datasets folder with several")

    p = sub.add_parser("to-labelstudio", help="tagged output as Label Studio tasks with pre-annotations",
                       description="Turn `tag --include-text` output into Label Studio tasks whose predictions "
                                   "(with scores) an annotator corrects; read the corrected export back with "
                                   "`convert EXPORT.json train.jsonl --from labelstudio`.")
    p.add_argument("input", help="output JSONL of `tag --include-text`")
    p.add_argument("-o", "--output", required=True, help="tasks JSON to import into Label Studio")
    p.add_argument("--model-version", help="shown by Label Studio beside the predictions")
    p.add_argument("--config", help="also write the labelling config XML here")

    p = sub.add_parser("prelabel", help="rule-based silver spans for raw judgments")
    p.add_argument("inputs", nargs="+", help="JSONL with id and text, or folders of .txt")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("tag", help="tag a corpus: JSON lines with entities and/or case records",
                       description="Tag JSONL files ({id, text} per line), .txt files or folders of .txt "
                                   "(stdin if none). Re-running the same command resumes; under "
                                   "`accelerate launch` the corpus is sharded across processes.")
    p.add_argument("--model", help="a model folder (model-best/ or model-last/); without one the rules tag alone")
    p.add_argument("inputs", nargs="*", help="JSONL files, .txt files or folders; '-' or none: JSONL on stdin")
    p.add_argument("--rules", action="store_true", help=RULES_HELP)
    p.add_argument("-o", "--output", help="output JSONL, or Parquet when it ends in .parquet (typed columns; with "
                                          "--records also OUT.records.parquet, a row per defendant); resumable; "
                                          "default: JSONL on stdout")
    p.add_argument("--records", action="store_true", help="add a case record (model + rule spans) to each line")
    p.add_argument("--entities", action=argparse.BooleanOptionalAction, default=None,
                   help="write the entity list (default: yes, or no when --records is given)")
    p.add_argument("--include-text", action="store_true", help="copy each text into its line (for `review`)")
    p.add_argument("--max-chars", type=int, default=200_000, help="longer texts get an error line")
    p.add_argument("--chunk-chars", type=int, default=100_000, help="characters tagged and written together")
    p.add_argument("--batch-size", type=int, default=16, help="windows per forward pass")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--device", help="cpu, cuda, cuda:1... (default: cuda if available; under accelerate, "
                                    "each process its own GPU)")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help=BACKEND_HELP)
    p.add_argument("--shard", help="RANK/WORLD: tag only this shard (set by accelerate launch otherwise)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("encoder", help="build a built-in encoder into the cache and print its folder")
    p.add_argument("name", nargs="?", default="builtin:e5-small")

    p = sub.add_parser("demo", help="train on the bundled judgments, tag a held-out one, print the result")
    p.add_argument("--output", default="runs/demo")
    p.add_argument("--quick", action="store_true", help="tiny random encoder: seconds, for smoke tests")

    p = sub.add_parser("review", help="write a self-contained HTML page to read tagged judgments",
                       description="Highlight the entities of each judgment in the output of `tag` and show its "
                                   "case record beside it; lines need their text (`tag --include-text`).")
    p.add_argument("input", help="output JSONL of `tag`")
    p.add_argument("-o", "--output", default="review.html")
    p.add_argument("--limit", type=int, help="show only the first N lines")

    p = sub.add_parser("curves", help="plot training loss and dev F1 of a run to a PNG (needs the plot extra)")
    p.add_argument("run_dir", help="a training output folder (with train_log.jsonl), or the log itself")
    p.add_argument("-o", "--output", help="PNG path; default: RUN_DIR/curves.png")

    # Defaults mirror server.ServerSettings (importing it needs the serve extra); a test keeps them equal.
    p = sub.add_parser("serve", help="serve a model over HTTP: entities and case records as JSON (needs the serve extra)",
                       description="POST /v1/tag or /v1/records with {\"texts\": [...]}; GET /healthz; the OpenAPI "
                                   "document at /openapi.json. Concurrent requests share model calls (micro-batching).")
    p.add_argument("--model", required=True, help="a model folder (model-best/ or model-last/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=16,
                   help="most texts per model call, and windows per forward pass (default: %(default)s)")
    p.add_argument("--max-batch-wait-ms", type=float, default=5.0,
                   help="how long a request may wait for others to share its model call (default: %(default)s)")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, help="larger request bodies get 413 (default: %(default)s)")
    p.add_argument("--max-chars", type=int, default=200_000, help="longer texts get 413 (default: %(default)s)")
    p.add_argument("--max-texts", type=int, default=64, help="more texts in one request get 422 (default: %(default)s)")
    p.add_argument("--max-queue", type=int, default=256,
                   help="texts waiting for the model; a request beyond gets 503 with Retry-After (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request before 504 (default: %(default)s)")
    p.add_argument("--body-timeout", type=float, default=10.0,
                   help="seconds to receive a request body once its headers are in, before 408 (default: %(default)s)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--device", help="cpu, cuda, cuda:1... (default: cuda if available)")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help=BACKEND_HELP)
    p.add_argument("--rules", action="store_true", help=RULES_HELP)

    p = sub.add_parser("export", help="copy a model folder and add an ONNX model (and an int8 one, if it keeps F1)",
                       description="Copy MODEL_DIR to OUT_DIR and add model.onnx (checked against torch), with --int8 "
                                   "model.int8.onnx, kept only if its dev micro-F1 is at most 0.5 points below torch's "
                                   "(needs --dev), and export_report.json. Tag with `tag --backend onnx|onnx-int8`.")
    p.add_argument("--onnx", action="store_true", required=True, help="export to ONNX (the only format)")
    p.add_argument("--int8", action="store_true", help="also write a dynamically quantised int8 model")
    p.add_argument("--dev", help="labelled file on which the int8 model must keep its F1 (without it: unverified)")
    p.add_argument("--dev-format", default="auto", choices=("auto", *FORMATS))
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    p.add_argument("model", metavar="MODEL_DIR", help="a model folder (model-best/ or model-last/)")
    p.add_argument("output", metavar="OUT_DIR", help="the folder to write (may be MODEL_DIR itself)")

    p = sub.add_parser("trim-vocab", help="keep only the word pieces a corpus needs: a smaller encoder, same outputs",
                       description="Copy an encoder or model folder with a tokenizer and word embedding cut down to "
                                   "the pieces the corpus uses (plus single characters, see --keep-chars); checks "
                                   "that corpus text tokenizes and encodes identically before installing it.")
    _encoder_corpus_args(p, "an encoder folder, a model folder (model-best/), or builtin:e5-small",
                         "the trimmed folder (a normal HF folder)")
    p.add_argument("--keep-chars", default="all-cjk", choices=["all-cjk", "corpus"],
                   help="all-cjk: also every single CJK/ASCII/full-width character piece, so unseen text does not "
                        "become <unk> (default); corpus: only what the corpus uses")
    p.add_argument("--pretokenize", choices=["cjk_chars", "none"],
                   help="pre-tokenization to collect and check pieces under (default: a model folder's own, else cjk_chars)")
    p.add_argument("--verify-docs", type=int, default=2000,
                   help="corpus documents (evenly spaced) that must tokenize identically; 0: all (default: %(default)s)")
    p = sub.add_parser("adapt-encoder", help="continue masked-LM pretraining of an encoder on unlabelled judgments",
                       description="Domain adaptation: masked-LM training of an encoder on unlabelled text under the "
                                   "tagger's pre-tokenization; writes an encoder folder for model.name_or_path and "
                                   "adapt_report.json (held-out masked-token loss and accuracy before and after).")
    _encoder_corpus_args(p, "an encoder folder (e.g. a trim-vocab output), a hub name, or builtin:e5-small",
                         "the adapted encoder folder", "; leave out the text of any dev or test set you will score on")
    p.add_argument("--pretokenize", default="cjk_chars", choices=["cjk_chars", "none"],
                   help="as the tagger will use (default: %(default)s)")
    p.add_argument("--max-length", type=int, default=MAX_LENGTH, help="tokens per block (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--mask-prob", type=float, default=0.15)
    p.add_argument("--train-embeddings", action="store_true", help="train the word embeddings too (default: frozen)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (fast on CPUs with AVX512-BF16 or AMX)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true")
    return parser
