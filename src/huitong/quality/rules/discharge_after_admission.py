"""Consistency: an encounter does not end before it starts (discharge before admission)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from huitong.quality.rule import Context, Dimension, ResourceRule, Severity


def parse_moment(text: str) -> datetime | None:
    """A FHIR date or dateTime as a comparable datetime (dates at midnight UTC+8 are fine for ordering)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.now().astimezone().tzinfo)


def check(encounter: dict[str, Any], _ctx: Context) -> Sequence[str]:
    period = encounter.get("period") or {}
    start, end = period.get("start"), period.get("end")
    if not (isinstance(start, str) and isinstance(end, str)):
        return ()
    s, e = parse_moment(start), parse_moment(end)
    if s is not None and e is not None and e < s:
        return (f"ends {end} before it starts {start}",)
    return ()


RULE = ResourceRule(
    "discharge-after-admission",
    Dimension.CONSISTENCY,
    Severity.ERROR,
    "出院晚于入院 Discharge after admission",
    "Encounter.period.end is not before Encounter.period.start.",
    ("Encounter",),
    check,
    needs_patients=False,
)
