"""Conversion functions: toBoolean, toInteger, toDecimal, toString, toDate, toQuantity and convertsTo…"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath.context import Collection, Ctx, Evaluator, singleton
from huitong.views.fhirpath.functions._registry import function
from huitong.views.fhirpath.quantity import CALENDAR_UNITS, Quantity, format_decimal
from huitong.views.fhirpath.temporal import Temporal, parse_temporal
from huitong.views.fhirpath.values import Node, is_number

_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d+(?:\.\d+)?")
_QUANTITY = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)'|([a-z]+))?")
_MISSING = object()


def to_boolean_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value, _MISSING)
    if isinstance(value, Decimal):
        return True if value == 1 else False if value == 0 else _MISSING
    if isinstance(value, str):
        lowered = value.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else _MISSING
    return _MISSING


def to_integer_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return _MISSING


def to_decimal_value(value: Any) -> Any:
    if isinstance(value, bool):
        return Decimal("1.0") if value else Decimal("0.0")
    if is_number(value):
        return Decimal(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return Decimal(value)
    return _MISSING


def to_string_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, Temporal | Quantity):
        return str(value)
    return _MISSING


def _temporal_converter(kind: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, Temporal):
            if kind == "time":
                return value if value.kind == "time" else _MISSING
            if value.kind == "time":
                return _MISSING
            if kind == "date":
                return Temporal("date", value.parts[:3])
            return Temporal("dateTime", value.parts, value.tz, value.frac_digits)
        if isinstance(value, str):
            try:
                parsed = parse_temporal(value, "time" if kind == "time" else None)
            except ValueError:
                return _MISSING
            if kind == "date" and parsed.precision > 3:
                return _MISSING
            if kind == "dateTime":
                return Temporal("dateTime", parsed.parts, parsed.tz, parsed.frac_digits)
            return parsed
        return _MISSING

    return convert


def to_quantity_value(value: Any) -> Any:
    if isinstance(value, Quantity):
        return value
    if isinstance(value, bool):
        return Quantity(Decimal("1.0") if value else Decimal("0.0"), "1")
    if is_number(value):
        return Quantity(Decimal(value), "1")
    if isinstance(value, str):
        match = _QUANTITY.fullmatch(value.strip())
        if not match:
            return _MISSING
        number, ucum, word = match.groups()
        if word is not None and word not in CALENDAR_UNITS:
            return _MISSING
        return Quantity(Decimal(number), ucum or word or "1")
    return _MISSING


def _register(name: str, convert: Callable[[Any], Any]) -> None:
    def to_value(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
        value = singleton(items, "value")
        if value is None or isinstance(value, Node):
            return []
        result = convert(value)
        return [] if result is _MISSING else [result]

    def converts(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
        value = singleton(items, "value")
        if value is None:
            return []
        if isinstance(value, Node):
            return [False]
        return [convert(value) is not _MISSING]

    function("to" + name, 0, 1 if name == "Quantity" else 0)(to_value)
    function("convertsTo" + name, 0, 1 if name == "Quantity" else 0)(converts)


_register("Boolean", to_boolean_value)
_register("Integer", to_integer_value)
_register("Decimal", to_decimal_value)
_register("String", to_string_value)
_register("Date", _temporal_converter("date"))
_register("DateTime", _temporal_converter("dateTime"))
_register("Time", _temporal_converter("time"))
_register("Quantity", to_quantity_value)


def require_string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise FhirPathEvaluationError(f"{name} needs a string")
    return value
