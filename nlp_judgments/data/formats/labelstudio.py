"""Label Studio tasks: import annotations as documents, export documents as tasks, write a config.

Import reads a task export (a JSON array, or JSON lines) of ``{"data": {"text"}, "annotations":
[{"result": [...]}], "predictions": [...]}``: per task the most recent non-cancelled annotation,
or the most recent prediction when there is none and ``use_predictions=True``. Tasks with neither
are skipped and counted, not read as "no entity": an empty annotation and a missing one mean
different things to a tagger. Only ``labels`` results count; others (relations, choices) are
ignored and counted.

Offsets are read as code points (Label Studio >= 1.6). When a region's quoted text disagrees,
UTF-16 offsets (older Label Studio counted JavaScript string indices) are tried before giving up,
since characters outside the BMP occur in Chinese names.

Export writes our spans as ``predictions`` (pre-annotations, with ``model_version`` and per-span
``score`` if given) or ``annotations``, from_name ``label``, to_name ``text``, type ``labels``,
and keeps the document id in ``data.doc_id`` so an export reads back to the same documents.

``predictions_from_tagged`` turns the output of ``nlp-judgments tag --include-text`` into such
pre-annotation tasks, with each entity's score; corrected tasks come back through the importer above
(``nlp-judgments convert export.json train.jsonl --from labelstudio``) as training data.

Anything malformed, in an export or in tagged lines, is a :class:`~nlp_judgments.spans.DataError` naming
the file, the line and the item (the annotation by position and id, the entity by position): a
timestamp out of any clock's range, an entity that is not an object with integer offsets, a
string label and a finite score.

Left out: talking to a Label Studio server, and result types other than ``labels``.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from itertools import cycle
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence
from xml.sax.saxutils import quoteattr

from nlp_judgments.data.formats.reading import (
    Assembler,
    Mention,
    ReadStats,
    iter_json_records,
    require,
    require_object,
)
from nlp_judgments.legal.schema import LABELS
from nlp_judgments.spans import DataError, Document, Span, check_span


def read_labelstudio(path: Path, asm: Assembler, use_predictions: bool = False) -> Iterator[Document]:
    """Tasks with their most recent non-cancelled annotation (or prediction, if asked).

    Takes the Assembler that :func:`nlp_judgments.data.formats.read_documents` builds; call that instead.
    """
    for index, (lineno, task) in enumerate(iter_json_records(path)):
        task = require_object(task, path, lineno)
        data = require(task, "data", dict, path, lineno)
        text = require(data, "text", str, path, lineno)
        result = _chosen_result(task, use_predictions, path, lineno)
        if result is None:
            asm.stats.anomalies["labelstudio: tasks without annotation, skipped"] += 1
            continue
        doc_id = _labelstudio_doc_id(task, data, f"{path.stem}-{index}")
        yield asm.build(doc_id, text, _labelstudio_mentions(result, text, asm.stats, path, lineno), lineno)


def _labelstudio_doc_id(task: dict, data: dict, fallback: str) -> str:
    # Our writer keeps the document id in data.doc_id; a task's own "id" is Label Studio's.
    for value in (data.get("doc_id"), data.get("id"), task.get("id")):
        if value is not None:
            return str(value)
    return fallback


def _chosen_result(task: dict, use_predictions: bool, file: Path, line: int) -> list | None:
    # "completions" is what Label Studio called annotations before 1.0.
    annotations = task.get("annotations", task.get("completions")) or []
    if not isinstance(annotations, list):
        raise DataError("'annotations' must be a list", file, line)
    candidates = [a for a in annotations if not (isinstance(a, dict) and a.get("was_cancelled"))]
    kind = "annotation"
    if not candidates and use_predictions:
        candidates, kind = task.get("predictions") or [], "prediction"
        if not isinstance(candidates, list):
            raise DataError("'predictions' must be a list", file, line)
    if not candidates:
        return None
    for item in candidates:
        if not isinstance(item, dict) or not isinstance(item.get("result"), list):
            raise DataError("each annotation or prediction needs a list 'result'", file, line)
    # Latest by timestamp; list order breaks ties and stands in for missing timestamps.
    stamps = [_timestamp(item, f"{kind} {k}" + (f" (id {_short(item['id'])})" if "id" in item else ""), file, line)
              for k, item in enumerate(candidates)]
    latest = max(range(len(candidates)), key=lambda k: (stamps[k], k))
    return candidates[latest]["result"]


def _timestamp(item: dict, which: str, file: Path, line: int) -> float:
    """Seconds since the epoch of ``updated_at`` (else ``created_at``); -inf when there is none or it
    does not parse. A time no float or datetime can hold is a DataError naming ``which`` item."""
    key = "updated_at" if item.get("updated_at") else "created_at"
    value = item.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)  # pre-1.0 exports store epoch seconds
        except OverflowError:  # an integer beyond float range
            seconds = math.inf
        if not math.isfinite(seconds):  # also what a JSON number such as 1e999 reads as
            raise DataError(f"{which}: {key} {_short(value)} is not a time (out of range)", file, line)
        return seconds
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return -math.inf
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        try:
            return moment.timestamp()
        except (OverflowError, OSError, ValueError):  # moved out of datetime's range by its UTC offset
            raise DataError(f"{which}: {key} {value!r} is not a time (out of range)", file, line) from None
    return -math.inf


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


def _labelstudio_mentions(result: list, text: str, stats: ReadStats, file: Path, line: int) -> Iterator[Mention]:
    for item in result:
        if not isinstance(item, dict):
            raise DataError(f"result item {item!r} is not an object", file, line)
        if item.get("type") != "labels":
            stats.anomalies[f"labelstudio: ignored results of type {item.get('type')!r}"] += 1
            continue
        value = item.get("value")
        if not isinstance(value, dict) or "start" not in value or "end" not in value:
            raise DataError(f"labels region {item.get('id')!r} needs value.start and value.end", file, line)
        labels = value.get("labels")
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise DataError(f"labels region {item.get('id')!r} needs a list of strings value.labels", file, line)
        start, end = _labelstudio_offsets(value, text, stats, file, line)
        for label in labels:  # a region may carry several labels: one span each
            yield Mention(start, end, label, line)


def _labelstudio_offsets(value: dict, text: str, stats: ReadStats, file: Path, line: int) -> tuple[Any, Any]:
    start, end, quoted = value["start"], value["end"], value.get("text")
    if type(start) is not int or type(end) is not int or quoted is None or text[start:end] == quoted:
        return start, end  # the assembler reports bad offsets
    converted = _utf16_to_codepoints(text, start, end)
    if converted is not None and text[converted[0] : converted[1]] == quoted:
        stats.anomalies["labelstudio: UTF-16 offsets converted"] += 1
        return converted
    raise DataError(f"region text {quoted!r} differs from text[{start}:{end}] = {text[start:end]!r}", file, line)


def _utf16_to_codepoints(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Code-point offsets for UTF-16 offsets ``start``/``end``; None if one splits a character."""
    index = {0: 0}
    position = 0
    for i, ch in enumerate(text):
        position += 2 if ord(ch) > 0xFFFF else 1
        index[position] = i + 1
    if start in index and end in index:
        return index[start], index[end]
    return None


