"""The search and operation parts of the CapabilityStatement, from what this server really supports."""

from __future__ import annotations

from functools import cache
from typing import Any

from huitong.fhir.search.params import search_params

_DEFINITION = "http://hl7.org/fhir/SearchParameter"
#: Operations and the types they apply to (None: every type).
_OPERATIONS: tuple[tuple[str, str | None], ...] = (
    ("everything", "Patient"),
    ("match", "Patient"),
    ("validate", None),
    ("meta", None),
    ("export", "Patient"),
    ("export", "Group"),
)
#: The full-text parameters (fulltext.py), searchable on every type.
_FULLTEXT = (
    {"name": "_text", "definition": f"{_DEFINITION}/DomainResource-text", "type": "string"},
    {"name": "_content", "definition": f"{_DEFINITION}/Resource-content", "type": "string"},
)
SYSTEM_OPERATIONS = (
    {"name": "meta", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-meta"},
    {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"},
)


@cache
def search_capability(rtype: str) -> dict[str, Any]:
    """``searchParam``, ``searchInclude``, ``searchRevInclude`` and ``operation`` of one resource type."""
    params = search_params(rtype)
    references = sorted(code for code, p in params.items() if p.type == "reference")
    operations = [
        {"name": name, "definition": _operation_definition(name, rtype)}
        for name, on in _OPERATIONS
        if on is None or on == rtype
    ]
    return {
        "searchInclude": ["*", *(f"{rtype}:{code}" for code in references)],
        "searchRevInclude": ["*"],
        "searchParam": [
            *(
                {"name": code, "definition": f"{_DEFINITION}/{_definition_id(rtype, code)}", "type": p.type}
                for code, p in sorted(params.items())
            ),
            *_FULLTEXT,
        ],
        "operation": operations,
    }


def _definition_id(rtype: str, code: str) -> str:
    if code.startswith("_"):
        return f"Resource-{code[1:]}"
    return f"{rtype}-{code}"


def _operation_definition(name: str, rtype: str) -> str:
    if name == "export":
        return f"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/{rtype.lower()}-export"
    if name in ("everything", "match"):
        return f"http://hl7.org/fhir/OperationDefinition/Patient-{name}"
    return f"http://hl7.org/fhir/OperationDefinition/Resource-{name}"
