"""Label maps: how the label codes of public data sets become the judgment schema's labels.

A :class:`LabelMap` is applied while reading (see :func:`nlp_judgments.data.formats.read_documents`):
native labels missing from the mapping are dropped and counted, and an optional ``allowed`` set
turns any other label into a data error. :data:`LABEL_MAPS` holds the shipped presets; their
targets are labels of ``schema.LABELS`` (a test checks this).

Left out: the label set itself (``schema.py``) and label ids for tags (``encoding.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

# The ten CAIL2021-IE codes in the order the released files list them; the CAIL2021 writer emits
# all of them (empty lists included) because that is what the competition's scorer expects.
CAIL2021_LABELS = ("NHCS", "NHVI", "NCSM", "NCGV", "NASI", "NT", "NS", "NO", "NATS", "NCSP")

# Presets from public data sets' codes to the judgment schema's labels (schema.LABELS).
LABEL_MAPS: dict[str, dict[str, str]] = {
    # NASI (stolen goods) and NATS (tools) have no counterpart in the judgment label set, so they
    # are dropped. The three money codes collapse into AMOUNT; where two of them mark the same
    # characters the result is a duplicate, dropped and counted.
    "cail2021_to_judgment": {
        "NHCS": "DEFENDANT",
        "NHVI": "PERSON",
        "NCSM": "AMOUNT",
        "NCGV": "AMOUNT",
        "NCSP": "AMOUNT",
        "NT": "DATE",
        "NS": "LOCATION",
        "NO": "ORG",
    },
    # CAIL2022 does not tell defendants from other people, so Nh can only become PERSON (defendants
    # included: a model trained on both sets meets the two sets disagreeing on defendants). Drug
    # (NDR) and weight (NW) are dropped: the judgment schema (schema.py) has no such labels and
    # says a weight such as 2.36克 is not an AMOUNT. Read with label_map=None to keep them.
    "cail2022_to_judgment": {
        "Nh": "PERSON",
        "NT": "DATE",
        "Ns": "LOCATION",
    },
}


@dataclass(frozen=True)
class LabelMap:
    """How native labels become ours while reading.

    ``mapping=None`` keeps native labels unchanged. Otherwise a native label missing from
    ``mapping`` is dropped (and counted in :attr:`ReadStats.dropped`). ``allowed``, if given, is the
    label set mapped labels must belong to; one outside it is a :class:`DataError`.

    >>> LabelMap({"NHCS": "DEFENDANT"}).target("NHCS"), LabelMap({"NHCS": "DEFENDANT"}).target("NASI")
    ('DEFENDANT', None)
    """

    mapping: Mapping[str, str] | None = None
    allowed: frozenset[str] | None = None

    @classmethod
    def resolve(
        cls, label_map: Mapping[str, str] | str | None, allowed: Iterable[str] | None = None
    ) -> LabelMap:
        """Build from a mapping, a :data:`LABEL_MAPS` preset name, or None (identity)."""
        if isinstance(label_map, str):
            if label_map not in LABEL_MAPS:
                raise ValueError(f"unknown label map {label_map!r} (presets: {', '.join(LABEL_MAPS)})")
            label_map = LABEL_MAPS[label_map]
        return cls(
            dict(label_map) if label_map is not None else None,
            frozenset(allowed) if allowed is not None else None,
        )

    def target(self, native: str) -> str | None:
        """Our label for ``native``, or None when it is to be dropped."""
        if self.mapping is None:
            return native
        return self.mapping.get(native)
