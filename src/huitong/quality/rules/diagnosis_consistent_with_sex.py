"""Consistency: sex-specific diagnoses agree with the patient's sex (no pregnancy for men, no prostate for women)."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import PATIENT_REFERENCE, Context, Dimension, ResourceRule, Severity
from huitong.quality.rules.diagnosis_code_format import icd10_codes

#: ICD-10 blocks for one sex only (WHO ICD-10 sex-limited categories, abridged to whole blocks).
FEMALE_ONLY = (
    "O",
    "C51",
    "C52",
    "C53",
    "C54",
    "C55",
    "C56",
    "C57",
    "C58",
    "N70",
    "N71",
    "N72",
    "N73",
    "N74",
    "N75",
    "N76",
    "N77",
    "N80",
    "N81",
    "N82",
    "N83",
    "N84",
    "N85",
    "N86",
    "N87",
    "N88",
    "N89",
    "N90",
    "N91",
    "N92",
    "N93",
    "N94",
    "N95",
    "N96",
    "N97",
    "N98",
    "D06",
    "D25",
    "D26",
    "D27",
    "D39.1",
    "E28",
    "Z32",
    "Z33",
    "Z34",
    "Z35",
    "Z36",
    "Z39",
)
MALE_ONLY = (
    "C60",
    "C61",
    "C62",
    "C63",
    "D07.4",
    "D07.5",
    "D07.6",
    "D29",
    "D40",
    "E29",
    "N40",
    "N41",
    "N42",
    "N43",
    "N44",
    "N45",
    "N46",
    "N47",
    "N48",
    "N49",
    "N50",
    "N51",
)


def sex_specific(condition: dict[str, Any]) -> bool:
    """Whether the Condition has an ICD-10 code for one sex only (the others agree with any patient)."""
    return any(c.startswith(FEMALE_ONLY) or c.startswith(MALE_ONLY) for c in icd10_codes(condition))


def check(condition: dict[str, Any], ctx: Context) -> Sequence[str]:
    patient = ctx.patient_of(condition)
    if patient is None:
        return ()
    if patient.gender == "male":
        return [
            f"{c} applies to women only, the patient is male"
            for c in icd10_codes(condition)
            if c.startswith(FEMALE_ONLY)
        ]
    if patient.gender == "female":
        return [
            f"{c} applies to men only, the patient is female" for c in icd10_codes(condition) if c.startswith(MALE_ONLY)
        ]
    return ()


RULE = ResourceRule(
    "diagnosis-consistent-with-sex",
    Dimension.CONSISTENCY,
    Severity.ERROR,
    "诊断与性别相符 Diagnosis agrees with sex",
    "Sex-specific ICD-10 categories (pregnancy, female or male genital organs) match Patient.gender.",
    ("Condition",),
    check,
    fields=("code", *PATIENT_REFERENCE),
    candidate=sex_specific,
)
