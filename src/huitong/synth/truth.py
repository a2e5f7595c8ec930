"""Ground truth of the indicators, computed from the generator's own events (never from the written files).

Each shard adds numerators and denominators to cells keyed by (indicator, month, department); the merge sums
the cells of all shards and rolls them up to the year and to the whole hospital. Stays count in the month and
department of discharge, visits in those of the consultation, imaging in the month of the exam and the
ordering department.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from huitong.synth.catalogues.charges import CHARGE_BY_CODE, DRUG_CATEGORIES, SERVICE_CATEGORIES
from huitong.synth.catalogues.departments import TOTAL_BEDS
from huitong.synth.catalogues.diagnoses import COMPLICATIONS, is_excluded_from_complications
from huitong.synth.catalogues.drugs import DRUGS
from huitong.synth.catalogues.staff import HEALTH_TECHNICAL, StaffMember
from huitong.synth.clock import Clock, bed_days
from huitong.synth.indicators import COUNTS, INDICATORS, SINGLE_DISEASES
from huitong.synth.model import Charges, ImagingOrder, LabOrder, MedOrder, Stay, Visit

Cells = dict[tuple[str, int, str], list[float]]
#: Generic names (with route) that have a volume-based-procurement product (indicator 21).
VBP_GENERICS = frozenset(d.generic_en for d in DRUGS if d.vbp)
INDICATOR_COLUMNS = ["indicator", "name_en", "period", "department", "numerator", "denominator", "value", "unit"]


def _add(cells: Cells, key: str, month: int, dept: str, num: float, den: float = 0.0) -> None:
    cell = cells.get((key, month, dept))
    if cell is None:
        cells[(key, month, dept)] = [num, den]
    else:
        cell[0] += num
        cell[1] += den


def _income(charges: Charges) -> tuple[int, int, int]:
    total = drugs = service = 0
    for item, (_, amount, _, _) in charges.items.items():
        category = CHARGE_BY_CODE[item].income
        total += amount
        if category in DRUG_CATEGORIES:
            drugs += amount
        if category in SERVICE_CATEGORIES:
            service += amount
    return total, drugs, service


def _vbp(cells: Cells, month: int, dept: str, orders: list[MedOrder], inpatient: bool) -> None:
    for o in orders:
        if o.drug.generic_en not in VBP_GENERICS:
            continue
        doses = len(o.administrations) if inpatient else o.packs * o.drug.strength / o.dose
        ddds = o.drug.ddds(o.dose) * doses
        _add(cells, "21", month, dept, ddds if o.drug.vbp else 0.0, ddds)


def _imaging(cells: Cells, clock: Clock, orders: list[ImagingOrder], dept: str) -> None:
    for o in orders:
        month = clock.month(o.performed)
        if o.exam.large_equipment and month:
            _add(cells, "11", month, dept, 1.0 if o.positive else 0.0, 1.0)


def record_stay(cells: Cells, stay: Stay, clock: Clock) -> None:
    """Add one discharge to the cells."""
    m, d = clock.month(stay.discharge), stay.department
    days = bed_days(stay.admit, stay.discharge)
    _add(cells, "aux.discharges", m, d, 1)
    _add(cells, "aux.bed_days", m, d, days)
    _add(cells, "aux.alos", m, d, days, 1)
    _add(cells, "aux.mortality", m, d, 1.0 if stay.died else 0.0, 1)
    _add(cells, "1", m, d, 0, 1)
    ops = [op for op in stay.operations if op.procedure.is_operation]
    _add(cells, "4", m, d, 1.0 if ops else 0.0, 1)
    if ops:
        _add(cells, "5", m, d, 1.0 if any(op.procedure.minimally_invasive for op in ops) else 0.0, 1)
        _add(cells, "6", m, d, 1.0 if any(op.procedure.level == 4 for op in ops) else 0.0, 1)
    elective = [op for op in ops if op.elective]
    _add(cells, "3", m, d, sum(1 for op in elective if op.day_surgery), len(elective))
    principal = stay.principal.code if stay.principal else ""
    if elective and not is_excluded_from_complications(principal):
        diagnoses = [*([stay.principal] if stay.principal else []), *stay.others]
        complicated = any(dx.code in COMPLICATIONS and dx.poa == "4" for dx in diagnoses)
        _add(cells, "8", m, d, 1.0 if complicated else 0.0, 1)
    clean = [op for op in ops if op.procedure.incision == "1"]
    _add(cells, "9", m, d, sum(1 for op in clean if op.healing == "丙"), len(clean))
    total, drugs, service = _income(stay.charges)
    for key, (_, prefixes, procedures) in SINGLE_DISEASES.items():
        hit = principal.startswith(prefixes) if prefixes else any(op.procedure.code in procedures for op in ops)
        if hit and (key != "pneumonia" or stay.person.age_on(clock.date(stay.admit)) >= 18):
            _add(cells, f"10.{key}.cases", m, d, 1)
            _add(cells, f"10.{key}.alos", m, d, days, 1)
            _add(cells, f"10.{key}.cost", m, d, total / 100, 1)
            _add(cells, f"10.{key}.mortality", m, d, 1.0 if stay.died else 0.0, 1)
    ddds = sum(o.drug.ddds(o.dose) * len(o.administrations) for o in stay.meds if o.drug.is_antimicrobial)
    _add(cells, "17", m, d, ddds, days)
    _add(cells, "aux.antimicrobial_use_rate", m, d, 1.0 if any(o.drug.is_antimicrobial for o in stay.meds) else 0.0, 1)
    _add(cells, "19", m, d, 1.0 if any(o.drug.essential for o in stay.meds) else 0.0, 1)
    _vbp(cells, m, d, stay.meds, True)
    _add(cells, "27", m, d, 0, total / 100)
    _add(cells, "29", m, d, total / 100, total / 100)
    _add(cells, "30", m, d, stay.fund_paid_fen / 100, total / 100)
    _add(cells, "31", m, d, service / 100, total / 100)
    _add(cells, "aux.inpatient_cost_per_stay", m, d, total / 100, 1)
    _add(cells, "aux.inpatient_drug_cost_per_stay", m, d, drugs / 100, 1)
    _imaging(cells, clock, stay.imaging, stay.admit_department)
    _critical(cells, clock, stay.labs, stay.admit_department)


def record_visit(cells: Cells, visit: Visit, clock: Clock) -> None:
    """Add one outpatient or emergency visit to the cells."""
    m, d = clock.month(visit.consult), visit.department
    _imaging(cells, clock, visit.imaging, d)  # in the month of the exam, even for a visit of the year before
    if not m:
        return
    _add(cells, "aux.outpatient_visits", m, d, 1)
    _add(cells, "1", m, d, 1, 0)
    if visit.kind == "E":
        _add(cells, "aux.emergency_visits", m, d, 1)
    else:
        _add(cells, "22", m, d, 1.0 if visit.is_appointment else 0.0, 1)
        if visit.is_appointment:
            _add(cells, "23", m, d, (visit.consult - visit.checkin) / 60, 1)
    _add(cells, "18", m, d, 1.0 if any(o.drug.essential for o in visit.meds) else 0.0, 1)
    _vbp(cells, m, d, visit.meds, False)
    total, drugs, service = _income(visit.charges)
    _add(cells, "27", m, d, total / 100, total / 100)
    _add(cells, "28", m, d, visit.fund_paid_fen / 100, total / 100)
    _add(cells, "29", m, d, 0, total / 100)
    _add(cells, "31", m, d, service / 100, total / 100)
    _add(cells, "aux.outpatient_cost_per_visit", m, d, total / 100, 1)
    _add(cells, "aux.outpatient_drug_cost_per_visit", m, d, drugs / 100, 1)
    _critical(cells, clock, visit.labs, d)


def _critical(cells: Cells, clock: Clock, labs: Iterable[LabOrder], dept: str) -> None:
    for lab in labs:
        month = clock.month(lab.reported)
        n = sum(1 for r in lab.results if r.flag in ("HH", "LL"))
        if n and month:
            _add(cells, "aux.critical_values", month, dept, n)


def merge_into(total: Cells, cells: Cells) -> None:
    """Add a shard's cells to a running total."""
    for (key, month, dept), (num, den) in cells.items():
        _add(total, key, month, dept, num, den)


