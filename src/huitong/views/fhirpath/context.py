"""Evaluation context and navigation: how a compiled expression walks a resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath import model
from huitong.views.fhirpath.values import Node, to_system

Collection = list[Any]


class Ctx:
    """What an expression sees besides its focus: variables (``%name``), ``$this``, ``$index``, ``$total``."""

    __slots__ = ("index", "this", "total", "vars")

    def __init__(self, variables: dict[str, Collection], this: Collection) -> None:
        self.vars = variables
        self.this = this
        self.index: int | None = None
        self.total: Collection | None = None

    def child(self, item: Any, index: int) -> Ctx:
        """The context inside an iterating function (``where``, ``select``, …) for one item."""
        ctx = Ctx(self.vars, [item])
        ctx.index = index
        ctx.total = self.total
        return ctx


#: A compiled expression: (context, focus collection) → result collection.
Evaluator = Callable[[Ctx, Collection], Collection]


def eval_arg(ctx: Ctx, arg: Evaluator) -> Collection:
    """A non-iterating function argument, evaluated on the enclosing ``$this``."""
    return arg(ctx, ctx.this)


def _append(out: Collection, value: Any, ext: Any, ftype: str | None, resource: bool) -> None:
    if isinstance(value, list):
        exts = ext if isinstance(ext, list) else ()
        for i, element in enumerate(value):
            element_ext = exts[i] if i < len(exts) else None
            if element is None and element_ext is None:
                continue
            out.append(_node(element, element_ext, ftype, resource))
        return
    if value is None and ext is None:
        return
    out.append(_node(value, ext, ftype, resource))


def _node(value: Any, ext: Any, ftype: str | None, resource: bool) -> Node:
    if (resource or ftype is None) and isinstance(value, dict):
        rtype = value.get("resourceType")
        if isinstance(rtype, str):
            return Node(value, rtype, ext)
    if ftype is None and not isinstance(value, dict):
        ftype = model.primitive_type_of(value)
    return Node(value, ftype, ext)


#: (type, element) → (element info, "_element" key, choice key → (type, "_key")); filled on first use.
_ELEMENTS: dict[tuple[str | None, str], tuple[model.ElementInfo | None, str, dict[str, tuple[str, str]]]] = {}


def _element(ftype: str | None, name: str) -> tuple[model.ElementInfo | None, str, dict[str, tuple[str, str]]]:
    key = (ftype, name)
    found = _ELEMENTS.get(key)
    if found is None:
        info = model.element(ftype, name)
        choices = {k: (t, "_" + k) for k, t in info.choices} if info is not None else {}
        found = _ELEMENTS[key] = (info, "_" + name, choices)
    return found


def navigate(item: Any, name: str, out: Collection) -> None:
    """Append the children called ``name`` of ``item`` to ``out`` (choice elements resolved by type)."""
    if not isinstance(item, Node):
        return
    data = item.data
    if not isinstance(data, dict):
        ext = item.ext
        if isinstance(ext, dict) and name in ("extension", "id"):
            _append(out, ext.get(name), None, "Extension" if name == "extension" else "string", False)
        return
    info, ext_key, choices = _element(item.type, name)
    if info is None:
        value = data.get(name)
        if value is not None or ext_key in data:
            _append(out, value, data.get(ext_key), None, False)
            return
        if not name.startswith("_"):
            _choice_by_key(data, name, out)
        return
    if choices:
        for key in data:
            plain = key[1:] if key[:1] == "_" else key
            choice = choices.get(plain)
            if choice is not None:
                _append(out, data.get(plain), data.get(choice[1]), choice[0], False)
                return
        return
    value = data.get(name)
    if value is None:
        if ext_key in data:
            _append(out, None, data[ext_key], info.type, False)
        return
    if type(value) is list or info.is_resource or ext_key in data:
        _append(out, value, data.get(ext_key), info.type, info.is_resource)
        return
    out.append(Node(value, info.type))


def _choice_by_key(data: dict[str, Any], name: str, out: Collection) -> None:
    """Without a model: ``value`` finds ``valueQuantity`` (a key = name + a capitalised type name)."""
    size = len(name)
    for key, value in data.items():
        if len(key) > size and key.startswith(name) and key[size].isupper():
            suffix = key[size:]
            ftype = suffix if model.is_known_type(suffix) else suffix[0].lower() + suffix[1:]
            if model.is_known_type(ftype):
                _append(out, value, data.get("_" + key), ftype, False)
                return


def children(item: Any) -> Collection:
    """Every child element of ``item`` (for ``children()``/``descendants()``)."""
    out: Collection = []
    if not isinstance(item, Node) or not isinstance(item.data, dict):
        return out
    known = model.elements(item.type) if item.type else None
    seen: set[str] = set()
    for key in item.data:
        if key == "resourceType":
            continue
        base = key[1:] if key.startswith("_") else key
        if base in seen:
            continue
        seen.add(base)
        if known is not None and base not in known:
            # A choice key (valueQuantity): navigate by the choice's base name once.
            group = next((g for g, info in known.items() if any(k == base for k, _ in info.choices)), None)
            if group is not None:
                if group not in seen:
                    seen.add(group)
                    navigate(item, group, out)
                continue
        navigate(item, base, out)
    return out


def singleton(items: Collection, what: str = "value") -> Any:
    """The one item of ``items`` as a System value; None if empty; an error if there are several."""
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathEvaluationError(f"expected a single {what}, got {len(items)} items")
    return to_system(items[0])


def to_boolean(items: Collection) -> bool | None:
    """Singleton evaluation as Boolean: empty → None; one non-Boolean item → true."""
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathEvaluationError(f"expected a single boolean, got {len(items)} items")
    value = to_system(items[0])
    if isinstance(value, bool):
        return value
    return True
