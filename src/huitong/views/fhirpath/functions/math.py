"""Math functions: abs, ceiling, exp, floor, ln, log, power, round, sqrt, truncate."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath.context import Collection, Ctx, Evaluator, eval_arg, singleton
from huitong.views.fhirpath.functions._registry import function
from huitong.views.fhirpath.quantity import Quantity
from huitong.views.fhirpath.values import is_number


def _number(items: Collection, name: str) -> Any:
    value = singleton(items, "number")
    if value is None:
        return None
    if not is_number(value) and not (isinstance(value, Quantity) and name == "abs"):
        raise FhirPathEvaluationError(f"{name}() needs a number")
    return value


def _unary(name: str, impl: Callable[[Any], Any]) -> None:
    def run(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
        value = _number(items, name)
        if value is None:
            return []
        try:
            result = impl(value)
        except (ValueError, InvalidOperation, OverflowError):
            return []
        return [] if result is None else [result]

    function(name)(run)


def _abs(value: Any) -> Any:
    if isinstance(value, Quantity):
        return Quantity(abs(value.value), value.unit)
    return abs(value)


def _to_integer(value: Any, rounding: str) -> int:
    return int(Decimal(value).to_integral_value(rounding=rounding))


def _ln(value: Any) -> Decimal | None:
    return None if value <= 0 else Decimal(value).ln()


def _sqrt(value: Any) -> Decimal | None:
    return None if value < 0 else Decimal(value).sqrt()


_unary("abs", _abs)
_unary("ceiling", lambda v: _to_integer(v, ROUND_CEILING))
_unary("floor", lambda v: _to_integer(v, ROUND_FLOOR))
_unary("truncate", lambda v: int(v))
_unary("exp", lambda v: Decimal(v).exp())
_unary("ln", _ln)
_unary("sqrt", _sqrt)


@function("log", 1)
def log(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    value = _number(items, "log")
    base = singleton(eval_arg(ctx, args[0]), "number")
    if value is None or base is None:
        return []
    if value <= 0 or base <= 0 or base == 1:
        return []
    return [Decimal(value).ln() / Decimal(base).ln()]


@function("power", 1)
def power(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    value = _number(items, "power")
    exponent = singleton(eval_arg(ctx, args[0]), "number")
    if value is None or exponent is None:
        return []
    if isinstance(value, int) and isinstance(exponent, int) and exponent >= 0:
        return [value**exponent]
    try:
        result = math.pow(float(value), float(exponent))
    except (ValueError, OverflowError):
        return []
    if math.isnan(result):
        return []
    return [Decimal(repr(result))]


@function("round", 0, 1)
def round_(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    value = _number(items, "round")
    if value is None:
        return []
    precision = singleton(eval_arg(ctx, args[0]), "integer") if args else 0
    if precision is None:
        return []
    if not isinstance(precision, int) or precision < 0:
        raise FhirPathEvaluationError("round() needs a non-negative integer precision")
    return [Decimal(value).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)]
