"""The search parameters of each resource type, from the R4 specification (see ``_r4_params.py``).

:func:`search_params` gives every parameter a type can be searched by: its own, plus the ones common to
all resources (``_id``, ``_lastUpdated``, ``_tag``, ``_profile``, ``_security``, ``_source``). Parameters
whose expression this server cannot evaluate are left out, so the capability statement never claims them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
    #: Top-level elements the expression starts from; a resource without any of them has no values.
    roots: frozenset[str] = frozenset()
    #: Composite parameters: (component code, relative expression, component type) of each component.
    components: tuple[tuple[str, str, str], ...] = ()

    @property
    def indexed(self) -> bool:
        """Whether values are kept in an index table (``_id``/``_lastUpdated`` live on ``resource``)."""
        return self.code not in RESOURCE_COLUMNS

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
                out[code] = SearchParam(code, kind, expression, targets, _roots(expression), components)
    return out


_ROOT = re.compile(r"(?:^|[|(]\s*)\(?\s*[A-Z][A-Za-z]*\.([a-z][A-Za-z0-9]*)")


def _roots(expression: str) -> frozenset[str]:
    """First elements after the type in each part of a union (empty when not simply a path: no pruning)."""
    parts = [p.strip() for p in expression.split("|")]
    roots = set()
    for part in parts:
        match = _ROOT.match(part.lstrip("("))
        if match is None:
            return frozenset()
        roots.add(match.group(1))
    return frozenset(roots)


@cache
def indexed_params(rtype: str) -> tuple[SearchParam, ...]:
    """The parameters of ``rtype`` whose values the indexer extracts on every write."""
    return tuple(p for p in search_params(rtype).values() if p.indexed)


def unsupported_params(rtype: str) -> list[str]:
    """Codes R4 defines for ``rtype`` that this server does not search (composite, special, odd paths)."""
    return sorted(set(PARAMS.get(rtype, {})) - set(search_params(rtype)))
