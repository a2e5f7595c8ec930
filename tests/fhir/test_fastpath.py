"""The read-by-id fast path (``fhir/fastpath.py``) answers exactly as the FastAPI route does, audits every read,
and leaves every other request to the general path."""

from __future__ import annotations

import asyncio
import sqlite3
import warnings
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.fhir.errors import FhirError
from huitong.fhir.fastpath import READ_ROUTE, match_read
from huitong.fhir.http import last_modified
from huitong.fhir.stored import StoredResource, utc
from huitong.security.actor import Actor, ActorKind
from huitong.security.schema import audit_log
from huitong.serve import serve
from huitong.services import Services
from huitong.settings import Settings
from tests.conftest import API_TOKEN, make_settings

PATIENT = {"resourceType": "Patient", "name": [{"family": "王", "given": ["芳"]}], "gender": "female"}
BEARER = (b"authorization", f"Bearer {API_TOKEN}".encode())


def _scope(path: str, *, method: str = "GET", query: bytes = b"", headers: list[Any] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [BEARER] if headers is None else headers,
    }


def _created(client: TestClient) -> str:
    response = client.post("/fhir/Patient", json=PATIENT)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _audit_rows(services: Services, **where: object) -> list[sa.Row[Any]]:
    with services.db.read() as conn:
        query = sa.select(audit_log).order_by(audit_log.c.seq)
        for column, value in where.items():
            query = query.where(audit_log.c[column] == value)
        return list(conn.execute(query))


def test_which_requests_take_the_fast_path() -> None:
    assert match_read(_scope("/fhir/Patient/p-1")) == ("Patient", "p-1")
    assert match_read(_scope("/fhir/Observation/a.b-9")) == ("Observation", "a.b-9")
    general = [
        _scope("/fhir/Patient/p-1", query=b"_format=json"),  # any query string: _format, _summary, _elements …
        _scope("/fhir/Patient/p-1", query=b"_summary=true"),
        _scope("/fhir/Patient/p-1", query=b"_elements=name"),
        _scope("/fhir/Patient/p-1", method="PUT"),
        _scope("/fhir/Patient/p-1/"),
        _scope("/fhir/Patient/p-1/_history"),
        _scope("/fhir/Patient/$everything"),
        _scope("/fhir/Patient/_history"),
        _scope("/fhir/NotAType/p-1"),
        _scope("/fhir/Patient/" + "x" * 65),  # not a FHIR id
        _scope("/fhir/Patient/p-1", headers=[]),  # no credentials: browser sessions, 401s and login redirects
        _scope("/fhir/Patient/p-1", headers=[(b"authorization", b"Basic dTpw")]),
        _scope("/fhir/Patient/p-1", headers=[(b"cookie", b"huitong_session=abc")]),
        _scope("/api/Patient/p-1"),
    ]
    assert [match_read(scope) for scope in general] == [None] * len(general)
    assert match_read({"type": "websocket", "path": "/fhir/Patient/p-1"}) is None


def test_the_fast_path_shadows_no_other_route(tmp_path: Path) -> None:
    """Every GET route of the form /fhir/A/B other than the read is one the fast path can never match."""
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'unused.db'}"))  # the database is never opened
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastAPI warns about operation ids shared by GET and POST routes
        paths = app.openapi()["paths"]
    two_segments = [p for p, ops in paths.items() if "get" in ops and p.startswith("/fhir/") and p.count("/") == 3]
    assert READ_ROUTE.path in two_segments
    for path in two_segments:
        if path != READ_ROUTE.path:
            assert match_read(_scope(path)) is None, path


