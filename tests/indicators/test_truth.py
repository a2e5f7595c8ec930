"""Acceptance: on the synthetic hospital (tiny scale, no injected defects), every computed indicator equals the
generator's ground truth to 4 significant digits, for the year and each month, hospital-wide and per department,
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path

import pytest

from huitong.indicators import importer, reference, service
from huitong.security.actor import Actor
from huitong.services import Services

YEAR = 2024


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generate = pytest.importorskip("huitong.synth.generate")
    config = pytest.importorskip("huitong.synth.config")
    out = tmp_path_factory.mktemp("synth") / "tiny"
    generate.generate("tiny", 1, YEAR, out, workers=1, defects=config.DefectRates.none())
    return out


def _close(mine: float, truth: float) -> bool:
    """Equal to 4 significant digits (the truth file itself is rounded to 6 decimals)."""
    if truth == 0:
        return abs(mine) < 1e-6
    unit = 10.0 ** (math.floor(math.log10(abs(truth))) - 3)
    return abs(mine - truth) <= unit / 2 + 5e-7


def test_equals_ground_truth(services: Services, actor: Actor, synthetic: Path, tmp_path: Path) -> None:
    store = services.store
    reference.import_directory(services.db, synthetic / "master")
    reports = [
        importer.import_frontpage(store, actor, synthetic / "frontpage" / "frontpage.csv"),
        importer.import_visits(store, actor, synthetic / "his" / "outpatient_visits.csv"),
        importer.import_charges(store, actor, synthetic / "his" / "charges.csv"),
        importer.import_hl7(store, actor, synthetic / "hl7" / "his" / "pharmacy.hl7"),
        importer.import_hl7(store, actor, synthetic / "hl7" / "pacs" / "reports.hl7"),
    ]
    assert [len(r.rejected) for r in reports] == [0, 0, 0, 0, 0]
    computed = service.compute_and_store(
        services.db, service.Workspace(tmp_path / "ind.duckdb"), actor, date(YEAR, 1, 1), date(YEAR, 12, 31)
    )
    mine = {(v.id, v.period, v.department): v for v in computed}
    ids = {v.id for v in computed}
    with (synthetic / "truth" / "indicators.csv").open(encoding="utf-8") as handle:
        truth = [r for r in csv.DictReader(handle) if r["indicator"] in ids and r["value"] != ""]
    checked, wrong = 0, []
    for row in truth:
        value = mine.get((row["indicator"], row["period"], row["department"]))
        if value is None or value.value is None or not _close(value.value, float(row["value"])):
            wrong.append((row["indicator"], row["period"], row["department"], row["value"], value))
        checked += 1
    assert not wrong, [
        (w[0], w[1], w[2], w[3], w[4] and (w[4].value, w[4].numerator, w[4].denominator)) for w in wrong[:20]
    ]
    covered = {r["indicator"] for r in truth}
    assert {"3", "4", "5", "6", "8", "9", "22", "23", "25", "31", "46", "10.ami.cases"} <= covered
    assert {"11", "17", "18", "19", "21", "aux.antimicrobial_use_rate"} <= covered
    assert {r["period"] for r in truth} >= {str(YEAR), f"{YEAR}-01", f"{YEAR}-12"}
    assert checked > 1000
