"""The search parameters of each resource type, from the R4 specification (see ``_r4_params.py``).

:func:`search_params` gives every parameter a type can be searched by: its own, plus the ones common to
all resources (``_id``, ``_lastUpdated``, ``_tag``, ``_profile``, ``_security``, ``_source``). Parameters
whose expression this server cannot evaluate are left out, so the capability statement never claims them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache

from huitong.fhir.search._r4_params import PARAMS
from huitong.fhir.search.extract import UnsupportedExpressionError, compile_expression

#: Parameters answered from the ``resource`` table itself rather than an index table.
RESOURCE_COLUMNS = ("_id", "_lastUpdated")
#: Search-parameter types this server indexes and searches.
SUPPORTED_TYPES = frozenset({"token", "string", "date", "reference", "quantity", "number", "uri", "composite"})
#: Composites this server indexes: a token first component, then one of these.
COMPOSITE_SECOND = frozenset({"token", "quantity", "date", "string", "reference"})


@dataclass(frozen=True, slots=True)
class SearchParam:
    """One search parameter of one resource type."""

    code: str
    type: str
    expression: str
    targets: tuple[str, ...]
    #: Top-level elements the expression starts from, any type of a choice (``value`` for ``valueQuantity``); a
    #: resource with none of them nor of ``keys`` has no values (both empty: no such pruning).
    roots: frozenset[str] = frozenset()
    #: Composite parameters: (component code, relative expression, component type) of each component.
    components: tuple[tuple[str, str, str], ...] = ()
    #: The parameters whose index rows hold this one's values when it has none of its own (see :func:`aliases`):
    #: e.g. Observation ``combo-code`` → (``code``, ``component-code``). Empty: its own rows.
    stored_as: tuple[str, ...] = ()
    #: With ``stored_as``: only the rows referring to this type (``patient`` → ``subject`` rows to a Patient).
    stored_target: str | None = None
    #: Top-level keys a typed choice starts from (``value.ofType(Quantity)``: ``valueQuantity`` and ``value``).
    keys: frozenset[str] = frozenset()

    @property
    def indexed(self) -> bool:
        """Whether values are kept in an index table (``_id``/``_lastUpdated`` live on ``resource``)."""
        return self.code not in RESOURCE_COLUMNS

    @property
    def row_codes(self) -> tuple[str, ...]:
        """The ``param`` column values of the index rows that hold this parameter's values."""
        return self.stored_as or (self.code,)

    def allows_target(self, rtype: str) -> bool:
        return "*" in self.targets or rtype in self.targets


def _usable(kind: str, expression: str, components: tuple[tuple[str, str, str], ...] = ()) -> bool:
    if kind not in SUPPORTED_TYPES:
        return False
    if kind == "composite" and (
        len(components) != 2 or components[0][2] != "token" or components[1][2] not in COMPOSITE_SECOND
    ):
        return False
    try:
        compile_expression(expression)
        for _code, component, _kind in components:
            compile_expression(component)
    except UnsupportedExpressionError:
        return False
    return True


@cache
def search_params(rtype: str) -> dict[str, SearchParam]:
    """Every supported search parameter of ``rtype``, by code."""
    out: dict[str, SearchParam] = {}
    own = PARAMS.get(rtype, {})
    for table in (PARAMS.get("Resource", {}), own):
        for code, (kind, expression, targets, parts) in table.items():
            components = tuple((c, e, own[c][0] if c in own else "") for c, e in parts)
            if _usable(kind, expression, components):
                roots, keys = _roots(expression, rtype, components)
                out[code] = SearchParam(code, kind, expression, targets, roots, components, keys=keys)
    for code, (stored_as, target) in aliases(out).items():
        out[code] = replace(out[code], stored_as=stored_as, stored_target=target)
    return out


_RESOLVES_TO = re.compile(r"^(?P<path>.+)\.where\(resolve\(\) is (?P<type>[A-Z][A-Za-z]*)\)$")


