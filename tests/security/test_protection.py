"""Field-level encryption at rest wired into the store: stored rows hold no plaintext, readers get it back,
search finds it by blind index, rotation re-encrypts in place. On SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from starlette.testclient import TestClient
from typer.testing import CliRunner

from huitong.cli import app as cli_app
from huitong.db.schema import resource, resource_version
from huitong.fhir.search.schema import INDEX_TABLES
from huitong.fhir.store import ResourceStore
from huitong.ops.archive import archive_old, restore_run
from huitong.security.actor import Actor
from huitong.security.crypto import FieldCipher
from huitong.security.protection import DATA_ABSENT_REASON, FieldProtector
from huitong.services import open_services
from huitong.settings import Settings
from tests.conftest import make_settings

RESIDENT_ID = "11010519491231002X"
PHONE = "13800138000"
STREET = "中关村大街1号"
SYSTEM = "urn:oid:2.16.156.10011.1.3"
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "identifier": [{"system": SYSTEM, "value": RESIDENT_ID}, {"system": "urn:hospital:mrn", "value": "MRN001"}],
    "name": [{"family": "张", "given": ["三"]}],
    "telecom": [{"system": "phone", "value": PHONE, "use": "mobile"}, {"system": "email", "value": "z@example.cn"}],
    "address": [{"line": [STREET], "city": "北京市", "district": "海淀区"}],
}
PLAIN = (RESIDENT_ID, PHONE, STREET)


def _raw_rows(store: ResourceStore) -> str:
    """Everything the database holds about resources: current rows, history and every search-index table."""
    with store.db.read() as conn:
        parts = [str(conn.execute(sa.select(t)).all()) for t in (resource, resource_version, *INDEX_TABLES)]
    return "\n".join(parts)


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match"]


def test_stored_encrypted_served_in_clear_and_found_by_blind_index(client: TestClient, store: ResourceStore) -> None:
    assert store.protector is not None and store.protector.enabled  # env "test": on by default
    created = client.post("/fhir/Patient", json=PATIENT)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert created.json()["identifier"][0]["value"] == RESIDENT_ID  # the writer gets its values back

    raw = _raw_rows(store)
    for plain in PLAIN:
        assert plain not in raw, f"{plain} stored in clear"
    assert "enc:v1:" in raw and "MRN001" in raw and "海淀区" in raw

    body = client.get(f"/fhir/Patient/{pid}").json()
    assert body["identifier"][0] == {"system": SYSTEM, "value": RESIDENT_ID}
    assert body["telecom"][0] == {"system": "phone", "value": PHONE, "use": "mobile"}
    assert body["address"][0]["line"] == [STREET]
    assert "enc:v1:" not in str(body)
    assert client.get(f"/fhir/Patient/{pid}/_history/1").json()["identifier"][0]["value"] == RESIDENT_ID
    history = client.get(f"/fhir/Patient/{pid}/_history").json()
    assert history["entry"][0]["resource"]["telecom"][0]["value"] == PHONE

    for query in (
        f"identifier={SYSTEM}|{RESIDENT_ID}",
        f"identifier={RESIDENT_ID.lower()}",  # no system; the normalised value has the same blind index
        f"telecom={PHONE}",
        "phone=+86 138 0013 8000",
        "identifier=urn:hospital:mrn|MRN001",
        "address-city=北京市",
    ):
        found = client.get(f"/fhir/Patient?{query}")
        assert found.status_code == 200, found.text
        assert _ids(found.json()) == [pid], query
        assert found.json()["entry"][0]["resource"]["identifier"][0]["value"] == RESIDENT_ID
    assert _ids(client.get(f"/fhir/Patient?identifier={SYSTEM}|110105194912310021").json()) == []

    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "pulse"},
        "subject": {"reference": f"Patient/{pid}"},
    }
    assert client.post("/fhir/Observation", json=obs).status_code == 201
    included = client.get(f"/fhir/Observation?subject=Patient/{pid}&_include=Observation:subject").json()
    patient = next(e["resource"] for e in included["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient["identifier"][0]["value"] == RESIDENT_ID
    chained = client.get(f"/fhir/Observation?subject:Patient.identifier={SYSTEM}|{RESIDENT_ID}").json()
    assert len(chained["entry"]) == 1
    everything = client.get(f"/fhir/Patient/{pid}/$everything").json()
    assert RESIDENT_ID in str(everything) and "enc:v1:" not in str(everything)


def test_unchanged_update_is_no_new_version_and_changes_reencrypt(client: TestClient, store: ResourceStore) -> None:
    pid = client.post("/fhir/Patient", json=PATIENT).json()["id"]
    same = client.put(f"/fhir/Patient/{pid}", json={**PATIENT, "id": pid})
    assert same.status_code == 200 and same.json()["meta"]["versionId"] == "1"  # replay stays idempotent
    moved = {**PATIENT, "id": pid, "telecom": [{"system": "phone", "value": "13900139000"}]}
    assert client.put(f"/fhir/Patient/{pid}", json=moved).json()["meta"]["versionId"] == "2"
    assert "13900139000" not in _raw_rows(store)
    assert _ids(client.get("/fhir/Patient?phone=13900139000").json()) == [pid]
    assert _ids(client.get(f"/fhir/Patient?phone={PHONE}").json()) == []  # the old phone left the index


def test_fast_path_keeps_stored_bytes_of_other_resources(store: ResourceStore, actor: Actor) -> None:
    obs = store.create(actor, {"resourceType": "Observation", "status": "final", "code": {"text": "x"}})
    with store.db.read() as conn:
        content = conn.execute(sa.select(resource.c.content).where(resource.c.res_id == obs.res_id)).scalar_one()
    assert store.read(actor, "Observation", obs.res_id).content == content.encode()
    plain_person = store.create(actor, {"resourceType": "Practitioner", "name": [{"family": "李"}]})
    assert b"enc:v1:" not in (plain_person.content or b"")


def test_research_and_unlisted_roles_get_values_masked(store: ResourceStore, actor: Actor) -> None:
    stored = store.create(actor, PATIENT)
    for reader in (replace(actor, purpose_of_use="HRESCH"), replace(actor, id="system:bi", role="developer")):
        assert store.protector is not None
        store.protector = FieldProtector(store.protector.cipher, enabled=True, reveal_roles={"system"})
        body = store.read(reader, "Patient", stored.res_id).resource()
        text = str(body)
        assert all(p not in text for p in PLAIN) and "enc:v1:" not in text and "blind-index" not in text
        masked = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}
        assert body["identifier"][0] == {"system": SYSTEM, "_value": masked}
        assert body["identifier"][1]["value"] == "MRN001"
        assert body["telecom"][0]["_value"] == masked and body["telecom"][1]["value"] == "z@example.cn"
        assert body["address"][0]["city"] == "北京市" and "line" not in body["address"][0]
    assert store.read(actor, "Patient", stored.res_id).resource()["identifier"][0]["value"] == RESIDENT_ID


def test_a_foreign_ciphertext_is_refused(client: TestClient) -> None:
    forged = {**PATIENT, "identifier": [{"system": SYSTEM, "value": "enc:v1:other:AAAA"}]}
    response = client.post("/fhir/Patient", json=forged)
    assert response.status_code == 400
    assert "plain value" in response.text


def _cli_env(settings: Settings, keys: dict[str, bytes], active: str) -> dict[str, str]:
    return {
        "HUITONG_DATABASE__URL": settings.database.url,
        "HUITONG_ENV": "test",
        "HUITONG_SECURITY__SECRET_KEY": settings.security.secret_key.get_secret_value(),
        "HUITONG_SECURITY__API_TOKENS": '{"tests": "test-token-0123456789abcdef"}',
        "HUITONG_SECURITY__FIELD_KEYS": orjson.dumps(
            {k: base64.b64encode(v).decode() for k, v in keys.items()}
        ).decode(),
        "HUITONG_SECURITY__FIELD_KEY_ACTIVE": active,
        "HUITONG_SECURITY__BLIND_INDEX_KEY": "i" * 40,
    }


def test_rotate_keys_reencrypts_current_rows_and_history(db_url: str) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    key_settings = {"field_keys": {"k1": base64.b64encode(k1).decode()}, "field_key_active": "k1"}
    settings = make_settings(db_url, security={**key_settings, "blind_index_key": "i" * 40})
    actor = Actor.system("tests")
    services = open_services(settings)
    try:
        pid = services.store.create(actor, PATIENT).res_id
        services.store.update(actor, "Patient", pid, {**PATIENT, "id": pid, "gender": "male"})
    finally:
        services.close()

    result = CliRunner().invoke(
        cli_app, ["security", "rotate-keys"], env=_cli_env(settings, {"k1": k1, "k2": k2}, "k2")
    )
    assert result.exit_code == 0, result.output
    # the current version's JSON is in ``resource`` only; version 1's moved into its history row at the update
    assert "re-encrypted 1 resource(s) and 1 history version(s) under key k2" in result.output

    only_new = make_settings(
        db_url,
        security={
            "field_keys": {"k2": base64.b64encode(k2).decode()},
            "field_key_active": "k2",
            "blind_index_key": "i" * 40,
        },
    )
    services = open_services(only_new)
    try:
        with services.db.read() as conn:
            contents = [
                *conn.execute(
                    sa.select(resource.c.content).union_all(
                        sa.select(resource_version.c.content).where(resource_version.c.content.is_not(None))
                    )
                ).scalars()
            ]
        ids = [FieldCipher.key_id(v["value"]) for c in contents for v in orjson.loads(c)["identifier"][:1]]
        assert ids == ["k2", "k2"]
        old_version = services.store.vread(actor, "Patient", pid, 1).resource()
        assert old_version["identifier"][0]["value"] == RESIDENT_ID and "gender" not in old_version
        body = services.store.read(actor, "Patient", pid).resource()  # old key retired: still readable
        assert body["identifier"][0]["value"] == RESIDENT_ID
        found = services.search.search(actor, "Patient", [("identifier", f"{SYSTEM}|{RESIDENT_ID}")])
        assert [m.res_id for m in found.matches] == [pid]  # blind indexes unchanged by rotation
    finally:
        services.close()


def test_turning_encryption_on_seals_existing_rows_and_reindexes(db_url: str) -> None:
    k1 = os.urandom(32)
    plain_settings = make_settings(
        db_url,
        security={
            "field_encryption": "off",
            "field_keys": {"k1": base64.b64encode(k1).decode()},
            "field_key_active": "k1",
            "blind_index_key": "i" * 40,
        },
    )
    actor = Actor.system("tests")
    services = open_services(plain_settings)
    try:
        pid = services.store.create(actor, PATIENT).res_id
        assert RESIDENT_ID in _raw_rows(services.store)
    finally:
        services.close()

    result = CliRunner().invoke(cli_app, ["security", "rotate-keys"], env=_cli_env(plain_settings, {"k1": k1}, "k1"))
    assert result.exit_code == 0, result.output
    assert "reindexed 1 Patient resource(s)" in result.output

    services = open_services(
        plain_settings.model_copy(
            update={"security": plain_settings.security.model_copy(update={"field_encryption": "on"})}
        )
    )
    try:
        raw = _raw_rows(services.store)
        assert all(p not in raw for p in PLAIN)
        found = services.search.search(actor, "Patient", [("identifier", f"{SYSTEM}|{RESIDENT_ID}")])
        assert [m.res_id for m in found.matches] == [pid]
        assert services.store.read(actor, "Patient", pid).resource()["telecom"][0]["value"] == PHONE
    finally:
        services.close()


def test_archive_and_restore_keep_person_resources_encrypted_and_findable(
    client: TestClient, store: ResourceStore, tmp_path: Path
) -> None:
    pid = client.post("/fhir/Patient", json=PATIENT).json()["id"]
    run = archive_old(store, tmp_path, datetime.now(UTC) + timedelta(days=1))
    assert run.resources >= 1
    assert client.get(f"/fhir/Patient?identifier={SYSTEM}|{RESIDENT_ID}").json().get("entry", []) == []
    restore_run(store, tmp_path, run.run_id)
    assert all(p not in _raw_rows(store) for p in PLAIN)
    assert _ids(client.get(f"/fhir/Patient?identifier={SYSTEM}|{RESIDENT_ID}").json()) == [pid]
    assert client.get(f"/fhir/Patient/{pid}").json()["telecom"][0]["value"] == PHONE


def test_searches_leave_no_plaintext_identifier_in_the_audit_trail(client: TestClient, store: ResourceStore) -> None:
    pid = client.post("/fhir/Patient", json=PATIENT).json()["id"]
    for query in (f"identifier={SYSTEM}|{RESIDENT_ID}", f"telecom={PHONE}", "identifier=urn:hospital:mrn|MRN001"):
        assert _ids(client.get(f"/fhir/Patient?{query}").json()) == [pid]
    with store.db.read() as conn:
        queries = [q for q in conn.execute(sa.text("SELECT query FROM audit_event WHERE query IS NOT NULL")).scalars()]
    logged = " ".join(queries)
    assert "MRN001" in logged  # a hospital's own record number is no protected field
    assert RESIDENT_ID not in logged and RESIDENT_ID.lower() not in logged and PHONE not in logged
    assert logged.count("bi%3A") >= 2  # the blind index stands in for them
