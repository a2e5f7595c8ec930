"""Process a batch or transaction Bundle.

A **transaction** runs in one database transaction through :meth:`ResourceStore.transaction`: entries are
processed in the order FHIR prescribes (DELETE, POST, PUT, GET), ``urn:uuid`` full URLs get server ids and
every reference to them is rewritten, conditional create (``ifNoneExist``), conditional update
(``PUT Type?query``) and conditional delete (``DELETE Type?query``) search inside the same transaction.
Any failure rolls the whole bundle back and is reported with the index of the entry that failed.
A **batch** runs each entry on its own; each entry's failure is reported in its response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from huitong.fhir import errors
from huitong.fhir.batch.references import conditional_references, rewrite_references
from huitong.fhir.errors import FhirError
from huitong.fhir.outcome import outcome_of
from huitong.fhir.search.service import SearchService
from huitong.fhir.stored import StoredResource, instant
from huitong.fhir.transaction import Transaction
from huitong.fhir.validate import check_structure
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry, Outcome

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


def bundle_entries(bundle: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The type (``transaction`` or ``batch``) and entries of ``bundle``; an error when it is neither or its entries
    are not objects."""
    kind = bundle.get("type")
    entries = bundle.get("entry") or []
    if bundle.get("resourceType") != "Bundle" or kind not in ("transaction", "batch"):
        raise errors.invalid("POST /fhir takes a Bundle of type transaction or batch")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise errors.invalid("Bundle.entry must be a list of objects")
    return str(kind), entries


@dataclass
class EntryResult:
    """The response of one entry."""

    status: str
    stored: StoredResource | None = None
    outcome: dict[str, Any] | None = None
    resource: Any = None


