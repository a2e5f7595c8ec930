"""CSV tables other than the front page: master data, the HIS outpatient register and charges, and the
ground-truth tables. Each table's columns are defined here once; docs/synth.md documents them and a test
checks that the two agree."""

from __future__ import annotations

import csv
from pathlib import Path

from huitong.synth.catalogues.charges import CHARGE_ITEMS, INCOME_CATEGORIES
from huitong.synth.catalogues.departments import DEPARTMENTS, WARDS, all_beds
from huitong.synth.catalogues.diagnoses import DIAGNOSES
from huitong.synth.catalogues.drugs import DRUGS
from huitong.synth.catalogues.lab import ANALYTES, EXAMS, PANELS
from huitong.synth.catalogues.procedures import CATEGORY_ZH, PROCEDURES
from huitong.synth.catalogues.staff import StaffMember

OUTPATIENT_VISITS = "his/outpatient_visits.csv"
CHARGES = "his/charges.csv"
PERSONS = "truth/persons.csv"
RECORDS = "truth/records.csv"
ENCOUNTERS = "truth/encounters.csv"

#: Columns of every CSV the generator writes (path → columns).
TABLE_COLUMNS: dict[str, list[str]] = {
    OUTPATIENT_VISITS: [
        "visit_no",
        "his_patient_id",
        "visit_type",
        "department",
        "doctor_id",
        "doctor_title",
        "first_visit",
        "channel",
        "is_appointment",
        "booked_at",
        "slot_start",
        "slot_end",
        "checked_in_at",
        "consultation_at",
        "diagnosis_code",
        "diagnosis_name",
        "payer",
        "total",
        "fund_paid",
        "self_paid",
        "admitted_as",
    ],
    CHARGES: [
        "encounter_type",
        "encounter_no",
        "his_patient_id",
        "department",
        "item_code",
        "item_name",
        "income_category",
        "frontpage_column",
        "quantity",
        "unit_price",
        "amount",
        "first_at",
        "last_at",
    ],
    PERSONS: [
        "person_id",
        "family_name",
        "given_name",
        "sex",
        "birth_date",
        "resident_id",
        "phone",
        "address",
        "postcode",
        "district_code",
        "old_address",
        "moved_at",
        "household_id",
        "twin_of",
        "occupation",
        "employer",
        "mother_name",
    ],
    RECORDS: ["system", "local_id", "person_id", "is_duplicate", "noise"],
    ENCOUNTERS: ["encounter_no", "kind", "person_id", "his_patient_id", "department", "start", "end", "admitted_as"],
    "master/departments.csv": ["code", "name_zh", "name_en", "subject_code", "kind", "beds"],
    "master/wards.csv": ["code", "department", "name_zh", "beds", "is_icu"],
    "master/beds.csv": ["ward", "room", "bed"],
    "master/staff.csv": [
        "staff_id",
        "name",
        "sex",
        "birth_year",
        "role",
        "department",
        "title_code",
        "title_zh",
        "title_en",
        "title_grade",
        "practice_scope",
    ],
    "master/drugs.csv": [
        "code",
        "generic_zh",
        "generic_en",
        "product_zh",
        "atc",
        "form",
        "strength",
        "dose_unit",
        "pack_unit",
        "ddd",
        "ddd_unit",
        "route",
        "antimicrobial",
        "antimicrobial_grade",
        "essential",
        "vbp",
        "price",
        "category",
    ],
    "master/procedures.csv": [
        "code",
        "name_zh",
        "name_en",
        "category",
        "category_zh",
        "level",
        "minimally_invasive",
        "incision_class",
        "anaesthesia",
        "price",
        "consumables",
    ],
    "master/diagnoses.csv": ["code", "name_zh", "name_en", "chapter", "complication", "sex", "flags"],
    "master/lab_tests.csv": [
        "code",
        "name_zh",
        "name_en",
        "loinc",
        "unit",
        "decimals",
        "ref_low_male",
        "ref_high_male",
        "ref_low_female",
        "ref_high_female",
        "critical_low",
        "critical_high",
        "alt_unit",
        "alt_factor",
    ],
    "master/lab_panels.csv": ["code", "name_zh", "name_en", "specimen", "analytes", "price", "turnaround_min"],
    "master/imaging_exams.csv": ["code", "name_zh", "name_en", "modality", "large_equipment", "price"],
    "master/charge_items.csv": [
        "code",
        "name_zh",
        "unit",
        "price",
        "income_category",
        "income_category_zh",
        "medical_service",
        "frontpage_column",
    ],
}


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def write_master(out: Path, staff: tuple[StaffMember, ...]) -> dict[str, int]:
    """Write every master-data table; returns rows per file."""
    rows: dict[str, list[list[str]]] = {
        "master/departments.csv": [[d.code, d.name_zh, d.name_en, d.subject, d.kind, str(d.beds)] for d in DEPARTMENTS],
        "master/wards.csv": [[w.code, w.department, w.name_zh, str(w.beds), _flag(w.is_icu)] for w in WARDS],
        "master/beds.csv": [[b.ward, b.room, b.bed] for b in all_beds()],
        "master/staff.csv": [
            [
                s.staff_id,
                s.name,
                s.sex,
                str(s.birth_year),
                s.role,
                s.department,
                s.title_code,
                s.title_zh,
                s.title_en,
                s.grade,
                s.scope,
            ]
            for s in staff
        ],
        "master/drugs.csv": [
            [
                d.code,
                d.generic_zh,
                d.generic_en,
                d.product_zh,
                d.atc,
                d.form,
                _num(d.strength),
                d.dose_unit,
                d.pack_unit,
                _num(d.ddd) if d.ddd else "",
                d.ddd_unit,
                d.route,
                _flag(d.is_antimicrobial),
                d.antimicrobial_grade,
                _flag(d.essential),
                _flag(d.vbp),
                f"{d.price:.2f}",
                d.category,
            ]
            for d in DRUGS
        ],
        "master/procedures.csv": [
            [
                p.code,
                p.name_zh,
                p.name_en,
                p.category,
                CATEGORY_ZH[p.category],
                str(p.level) if p.level else "",
                _flag(p.minimally_invasive),
                p.incision if p.incision != "-" else "",
                p.anaesthesia,
                f"{p.price:.2f}",
                f"{p.consumables:.2f}",
            ]
            for p in PROCEDURES
        ],
        "master/diagnoses.csv": [
            [
                d.code,
                d.name_zh,
                d.name_en,
                d.chapter,
                _flag(d.is_complication),
                "M" if "M" in d.flags else ("F" if "F" in d.flags or "P" in d.flags else ""),
                d.flags,
            ]
            for d in DIAGNOSES
        ],
        "master/lab_tests.csv": [
            [
                a.code,
                a.name_zh,
                a.name_en,
                a.loinc,
                a.unit,
                str(a.decimals),
                _num(a.ref_male[0]),
                _num(a.ref_male[1]),
                _num(a.ref_female[0]),
                _num(a.ref_female[1]),
                _num(a.critical_low),
                _num(a.critical_high),
                a.alt_unit,
                _num(a.alt_factor) if a.alt_unit else "",
            ]
            for a in ANALYTES
        ],
        "master/lab_panels.csv": [
            [p.code, p.name_zh, p.name_en, p.specimen, " ".join(p.analytes), f"{p.price:.2f}", str(p.turnaround_min)]
            for p in PANELS
        ],
        "master/imaging_exams.csv": [
            [e.code, e.name_zh, e.name_en, e.modality, _flag(e.large_equipment), f"{e.price:.2f}"] for e in EXAMS
        ],
        "master/charge_items.csv": [
            [
                c.code,
                c.name_zh,
                c.unit,
                f"{c.price:.2f}",
                c.income,
                INCOME_CATEGORIES[c.income][0],
                _flag(INCOME_CATEGORIES[c.income][2]),
                c.frontpage,
            ]
            for c in CHARGE_ITEMS
        ],
    }
    counts = {}
    for name, table in rows.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(TABLE_COLUMNS[name])
            writer.writerows(table)
        counts[name] = len(table)
    return counts
