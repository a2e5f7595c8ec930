"""Compiled accessors for the simple-path subset of ViewDefinitions: the same rows as the runner, several times
faster, over resources parsed with ``orjson`` (floats) rather than ``Decimal``.

:func:`compile_view` turns a ViewDefinition whose every path is in the subset into plain Python functions over
the JSON (no ``Node`` objects, evaluation contexts or function registry). The subset:

* member chains (``period.start``, ``meta.tag``) with choice elements (``value`` finds ``valueString``) resolved
  by the same type model and the same navigation rules as :func:`huitong.views.fhirpath.context.navigate`;
* ``first()``, ``exists()``, ``where(…)``, ``extension('url')``, ``getResourceKey()``, ``getReferenceKey([T])``,
  ``ofType(T)`` and ``endsWith('…')``;
* in ``where`` and the view's ``where``: ``path = 'text'``, ``path in ('a' | 'b')``, ``and``, ``or``.

A view with any other construct (variables, constants, arithmetic, other functions) is not compiled and runs on
the runner. A compiled view may still give up on one resource — a primitive extension (``_code``), a date
compared with a string, a number where the column is not ``decimal``, a complex value in a column, several
values in a non-collection column, anything unexpected — and then :func:`rows_of` runs the runner on that
resource parsed with exact decimals. So the output is the runner's output, row for row
(``tests/views/test_fastpath.py`` checks it on the SQL-on-FHIR suite and the indicator views).

Why floats are safe where the fast path keeps them: a float only reaches a ``decimal`` column (stored as
``DOUBLE``; ``float(Decimal(text))`` and orjson's float of the same text are the same correctly rounded double);
anywhere else a float makes the fast path give up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from huitong.views.fhirpath import model
from huitong.views.fhirpath.context import _element
from huitong.views.fhirpath.functions.fhir import reference_parts
from huitong.views.fhirpath.nodes import Binary, Call, Literal, Member, TypeSpec
from huitong.views.fhirpath.nodes import Node as SyntaxNode
from huitong.views.runner import Row, resource_rows
from huitong.views.store_source import parse_content
from huitong.views.viewdef import SelectNode, ViewDefinition

#: Items are ``(json value, FHIR type)`` tuples for elements of the resource, or bare Python values (``str``,
#: ``bool``) for System values computed by a function or an operator.
Items = list[Any]
Fn = Callable[[Items], Items]
_DATE_TYPES = frozenset({"date", "dateTime", "instant", "time"})


class _GiveUp(Exception):  # noqa: N818 - internal signal, not an error
    """This resource needs the general runner."""


def _item(value: Any, ftype: str | None, resource: bool) -> tuple[Any, str | None]:
    if (resource or ftype is None) and isinstance(value, dict):
        rtype = value.get("resourceType")
        if isinstance(rtype, str):
            return (value, rtype)
    if ftype is None and not isinstance(value, dict):
        if isinstance(value, float):
            raise _GiveUp  # the runner (Decimal) would type it differently
        ftype = model.primitive_type_of(value)
    return (value, ftype)


def _add(out: Items, value: Any, ftype: str | None, resource: bool) -> None:
    if isinstance(value, list):
        for element in value:
            if element is not None:
                out.append(_item(element, ftype, resource))
    elif value is not None:
        out.append(_item(value, ftype, resource))


def _choice_by_key(data: dict[str, Any], name: str, out: Items) -> None:
    size = len(name)
    for key, value in data.items():
        if len(key) > size and key.startswith(name) and key[size].isupper():
            suffix = key[size:]
            ftype = suffix if model.is_known_type(suffix) else suffix[0].lower() + suffix[1:]
            if model.is_known_type(ftype):
                if "_" + key in data:
                    raise _GiveUp
                _add(out, value, ftype, False)
                return


def _navigate(items: Items, name: str) -> Items:
    """``navigate`` for every item; gives up where the runner would see a primitive extension (``_name``)."""
    out: Items = []
    for item in items:
        if type(item) is not tuple:
            continue
        data, ftype = item
        if not isinstance(data, dict):
            continue
        info, ext_key, choices = _element(ftype, name)
        if ext_key in data:
            raise _GiveUp
        if info is None:
            value = data.get(name)
            if value is not None:
                _add(out, value, None, False)
            elif not name.startswith("_"):
                _choice_by_key(data, name, out)
            continue
        if choices:
            for key in data:
                plain = key[1:] if key[:1] == "_" else key
                choice = choices.get(plain)
                if choice is not None:
                    if choice[1] in data:
                        raise _GiveUp
                    _add(out, data.get(plain), choice[0], False)
                    break
            continue
        value = data.get(name)
        if value is None:
            continue
        if type(value) is list or info.is_resource:
            _add(out, value, info.type, info.is_resource)
        else:
            out.append((value, info.type))
    return out


def _static_step(name: str, parent: str) -> tuple[Fn, str] | None:
    """Navigation to ``name`` from items all of type ``parent`` when the element has one known, non-resource
    type: the checks ``navigate`` makes per item are made once here. None if the generic step is needed."""
    info = model.element(parent, name)
    if info is None or info.choices or info.is_resource or info.type is None:
        return None
    child, ext_key = info.type, "_" + name

    def step(items: Items) -> Items:
        out: Items = []
        for item in items:
            data = item[0]
            if type(data) is not dict:
                continue
            if ext_key in data:
                raise _GiveUp
            value = data.get(name)
            if value is None:
                continue
            if type(value) is list:
                out.extend((element, child) for element in value if element is not None)
            else:
                out.append((value, child))
        return out

    return step, child


def _text(item: Any) -> str:
    """The System string of one item, for comparing with a string literal; gives up on anything else."""
    if type(item) is tuple:
        data, ftype = item
        if isinstance(data, str) and ftype not in _DATE_TYPES:
            return data
        raise _GiveUp
    if isinstance(item, str):
        return item
    raise _GiveUp


def _truth(items: Items) -> bool | None:
    """``to_boolean``: empty → None, one Boolean → itself, one other item → True."""
    if not items:
        return None
    if len(items) > 1:
        raise _GiveUp
    item = items[0]
    value = item[0] if type(item) is tuple else item
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        raise _GiveUp
    return True


def _identity(items: Items) -> Items:
    return items


def _string_literal(node: SyntaxNode) -> str | None:
    if isinstance(node, Literal) and isinstance(node.value, str):
        return node.value
    return None


def _literal_set(node: SyntaxNode) -> frozenset[str] | None:
    """``'a' | 'b' | …`` (or one literal) as a set of strings."""
    single = _string_literal(node)
    if single is not None:
        return frozenset({single})
    if isinstance(node, Binary) and node.op == "|":
        left, right = _literal_set(node.left), _literal_set(node.right)
        if left is not None and right is not None:
            return left | right
    return None


Compiled = tuple[Fn, str | None]


def compile_expression(node: SyntaxNode, static: str | None = None) -> Compiled | None:
    """A function over items for ``node`` and the FHIR type every item it returns has (None: not known), or
    None if ``node`` is outside the subset. ``static`` is the type of every input item, when known."""
    if isinstance(node, Member):
        if node.target is None:
            if node.name[:1].isupper():
                return None  # may name a type (``Patient.name``)
            target: Compiled | None = (_identity, static)
        else:
            target = compile_expression(node.target, static)
        if target is None:
            return None
        base, parent = target
        name = node.name
        fast = _static_step(name, parent) if parent is not None else None
        if fast is not None:
            step, child = fast
            if base is _identity:
                return step, child
            return (lambda items: step(base(items))), child
        if base is _identity:
            return (lambda items: _navigate(items, name)), None
        return (lambda items: _navigate(base(items), name)), None
    if isinstance(node, Call):
        inner = (_identity, static) if node.target is None else compile_expression(node.target, static)
        return None if inner is None else _call(node, inner)
    if isinstance(node, Binary):
        fn = _binary(node, static)
        return None if fn is None else (fn, None)
    return None


def _call(node: Call, compiled: Compiled) -> Compiled | None:
    target, static = compiled
    name, args = node.name, node.args
    if name == "first" and not args:
        return (lambda items: target(items)[:1]), static
    if name == "exists" and not args:
        return (lambda items: [bool(target(items))]), None
    if name == "where" and len(args) == 1:
        criteria = compile_expression(args[0], static)
        if criteria is None:
            return None
        test = criteria[0]
        return (lambda items: [item for item in target(items) if _truth(test([item])) is True]), static
    if name == "extension" and len(args) == 1:
        url = _string_literal(args[0])
        if url is None:
            return None

        info = model.element(static, "extension") if static is not None else None
        if info is not None and info.type == "Extension" and not info.choices and not info.is_resource:
            return _static_extension(target, url), "Extension"

        def extension(items: Items) -> Items:
            found = _navigate(target(items), "extension")
            return [e for e in found if isinstance(e[0], dict) and e[0].get("url") == url]

        return extension, None
    if name == "getResourceKey" and not args:
        return (
            lambda items: [
                item[0]["id"]
                for item in target(items)
                if type(item) is tuple and isinstance(item[0], dict) and isinstance(item[0].get("id"), str)
            ]
        ), None
    if name == "getReferenceKey" and len(args) <= 1:
        fn = _reference_key(args, target)
        return None if fn is None else (fn, None)
    if name == "ofType" and len(args) == 1 and isinstance(args[0], TypeSpec):
        fn = _of_type(args[0], target)
        return None if fn is None else (fn, args[0].name)
    if name == "endsWith" and len(args) == 1:
        suffix = _string_literal(args[0])
        if suffix is None:
            return None

        def ends_with(items: Items) -> Items:
            found = target(items)
            if not found:
                return []
            if len(found) > 1:
                raise _GiveUp
            return [_text(found[0]).endswith(suffix)]

        return ends_with, None
    return None


def _static_extension(target: Fn, url: str) -> Fn:
    """``extension(url)`` on items of a type with an ``extension`` element: the navigation and the filter in one
    pass, without an item for every extension."""

    def extension(items: Items) -> Items:
        out: Items = []
        for item in target(items):
            data = item[0]
            if type(data) is not dict:
                continue
            if "_extension" in data:
                raise _GiveUp
            found = data.get("extension")
            if found is None:
                continue
            if type(found) is not list:
                found = [found]
            for element in found:
                if type(element) is dict and element.get("url") == url:
                    out.append((element, "Extension"))
        return out

    return extension


def _reference_key(args: tuple[SyntaxNode, ...], target: Fn) -> Fn | None:
    wanted: str | None = None
    if args:
        arg = args[0]
        if isinstance(arg, TypeSpec):
            wanted = arg.name
        else:
            wanted = _string_literal(arg)
            if wanted is None:
                return None
            if "." in wanted:
                wanted = wanted.rsplit(".", 1)[1]

    def reference_key(items: Items) -> Items:
        out: Items = []
        for item in target(items):
            if type(item) is not tuple or not isinstance(item[0], dict):
                continue
            reference = item[0].get("reference")
            parts = reference_parts(reference) if isinstance(reference, str) else None
            if parts is None or (wanted is not None and parts[0] != wanted):
                continue
            out.append(parts[1])
        return out

    return reference_key


def _of_type(spec: TypeSpec, target: Fn) -> Fn | None:
    if spec.namespace not in (None, "FHIR"):
        return None
    wanted = spec.name

    def of_type(items: Items) -> Items:
        out: Items = []
        for item in target(items):
            if type(item) is not tuple:
                raise _GiveUp
            data, ftype = item
            if ftype is None:
                if (model.primitive_type_of(data) or "Element") == wanted:
                    raise _GiveUp  # kept untyped by the runner: the output could not be typed as ``wanted``
                continue
            if ftype == wanted:
                out.append(item)
        return out

    return of_type


def _binary(node: Binary, static: str | None) -> Fn | None:
    left = compile_expression(node.left, static)
    if left is None:
        return None
    if node.op in ("and", "or"):
        right = compile_expression(node.right, static)
        if right is None:
            return None
        return _junction(left[0], right[0], deciding=node.op == "or")
    if node.op == "=":
        literal = _string_literal(node.right)
        return None if literal is None else _equals(left[0], literal)
    if node.op == "in":
        choices = _literal_set(node.right)
        return None if choices is None else _member_of(left[0], choices)
    return None


def _junction(left: Fn, right: Fn, deciding: bool) -> Fn:
    """FHIRPath ``and`` (``deciding`` False) or ``or`` (True) in three-valued logic: a side equal to ``deciding``
    decides, an empty side leaves the result empty, otherwise the other value."""

    def run(items: Items) -> Items:
        a = _truth(left(items))
        if a is deciding:
            return [deciding]
        b = _truth(right(items))
        if b is deciding:
            return [deciding]
        return [] if a is None or b is None else [not deciding]

    return run


def _equals(left: Fn, literal: str) -> Fn:
    def run(items: Items) -> Items:
        found = left(items)
        if not found:
            return []
        if len(found) != 1:
            return [False]
        return [_text(found[0]) == literal]

    return run


def _member_of(left: Fn, choices: frozenset[str]) -> Fn:
    def run(items: Items) -> Items:
        found = left(items)
        if not found:
            return []
        if len(found) > 1:
            raise _GiveUp
        return [_text(found[0]) in choices]

    return run


class _Column:
    __slots__ = ("collection", "decimal", "fn")

    def __init__(self, fn: Fn, collection: bool, decimal: bool) -> None:
        self.fn = fn
        self.collection = collection
        self.decimal = decimal

    def value(self, focus: Items) -> Any:
        found = self.fn(focus)
        if self.collection:
            return [self._cell(item) for item in found]
        if not found:
            return None
        if len(found) > 1:
            raise _GiveUp
        return self._cell(found[0])

    def _cell(self, item: Any) -> Any:
        value = item[0] if type(item) is tuple else item
        if isinstance(value, dict | list):
            raise _GiveUp
        if isinstance(value, float) and not self.decimal:
            raise _GiveUp
        return value


class _Select:
    __slots__ = ("columns", "for_each", "or_null", "selects", "union_all", "width")

    def __init__(self, node: SelectNode, static: str | None) -> None:
        self.width = len(node.names)
        self.or_null = node.or_null
        self.for_each: Fn | None = None
        self.columns: list[_Column] = []
        if node.for_each is not None:
            self.for_each, static = _required(node.for_each.tree, static)
        for column in node.columns:
            fn = _required(column.path.tree, static)[0]
            self.columns.append(_Column(fn, column.collection, column.type == "decimal"))
        self.selects = [_Select(sub, static) for sub in node.selects]
        self.union_all = [_Select(sub, static) for sub in node.union_all]

    def rows(self, focus: Any) -> list[Row]:
        if self.for_each is None:
            return self._focus_rows(focus)
        items = self.for_each([focus])
        rows: list[Row] = []
        for item in items:
            rows.extend(self._focus_rows(item))
        if not items and self.or_null:
            rows.append((None,) * self.width)
        return rows

    def _focus_rows(self, focus: Any) -> list[Row]:
        focus_list = [focus]
        rows: list[Row] = [tuple(column.value(focus_list) for column in self.columns)]
        for sub in self.selects:
            sub_rows = sub.rows(focus)
            rows = [left + right for left in rows for right in sub_rows]
            if not rows:
                return []
        if self.union_all:
            union_rows: list[Row] = []
            for branch in self.union_all:
                union_rows.extend(branch.rows(focus))
            rows = [left + right for left in rows for right in union_rows]
        return rows


class _NotCompiled(Exception):  # noqa: N818 - internal signal
    pass


def _required(tree: SyntaxNode, static: str | None) -> Compiled:
    compiled = compile_expression(tree, static)
    if compiled is None:
        raise _NotCompiled
    return compiled


class FastView:
    """A ViewDefinition compiled to plain accessors; build it with :func:`compile_view`."""

    __slots__ = ("resource", "root", "view", "where")

    def __init__(self, view: ViewDefinition) -> None:
        self.view = view
        self.resource = view.resource
        static = view.resource if model.elements(view.resource) else None
        self.where = [_required(clause.tree, static)[0] for clause in view.where]
        self.root = _Select(view.root, static)

    def rows(self, resource: Any) -> list[Row] | None:
        """The view's rows for one resource (parsed with floats), or None where the runner must decide."""
        if not isinstance(resource, dict) or resource.get("resourceType") != self.resource:
            return []
        root = (resource, self.resource)
        try:
            for clause in self.where:
                result = clause([root])
                if not result:
                    return []
                if len(result) > 1:
                    return None
                value = result[0][0] if type(result[0]) is tuple else result[0]
                if not isinstance(value, bool):
                    return None
                if not value:
                    return []
            return self.root.rows(root)
        except Exception:  # noqa: BLE001 - anything unexpected: the runner decides (and raises its own error)
            return None


def compile_view(view: ViewDefinition) -> FastView | None:
    """The compiled form of ``view``, or None if one of its paths is outside the subset (or it has constants)."""
    if view.constants:
        return None
    try:
        return FastView(view)
    except _NotCompiled:
        return None


def load_fast(text: str | bytes) -> Any | None:
    """Resource JSON parsed with orjson (floats), or None if orjson refuses it (the runner's parser may not)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def rows_of(view: ViewDefinition, fast: FastView | None, text: str, parsed: Any | None) -> list[Row]:
    """The rows of one stored resource: the compiled view on ``parsed`` (orjson) when it can, else the runner on
    the text parsed with exact decimals."""
    if fast is not None and parsed is not None:
        rows = fast.rows(parsed)
        if rows is not None:
            return rows
    return resource_rows(view, parse_content(text))
