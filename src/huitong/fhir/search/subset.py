"""``_summary`` and ``_elements``: subsets of resources, marked with the SUBSETTED tag as FHIR asks.

Summary elements come from the R4(B) model's ``summary_element_property`` flags (fhir.resources), so
they are the specification's, not ours.
"""

from __future__ import annotations

from functools import cache
from typing import Any

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
_ALWAYS = ("resourceType", "id", "meta")


@cache
def summary_elements(rtype: str) -> frozenset[str] | None:
    """The top-level elements of ``rtype`` marked as summary in the R4(B) model, or ``None`` if unknown."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        model = get_fhir_model_class(rtype)
    except KeyError:
        return None
    names = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("summary_element_property"):
            names.add(info.alias or name)
    return frozenset(names)


def subset(resource: dict[str, Any], *, summary: str | None, elements: tuple[str, ...]) -> dict[str, Any]:
    """``resource`` reduced as ``_summary``/``_elements`` ask (unchanged for ``_summary=false``/none)."""
    rtype = resource["resourceType"]
    keep: set[str] | None = None
    drop: set[str] = set()
    if elements:
        keep = set(elements)
    elif summary == "true":
        known = summary_elements(rtype)
        keep = set(known) if known is not None else None
    elif summary == "text":
        keep = {"text"}
    elif summary == "data":
        drop = {"text"}
    if keep is None and not drop:
        return resource
    out = {
        k: v
        for k, v in resource.items()
        if k in _ALWAYS or (keep is not None and _kept(k, keep)) or (keep is None and k not in drop)
    }
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*(meta.get("tag") or []), SUBSETTED]
    out["meta"] = meta
    return out


def _kept(key: str, keep: set[str]) -> bool:
    if key in keep:
        return True
    # choice elements: _elements=value keeps valueQuantity
    return any(key.startswith(k) and len(key) > len(k) and key[len(k)].isupper() for k in keep)
