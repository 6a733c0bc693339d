"""Training data: documents split into train and dev, several sources, batches and collation.

``split_data`` reads one training file and cuts its dev block (or reads ``data.dev_file``);
``read_sources`` does the same for each of ``data.sources``. Windows come from ``windows.Encoder``;
``rank_batches`` orders them into length-bucketed batches, the same order in every process of a
distributed run; ``collate`` pads a batch and adds what the head and the sources need.

Not here: reading formats (``data.formats``), building the model (``training.build``), the loop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from nlp_judgments.data.augment import swap_apps
from nlp_judgments.data.documents import load_documents
from nlp_judgments.spans import DataError, Document
from nlp_judgments.tagging.encoding import IGNORE
from nlp_judgments.tagging.evaluate import DevSet
from nlp_judgments.tagging.heads import Head
from nlp_judgments.training.config import Config, ConfigError, SourceConfig


def split_data(config: Config) -> tuple[list[Document], list[Document], dict]:
    d = config.data
    if d.train_file is None:
        raise ConfigError("data.train_file is not set (give --data.train_file=PATH, or a data.sources list)")
    train_docs, train_stats = load_documents(d.train_file, d.format, d.label_map, d.labels, d.columns, d.split)
    dev_docs: list[Document] = []
    dev_stats: dict = {}
    if d.dev_file is not None:
        dev_docs, dev_stats = load_documents(d.dev_file, d.format, d.label_map, d.labels, d.columns, d.dev_split)
    elif d.dev_last_n:
        if d.dev_last_n >= len(train_docs):
            raise ConfigError(f"data.dev_last_n={d.dev_last_n} leaves no training data ({len(train_docs)} documents)")
        train_docs, dev_docs = train_docs[: -d.dev_last_n], train_docs[-d.dev_last_n :]
    if not train_docs:
        raise DataError("no training documents", d.train_file)
    train_docs = with_app_copies(train_docs, d.augment_apps, config.train.seed, train_stats)
    return train_docs, dev_docs, {"train": train_stats, "dev": dev_stats}


def with_app_copies(docs: list[Document], copies: int, seed: int, stats: dict) -> list[Document]:
    """The training documents plus ``copies`` app-swapped versions of those with apps (``data.augment``);
    the dev block never gets any."""
    if not copies:
        return docs
    extra = swap_apps(docs, copies, seed)
    stats["app_swapped_copies"] = len(extra)
    return docs + extra


@dataclass
class SourceData:
    """One entry of ``data.sources``, read and split into training documents and its dev block."""

    config: SourceConfig
    train_docs: list[Document]
    dev_docs: list[Document]
    read_stats: dict


def source_dev_set(src: SourceData, labels: list[str]) -> DevSet:
    """A source's dev block with what it is scored on: the labels it annotates, a predicted
    alternative (DEFENDANT for CAIL2022's PERSON) counted as the source's own label."""
    alternatives = src.config.alternatives()
    collapse = {alt: key for key, alts in alternatives.items() for alt in alts if alt != key}
    scored = list(dict.fromkeys(collapse.get(label, label) for label in src.config.annotated(labels)))
    return DevSet(src.config.name, src.dev_docs, scored, collapse)


def read_sources(config: Config) -> list[SourceData]:
    """Read every source of ``data.sources`` (labels checked against ``data.labels``) and split off
    each one's dev block: its last ``dev_last_n`` documents, contiguous as for ``data.dev_last_n``."""
    out = []
    for i, s in enumerate(config.data.sources or []):
        docs, stats = load_documents(s.file, s.format, s.label_map, config.data.labels, s.columns, s.split)
        if s.dev_last_n and s.dev_last_n >= len(docs):
            raise ConfigError(f"data.sources[{i}] ({s.name}): dev_last_n={s.dev_last_n} leaves no training data "
                              f"({len(docs)} documents)")
        cut = len(docs) - s.dev_last_n
        if not docs[:cut]:
            raise DataError("no training documents", s.file)
        out.append(SourceData(s, with_app_copies(docs[:cut], s.augment_apps, config.train.seed, stats), docs[cut:], stats))
    return out


def length_bucketed_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths: little padding, still a different order every epoch.

    Indices are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into
    batches, and the batches shuffled again.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: lengths[j])
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def rank_batches(lengths: list[int], batch_size: int, seed: int, world: int, rank: int) -> list[list[int]]:
    """This process's share of one epoch: every ``world``-th batch of one seeded order.

    The order is cut to a multiple of ``world`` so that all processes make the same number of
    updates (DDP needs that); with fewer batches than processes, each process repeats the order.
    """
    order = length_bucketed_batches(lengths, batch_size, seed)
    order = order[: len(order) - len(order) % world] if len(order) >= world else order * world
    return order[rank::world]


@dataclass
class SourceTables:
    """Per-source lookups, indexed by each window's ``"source"``: allowed tag sets ``[S, T, T]``
    (``encoding.allowed_tag_matrix``), the labels each source annotates ``[S, labels]`` and loss
    weights ``[S]``."""

    allowed: torch.Tensor
    label_masks: torch.Tensor
    weights: torch.Tensor


def collate(features: list[dict], pad_id: int, head: Head, tables: SourceTables | None = None) -> dict[str, torch.Tensor]:
    """Pad a batch of windows: ``input_ids``, ``attention_mask``, ``labels``, the head's own targets
    (``Head.batch_targets``: a span head's gold spans) and, with ``tables``, each token's allowed
    tags ``[B, L, T]``, each window's annotated labels ``[B, labels]`` and its loss weight ``[B]``."""
    width = max(len(f["input_ids"]) for f in features)
    ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    labels = torch.full((len(features), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(features), width), dtype=torch.long)
    for row, f in enumerate(features):
        n = len(f["input_ids"])
        ids[row, :n] = torch.tensor(f["input_ids"])
        labels[row, :n] = torch.tensor(f["labels"])
        mask[row, :n] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels, **head.batch_targets(features, width)}
    if tables is not None:
        source = torch.tensor([f.get("source", 0) for f in features])
        # Ignored positions look up the O row: any non-empty set will do, they carry no loss.
        batch["allowed"] = tables.allowed[source.unsqueeze(1), labels.clamp(min=0)]
        batch["label_mask"] = tables.label_masks[source]
        batch["weights"] = tables.weights[source]
    return batch
