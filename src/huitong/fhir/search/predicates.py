"""Value predicates of a search: the WHERE condition one search value puts on its index table's rows.

What each kind of FHIR search value (token, date, number and quantity, reference, uri) means as a condition on the
rows of its ``search_<kind>`` table — prefixes, ranges, ``ap``, systems — plus the small pieces
:class:`~huitong.fhir.search.sql.SqlBuilder` shares: the rows of a parameter, keyset bounds, sort columns. The builder
combines these into a search's SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from huitong.fhir.search.errors import SearchError
from huitong.fhir.search.params import SearchParam
from huitong.fhir.search.parse import now_ms
from huitong.fhir.search.request import Criterion, RangeValue, ReferenceValue, TokenValue, Value

Pred = sa.ColumnElement[bool]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def normalise_text(text: str) -> str:
    """``text`` as string index rows hold it (case, accents and width folded: ``values.normalise``)."""
    from huitong.fhir.search.values import normalise

    return normalise(text)


def escape_like(text: str) -> str:
    """``text`` for a ``LIKE … ESCAPE '\\'`` pattern: its ``%``, ``_`` and backslashes literal."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def token_match(table: sa.Table, v: TokenValue) -> Pred:
    """A token row matching ``[system]|[code]`` (``|code``: no system; ``system|``: any code of it)."""
    return token_on(table.c.system, table.c.code, v)


def token_on(system: Any, code: Any, v: TokenValue) -> Pred:
    """:func:`token_match` on the given system and code columns (a composite's second component has its own)."""
    conds: list[Pred] = []
    if v.code is not None:
        conds.append(code == v.code)
    if v.system == "":
        conds.append(system.is_(None))
    elif v.system is not None:
        conds.append(system == v.system)
    return sa.and_(*conds) if conds else sa.true()


def of_param(table: sa.FromClause, param: SearchParam, suffix: str = "") -> Pred:
    """``table``'s rows of ``param`` (``suffix``: its ``:text``/``:of-type`` rows) — those of the parameters that
    hold its values when it has no rows of its own (:func:`huitong.fhir.search.params.aliases`)."""
    codes = [code + suffix for code in param.row_codes]
    cond: Pred = table.c.param == codes[0] if len(codes) == 1 else table.c.param.in_(codes)
    if param.stored_target is not None and "target_type" in table.c:
        cond = sa.and_(cond, table.c.target_type == param.stored_target)
    return cond


def bounded(column: Any, pk_bound: tuple[int, bool] | None) -> list[Pred]:
    """``column > pk`` (``< pk`` before it) for a keyset bound, else nothing."""
    if pk_bound is None:
        return []
    pk, before = pk_bound
    return [column < pk if before else column > pk]


def token_set(table: sa.Table, values: tuple[Value, ...]) -> Pred:
    """Many tokens (an expanded value set, a long OR list) as ``system = s AND code IN (…)`` per system."""
    by_system: dict[str | None, set[str]] = {}
    others: list[Pred] = []
    for v in values:
        assert isinstance(v, TokenValue)  # noqa: S101
        if v.code is None or v.system == "":
            others.append(token_match(table, v))
        else:
            by_system.setdefault(v.system, set()).add(v.code)
    for system, codes in by_system.items():
        in_codes: Pred = table.c.code.in_(sorted(codes))
        others.append(in_codes if system is None else sa.and_(table.c.system == system, in_codes))
    return sa.or_(*others)


def uri_ancestors(uri: str) -> list[str]:
    """``uri`` and every path above it (``http://x.org/fhir/ValueSet/1`` → ``…/ValueSet``, ``…/fhir``, …)."""
    scheme, sep, rest = uri.partition("://")
    head, parts = (scheme + sep, rest.split("/")) if sep else ("", uri.split("/"))
    out = [uri]
    for i in range(len(parts) - 1, 0, -1):
        prefix = head + "/".join(parts[:i])
        out += [prefix, prefix + "/"]
    return list(dict.fromkeys(out))


def cursor_key_value(name: str, value: Any) -> Any:
    """A cursor's key value as the column compares it (``last_updated`` travels as ISO text)."""
    if name == "last_updated":
        if not isinstance(value, str):
            raise SearchError("_cursor is damaged: follow the next/previous links of a search as they are")
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise SearchError("_cursor is damaged: follow the next/previous links of a search as they are") from exc
    if name == "pk" and not isinstance(value, int):
        raise SearchError("_cursor is damaged: follow the next/previous links of a search as they are")
    return value


def widen(v: RangeValue) -> tuple[float, float]:
    """``ap``: the range widened by 10% of its distance from now (at least its own width)."""
    gap = abs(now_ms() - v.low) * 0.1
    return v.low - gap, v.high + gap


def date_match(table: sa.Table, v: RangeValue) -> Pred:
    """A date row (``low``…``high``, ms) matching a date value under its prefix (R4 date search semantics)."""
    low, high = table.c.low, table.c.high
    pl, ph = (int(x) for x in (widen(v) if v.prefix == "ap" else (v.low, v.high)))
    return {
        "eq": sa.and_(low >= pl, high <= ph),
        "ne": sa.or_(low < pl, high > ph),
        "gt": high > ph,
        "lt": low < pl,
        "ge": high > pl,
        "le": low < ph,
        "sa": low >= ph,
        "eb": high <= pl,
        "ap": sa.and_(low < ph, high > pl),
    }[v.prefix]


def number_match(column: Any, system: Any, code: Any, v: RangeValue) -> Pred:
    """A number or quantity row matching a value under its prefix (its precision for ``eq``/``ne``), with the
    quantity's system and code when given."""
    exact = float(v.value) if v.value is not None else v.low
    if v.prefix == "ap":
        gap = abs(exact) * 0.1
        cond: Pred = sa.and_(column >= exact - gap, column <= exact + gap)
    else:
        cond = {
            "eq": sa.and_(column >= v.low, column < v.high),
            "ne": sa.or_(column < v.low, column >= v.high),
            "gt": column > exact,
            "sa": column > exact,
            "lt": column < exact,
            "eb": column < exact,
            "ge": column >= exact,
            "le": column <= exact,
        }[v.prefix]
    conds = [cond]
    if v.system is not None:
        conds.append(system == v.system)
    if v.code is not None:
        conds.append(code == v.code)
    return sa.and_(*conds)


def reference_match(table: sa.Table, crit: Criterion, v: ReferenceValue) -> Pred:
    """A reference row pointing at ``[type/]id`` (or at the absolute URL given)."""
    if v.target_id is None:
        return table.c.url == v.url
    conds: list[Pred] = [table.c.target_id == v.target_id]
    rtype = v.target_type or crit.target_type
    if rtype is not None:
        conds.append(table.c.target_type == rtype)
    by_id = sa.and_(*conds)
    return sa.or_(by_id, table.c.url == v.url) if v.url else by_id


def sort_column(table: sa.Table, kind: str, descending: bool) -> Any:
    """The column of a ``kind`` index table that ``_sort`` orders by (a date: its end when descending)."""
    if kind == "date":
        return table.c.high if descending else table.c.low
    if kind == "string":
        return table.c.norm
    if kind == "token":
        return table.c.code
    if kind == "reference":
        return table.c.target_id
    return table.c.value


def moment(ms: float) -> datetime:
    """Milliseconds since 1970 as a UTC time, clamped to years 1–9999."""
    return _EPOCH + timedelta(milliseconds=max(min(ms, 253402300799000), -62135596800000))
