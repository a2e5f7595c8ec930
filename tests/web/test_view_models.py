"""Formatting helpers of the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from huitong.web.view_models import short_time

zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones), st.booleans())
def test_short_time_is_the_time_as_written(moment: datetime, zulu: bool) -> None:
    text = moment.isoformat(timespec="seconds")
    if zulu and moment.utcoffset() == timedelta(0):
        text = text.replace("+00:00", "Z")
    assert short_time(text) == moment.strftime("%Y-%m-%d %H:%M")
    assert short_time(moment.date().isoformat()) == moment.strftime("%Y-%m-%d")


def test_short_time_leaves_what_it_cannot_read() -> None:
    assert short_time("yesterday") == "yesterday"
    assert short_time("2024-13-01T10:00") == "2024-13-01T10:00"
    assert short_time("2024-03-01T10:00:00.123+08:00") == "2024-03-01 10:00"
