"""``huitong views run`` over NDJSON and ``huitong views refresh`` against the configured database."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from huitong.cli import app
from huitong.db import migrate, open_database
from huitong.fhir.store import ResourceStore
from huitong.security import Actor
from huitong.settings import load_settings

VIEW = {
    "name": "patient_gender",
    "resource": "Patient",
    "select": [{"column": [{"name": "id", "path": "id", "type": "id"}, {"name": "gender", "path": "gender"}]}],
}


@pytest.fixture
def view_file(tmp_path: Path) -> Path:
    path = tmp_path / "view.json"
    path.write_text(json.dumps(VIEW))
    return path


def test_run_over_ndjson_as_csv_and_json(view_file: Path, tmp_path: Path) -> None:
    data = tmp_path / "patients.ndjson"
    data.write_text(
        json.dumps({"resourceType": "Patient", "id": "a", "gender": "male"})
        + "\n"
        + json.dumps({"resourceType": "Patient", "id": "b"})
        + "\n"
    )
    runner = CliRunner()
    csv_out = runner.invoke(app, ["views", "run", str(view_file), "--input", str(data)])
    assert csv_out.exit_code == 0, csv_out.output
    assert csv_out.stdout.splitlines() == ["id,gender", "a,male", "b,"]
    json_out = runner.invoke(app, ["views", "run", str(view_file), "--input", str(data), "--format", "json"])
    assert [json.loads(line) for line in json_out.stdout.splitlines()] == [
        {"id": "a", "gender": "male"},
        {"id": "b", "gender": None},
    ]


def test_run_refuses_an_invalid_view(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"select": []}))
    result = CliRunner().invoke(app, ["views", "run", str(bad), "--input", str(bad)])
    assert result.exit_code == 2


def test_refresh_against_the_configured_database(
    view_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("HUITONG_DATABASE__URL", url)
    settings = load_settings(database={"url": url})
    migrate.upgrade(settings.database)
    db = open_database(settings.database)
    try:
        ResourceStore(db, settings.fhir, settings.audit).create(
            Actor.system("test"), {"resourceType": "Patient", "gender": "other"}
        )
    finally:
        db.close()
    target = tmp_path / "views.duckdb"
    result = CliRunner().invoke(app, ["views", "refresh", "--duckdb", str(target), str(view_file)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    assert (summary["view"], summary["mode"], summary["rows_inserted"]) == ("patient_gender", "full", 1)
    with duckdb.connect(str(target)) as con:
        assert con.execute("SELECT gender FROM patient_gender").fetchall() == [("other",)]


def test_run_over_the_configured_database(view_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("HUITONG_DATABASE__URL", url)
    settings = load_settings(database={"url": url})
    migrate.upgrade(settings.database)
    db = open_database(settings.database)
    try:
        stored = ResourceStore(db, settings.fhir, settings.audit).create(
            Actor.system("test"), {"resourceType": "Patient", "gender": "female"}
        )
    finally:
        db.close()
    result = CliRunner().invoke(app, ["views", "run", str(view_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"id": stored.res_id, "gender": "female"}]