def write_labelstudio(
    docs: Iterable[Document],
    path: str | Path,
    kind: str = "predictions",
    model_version: str | None = None,
    scores: Mapping[str, Sequence[float]] | None = None,
) -> int:
    """Write Label Studio tasks (one JSON array) with our spans as ``predictions`` or ``annotations``.

    ``predictions`` are pre-annotations an annotator corrects; ``annotations`` import as finished
    work. ``scores`` maps a document id to one score per span, in ``doc.spans`` order; each region
    gets its score and the prediction gets the lowest, so sorting tasks by prediction score puts
    the least certain first. The document id is kept in ``data.doc_id``. Returns tasks written.
    """
    if kind not in ("predictions", "annotations"):
        raise ValueError(f"kind must be 'predictions' or 'annotations', got {kind!r}")
    tasks = [_labelstudio_task(doc, kind, model_version, (scores or {}).get(doc.id)) for doc in docs]
    Path(path).write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(tasks)


def _labelstudio_task(doc: Document, kind: str, model_version: str | None, scores: Sequence[float] | None) -> dict:
    if scores is not None and len(scores) != len(doc.spans):
        raise ValueError(f"document {doc.id!r}: {len(scores)} scores for {len(doc.spans)} spans")
    result = []
    for i, span in enumerate(doc.spans):
        region = {
            "id": f"{doc.id}-{i}",
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {
                "start": span.start,
                "end": span.end,
                "text": doc.text[span.start : span.end],
                "labels": [span.label],
            },
        }
        if scores is not None:
            region["score"] = float(scores[i])
        result.append(region)
    entry: dict[str, Any] = {"result": result}
    if kind == "predictions":
        if model_version is not None:
            entry["model_version"] = model_version
        if scores:
            entry["score"] = float(min(scores))
    return {"data": {"text": doc.text, "doc_id": doc.id}, kind: [entry]}


