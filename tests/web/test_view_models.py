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


def test_identifiers_are_named_and_a_resident_id_masked() -> None:
    from huitong.web.view_models import identifier_label, identifier_value

    resident = {"system": "urn:oid:2.16.156.10011.1.3", "value": "11010519491231002X"}
    assert (identifier_label(resident, "zh"), identifier_value(resident)) == ("身份证号", "110105********002X")
    assert identifier_label(resident, "en") == "Resident ID"
    mr = {"system": "urn:huitong:v2:HOSP:MR", "value": "MR1", "type": {"coding": [{"code": "MR"}]}}
    assert (identifier_label(mr, "zh"), identifier_value(mr)) == ("病历号", "MR1")
    assert identifier_label({"system": "urn:huitong:v2:HOSP:local", "value": "9"}, "zh") == "HOSP local"
    assert identifier_label({"system": "urn:huitong:source:PACS", "value": "X1"}, "zh") == "PACS"
    assert identifier_label({"system": "http://example.org/ids", "value": "1"}, "zh") == "http://example.org/ids"
    assert identifier_value({"system": "urn:oid:2.16.156.10011.1.3", "value": "short"}) == "short"


def test_age_and_sex_in_the_page_language() -> None:
    from datetime import date

    from huitong.web.view_models import age_of, gender_of

    adult = {"birthDate": "1965-01-30", "gender": "male"}
    on = date(2026, 11, 29)
    assert (age_of(adult, "zh", on), age_of(adult, "en", on)) == ("61岁", "61 y")
    infant = {"birthDate": "2026-09-01"}
    assert (age_of(infant, "zh", on), age_of(infant, "en", on)) == ("2月", "2 mo")
    newborn = {"birthDate": "2026-11-20"}
    assert (age_of(newborn, "zh", on), age_of(newborn, "en", on)) == ("9天", "9 d")
    assert (gender_of(adult, "zh"), gender_of(adult, "en")) == ("男", "Male")
