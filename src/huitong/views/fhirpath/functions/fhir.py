"""FHIR and SQL-on-FHIR functions, boundaries, precision, type() and the clock functions."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath import model, temporal
from huitong.views.fhirpath.context import Collection, Ctx, Evaluator, eval_arg, navigate, singleton
from huitong.views.fhirpath.functions._registry import function
from huitong.views.fhirpath.quantity import Quantity, canonical
from huitong.views.fhirpath.temporal import Temporal
from huitong.views.fhirpath.values import Node, is_number, type_name

_STRUCTURE_DEFINITION = "http://hl7.org/fhir/StructureDefinition/"
MAX_DECIMAL_PRECISION = 28


@function("extension", 1)
def extension(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    url = singleton(eval_arg(ctx, args[0]), "url")
    if url is None:
        return []
    found: Collection = []
    for item in items:
        navigate(item, "extension", found)
    return [ext for ext in found if isinstance(ext, Node) and isinstance(ext.data, dict) and ext.data.get("url") == url]


@function("getResourceKey")
def get_resource_key(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    out: Collection = []
    for item in items:
        if isinstance(item, Node) and isinstance(item.data, dict) and isinstance(item.data.get("id"), str):
            out.append(item.data["id"])
    return out


def reference_parts(reference: str) -> tuple[str | None, str] | None:
    """(type, id) of a literal reference: ``Patient/1``, ``http://x/fhir/Patient/1/_history/2``."""
    segments = [s for s in reference.split("/") if s]
    if "_history" in segments:
        segments = segments[: segments.index("_history")]
    if len(segments) >= 2 and segments[-2][:1].isupper():
        return segments[-2], segments[-1]
    if reference.startswith("urn:uuid:") or reference.startswith("urn:oid:"):
        return None, reference
    return None


@function("getReferenceKey", 0, 1)
def get_reference_key(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    wanted = singleton(eval_arg(ctx, args[0]), "type") if args else None
    if isinstance(wanted, str) and "." in wanted:
        wanted = wanted.rsplit(".", 1)[1]
    out: Collection = []
    for item in items:
        if not isinstance(item, Node) or not isinstance(item.data, dict):
            continue
        reference = item.data.get("reference")
        parts = reference_parts(reference) if isinstance(reference, str) else None
        if parts is None:
            continue
        rtype, rid = parts
        if wanted is not None and rtype != wanted:
            continue
        out.append(rid)
    return out


@function("resolve")
def resolve(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    """Resolves references to contained resources only (``#id``); other references give nothing."""
    resource = ctx.vars.get("resource") or []
    root = resource[0] if resource else None
    contained: Collection = []
    navigate(root, "contained", contained)
    out: Collection = []
    for item in items:
        if isinstance(item, Node) and isinstance(item.data, dict):
            reference = item.data.get("reference")
            if isinstance(reference, str) and reference.startswith("#"):
                out.extend(c for c in contained if c.data.get("id") == reference[1:])
    return out


def _decimal_scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def decimal_boundary(value: Decimal | int, precision: int | None, high: bool) -> Decimal | None:
    """The lowest/highest decimal that ``value`` (at its written precision) could stand for."""
    number = Decimal(value)
    digits = 8 if precision is None else precision
    if digits < 0 or digits > MAX_DECIMAL_PRECISION:
        return None
    half = Decimal(5).scaleb(-_decimal_scale(number) - 1)
    bound = number + half if high else number - half
    return bound.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_CEILING if high else ROUND_FLOOR)


def _boundary(high: bool) -> Any:
    def run(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
        value = singleton(items, "value")
        precision = singleton(eval_arg(ctx, args[0]), "integer") if args else None
        if value is None or (args and precision is None):
            return []
        if precision is not None and not isinstance(precision, int):
            raise FhirPathEvaluationError("a boundary precision must be an integer")
        result: Any = None
        if is_number(value):
            result = decimal_boundary(value, precision, high)
        elif isinstance(value, Quantity):
            bound = decimal_boundary(value.value, precision, high)
            result = None if bound is None else Quantity(bound, value.unit)
        elif isinstance(value, Temporal):
            result = temporal.boundary(value, precision, high)
        return [] if result is None else [result]

    return run


function("lowBoundary", 0, 1)(_boundary(high=False))
function("highBoundary", 0, 1)(_boundary(high=True))


@function("precision")
def precision(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    value = singleton(items, "value")
    if isinstance(value, Decimal):
        return [_decimal_scale(value)]
    if isinstance(value, int) and not isinstance(value, bool):
        return [0]
    if isinstance(value, Temporal):
        digits = {"time": (2, 4, 6, 9), "date": (4, 6, 8), "dateTime": (4, 6, 8, 10, 12, 14, 17)}[value.kind]
        return [digits[value.precision - 1]]
    return []


@function("comparable", 1)
def comparable(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    left = singleton(items, "quantity")
    right = singleton(eval_arg(ctx, args[0]), "quantity")
    if not isinstance(left, Quantity) or not isinstance(right, Quantity):
        return []
    lc, rc = canonical(left.unit), canonical(right.unit)
    return [lc is not None and rc is not None and lc[1] == rc[1]]


@function("conformsTo", 1)
def conforms_to(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    """Only the base profiles of the core resource types are known."""
    url = singleton(eval_arg(ctx, args[0]), "url")
    if not isinstance(url, str) or not url.startswith(_STRUCTURE_DEFINITION):
        raise FhirPathEvaluationError(f"unknown profile {url!r}")
    name = url[len(_STRUCTURE_DEFINITION) :]
    if not model.is_known_type(name):
        raise FhirPathEvaluationError(f"unknown profile {url!r}")
    return [isinstance(item, Node) and item.type is not None and name in model.ancestors(item.type) for item in items]


@function("now")
def now(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [temporal.now()]


@function("today")
def today(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [temporal.today()]


@function("timeOfDay")
def time_of_day(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [temporal.time_of_day()]


@function("type")
def type_(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    out: Collection = []
    for item in items:
        namespace, name = type_name(item)
        out.append(Node({"namespace": namespace, "name": name}, "TypeInfo"))
    return out
