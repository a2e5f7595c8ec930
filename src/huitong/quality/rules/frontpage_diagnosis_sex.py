"""Consistency: front-page diagnoses agree with the patient's sex (XB)."""

from collections.abc import Iterator

from huitong.quality.rule import Context, Dimension, RowRule, Severity
from huitong.quality.rules.diagnosis_consistent_with_sex import FEMALE_ONLY, MALE_ONLY
from huitong.quality.rules.frontpage_diagnosis_code import COLUMNS


def check(row: dict[str, str], _ctx: Context) -> Iterator[str]:
    sex = (row.get("XB") or "").strip()
    if sex not in ("1", "2"):
        return
    for column in COLUMNS:
        code = (row.get(column) or "").strip()
        if not code:
            continue
        if sex == "1" and code.startswith(FEMALE_ONLY):
            yield f"{column} {code} applies to women only, XB is 1 (male)"
        elif sex == "2" and code.startswith(MALE_ONLY):
            yield f"{column} {code} applies to men only, XB is 2 (female)"


RULE = RowRule(
    "frontpage-diagnosis-sex",
    Dimension.CONSISTENCY,
    Severity.ERROR,
    "病案首页诊断与性别相符 Front-page diagnoses agree with sex",
    "No sex-specific ICD-10 category (pregnancy, female or male genital organs) contradicts XB (GB/T 2261.1).",
    ("frontpage",),
    check,
)
