"""Timeliness: the inpatient front page is completed within ``frontpage_days`` of discharge.

The national front page (病案首页) carries no completion time of its own; its quality-control date (ZKRQ, 质控日期)
is the day the finished front page passed the record room's check, so it is the latest the front page can have been
completed. A front page checked more than ``HUITONG_QUALITY__FRONTPAGE_DAYS`` days after discharge (CYSJ) was not
completed in time; one without a quality-control date is not judged (it may still be in progress), nor one whose
discharge is before its admission (the discharge time is wrong; another rule reports it)."""

from collections.abc import Iterator
from datetime import date

from huitong.quality.rule import Context, Dimension, RowRule, Severity
from huitong.quality.rules.frontpage_discharge_after_admission import moment


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def check(row: dict[str, str], ctx: Context) -> Iterator[str]:
    discharged = _day(row.get("CYSJ") or "")
    checked = _day(row.get("ZKRQ") or "")
    if discharged is None or checked is None:
        return
    admitted, left = moment(row.get("RYSJ") or ""), moment(row.get("CYSJ") or "")
    if admitted is not None and left is not None and left < admitted:
        return  # the discharge time itself is wrong (frontpage-discharge-after-admission): nothing to count from
    days = (checked - discharged).days
    if days > ctx.settings.frontpage_days:
        yield (
            f"quality-checked (ZKRQ {checked}) {days} days after discharge (CYSJ {discharged}); "
            f"the limit is {ctx.settings.frontpage_days}"
        )


RULE = RowRule(
    "frontpage-completed-in-time",
    Dimension.TIMELINESS,
    Severity.WARNING,
    "病案首页及时完成 Front page completed in time",
    "The front page's quality-control date (ZKRQ), the latest it can have been completed, is at most "
    "HUITONG_QUALITY__FRONTPAGE_DAYS days after discharge (CYSJ).",
    ("frontpage",),
    check,
)