class BundleProcessor:
    """Carries out batch and transaction bundles on the store, with the search service for conditionals."""

    def __init__(self, search: SearchService) -> None:
        self.search = search
        self.store = search.store

    def process(self, actor: Actor, bundle: dict[str, Any], *, base_url: str = "") -> dict[str, Any]:
        """The ``transaction-response`` or ``batch-response`` Bundle for ``bundle``."""
        kind, entries = bundle_entries(bundle)
        if kind == "transaction":
            results = self.store.transaction(
                actor, lambda tx: self.run_transaction(tx, entries), interaction="transaction"
            )
        else:
            results = self.store.transaction(actor, lambda tx: self.run_batch(tx, entries), interaction="batch")
        return response_bundle(f"{kind}-response", results, base_url)

    def process_transactions(self, actor: Actor, bundles: list[list[dict[str, Any]]]) -> list[list[EntryResult]]:
        """Several transaction bundles' entries (:func:`bundle_entries`) in one database transaction — one commit,
        index rows inserted together — for ``huitong import`` of many small bundles. All or nothing for the whole
        group: a caller that gets an error runs the bundles one by one (:meth:`process`) to find the one that fails,
        so that each bundle keeps its own all-or-nothing meaning. Audited as :meth:`process` audits each bundle; a
        group that fails leaves one failed ``transaction`` entry of its own (the attempt, rolled back)."""

        def work(tx: Transaction) -> list[list[EntryResult]]:
            results = []
            for entries in bundles:
                tx.audit_entries.append(AuditEntry("transaction"))
                results.append(self.run_transaction(tx, entries))
            return results

        return self.store.transaction(actor, work)

    # -- transaction --------------------------------------------------------------------------------

    def run_transaction(self, tx: Transaction, entries: list[dict[str, Any]]) -> list[EntryResult]:
        """Process ``entries`` inside ``tx`` (all or nothing); results in the entries' order.

        Consecutive plain creates (``POST`` without ``ifNoneExist``) and plain updates (``PUT Type/id`` without
        ``ifMatch``) are written together (:meth:`Transaction.create_many`, :meth:`Transaction.put_many`): a
        Synthea bundle of hundreds of entries costs a few statements per table, with the same outcome as
        writing them one by one. Index rows go in when the store's transaction ends (its deferred block), or
        before a conditional's search inside it.
        """
        ids = self._assign_ids(tx, entries)
        self._resolve_conditional(tx, entries, ids)
        order = sorted(range(len(entries)), key=lambda i: _ORDER.get(_method(entries[i], i), 9))
        results: dict[int, EntryResult] = {}
        group: list[_PlainWrite] = []
        for i in order:
            try:
                plain = _plain_write(entries[i], i, ids)
            except FhirError as exc:
                _in_entries(exc, [i])
                raise
            if group and (plain is None or not _joins(group, plain)):
                results.update(_write_group(tx, group))
                group = []
            if plain is not None:
                group.append(plain)
                continue
            try:
                results[i] = self._entry(tx, entries[i], i, ids)
            except FhirError as exc:
                _in_entries(exc, [i])
                raise
        if group:
            results.update(_write_group(tx, group))
        return [results[i] for i in range(len(entries))]

    def run_batch(self, tx: Transaction, entries: list[dict[str, Any]]) -> list[EntryResult]:
        """Process each entry in a savepoint of its own: one entry's failure undoes only that entry."""
        results: list[EntryResult] = []
        for i, entry in enumerate(entries):
            try:
                with tx.savepoint():
                    result = self._batch_work(tx, entry, i)
            except FhirError as exc:
                outcome = Outcome.MINOR_FAILURE if exc.status < 500 else Outcome.SERIOUS_FAILURE
                tx.audit_entries.append(AuditEntry(_interaction(entry), outcome, f"entry {i}: {exc}"[:500]))
                result = EntryResult(f"{exc.status} {_REASONS.get(exc.status, 'Error')}", outcome=outcome_of(exc))
            results.append(result)
        return results

    def _assign_ids(self, tx: Transaction, entries: list[dict[str, Any]]) -> dict[str, str]:
        """Ids for every ``urn:uuid:`` full URL (POSTs get new ids, or the match of their ifNoneExist)."""
        ids: dict[str, str] = {}
        for i, entry in enumerate(entries):
            full_url = entry.get("fullUrl")
            res = entry.get("resource")
            if not isinstance(full_url, str) or not isinstance(res, dict) or "resourceType" not in res:
                continue
            method = _method(entry, i)
            rtype = res["resourceType"]
            url = str((entry.get("request") or {}).get("url", ""))
            if method == "POST":
                existing = self._if_none_exist(tx, rtype, entry)
                ids[full_url] = f"{rtype}/{existing.res_id if existing else uuid.uuid4()}"
            elif method == "PUT" and "?" not in url and "/" in url:
                ids[full_url] = url.strip("/")
            elif method == "PUT" and "?" in url:
                matches = self._matches(tx, url)
                if len(matches) > 1:
                    raise errors.precondition_failed(f"entry {i}: conditional update {url!r} matches several")
                ids[full_url] = f"{rtype}/{matches[0].res_id if matches else uuid.uuid4()}"
        return ids

    def _resolve_conditional(self, tx: Transaction, entries: list[dict[str, Any]], ids: dict[str, str]) -> None:
        """Resolve conditional references (``Organization?identifier=…``) to the one resource each matches."""
        refs: set[str] = set()
        for entry in entries:
            conditional_references(entry.get("resource"), refs)
        for ref in sorted(refs):
            matches = self._matches(tx, ref)
            if len(matches) != 1:
                found = "no" if not matches else "several"
                raise errors.precondition_failed(f"the conditional reference {ref!r} matches {found} resources")
            ids[ref] = matches[0].reference

    def _entry(self, tx: Transaction, entry: dict[str, Any], i: int, ids: dict[str, str]) -> EntryResult:
        method = _method(entry, i)
        request = entry.get("request") or {}
        url = str(request.get("url") or "").strip("/")
        if_match = _if_match(request.get("ifMatch"))
        if method in ("POST", "PUT"):
            res = entry.get("resource")
            body = check_structure(rewrite_references(res, ids))
            rtype = body["resourceType"]
            full_url = entry.get("fullUrl")
            target = ids.get(full_url) if isinstance(full_url, str) else None
            if method == "POST":
                existing = self._if_none_exist(tx, rtype, entry)
                if existing is not None:
                    return EntryResult("200 OK", existing)
                new_id = target.split("/")[1] if target else str(uuid.uuid4())
                body.pop("id", None)
                return EntryResult("201 Created", tx.create(body, res_id=new_id))
            if "?" in url:
                if target is None:
                    matches = self._matches(tx, url)
                    if len(matches) > 1:
                        raise errors.precondition_failed(f"conditional update {url!r} matches several resources")
                    target = f"{rtype}/{matches[0].res_id if matches else uuid.uuid4()}"
                res_id = target.split("/")[1]
            else:
                url_type, _, res_id = url.partition("/")
                if url_type != rtype or not res_id:
                    raise errors.invalid(f"PUT url {url!r} must be {rtype}/[id]")
            body["id"] = res_id
            stored, created = tx.update(body, res_id, if_match=if_match)
            return EntryResult("201 Created" if created else "200 OK", stored)
        if method == "DELETE":
            if "?" in url:
                matches = self._matches(tx, url)
                if len(matches) > 1:
                    raise errors.precondition_failed(f"conditional delete {url!r} matches several resources")
                if not matches:
                    return EntryResult("204 No Content")
                rtype, res_id = matches[0].res_type, matches[0].res_id
            else:
                rtype, _, res_id = url.partition("/")
            self.store.check_id(res_id)
            tx.delete(rtype, res_id, if_match=if_match)
            return EntryResult("204 No Content")
        if method == "GET":
            return self._get(tx, url)
        raise errors.not_supported(f"method {method} is not supported in a bundle entry")

    def _get(self, tx: Transaction, url: str) -> EntryResult:
        path, _, query = url.partition("?")
        parts = path.split("/")
        if len(parts) == 2 and not query:
            self.store.check_search(tx.actor, parts[0])
            stored = tx.read(parts[0], parts[1])
            if stored is not None and not self.store.filter_visible(tx.actor, tx.conn, [stored]):
                stored = None  # what the actor may not see does not exist for them
            if stored is None:
                raise errors.not_found(f"{path} does not exist")
            if stored.deleted:
                raise errors.gone(f"{path} was deleted")
            return EntryResult("200 OK", stored)
        if len(parts) == 1:
            self.store.check_search(tx.actor, parts[0])
            request = self.search.parse(parts[0], parse_qsl(query, keep_blank_values=True))
            tx.flush()  # what earlier entries wrote is searchable
            result = self.search.execute(tx.conn, request, actor=tx.actor)  # filtered by the access rules
            bundle = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": result.total,
                "entry": [{"resource": orjson.Fragment(s.content or b"{}")} for s in result.matches],
            }
            return EntryResult("200 OK", resource=bundle)
        raise errors.not_supported(f"GET {url!r} is not supported in a bundle (read or search only)")

    def _if_none_exist(self, tx: Transaction, rtype: str, entry: dict[str, Any]) -> StoredResource | None:
        query = (entry.get("request") or {}).get("ifNoneExist")
        if not query:
            return None
        matches = self._matches(tx, f"{rtype}?{str(query).lstrip('?')}")
        if len(matches) > 1:
            raise errors.precondition_failed(f"ifNoneExist {query!r} matches several {rtype} resources")
        return matches[0] if matches else None

    def _matches(self, tx: Transaction, url: str) -> list[StoredResource]:
        rtype, _, query = url.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        if not pairs:
            raise errors.invalid(f"a conditional request needs search parameters: {url!r}")
        request = self.search.parse(rtype, pairs)
        request.count = 2
        tx.flush()
        return self.search.execute(tx.conn, request, actor=tx.actor).matches

    # -- batch --------------------------------------------------------------------------------------

    def _batch_work(self, tx: Transaction, entry: dict[str, Any], i: int) -> EntryResult:
        ids: dict[str, str] = {}
        self._resolve_conditional(tx, [entry], ids)
        return self._entry(tx, entry, i, ids)


