"""Timeliness: lab results are reported within the stated hours of specimen collection."""

from collections.abc import Iterator
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity
from huitong.quality.rules.discharge_after_admission import parse_moment


def check(report: dict[str, Any], ctx: Context) -> Iterator[str]:
    collected = report.get("effectiveDateTime") or (report.get("effectivePeriod") or {}).get("start")
    issued = report.get("issued")
    if not (isinstance(collected, str) and isinstance(issued, str)):
        return
    start, end = parse_moment(collected), parse_moment(issued)
    if start is None or end is None:
        return
    hours = (end - start).total_seconds() / 3600
    if hours > ctx.settings.result_turnaround_hours:
        yield f"reported {hours:.1f} h after collection (limit {ctx.settings.result_turnaround_hours:g} h)"


RULE = ResourceRule(
    "result-within-turnaround",
    Dimension.TIMELINESS,
    Severity.WARNING,
    "检验结果及时 Result reported in time",
    "DiagnosticReport.issued is within HUITONG_QUALITY__RESULT_TURNAROUND_HOURS of the specimen "
    "collection time (effective[x]).",
    ("DiagnosticReport",),
    check,
)
