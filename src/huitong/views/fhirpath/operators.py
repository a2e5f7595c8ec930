"""FHIRPath operators on collections: equality, comparison, arithmetic, Boolean logic, membership."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath import temporal
from huitong.views.fhirpath.context import Collection, singleton, to_boolean
from huitong.views.fhirpath.quantity import UCUM_TO_CALENDAR, Quantity, multiply, to_comparable
from huitong.views.fhirpath.temporal import Temporal
from huitong.views.fhirpath.values import compare_items, equals, equivalent_items, is_number, to_system


def _eq(left: Collection, right: Collection) -> Collection:
    if not left or not right:
        return []
    if len(left) != len(right):
        return [False]
    unknown = False
    for a, b in zip(left, right, strict=True):
        result = equals(a, b)
        if result is False:
            return [False]
        if result is None:
            unknown = True
    return [] if unknown else [True]


def _ne(left: Collection, right: Collection) -> Collection:
    result = _eq(left, right)
    return [not result[0]] if result else []


def _equiv(left: Collection, right: Collection) -> Collection:
    if not left and not right:
        return [True]
    if len(left) != len(right):
        return [False]
    remaining = list(right)
    for a in left:
        for i, b in enumerate(remaining):
            if equivalent_items(a, b):
                del remaining[i]
                break
        else:
            return [False]
    return [True]


def _nequiv(left: Collection, right: Collection) -> Collection:
    return [not _equiv(left, right)[0]]


def _comparison(test: Callable[[int], bool]) -> Callable[[Collection, Collection], Collection]:
    def op(left: Collection, right: Collection) -> Collection:
        if not left or not right:
            return []
        a = singleton(left, "operand")
        b = singleton(right, "operand")
        result = compare_items(a, b)
        return [] if result is None else [test(result)]

    return op


def contains_item(collection: Collection, item: Any) -> bool:
    return any(equals(item, other) for other in collection)


def _in(left: Collection, right: Collection) -> Collection:
    if not left:
        return []
    if len(left) > 1:
        raise FhirPathEvaluationError("'in' needs a single item on its left")
    return [contains_item(right, left[0])]


def _contains(left: Collection, right: Collection) -> Collection:
    return _in(right, left)


def union(left: Collection, right: Collection) -> Collection:
    out: Collection = []
    for item in (*left, *right):
        if not contains_item(out, item):
            out.append(item)
    return out


def _and(left: Collection, right: Collection) -> Collection:
    a, b = to_boolean(left), to_boolean(right)
    if a is False or b is False:
        return [False]
    if a is None or b is None:
        return []
    return [True]


def _or(left: Collection, right: Collection) -> Collection:
    a, b = to_boolean(left), to_boolean(right)
    if a is True or b is True:
        return [True]
    if a is None or b is None:
        return []
    return [False]


def _xor(left: Collection, right: Collection) -> Collection:
    a, b = to_boolean(left), to_boolean(right)
    if a is None or b is None:
        return []
    return [a != b]


def _implies(left: Collection, right: Collection) -> Collection:
    a, b = to_boolean(left), to_boolean(right)
    if a is False or b is True:
        return [True]
    if a is None or b is None:
        return []
    return [False]


def _arith(name: str) -> Callable[[Collection, Collection], Collection]:
    def op(left: Collection, right: Collection) -> Collection:
        if not left or not right:
            return []
        a = singleton(left, "operand")
        b = singleton(right, "operand")
        result = arithmetic(name, a, b)
        return [] if result is None else [result]

    return op


def arithmetic(op: str, a: Any, b: Any) -> Any:
    """``a op b`` on System values; None for an empty result (division by zero)."""
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if is_number(a) and is_number(b):
        return _numeric(op, a, b)
    if isinstance(a, Temporal) and isinstance(b, Quantity) and op in "+-":
        return _temporal_add(a, b, 1 if op == "+" else -1)
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        return _quantity_arith(op, a, b)
    if isinstance(a, Quantity) and is_number(b) and op in ("*", "/"):
        return _quantity_arith(op, a, Quantity(Decimal(b), "1"))
    if is_number(a) and isinstance(b, Quantity) and op == "*":
        return _quantity_arith(op, Quantity(Decimal(a), "1"), b)
    raise FhirPathEvaluationError(f"cannot apply {op!r} to these operands")


def _numeric(op: str, a: int | Decimal, b: int | Decimal) -> int | Decimal | None:
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return None
            return Decimal(a) / Decimal(b)
        if op == "div":
            if b == 0:
                return None
            quotient = Decimal(a) / Decimal(b)
            return int(quotient)
        if op == "mod":
            if b == 0:
                return None
            remainder = Decimal(a) % Decimal(b)
            return int(remainder) if isinstance(a, int) and isinstance(b, int) else remainder
    except (InvalidOperation, DivisionByZero):
        return None
    raise FhirPathEvaluationError(f"unknown operator {op!r}")


def _temporal_add(value: Temporal, amount: Quantity, sign: int) -> Temporal:
    unit = amount.unit
    if unit in ("a", "mo"):
        raise FhirPathEvaluationError(f"cannot add UCUM {unit!r} to a date; use calendar durations")
    calendar_unit = UCUM_TO_CALENDAR.get(unit, unit)
    if calendar_unit not in ("year", "month", "week", "day", "hour", "minute", "second", "millisecond"):
        raise FhirPathEvaluationError(f"cannot add {unit!r} to a date/time")
    try:
        return temporal.add(value, sign * int(amount.value), calendar_unit)
    except ValueError as exc:
        raise FhirPathEvaluationError(str(exc)) from None


def _quantity_arith(op: str, a: Quantity, b: Quantity) -> Quantity | None:
    if op in ("+", "-"):
        pair = to_comparable(a, b)
        if pair is None:
            raise FhirPathEvaluationError(f"cannot add quantities in {a.unit!r} and {b.unit!r}")
        if a.unit == b.unit:
            return Quantity(a.value + b.value if op == "+" else a.value - b.value, a.unit)
        total = pair[0] + pair[1] if op == "+" else pair[0] - pair[1]
        scale = pair[0] / a.value if a.value else Decimal(1)
        return Quantity(total / scale, a.unit)
    if op in ("*", "/"):
        if b.unit == "1" and a.unit != "1":
            if op == "/" and b.value == 0:
                return None
            return Quantity(a.value * b.value if op == "*" else a.value / b.value, a.unit)
        return multiply(a, b, divide=op == "/")
    raise FhirPathEvaluationError(f"cannot apply {op!r} to quantities")


def _concat(left: Collection, right: Collection) -> Collection:
    a = singleton(left, "string") if left else ""
    b = singleton(right, "string") if right else ""
    if not isinstance(a, str) or not isinstance(b, str):
        raise FhirPathEvaluationError("'&' needs strings")
    return [a + b]


BINARY: dict[str, Callable[[Collection, Collection], Collection]] = {
    "=": _eq,
    "!=": _ne,
    "~": _equiv,
    "!~": _nequiv,
    "<": _comparison(lambda r: r < 0),
    "<=": _comparison(lambda r: r <= 0),
    ">": _comparison(lambda r: r > 0),
    ">=": _comparison(lambda r: r >= 0),
    "in": _in,
    "contains": _contains,
    "|": union,
    "and": _and,
    "or": _or,
    "xor": _xor,
    "implies": _implies,
    "+": _arith("+"),
    "-": _arith("-"),
    "*": _arith("*"),
    "/": _arith("/"),
    "div": _arith("div"),
    "mod": _arith("mod"),
    "&": _concat,
}
#: Operators whose right side is not evaluated when the left side decides the result.
SHORT_CIRCUIT = frozenset({"and", "or", "implies"})


def negate(items: Collection) -> Collection:
    """Unary minus."""
    if not items:
        return []
    value = singleton(items, "number")
    if is_number(value):
        return [-value]
    if isinstance(value, Quantity):
        return [Quantity(-value.value, value.unit)]
    raise FhirPathEvaluationError("unary '-' needs a number or a quantity")


def system_items(items: Collection) -> Collection:
    """Every item as its System value."""
    return [to_system(item) for item in items]
