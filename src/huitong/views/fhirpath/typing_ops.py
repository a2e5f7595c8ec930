"""``is``, ``as`` and ``ofType``: matching items against FHIR and System type names."""

from __future__ import annotations

from typing import Literal

from huitong.views.errors import FhirPathEvaluationError, FhirPathSyntaxError
from huitong.views.fhirpath import model
from huitong.views.fhirpath.context import Collection
from huitong.views.fhirpath.nodes import TypeSpec
from huitong.views.fhirpath.values import Node, to_system, type_name

SYSTEM_TYPES = frozenset({"Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity", "Any"})


def check_type_spec(spec: TypeSpec) -> None:
    """Refuse a type name that is neither a System type nor a FHIR R4 type."""
    if spec.namespace not in (None, "System", "FHIR"):
        raise FhirPathSyntaxError(f"unknown type namespace {spec.namespace!r}")
    if spec.namespace == "System":
        return
    if spec.name in SYSTEM_TYPES and spec.namespace is None:
        return
    if not model.is_known_type(spec.name):
        raise FhirPathSyntaxError(f"unknown type {spec.name!r}")


def is_of_type(item: object, spec: TypeSpec, exact: bool) -> bool:
    """Whether ``item`` is of type ``spec`` (``exact``: no subtypes, as ``as``/``ofType`` want)."""
    if isinstance(item, Node):
        if spec.namespace == "System":
            return False
        _namespace, name = type_name(item)
        if exact:
            return name == spec.name
        return spec.name in model.ancestors(name)
    if spec.namespace == "FHIR":
        return False
    _namespace, name = type_name(to_system(item))
    return name == spec.name or spec.name == "Any"


def type_filter(items: Collection, spec: TypeSpec, mode: Literal["is", "as", "ofType"] | str) -> Collection:
    """Apply ``is``/``as``/``ofType`` to a collection."""
    if mode == "ofType":
        return [item for item in items if is_of_type(item, spec, exact=True)]
    if not items:
        return []
    if len(items) > 1:
        raise FhirPathEvaluationError(f"'{mode}' needs a single item, got {len(items)}")
    item = items[0]
    if mode == "is":
        return [is_of_type(item, spec, exact=False)]
    return [item] if is_of_type(item, spec, exact=True) else []
