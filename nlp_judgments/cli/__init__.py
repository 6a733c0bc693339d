"""The ``nlp-judgments`` command: argument parsing only; every subcommand calls a library function.

Errors the user can fix (bad config, bad data, missing model folder) are printed as one line
naming the file, line and reason, with exit status 2: never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys

from nlp_judgments.cli import commands
from nlp_judgments.cli.parser import build_parser
from nlp_judgments.spans import DataError
from nlp_judgments.tagging.encoders.e5 import EncoderBuildError
from nlp_judgments.training.config import ConfigError

__all__ = ["build_parser", "main"]


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
            return commands.cmd_train(args, extra)
        handler = {"evaluate": commands.cmd_evaluate, "convert": commands.cmd_convert, "prelabel": commands.cmd_prelabel, "tag": commands.cmd_tag,
                   "to-labelstudio": commands.cmd_to_labelstudio, "encoder": commands.cmd_encoder, "demo": commands.cmd_demo,
                   "review": commands.cmd_review, "curves": commands.cmd_curves, "serve": commands.cmd_serve,
                   "trim-vocab": commands.cmd_trim_vocab, "export": commands.cmd_export,
                   "adapt-encoder": commands.cmd_adapt_encoder}[args.command]
        return handler(args)
    except (ConfigError, DataError, FileNotFoundError, EncoderBuildError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # model folders, encoders: user-fixable, said in one line
        if args.verbose:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2

