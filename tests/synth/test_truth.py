"""Ground truth is consistent with the written data: indicators recomputed here, independently and simply, from
the front page, the outpatient register, the charges and the pharmacy stream (after undoing the recorded
defects) equal ``truth/indicators.csv``; and every recorded defect is where its record says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from huitong.synth import SynthOutput
from huitong.synth.readers import iter_hl7_messages

Cells = dict[tuple[str, str, str], list[float]]  # (indicator, period, department) → [numerator, denominator]


def _add(cells: Cells, key: str, when: str, dept: str, num: float, den: float = 0.0) -> None:
    for period in (when[:4], when[:7]):
        for d in ("*", dept):
            cell = cells.setdefault((key, period, d), [0.0, 0.0])
            cell[0] += num
            cell[1] += den


def _frontpage(out: SynthOutput) -> list[dict[str, str]]:
    rows = {r["ZYH"]: r for r in out.table("frontpage/frontpage.csv")}
    for d in out.defects():
        loc = d["location"]
        if loc.get("file") == "frontpage/frontpage.csv":
            rows[loc["key"]["ZYH"]][loc["column"]] = d["original"]
    return list(rows.values())


def _master(out: SynthOutput, name: str, key: str = "code") -> dict[str, dict[str, str]]:
    return {r[key]: r for r in out.table(f"master/{name}.csv")}


def _operations(row: dict[str, str]) -> Iterator[int]:
    i = 1
    while f"SSJCZBM{i}" in row:
        if row[f"SSJCZBM{i}"]:
            yield i
        i += 1


def recompute(out: SynthOutput) -> Cells:
    procedures = _master(out, "procedures")
    complications = {c for c, r in _master(out, "diagnoses").items() if r["complication"] == "1"}
    drugs = _master(out, "drugs")
    service = {c for c, r in _master(out, "charge_items").items() if r["medical_service"] == "1"}
    cells: Cells = {}
    stays: dict[str, tuple[str, str]] = {}
    for r in _frontpage(out):
        when, dept, days = r["CYSJ"], r["CYKB"], float(r["SJZYTS"])
        stays[r["ZYH"]] = (when, dept)
        _add(cells, "aux.discharges", when, dept, 1)
        _add(cells, "aux.alos", when, dept, days, 1)
        _add(cells, "aux.mortality", when, dept, r["LYFS"] == "5", 1)
        ops = [i for i in _operations(r) if procedures[r[f"SSJCZBM{i}"]]["category"] in ("surgery", "intervention")]
        _add(cells, "4", when, dept, bool(ops), 1)
        if ops:
            _add(cells, "5", when, dept, any(procedures[r[f"SSJCZBM{i}"]]["minimally_invasive"] == "1" for i in ops), 1)
            _add(cells, "6", when, dept, any(r[f"SSJB{i}"] == "4" for i in ops), 1)
        elective = [i for i in ops if r[f"ZQSS{i}"] == "1"]
        _add(cells, "3", when, dept, sum(r[f"RJSS{i}"] == "1" for i in elective), len(elective))
        if elective and r["JBDM"][:1] not in ("O", "P") and not r["JBDM"].startswith("Z37"):
            dx = [(r["JBDM"], r["RYBQ"])] + [(r[f"JBDM{i}"], r[f"RYBQ{i}"]) for i in range(1, 11)]
            _add(cells, "8", when, dept, any(c in complications and poa == "4" for c, poa in dx), 1)
        clean = [i for i in ops if r[f"QKDJ{i}"] == "1"]
        _add(cells, "9", when, dept, sum(r[f"QKYHLB{i}"] == "3" for i in clean), len(clean))
        total, self_paid = float(r["ZFY"]), float(r["ZFJE"])
        _add(cells, "30", when, dept, total - self_paid, total)
        _add(cells, "17", when, dept, 0.0, days)
    for v in out.table("his/outpatient_visits.csv"):
        when, dept = v["consultation_at"], v["department"]
        if v["visit_type"] == "outpatient":
            appointed = v["is_appointment"] == "1"
            _add(cells, "22", when, dept, appointed, 1)
            if appointed:
                wait = _minutes(v["consultation_at"]) - _minutes(v["checked_in_at"])
                _add(cells, "23", when, dept, wait, 1)
        _add(cells, "28", when, dept, float(v["fund_paid"]), float(v["total"]))
    visits = {v["visit_no"]: (v["consultation_at"], v["department"]) for v in out.table("his/outpatient_visits.csv")}
    for c in out.table("his/charges.csv"):
        when, dept = stays[c["encounter_no"]] if c["encounter_type"] == "I" else visits[c["encounter_no"]]
        amount = float(c["amount"])
        inpatient = c["encounter_type"] == "I"
        _add(cells, "27", when, dept, 0.0 if inpatient else amount, amount)
        _add(cells, "29", when, dept, amount if inpatient else 0.0, amount)
        _add(cells, "31", when, dept, amount if c["item_code"] in service else 0.0, amount)
    for message in iter_hl7_messages(out.root / "hl7/his/pharmacy.hl7"):
        segments = {s[:3]: s.split("|") for s in message.split("\r") if s}
        if "RXA" not in segments:
            continue
        drug = drugs[segments["RXA"][5].split("^")[0]]
        stay = stays.get(segments["PV1"][19].split("^")[0])
        if drug["antimicrobial"] == "1" and stay:
            dose = float(segments["RXA"][6]) * _MG[segments["RXA"][7].split("^")[0]]
            _add(cells, "17", stay[0], stay[1], dose / (float(drug["ddd"]) * _MG[drug["ddd_unit"]]))
    return cells


_MG = {"g": 1000.0, "mg": 1.0, "ug": 0.001}


def _minutes(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp() / 60


def _truth(out: SynthOutput) -> dict[tuple[str, str, str], dict[str, str]]:
    return {(r["indicator"], r["period"], r["department"]): r for r in out.table("truth/indicators.csv")}


CHECKED = (
    "aux.discharges",
    "aux.alos",
    "aux.mortality",
    "3",
    "4",
    "5",
    "6",
    "8",
    "9",
    "17",
    "22",
    "23",
    "27",
    "28",
    "29",
    "30",
    "31",
)


@pytest.mark.parametrize("indicator", CHECKED)
def test_indicator_truth_matches_an_independent_computation(tiny_defective: SynthOutput, indicator: str) -> None:
    truth = _truth(tiny_defective)
    mine = {k: v for k, v in recompute(tiny_defective).items() if k[0] == indicator}
    theirs = {k: v for k, v in truth.items() if k[0] == indicator}
    assert mine.keys() == theirs.keys()
    for key, (num, den) in mine.items():
        row = theirs[key]
        assert float(row["numerator"]) == pytest.approx(num, rel=1e-6, abs=1e-4), key
        if row["denominator"]:
            assert float(row["denominator"]) == pytest.approx(den, rel=1e-6, abs=1e-4), key


def test_truth_covers_staff_indicators(tiny_clean: SynthOutput) -> None:
    truth = _truth(tiny_clean)
    staff = list(tiny_clean.table("master/staff.csv"))
    physicians = sum(s["role"] == "physician" for s in staff)
    nurses = sum(s["role"] == "nurse" for s in staff)
    assert float(truth[("46", "2024", "*")]["value"]) == pytest.approx(physicians / nurses, rel=1e-5)
    pharmacists = sum(s["role"] == "pharmacist" for s in staff)
    assert float(truth[("26", "2024", "*")]["value"]) == pytest.approx(pharmacists * 100 / 1000, rel=1e-5)
    for key in ("44", "45.anaesthesia", "45.paediatrics", "45.critical_care", "45.pathology", "45.tcm", "25"):
        assert truth[(key, "2024", "*")]["value"]


# -- every recorded defect is where its record says --------------------------------------------------------


def _by_control_id(out: SynthOutput, name: str) -> dict[str, list[list[str]]]:
    messages = {}
    for text in iter_hl7_messages(out.root / name):
        segments = [s.split("|") for s in text.split("\r") if s]
        messages[segments[0][9]] = segments
    return messages


def _field(segments: list[list[str]], name: str, field: int, set_id: str | None = None) -> str:
    for seg in segments:
        if seg[0] == name and (set_id is None or seg[1] == set_id):
            return seg[field] if field < len(seg) else ""
    raise AssertionError(f"no {name} segment")


def test_every_defect_kind_occurs(tiny_defective: SynthOutput) -> None:
    kinds = {d["kind"] for d in tiny_defective.defects()}
    assert kinds == set(tiny_defective.manifest["defect_rates"])


def test_every_defect_is_at_its_location(tiny_defective: SynthOutput) -> None:
    out = tiny_defective
    rows = {r["ZYH"]: r for r in out.table("frontpage/frontpage.csv")}
    streams: dict[str, dict[str, list[list[str]]]] = {}
    records = {(r["system"], r["local_id"]): r for r in out.table("truth/records.csv")}
    lis_placers = None
    for d in out.defects():
        loc: dict[str, Any] = d["location"]
        file = loc.get("file", "")
        if d["kind"] == "order_never_resulted":
            orders = streams.setdefault(file, _by_control_id(out, file))
            assert _field(orders[loc["message"]], "ORC", 2) == f"{loc['placer_order']}^HIS"
            if lis_placers is None:
                lis = _by_control_id(out, "hl7/lis/results.hl7")
                lis_placers = {_field(m, "OBR", 2) for m in lis.values()}
            assert f"{loc['placer_order']}^HIS" not in lis_placers
        elif d["kind"] == "duplicate_registration":
            assert records[("his", loc["local_id"])]["is_duplicate"] == "1"
            adt = streams.setdefault(file, _by_control_id(out, file))
            assert _field(adt[loc["message"]], "PID", 3).startswith(loc["local_id"] + "^")
        elif "system" in loc:
            assert d["injected"] != d["original"]
            _check_registration(out, loc, d["injected"])
        elif file == "frontpage/frontpage.csv":
            assert rows[loc["key"]["ZYH"]][loc["column"]] == d["injected"]
        else:
            messages = streams.setdefault(file, _by_control_id(out, file))
            segments = messages[loc["message"]]
            assert _field(segments, loc["segment"], loc["field"], loc.get("set_id")) == d["injected"], d
            if d["kind"] == "unit_mismatch":
                assert _field(segments, "OBX", 5, loc["set_id"]) == d["injected_value"]


def _check_registration(out: SynthOutput, loc: dict[str, Any], injected: str) -> None:
    seen = 0
    for name in loc["files"]:
        if name.endswith(".ndjson"):
            for bundle in out.bundles():
                for entry in bundle["entry"]:
                    res = entry["resource"]
                    if res["resourceType"] == "Patient" and res["id"] == f"emr-{loc['local_id']}":
                        values = [i["value"] for i in res["identifier"]]
                        assert injected in values
                        seen += 1
            continue
        for text in iter_hl7_messages(out.root / name):
            pid = next(s for s in text.split("\r") if s.startswith("PID|")).split("|")
            if pid[3].startswith(loc["local_id"] + "^"):
                assert f"~{injected}^" in pid[3]
                seen += 1
    assert seen, f"no message carries the registration {loc['local_id']}"
