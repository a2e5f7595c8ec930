"""Staff: physicians, nurses, pharmacists and technicians with professional titles and scope of practice.

Title codes follow GB/T 8561 (专业技术职务代码) as recalled (231 主任医师 … 265 技士).

Head counts follow common staffing of a Chinese 1,000-bed tertiary hospital (physicians about 0.4 per bed,
nurses about 0.6–0.7 per bed, pharmacists about 4.5 per 100 beds); the exact numbers are illustrative.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from huitong.synth.catalogues.departments import (
    ANAESTHESIA,
    DEPARTMENTS,
    EMERGENCY,
    ICU,
    IMAGING,
    LAB,
    PATHOLOGY,
    PHARMACY,
    RECORDS,
)
from huitong.synth.people import random_given, random_surname

#: (role, title code, title in Chinese, title in English, grade, weight)
TITLES: dict[str, tuple[tuple[str, str, str, str, float], ...]] = {
    "physician": (
        ("231", "主任医师", "Chief physician", "senior", 10.0),
        ("232", "副主任医师", "Associate chief physician", "senior", 18.0),
        ("233", "主治医师", "Attending physician", "intermediate", 35.0),
        ("234", "医师", "Physician", "junior", 37.0),
    ),
    "nurse": (
        ("251", "主任护师", "Chief nurse", "senior", 1.0),
        ("252", "副主任护师", "Associate chief nurse", "senior", 5.0),
        ("253", "主管护师", "Nurse-in-charge", "intermediate", 35.0),
        ("254", "护师", "Senior nurse", "junior", 35.0),
        ("255", "护士", "Nurse", "junior", 24.0),
    ),
    "pharmacist": (
        ("241", "主任药师", "Chief pharmacist", "senior", 5.0),
        ("242", "副主任药师", "Associate chief pharmacist", "senior", 15.0),
        ("243", "主管药师", "Pharmacist-in-charge", "intermediate", 40.0),
        ("244", "药师", "Pharmacist", "junior", 40.0),
    ),
    "coder": (("", "", "", "none", 1.0),),
    "technician": (
        ("261", "主任技师", "Chief technologist", "senior", 3.0),
        ("262", "副主任技师", "Associate chief technologist", "senior", 12.0),
        ("263", "主管技师", "Technologist-in-charge", "intermediate", 40.0),
        ("264", "技师", "Technologist", "junior", 45.0),
    ),
}
ROLE_PREFIX = {"physician": "D", "nurse": "N", "pharmacist": "P", "technician": "T", "coder": "C"}
#: Roles counted as health technical staff (卫生技术人员).
HEALTH_TECHNICAL = frozenset({"physician", "nurse", "pharmacist", "technician"})

#: Scope of practice (执业范围) of physicians by department; indicator 45 counts by it.
SCOPE = {
    ANAESTHESIA: "麻醉",
    PATHOLOGY: "病理",
    ICU: "重症医学",
    "0701": "中医",
    "0401": "儿科",
    "0402": "儿科",
    IMAGING: "医学影像和放射治疗",
    LAB: "医学检验",
    "0301": "妇产科",
    "0302": "妇产科",
    "0501": "眼耳鼻咽喉科",
    "0502": "眼耳鼻咽喉科",
    "0503": "口腔",
    "0109": "职业病",
    EMERGENCY: "急救医学",
}


@dataclass(frozen=True, slots=True)
class StaffMember:
    """One member of staff."""

    staff_id: str
    name: str
    sex: str
    birth_year: int
    role: str
    department: str
    title_code: str
    title_zh: str
    title_en: str
    grade: str
    scope: str

    @property
    def is_senior(self) -> bool:
        """Whether the title is senior (高级职称: 主任/副主任 grades)."""
        return self.grade == "senior"


def _headcount(dept_code: str, beds: int, kind: str) -> dict[str, int]:
    if dept_code == ANAESTHESIA:
        return {"physician": 34, "nurse": 70}
    if dept_code == PATHOLOGY:
        return {"physician": 9, "technician": 8}
    if dept_code == LAB:
        return {"physician": 4, "technician": 42}
    if dept_code == IMAGING:
        return {"physician": 32, "technician": 28, "nurse": 8}
    if dept_code == PHARMACY:
        return {"pharmacist": 46}
    if dept_code == RECORDS:
        return {"coder": 6}
    if dept_code == EMERGENCY:
        return {"physician": 26, "nurse": 48}
    if dept_code == ICU:
        return {"physician": 16, "nurse": 75}
    if not beds:
        return {"physician": 9, "nurse": 5}
    return {"physician": round(beds * 0.36), "nurse": round(beds * 0.6)}


def _scope(dept_code: str, rng: random.Random) -> str:
    if dept_code == "0801" and rng.random() < 0.3:
        return "中医"
    if dept_code in SCOPE:
        return SCOPE[dept_code]
    return "外科" if dept_code.startswith("02") else "内科"


def build_staff(seed: int) -> tuple[StaffMember, ...]:
    """All staff of the hospital, the same for every scale of one seed."""
    rng = random.Random(f"huitong-synth:{seed}:staff")  # noqa: S311  # reproducible synthetic data, not security
    counters = dict.fromkeys(ROLE_PREFIX, 0)
    staff = []
    today = date(2024, 1, 1)
    for dept in DEPARTMENTS:
        for role, count in _headcount(dept.code, dept.beds, dept.kind).items():
            titles = TITLES[role]
            for _ in range(count):
                counters[role] += 1
                code, zh, en, grade, _ = rng.choices(titles, [t[4] for t in titles])[0]
                base_age = {"senior": 50, "intermediate": 38, "junior": 29, "none": 35}[grade]
                birth_year = today.year - max(22, min(62, base_age + rng.randint(-6, 8)))
                sex = (
                    ("F" if rng.random() < 0.95 else "M") if role == "nurse" else ("M" if rng.random() < 0.55 else "F")
                )
                name = random_surname(rng) + random_given(rng, sex, birth_year)
                scope = _scope(dept.code, rng) if role == "physician" else ""
                staff.append(
                    StaffMember(
                        f"{ROLE_PREFIX[role]}{counters[role]:04d}",
                        name,
                        sex,
                        birth_year,
                        role,
                        dept.code,
                        code,
                        zh,
                        en,
                        grade,
                        scope,
                    )
                )
    return tuple(staff)
