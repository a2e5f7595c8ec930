"""The hospital's clock: China Standard Time (UTC+8, no daylight saving), in which pages show times, a "day" of
the ward or the outpatient clinic begins and ends, and a time typed into a form without an offset is read."""

from __future__ import annotations

from datetime import timedelta, timezone

CHINA = timezone(timedelta(hours=8))
