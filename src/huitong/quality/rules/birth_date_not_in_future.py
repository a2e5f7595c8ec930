"""Validity: nobody is born in the future or before 1880."""

from collections.abc import Iterator
from datetime import date
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity


def check(patient: dict[str, Any], _ctx: Context) -> Iterator[str]:
    text = patient.get("birthDate")
    if not isinstance(text, str) or not text:
        return
    try:
        born = date.fromisoformat(text[:10]) if len(text) >= 10 else date(int(text[:4]), 1, 1)
    except ValueError:
        yield f"birthDate {text!r} is not a date"
        return
    if born > date.today():
        yield f"birthDate {text} is in the future"
    elif born.year < 1880:
        yield f"birthDate {text} is implausibly early"


RULE = ResourceRule(
    "birth-date-not-in-future",
    Dimension.VALIDITY,
    Severity.ERROR,
    "出生日期合理 Birth date plausible",
    "Patient.birthDate is a date between 1880 and today.",
    ("Patient",),
    check,
)
