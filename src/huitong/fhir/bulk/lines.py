"""The CPU half of importing NDJSON: parse a line, check its structure, prepare its search-index rows.

A function of the line alone, so ``huitong import`` runs it in worker processes (``fhir.import_processes``)
while the importing process writes the chunks before — the same checks as the one-process path, with the same
reasons for rejected lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from huitong.fhir import jsonio
from huitong.fhir.errors import FhirError
from huitong.fhir.search.index import FulltextTypes, PreparedIndex
from huitong.fhir.validate import check_structure


class Line(NamedTuple):
    """One NDJSON line read: its resource (or why it was rejected) and, for a resource with an id, its index rows."""

    number: int
    resource: dict[str, Any] | None
    reason: str | None = None
    prepared: PreparedIndex | None = None


def parse_line(number: int, line: bytes) -> Line:
    """The line parsed and structurally checked (the one-process path)."""
    try:
        return Line(number, check_structure(jsonio.loads(line)))
    except (jsonio.JsonError, FhirError) as exc:
        return Line(number, None, str(exc))


def prepare_lines(lines: Sequence[tuple[int, bytes]], fulltext_types: Sequence[str]) -> list[Line]:
    """Parse and check each line and prepare the index rows of each resource with an id (in a worker process)."""
    fulltext = FulltextTypes(fulltext_types)
    out = []
    for number, raw in lines:
        line = parse_line(number, raw)
        body = line.resource
        if body is not None and isinstance(body.get("id"), str):
            rtype = str(body["resourceType"])
            line = line._replace(prepared=PreparedIndex.of(rtype, body, fulltext=fulltext(rtype)))
        out.append(line)
    return out
