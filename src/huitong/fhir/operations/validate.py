"""``$validate``: full R4(B) validation of a resource, answered with an OperationOutcome (never stored)."""

from __future__ import annotations

from typing import Any

from huitong.fhir.errors import FhirError, Issue
from huitong.fhir.outcome import operation_outcome
from huitong.fhir.validate import check_full


def validate_resource(body: Any, *, expected_type: str | None) -> dict[str, Any]:
    """Validate ``body`` (a resource, or a Parameters with a ``resource`` part) and report every issue."""
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        parts = [p for p in body.get("parameter") or [] if isinstance(p, dict) and p.get("name") == "resource"]
        body = parts[0].get("resource") if parts else None
    try:
        warnings = check_full(body, expected_type=expected_type)
    except FhirError as exc:
        return operation_outcome(exc.issues)
    return operation_outcome([*warnings, Issue("information", "informational", "the resource is valid")])
