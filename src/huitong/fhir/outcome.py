"""OperationOutcome resources built from issues."""

from __future__ import annotations

from typing import Any

from huitong.fhir.errors import FhirError, Issue


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource with one entry per issue."""
    out: list[dict[str, Any]] = []
    for issue in issues:
        item: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code,
            "diagnostics": issue.diagnostics,
        }
        if issue.expression:
            item["expression"] = list(issue.expression)
        out.append(item)
    if not out:
        out.append({"severity": "information", "code": "informational", "diagnostics": "ok"})
    return {"resourceType": "OperationOutcome", "issue": out}


def outcome_of(error: FhirError) -> dict[str, Any]:
    """The OperationOutcome that reports ``error``."""
    return operation_outcome(error.issues)


def information(diagnostics: str) -> dict[str, Any]:
    """An OperationOutcome with a single informational issue (e.g. the answer to a DELETE)."""
    return operation_outcome([Issue("information", "informational", diagnostics)])
