"""The v2 → FHIR vocabulary this package needs, generated from the v2-to-FHIR IG into ``vocabulary.json``
by ``scripts/gen_v2_vocabulary.py`` (never read from ``../shared`` at run time)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

V2_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-"


@cache
def _vocabulary() -> dict[str, Any]:
    text = resources.files("huitong.ingest.hl7v2.to_fhir").joinpath("vocabulary.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def concept(map_name: str, code: str) -> tuple[str, str, str] | None:
    """(FHIR code, display, system) that the IG's concept map ``map_name`` gives for a v2 code."""
    found = _vocabulary()[map_name].get(code)
    return (found[0], found[1], found[2]) if found else None


def target(map_name: str, code: str) -> str | None:
    """Just the FHIR code of :func:`concept`."""
    found = concept(map_name, code)
    return found[0] if found else None


def display(table: str, code: str) -> str:
    """The display of ``code`` in HL7 table ``table`` (e.g. ``"0203"``); empty when unknown."""
    return str(_vocabulary()["tables"].get(table, {}).get(code, ""))


def v2_coding(table: str, code: str) -> dict[str, str]:
    """A Coding in the v2 table's code system, with the table's display when known."""
    coding = {"system": V2_SYSTEM + table, "code": code}
    shown = display(table, code)
    if shown:
        coding["display"] = shown
    return coding
