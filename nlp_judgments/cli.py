"""The ``nlp-judgments`` command: argument parsing only; every subcommand calls a library function.

Errors the user can fix (bad config, bad data, missing model folder) are printed as one line
naming the file, line and reason, with exit status 2: never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from nlp_judgments.data.columns import column_pairs
from nlp_judgments.data.names import FORMATS, WRITABLE_FORMATS
from nlp_judgments.spans import DataError
from nlp_judgments.tagging.encoders.e5 import EncoderBuildError
from nlp_judgments.tagging.options import BACKENDS, MAX_LENGTH
from nlp_judgments.training.config import ConfigError

COLUMNS_HELP = "a datasets table's columns as KEY=COLUMN pairs (keys: text id spans tokens tags joiner), e.g. tags=labels"
RULES_HELP = ("one tagger with the rule pre-labeller: its spans are kept, the model's fill the rest; each entity "
              "says its source (judgment-schema models only)")
BACKEND_HELP = ("auto/torch: the torch model; torch-bf16: the same in bfloat16 (fast on CPUs with AVX512-BF16 or AMX, "
                "and GPUs); onnx, onnx-int8: the ONNX files of a folder written by `export --onnx`, "
                "on the CPU with --threads ONNX Runtime threads")


def _cmd_train(args: argparse.Namespace, overrides: list[str]) -> int:
    from nlp_judgments.training.config import load_config
    from nlp_judgments.training.loop import train

    config = load_config(args.config, overrides)
    if args.print_config:
        print(config.to_yaml())
        return 0
    result = train(config)
    if result.is_main_process:
        print(f"trained {result.steps} updates in {result.seconds:.1f}s; best dev F1: "
              f"{'n/a' if result.best_f1 is None else f'{result.best_f1:.4f}'}; model: {result.output_dir / 'model-best'}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from nlp_judgments.tagging.evaluate import evaluate
    from nlp_judgments.tagging.metrics import format_table

    label_map = "model" if args.label_map is None else (None if args.label_map == "none" else args.label_map)
    scores = evaluate(args.model, args.data, args.format, label_map, args.output, args.batch_size, args.columns, args.split)
    print(format_table(scores))
    if scores.get("seqeval_strict_micro_f1") is not None:
        print(f"seqeval strict micro-F1 (cross-check): {scores['seqeval_strict_micro_f1']:.4f}")
    for kind, examples in scores["error_examples"].items():
        print(f"{kind}: " + " | ".join(examples[:3]))
    if scores["labels_not_in_model"]:
        print(f"warning: gold labels the model does not predict: {', '.join(scores['labels_not_in_model'])}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from nlp_judgments.data.formats import convert

    label_map = None if args.label_map in (None, "none") else args.label_map
    options = {k: v for k, v in (("columns", args.columns), ("split", args.split)) if v is not None}
    if options and args.input_format not in ("auto", "datasets"):
        raise ValueError(f"--columns and --split read datasets tables, not --from {args.input_format}")
    stats = convert(args.input, args.input_format, args.output, args.output_format, label_map=label_map, read_options=options)
    print(json.dumps(stats.to_dict(), ensure_ascii=False))
    return 0


def _cmd_to_labelstudio(args: argparse.Namespace) -> int:
    from nlp_judgments.data.formats import predictions_from_tagged

    stats = predictions_from_tagged(args.input, args.output, model_version=args.model_version, config=args.config)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


def _cmd_prelabel(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.corpus import prelabel_files

    stats = prelabel_files([Path(p) for p in args.inputs], Path(args.output), progress=not args.quiet)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


def _cmd_tag(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.corpus import TagOptions, tag_corpus
    from nlp_judgments.apps.corpus_output import describe_os_error

    shard = None
    if args.shard:
        try:
            rank, world = (int(x) for x in args.shard.split("/"))
        except ValueError:
            raise ValueError(f"--shard {args.shard!r}: expected RANK/WORLD, e.g. 0/4") from None
        shard = (rank, world)
    if not args.records and args.entities is False:
        raise ValueError("--no-entities leaves nothing to write: add --records")
    opts = TagOptions(records=args.records, entities=args.entities if args.entities is not None else not args.records,
                      include_text=args.include_text, max_chars=args.max_chars, chunk_chars=args.chunk_chars,
                      progress=not args.quiet)
    if args.model is None:  # the rules alone: no torch, rule speed
        from nlp_judgments.legal.rule_tagger import RuleTagger

        if args.rules:
            raise ValueError("--rules combines a --model with the rules; without --model the rules tag alone")
        make_tagger = RuleTagger
    else:
        make_tagger = _model_tagger(args)

    output = None if args.output in (None, "-") else Path(args.output)
    try:
        stats = tag_corpus(make_tagger, args.inputs or ["-"], output, opts, shard)
    except OSError as e:  # a full disk, a read-only folder: the user's to fix, said in one line
        raise ValueError(describe_os_error(e)) from e
    print(json.dumps(stats.to_dict(), ensure_ascii=False), file=sys.stderr)
    return 0


def _model_tagger(args: argparse.Namespace):
    """A function that loads ``--model`` as ``tag`` asked for, after checking the folder."""
    from nlp_judgments.tagging.tagger import Tagger

    model = Path(args.model)
    if not (model / "nlp_judgments.json").is_file():
        raise FileNotFoundError(f"{model}: not a model folder (no nlp_judgments.json); give model-best/ of a training run")
    if args.backend.startswith("onnx"):
        from nlp_judgments.tagging.onnx import onnx_file

        onnx_file(model, int8=args.backend == "onnx-int8")  # fail before any input is read
    return lambda: Tagger.load(model, device=args.device, batch_size=args.batch_size,
                               num_threads=args.threads or None, backend=args.backend, rules=args.rules)


def _cmd_encoder(args: argparse.Namespace) -> int:
    from nlp_judgments.tagging.encoders.builtin import resolve_encoder

    print(resolve_encoder(args.name))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.demo import run_demo

    run_demo(Path(args.output), quick=args.quick)
    return 0


def _cmd_review(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.review import write_review

    stats = write_review(args.input, args.output, limit=args.limit)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


def _cmd_curves(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.curves import plot_curves

    try:
        print(plot_curves(args.run_dir, args.output))
    except ImportError as e:  # matplotlib is an extra: say how to get it, in one line
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from nlp_judgments.apps.server import ServerSettings, serve
    except ImportError as e:  # fastapi and uvicorn are an extra: say how to get them, in one line
        print(f"error: {e}; `serve` needs the serve extra: pip install 'nlp_judgments[serve]'", file=sys.stderr)
        return 2

    settings = ServerSettings(batch_size=args.batch_size, max_batch_wait_ms=args.max_batch_wait_ms,
                              max_body_bytes=args.max_body_bytes, max_chars=args.max_chars,
                              max_texts=args.max_texts, max_queue=args.max_queue, timeout_s=args.timeout,
                              body_timeout_s=args.body_timeout)
    serve(args.model, args.host, args.port, settings, threads=args.threads or None, device=args.device,
          backend=args.backend, rules=args.rules)
    return 0


def _cmd_trim_vocab(args: argparse.Namespace) -> int:
    from nlp_judgments.tools.corpus_texts import read_corpus_texts
    from nlp_judgments.tools.vocab import format_report, trim_vocabulary

    report = trim_vocabulary(args.src, args.output, read_corpus_texts(args.corpus), pretokenize=args.pretokenize,
                             fallback=args.keep_chars, verify_docs=args.verify_docs)
    print(format_report(report))
    return 0


def _cmd_adapt_encoder(args: argparse.Namespace) -> int:
    from nlp_judgments.tools.adapt import AdaptSettings, adapt_encoder, format_report

    settings = AdaptSettings(pretokenize=args.pretokenize, max_length=args.max_length, epochs=args.epochs,
                             batch_size=args.batch_size, lr=args.lr, mask_prob=args.mask_prob,
                             freeze_embeddings=not args.train_embeddings, bf16=args.bf16, seed=args.seed,
                             threads=args.threads)
    print(format_report(adapt_encoder(args.src, args.output, args.corpus, settings, progress=not args.no_progress)))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from nlp_judgments.tools.export import export_onnx, format_report

    report = export_onnx(args.model, args.output, int8=args.int8, dev=args.dev, dev_format=args.dev_format,
                         opset=args.opset)
    print(format_report(report))
    print(f"wrote {Path(args.output) / 'export_report.json'}")
    return 0


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
    p.add_argument("-o", "--output", help="output JSONL (resumable); default: stdout")
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


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    if not verbose:
        # Our own log says what matters (labels, alignment, scores); the libraries' per-call
        # load reports, checkpoint lines and file-writing bars drown it. Said through the variables
        # they read at import, so that a command that needs no model never imports transformers.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if "transformers" in sys.modules:  # imported already (a caller in the same process)
            sys.modules["transformers"].utils.logging.set_verbosity_error()
            sys.modules["transformers"].utils.logging.disable_progress_bar()
        logging.getLogger("accelerate").setLevel(logging.WARNING)
        os.environ.setdefault("DATASETS_VERBOSITY", "error")  # read when datasets is imported, if a table is read
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "train":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    _configure_logging(args.verbose)
    try:
        if args.command == "train":
            return _cmd_train(args, extra)
        handler = {"evaluate": _cmd_evaluate, "convert": _cmd_convert, "prelabel": _cmd_prelabel, "tag": _cmd_tag,
                   "to-labelstudio": _cmd_to_labelstudio, "encoder": _cmd_encoder, "demo": _cmd_demo,
                   "review": _cmd_review, "curves": _cmd_curves, "serve": _cmd_serve,
                   "trim-vocab": _cmd_trim_vocab, "export": _cmd_export,
                   "adapt-encoder": _cmd_adapt_encoder}[args.command]
        return handler(args)
    except (ConfigError, DataError, FileNotFoundError, EncoderBuildError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # model folders, encoders: user-fixable, said in one line
        if args.verbose:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
