"""What each ``nlp-judgments`` subcommand does: parse nothing, call one library function, print.

Each ``cmd_*`` imports the library it needs inside the function on purpose: ``nlp-judgments --help``
and the commands that need no model (``tag`` without ``--model``, ``prelabel``, ``convert``) must not
load torch. These are the package's only function-level imports (docs/ARCHITECTURE.md).

Not here: the parser (``parser.py``), dispatch and errors (``__init__``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_train(args: argparse.Namespace, overrides: list[str]) -> int:
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


def cmd_evaluate(args: argparse.Namespace) -> int:
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


def cmd_convert(args: argparse.Namespace) -> int:
    from nlp_judgments.data.formats import convert

    label_map = None if args.label_map in (None, "none") else args.label_map
    options = {k: v for k, v in (("columns", args.columns), ("split", args.split)) if v is not None}
    if options and args.input_format not in ("auto", "datasets"):
        raise ValueError(f"--columns and --split read datasets tables, not --from {args.input_format}")
    stats = convert(args.input, args.input_format, args.output, args.output_format, label_map=label_map, read_options=options)
    print(json.dumps(stats.to_dict(), ensure_ascii=False))
    return 0


def cmd_to_labelstudio(args: argparse.Namespace) -> int:
    from nlp_judgments.data.formats import predictions_from_tagged

    stats = predictions_from_tagged(args.input, args.output, model_version=args.model_version, config=args.config)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


def cmd_prelabel(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.corpus import prelabel_files

    stats = prelabel_files([Path(p) for p in args.inputs], Path(args.output), progress=not args.quiet)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
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


def cmd_encoder(args: argparse.Namespace) -> int:
    from nlp_judgments.tagging.encoders.builtin import resolve_encoder

    print(resolve_encoder(args.name))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.demo import run_demo

    run_demo(Path(args.output), quick=args.quick)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.review import write_review

    stats = write_review(args.input, args.output, limit=args.limit)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


def cmd_curves(args: argparse.Namespace) -> int:
    from nlp_judgments.apps.curves import plot_curves

    try:
        print(plot_curves(args.run_dir, args.output))
    except ImportError as e:  # matplotlib is an extra: say how to get it, in one line
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
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


def cmd_trim_vocab(args: argparse.Namespace) -> int:
    from nlp_judgments.tools.corpus_texts import read_corpus_texts
    from nlp_judgments.tools.vocab import format_report, trim_vocabulary

    report = trim_vocabulary(args.src, args.output, read_corpus_texts(args.corpus), pretokenize=args.pretokenize,
                             fallback=args.keep_chars, verify_docs=args.verify_docs)
    print(format_report(report))
    return 0


def cmd_adapt_encoder(args: argparse.Namespace) -> int:
    from nlp_judgments.tools.adapt import AdaptSettings, adapt_encoder, format_report

    settings = AdaptSettings(pretokenize=args.pretokenize, max_length=args.max_length, epochs=args.epochs,
                             batch_size=args.batch_size, lr=args.lr, mask_prob=args.mask_prob,
                             freeze_embeddings=not args.train_embeddings, bf16=args.bf16, seed=args.seed,
                             threads=args.threads)
    print(format_report(adapt_encoder(args.src, args.output, args.corpus, settings, progress=not args.no_progress)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from nlp_judgments.tools.export import export_onnx, format_report

    report = export_onnx(args.model, args.output, int8=args.int8, dev=args.dev, dev_format=args.dev_format,
                         opset=args.opset)
    print(format_report(report))
    print(f"wrote {Path(args.output) / 'export_report.json'}")
    return 0
