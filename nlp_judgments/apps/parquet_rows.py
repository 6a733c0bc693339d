"""The rows of ``tag``'s Parquet output: one table of documents, one of defendants (``--records``).

``documents`` has one row per output line of the JSONL output, with the same values in typed columns:

    id string (null on an error row) | source string | chars int64 (null on error) | error string
    (null when tagged) | entities list<struct<start int64, end int64, label string, text string,
    score float64, source string>> | record_json string | text string

``entities`` is null with ``--no-entities``, ``record_json`` (the whole record as JSON, so that nothing
of it is lost) without ``--records``, ``text`` without ``--include-text``: every run writes the
same columns, so the parts of runs and resumes always concatenate.

``records`` has one row per defendant of each record, with the fields a table of cases needs:

    id | court | case_number | procuratorate | judgment_date | defendant | charges list<string> |
    sentence_type | months int64 | probation_months int64 | fine_yuan float64 |
    illegal_gain_yuan float64 | uncertain bool | warnings list<string>

A record without a defendant still gets one row (the defendant's columns null), so every tagged
document is in both tables. ``uncertain`` is true when any field of the row is flagged uncertain;
``warnings`` are the record's warnings that concern the row: the case's, and this defendant's (a
warning that starts with another defendant's name goes to that defendant's row).

Each table's schema carries ``nlp_judgments`` metadata (which table, which options): that is how an
existing file is known to be ``tag``'s own, and a resume with other options is refused.

Not here: files, parts, resuming and merging (``parquet_output.py``); the JSON lines (``corpus_output.py``).
"""

from __future__ import annotations

import json
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from nlp_judgments.apps.corpus_output import dump_line
from nlp_judgments.data.inputs import escape_surrogates

FORMAT_VERSION = 1  # bump when a column changes: an older file is then refused, not mixed with new rows
METADATA_KEY = b"nlp_judgments"

ENTITY = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()), ("text", pa.string()),
                    ("score", pa.float64()), ("source", pa.string())])
DOCUMENTS = pa.schema([
    ("id", pa.string()), ("source", pa.string()), ("chars", pa.int64()), ("error", pa.string()),
    ("entities", pa.list_(ENTITY)), ("record_json", pa.string()), ("text", pa.string()),
])
RECORDS = pa.schema([
    ("id", pa.string()), ("court", pa.string()), ("case_number", pa.string()), ("procuratorate", pa.string()),
    ("judgment_date", pa.string()), ("defendant", pa.string()), ("charges", pa.list_(pa.string())),
    ("sentence_type", pa.string()), ("months", pa.int64()), ("probation_months", pa.int64()),
    ("fine_yuan", pa.float64()), ("illegal_gain_yuan", pa.float64()), ("uncertain", pa.bool_()),
    ("warnings", pa.list_(pa.string())),
])
# A part file (one chunk, before the merge): the documents with each one's records rows nested.
PART = DOCUMENTS.append(pa.field("record_rows", pa.list_(pa.struct(list(RECORDS)))))
_SCHEMAS = {"documents": DOCUMENTS, "records": RECORDS, "part": PART}


def options_of(records: bool, entities: bool, include_text: bool) -> dict:
    """The run's options a file records in its metadata: those that decide which columns hold values."""
    return {"records": records, "entities": entities, "include_text": include_text}


def schema(table: str, options: dict) -> pa.Schema:
    """The schema of ``table`` (documents, records, or part: a chunk in the making) with the metadata
    that marks it ours."""
    meta = {"table": table, "version": FORMAT_VERSION, "options": options}
    return _SCHEMAS[table].with_metadata({METADATA_KEY: json.dumps(meta).encode()})


def metadata(s: pa.Schema) -> dict | None:
    """The ``nlp_judgments`` metadata of a file's schema, or ``None`` when it has none (not ours)."""
    raw = (s.metadata or {}).get(METADATA_KEY)
    try:
        meta = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return meta if isinstance(meta, dict) else None


