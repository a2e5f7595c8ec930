"""Consistency: front-page diagnoses agree with the patient's age — perinatal conditions (P00–P96) only in the
first year of life, senile cataract (H25) never in it."""

from collections.abc import Iterator
from datetime import date, datetime

from huitong.quality.rule import Context, Dimension, RowRule, Severity
from huitong.quality.rules.frontpage_diagnosis_code import COLUMNS

ONE_YEAR_DAYS = 365


def age_days(row: dict[str, str]) -> int | None:
    """Days between birth (CSRQ) and admission (RYSJ), or ``None`` when either is missing or malformed."""
    try:
        born = date.fromisoformat((row.get("CSRQ") or "").strip())
        admitted = datetime.fromisoformat((row.get("RYSJ") or "").strip()).date()
    except ValueError:
        return None
    return (admitted - born).days


def check(row: dict[str, str], _ctx: Context) -> Iterator[str]:
    days = age_days(row)
    if days is None:
        return
    for column in COLUMNS:
        code = (row.get(column) or "").strip()
        if code.startswith("P") and days > ONE_YEAR_DAYS:
            yield f"{column} {code} is a perinatal condition but the patient was {days // 365} years old"
        elif code.startswith("H25") and days <= ONE_YEAR_DAYS:
            yield f"{column} {code} is senile cataract but the patient was {days} days old"


RULE = RowRule(
    "frontpage-diagnosis-age",
    Dimension.CONSISTENCY,
    Severity.WARNING,
    "病案首页诊断与年龄相符 Front-page diagnoses agree with age",
    "Perinatal conditions (P00–P96) are not coded for patients over one year old at admission, senile cataract "
    "(H25) not for infants.",
    ("frontpage",),
    check,
)
