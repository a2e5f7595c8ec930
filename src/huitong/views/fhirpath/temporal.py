"""FHIRPath Date, DateTime and Time values: partial precision, time zones, comparison and arithmetic.

A value keeps only the components that were written (``@2014-01`` has a year and a month); comparing
two values whose shared components are equal but whose precisions differ gives "unknown" (``None``),
which FHIRPath turns into an empty result. Seconds and milliseconds count as one precision.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Kind = Literal["date", "dateTime", "time"]
#: Components of a date/dateTime, most significant first, and of a time.
DATE_PARTS = ("year", "month", "day", "hour", "minute", "second", "millisecond")
TIME_PARTS = ("hour", "minute", "second", "millisecond")

_DATE_RE = re.compile(r"(\d{4})(?:-(\d\d)(?:-(\d\d))?)?", re.ASCII)
_TIME_RE = re.compile(r"(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?", re.ASCII)
_TZ_RE = re.compile(r"Z|([+-])(\d\d):(\d\d)", re.ASCII)


@dataclass(frozen=True, slots=True)
class Temporal:
    """A FHIRPath Date, DateTime or Time; ``parts`` holds only the components present."""

    kind: Kind
    parts: tuple[int, ...]
    tz: int | None = None  # offset from UTC in minutes (DateTime only)
    frac_digits: int = 3  # digits written after the decimal point of the seconds

    def __str__(self) -> str:
        return format_temporal(self)

    @property
    def precision(self) -> int:
        return len(self.parts)

    def names(self) -> tuple[str, ...]:
        return TIME_PARTS if self.kind == "time" else DATE_PARTS


def _time_parts(match: re.Match[str]) -> list[int]:
    hour, minute, second, frac = match.groups()
    parts = [int(hour)]
    if minute is not None:
        parts.append(int(minute))
    if second is not None:
        parts.append(int(second))
    if frac is not None:
        parts.append(int((frac + "00")[:3]))
    return parts


def _check(parts: list[int], kind: Kind) -> None:
    names = TIME_PARTS if kind == "time" else DATE_PARTS
    limits = {"month": (1, 12), "day": (1, 31), "hour": (0, 23), "minute": (0, 59), "second": (0, 59)}
    for name, value in zip(names, parts, strict=False):
        low, high = limits.get(name, (0, 9999))
        if not low <= value <= high:
            raise ValueError(f"invalid {name} {value}")
    if kind != "time" and len(parts) >= 3 and parts[2] > calendar.monthrange(parts[0], parts[1])[1]:
        raise ValueError(f"invalid day {parts[2]}")


def parse_temporal(text: str, kind: Kind | None = None) -> Temporal:
    """Parse a FHIR/FHIRPath date, dateTime or time string (without the ``@``); ValueError if invalid.

    ``kind`` forces the kind (a FHIR ``dateTime`` element holding ``2014`` is still a DateTime).
    """
    if kind == "time" or (kind is None and text.startswith("T")):
        body = text[1:] if text.startswith("T") else text
        match = _TIME_RE.fullmatch(body)
        if not match:
            raise ValueError(f"invalid time {text!r}")
        parts = _time_parts(match)
        _check(parts, "time")
        return Temporal("time", tuple(parts), None, len(match.group(4) or ""))
    date_text, sep, rest = text.partition("T")
    match = _DATE_RE.fullmatch(date_text)
    if not match:
        raise ValueError(f"invalid date {text!r}")
    parts = [int(g) for g in match.groups() if g is not None]
    tz: int | None = None
    frac = 3
    if rest:
        tz_match = _TZ_RE.search(rest)
        time_text = rest[: tz_match.start()] if tz_match else rest
        if tz_match:
            if tz_match.end() != len(rest):
                raise ValueError(f"invalid dateTime {text!r}")
            sign, hh, mm = tz_match.groups()
            tz = 0 if sign is None else (1 if sign == "+" else -1) * (int(hh) * 60 + int(mm))
        time_match = _TIME_RE.fullmatch(time_text)
        if not time_match or len(parts) < 3:
            raise ValueError(f"invalid dateTime {text!r}")
        parts.extend(_time_parts(time_match))
        frac = len(time_match.group(4) or "")
    _check(parts, "dateTime")
    resolved: Kind = kind or ("dateTime" if sep else "date")
    if resolved == "date" and len(parts) > 3:
        raise ValueError(f"invalid date {text!r}")
    return Temporal(resolved, tuple(parts), tz, frac)


def parse_literal(text: str) -> Temporal:
    """A FHIRPath literal's value (the text after ``@``)."""
    return parse_temporal(text)


