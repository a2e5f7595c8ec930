"""Consistency: on the front page, discharge (CYSJ) is not before admission (RYSJ) and birth not after it."""

from collections.abc import Iterator
from datetime import date, datetime

from huitong.quality.rule import Context, Dimension, RowRule, Severity


def moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def check(row: dict[str, str], _ctx: Context) -> Iterator[str]:
    admitted = moment(row.get("RYSJ") or "")
    discharged = moment(row.get("CYSJ") or "")
    if admitted and discharged and discharged < admitted:
        yield f"CYSJ {row['CYSJ']} is before RYSJ {row['RYSJ']}"
    try:
        born = date.fromisoformat((row.get("CSRQ") or "").strip())
    except ValueError:
        return
    if admitted and born > admitted.date():
        yield f"CSRQ {born} is after RYSJ {row['RYSJ']}"


RULE = RowRule(
    "frontpage-discharge-after-admission",
    Dimension.CONSISTENCY,
    Severity.ERROR,
    "病案首页出入院时间 Front-page dates in order",
    "Discharge time (CYSJ) is not before admission time (RYSJ), and the birth date (CSRQ) is not after it.",
    ("frontpage",),
    check,
)
