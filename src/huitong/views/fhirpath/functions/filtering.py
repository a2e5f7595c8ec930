"""Filtering, projection, subsetting and combining: where, select, repeat, first, skip, iif, sort, …"""

from __future__ import annotations

import logging
from functools import cmp_to_key
from typing import Any

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath.context import Collection, Ctx, Evaluator, children, eval_arg, singleton, to_boolean
from huitong.views.fhirpath.functions._registry import function
from huitong.views.fhirpath.functions.existence import distinct_items
from huitong.views.fhirpath.operators import contains_item, union
from huitong.views.fhirpath.values import compare_items, is_number

log = logging.getLogger("huitong.views.fhirpath")


@function("where", 1)
def where(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    criteria = args[0]
    return [item for i, item in enumerate(items) if to_boolean(criteria(ctx.child(item, i), [item])) is True]


@function("select", 1)
def select(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    projection = args[0]
    out: Collection = []
    for i, item in enumerate(items):
        out.extend(projection(ctx.child(item, i), [item]))
    return out


@function("repeat", 1)
def repeat(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    projection = args[0]
    out: Collection = []
    queue = list(items)
    seen: set[int] = set()
    while queue:
        item = queue.pop(0)
        for found in projection(ctx.child(item, 0), [item]):
            key = id(getattr(found, "data", found))
            if key in seen or (not hasattr(found, "data") and contains_item(out, found)):
                continue
            seen.add(key)
            out.append(found)
            queue.append(found)
    return out


@function("children")
def children_(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    out: Collection = []
    for item in items:
        out.extend(children(item))
    return out


@function("descendants")
def descendants(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    out: Collection = []
    queue = list(items)
    while queue:
        found = children(queue.pop(0))
        out.extend(found)
        queue.extend(found)
    return out


def _integer_arg(ctx: Ctx, arg: Evaluator, name: str) -> int | None:
    value = singleton(eval_arg(ctx, arg), "integer")
    if value is None:
        return None
    if not is_number(value) or value != int(value):
        raise FhirPathEvaluationError(f"{name}() needs an integer")
    return int(value)


@function("first")
def first(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return items[:1]


@function("last")
def last(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return items[-1:]


@function("tail")
def tail(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return items[1:]


@function("skip", 1)
def skip(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    n = _integer_arg(ctx, args[0], "skip")
    return items if n is None or n <= 0 else items[n:]


@function("take", 1)
def take(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    n = _integer_arg(ctx, args[0], "take")
    return [] if n is None or n <= 0 else items[:n]


@function("single")
def single(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    if len(items) > 1:
        raise FhirPathEvaluationError(f"single() got {len(items)} items")
    return items


@function("intersect", 1)
def intersect(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    other = eval_arg(ctx, args[0])
    return distinct_items([item for item in items if contains_item(other, item)])


@function("exclude", 1)
def exclude(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    other = eval_arg(ctx, args[0])
    return [item for item in items if not contains_item(other, item)]


@function("union", 1)
def union_(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return union(items, eval_arg(ctx, args[0]))


@function("combine", 1)
def combine(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    return [*items, *eval_arg(ctx, args[0])]


@function("iif", 2, 3)
def iif(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    if len(items) > 1:
        raise FhirPathEvaluationError("iif() needs at most one input item")
    inner = ctx
    if items and items is not ctx.this:
        inner = Ctx(ctx.vars, items)
        inner.index, inner.total = ctx.index, ctx.total
    criterion = to_boolean(args[0](inner, inner.this))
    if criterion is True:
        return args[1](inner, inner.this)
    return args[2](inner, inner.this) if len(args) > 2 else []


@function("aggregate", 1, 2)
def aggregate(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    total: Collection = eval_arg(ctx, args[1]) if len(args) > 1 else []
    for i, item in enumerate(items):
        inner = ctx.child(item, i)
        inner.total = total
        total = args[0](inner, [item])
    return total


@function("trace", 1, 2)
def trace(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    name = singleton(eval_arg(ctx, args[0]), "name")
    shown: Any = items
    if len(args) > 1:
        shown = select(ctx, items, args[1:])
    log.debug("trace %s: %r", name, shown)
    return items


def sort_items(ctx: Ctx, items: Collection, keys: list[tuple[Evaluator, bool]]) -> Collection:
    """``sort(key, -key2…)``: stable sort by each key; ``-`` before a key sorts it descending."""
    if not keys:
        keyed = [(item, [[item]]) for item in items]
    else:
        keyed = [(item, [key(ctx.child(item, i), [item]) for key, _ in keys]) for i, item in enumerate(items)]
    directions = [desc for _, desc in keys] or [False]

    def cmp(a: tuple[Any, list[Collection]], b: tuple[Any, list[Collection]]) -> int:
        for (ka, kb), desc in zip(zip(a[1], b[1], strict=True), directions, strict=True):
            if not ka or not kb:
                # Empty keys come first whatever the direction.
                result = (1 if ka else 0) - (1 if kb else 0)
                if result:
                    return result
            else:
                result = compare_items(singleton(ka), singleton(kb)) or 0
            if result:
                return -result if desc else result
        return 0

    return [item for item, _ in sorted(keyed, key=cmp_to_key(cmp))]