def test_same_answer_as_the_route(client: TestClient, services: Services) -> None:
    pid = _created(client)
    fast = client.get(f"/fhir/Patient/{pid}")
    routed = client.get(f"/fhir/Patient/{pid}?_format=json")  # a query string takes the FastAPI route
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content  # the stored bytes, not re-serialised
    for header in ("etag", "last-modified", "content-type", "content-length", "x-content-type-options"):
        assert fast.headers[header] == routed.headers[header], header
    assert fast.headers["etag"] == 'W/"1"'
    assert fast.headers["content-type"] == "application/fhir+json; charset=utf-8"
    assert fast.headers["content-security-policy"] == routed.headers["content-security-policy"]
    assert fast.headers["x-frame-options"] == "DENY"
    assert len(fast.headers["x-request-id"]) == 32
    pretty = client.get(f"/fhir/Patient/{pid}?_pretty=true")
    assert pretty.status_code == 200 and b"\n" in pretty.content and pretty.json() == fast.json()


def test_every_fast_read_is_audited_before_it_is_answered(client: TestClient, services: Services) -> None:
    pid = _created(client)
    response = client.get(f"/fhir/Patient/{pid}", headers={"X-Request-ID": "trace-fast-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-fast-1"
    rows = _audit_rows(services, request_id="trace-fast-1")  # committed by the time the answer arrived
    assert [(r.interaction, r.action, r.outcome, r.entity_type, r.entity_id, r.entity_version) for r in rows] == [
        ("read", "R", "0", "Patient", pid, 1)
    ]
    assert rows[0].actor_id == "system:tests" and rows[0].hash is not None


def test_not_modified(client: TestClient) -> None:
    pid = _created(client)
    etag = client.get(f"/fhir/Patient/{pid}").headers["etag"]
    response = client.get(f"/fhir/Patient/{pid}", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b"" and response.headers["etag"] == etag
    assert client.get(f"/fhir/Patient/{pid}", headers={"If-None-Match": 'W/"9"'}).status_code == 200


def test_errors_are_operation_outcomes_and_audited(client: TestClient, services: Services) -> None:
    missing = client.get("/fhir/Patient/nobody", headers={"X-Request-ID": "trace-missing"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/fhir+json; charset=utf-8"
    assert missing.json()["resourceType"] == "OperationOutcome"
    assert missing.json()["issue"][0]["code"] == "not-found"
    assert missing.headers["x-content-type-options"] == "nosniff"
    assert [(r.interaction, r.outcome) for r in _audit_rows(services, request_id="trace-missing")] == [("read", "4")]

    pid = _created(client)
    assert client.delete(f"/fhir/Patient/{pid}").status_code == 200
    gone = client.get(f"/fhir/Patient/{pid}", headers={"X-Request-ID": "trace-gone"})
    assert gone.status_code == 410 and gone.json()["resourceType"] == "OperationOutcome"
    assert [(r.interaction, r.outcome) for r in _audit_rows(services, request_id="trace-gone")] == [("read", "4")]

    xml = client.get(f"/fhir/Patient/{pid}", headers={"Accept": "application/fhir+xml"})
    assert xml.status_code == 406 and xml.json()["resourceType"] == "OperationOutcome"


def test_unknown_bearer_token_is_refused(settings: Settings) -> None:
    with TestClient(create_app(settings)) as anonymous:
        response = anonymous.get("/fhir/Patient/p-1", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="huitong"'
    assert response.json()["resourceType"] == "OperationOutcome"


def test_metrics_label_the_fast_path_as_the_read_route(client: TestClient) -> None:
    pid = _created(client)
    client.get(f"/fhir/Patient/{pid}")
    client.get("/fhir/Patient/nobody")
    scraped = client.get("/metrics").text
    assert 'route="/fhir/{rtype}/{res_id}",status="200"' in scraped
    assert 'route="/fhir/{rtype}/{res_id}",status="404"' in scraped


# -- the lean parts of the fast path: raw point reads, loop futures of the audit sink, prepared answers ----------


def test_point_reader_reads_what_the_store_wrote(services: Services) -> None:
    reader = services.store.point_reader
    if not services.db.is_sqlite:
        assert reader is None  # PostgreSQL reads through SQLAlchemy's pool
        return
    assert reader is not None
    store, actor = services.store, Actor.system("tests")
    stored = store.create(actor, PATIENT)
    row = reader.current("Patient", stored.res_id)
    assert row is not None
    assert (row.version_id, row.deleted, row.content) == (1, False, stored.content.decode() if stored.content else None)
    assert utc(row.last_updated) == stored.last_updated
    assert reader.current("Patient", "nobody") is None
    store.delete(actor, "Patient", stored.res_id)
    gone = reader.current("Patient", stored.res_id)
    assert gone is not None and gone.deleted and gone.version_id == 2
    with services.db.read() as conn:  # the reader is read-only
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() > 0
    with pytest.raises(sqlite3.OperationalError):
        reader._connection().execute("DELETE FROM resource")


def test_inline_reads_only_for_actors_who_reach_everyone(services: Services) -> None:
    store = services.store
    patient_scoped = Actor(id="u:1", kind=ActorKind.USER, role="patient", patient_id="p-1")
    assert store.reads_inline(Actor.system("tests")) is services.db.is_sqlite
    assert not store.reads_inline(patient_scoped)  # its reach is checked in SQL, on a read thread


def test_read_on_loop_waits_for_the_audit_commit(services: Services) -> None:
    store, actor = services.store, Actor.system("tests").with_request(request_id="loop-read-1", source_address=None)
    pid = store.create(Actor.system("tests"), PATIENT).res_id

    async def read() -> tuple[object, bool, bool]:
        outcome, audited = store.read_on_loop(actor, "Patient", pid)
        missing, refused = store.read_on_loop(
            actor.with_request(request_id="loop-read-2", source_address=None), "Patient", "nobody"
        )
        await asyncio.gather(audited, refused)
        return outcome, isinstance(missing, FhirError) and missing.status == 404, audited.done()

    outcome, not_found, done = asyncio.run(read())
    assert isinstance(outcome, StoredResource) and outcome.res_id == pid and not_found and done
    assert [(r.interaction, r.outcome) for r in _audit_rows(services, request_id="loop-read-1")] == [("read", "0")]
    assert [(r.interaction, r.outcome) for r in _audit_rows(services, request_id="loop-read-2")] == [("read", "4")]


def test_last_modified_is_the_http_date_of_email_utils() -> None:
    for moment in (datetime(2026, 1, 4, 0, 0, 0, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        stored = StoredResource("Patient", "p", 1, moment, False, b"{}")
        assert last_modified(stored) == format_datetime(moment, usegmt=True)


def test_conditional_read_and_xml_refusal_on_the_fast_path(client: TestClient) -> None:
    pid = _created(client)
    first = client.get(f"/fhir/Patient/{pid}", headers={"Accept": "application/fhir+json"})
    assert first.status_code == 200 and first.headers["last-modified"].endswith(" GMT")
    assert client.get(f"/fhir/Patient/{pid}", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    refused = client.get(f"/fhir/Patient/{pid}", headers={"Accept": "text/xml"})
    assert refused.status_code == 406 and refused.json()["resourceType"] == "OperationOutcome"
    both = client.get(f"/fhir/Patient/{pid}", headers={"Accept": "application/fhir+xml, application/fhir+json"})
    assert both.status_code == 200


def test_a_get_with_a_body_takes_the_general_path() -> None:
    assert match_read(_scope("/fhir/Patient/p-1", headers=[BEARER, (b"content-length", b"5")])) is None
    assert match_read(_scope("/fhir/Patient/p-1", headers=[BEARER, (b"transfer-encoding", b"chunked")])) is None


def test_uvicorn_access_log_only_when_its_lines_would_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("huitong.serve.uvicorn.run", lambda _app, **options: seen.update(options))
    monkeypatch.setattr("huitong.serve.check_schema", lambda _settings: None)
    for level, expected in (("INFO", True), ("WARNING", False)):
        settings = make_settings("sqlite:////nonexistent/unused.db", logging={"level": level})
        monkeypatch.setattr("huitong.serve.create_app", lambda _s: None)
        serve(settings)
        assert seen["access_log"] is expected
