"""Values at run time: FHIR nodes from the resource, System values, and how they compare.

A collection is a Python list. Items read out of a resource are :class:`Node` objects (the JSON value,
its FHIR type and, for primitives, the ``_element`` object holding its id and extensions); literals and
computed values are System values: ``bool``, ``int``, ``Decimal``, ``str``, :class:`Temporal`,
:class:`Quantity`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath import model
from huitong.views.fhirpath.quantity import Quantity, to_comparable
from huitong.views.fhirpath.temporal import Temporal, compare, equivalent, parse_temporal

UCUM = "http://unitsofmeasure.org"
_DATE_TYPES = {"date": "date", "dateTime": "dateTime", "instant": "dateTime", "time": "time"}
_INT_TYPES = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})
QUANTITY_TYPES = frozenset({"Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity"})


class Node:
    """An element of a resource: JSON ``data``, FHIR ``type`` (None if unknown) and primitive extension."""

    __slots__ = ("data", "ext", "type")

    def __init__(self, data: Any, type_: str | None, ext: Any = None) -> None:
        self.data = data
        self.type = type_
        self.ext = ext

    def __repr__(self) -> str:
        return f"Node({self.type}: {self.data!r})"


def wrap_resource(resource: Any) -> Node:
    """The root node for a resource dict (its type read from ``resourceType``)."""
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    return Node(resource, rtype if isinstance(rtype, str) else None)


def to_system(item: Any) -> Any:
    """The System value of an item (FHIR primitives and Quantities become System values)."""
    if not isinstance(item, Node):
        return item
    data = item.data
    if isinstance(data, dict):
        if item.type in QUANTITY_TYPES:
            return _quantity(data) or item
        return item
    ftype = item.type
    if data is None:
        return None
    if ftype in _DATE_TYPES and isinstance(data, str):
        try:
            return parse_temporal(data, _DATE_TYPES[ftype])  # type: ignore[arg-type]
        except ValueError:
            return data
    if isinstance(data, float):
        return Decimal(repr(data))
    if ftype == "decimal" and isinstance(data, int) and not isinstance(data, bool):
        return Decimal(data)
    return data


def _quantity(data: dict[str, Any]) -> Quantity | None:
    value = data.get("value")
    if value is None or isinstance(value, bool):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    unit = data.get("code") if data.get("system") == UCUM and data.get("code") else data.get("unit")
    return Quantity(number, str(unit) if unit else "1")


def to_output(item: Any) -> Any:
    """A JSON-friendly Python value of an item, for a view's cell."""
    if isinstance(item, Node):
        return item.data
    if isinstance(item, Temporal | Quantity):
        return str(item)
    return item


def is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def type_name(item: Any) -> tuple[str, str]:
    """(namespace, name) of an item's type: ``("FHIR", "HumanName")`` or ``("System", "Integer")``."""
    if isinstance(item, Node):
        if item.type:
            return "FHIR", item.type
        guess = model.primitive_type_of(item.data)
        return ("FHIR", guess) if guess else ("FHIR", "Element")
    if isinstance(item, bool):
        return "System", "Boolean"
    if isinstance(item, int):
        return "System", "Integer"
    if isinstance(item, Decimal | float):
        return "System", "Decimal"
    if isinstance(item, str):
        return "System", "String"
    if isinstance(item, Temporal):
        return "System", {"date": "Date", "dateTime": "DateTime", "time": "Time"}[item.kind]
    if isinstance(item, Quantity):
        return "System", "Quantity"
    return "System", "Any"


def _coerce_pair(a: Any, b: Any) -> tuple[Any, Any]:
    """Implicit conversions before comparing: Integer → Decimal, String → Date/DateTime."""
    if isinstance(a, Temporal) and isinstance(b, str):
        b = _try_temporal(b, a)
    elif isinstance(b, Temporal) and isinstance(a, str):
        a = _try_temporal(a, b)
    return a, b


def _try_temporal(text: str, like: Temporal) -> Any:
    try:
        return parse_temporal(text, "time" if like.kind == "time" else None)
    except ValueError:
        return text


def equals(a: Any, b: Any) -> bool | None:
    """FHIRPath ``=`` on two items; None means unknown (e.g. different date precisions)."""
    a, b = _coerce_pair(to_system(a), to_system(b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        if (a.kind == "time") != (b.kind == "time"):
            return False
        result = compare(a, b)
        return None if result is None else result == 0
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        pair = to_comparable(a, b)
        return None if pair is None else pair[0] == pair[1]
    if isinstance(a, Node) and isinstance(b, Node):
        return _json_equal(a.data, b.data)
    return False


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = {k for k in a if not k.startswith("_")} | {k for k in b if not k.startswith("_")}
        return all(_json_equal(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | Decimal) or isinstance(b, float | Decimal):
        return bool(Decimal(repr(a) if isinstance(a, float) else a) == Decimal(repr(b) if isinstance(b, float) else b))
    return bool(a == b)


def equivalent_items(a: Any, b: Any) -> bool:
    """FHIRPath ``~`` on two items."""
    a, b = _coerce_pair(to_system(a), to_system(b))
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.lower().split()) == " ".join(b.lower().split())
    if is_number(a) and is_number(b):
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            da, db = Decimal(a), Decimal(b)
            places = min(_scale(da), _scale(db))
            quantum = Decimal(1).scaleb(-places)
            return da.quantize(quantum) == db.quantize(quantum)
        return bool(a == b)
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        return equivalent(a, b)
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        pair = to_comparable(a, b)
        if pair is None:
            return False
        return equivalent_items(pair[0], pair[1])
    if isinstance(a, Node) and isinstance(b, Node):
        return _json_equal(a.data, b.data)
    result = equals(a, b)
    return bool(result)


def _scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def compare_items(a: Any, b: Any) -> int | None:
    """-1/0/1 for ``<``-style operators; None when unknown; raises for incomparable types."""
    a, b = _coerce_pair(to_system(a), to_system(b))
    if is_number(a) and is_number(b):
        return int(a > b) - int(a < b)
    if isinstance(a, str) and isinstance(b, str):
        return int(a > b) - int(a < b)
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        try:
            return compare(a, b)
        except TypeError as exc:
            raise FhirPathEvaluationError(str(exc)) from None
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        pair = to_comparable(a, b)
        if pair is None:
            return None
        return (pair[0] > pair[1]) - (pair[0] < pair[1])
    raise FhirPathEvaluationError(f"cannot compare {type_name(a)[1]} with {type_name(b)[1]}")
