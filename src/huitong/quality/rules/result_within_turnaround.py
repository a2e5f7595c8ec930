"""Timeliness: lab results are reported within the stated hours of specimen collection."""

from collections.abc import Sequence
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity
from huitong.quality.rules.discharge_after_admission import fixed_layout, parse_moment


def check(report: dict[str, Any], ctx: Context) -> Sequence[str]:
    collected = report.get("effectiveDateTime") or (report.get("effectivePeriod") or {}).get("start")
    issued = report.get("issued")
    if not (isinstance(collected, str) and isinstance(issued, str)):
        return ()
    if (
        collected[:10] == issued[:10]
        and collected[19:] == issued[19:]
        and ctx.settings.result_turnaround_hours >= 24
        and fixed_layout(collected)
        and fixed_layout(issued)
    ):
        return ()  # reported the day it was collected (most reports), the limit a day or more: no dates to parse
    start, end = parse_moment(collected), parse_moment(issued)
    if start is None or end is None:
        return ()
    hours = (end - start).total_seconds() / 3600
    limit = limit_hours(report, ctx)
    if hours > limit:
        return (f"reported {hours:.1f} h after collection (limit {limit:g} h)",)
    return ()


def limit_hours(report: dict[str, Any], ctx: Context) -> float:
    """The setting's hours, or the test's stated turnaround times the tolerance when that is longer."""
    limit = ctx.settings.result_turnaround_hours
    stated = ctx.catalogues.lab_turnaround
    for coding in (report.get("code") or {}).get("coding") or []:
        minutes = stated.get(coding.get("code", "")) if isinstance(coding, dict) else None
        if minutes:
            return max(limit, minutes * ctx.settings.turnaround_tolerance / 60)
    return limit


RULE = ResourceRule(
    "result-within-turnaround",
    Dimension.TIMELINESS,
    Severity.WARNING,
    "检验结果及时 Result reported in time",
    "DiagnosticReport.issued is within HUITONG_QUALITY__RESULT_TURNAROUND_HOURS of the specimen "
    "collection time (effective[x]), or within HUITONG_QUALITY__TURNAROUND_TOLERANCE times the test's stated "
    "turnaround (lab dictionary) when that is longer.",
    ("DiagnosticReport",),
    check,
    needs_patients=False,
    fields=("effectiveDateTime", "effectivePeriod", "issued", "code"),
)
