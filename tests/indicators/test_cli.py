"""``huitong indicators …`` end to end on SQLite: imports (with a rejected row), compute --json, list, drill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huitong.cli import app
from tests.indicators import ward

runner = CliRunner()


def test_import_compute_list_drill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUITONG_DATABASE__URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("HUITONG_INDICATORS__DUCKDB_PATH", str(tmp_path / "cli.duckdb"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    master = runner.invoke(app, ["indicators", "import-master", str(ward.write_master(tmp_path / "master"))])
    assert json.loads(master.output)["procedure"] == len(ward.PROCEDURES)

    bad = {**ward.STAYS[1], "ZYH": "ZY9", "JBDM": "K35.99"}
    frontpage = ward.write_frontpage(tmp_path / "fp.csv", [*ward.STAYS, bad])
    result = runner.invoke(app, ["indicators", "import-frontpage", str(frontpage), "--json"])
    assert result.exit_code == 1  # a row was rejected; the valid ones are stored
    report = json.loads(result.output.strip().splitlines()[-1])
    assert (report["rows"], report["accepted"]) == (7, 6)
    assert report["rejected"] == [{"line": 8, "key": "ZY9", "reasons": ["JBDM: code 'K35.99' is not in the catalogue"]}]
    assert (
        runner.invoke(app, ["indicators", "import-visits", str(ward.write_visits(tmp_path / "v.csv"))]).exit_code == 0
    )
    assert (
        runner.invoke(app, ["indicators", "import-charges", str(ward.write_charges(tmp_path / "c.csv"))]).exit_code == 0
    )

    computed = runner.invoke(app, ["indicators", "compute", "--from", "2024-01-01", "--to", "2024-12-31", "--json"])
    assert computed.exit_code == 0, computed.output
    rows = {r["id"]: r for r in json.loads(computed.output.strip().splitlines()[0])}
    assert set(rows["6"]) == {"id", "name", "period", "value", "numerator", "denominator", "unit"}
    assert rows["6"] == {
        "id": "6",
        "name": "出院患者四级手术比例",
        "period": "2024",
        "value": 20.0,
        "numerator": 1.0,
        "denominator": 5.0,
        "unit": "%",
    }
    march = runner.invoke(
        app, ["indicators", "compute", "--from", "2024-03-01", "--to", "2024-03-31", "--department", "0101", "--json"]
    )
    by_id = {r["id"]: r for r in json.loads(march.output.strip().splitlines()[0])}
    assert by_id["4"]["period"] == "2024-03" and by_id["4"]["value"] == 100.0  # ZY4 had a PCI

    listed = runner.invoke(app, ["indicators", "list"]).output
    assert "出院患者四级手术比例" in listed and "▲" in listed
    drilled = runner.invoke(app, ["indicators", "drill", "6", "2024", "--numerator-only"])
    cases = [json.loads(line) for line in drilled.output.strip().splitlines()]
    assert [(c["case"], c["rule"]) for c in cases] == [("fp-ZY1", "level-4 operation: 50.22")]


def test_import_hl7_reports_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUITONG_DATABASE__URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("HUITONG_INDICATORS__DUCKDB_PATH", str(tmp_path / "cli.duckdb"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    master = runner.invoke(app, ["indicators", "import-master", str(ward.write_pharmacy_master(tmp_path / "m"))])
    assert json.loads(master.output) == {"drug": len(ward.DRUGS), "imaging_exam": len(ward.EXAMS)}
    pacs = ward.write_hl7(tmp_path / "pacs.hl7", ward.PACS)
    broken = ward.write_hl7(tmp_path / "broken.hl7", [ward.PACS[0].replace("OBR|", "XXX|")])
    result = runner.invoke(app, ["indicators", "import-hl7", str(pacs), str(broken), "--json"])
    assert result.exit_code == 1  # a message could not be mapped; the others are stored
    reports = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [(r["rows"], r["accepted"], len(r["rejected"])) for r in reports] == [(3, 3, 0), (1, 0, 1)]
    assert reports[1]["rejected"][0]["key"] == "R1" and "OBR" in reports[1]["rejected"][0]["reasons"][0]
