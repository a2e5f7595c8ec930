"""A small FHIRPath evaluator for the subset that R4 search-parameter expressions use.

Supported: paths (``Patient.name.family``), choice elements (``Observation.value`` finds ``valueQuantity``),
``|`` unions, parentheses, ``ofType(T)`` and ``as T``, ``where(resolve() is T)``, ``where(elem='text')``
and the one ``exists() and … != false`` form (``Patient.deceased``). Expressions are compiled once into
closures and cached. Anything else raises :class:`UnsupportedExpressionError` at compile time, which the
indexer reports (the parameter is then left out of the capability statement).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from huitong.fhir.search._choice_elements import CHOICE_ELEMENTS

#: A value found by a path, with its FHIR type when the path made it known (choice elements, ofType).
Node = tuple[Any, str | None]
Step = Callable[[list[Node]], list[Node]]

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>!=|[.()|=]))")
_PRIMITIVES = {
    "Boolean",
    "Integer",
    "String",
    "Decimal",
    "Uri",
    "Url",
    "Canonical",
    "Base64Binary",
    "Instant",
    "Date",
    "DateTime",
    "Time",
    "Code",
    "Oid",
    "Id",
    "Markdown",
    "UnsignedInt",
    "PositiveInt",
    "Uuid",
}


class UnsupportedExpressionError(ValueError):
    """The expression uses FHIRPath beyond the search subset."""


def _tokens(expression: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = expression.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise UnsupportedExpressionError(f"cannot read {text[pos:]!r} in {expression!r}")
        out.append(match.group(match.lastgroup or "op"))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise UnsupportedExpressionError(f"expected {expected or 'more'} in {self.expression!r}")
        self.pos += 1
        return token

    def union(self) -> Step:
        paths = [self.path()]
        while self.peek() == "|":
            self.take("|")
            paths.append(self.path())
        if len(paths) == 1:
            return paths[0]
        return lambda nodes: [n for p in paths for n in p(nodes)]

    def path(self) -> Step:
        tok = self.take()
        if tok == "(":
            first = self.union()
            self.take(")")
        elif tok[0].isupper():
            rtype = tok
            first = lambda nodes: [n for n in nodes if _is_root_of(n, rtype)]  # noqa: E731
        elif tok[0].islower() and self.peek() != "(":
            first = _child(tok)  # a path relative to the input (composite components: ``value.ofType(Quantity)``)
        else:
            raise UnsupportedExpressionError(f"a path must start with a type or an element in {self.expression!r}")
        steps = [first]
        while self.peek() in (".", "as", "is"):
            tok = self.take()
            if tok == "as":
                steps.append(_of_type(self.take()))
            elif tok == "is":
                raise UnsupportedExpressionError(f"'is' outside where() in {self.expression!r}")
            else:
                steps.append(self.step())
        return _chain(steps)

    def step(self) -> Step:
        name = self.take()
        if self.peek() != "(":
            return _child(name)
        self.take("(")
        if name == "ofType":
            step = _of_type(self.take())
        elif name == "where":
            step = self.where()
        elif name in ("exists", "resolve"):
            raise UnsupportedExpressionError(f"{name}() outside where() in {self.expression!r}")
        else:
            raise UnsupportedExpressionError(f"function {name}() is not supported in {self.expression!r}")
        self.take(")")
        return step

    def where(self) -> Step:
        first = self.take()
        if first == "resolve":
            self.take("(")
            self.take(")")
            self.take("is")
            return _resolves_to(self.take())
        self.take("=")
        literal = self.take()
        if not literal.startswith("'"):
            raise UnsupportedExpressionError(f"where() compares with a string only in {self.expression!r}")
        wanted = literal[1:-1]
        return lambda nodes: [n for n in nodes if isinstance(n[0], dict) and n[0].get(first) == wanted]


def _chain(steps: list[Step]) -> Step:
    def run(nodes: list[Node]) -> list[Node]:
        for step in steps:
            nodes = step(nodes)
            if not nodes:
                return nodes
        return nodes

    return run


def _is_root_of(node: Node, rtype: str) -> bool:
    value = node[0]
    return isinstance(value, dict) and (rtype in ("Resource", "DomainResource") or value.get("resourceType") == rtype)


def _child(name: str) -> Step:
    if name not in CHOICE_ELEMENTS:  # a plain element: one dictionary lookup

        def run_plain(nodes: list[Node]) -> list[Node]:
            out: list[Node] = []
            for value, _type in nodes:
                if isinstance(value, dict):
                    child = value.get(name)
                    if child is not None:
                        _append(out, child, None)
            return out

        return run_plain
    size = len(name)

    def run(nodes: list[Node]) -> list[Node]:
        out: list[Node] = []
        for value, _type in nodes:
            if not isinstance(value, dict):
                continue
            if name in value:
                _append(out, value[name], None)
                continue
            for key in value:  # a choice element: ``valueQuantity`` is ``value`` of type Quantity
                if len(key) > size and key.startswith(name) and key[size].isupper():
                    kind = key[size:]
                    _append(out, value[key], kind[0].lower() + kind[1:] if kind in _PRIMITIVES else kind)
        return out

    return run


def _append(out: list[Node], value: Any, kind: str | None) -> None:
    if isinstance(value, list):
        out.extend((v, kind) for v in value if v is not None)
    elif value is not None:
        out.append((value, kind))


def _of_type(kind: str) -> Step:
    wanted = kind.lower()  # the R4 data writes both ``dateTime`` and ``DateTime``
    return lambda nodes: [n for n in nodes if n[1] is None or n[1].lower() == wanted]


def _resolves_to(rtype: str) -> Step:
    def run(nodes: list[Node]) -> list[Node]:
        out: list[Node] = []
        for node in nodes:
            ref = node[0].get("reference") if isinstance(node[0], dict) else None
            if isinstance(ref, str) and reference_type(ref) == rtype:
                out.append(node)
        return out

    return run


def reference_type(ref: str) -> str | None:
    """The resource type a literal reference (``Patient/1``, ``https://…/Patient/1/_history/2``) points to."""
    parts = ref.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2]
    return None


_EXISTS_NOT_FALSE = re.compile(r"^(?P<path>[\w.]+)\.exists\(\) and (?P=path) != false$")


@cache
def compile_expression(expression: str) -> Step:
    """Compile a search-parameter expression (cached)."""
    special = _EXISTS_NOT_FALSE.match(expression.strip())
    if special:
        inner = compile_expression(special.group("path"))
        return lambda nodes: [(True, "boolean")] if any(n[0] is not False for n in inner(nodes)) else []
    parser = _Parser(expression)
    step = parser.union()
    if parser.peek() is not None:
        raise UnsupportedExpressionError(f"unexpected {parser.peek()!r} in {expression!r}")
    return step


def evaluate(expression: str, resource: dict[str, Any]) -> list[Node]:
    """The nodes ``expression`` selects from ``resource``."""
    return compile_expression(expression)([(resource, resource.get("resourceType"))])


def evaluate_on(expression: str, node: Node) -> list[Node]:
    """The nodes a relative ``expression`` (``code``, ``value.ofType(Quantity)``) selects from ``node``."""
    return compile_expression(expression)([node])
