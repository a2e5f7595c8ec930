"""The search indexer: a write hook that keeps the index tables in step with every resource version.

For each supported parameter of the resource's type, :func:`index_rows` evaluates its FHIRPath expression
and turns the values into rows of the table for its kind. :class:`SearchIndexer` replaces a resource's
rows inside the write transaction (:mod:`huitong.fhir.hooks`), so an index never disagrees with the data.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa

from huitong.db import bulk
from huitong.fhir.hooks import ResourceChange
from huitong.fhir.search import fulltext as fulltext_rows
from huitong.fhir.search.extract import Node, evaluate, evaluate_on, reference_type
from huitong.fhir.search.params import SearchParam, indexed_params
from huitong.fhir.search.schema import INDEX_TABLES, MAX_MS, MIN_MS, TABLE_OF_KIND, search_composite, search_string
from huitong.fhir.search.values import MAX_TEXT, date_range, has_cjk, normalise, pinyin

Rows = dict[sa.Table, list[dict[str, Any]]]
_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


class SearchIndexer:
    """The :class:`~huitong.fhir.hooks.WriteHook` that maintains the search index tables.

    Inside :meth:`deferred` — the store opens one around every write transaction — index rows are collected
    and inserted with one ``executemany`` per table when the block ends, still inside the same transaction:
    an HL7 message of a dozen resources costs a handful of statements instead of a hundred. A nested block
    (a savepoint: one entry of a batch bundle, one line of an import) flushes what came before it on entry,
    flushes its own rows on exit, and throws them away when it ends with an error, so rows of writes a
    savepoint undoes are never inserted. :meth:`flush` makes pending rows visible to a search inside the
    transaction.
    """

    def __init__(self, fulltext_types: Collection[str] = ("*",)) -> None:
        self._pending: dict[int, _Pending] = {}
        #: Types whose words are indexed for ``_text``/``_content`` (settings: ``fhir.fulltext_types``).
        self.fulltext = FulltextTypes(fulltext_types)

    def resource_written(self, conn: sa.Connection, change: ResourceChange) -> None:
        pending = self._pending.get(id(conn))
        if pending is None:
            if not change.created:
                delete_rows(conn, [change.pk])
            if change.resource is not None:
                insert_rows(conn, self._rows(change, change.resource, {}))
            return
        if not change.created:
            if change.pk in pending.unwritten:
                pending.discard(change.pk)  # its rows were never inserted
            else:
                pending.stale.add(change.pk)  # its rows go when the block's rows are inserted
        if change.resource is not None:
            self._rows(change, change.resource, pending.rows)
            pending.unwritten.add(change.pk)

    def _rows(self, change: ResourceChange, resource: dict[str, Any], into: Rows) -> Rows:
        """The rows of ``change`` added to ``into``: its prepared rows when they were made with this indexer's
        full-text choice, else evaluated here."""
        fulltext = self.fulltext(change.res_type)
        prepared = change.index
        if isinstance(prepared, PreparedIndex) and prepared.fulltext == fulltext:
            return prepared.rows_into(change.pk, into)
        return index_rows(change.pk, change.res_type, resource, into, fulltext=fulltext)

    @contextmanager
    def deferred(self, conn: sa.Connection) -> Iterator[None]:
        """Collect the index rows of writes on ``conn`` and insert them together when the block ends."""
        key = id(conn)
        outer = self._pending.get(key)
        if outer is not None:
            outer.flush(conn)
        pending = self._pending[key] = _Pending()
        try:
            yield
            pending.flush(conn)
        finally:
            if outer is not None:
                self._pending[key] = outer
            else:
                del self._pending[key]

    def flush(self, conn: sa.Connection) -> None:
        """Insert the rows collected so far on ``conn`` (before a search inside the same transaction)."""
        pending = self._pending.get(id(conn))
        if pending is not None:
            pending.flush(conn)


class _Pending:
    """Index rows not yet inserted, the resources (by pk) none of whose rows is inserted yet, and those whose
    inserted rows a later version replaces: deleted, one statement per table, just before the block's rows go in
    (an HL7 message updates its Patient, doctor and ward every time)."""

    __slots__ = ("rows", "stale", "unwritten")

    def __init__(self) -> None:
        self.rows: Rows = {}
        self.unwritten: set[int] = set()
        self.stale: set[int] = set()

    def discard(self, pk: int) -> None:
        for table, values in self.rows.items():
            self.rows[table] = [v for v in values if v["resource_pk"] != pk]

    def flush(self, conn: sa.Connection) -> None:
        if self.stale:
            delete_rows(conn, sorted(self.stale))
            self.stale.clear()
        insert_rows(conn, self.rows)
        self.rows = {}
        self.unwritten.clear()


#: One prepared DELETE per index table (built once: the write path runs them for every update).
_DELETES = tuple(
    table.delete().where(table.c.resource_pk.in_(sa.bindparam("b_pks", expanding=True))) for table in INDEX_TABLES
)


def delete_rows(conn: sa.Connection, pks: list[int]) -> None:
    """Remove every index row of the resources ``pks``."""
    for statement in _DELETES:
        conn.execute(statement, {"b_pks": pks})


def insert_rows(conn: sa.Connection, rows: Rows) -> None:
    """Insert index rows (one executemany per table)."""
    for table, values in rows.items():
        bulk.insert_rows(conn, table, values)


_TABLE_BY_NAME: dict[str, sa.Table] = {table.name: table for table in INDEX_TABLES}


@dataclass(frozen=True, slots=True)
class PreparedIndex:
    """The index rows of one resource body computed ahead — in a worker process, before the write transaction —
    without the row key, which the write assigns. Plain data (table names, dicts), so it crosses processes.

    It must come from exactly the body that is written (:meth:`Transaction.put_many` takes it per body and drops
    it when the store changes the body, e.g. encrypts a field), with the indexer's full-text choice for its type.
    """

    rows: tuple[tuple[str, tuple[dict[str, Any], ...]], ...]
    fulltext: bool

    @classmethod
    def of(cls, rtype: str, body: dict[str, Any], *, fulltext: bool) -> PreparedIndex:
        rows = index_rows(0, rtype, body, fulltext=fulltext)
        return cls(tuple((table.name, tuple(values)) for table, values in rows.items() if values), fulltext)

    def rows_into(self, pk: int, into: Rows) -> Rows:
        """The rows with their key ``pk``, appended to ``into``. The rows themselves get the key: a prepared index
        serves one write (again only when that write's transaction is retried, which discards the earlier rows)."""
        for name, values in self.rows:
            for row in values:
                row["resource_pk"] = pk
            into.setdefault(_TABLE_BY_NAME[name], []).extend(values)
        return into


class FulltextTypes:
    """Which resource types get ``_text``/``_content`` rows: those listed, or every type for ``*``."""

    def __init__(self, types: Collection[str]) -> None:
        self.all = "*" in types
        self.types = frozenset(types)

    def __call__(self, rtype: str) -> bool:
        return self.all or rtype in self.types


def index_rows(
    pk: int, rtype: str, resource: dict[str, Any], into: Rows | None = None, *, fulltext: bool = True
) -> Rows:
    """The index rows of one resource, grouped by table (appended to ``into`` when given); ``fulltext``: with
    the ``_text``/``_content`` word rows."""
    rows: Rows = into if into is not None else {}
    memo: _Memo = {}  # composite components evaluated once per element (code-value-quantity, combo-code-…)
    for param in _candidates(rtype, resource):
        param_rows(pk, rtype, param, resource, rows, memo)
    if fulltext:
        fulltext_rows.add_text_rows(rows, pk, rtype, resource)
    return rows


def param_rows(
    pk: int, rtype: str, param: SearchParam, resource: dict[str, Any], rows: Rows, memo: _Memo | None = None
) -> Rows:
    """The index rows of one parameter of one resource, appended to ``rows`` (``memo``: composite components
    already evaluated for this resource). :func:`index_rows` calls it for each parameter with rows of its own;
    the tests call it for the others to show that the rows holding them hold the same values."""
    nodes = evaluate(param.expression, resource)
    if not nodes:
        return rows
    if param.type == "composite":
        rows.setdefault(search_composite, []).extend(_composites(pk, rtype, param, nodes, {} if memo is None else memo))
        return rows
    table = TABLE_OF_KIND[param.type]
    base = {"resource_pk": pk, "res_type": rtype, "param": param.code}
    seen: set[tuple[Any, ...]] = set()
    target = rows.setdefault(table, [])
    for values in _VALUES[param.type](param, nodes):
        key = tuple(values.values())
        if key not in seen:
            seen.add(key)
            target.append({**base, **values})
    if param.type == "token":
        texts = {normalise(t) for t in _token_texts(nodes)}
        if texts:
            strings = rows.setdefault(search_string, [])
            text_base = {**base, "param": f"{param.code}:text"}
            strings.extend({**text_base, "norm": t, "exact": t} for t in texts if t)
        fulltext_rows.add_token_rows(rows, pk, rtype, param.code, nodes)
    return rows


_ByKey = dict[str, tuple[SearchParam, ...]]


@cache
def _plan(rtype: str) -> tuple[_ByKey, _ByKey, tuple[SearchParam, ...]]:
    """The indexed parameters of ``rtype`` by the top-level element they start from (any choice type), by the exact
    key a typed choice starts from, and those always tried."""
    by_root: dict[str, list[SearchParam]] = {}
    by_key: dict[str, list[SearchParam]] = {}
    always: list[SearchParam] = []
    for param in indexed_params(rtype):
        if not param.roots and not param.keys:
            always.append(param)
        for root in param.roots:
            by_root.setdefault(root, []).append(param)
        for key in param.keys:
            by_key.setdefault(key, []).append(param)
    return {k: tuple(v) for k, v in by_root.items()}, {k: tuple(v) for k, v in by_key.items()}, tuple(always)


def _candidates(rtype: str, resource: dict[str, Any]) -> tuple[SearchParam, ...]:
    """The parameters that may have values in ``resource`` (those whose first element it has), each once."""
    return _candidates_for(rtype, tuple(resource))


@lru_cache(maxsize=4096)  # resources of a type mostly share a handful of key sets
def _candidates_for(rtype: str, keys: tuple[str, ...]) -> tuple[SearchParam, ...]:
    by_root, by_key, always = _plan(rtype)
    out: list[SearchParam] = list(always)
    seen: set[str] = set()
    for key in keys:
        for params in (by_key.get(key, ()), by_root.get(key, ()), by_root.get(_root_of(key), ())):
            for param in params:
                if param.code not in seen:
                    seen.add(param.code)
                    out.append(param)
    return tuple(out)


@cache
def _root_of(key: str) -> str:
    """``valueQuantity`` → ``value`` (the base of a choice element); other keys unchanged."""
    for i, ch in enumerate(key):
        if ch.isupper() and i:
            return key[:i]
    return key


#: Composite components already evaluated in one :func:`index_rows` call, by (expression, kind, element id).
_Memo = dict[tuple[str, str, int], list[dict[str, Any]]]


def _composites(pk: int, rtype: str, param: SearchParam, nodes: list[Node], memo: _Memo) -> Iterator[dict[str, Any]]:
    """Composite rows: for each element the parameter selects, every (first, second) pair of its components."""
    (_c1, expr1, _k1), (_code2, expr2, kind2) = param.components
    second_param = _second_param(param)
    seen: set[tuple[Any, ...]] = set()
    for node in nodes:
        key1 = (expr1, "token", id(node[0]))
        firsts = memo.get(key1)
        if firsts is None:
            firsts = memo[key1] = list(_tokens(param, evaluate_on(expr1, node)))
        if not firsts:
            continue
        key2 = (expr2, kind2, id(node[0]))
        seconds = memo.get(key2)
        if seconds is None:
            values = _VALUES[kind2](second_param, evaluate_on(expr2, node))
            seconds = memo[key2] = [_second(kind2, v) for v in values]
        for first in firsts:
            for second in seconds:
                row = {"resource_pk": pk, "res_type": rtype, "param": param.code, **first, **second}
                key = tuple(row.values())
                if key not in seen:
                    seen.add(key)
                    yield row


@cache
def _second_param(param: SearchParam) -> SearchParam:
    """The second component of a composite ``param`` as a parameter of its own kind."""
    code2, expr2, kind2 = param.components[1]
    return SearchParam(code2, kind2, expr2, ())


def _second(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """A second component's values in the composite table's columns."""
    out: dict[str, Any] = {"value": None, "low": None, "high": None, "vsystem": None, "vcode": None}
    if kind == "quantity":
        out.update(value=values["value"], vsystem=values["system"], vcode=values["code"])
    elif kind == "token":
        out.update(vsystem=values["system"], vcode=values["code"])
    elif kind == "date":
        out.update(low=values["low"], high=values["high"])
    elif kind == "string":
        out.update(vcode=values["norm"])
    elif kind == "reference":
        out.update(vsystem=values["target_type"], vcode=values["target_id"])
    return out


def _token_texts(nodes: list[Node]) -> Iterator[str]:
    """CodeableConcept.text and Coding.display, searched by ``:text``."""
    for value, _kind in nodes:
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("text"), str):
            yield value["text"]
        for coding in value.get("coding", ()) if isinstance(value.get("coding"), list) else ():
            if isinstance(coding, dict) and isinstance(coding.get("display"), str):
                yield coding["display"]
        if isinstance(value.get("display"), str):
            yield value["display"]


# -- values of each kind ---------------------------------------------------------------------------


def _tokens(_param: SearchParam, nodes: list[Node]) -> Iterator[dict[str, Any]]:
    for value, _kind in nodes:
        if isinstance(value, bool):
            yield _token(None, "true" if value else "false")
        elif isinstance(value, str):
            yield _token(None, value)
        elif isinstance(value, dict):
            if "coding" in value or ("text" in value and "code" not in value and "value" not in value):
                for coding in value.get("coding", ()):
                    if isinstance(coding, dict):
                        yield _token(coding.get("system"), coding.get("code"))
            elif "value" in value:
                system = value.get("system")
                if system in _CONTACT_SYSTEMS:
                    system = None
                yield _token(system, value.get("value"))
            elif "code" in value or "system" in value:
                yield _token(value.get("system"), value.get("code"))


def _token(system: Any, code: Any) -> dict[str, Any]:
    return {
        "system": system[:MAX_TEXT] if isinstance(system, str) else None,
        "code": str(code)[:MAX_TEXT] if code is not None else None,
    }


def _strings(param: SearchParam, nodes: list[Node]) -> Iterator[dict[str, Any]]:
    for value, _kind in nodes:
        texts: list[str] = []
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            parts = _NAME_PARTS if "family" in value or "given" in value else _ADDRESS_PARTS
            for part in parts:
                item = value.get(part)
                texts.extend(x for x in (item if isinstance(item, list) else [item]) if isinstance(x, str))
            family, given = value.get("family"), value.get("given")
            if isinstance(family, str) and isinstance(given, list) and has_cjk(family):
                texts.append(family + "".join(g for g in given if isinstance(g, str)))
        for text in texts:
            yield {"norm": normalise(text), "exact": text[:MAX_TEXT]}
            if has_cjk(text):
                yield {"norm": normalise(pinyin(text)), "exact": text[:MAX_TEXT]}


def _dates(_param: SearchParam, nodes: list[Node]) -> Iterator[dict[str, Any]]:
    for value, _kind in nodes:
        try:
            if isinstance(value, str):
                low, high = date_range(value)
                yield {"low": low, "high": high}
            elif isinstance(value, dict) and ("start" in value or "end" in value):
                low = date_range(value["start"])[0] if isinstance(value.get("start"), str) else MIN_MS
                high = date_range(value["end"])[1] if isinstance(value.get("end"), str) else MAX_MS
                yield {"low": low, "high": high}
            elif isinstance(value, dict) and isinstance(value.get("event"), list):
                for event in value["event"]:
                    if isinstance(event, str):
                        low, high = date_range(event)
                        yield {"low": low, "high": high}
        except ValueError:
            continue


def _references(_param: SearchParam, nodes: list[Node]) -> Iterator[dict[str, Any]]:
    for value, _kind in nodes:
        ref = value.get("reference") if isinstance(value, dict) else value if isinstance(value, str) else None
        if not isinstance(ref, str) or ref.startswith("#"):
            continue
        rtype = reference_type(ref)
        if rtype is None:
            yield {"target_type": None, "target_id": None, "url": ref[:512]}
            continue
        parts = ref.split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        url = ref[:512] if "://" in ref else None
        yield {"target_type": rtype, "target_id": parts[-1][:64], "url": url}


def _numbers(param: SearchParam, nodes: list[Node]) -> Iterator[dict[str, Any]]:
    for value, _kind in nodes:
        if param.type == "quantity":
            if isinstance(value, dict) and isinstance(value.get("value"), int | float | Decimal):
                code = value.get("code") or value.get("unit")
                yield {
                    "value": float(value["value"]),
                    "system": value.get("system"),
                    "code": str(code)[:64] if code is not None else None,
                }
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            yield {"value": float(value), "system": None, "code": None}


def _uris(_param: SearchParam, nodes: list[Node]) -> Iterator[dict[str, Any]]:
    for value, _kind in nodes:
        if isinstance(value, str):
            yield {"value": value[:512]}


_VALUES = {
    "token": _tokens,
    "string": _strings,
    "date": _dates,
    "reference": _references,
    "quantity": _numbers,
    "number": _numbers,
    "uri": _uris,
}