def aliases(params: dict[str, SearchParam]) -> dict[str, tuple[tuple[str, ...], str | None]]:
    """The parameters whose values other parameters' index rows already hold, so they need no rows of their own:
    code → (the codes holding them, the one target type to keep or ``None``). Derived from the expressions:

    - the same expression as another parameter of the same kind (Patient ``phonetic`` and ``name``): the rows of
      the alphabetically first of them;
    - a union whose parts are exactly other parameters' expressions (Observation ``combo-code`` =
      ``code`` | ``component-code``; ``combo-code-value-quantity`` = ``code-value-quantity`` |
      ``component-code-value-quantity``, the same components on each part): the rows of those parameters;
    - ``X.where(resolve() is T)`` where ``X`` is another reference parameter's expression (Observation
      ``patient`` = ``subject`` to a Patient): that parameter's rows that refer to a ``T``.

    A union's rows may hold one value twice (a code on the Observation and on a component); the searches that
    rely on one row per resource and value (:func:`huitong.fhir.search.sql._unique_in_pk_order`) look at
    ``stored_as`` first. Searching, ``_include``, chains, ``_has`` and compartments all read ``row_codes``.
    """
    indexed = [p for p in params.values() if p.indexed]
    shape = {p.code: (p.type, _parts(p.expression), _relative(p)) for p in indexed}
    canonical: dict[tuple[object, ...], str] = {}
    out: dict[str, tuple[tuple[str, ...], str | None]] = {}
    for p in sorted(indexed, key=lambda q: q.code):  # the same expression: the first code holds the rows
        key = shape[p.code]
        if key in canonical:
            out[p.code] = ((canonical[key],), None)
        else:
            canonical[key] = p.code
    holders = [q for q in indexed if q.code not in out]
    for p in indexed:
        if p.code in out:
            continue
        kind, parts, relative = shape[p.code]
        resolved = _RESOLVES_TO.match(p.expression.strip()) if kind == "reference" else None
        if resolved is not None and len(parts) == 1:
            inner = _parts(resolved["path"])
            base = next((q.code for q in holders if q.type == "reference" and shape[q.code][1] == inner), None)
            if base is not None:
                out[p.code] = ((base,), resolved["type"])
            continue
        if len(parts) < 2:
            continue
        # a union: cover its parts exactly with other parameters' parts, the largest first
        left, chosen = set(parts), []
        for q in sorted(holders, key=lambda q: (-len(shape[q.code][1]), q.code)):
            q_kind, q_parts, q_relative = shape[q.code]
            # p itself is a holder; any other with all of p's parts would have p's shape, making p its alias above
            if q.code == p.code or q_kind != kind or q_relative != relative or not q_parts <= left:
                continue
            chosen.append(q.code)
            left -= q_parts
        if not left and len(chosen) > 1:
            out[p.code] = (tuple(sorted(chosen)), None)
    return out


def _parts(expression: str) -> frozenset[str]:
    """The parts of a top-level ``|`` union, without spaces and enclosing parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(expression):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i])
            start = i + 1
    parts.append(expression[start:])
    out = set()
    for part in parts:
        text = "".join(part.split())
        while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
            text = text[1:-1]
        out.add(text)
    return frozenset(out)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += 1 if ch == "(" else -1 if ch == ")" else 0
        if depth < 0:
            return False
    return depth == 0


def _relative(param: SearchParam) -> tuple[tuple[str, str], ...]:
    """A composite's components without their codes (relative expression, kind): what its rows hold per node."""
    return tuple(("".join(expr.split()), kind) for _code, expr, kind in param.components)


_ROOT = re.compile(r"(?:^|[|(]\s*)\(?\s*[A-Z][A-Za-z]*\.([a-z][A-Za-z0-9]*)")
_RELATIVE_ROOT = re.compile(r"\(?\s*([a-z][A-Za-z0-9]*)")
_TYPED = re.compile(r"\.ofType\(([A-Za-z]+)\)|\s+as\s+([A-Za-z]+)")


def _roots(
    expression: str, rtype: str = "", components: tuple[tuple[str, str, str], ...] = ()
) -> tuple[frozenset[str], frozenset[str]]:
    """The top-level elements each part of a union starts from: (elements of any choice type, exact keys of a
    typed choice) — ``Observation.value.ofType(Quantity)`` starts from the key ``valueQuantity`` (or a plain
    ``value``), so an Observation with a ``valueString`` need not evaluate it. A composite over the resource itself
    (``Observation``: ``code-value-quantity``) starts where its second component does. Both empty when a part is
    not simply a path: no pruning."""
    parts = [p.strip() for p in expression.split("|")]
    if components and parts == [rtype]:
        parts, pattern = [p.strip() for p in components[-1][1].split("|")], _RELATIVE_ROOT
    else:
        pattern = _ROOT
    roots, keys = set(), set()
    for part in parts:
        text = part.lstrip("(")
        match = pattern.match(text)
        if match is None:
            return frozenset(), frozenset()
        element = match.group(1)
        typed = _TYPED.match(text, match.end())
        if typed is None:
            roots.add(element)
        else:
            kind = typed.group(1) or typed.group(2)
            keys |= {element, element + kind[0].upper() + kind[1:]}
    return frozenset(roots), frozenset(keys)


@cache
def indexed_params(rtype: str) -> tuple[SearchParam, ...]:
    """The parameters of ``rtype`` whose values the indexer extracts on every write (not those whose values other
    parameters' rows hold: :func:`aliases`)."""
    return tuple(p for p in search_params(rtype).values() if p.indexed and not p.stored_as)


def row_codes(rtype: str, codes: Iterable[str]) -> list[str]:
    """The ``param`` values of the index rows holding ``codes`` of ``rtype`` (each once, in order); codes this
    server does not search are kept as they are. Callers selecting by code alone must also keep only the rows to
    the type a ``stored_target`` names (the compartment queries do: they select references to a Patient)."""
    params = search_params(rtype)
    out: dict[str, None] = {}
    for code in codes:
        param = params.get(code)
        out.update(dict.fromkeys(param.row_codes if param is not None else (code,)))
    return list(out)


def unsupported_params(rtype: str) -> list[str]:
    """Codes R4 defines for ``rtype`` that this server does not search (composite, special, odd paths)."""
    return sorted(set(PARAMS.get(rtype, {})) - set(search_params(rtype)))
