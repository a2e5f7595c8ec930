"""The rules' fast paths give what the straightforward code gives, on random input: dates in order read as text
(discharge after admission, result turnaround) and resident IDs already in their normal form parsed without
normalising. The straightforward code is kept here as the reference."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from huitong.empi.resident_id import ResidentIdError, build, parse
from huitong.quality.rule import Catalogues, Context
from huitong.quality.rules import discharge_after_admission, resident_id_check_character, result_within_turnaround
from huitong.quality.rules.discharge_after_admission import parse_moment
from huitong.settings import QualitySettings

OFFSETS = [timezone(timedelta(hours=h, minutes=m)) for h, m in ((8, 0), (0, 0), (-5, 0), (5, 30), (-3, -30))]


@st.composite
def moments(draw: st.DrawFn) -> str:
    """FHIR date-times as sent: mostly the fixed layout, some with other offsets, Z, fractions, dates only, or
    broken (a day or hour out of range, stray characters)."""
    moment = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 12, 31)))
    moment = moment.replace(microsecond=0, tzinfo=draw(st.sampled_from(OFFSETS)))
    text = moment.isoformat()
    kind = draw(st.integers(0, 9))
    if kind == 1:
        text = moment.astimezone(UTC8).isoformat()
    elif kind == 2:
        text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    elif kind == 3:
        text = moment.isoformat(timespec="milliseconds")
    elif kind == 4:
        text = text[:10]
    elif kind == 5:
        position = draw(st.integers(0, len(text) - 1))
        text = text[:position] + draw(st.sampled_from("9x:-T+ ")) + text[position + 1 :]
    elif kind == 6:
        text = text[:8] + "3" + text[9:]  # a day 30–39, often out of range
    return text


UTC8 = OFFSETS[0]


def _reference_discharge(encounter: dict[str, Any]) -> Sequence[str]:
    period = encounter.get("period") or {}
    start, end = period.get("start"), period.get("end")
    if not (isinstance(start, str) and isinstance(end, str)):
        return ()
    s, e = parse_moment(start), parse_moment(end)
    if s is not None and e is not None and e < s:
        return (f"ends {end} before it starts {start}",)
    return ()


@settings(max_examples=400)
@given(moments(), moments())
def test_discharge_after_admission_read_as_text_is_what_parsing_gives(start: str, end: str) -> None:
    ctx = Context(QualitySettings())
    for period in ({"start": start, "end": end}, {"start": end, "end": start}, {"start": start, "end": start}):
        encounter = {"resourceType": "Encounter", "period": period}
        assert list(discharge_after_admission.check(encounter, ctx)) == list(_reference_discharge(encounter))


def _reference_turnaround(report: dict[str, Any], ctx: Context) -> Sequence[str]:
    collected = report.get("effectiveDateTime") or (report.get("effectivePeriod") or {}).get("start")
    issued = report.get("issued")
    if not (isinstance(collected, str) and isinstance(issued, str)):
        return ()
    start, end = parse_moment(collected), parse_moment(issued)
    if start is None or end is None:
        return ()
    hours = (end - start).total_seconds() / 3600
    limit = result_within_turnaround.limit_hours(report, ctx)
    if hours > limit:
        return (f"reported {hours:.1f} h after collection (limit {limit:g} h)",)
    return ()


@settings(max_examples=400)
@given(
    moments(),
    st.integers(-3600, 60 * 60 * 60),
    moments(),
    st.sampled_from([1.0, 12.0, 24.0, 48.0]),
    st.sampled_from(["LP01", "LP99", None]),
)
def test_result_turnaround_read_as_text_is_what_parsing_gives(
    collected: str, later_s: int, other: str, hours: float, code: str | None
) -> None:
    ctx = Context(
        QualitySettings(result_turnaround_hours=hours), catalogues=Catalogues(lab_turnaround={"LP01": 24 * 60})
    )
    parsed = parse_moment(collected)
    # the report issued some seconds later, written in the collection's layout and offset when it parses
    issued = (parsed + timedelta(seconds=later_s)).isoformat() if parsed is not None and len(collected) == 25 else other
    for effective, sent in ((collected, issued), (collected, other), (issued, collected)):
        report: dict[str, Any] = {"resourceType": "DiagnosticReport", "effectiveDateTime": effective, "issued": sent}
        if code:
            report["code"] = {"coding": [{"code": code}]}
        assert list(result_within_turnaround.check(report, ctx)) == list(_reference_turnaround(report, ctx))


def _reference_parsed(number: str, on: date) -> Any:
    try:
        return parse(number, today=on)
    except ResidentIdError as exc:
        return str(exc)


@st.composite
def numbers(draw: st.DrawFn) -> str:
    """Valid resident IDs, and the same with a character changed, added or dropped, full-width or spaced."""
    born = draw(st.dates(min_value=date(1870, 1, 1), max_value=date(2030, 12, 31)))
    division = draw(st.sampled_from(["110105", "320111", "440305"]))
    number = build(division, born, draw(st.integers(0, 499)), draw(st.sampled_from(["male", "female"])))
    kind = draw(st.integers(0, 6))
    if kind == 1:
        position = draw(st.integers(0, 17))
        number = number[:position] + draw(st.sampled_from("0123456789Xx ０-")) + number[position + 1 :]
    elif kind == 2:
        number = number[:-1]
    elif kind == 3:
        number = number + draw(st.sampled_from("0X"))
    elif kind == 4:
        number = number[:6] + number[8:17]  # the 15-digit form
    elif kind == 5:
        number = draw(st.text(alphabet="0123456789X", min_size=17, max_size=19))
    return number


@settings(max_examples=600)
@given(numbers(), st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)))
def test_resident_ids_in_normal_form_parse_as_parse_gives(number: str, on: date) -> None:
    resident_id_check_character._parsed.cache_clear()
    assert resident_id_check_character._parsed(number, on) == _reference_parsed(number, on)
