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


# Pharmacy and PACS of the ward (indicators 11, 17, 18, 19, 21): a drug dictionary, an imaging exam list and HL7
# messages as the HIS, the nursing module and the PACS send them.
DRUGS = [
    # code, generic, strength, dose unit, DDD, DDD unit, antimicrobial, essential, VBP
    ("A1", "头孢唑林", "1", "g", "3", "g", "1", "1", "0"),
    ("A2", "左氧氟沙星", "0.5", "g", "0.5", "g", "1", "1", "1"),
    ("A3", "左氧氟沙星", "0.5", "g", "0.5", "g", "1", "0", "0"),
    ("B1", "奥美拉唑", "20", "mg", "20", "mg", "0", "0", "0"),
]
DRUG_COLUMNS = ["code", "generic_zh", "strength", "dose_unit", "ddd", "ddd_unit", "antimicrobial", "essential", "vbp"]
EXAMS = [("RC02", "CT", "1"), ("RM01", "MR", "1"), ("RU01", "US", "0")]
_MSH = "MSH|^~\\&|{app}|HT1^1.2.3^ISO|HUB|HT1^1.2.3^ISO|{ts}||{kind}|{ctrl}|P|2.5|||AL|NE|CHN|UNICODE UTF-8"
_PID = "PID|1||H{no}^^^HIS^PI||张^三||19700101|M"
_PV1 = "PV1|1|{cls}|||||D1^医^生|||{dept}|||||||||{no}^^^HIS^VN"


def _message(app: str, kind: str, ctrl: str, ts: str, no: str, cls: str, dept: str, *segments: str) -> str:
    head = [
        _MSH.format(app=app, ts=ts, kind=kind, ctrl=ctrl),
        _PID.format(no=no),
        _PV1.format(cls=cls, dept=dept, no=no),
    ]
    return "\r".join([*head, *segments]) + "\r"


def _rde(
    ctrl: str, ts: str, no: str, cls: str, dept: str, order: str, drug: str, dose: str, unit: str, packs: str
) -> str:
    return _message(
        "HIS",
        "RDE^O11^RDE_O11",
        ctrl,
        ts,
        no,
        cls,
        dept,
        f"ORC|NW|{order}^HIS|||SC||||{ts}|||D1^医^生",
        f"RXE|^QD^^{ts}|{drug}^{drug}^99HTDRUG|{dose}|{dose}|{unit}^^UCUM|||||{packs}|支",
        "RXR|PO^口服^HL70162",
    )


def _ras(
    ctrl: str, ts: str, no: str, dept: str, order: str, seq: int, drug: str, dose: str, unit: str, done: str
) -> str:
    return _message(
        "HIS-NIS",
        "RAS^O17^RAS_O17",
        ctrl,
        ts,
        no,
        "I",
        dept,
        f"ORC|RE|{order}^HIS|||IP||||{ts}|||D1^医^生",
        f"RXA|0|{seq}|{ts}|{ts}|{drug}^{drug}^99HTDRUG|{dose}|{unit}^^UCUM|||N1^护^士||||||||||{done}|A",
    )


def _oru(ctrl: str, ts: str, no: str, cls: str, dept: str, order: str, exam: str, section: str, flag: str) -> str:
    return _message(
        "PACS",
        "ORU^R01^ORU_R01",
        ctrl,
        ts,
        no,
        cls,
        dept,
        f"ORC|RE|{order}^HIS|{order}F^PACS||CM||||{ts}|||D1^医^生",
        f"OBR|1|{order}^HIS|{order}F^PACS|{exam}^{exam}^99HTRIS|||{ts}|||||||||D1^医^生||||||{ts}||{section}|F",
        "OBX|1|TX|18782-3^影像所见^LN||所见||||||F",
        f"OBX|2|TX|19005-8^诊断意见^LN||{'异常' if flag == 'A' else '未见异常'}|||{flag}|||F",
    )


#: ZY1 (0301, 10 bed-days): cefazolin 2 g three times (2 DDDs, essential) and levofloxacin injection 500 mg twice
#: (2 DDDs, same generic as a VBP product); ZY4 (0101, 10 bed-days): omeprazole four times, and a cefazolin dose
#: not given. MZ1 (0301): 10 VBP levofloxacin tablets (10 DDDs, essential); MZ3 (0101): omeprazole. PACS: a positive
#: chest CT of MZ2 (0301), a negative brain MR and a positive (not large-equipment) ultrasound of ZY4 (admitted 0101).
PHARMACY = [
    _rde("P1", "20240301090000", "ZY1", "I", "0301", "M1", "A1", "2", "g", "6"),
    *(_ras(f"P1{n}", f"2024030{n + 1}090000", "ZY1", "0301", "M1", n, "A1", "2", "g", "CP") for n in (1, 2, 3)),
    _rde("P2", "20240302090000", "ZY1", "I", "0301", "M2", "A3", "500", "mg", "2"),
    *(_ras(f"P2{n}", f"2024030{n + 2}100000", "ZY1", "0301", "M2", n, "A3", "500", "mg", "CP") for n in (1, 2)),
    _rde("P3", "20240311090000", "ZY4", "I", "0101", "M3", "B1", "20", "mg", "4"),
    *(_ras(f"P3{n}", f"2024031{n}090000", "ZY4", "0101", "M3", n, "B1", "20", "mg", "CP") for n in (1, 2, 3, 4)),
    _rde("P4", "20240311100000", "ZY4", "I", "0101", "M4", "A1", "1", "g", "1"),
    _ras("P41", "20240311110000", "ZY4", "0101", "M4", 1, "A1", "1", "g", "NA"),
    _rde("P5", "20240304083000", "MZ1", "O", "0301", "M5", "A2", "0.5", "g", "10"),
    _rde("P6", "20240304103500", "MZ3", "O", "0101", "M6", "B1", "20", "mg", "14"),
]
PACS = [
    _oru("R1", "20240304100000", "MZ2", "O", "0301", "I1", "RC02", "CT", "A"),
    _oru("R2", "20240312100000", "ZY4", "I", "0101", "I2", "RM01", "MR", "N"),
    _oru("R3", "20240313100000", "ZY4", "I", "0101", "I3", "RU01", "US", "A"),
]


def write_pharmacy_master(directory: Path) -> Path:
    _write(directory / "drugs.csv", DRUG_COLUMNS, [dict(zip(DRUG_COLUMNS, d, strict=True)) for d in DRUGS])
    _write(
        directory / "imaging_exams.csv",
        ["code", "modality", "large_equipment"],
        [{"code": c, "modality": m, "large_equipment": f} for c, m, f in EXAMS],
    )
    return directory


def write_hl7(path: Path, messages: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join(messages).encode("utf-8") + b"\n")
    return path
