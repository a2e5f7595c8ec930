"""The duplicate-registration set rule, and the benchmark's matching against the synthetic hospital's truth on a
tiny data set with many defects (no timing assertions: the figures are the benchmark's, not the test's)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from huitong.empi.golden import GOLDEN_TAG
from huitong.quality import bench
from huitong.quality.registry import rule
from huitong.quality.rule import Context, Finding
from huitong.quality.run import check_all
from huitong.settings import QualitySettings

RID = "urn:oid:2.16.156.10011.1.3"
HIS = "urn:oid:2.16.156.10011.0.99999.1"
PI = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PI"}]}


def patient(
    pid: str, local: str, number: str | None, name: str = "王芳", born: str = "1980-05-17"
) -> dict[str, object]:
    ids: list[dict[str, object]] = [{"system": HIS, "value": local, "type": PI}]
    if number:
        ids.append({"system": RID, "value": number})
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": ids,
        "name": [{"text": name}],
        "gender": "female",
        "birthDate": born,
    }


def test_duplicate_registrations_are_found_by_id_number_or_by_demographics() -> None:
    unsourced = {"system": RID, "value": "110105197001010012"}
    resources = [
        patient("a", "H1", "110105198005170027"),
        patient("b", "H2", "110105198005170027", name="王丽"),  # same number
        patient("c", "H3", None),  # same name, birth date and sex as a: joins a's group
        patient("d", "H4", "110105199001010011", name="李强", born="1990-01-01"),
        patient("e", "H5", None, name="张丽之女", born="2024-03-01"),  # newborn placeholder names: twins share them
        patient("f", "H6", None, name="张丽之女", born="2024-03-01"),
        {**patient("g", "H7", "110105198005170027"), "active": False},  # merged away
        # a registration that names no system of its own (no PI/MR identifier, no meta.source) and the EMPI's
        # golden record of it: derived from the registration, not a second one
        {**patient("i", "-", "110105197001010012", name="赵敏", born="1970-01-01"), "identifier": [unsourced]},
        {
            **patient("h", "-", "110105197001010012", name="赵敏", born="1970-01-01"),
            "identifier": [unsourced],
            "meta": {"tag": [GOLDEN_TAG]},
        },
    ]
    data = [(str(r["id"]), orjson.dumps(r)) for r in resources]

    def scan(rtype: str) -> list[tuple[str, bytes]]:
        return data if rtype == "Patient" else []

    findings, _ = check_all(scan, Context(QualitySettings()), [rule("patient-registered-once")])
    assert [(f.res_id, f.detail) for f in findings] == [
        ("c", "same name, birth date and sex and resident ID in one system as Patient/a, Patient/b")
    ]


def test_defects_are_matched_by_family_and_record() -> None:
    defects = [
        {"kind": "late_result", "location": {"message": "L1", "placer_order": "O1"}},
        {"kind": "missing_mandatory", "location": {"file": "frontpage/frontpage.csv", "key": {"ZYH": "ZY1"}}},
        {"kind": "unit_mismatch", "location": {"message": "L2", "set_id": "3"}, "analyte": "L0103"},
    ]
    found = [
        (Finding("result-within-turnaround", "DiagnosticReport", "r", "late"), {("order", "O1")}),
        (Finding("frontpage-required-fields", "frontpage", "ZY1", "XB is empty"), {("fp", "ZY1")}),
        (Finding("frontpage-diagnosis-code", "frontpage", "ZY1", "bad code"), {("fp", "ZY1")}),  # wrong family
        (Finding("observation-unit-expected", "Observation", "o", "g/dL"), {("obs", "L2", "L0104")}),  # other OBX
        (Finding("patient-birthdate-required", "Patient", "p", "missing"), {("reg", "L9")}),  # noise
    ]
    scored = bench.score(found, defects, {"L9": {"completeness"}})
    families = scored["families"]
    assert families["timeliness"]["recall"] == 1.0 and families["timeliness"]["precision"] == 1.0
    assert families["completeness"] == {
        **families["completeness"],
        "defects": 1,
        "found": 1,
        "findings": 2,
        "true": 1,
        "noise": 1,
        "false": 0,
    }
    assert families["validity"]["recall"] == 0.0 and families["validity"]["false"] == 2


@pytest.mark.slow
def test_benchmark_on_a_tiny_hospital_meets_the_recall_and_precision_goals(tmp_path: Path) -> None:
    data = bench.prepare(tmp_path, "tiny", 1, 2024, {k: 0.2 for k in bench.FAMILY})
    result = bench.run(data, repeat=1)
    assert all(result["families"][f]["defects"] > 0 for f in bench.FAMILIES)
    assert min(v for v in result["recall"].values() if v is not None) >= 0.95, result["per_kind"]
    assert min(v for v in result["precision"].values() if v is not None) >= 0.99, result["false_examples"]


def test_the_benchmark_database_is_loaded_again_when_its_data_set_was_generated_anew(tmp_path: Path) -> None:
    import os

    from huitong.quality.bench_batch import Repository, bench_database

    data = tmp_path / "data" / "tiny-1-2024-abc"
    data.mkdir(parents=True)
    manifest = data / "manifest.json"
    manifest.write_text("{}", encoding="utf-8")
    repo = Repository()
    repo.put(patient("a", "H1", None), "m1")
    assert bench_database(tmp_path, data, repo, 1)[1] == 1
    repo.put(patient("b", "H2", None), "m2")
    assert bench_database(tmp_path, data, repo, 1)[1] == 1  # the same data set: the database is kept
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # generated again
    assert bench_database(tmp_path, data, repo, 1)[1] == 2


def test_a_data_set_is_named_for_its_rates_and_its_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Path] = []

    def generate(scale: str, seed: int, year: int, out: Path, **_: object) -> None:
        out.mkdir(parents=True)
        (out / "manifest.json").write_text("{}", encoding="utf-8")
        made.append(out)

    import importlib

    monkeypatch.setattr(importlib.import_module("huitong.synth.generate"), "generate", generate)
    first = bench.prepare(tmp_path, "tiny", 1, 2024, {"late_result": 0.1})
    assert bench.prepare(tmp_path, "tiny", 1, 2024, {"late_result": 0.1}) == first and len(made) == 1
    assert bench.prepare(tmp_path, "tiny", 1, 2024, {"late_result": 0.2}) != first
    monkeypatch.setattr(bench, "generator_digest", lambda: "another generator")
    assert bench.prepare(tmp_path, "tiny", 1, 2024, {"late_result": 0.1}) != first and len(made) == 3
