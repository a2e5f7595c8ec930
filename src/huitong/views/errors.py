"""Errors of the flattening layer: FHIRPath expressions and ViewDefinitions.

Every error the FHIRPath engine raises is a :class:`FhirPathError`; the ViewDefinition runner raises
:class:`ViewDefinitionError` for a definition that is invalid or cannot run over a resource. Callers at the
edge (CLI, API) catch :class:`ViewsError` and turn it into a message or an exit code.
"""

from __future__ import annotations


class ViewsError(Exception):
    """Base class of every error raised by :mod:`huitong.views`."""


class FhirPathError(ViewsError):
    """A FHIRPath expression could not be parsed or evaluated."""


class FhirPathSyntaxError(FhirPathError):
    """The expression text is not valid FHIRPath; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} (at character {position})")
        self.position = position


class FhirPathEvaluationError(FhirPathError):
    """The expression is valid but failed on the data (e.g. a singleton was expected and got many)."""


class ViewDefinitionError(ViewsError):
    """A ViewDefinition is invalid, or its paths failed while running it over a resource."""


class MaterialiseError(ViewsError):
    """A view could not be materialised into, or refreshed in, DuckDB."""
