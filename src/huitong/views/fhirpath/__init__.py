"""A FHIRPath engine for FHIR R4 JSON: parse once, evaluate over plain dicts.

>>> path = compile_path("name.where(use = 'official').family")
>>> path.evaluate({"resourceType": "Patient", "name": [{"use": "official", "family": "Li"}]})
['Li']
"""

from __future__ import annotations

from huitong.views.fhirpath.engine import CompiledPath, compile_path, evaluate

__all__ = ["CompiledPath", "compile_path", "evaluate"]
