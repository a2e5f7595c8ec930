"""Errors of the FHIR domain. Each maps to one HTTP status and one OperationOutcome issue type.

The HTTP edge (:mod:`huitong.fhir.api`) turns them into OperationOutcome responses in one place; the
integration engine turns them into ACK codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue."""

    severity: str  # fatal | error | warning | information
    code: str  # IssueType: invalid, structure, required, value, not-found, deleted, conflict, …
    diagnostics: str
    expression: tuple[str, ...] = ()


@dataclass
class FhirError(Exception):
    """A FHIR request that cannot be carried out, with the status and the issues to report."""

    status: int
    issues: list[Issue] = field(default_factory=list)
    audited: bool = False  # set once the failure has its audit row

    def __str__(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues) or f"HTTP {self.status}"


def _error(status: int, code: str, diagnostics: str, expression: tuple[str, ...] = ()) -> FhirError:
    return FhirError(status, [Issue("error", code, diagnostics, expression)])


def invalid(diagnostics: str, *expression: str) -> FhirError:
    """400: the request or resource is not valid."""
    return _error(400, "invalid", diagnostics, expression)


def invalid_resource(issues: list[Issue]) -> FhirError:
    """422: the resource does not conform to the R4 model (as the FHIR spec asks for rejected content)."""
    return FhirError(422, issues)


def not_found(diagnostics: str) -> FhirError:
    """404: no such resource, version or type."""
    return _error(404, "not-found", diagnostics)


def gone(diagnostics: str) -> FhirError:
    """410: the resource was deleted."""
    return _error(410, "deleted", diagnostics)


def conflict(diagnostics: str) -> FhirError:
    """409: the write conflicts with the current state (e.g. a concurrent change)."""
    return _error(409, "conflict", diagnostics)


def precondition_failed(diagnostics: str) -> FhirError:
    """412: If-Match named a version that is not the current one."""
    return _error(412, "conflict", diagnostics)


def not_supported(diagnostics: str, status: int = 405) -> FhirError:
    """405 (or another status): the interaction is not supported."""
    return _error(status, "not-supported", diagnostics)


def forbidden(diagnostics: str) -> FhirError:
    """403: the actor may not do this."""
    return _error(403, "forbidden", diagnostics)


def unauthenticated(diagnostics: str) -> FhirError:
    """401: no valid credentials."""
    return _error(401, "login", diagnostics)
