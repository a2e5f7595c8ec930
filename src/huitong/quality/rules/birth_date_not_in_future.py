"""Validity: nobody is born in the future or before 1880."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

#: A day that is not in the future: no date up to it can be after today.
_PAST = date.today()


def check(patient: dict[str, Any], _ctx: Context) -> Sequence[str]:
    text = patient.get("birthDate")
    if not isinstance(text, str) or not text:
        return ()
    try:
        born = date.fromisoformat(text[:10]) if len(text) >= 10 else date(int(text[:4]), 1, 1)
    except ValueError:
        return (f"birthDate {text!r} is not a date",)
    if born.year < 1880:
        return (f"birthDate {text} is implausibly early",)
    if born > _PAST and born > date.today():  # the clock only asks when the date is after the module's import
        return (f"birthDate {text} is in the future",)
    return ()


RULE = ResourceRule(
    "birth-date-not-in-future",
    Dimension.VALIDITY,
    Severity.ERROR,
    "出生日期合理 Birth date plausible",
    "Patient.birthDate is a date between 1880 and today.",
    ("Patient",),
    check,
    needs_patients=False,
    fields=("birthDate",),
)
