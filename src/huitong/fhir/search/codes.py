"""Token modifiers answered by the terminology: ``:in``, ``:not-in``, ``:below`` and ``:above``.

Before a search runs, :func:`resolve_codes` replaces each such criterion with the plain token criterion it
stands for, read from the terminology tables on the search's own connection (``huitong.terminology``):

* ``code:in=<ValueSet url or ValueSet/id>`` → the value set's codes (its ``compose`` expanded: included
  code systems, concept lists, ``is-a``/``descendent-of``/``=`` filters, nested value sets; or its
  ``expansion`` when it has no ``compose``); ``:not-in`` → ``:not`` of the same codes;
* ``code:below=system|code`` → the code and all its descendants in the code system's newest loaded
  version (the ``parent`` of each concept); ``:above`` → the code and its ancestors.

The SQL then looks codes up in the token index as usual (grouped by system: ``system = … AND code IN (…)``).
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir import jsonio
from huitong.fhir.search.errors import SearchError
from huitong.fhir.search.filter import leaves
from huitong.fhir.search.request import (
    Criterion,
    FilterAnd,
    FilterNode,
    FilterNot,
    FilterOr,
    SearchRequest,
    TokenValue,
    Value,
)
from huitong.terminology.errors import TerminologyError
from huitong.terminology.service import Terminology

TERMINOLOGY_MODIFIERS = frozenset({"in", "not-in", "below", "above"})
#: Stands for "no code at all" (an empty value set): matches no index row.
NO_CODE = TokenValue("\x00", "\x00")
#: A value set or hierarchy larger than this is refused (the SQL would be unreasonably large).
MAX_CODES = 50_000


def needs_terminology(crit: Criterion) -> bool:
    """Whether ``crit`` (or the criterion it chains to) uses a terminology modifier."""
    if crit.modifier in TERMINOLOGY_MODIFIERS and crit.param.type == "token":
        return True
    return crit.chain is not None and needs_terminology(crit.chain)


def resolve_codes(conn: sa.Connection, request: SearchRequest, terminology: Terminology) -> SearchRequest:
    """``request`` with terminology modifiers replaced by explicit codes (``request`` itself when none)."""
    in_filters = any(needs_terminology(c) for node in request.filters for c in leaves(node))
    if not in_filters and not any(needs_terminology(c) for c in request.criteria):
        return request
    return replace(
        request,
        criteria=[_resolve(conn, c, terminology) for c in request.criteria],
        filters=[_resolve_node(conn, node, terminology) for node in request.filters],
    )


def _resolve_node(conn: sa.Connection, node: FilterNode, terminology: Terminology) -> FilterNode:
    if isinstance(node, FilterAnd):
        return FilterAnd(tuple(_resolve_node(conn, part, terminology) for part in node.parts))
    if isinstance(node, FilterOr):
        return FilterOr(tuple(_resolve_node(conn, part, terminology) for part in node.parts))
    if isinstance(node, FilterNot):
        return FilterNot(_resolve_node(conn, node.part, terminology))
    return _resolve(conn, node, terminology)


def _resolve(conn: sa.Connection, crit: Criterion, terminology: Terminology) -> Criterion:
    if crit.chain is not None:
        return replace(crit, chain=_resolve(conn, crit.chain, terminology)) if needs_terminology(crit) else crit
    if not needs_terminology(crit):
        return crit
    codes: set[tuple[str, str]] = set()
    try:
        for value in crit.values:
            if crit.modifier in ("in", "not-in"):
                assert isinstance(value, str)  # noqa: S101 - the parser keeps value-set references as text
                codes |= terminology.value_set_codes(conn, _value_set_url(conn, value))
            else:
                assert isinstance(value, TokenValue)  # noqa: S101
                assert value.system and value.code  # noqa: S101 - the parser requires system|code
                found = terminology.hierarchy(conn, value.system, value.code, below=crit.modifier == "below")
                if found is None:
                    raise SearchError(
                        f"{crit.param.code}:{crit.modifier} needs the code system {value.system!r}, which is not "
                        "loaded; load it with `huitong terminology load-codesystem`"
                    )
                codes |= {(value.system, c) for c in found}
            if len(codes) > MAX_CODES:
                raise SearchError(f"{crit.param.code}:{crit.modifier} selects more than {MAX_CODES} codes; narrow it")
    except TerminologyError as exc:
        raise SearchError(f"{crit.param.code}:{crit.modifier}: {exc}") from exc
    values: tuple[Value, ...] = tuple(TokenValue(s, c) for s, c in sorted(codes)) or (NO_CODE,)
    return replace(crit, modifier="not" if crit.modifier == "not-in" else None, values=values)


def _value_set_url(conn: sa.Connection, text: str) -> str:
    """A value set's canonical URL from ``text`` (a URL, ``url|version``, or a ``ValueSet/id`` reference)."""
    if not text.startswith("ValueSet/"):
        return text
    rid = text.removeprefix("ValueSet/")
    content = conn.execute(
        sa.select(resource.c.content).where(
            resource.c.res_type == "ValueSet", resource.c.res_id == rid, resource.c.deleted.is_(False)
        )
    ).scalar()
    body = jsonio.loads(content) if content else None
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        raise SearchError(f"{text} does not exist or has no url; give the value set's canonical URL")
    return str(body["url"])