def staff_cells(cells: Cells, staff: tuple[StaffMember, ...], clock: Clock) -> dict[str, tuple[float, float]]:
    """Indicator 25 denominators in the cells, and the hospital-level staff indicators (year only)."""
    physicians: dict[str, int] = {}
    for s in staff:
        if s.role == "physician":
            physicians[s.department] = physicians.get(s.department, 0) + 1
    for (key, month, dept), (num, _) in list(cells.items()):
        if key == "aux.bed_days":
            _add(cells, "25", month, dept, num, physicians.get(dept, 0) * clock.days_in_month(month))
    tech = [s for s in staff if s.role in HEALTH_TECHNICAL]
    doctors = [s for s in staff if s.role == "physician"]
    nurses = sum(1 for s in staff if s.role == "nurse")
    scopes = {
        "anaesthesia": "麻醉",
        "paediatrics": "儿科",
        "critical_care": "重症医学",
        "pathology": "病理",
        "tcm": "中医",
    }
    hospital = {
        "26": (float(sum(1 for s in staff if s.role == "pharmacist")), float(TOTAL_BEDS)),
        "44": (float(sum(1 for s in tech if s.is_senior)), float(len(tech))),
        "46": (float(len(doctors)), float(nurses)),
    }
    for key, scope in scopes.items():
        hospital[f"45.{key}"] = (float(sum(1 for s in doctors if s.scope == scope)), float(len(doctors)))
    return hospital


def _fmt(x: float) -> str:
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def write_indicators(path: Path, cells: Cells, hospital: dict[str, tuple[float, float]], year: int) -> int:
    """Write ``truth/indicators.csv``: every indicator per year and month, whole hospital and per department."""
    by_id: dict[str, dict[tuple[str, str], list[float]]] = {}
    for (key, month, dept), (num, den) in cells.items():
        if not month:
            continue
        target = by_id.setdefault(key, {})
        for period in (str(year), f"{year}-{month:02d}"):
            for department in ("*", dept):
                cell = target.setdefault((period, department), [0.0, 0.0])
                cell[0] += num
                cell[1] += den
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(INDICATOR_COLUMNS)
        for ind in INDICATORS:
            if ind.id in hospital:
                num, den = hospital[ind.id]
                out.writerow(
                    [
                        ind.id,
                        ind.name_en,
                        str(year),
                        "*",
                        _fmt(num),
                        _fmt(den),
                        _fmt(num / den * ind.factor) if den else "",
                        ind.unit,
                    ]
                )
                rows += 1
                continue
            for (period, dept), (num, den) in sorted(by_id.get(ind.id, {}).items()):
                if ind.id in COUNTS:
                    value, den_text = _fmt(num), ""
                else:
                    value, den_text = (_fmt(num / den * ind.factor) if den else ""), _fmt(den)
                out.writerow([ind.id, ind.name_en, period, dept, _fmt(num), den_text, value, ind.unit])
                rows += 1
    return rows