@dataclass(frozen=True, slots=True)
class _PlainWrite:
    """A transaction entry that is a plain create or update: written together with its neighbours."""

    index: int
    method: str  # POST or PUT
    body: dict[str, Any]
    res_id: str


def _plain_write(entry: dict[str, Any], i: int, ids: dict[str, str]) -> _PlainWrite | None:
    """``entry`` as a plain create or update, or ``None`` when it needs handling of its own."""
    method = _method(entry, i)
    request = entry.get("request") or {}
    if method not in ("POST", "PUT") or request.get("ifMatch") or request.get("ifNoneExist"):
        return None
    url = str(request.get("url") or "").strip("/")
    res = entry.get("resource")
    if not isinstance(res, dict):
        return None
    if method == "PUT":
        url_type, _, res_id = url.partition("/")
        if "?" in url or "/" in res_id or url_type != res.get("resourceType") or not res_id:
            return None
    body = check_structure(rewrite_references(res, ids))
    if method == "POST":
        full_url = entry.get("fullUrl")
        target = ids.get(full_url) if isinstance(full_url, str) else None
        body.pop("id", None)
        return _PlainWrite(i, "POST", body, target.split("/")[1] if target else str(uuid.uuid4()))
    body["id"] = res_id
    return _PlainWrite(i, "PUT", body, res_id)


