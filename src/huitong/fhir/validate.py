"""Validation of resources on their way into the store.

Two levels, chosen by benchmark (``huitong bench validation``, see docs/fhir-store.md):

* :func:`check_structure` — what every write must pass, from any producer: a JSON object of a known R4
  resource type, a valid id, FHIR JSON rules (no ``null`` outside primitive arrays, no empty strings,
  objects or arrays). It walks the tree once and costs microseconds.
* :func:`check_full` — the whole R4 model (element names, cardinalities, datatypes, regexes of
  primitives) with fhir.resources. It costs about a millisecond a resource, so it runs at the HTTP
  boundary, where resources come from outside; trusted internal producers (the HL7 v2 mapper, bulk
  import of our own exports) build resources by construction and use only the structural check.

fhir.resources ships R4B models (the R4 models need pydantic 1); R4B differs from R4 in a few
resources. The 18 R4 resource types that R4B removed are checked structurally only, and say so with a
warning issue. Neither level checks terminology bindings; that is the terminology domain's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from pydantic import ValidationError

from huitong.fhir.errors import Issue, invalid_resource
from huitong.fhir.resource_types import NOT_STORED, RESOURCE_TYPES

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_MAX_DEPTH = 64


def check_structure(resource: Any, *, expected_type: str | None = None) -> dict[str, Any]:
    """Return ``resource`` if it is a structurally valid R4 resource; raise a 400/422 FhirError if not."""
    issues = list(structure_issues(resource, expected_type=expected_type))
    if issues:
        raise invalid_resource(issues)
    return resource  # type: ignore[no-any-return]  # checked by structure_issues


def structure_issues(resource: Any, *, expected_type: str | None = None) -> Iterator[Issue]:
    """The structural problems of ``resource``, if any."""
    if not isinstance(resource, dict):
        yield Issue("error", "structure", "a resource must be a JSON object")
        return
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or rtype not in RESOURCE_TYPES:
        yield Issue(
            "error",
            "structure",
            f"unknown resourceType {rtype!r}; expected an R4 resource type",
            ("resourceType",),
        )
        return
    if rtype in NOT_STORED:
        yield Issue("error", "not-supported", f"{rtype} resources are not stored", ("resourceType",))
        return
    if expected_type is not None and rtype != expected_type:
        yield Issue(
            "error",
            "invalid",
            f"resourceType {rtype!r} does not match the URL's type {expected_type!r}",
            ("resourceType",),
        )
        return
    rid = resource.get("id")
    if rid is not None and (not isinstance(rid, str) or not ID_PATTERN.fullmatch(rid)):
        yield Issue("error", "value", "id must be 1–64 characters of A–Z, a–z, 0–9, '-' and '.'", (f"{rtype}.id",))
    meta = resource.get("meta")
    if meta is not None and not isinstance(meta, dict):
        yield Issue("error", "structure", "meta must be an object", (f"{rtype}.meta",))
    if not _clean(resource, 0):  # the quick walk finds nothing in almost every resource: no paths built
        yield from _json_rules(resource, rtype, 0)


def _clean(node: Any, depth: int) -> bool:
    """Whether :func:`_json_rules` would find nothing in ``node`` (the same rules, without the paths)."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, dict):
        if not node:
            return False
        for value in node.values():
            if value is None or not _clean(value, depth + 1):
                return False
    elif isinstance(node, list):
        if not node:
            return False
        for value in node:
            if value is not None and not _clean(value, depth + 1):
                return False
    elif isinstance(node, str) and not node.strip():
        return False
    return True


def _json_rules(node: Any, path: str, depth: int) -> Iterator[Issue]:
    if depth > _MAX_DEPTH:
        yield Issue("error", "too-costly", f"nested deeper than {_MAX_DEPTH} levels", (path,))
        return
    if isinstance(node, dict):
        if not node:
            yield Issue("error", "structure", "empty objects are not allowed in FHIR JSON", (path,))
        for key, value in node.items():
            child = f"{path}.{key}"
            if value is None:
                yield Issue("error", "structure", "null is not allowed here (leave the element out)", (child,))
            else:
                yield from _json_rules(value, child, depth + 1)
    elif isinstance(node, list):
        if not node:
            yield Issue("error", "structure", "empty arrays are not allowed in FHIR JSON", (path,))
        for i, value in enumerate(node):
            if value is not None:  # null is allowed in arrays to align primitive extensions
                yield from _json_rules(value, f"{path}[{i}]", depth + 1)
    elif isinstance(node, str) and not node.strip():
        yield Issue("error", "value", "strings must not be empty or only white space", (path,))


@cache
def _model_class(rtype: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(rtype)
    except (KeyError, ValueError):  # a type R4B removed
        return None


def has_full_model(rtype: str) -> bool:
    """Whether the full R4(B) model of ``rtype`` is available."""
    return _model_class(rtype) is not None


def check_full(resource: Any, *, expected_type: str | None = None) -> list[Issue]:
    """Validate against the structure and the R4(B) model; raise on errors, return warnings."""
    resource = check_structure(resource, expected_type=expected_type)
    rtype = resource["resourceType"]
    model = _model_class(rtype)
    if model is None:
        return [
            Issue(
                "warning",
                "informational",
                f"{rtype} was checked structurally only: the R4B model library has no {rtype}",
            )
        ]
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        raise invalid_resource([_issue_of(rtype, err) for err in exc.errors()]) from exc
    except (ValueError, TypeError) as exc:
        raise invalid_resource([Issue("error", "invalid", str(exc))]) from exc
    return []


def _issue_of(rtype: str, err: Any) -> Issue:
    path = rtype
    for part in err.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    kind = err.get("type", "")
    code = {"extra_forbidden": "structure", "missing": "required"}.get(kind, "value")
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = "unknown element (not part of the R4 resource)"
    return Issue("error", code, message, (path,))
