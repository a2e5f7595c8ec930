"""A tiny hand-built ward with known answers: six discharges, four visits, a few staff, as CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

DEPARTMENTS = [
    {
        "code": "0301",
        "name_zh": "普通外科",
        "name_en": "General surgery",
        "subject_code": "04",
        "kind": "clinical",
        "beds": "40",
    },
    {
        "code": "0101",
        "name_zh": "心血管内科",
        "name_en": "Cardiology",
        "subject_code": "03",
        "kind": "clinical",
        "beds": "60",
    },
]
PROCEDURES = [
    # code, category, level, minimally invasive, incision class
    ("47.01", "surgery", "2", "1", "2"),
    ("51.23", "surgery", "3", "1", "1"),
    ("50.22", "surgery", "4", "0", "1"),
    ("36.07", "intervention", "3", "1", "0"),
    ("88.72", "diagnostic", "", "0", ""),
]
DIAGNOSES = [
    ("K35.8", "0"),
    ("K80.1", "0"),
    ("C22.0", "0"),
    ("I21.0", "0"),
    ("I10", "0"),
    ("T81.4", "1"),
    ("O82.0", "0"),
]
STAFF = [
    ("D1", "physician", "0301", "senior", "外科"),
    ("D2", "physician", "0301", "junior", "外科"),
    ("D3", "physician", "0101", "intermediate", "内科"),
    ("D4", "physician", "0101", "senior", "麻醉"),
    ("N1", "nurse", "0301", "junior", ""),
    ("N2", "nurse", "0301", "junior", ""),
    ("N3", "nurse", "0101", "intermediate", ""),
    ("N4", "nurse", "0101", "senior", ""),
    ("P1", "pharmacist", "0101", "junior", ""),
]
CHARGE_ITEMS = [
    ("C1", "REG", "1"),
    ("C2", "BED", "1"),
    ("Y1", "DRUG_W", "0"),
    ("L1", "LAB", "0"),
    ("S1", "SURG", "1"),
]


def _stay(
    zyh: str,
    dept: str,
    admit: str,
    discharge: str,
    los: int,
    principal: str,
    *,
    disposition: str = "1",
    others: tuple[tuple[str, str], ...] = (),
    ops: tuple[tuple[str, str, str, str, str, str], ...] = (),
    total: str = "1000.00",
    self_paid: str = "400.00",
    age: str = "50",
) -> dict[str, str]:
    row = {
        "ZZJGDM": "HT1",
        "JGMC": "测试医院",
        "YLFKFS": "1",
        "ZYCS": "1",
        "BAH": "MRN" + zyh,
        "ZYH": zyh,
        "XM": "张三",
        "XB": "1",
        "CSRQ": "1970-01-01",
        "NL": age,
        "RYTJ": "2",
        "RYSJ": admit,
        "RYKB": dept,
        "CYSJ": discharge,
        "CYKB": dept,
        "SJZYTS": str(los),
        "ZYZD": "主要诊断",
        "JBDM": principal,
        "RYBQ": "1",
        "LYFS": disposition,
        "ZFY": total,
        "ZFJE": self_paid,
        "XYF": "300.00",
        "SSF": "200.00",
    }
    for i, (code, poa) in enumerate(others, 1):
        row.update({f"QTZD{i}": "其他诊断", f"JBDM{i}": code, f"RYBQ{i}": poa})
    for i, (code, level, incision, healing, elective, day) in enumerate(ops, 1):
        row.update(
            {
                f"SSJCZBM{i}": code,
                f"SSJCZRQ{i}": admit,
                f"SSJB{i}": level,
                f"QKDJ{i}": incision,
                f"QKYHLB{i}": healing,
                f"ZQSS{i}": elective,
                f"RJSS{i}": day,
            }
        )
    return row


STAYS = [
    # 1: elective level-4 open surgery, class I incision healed 丙 (infection), complication T81.4 arising in hospital
    _stay(
        "ZY1",
        "0301",
        "2024-03-01 08:00:00",
        "2024-03-11 10:00:00",
        10,
        "C22.0",
        others=(("T81.4", "4"), ("I10", "1")),
        ops=(("50.22", "4", "1", "3", "1", "2"),),
        total="30000.00",
        self_paid="9000.00",
    ),
    # 2: elective minimally invasive day surgery (level 2, class II incision)
    _stay(
        "ZY2",
        "0301",
        "2024-03-05 07:00:00",
        "2024-03-05 18:00:00",
        1,
        "K80.1",
        ops=(("47.01", "2", "2", "1", "1", "1"),),
        total="8000.00",
        self_paid="2000.00",
    ),
    # 3: emergency laparoscopic cholecystectomy, class I healed 甲, plus a diagnostic procedure (not an operation)
    _stay(
        "ZY3",
        "0301",
        "2024-04-02 22:00:00",
        "2024-04-08 09:00:00",
        6,
        "K80.1",
        ops=(("51.23", "3", "1", "1", "2", "2"), ("88.72", "", "", "", "2", "2")),
        total="12000.00",
        self_paid="3000.00",
    ),
    # 4: AMI with a PCI (intervention, elective), died
    _stay(
        "ZY4",
        "0101",
        "2024-03-10 03:00:00",
        "2024-03-20 12:00:00",
        10,
        "I21.0",
        disposition="5",
        ops=(("36.07", "3", "0", "", "1", "2"),),
        total="50000.00",
        self_paid="10000.00",
    ),
    # 5: medical stay without any procedure
    _stay("ZY5", "0101", "2024-04-01 09:00:00", "2024-04-05 09:00:00", 4, "I10", total="4000.00", self_paid="1000.00"),
    # 6: caesarean-type obstetric principal diagnosis with an elective operation: excluded from indicator 8
    _stay(
        "ZY6",
        "0301",
        "2024-04-10 09:00:00",
        "2024-04-13 09:00:00",
        3,
        "O82.0",
        others=(("T81.4", "4"),),
        ops=(("51.23", "3", "1", "1", "1", "2"),),
        total="6000.00",
        self_paid="600.00",
    ),
]
VISITS = [
    # visit_no, type, dept, appointment, checked in, consultation, total, fund paid
    ("MZ1", "outpatient", "0301", "1", "2024-03-04 08:00:00", "2024-03-04 08:20:00", "100.00", "50.00"),
    ("MZ2", "outpatient", "0301", "1", "2024-03-04 09:00:00", "2024-03-04 09:40:00", "200.00", "100.00"),
    ("MZ3", "outpatient", "0101", "0", "2024-03-04 10:00:00", "2024-03-04 10:30:00", "300.00", "0.00"),
    ("MZ4", "emergency", "0101", "0", "2024-04-04 02:00:00", "2024-04-04 02:05:00", "400.00", "200.00"),
]
CHARGES = [
    # encounter type, encounter no, item, income category, amount
    ("O", "MZ1", "C1", "REG", "20.00"),
    ("O", "MZ1", "Y1", "DRUG_W", "80.00"),
    ("O", "MZ2", "C1", "REG", "20.00"),
    ("O", "MZ2", "L1", "LAB", "180.00"),
    ("O", "MZ3", "C1", "REG", "300.00"),
    ("E", "MZ4", "Y1", "DRUG_W", "400.00"),
    ("I", "ZY5", "C2", "BED", "1000.00"),
    ("I", "ZY5", "Y1", "DRUG_W", "3000.00"),
]


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


FINANCE = [
    ("2023", "medical_income", "100000"),
    ("2024", "medical_income", "120000"),
    ("2024", "personnel_expenditure", "40000"),
    ("2024", "business_expenditure", "100000"),
    ("2024", "business_income", "130000"),
    ("2024", "energy_expenditure", "2000"),
    ("2024", "total_income", "150000"),
    ("2024", "total_liabilities", "30000"),
    ("2024", "total_assets", "90000"),
]


def write_master(directory: Path) -> Path:
    _write(
        directory / "finance.csv",
        ["year", "item", "value"],
        [{"year": y, "item": i, "value": v} for y, i, v in FINANCE],
    )
    _write(directory / "departments.csv", list(DEPARTMENTS[0]), DEPARTMENTS)
    _write(
        directory / "procedures.csv",
        ["code", "category", "level", "minimally_invasive", "incision_class"],
        [
            dict(zip(["code", "category", "level", "minimally_invasive", "incision_class"], p, strict=True))
            for p in PROCEDURES
        ],
    )
    _write(
        directory / "diagnoses.csv",
        ["code", "name_zh", "complication"],
        [{"code": c, "name_zh": c, "complication": flag} for c, flag in DIAGNOSES],
    )
    _write(
        directory / "staff.csv",
        ["staff_id", "role", "department", "title_grade", "practice_scope"],
        [dict(zip(["staff_id", "role", "department", "title_grade", "practice_scope"], s, strict=True)) for s in STAFF],
    )
    _write(
        directory / "charge_items.csv",
        ["code", "income_category", "medical_service"],
        [{"code": c, "income_category": cat, "medical_service": flag} for c, cat, flag in CHARGE_ITEMS],
    )
    return directory


def frontpage_header() -> list[str]:
    return list(dict.fromkeys(k for stay in STAYS for k in stay))


def write_frontpage(path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    rows = STAYS if rows is None else rows
    header = list(dict.fromkeys([*frontpage_header(), *(k for r in rows for k in r)]))
    return _write(path, header, [{k: r.get(k, "") for k in header} for r in rows])


def write_visits(path: Path) -> Path:
    header = [
        "visit_no",
        "his_patient_id",
        "visit_type",
        "department",
        "is_appointment",
        "channel",
        "checked_in_at",
        "consultation_at",
        "total",
        "fund_paid",
        "self_paid",
    ]
    rows = [
        dict(
            zip(
                header,
                (
                    v[0],
                    "H" + v[0],
                    v[1],
                    v[2],
                    v[3],
                    "app" if v[3] == "1" else "walkin",
                    v[4],
                    v[5],
                    v[6],
                    v[7],
                    f"{float(v[6]) - float(v[7]):.2f}",
                ),
                strict=True,
            )
        )
        for v in VISITS
    ]
    return _write(path, header, rows)


def write_charges(path: Path) -> Path:
    header = [
        "encounter_type",
        "encounter_no",
        "his_patient_id",
        "item_code",
        "income_category",
        "quantity",
        "amount",
        "first_at",
    ]
    rows = [
        dict(zip(header, (c[0], c[1], "H" + c[1], c[2], c[3], "1", c[4], "2024-03-04 08:00:00"), strict=True))
        for c in CHARGES
    ]
    return _write(path, header, rows)
