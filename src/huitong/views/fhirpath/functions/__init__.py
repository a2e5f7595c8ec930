"""The FHIRPath function library: a registry filled by one module per group of the specification."""

from __future__ import annotations

from huitong.views.fhirpath.functions import (  # noqa: F401 - imported to register their functions
    conversion,
    existence,
    fhir,
    filtering,
    math,
    strings,
)
from huitong.views.fhirpath.functions._registry import REGISTRY, Function

__all__ = ["REGISTRY", "Function"]
