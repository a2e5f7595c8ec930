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


def fixed_layout(text: str) -> bool:
    """Whether ``text`` is laid out ``YYYY-MM-DDThh:mm:ss±hh:mm`` (25 characters, what the integration engine
    writes): among such values with the same offset, the order of the text is the order in time, and the same
    first ten characters mean the same day — when they are dates at all (if not, no rule finds anything)."""
    return (
        len(text) == 25
        and text[10] == "T"
        and text[4] == "-"
        and text[7] == "-"
        and text[13] == ":"
        and text[16] == ":"
        and text[22] == ":"
        and text[19] in "+-"
    )


def check(encounter: dict[str, Any], _ctx: Context) -> Sequence[str]:
    period = encounter.get("period") or {}
    start, end = period.get("start"), period.get("end")
    if not (isinstance(start, str) and isinstance(end, str)):
        return ()
    if end >= start and start[19:] == end[19:] and fixed_layout(start) and fixed_layout(end):
        return ()  # in order, read as text (most encounters): no dates to parse
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
    fields=("period",),
)