def document_row(line: dict) -> dict:
    """The ``documents`` row of an output line.

    A lone surrogate in an error message (echoed from an exception) is written out as ``\\udXXX``,
    as in JSONL, so that the row encodes as UTF-8; a record goes through ``dump_line`` for the same
    reason. A tagged line's other strings are slices of a checked text or already safe ids and sources.

    >>> document_row({"id": None, "source": "in.jsonl:3", "error": "bad \\ud800"})["error"]
    'bad \\\\ud800'
    """
    if "error" in line:
        return {"id": line["id"], "source": line["source"], "error": escape_surrogates(line["error"])}
    record = line.get("record")
    return {"id": line["id"], "source": line["source"], "chars": line["chars"], "entities": line.get("entities"),
            "record_json": None if record is None else dump_line(record), "text": line.get("text")}


def _value(f: dict | None):
    return None if f is None else f.get("value")


def _number(f: dict | None) -> float | None:
    v = _value(f)
    return None if v is None else float(v)


_CASE_FIELDS = ("court", "case_number", "procuratorate", "judgment_date")


def _owner(warning: str, names: Sequence[str]) -> str | None:
    """The defendant a warning is about (it starts ``NAME:``), or ``None`` for the case's own."""
    return next((n for n in names if warning.startswith(f"{n}:")), None)


def record_rows(doc_id: str, record: dict) -> list[dict]:
    """The ``records`` rows of one document's record: one per defendant, or one with none.

    >>> rec = {"court": {"value": "某法院", "evidence": []}, "case_number": None, "procuratorate": None,
    ...        "judgment_date": {"value": "2021-03-04", "evidence": [], "uncertain": True},
    ...        "defendants": [], "warnings": ["judgment_date: read O as 〇", "no defendants found"]}
    >>> row, = record_rows("a", rec)
    >>> row["court"], row["defendant"], row["charges"], row["uncertain"], len(row["warnings"])
    ('某法院', None, None, True, 2)
    """
    case = {k: record.get(k) for k in _CASE_FIELDS}
    defendants = record.get("defendants") or []
    names = [n for n in (_value(d.get("name")) for d in defendants) if n]
    warnings = record.get("warnings") or []
    rows = []
    for d in defendants or [None]:
        row = {**dict.fromkeys(RECORDS.names), "id": doc_id, **{k: _value(f) for k, f in case.items()}}
        fields = list(case.values())
        if d is not None:
            sentence = d.get("sentence") or {}
            charges = d.get("charges") or []
            row.update(defendant=_value(d.get("name")), charges=[_value(c) for c in charges],
                       sentence_type=_value(sentence.get("type")), months=_value(sentence.get("months")),
                       probation_months=_value(sentence.get("probation_months")),
                       fine_yuan=_number(d.get("fine_yuan")), illegal_gain_yuan=_number(d.get("illegal_gain_yuan")))
            fields += [d.get("name"), *charges, sentence.get("type"), sentence.get("months"),
                       sentence.get("probation_months"), d.get("fine_yuan"), d.get("illegal_gain_yuan")]
        row["uncertain"] = any(isinstance(f, dict) and f.get("uncertain") for f in fields)
        row["warnings"] = [w for w in warnings if _owner(w, names) in (None, row["defendant"])]
        rows.append(row)
    return rows


def part_table(lines: Sequence[dict], options: dict) -> pa.Table:
    """A part file's table: the ``documents`` rows of ``lines`` with each one's ``records`` rows
    nested in a ``record_rows`` column, so that a chunk is one file, written whole or not at all."""
    rows = [{**document_row(line), "record_rows": None if line.get("record") is None
             else record_rows(line["id"], line["record"])} for line in lines]
    return pa.Table.from_pylist(rows, schema=schema("part", options))


def split_part(part: pa.Table, options: dict) -> tuple[pa.Table, pa.Table]:
    """A part's ``documents`` table and its ``records`` table (the nested rows, one after another)."""
    docs = part.drop_columns(["record_rows"]).replace_schema_metadata(schema("documents", options).metadata)
    nested = part["record_rows"]
    records = (pa.Table.from_struct_array(pc.list_flatten(nested)) if nested.null_count < len(nested)
               else RECORDS.empty_table())
    return docs, records.replace_schema_metadata(schema("records", options).metadata)
