"""What a batch quality run decodes of each resource: only the top-level elements its rules read (each rule
declares them, ``fields``), through a projecting JSON decoder, and the facts of a patient that rules about
diagnoses need."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any, TypedDict

import msgspec
import orjson

from huitong.quality.rule import ALWAYS_DECODED, PatientFacts, ResourceRule, SetRule

FhirRule = ResourceRule | SetRule


#: The elements of a Patient that :func:`patient_facts` reads.
PATIENT_FACTS = ("gender", "birthDate")


def decoded_fields(rtype: str, rules: Sequence[FhirRule]) -> tuple[str, ...] | None:
    """The top-level elements of ``rtype`` that ``rules`` read (with :data:`ALWAYS_DECODED`, and a patient's
    facts), or ``None`` when one of them may read any (declares no ``fields``)."""
    fields = set(ALWAYS_DECODED)
    if rtype == "Patient":
        fields.update(PATIENT_FACTS)
    for rule in rules:
        if rtype in rule.reads:
            if rule.fields is None:
                return None
            fields.update(rule.fields)
    return tuple(sorted(fields))


Decode = Callable[[bytes | str], dict[str, Any]]


def decoder(fields: tuple[str, ...] | None) -> Decode:
    """A JSON decoder that builds only ``fields`` of a resource (every element for ``None``): the elements no
    rule reads — narrative, identifiers, codings of other elements — are skipped while parsing instead of being
    built into objects and freed again (Observation 3.0 → 2.2 µs, Encounter 2.6 → 1.0 µs here). Anything the
    projection cannot decode is decoded whole; what neither can decode raises as before. Element names are
    FHIR's, ASCII names; a set with any other name is decoded whole (msgspec 0.22 matched the empty key to a
    non-ASCII field name)."""
    if fields is None or not all(f.isascii() and f.isidentifier() for f in fields):
        return orjson.loads
    return _projection(fields)


@lru_cache(maxsize=64)
def _projection(fields: tuple[str, ...]) -> Decode:
    # a TypedDict decodes to a plain dict, unknown keys skipped (msgspec); built from names known only here
    make_shape: Any = TypedDict
    project = msgspec.json.Decoder(make_shape("Decoded", dict.fromkeys(fields, Any), total=False)).decode
    loads = orjson.loads
    error = msgspec.DecodeError

    def decode(raw: bytes | str) -> dict[str, Any]:
        try:
            body: dict[str, Any] = project(raw)
        except error:
            body = loads(raw)
        return body

    return decode


def patient_facts(body: dict[str, Any]) -> PatientFacts:
    """What rules about diagnoses need to know of a patient."""
    born: date | None = None
    text = body.get("birthDate")
    if isinstance(text, str) and len(text) >= 10:
        try:
            born = date.fromisoformat(text[:10])
        except ValueError:
            born = None
    return PatientFacts(body.get("gender"), born)
