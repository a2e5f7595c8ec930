"""Validity: ICD-10 diagnosis codes have the ICD-10 shape (letter, two digits, optional subdivision)."""

import re
from collections.abc import Sequence
from typing import Any

from huitong.identifiers import ICD10, ICD10_DIAGNOSIS_TABLE
from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

ICD10_SYSTEMS = {
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-cn",
    ICD10,
    ICD10_DIAGNOSIS_TABLE,
}
SHAPE = re.compile(r"[A-Z]\d{2}(\.[0-9A-Z]{1,4})?(x\d{3})?(\+[A-Z]\d{2}(\.\d{1,3})?\*?)?\*?")


def icd10_codes(condition: dict[str, Any]) -> list[str]:
    """The ICD-10 codes of a Condition's code."""
    return [
        coding["code"]
        for coding in (condition.get("code") or {}).get("coding") or ()
        if isinstance(coding, dict) and coding.get("system") in ICD10_SYSTEMS and isinstance(coding.get("code"), str)
    ]


def check(condition: dict[str, Any], _ctx: Context) -> Sequence[str]:
    fullmatch = SHAPE.fullmatch
    return [f"{code!r} is not an ICD-10 code" for code in icd10_codes(condition) if not fullmatch(code)]


RULE = ResourceRule(
    "diagnosis-code-format",
    Dimension.VALIDITY,
    Severity.ERROR,
    "诊断编码格式 ICD-10 code shape",
    "ICD-10 codes (national clinical edition included) have the form A00, A00.0 or A00.000x001.",
    ("Condition",),
    check,
    needs_patients=False,
    fields=("code",),
)
