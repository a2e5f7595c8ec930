"""``_filter``: the FHIR filter expression language, translated into ordinary search criteria.

``_filter=name co "张" and (birthdate ge 2000-01-01 or not (gender eq male))`` — each comparison
``path op value`` becomes the criterion the same search would have as a parameter (so every parameter type,
chain and index works the same way), and ``and``/``or``/``not``/parentheses combine them. ``and`` binds more
tightly than ``or``. Supported operators:

=========  =================================================================================================
``eq``     equal: strings compare whole normalised values (case-, accent-insensitive); tokens, references,
           uris, composites as their parameter; dates and numbers as the ``eq`` prefix
``ne``     not equal (``not`` of ``eq``)
``co``     strings: contains            ``sw`` strings: starts with       ``ew`` strings: ends with
``gt lt ge le sa eb ap``  dates, numbers, quantities: the search prefixes
``pr``     ``pr true``: has a value, ``pr false``: has none
``in ni``  tokens: in / not in a value set          ``sb ss``  tokens: below / above a code; uris: below / above
``re``     references: refers to
=========  =================================================================================================

Paths are a parameter name, or one chain step (``subject.name``, ``subject:Patient.name``). Values are
a JSON string in double quotes or a run of characters up to a space or ``)``. Not supported (a 400 names
them): ``po`` (period overlaps), filters inside paths (``name[use eq official]``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from huitong.fhir.search.errors import SearchError
from huitong.fhir.search.request import Criterion, FilterAnd, FilterNode, FilterNot, FilterOr

CriterionParser = Callable[[str, str, str], Criterion]

#: Limits that keep a filter's SQL reasonable.
MAX_DEPTH = 12
MAX_LEAVES = 64
_LOGIC = ("and", "or", "not")
_STRING_OPS = {"eq": "filter-eq", "sw": None, "co": "contains", "ew": "filter-ew"}
_PREFIX_OPS = ("eq", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_TOKEN_OPS = {"eq": None, "in": "in", "ni": "not-in", "sb": "below", "ss": "above"}
_URI_OPS = {"eq": None, "sb": "below", "ss": "above"}
OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "ap", "sa", "eb", "pr", "po"})
OPERATORS |= {"ss", "sb", "in", "ni", "re"}


def tokenize(text: str) -> list[str]:
    """Split a filter into ``(``, ``)``, quoted strings (kept with their quotes) and words."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(ch)
            i += 1
        elif ch == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= len(text):
                raise SearchError("_filter: a string is not closed with a double quote")
            out.append(text[i : j + 1])
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in "()":
                j += 1
            out.append(text[i:j])
            i = j
    return out


