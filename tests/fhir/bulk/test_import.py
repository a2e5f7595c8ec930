"""``huitong import`` and ``huitong fhir reindex`` on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from huitong.cli import app
from huitong.db.schema import audit_event
from huitong.fhir.bulk.importer import Importer, ImportState
from huitong.fhir.search.reindex import reindex
from huitong.fhir.search.schema import INDEX_TABLES
from huitong.security.actor import Actor
from huitong.services import Services


def _ndjson(path: Path, lines: list[object]) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n" for line in lines))
    return path


PATIENTS = [{"resourceType": "Patient", "id": f"p{i}", "name": [{"family": f"Import{i}"}]} for i in range(7)]


def _find(services: Services, actor: Actor, rtype: str, **params: str) -> list[str]:
    return [m.res_id for m in services.search.search(actor, rtype, list(params.items())).matches]


@pytest.mark.parametrize("processes", [0, 2])
def test_ndjson_import_reports_rejects_and_is_idempotent(
    services: Services, actor: Actor, tmp_path: Path, processes: int
) -> None:
    lines: list[object] = [
        *PATIENTS[:3],
        b"{not json",
        {"resourceType": "Nonsense"},
        *PATIENTS[3:],
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/p1"},
        },
    ]
    source = _ndjson(tmp_path / "data.ndjson", lines)
    importer = Importer(services, actor, chunk=3, state=ImportState(tmp_path / "state.json"), processes=processes)
    importer.import_path(source)
    importer.close()
    report = importer.report
    assert report.resources == 8 and report.rejected == 2
    assert [r["line"] for r in report.rejects] == [4, 5]
    assert "JSON" in report.rejects[0]["reason"] and "Nonsense" in report.rejects[1]["reason"]
    assert _find(services, actor, "Patient", name="import3") == ["p3"]
    assert _find(services, actor, "Observation", subject="Patient/p1")
    again = Importer(services, actor, chunk=3, state=ImportState(tmp_path / "state.json"))
    again.import_path(source)
    assert again.report.skipped_files == 1 and again.report.resources == 0  # finished files are skipped
    fresh = Importer(services, actor, chunk=100)
    fresh.import_path(source)  # without state: stored again, but unchanged resources make no new version
    assert services.store.read(actor, "Patient", "p0").version_id == 1


@pytest.mark.parametrize("processes", [0, 2])
def test_import_resumes_after_the_last_committed_chunk(
    services: Services, actor: Actor, tmp_path: Path, processes: int
) -> None:
    source = _ndjson(tmp_path / "p.ndjson", PATIENTS)
    state = ImportState(tmp_path / "state.json")
    state.set(source, 4)  # as if interrupted after line 4
    importer = Importer(services, actor, chunk=2, state=state, processes=processes)
    importer.import_path(source)
    importer.close()
    assert importer.report.resources == 3
    assert sorted(_find(services, actor, "Patient", _count="50")) == ["p4", "p5", "p6"]


def test_bundles_import_and_cli(services: Services, actor: Actor, tmp_path: Path, db_url: str) -> None:
    collection = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": p} for p in PATIENTS[:2]]}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "c.json").write_text(json.dumps(collection))
    _ndjson(tmp_path / "in" / "more.ndjson", [*PATIENTS[2:4], b"[]"])
    env = {
        "HUITONG_ENV": "test",
        "HUITONG_DATABASE__URL": db_url,
        "HUITONG_SECURITY__SECRET_KEY": "k" * 48,
    }
    args = [
        "import",
        str(tmp_path / "in"),
        "--state",
        str(tmp_path / "s.json"),
        "--rejects",
        str(tmp_path / "r.ndjson"),
    ]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output  # one rejected line
    assert "imported 4 resources from 2 files" in result.output
    assert orjson.loads((tmp_path / "r.ndjson").read_bytes().splitlines()[0])["line"] == 3
    assert sorted(_find(services, actor, "Patient")) == ["p0", "p1", "p2", "p3"]


def _transaction(*resources: dict[str, object]) -> dict[str, object]:
    entries = [
        {
            "fullUrl": f"urn:uuid:{n:08d}-0000-4000-8000-000000000000",
            "resource": r,
            "request": {"method": "POST", "url": str(r["resourceType"])},
        }
        for n, r in enumerate(resources)
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def test_small_transaction_bundles_are_written_together_each_still_all_or_nothing(
    services: Services, actor: Actor, tmp_path: Path
) -> None:
    files = []
    for n in range(5):  # one patient with one observation per bundle, the observation pointing at the urn:uuid
        patient = {"resourceType": "Patient", "identifier": [{"system": "urn:test:mrn", "value": f"G{n}"}]}
        observation = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": f"group {n}"},
            "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"},
        }
        if n == 2:  # this bundle fails as a whole: its conditional reference matches nothing
            observation["performer"] = [{"reference": "Practitioner?identifier=urn:test:staff|nobody"}]
        files.append(tmp_path / f"b{n}.json")
        files[-1].write_text(json.dumps(_transaction(patient, observation)))
    # a batch after them creates only if absent what the bundles before it created: it must see them written
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:test:mrn", "value": "G0"}]},
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:test:mrn|G0"},
            }
        ],
    }
    files.append(tmp_path / "later-batch.json")
    files[-1].write_text(json.dumps(batch))
    state = ImportState(tmp_path / "state.json")
    importer = Importer(services, actor, chunk=100, state=state)
    importer.import_paths(files)
    report = importer.report
    assert report.resources == 4 * 2 + 1 and report.rejected == 1
    assert report.rejects[0]["file"].endswith("b2.json") and "matches no" in report.rejects[0]["reason"]
    for n in (0, 1, 3, 4):
        [patient_id] = _find(services, actor, "Patient", identifier=f"urn:test:mrn|G{n}")
        [obs] = _find(services, actor, "Observation", subject=f"Patient/{patient_id}")
        assert services.store.read(actor, "Observation", obs).resource()["code"]["text"] == f"group {n}"
    assert _find(services, actor, "Patient", identifier="urn:test:mrn|G2") == []  # nothing of the failed bundle
    assert _find(services, actor, "Observation", code="group 2") == []
    assert all(state.get(f) == -1 for f in files)  # every file finished once written (or rejected)
    again = Importer(services, actor, chunk=100, state=ImportState(tmp_path / "state.json"))
    again.import_paths(files)
    assert again.report.skipped_files == len(files) and again.report.resources == 0


def test_a_group_of_good_bundles_commits_once_and_audits_each_bundle(
    services: Services, actor: Actor, tmp_path: Path
) -> None:
    files = []
    for n in range(3):
        files.append(tmp_path / f"g{n}.json")
        files[-1].write_text(json.dumps(_transaction({"resourceType": "Patient", "name": [{"family": f"Grp{n}"}]})))
    importer = Importer(services, actor, chunk=100)
    importer.import_paths(files)
    assert importer.report.resources == 3 and importer.report.rejected == 0
    with services.db.read() as conn:
        times = (
            conn.execute(sa.select(audit_event.c.recorded).where(audit_event.c.interaction == "transaction"))
            .scalars()
            .all()
        )
    assert len(times) == 3 and len(set(times)) == 1  # an audit entry per bundle, all in one commit


def test_reindex_rebuilds_missing_index_rows(services: Services, actor: Actor) -> None:
    for patient in PATIENTS[:3]:
        services.store.update(actor, "Patient", str(patient["id"]), patient)

    def wipe(conn: sa.Connection) -> None:
        for table in INDEX_TABLES:
            conn.execute(table.delete())

    services.db.write(wipe)
    assert _find(services, actor, "Patient", name="import1") == []
    assert reindex(services.db, batch=2) == 3
    assert _find(services, actor, "Patient", name="import1") == ["p1"]


@pytest.fixture
def actor() -> Actor:
    return Actor.system("import-tests")


def test_worker_processes_index_exactly_as_the_store_would(
    services: Services, actor: Actor, tmp_path: Path, db_url: str
) -> None:
    """NDJSON imported with 2 worker processes preparing the index rows (Chinese names, components, references,
    an update of an existing resource, field encryption's blind indexes): the index tables hold exactly the rows
    the indexer makes from the stored resources."""
    from huitong.fhir.bench.importing import synthetic_resources
    from tests.index_check import stored_and_expected

    resources = list(synthetic_resources(400))
    chinese = [
        {
            "resourceType": "Patient",
            "id": f"cn{i}",
            "name": [{"family": "张", "given": ["晓明"], "text": "张晓明"}],
            "telecom": [{"system": "phone", "value": f"1380000{i:04d}"}],
            "address": [{"city": "南京市", "line": ["中山路1号"]}],
        }
        for i in range(20)
    ]
    source = _ndjson(tmp_path / "mix.ndjson", [*resources, *chinese, {**chinese[0], "gender": "male"}])
    importer = Importer(services, actor, chunk=64, processes=2)
    importer.import_path(source)
    importer.close()
    assert importer.report.rejected == 0 and importer.report.resources == len(resources) + 21
    assert services.store.read(actor, "Patient", "cn0").version_id == 2
    stored, expected = stored_and_expected(db_url, services.settings.fhir.fulltext_types)
    assert sum(stored.values()) > 2000
    assert stored == expected
    assert _find(services, actor, "Patient", name="zhang") and _find(services, actor, "Patient", name="张晓明")