def predictions_from_tagged(tagged: str | Path, tasks: str | Path, model_version: str | None = None,
                            config: str | Path | None = None) -> dict:
    """Write the tagged lines of ``tagged`` (``nlp-judgments tag --include-text`` output) as Label
    Studio tasks with pre-annotations and scores; optionally the labelling config XML to ``config``.

    Error lines are skipped and counted; a line without its text is an error (re-run ``tag`` with
    ``--include-text``). Returns counts: ``tasks``, ``spans``, ``error_lines_skipped``, ``labels``.
    """
    docs, scores, skipped = [], {}, 0
    for lineno, obj in iter_json_records(Path(tagged)):
        obj = require_object(obj, Path(tagged), lineno)
        if "error" in obj:
            skipped += 1
            continue
        if not isinstance(obj.get("text"), str):
            raise DataError("no 'text' in the line: run `nlp-judgments tag` with --include-text", Path(tagged), lineno)
        entities = require(obj, "entities", list, Path(tagged), lineno)
        doc_id = str(obj.get("id") if obj.get("id") is not None else obj.get("source", f"line-{lineno}"))
        spans, doc_scores = [], []
        for k, ent in enumerate(entities):
            span, score = _tagged_entity(ent, obj["text"], f"document {doc_id!r}: entity {k}", Path(tagged), lineno)
            spans.append(span)
            doc_scores.append(score)
        docs.append(Document(doc_id, obj["text"], spans))
        scores[doc_id] = doc_scores
    write_labelstudio(docs, tasks, kind="predictions", model_version=model_version, scores=scores)
    found = {s.label for d in docs for s in d.spans}
    # The config offers every label of our schema (an annotator adds what the model missed).
    labels = list(LABELS) if found <= set(LABELS) else sorted(found)
    if config is not None:
        labelstudio_config(labels, config)
    return {"tasks": len(docs), "spans": sum(len(d.spans) for d in docs), "error_lines_skipped": skipped,
            "labels": labels}


def _tagged_entity(ent: Any, text: str, which: str, file: Path, line: int) -> tuple[Span, float]:
    """The span and score (1.0 when absent) of one entity of a tagged line; a DataError naming
    ``which`` entity when it is not an object with integer offsets in the text, a string label and
    a finite number as score."""
    if not isinstance(ent, dict) or not {"start", "end", "label"} <= ent.keys():
        raise DataError(f"{which} needs 'start', 'end' and 'label': {_short(ent)}", file, line)
    if type(ent["start"]) is not int or type(ent["end"]) is not int:  # bool is an int subclass
        raise DataError(f"{which}: offsets must be integers, got start={_short(ent['start'])} "
                        f"end={_short(ent['end'])}", file, line)
    if not isinstance(ent["label"], str):
        raise DataError(f"{which}: label must be a string, got {_short(ent['label'])}", file, line)
    span = Span(ent["start"], ent["end"], ent["label"])
    problem = check_span(span, text)
    if problem:
        raise DataError(f"{which}: {problem}", file, line)
    score = ent.get("score", 1.0)
    try:
        value = float(score) if not isinstance(score, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value):  # Label Studio reads JSON, which has no NaN or Infinity
        raise DataError(f"{which}: score must be a finite number, got {_short(score)}", file, line)
    return span, value


# Distinct, light enough for black text; cycled when there are more labels than colours.
_LABEL_COLOURS = (
    "#ff9aa2", "#ffdac1", "#e2f0cb", "#b5ead7", "#c7ceea", "#f6c6ea", "#fdfd96", "#aec6cf", "#cfcfc4", "#ffb347",
)


def labelstudio_config(labels: Iterable[str], path: str | Path | None = None) -> str:
    """The Label Studio labeling config for ``labels``; also written to ``path`` if given.

    >>> print(labelstudio_config(["PERSON"]))
    <View>
      <Labels name="label" toName="text">
        <Label value="PERSON" background="#ff9aa2"/>
      </Labels>
      <Text name="text" value="$text"/>
    </View>
    """
    unique = list(dict.fromkeys(labels))  # keeps the caller's order, which Label Studio shows
    lines = ["<View>", '  <Labels name="label" toName="text">']
    lines += [f"    <Label value={quoteattr(label)} background={quoteattr(colour)}/>"
              for label, colour in zip(unique, cycle(_LABEL_COLOURS))]
    lines += ["  </Labels>", '  <Text name="text" value="$text"/>', "</View>"]
    config = "\n".join(lines)
    if path is not None:
        Path(path).write_text(config + "\n", encoding="utf-8")
    return config