class _Parser:
    def __init__(self, rtype: str, text: str, parse_criterion: CriterionParser) -> None:
        self.rtype = rtype
        self.tokens = tokenize(text)
        self.pos = 0
        self.leaves = 0
        self.parse_criterion = parse_criterion

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, what: str) -> str:
        token = self.peek()
        if token is None:
            raise SearchError(f"_filter ends where {what} was expected")
        self.pos += 1
        return token

    def parse(self) -> FilterNode:
        if not self.tokens:
            raise SearchError("_filter is empty")
        node = self.expr(0)
        if self.peek() is not None:
            raise SearchError(f"_filter: unexpected {self.peek()!r}; join comparisons with and / or")
        return node

    def expr(self, depth: int) -> FilterNode:
        parts = [self.term(depth)]
        while self.peek() == "or":
            self.pos += 1
            parts.append(self.term(depth))
        return parts[0] if len(parts) == 1 else FilterOr(tuple(parts))

    def term(self, depth: int) -> FilterNode:
        parts = [self.factor(depth)]
        while self.peek() == "and":
            self.pos += 1
            parts.append(self.factor(depth))
        return parts[0] if len(parts) == 1 else FilterAnd(tuple(parts))

    def factor(self, depth: int) -> FilterNode:
        if depth > MAX_DEPTH:
            raise SearchError(f"_filter nests more than {MAX_DEPTH} levels")
        word = self.take("a comparison")
        if word == "not":
            if self.take("(") != "(":
                raise SearchError("_filter: not must be followed by a parenthesis: not (…)")
            return FilterNot(self._group(depth))
        if word == "(":
            return self._group(depth)
        return self.comparison(word)

    def _group(self, depth: int) -> FilterNode:
        node = self.expr(depth + 1)
        if self.peek() != ")":
            raise SearchError("_filter: a parenthesis is not closed where it should be")
        self.pos += 1
        return node

    def comparison(self, path: str) -> FilterNode:
        if path in _LOGIC or path in ("(", ")") or path.startswith('"'):
            raise SearchError(f"_filter: expected a parameter name, got {path!r}")
        if "[" in path:
            raise SearchError("_filter: filters inside a path (name[…]) are not supported; use a chain or and")
        op = self.take("an operator")
        if op not in OPERATORS:
            raise SearchError(
                f"_filter: unknown operator {op!r} (eq ne co sw ew gt lt ge le sa eb ap pr in ni sb ss re)"
            )
        raw = self.take("a value")
        if raw in ("(", ")") or raw in _LOGIC:
            raise SearchError(f"_filter: {path} {op} needs a value")
        value = _value(raw)
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            raise SearchError(f"_filter has more than {MAX_LEAVES} comparisons")
        return self.leaf(path, op, value)

    def leaf(self, path: str, op: str, value: str) -> FilterNode:
        kind = self.param_type(path)
        if op == "pr":
            if value not in ("true", "false"):
                raise SearchError(f"_filter: {path} pr takes true or false")
            return self.parse_criterion(self.rtype, f"{path}:missing", "false" if value == "true" else "true")
        if op == "ne":
            return FilterNot(self.leaf(path, "eq", value))
        if op == "po":
            raise SearchError("_filter: po (period overlaps) is not supported; use ap or a ge/le pair")
        if kind == "string" and op in _STRING_OPS:
            return self._with_modifier(path, value, _STRING_OPS[op])
        if kind in ("date", "number", "quantity") and op in _PREFIX_OPS:
            return self.parse_criterion(self.rtype, path, op + value)
        if kind == "token" and op in _TOKEN_OPS:
            return self._with_modifier(path, value, _TOKEN_OPS[op])
        if kind == "uri" and op in _URI_OPS:
            return self._with_modifier(path, value, _URI_OPS[op])
        if kind in ("reference", "composite") and op in ("eq", "re"):
            return self.parse_criterion(self.rtype, path, value)
        raise SearchError(f"_filter: operator {op} does not apply to {path} (a {kind} parameter)")

    def _with_modifier(self, path: str, value: str, modifier: str | None) -> Criterion:
        """The criterion of ``path`` with ``modifier`` on its last step (internal ``filter-…`` ones set after)."""
        if modifier is None or not modifier.startswith("filter-"):
            return self.parse_criterion(self.rtype, f"{path}:{modifier}" if modifier else path, value)
        return _set_modifier(self.parse_criterion(self.rtype, path, value), modifier)

    def param_type(self, path: str) -> str:
        from huitong.fhir.search.params import search_params

        head, dot, rest = path.partition(".")
        code, _, target = head.partition(":")
        params = search_params(self.rtype)
        if code not in params:
            raise SearchError(f"_filter: unknown search parameter {code!r} for {self.rtype}")
        if not dot:
            return params[code].type
        ref = params[code]
        targets = [t for t in ref.targets if t != "*"]
        target = target or (targets[0] if len(targets) == 1 else "")
        if ref.type == "reference" and not target:
            raise SearchError(f"_filter: chaining {code} needs a type, e.g. {code}:Patient.{rest}")
        inner = search_params(target).get(rest.partition(":")[0]) if target else None
        if ref.type != "reference" or inner is None:
            raise SearchError(f"_filter: cannot follow {path} (one chain step: reference:Type.parameter)")
        return inner.type


def _value(raw: str) -> str:
    if not raw.startswith('"'):
        return raw
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise SearchError(f"_filter: {raw} is not a valid string") from exc
    if not isinstance(value, str):
        raise SearchError(f"_filter: {raw} is not a valid string")
    return value


def _set_modifier(crit: Criterion, modifier: str) -> Criterion:
    if crit.chain is not None:
        return replace(crit, chain=_set_modifier(crit.chain, modifier))
    return replace(crit, modifier=modifier)


def parse_filter(rtype: str, text: str, parse_criterion: CriterionParser) -> FilterNode:
    """The filter tree of ``text`` on ``rtype``; raises only :class:`SearchError`."""
    return _Parser(rtype, text, parse_criterion).parse()


def leaves(node: FilterNode) -> list[Criterion]:
    """The criteria of a filter tree."""
    if isinstance(node, Criterion):
        return [node]
    if isinstance(node, FilterNot):
        return leaves(node.part)
    return [c for part in node.parts for c in leaves(part)]
