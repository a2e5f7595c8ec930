"""The one error search raises: a request that cannot be searched, as a 400 OperationOutcome."""

from __future__ import annotations

from huitong.fhir.errors import FhirError, Issue


class SearchError(FhirError):
    """A search request this server cannot carry out (unknown parameter, bad value, bad modifier)."""

    def __init__(self, diagnostics: str, status: int = 400) -> None:
        super().__init__(status, [Issue("error", "invalid" if status == 400 else "not-supported", diagnostics)])
