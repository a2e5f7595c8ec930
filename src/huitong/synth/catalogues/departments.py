"""Departments, wards and beds of the synthetic 1,000-bed hospital.

Department codes are local (four digits). ``subject`` is the national 诊疗科目 code the department registers
under (codes as recalled from the 医疗机构诊疗科目名录; illustrative, verify before relying on them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Department:
    """A department. ``beds`` is 0 for departments without wards."""

    code: str
    name_zh: str
    name_en: str
    subject: str
    kind: str  # clinical | medical-technology | pharmacy | administrative
    beds: int
    outpatient_weight: float  # share of outpatient visits (relative)


@dataclass(frozen=True, slots=True)
class Ward:
    """A ward (病区) of a department."""

    code: str
    department: str
    name_zh: str
    beds: int
    is_icu: bool


@dataclass(frozen=True, slots=True)
class Bed:
    """A bed: ward, room and bed number as PV1-3 sends them."""

    ward: str
    room: str
    bed: str
    is_extra: bool = False


HOSPITAL_NAME_ZH = "汇通示范医院"
HOSPITAL_NAME_EN = "Huitong Demonstration Hospital"
#: Illustrative organisation identifiers (not a real institution).
HOSPITAL_CODE = "HT000001"
HOSPITAL_OID = "2.16.156.10011.0.99999"

DEPARTMENTS: tuple[Department, ...] = (
    Department("0101", "心血管内科", "Cardiology", "03.04", "clinical", 65, 7.0),
    Department("0102", "呼吸与危重症医学科", "Respiratory and critical care medicine", "03.01", "clinical", 55, 7.0),
    Department("0103", "消化内科", "Gastroenterology", "03.02", "clinical", 45, 6.0),
    Department("0104", "神经内科", "Neurology", "03.03", "clinical", 55, 5.0),
    Department("0105", "内分泌科", "Endocrinology", "03.07", "clinical", 35, 5.0),
    Department("0106", "肾内科", "Nephrology", "03.06", "clinical", 35, 2.5),
    Department("0107", "血液内科", "Haematology", "03.05", "clinical", 30, 1.5),
    Department("0108", "肿瘤科", "Oncology", "19", "clinical", 50, 2.5),
    Department("0109", "职业病科", "Occupational disease", "23", "clinical", 50, 3.0),
    Department("0110", "中毒科", "Poisoning and toxicology", "20", "clinical", 30, 1.0),
    Department("0201", "普通外科", "General surgery", "04.01", "clinical", 75, 5.0),
    Department("0202", "骨科", "Orthopaedics", "04.03", "clinical", 75, 5.0),
    Department("0203", "神经外科", "Neurosurgery", "04.02", "clinical", 40, 1.0),
    Department("0204", "胸外科", "Thoracic surgery", "04.05", "clinical", 30, 1.0),
    Department("0205", "心脏大血管外科", "Cardiac and great vessel surgery", "04.06", "clinical", 20, 0.5),
    Department("0206", "泌尿外科", "Urology", "04.04", "clinical", 40, 3.0),
    Department("0301", "妇科", "Gynaecology", "05.01", "clinical", 35, 5.0),
    Department("0302", "产科", "Obstetrics", "05.02", "clinical", 40, 4.0),
    Department("0401", "儿科", "Paediatrics", "07", "clinical", 45, 8.0),
    Department("0402", "新生儿科", "Neonatology", "07", "clinical", 20, 0.5),
    Department("0501", "眼科", "Ophthalmology", "10", "clinical", 20, 4.0),
    Department("0502", "耳鼻咽喉科", "Otorhinolaryngology", "11", "clinical", 20, 4.0),
    Department("0503", "口腔科", "Stomatology", "12", "clinical", 0, 4.0),
    Department("0504", "皮肤科", "Dermatology", "13", "clinical", 0, 4.0),
    Department("0601", "重症医学科", "Critical care medicine", "28", "clinical", 30, 0.0),
    Department("0701", "中医科", "Traditional Chinese medicine", "50", "clinical", 30, 4.0),
    Department("0801", "康复医学科", "Rehabilitation medicine", "21", "clinical", 30, 1.5),
    Department("0901", "急诊科", "Emergency medicine", "20", "clinical", 0, 11.0),
    Department("1001", "麻醉科", "Anaesthesiology", "26", "medical-technology", 0, 0.0),
    Department("1002", "病理科", "Pathology", "31", "medical-technology", 0, 0.0),
    Department("1003", "检验科", "Laboratory medicine", "30", "medical-technology", 0, 0.0),
    Department("1004", "医学影像科", "Medical imaging", "32", "medical-technology", 0, 0.0),
    Department("1005", "药学部", "Pharmacy", "", "pharmacy", 0, 0.0),
    Department("1006", "病案管理科", "Medical records", "", "administrative", 0, 0.0),
)

DEPARTMENT_BY_CODE: dict[str, Department] = {d.code: d for d in DEPARTMENTS}
ICU = "0601"
EMERGENCY = "0901"
ANAESTHESIA = "1001"
PATHOLOGY = "1002"
LAB = "1003"
IMAGING = "1004"
PHARMACY = "1005"
RECORDS = "1006"
_CN_NUMERALS = "一二三四"
BEDS_PER_ROOM = 3


def _wards() -> tuple[Ward, ...]:
    wards = []
    for dept in DEPARTMENTS:
        if not dept.beds:
            continue
        count = 2 if dept.beds > 45 else 1
        base, extra = divmod(dept.beds, count)
        for i in range(count):
            beds = base + (1 if i < extra else 0)
            suffix = f"{_CN_NUMERALS[i]}病区" if count > 1 else "病区"
            wards.append(Ward(f"W{dept.code}{i + 1}", dept.code, f"{dept.name_zh}{suffix}", beds, dept.code == ICU))
    return tuple(wards)


WARDS: tuple[Ward, ...] = _wards()
WARDS_BY_DEPARTMENT: dict[str, tuple[Ward, ...]] = {
    d.code: tuple(w for w in WARDS if w.department == d.code) for d in DEPARTMENTS
}
WARD_BY_CODE: dict[str, Ward] = {w.code: w for w in WARDS}


def beds_of(ward: Ward) -> list[Bed]:
    """The regular beds of a ward, three to a room (rooms numbered from 01)."""
    return [Bed(ward.code, f"{i // BEDS_PER_ROOM + 1:02d}", f"{i + 1:02d}") for i in range(ward.beds)]


def extra_bed(ward: Ward, n: int) -> Bed:
    """The ``n``-th extra bed (加床) put up in a ward's corridor when all its beds are taken."""
    return Bed(ward.code, "JC", f"+{n:02d}", is_extra=True)


def all_beds() -> list[Bed]:
    """Every regular bed of the hospital."""
    return [bed for ward in WARDS for bed in beds_of(ward)]


TOTAL_BEDS = sum(d.beds for d in DEPARTMENTS)
