"""At small scale the data has realistic distributions: each measure lies in the range docs/synth.md states
(with the public reference it is oriented by). Values come from the ground truth, which test_truth.py checks
against the written files."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitong.synth import SynthOutput, generate

RANGES = {
    "4": (30.0, 50.0),  # discharges with surgery or intervention, %
    "6": (15.0, 35.0),  # level-4 share of surgical patients, %
    "5": (25.0, 60.0),  # minimally invasive share of surgical patients, %
    "aux.mortality": (0.2, 1.5),  # in-hospital mortality, %
    "aux.alos": (7.0, 10.0),  # average length of stay, days
    "17": (25.0, 50.0),  # antimicrobial use density, DDDs per 100 patient-days
    "aux.antimicrobial_use_rate": (30.0, 60.0),  # inpatients given antimicrobials, %
    "22": (55.0, 80.0),  # outpatient appointment rate, %
    "23": (10.0, 30.0),  # waiting time after appointment, minutes
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SynthOutput:
    out: Path = tmp_path_factory.mktemp("synth-small") / "small"
    generate("small", 1, 2024, out, workers=1)
    return SynthOutput(out)


@pytest.mark.slow
@pytest.mark.parametrize("indicator", list(RANGES))
def test_measure_is_in_its_stated_range(small: SynthOutput, indicator: str) -> None:
    rows = {
        r["indicator"]: r
        for r in small.table("truth/indicators.csv")
        if r["period"] == "2024" and r["department"] == "*"
    }
    low, high = RANGES[indicator]
    assert low <= float(rows[indicator]["value"]) <= high


@pytest.mark.slow
def test_small_scale_has_about_two_thousand_patients(small: SynthOutput) -> None:
    counts = small.manifest["counts"]
    assert 1_900 <= counts["persons"] <= 2_200
    assert counts["stays"] == 1_000
    assert 7_500 <= counts["visits"] <= 8_000


@pytest.mark.slow
def test_every_month_and_clinical_department_has_discharges(small: SynthOutput) -> None:
    rows = [r for r in small.table("truth/indicators.csv") if r["indicator"] == "aux.discharges"]
    months = {r["period"] for r in rows if r["department"] == "*"}
    assert len(months) == 13  # the year and its twelve months
    departments = {r["department"] for r in rows if r["period"] == "2024"} - {"*"}
    beds = {r["code"] for r in small.table("master/departments.csv") if r["beds"] != "0"}
    assert departments >= beds - {"0601"}  # ICU patients are mostly discharged from other departments
