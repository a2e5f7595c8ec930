"""Time inside the generator: integer seconds since 1 January of the generated year, local time (UTC+8).

Formatting dates is the generator's hottest path after string building, so :class:`Clock` precomputes the
date part of every day the data can touch and the time-of-day part of every minute, and formats a timestamp
by concatenating two table entries.
"""

from __future__ import annotations

import calendar
import datetime as dt

DAY = 86_400
HOUR = 3_600
MINUTE = 60
#: How far before 1 January a stay discharged in the year may have started (days).
LOOKBACK_DAYS = 400
#: How far after 31 December events may lie (late results, follow-up messages), in days.
LOOKAHEAD_DAYS = 60
TZ = "+08:00"


class Clock:
    """Formats generator timestamps (seconds since ``year``-01-01T00:00 local) for HL7, FHIR and CSV."""

    def __init__(self, year: int) -> None:
        self.year = year
        self.epoch = dt.date(year, 1, 1)
        self.days_in_year = 366 if calendar.isleap(year) else 365
        self.end = self.days_in_year * DAY
        first = self.epoch - dt.timedelta(days=LOOKBACK_DAYS)
        count = LOOKBACK_DAYS + self.days_in_year + LOOKAHEAD_DAYS
        days = [first + dt.timedelta(days=i) for i in range(count)]
        self._hl7_day = [d.strftime("%Y%m%d") for d in days]
        self._iso_day = [d.isoformat() for d in days]
        self._month = [d.month if d.year == year else 0 for d in days]
        self._weekday = [d.weekday() for d in days]
        self._hl7_min = [f"{m // 60:02d}{m % 60:02d}" for m in range(1440)]
        self._iso_min = [f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)]
        self._sec = [f"{s:02d}" for s in range(60)]

    def _split(self, t: int) -> tuple[int, int, int]:
        day, rest = divmod(t, DAY)
        minute, sec = divmod(rest, MINUTE)
        return day + LOOKBACK_DAYS, minute, sec

    def hl7(self, t: int) -> str:
        """``YYYYMMDDHHMMSS``."""
        d, m, s = self._split(t)
        return self._hl7_day[d] + self._hl7_min[m] + self._sec[s]

    def hl7_date(self, t: int) -> str:
        """``YYYYMMDD``."""
        return self._hl7_day[t // DAY + LOOKBACK_DAYS]

    def iso(self, t: int) -> str:
        """``YYYY-MM-DD HH:MM:SS`` (CSV)."""
        d, m, s = self._split(t)
        return f"{self._iso_day[d]} {self._iso_min[m]}:{self._sec[s]}"

    def fhir(self, t: int) -> str:
        """FHIR ``dateTime`` with the +08:00 offset."""
        d, m, s = self._split(t)
        return f"{self._iso_day[d]}T{self._iso_min[m]}:{self._sec[s]}{TZ}"

    def iso_date(self, t: int) -> str:
        """``YYYY-MM-DD``."""
        return self._iso_day[t // DAY + LOOKBACK_DAYS]

    def date(self, t: int) -> dt.date:
        """The calendar date of ``t``."""
        return self.epoch + dt.timedelta(days=t // DAY)

    def month(self, t: int) -> int:
        """Month 1–12 of ``t`` if it lies in the generated year, else 0."""
        return self._month[t // DAY + LOOKBACK_DAYS]

    def weekday(self, day: int) -> int:
        """Weekday (Monday 0) of day index ``day`` (days since 1 January)."""
        return self._weekday[day + LOOKBACK_DAYS]

    def day_of(self, when: dt.date) -> int:
        """Day index (days since 1 January) of a date."""
        return (when - self.epoch).days

    def days_in_month(self, month: int) -> int:
        """Number of days in ``month`` of the generated year."""
        return calendar.monthrange(self.year, month)[1]


def bed_days(admit: int, discharge: int) -> int:
    """Bed-days of a stay as the front page counts them: calendar days between the dates, at least 1."""
    return max(1, discharge // DAY - admit // DAY)
