"""The FHIR R4 type model FHIRPath needs: each element's type, choice elements and type inheritance.

It is read lazily from the R4B classes of ``fhir.resources`` (already a dependency; R4B and R4 have the same
elements for every resource and data type the platform stores) and cached per type, so a view over
Patients never loads the Questionnaire classes.
"""

from __future__ import annotations

import importlib
import typing
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: FHIR primitive types and the primitive each is derived from (R4 StructureDefinitions).
PRIMITIVE_BASE = {
    "boolean": None,
    "integer": None,
    "integer64": None,
    "decimal": None,
    "string": None,
    "uri": None,
    "base64Binary": None,
    "instant": None,
    "date": None,
    "dateTime": None,
    "time": None,
    "code": "string",
    "id": "string",
    "markdown": "string",
    "xhtml": None,
    "url": "uri",
    "canonical": "uri",
    "oid": "uri",
    "uuid": "uri",
    "positiveInt": "integer",
    "unsignedInt": "integer",
}
_PY_PRIMITIVES = {bool: "boolean", int: "integer", str: "string", float: "decimal"}


@dataclass(frozen=True, slots=True)
class ElementInfo:
    """One element of a type: its type name, or for a choice element (``value[x]``) each JSON key's type."""

    type: str | None
    choices: tuple[tuple[str, str], ...] = ()
    is_resource: bool = False


def _model_class(name: str) -> Any | None:
    try:
        module = importlib.import_module("fhir.resources.R4B")
        return module.get_fhir_model_class(name)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def _type_of(annotation: Any) -> str | None:
    """The FHIR type name of a field annotation of fhir.resources."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        args = typing.get_args(annotation)
        for marker in args[1:]:
            name = type(marker).__name__
            name = name[:1].lower() + name[1:]
            if name in PRIMITIVE_BASE:
                return name
        return _type_of(args[0])
    if origin is not None:
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            found = _type_of(arg)
            if found:
                return found
        return None
    if annotation in _PY_PRIMITIVES:
        return _PY_PRIMITIVES[annotation]
    if annotation is uuid.UUID:
        return "uuid"
    name = getattr(annotation, "__name__", "")
    if name.endswith("Type") and name not in ("FHIRPrimitiveExtensionType",):
        return name[: -len("Type")]
    return None


@lru_cache(maxsize=1024)
def elements(type_name: str) -> dict[str, ElementInfo] | None:
    """Every element of ``type_name`` by name (choice elements under their base name), or None if unknown."""
    if type_name in PRIMITIVE_BASE:
        return {}
    cls = _model_class(type_name)
    if cls is None:
        return None
    out: dict[str, ElementInfo] = {}
    choices: dict[str, list[tuple[str, str]]] = {}
    for field in cls.model_fields.values():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if not extra.get("element_property"):
            continue
        alias = field.alias or ""
        ftype = _type_of(field.annotation)
        if ftype is None:
            continue
        group = extra.get("one_of_many")
        if isinstance(group, str):
            choices.setdefault(group, []).append((alias, ftype))
            continue
        out[alias] = ElementInfo(ftype, (), ftype == "Resource")
    for group, keys in choices.items():
        out[group] = ElementInfo(None, tuple(keys))
    return out


def element(type_name: str | None, name: str) -> ElementInfo | None:
    """The element ``name`` of ``type_name``; None if the type or the element is not known."""
    if type_name is None:
        return None
    found = elements(type_name)
    return found.get(name) if found else None


def is_known_type(type_name: str) -> bool:
    """Whether ``type_name`` names a FHIR type (primitive, data type, backbone element or resource)."""
    return type_name in PRIMITIVE_BASE or _model_class(type_name) is not None


@lru_cache(maxsize=1024)
def ancestors(type_name: str) -> tuple[str, ...]:
    """``type_name`` followed by the types it derives from (``Age`` → Age, Quantity, Element)."""
    if type_name in PRIMITIVE_BASE:
        chain = [type_name]
        base = PRIMITIVE_BASE[type_name]
        while base:
            chain.append(base)
            base = PRIMITIVE_BASE[base]
        return (*chain, "Element")
    cls = _model_class(type_name)
    if cls is None:
        return (type_name,)
    names = [c.__name__ for c in cls.__mro__]
    stop = {"FHIRAbstractModel", "FHIRResourceModel", "BaseModel", "object", "Generic"}
    return tuple(n for n in names if n not in stop)


def is_resource_type(type_name: str) -> bool:
    """Whether ``type_name`` is a resource type (derives from Resource)."""
    return "Resource" in ancestors(type_name)


def primitive_type_of(value: Any) -> str | None:
    """A best guess of the FHIR primitive type of a JSON value whose element type is unknown."""
    return _PY_PRIMITIVES.get(type(value))