def format_temporal(value: Temporal) -> str:
    """The FHIR string form (no ``@``): ``2014-01-05``, ``2014-01-05T10:30:00.000+08:00``, ``10:30``."""
    p = value.parts
    if value.kind == "time":
        text = f"{p[0]:02d}"
        if len(p) > 1:
            text += f":{p[1]:02d}"
        if len(p) > 2:
            text += f":{p[2]:02d}"
        if len(p) > 3:
            text += f".{p[3]:03d}"
        return text
    text = f"{p[0]:04d}"
    if len(p) > 1:
        text += f"-{p[1]:02d}"
    if len(p) > 2:
        text += f"-{p[2]:02d}"
    if len(p) > 3:
        text += f"T{p[3]:02d}"
        if len(p) > 4:
            text += f":{p[4]:02d}"
        if len(p) > 5:
            text += f":{p[5]:02d}"
        if len(p) > 6:
            text += f".{p[6]:03d}"
        if value.tz is not None:
            text += _format_tz(value.tz)
    return text


def _format_tz(tz: int) -> str:
    if tz == 0:
        return "Z"
    sign = "+" if tz > 0 else "-"
    return f"{sign}{abs(tz) // 60:02d}:{abs(tz) % 60:02d}"


def _to_utc_parts(value: Temporal) -> tuple[int, ...]:
    """Components shifted to UTC (only meaningful with an hour and a time zone)."""
    p = value.parts
    if value.tz is None or len(p) < 4 or value.tz == 0:
        return p
    full = list(p) + [0] * (7 - len(p))
    moment = datetime(full[0], full[1], full[2], full[3], full[4], full[5], full[6] * 1000)
    moment -= timedelta(minutes=value.tz)
    shifted = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return (*shifted[: len(p)], *((moment.microsecond // 1000,) if len(p) > 6 else ()))


def compare(left: Temporal, right: Temporal) -> int | None:
    """-1, 0 or 1; ``None`` when the answer depends on components one side does not have."""
    if (left.kind == "time") != (right.kind == "time"):
        raise TypeError("cannot compare a time with a date")
    lp, rp = left.parts, right.parts
    if left.kind != "time" and len(lp) > 3 and len(rp) > 3:
        if (left.tz is None) != (right.tz is None):
            return None
        lp, rp = _to_utc_parts(left), _to_utc_parts(right)
    # Seconds and milliseconds are one precision: compare them as decimal seconds.
    sec_index = 2 if left.kind == "time" else 5
    lv = _seconds_merged(lp, sec_index)
    rv = _seconds_merged(rp, sec_index)
    for a, b in zip(lv, rv, strict=False):
        if a != b:
            return -1 if a < b else 1
    return 0 if len(lv) == len(rv) else None


def _seconds_merged(parts: tuple[int, ...], sec_index: int) -> tuple[float, ...]:
    if len(parts) <= sec_index:
        return tuple(float(x) for x in parts)
    ms = parts[sec_index + 1] if len(parts) > sec_index + 1 else 0
    return (*(float(x) for x in parts[:sec_index]), parts[sec_index] + ms / 1000)


def equivalent(left: Temporal, right: Temporal) -> bool:
    """``~``: equal at the same precision; different precisions are never equivalent."""
    if (left.kind == "time" and right.kind != "time") or (right.kind == "time" and left.kind != "time"):
        return False
    result = compare(left, right)
    return result == 0


#: Calendar duration → (component of DATE_PARTS it changes, multiplier).
_ADD_UNITS = {
    "year": ("year", 1),
    "month": ("month", 1),
    "week": ("day", 7),
    "day": ("day", 1),
    "hour": ("hour", 1),
    "minute": ("minute", 1),
    "second": ("second", 1),
    "millisecond": ("millisecond", 1),
}


def add(value: Temporal, amount: int, unit: str) -> Temporal:
    """``value + amount unit`` for a calendar unit (``year`` … ``millisecond``); the precision is kept."""
    field, factor = _ADD_UNITS[unit]
    amount *= factor
    names = value.names()
    p = list(value.parts)
    if value.kind == "time":
        full = p + [0] * (4 - len(p))
        ms = ((full[0] * 60 + full[1]) * 60 + full[2]) * 1000 + full[3]
        step = {"hour": 3_600_000, "minute": 60_000, "second": 1000, "millisecond": 1}.get(field)
        if step is None:
            raise ValueError(f"cannot add {unit} to a time")
        ms = (ms + amount * step) % 86_400_000
        new = [ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60, ms % 1000]
        return Temporal("time", tuple(new[: len(p)]), None, value.frac_digits)
    if field in ("year", "month"):
        months = p[0] * 12 + (p[1] - 1 if len(p) > 1 else 0) + (amount * 12 if field == "year" else amount)
        p[0] = months // 12
        if len(p) > 1:
            p[1] = months % 12 + 1
        if len(p) > 2:
            p[2] = min(p[2], calendar.monthrange(p[0], p[1])[1])
        if not 1 <= p[0] <= 9999:
            raise ValueError("date out of range")
        return Temporal(value.kind, tuple(p), value.tz, value.frac_digits)
    index = names.index(field)
    if index >= len(p):
        # Below the value's precision: convert to its finest unit, dropping the remainder.
        seconds_per = {"day": 86400, "hour": 3600, "minute": 60, "second": 1, "millisecond": 0.001}
        finest = names[len(p) - 1]
        if finest in ("year", "month"):
            return value
        amount = int(amount * seconds_per[field] / seconds_per[finest])
        field = finest
    full = [*p, *[0, 1, 1, 0, 0, 0, 0][len(p) :]]  # missing month/day are 1, missing time parts 0
    moment = datetime(full[0], full[1], full[2], full[3], full[4], full[5], full[6] * 1000)
    delta = {
        "day": timedelta(days=amount),
        "hour": timedelta(hours=amount),
        "minute": timedelta(minutes=amount),
        "second": timedelta(seconds=amount),
        "millisecond": timedelta(milliseconds=amount),
    }[field]
    moment += delta
    new = [moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second]
    new.append(moment.microsecond // 1000)
    return Temporal(value.kind, tuple(new[: len(p)]), value.tz, value.frac_digits)


def boundary(value: Temporal, precision: int | None, high: bool) -> Temporal | None:
    """lowBoundary()/highBoundary(): the earliest or latest value the partial one could be.

    ``precision`` counts digits: 4/6/8 (date), 10/12/14/17 (dateTime), 2/4/6/9 (time). An unsupported
    precision gives ``None`` (an empty result).
    """
    if value.kind == "time":
        digits_to_parts = {2: 1, 4: 2, 6: 3, 9: 4}
        default = 9
    elif value.kind == "date":
        digits_to_parts = {4: 1, 6: 2, 8: 3}
        default = 8
    else:
        digits_to_parts = {4: 1, 6: 2, 8: 3, 10: 4, 12: 5, 14: 6, 17: 7}
        default = 17
    count = digits_to_parts.get(precision if precision is not None else default)
    if count is None:
        return None
    p = list(value.parts)
    if value.kind == "time":
        fill_low, fill_high = [0, 0, 0, 0], [23, 59, 59, 999]
    else:
        fill_low = [1, 1, 1, 0, 0, 0, 0]
        fill_high = [9999, 12, 0, 23, 59, 59, 999]
    out = p[:count]
    for i in range(len(out), count):
        if high:
            if value.kind != "time" and i == 2:
                out.append(calendar.monthrange(out[0], out[1])[1])
            else:
                out.append(fill_high[i])
        else:
            out.append(fill_low[i])
    tz = value.tz
    if value.kind == "dateTime" and count > 3 and tz is None:
        tz = -12 * 60 if high else 14 * 60
    kind: Kind = value.kind
    if kind == "dateTime" and count <= 3:
        kind = "date"
    return Temporal(kind, tuple(out), tz if count > 3 else None, 3)


def now() -> Temporal:
    """The current instant, with milliseconds and the local time zone offset."""
    moment = datetime.now(UTC).astimezone()
    offset = moment.utcoffset()
    tz = int(offset.total_seconds() // 60) if offset is not None else 0
    parts = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return Temporal("dateTime", (*parts, moment.microsecond // 1000), tz)


def today() -> Temporal:
    """Today's date in the local time zone."""
    moment = datetime.now(UTC).astimezone()
    return Temporal("date", (moment.year, moment.month, moment.day))


def time_of_day() -> Temporal:
    """The current local time, with milliseconds."""
    moment = datetime.now(UTC).astimezone()
    return Temporal("time", (moment.hour, moment.minute, moment.second, moment.microsecond // 1000))