def _joins(group: list[_PlainWrite], plain: _PlainWrite) -> bool:
    """Whether ``plain`` can be written with ``group``: the same method, and not a resource the group writes."""
    if plain.method != group[0].method:
        return False
    key = (plain.body["resourceType"], plain.res_id)
    return all((g.body["resourceType"], g.res_id) != key for g in group)


def _write_group(tx: Transaction, group: list[_PlainWrite]) -> dict[int, EntryResult]:
    """Write a group of plain creates or updates with one statement per table."""
    try:
        if group[0].method == "POST":
            created = tx.create_many([g.body for g in group], ids=[g.res_id for g in group])
            return {g.index: EntryResult("201 Created", s) for g, s in zip(group, created, strict=True)}
        written = tx.put_many([g.body for g in group])
    except FhirError as exc:
        _in_entries(exc, [g.index for g in group])
        raise
    return {
        g.index: EntryResult("201 Created" if new else "200 OK", s) for g, (s, new) in zip(group, written, strict=True)
    }


def _in_entries(exc: FhirError, indexes: list[int]) -> None:
    """Name the entries ``exc`` concerns in each of its issues (``entry 3``, ``one of entries 3, 4, 5``)."""
    if len(indexes) == 1:
        where = f"entry {indexes[0]}"
    else:
        shown = ", ".join(str(i) for i in indexes[:5]) + (", …" if len(indexes) > 5 else "")
        where = f"one of entries {shown}"
    exc.issues = [replace(x, diagnostics=f"{where}: {x.diagnostics}") for x in exc.issues]


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
}


def _interaction(entry: dict[str, Any]) -> str:
    request = entry.get("request")
    method = str(request.get("method", "")).upper() if isinstance(request, dict) else ""
    return {"POST": "create", "PUT": "update", "DELETE": "delete", "GET": "read"}.get(method, "batch")


def _method(entry: dict[str, Any], i: int) -> str:
    request = entry.get("request")
    method = request.get("method") if isinstance(request, dict) else None
    if not isinstance(method, str) or method.upper() not in _ORDER:
        raise errors.invalid(f"entry {i}: request.method must be GET, POST, PUT or DELETE")
    return method.upper()


def _if_match(value: Any) -> int | None:
    if value is None:
        return None
    text = str(value).replace("W/", "").strip('"')
    if not text.isdigit():
        raise errors.invalid(f'ifMatch must be W/"N", got {value!r}')
    return int(text)


def response_bundle(kind: str, results: list[EntryResult], base_url: str) -> dict[str, Any]:
    """The response Bundle: one entry per request entry, in order."""
    entries: list[dict[str, Any]] = []
    for result in results:
        response: dict[str, Any] = {"status": result.status}
        entry: dict[str, Any] = {}
        stored = result.stored
        if stored is not None:
            response["location"] = f"{stored.res_type}/{stored.res_id}/_history/{stored.version_id}"
            response["etag"] = stored.etag
            response["lastModified"] = instant(stored.last_updated)
            entry["fullUrl"] = f"{base_url}/{stored.res_type}/{stored.res_id}"
            if stored.content is not None:
                entry["resource"] = orjson.Fragment(stored.content)
        if result.resource is not None:
            entry["resource"] = result.resource
        if result.outcome is not None:
            response["outcome"] = result.outcome
        entry["response"] = response
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "type": kind,
        "meta": {"lastUpdated": instant(datetime.now(UTC))},
        "entry": entries,
    }
