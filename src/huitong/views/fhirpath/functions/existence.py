"""Existence and Boolean-collection functions: empty, exists, all, allTrue, count, distinct, not, …"""

from __future__ import annotations

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath.context import Collection, Ctx, Evaluator, eval_arg, to_boolean
from huitong.views.fhirpath.functions._registry import function
from huitong.views.fhirpath.operators import contains_item
from huitong.views.fhirpath.values import Node, to_system


@function("empty")
def empty(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [not items]


@function("exists", 0, 1)
def exists(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    if not args:
        return [bool(items)]
    criteria = args[0]
    return [any(to_boolean(criteria(ctx.child(item, i), [item])) for i, item in enumerate(items))]


@function("all", 1)
def all_(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    criteria = args[0]
    return [all(to_boolean(criteria(ctx.child(item, i), [item])) is True for i, item in enumerate(items))]


def _booleans(items: Collection, name: str) -> list[bool]:
    values = [to_system(item) for item in items]
    if not all(isinstance(value, bool) for value in values):
        raise FhirPathEvaluationError(f"{name}() needs a collection of booleans")
    return [bool(value) for value in values]


@function("allTrue")
def all_true(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [all(_booleans(items, "allTrue"))]


@function("anyTrue")
def any_true(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [any(_booleans(items, "anyTrue"))]


@function("allFalse")
def all_false(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [not any(_booleans(items, "allFalse"))]


@function("anyFalse")
def any_false(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [not all(_booleans(items, "anyFalse"))]


@function("subsetOf", 1)
def subset_of(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    other = eval_arg(ctx, args[0])
    return [all(contains_item(other, item) for item in items)]


@function("supersetOf", 1)
def superset_of(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    other = eval_arg(ctx, args[0])
    return [all(contains_item(items, item) for item in other)]


@function("count")
def count(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [len(items)]


def distinct_items(items: Collection) -> Collection:
    out: Collection = []
    for item in items:
        if not contains_item(out, item):
            out.append(item)
    return out


@function("distinct")
def distinct(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return distinct_items(items)


@function("isDistinct")
def is_distinct(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [len(distinct_items(items)) == len(items)]


@function("not")
def not_(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    value = to_boolean(items)
    return [] if value is None else [not value]


@function("hasValue")
def has_value(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    if len(items) != 1:
        return [False]
    item = items[0]
    if isinstance(item, Node):
        return [item.data is not None and not isinstance(item.data, dict | list)]
    return [True]


@function("getValue")
def get_value(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    if len(items) != 1:
        return []
    value = to_system(items[0])
    return [] if value is None or isinstance(value, Node) else [value]
