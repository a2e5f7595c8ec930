"""Running a ViewDefinition over resources in Python: the reference semantics of SQL-on-FHIR v2.

For each resource of the view's type that passes every ``where``, the root select yields rows; a
select's rows are the cartesian product of its own columns, each nested ``select`` and its ``unionAll``,
repeated for each item of ``forEach`` (or once with nulls for an empty ``forEachOrNull``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from huitong.views.errors import FhirPathError, ViewDefinitionError
from huitong.views.fhirpath.context import Ctx
from huitong.views.fhirpath.engine import make_variables
from huitong.views.fhirpath.values import Node, to_output, to_system, wrap_resource
from huitong.views.viewdef import SelectNode, ViewDefinition

Row = tuple[Any, ...]


def run_view(view: ViewDefinition, resources: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows of ``view`` over ``resources`` as dicts (column name → value); other resource types are skipped."""
    names = view.column_names
    for row in iter_rows(view, resources):
        yield dict(zip(names, row, strict=True))


def iter_rows(view: ViewDefinition, resources: Iterable[dict[str, Any]]) -> Iterator[Row]:
    """Rows of ``view`` as tuples in column order."""
    for resource in resources:
        yield from resource_rows(view, resource)


def resource_rows(view: ViewDefinition, resource: dict[str, Any]) -> list[Row]:
    """The rows one resource contributes (none if it is of another type or fails a ``where``)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != view.resource:
        return []
    root = wrap_resource(resource)
    env = make_variables(root, view.constants)
    try:
        for clause in view.where:
            result = clause.raw([root], env)
            if not result:
                return []
            if len(result) > 1:
                raise ViewDefinitionError(f"where {clause.expression!r} returned {len(result)} items")
            value = to_system(result[0])
            if not isinstance(value, bool):
                raise ViewDefinitionError(f"where {clause.expression!r} must return a boolean")
            if not value:
                return []
        return _select_rows(view.root, root, env)
    except (FhirPathError, ArithmeticError, ValueError, TypeError, RecursionError) as exc:
        raise ViewDefinitionError(f"{view.name}, {view.resource}/{resource.get('id')}: {exc}") from exc


def _select_rows(node: SelectNode, focus: Node, env: Any) -> list[Row]:
    if node.for_each is None:
        return _focus_rows(node, focus, env)
    items = node.for_each.evaluator(Ctx(env, [focus]), [focus])
    rows: list[Row] = []
    for item in items:
        rows.extend(_focus_rows(node, item, env))
    if not items and node.or_null:
        rows.append((None,) * len(node.names))
    return rows


def _focus_rows(node: SelectNode, focus: Any, env: Any) -> list[Row]:
    focus_list = [focus]
    ctx = Ctx(env, focus_list)
    own: list[Any] = []
    for column in node.columns:
        values = column.path.evaluator(ctx, focus_list)
        if column.collection:
            own.append([to_output(v) for v in values])
        elif not values:
            own.append(None)
        elif len(values) == 1:
            own.append(to_output(values[0]))
        else:
            raise ViewDefinitionError(
                f"column {column.name!r} ({column.path.expression}) returned {len(values)} items; "
                "set 'collection': true to keep them all"
            )
    rows: list[Row] = [tuple(own)]
    for sub in node.selects:
        sub_rows = _select_rows(sub, focus, env)
        rows = [left + right for left in rows for right in sub_rows]
        if not rows:
            return []
    if node.union_all:
        union_rows: list[Row] = []
        for branch in node.union_all:
            union_rows.extend(_select_rows(branch, focus, env))
        rows = [left + right for left in rows for right in union_rows]
    return rows
