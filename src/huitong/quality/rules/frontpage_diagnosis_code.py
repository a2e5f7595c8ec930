"""Validity: the front page's diagnosis codes are ICD-10 codes of the hospital's dictionary."""

from collections.abc import Iterator

from huitong.quality.rule import Context, Dimension, RowRule, Severity
from huitong.quality.rules.diagnosis_code_format import SHAPE

OTHER_DIAGNOSES = 10
COLUMNS = ("JBDM", *(f"JBDM{i}" for i in range(1, OTHER_DIAGNOSES + 1)), "JBBM")


def check(row: dict[str, str], ctx: Context) -> Iterator[str]:
    known = ctx.catalogues.icd10
    for column in COLUMNS:
        code = (row.get(column) or "").strip()
        if not code:
            continue
        if not SHAPE.fullmatch(code):
            yield f"{column} {code!r} is not an ICD-10 code"
        elif known and code not in known:
            yield f"{column} {code!r} is not in the diagnosis dictionary"


RULE = RowRule(
    "frontpage-diagnosis-code",
    Dimension.VALIDITY,
    Severity.ERROR,
    "病案首页诊断编码 Front-page diagnosis codes",
    "The principal, other and outpatient diagnosis codes (JBDM, JBDM1–10, JBBM) have the ICD-10 shape and, "
    "when a dictionary is loaded, are in it.",
    ("frontpage",),
    check,
)
