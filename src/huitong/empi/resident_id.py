"""Chinese resident identity numbers (居民身份证号码), GB 11643-1999.

Eighteen characters: a six-digit administrative division code, the birth date ``YYYYMMDD``, a three-digit
sequence whose last digit is odd for men and even for women, and a check character computed with
ISO 7064 MOD 11-2 (``0``–``9`` or ``X``). Fifteen-digit numbers issued before 1999 have no check
character and a two-digit year; :func:`upgrade_15` turns them into the 18-digit form.
"""

from __future__ import annotations

import operator
import re
import time
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_WEIGHT_SUM = sum(_WEIGHTS)
_CHECK = "10X98765432"
_SHAPE_18 = re.compile(r"[0-9]{17}[0-9X]")  # ASCII digits only: ``\d`` would also take other scripts' digits
_SHAPE_15 = re.compile(r"[0-9]{15}")


class ResidentIdError(ValueError):
    """The string is not a valid resident identity number; the message says why."""


def check_character(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ResidentIdError("the check character needs exactly 17 digits")
    digits = first17.encode("ascii")
    total = sum(map(operator.mul, digits, _WEIGHTS)) - 48 * _WEIGHT_SUM  # ord(d) - 48 is the digit
    return _CHECK[total % 11]


_FOLD = str.maketrans("０１２３４５６７８９ｘＸx", "0123456789XXX")
_SEPARATORS = re.compile(r"[\s\-]")


def normalise(text: str) -> str:
    """Upper-case, strip spaces and full-width characters that people type (``ｘ`` → ``X``)."""
    return _SEPARATORS.sub("", text).translate(_FOLD)


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A valid 18-character number with what it encodes."""

    number: str
    division: str
    birth_date: date
    sequence: str

    @property
    def gender(self) -> str:
        """``male`` or ``female`` (FHIR administrative gender), from the parity of the sequence."""
        return "male" if int(self.sequence[-1]) % 2 == 1 else "female"


def parse(text: str, *, today: date | None = None) -> ResidentId:
    """Parse and check an 18-character number; raises :class:`ResidentIdError` saying what is wrong."""
    number = normalise(text)
    if _SHAPE_15.fullmatch(number):
        number = upgrade_15(number)
    if not _SHAPE_18.fullmatch(number):
        raise ResidentIdError("expected 17 digits followed by a digit or X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise ResidentIdError(f"characters 7–14 ({number[6:14]}) are not a valid birth date") from exc
    if born.year < 1880 or born > (today or current_date()):
        raise ResidentIdError(f"birth date {born.isoformat()} is not plausible")
    expected = check_character(number[:17])
    if number[17] != expected:
        raise ResidentIdError(f"check character is {number[17]}, expected {expected}")
    return ResidentId(number, number[:6], born, number[14:17])


class _Today:
    """Today's date, looked up at most once a minute (``date.today()`` is a system call)."""

    value = date.min
    expires = -1.0


def current_date() -> date:
    """Today's date, at most a minute old (shared with the quality rules that parse resident IDs)."""
    now = time.monotonic()
    if now > _Today.expires:
        _Today.value, _Today.expires = date.today(), now + 60.0
    return _Today.value


def is_valid(text: str) -> bool:
    """Whether ``text`` is a valid resident identity number."""
    try:
        parse(text)
    except ResidentIdError:
        return False
    return True


def upgrade_15(number: str) -> str:
    """The 18-character form of a 15-digit number (born in the 1900s, as all 15-digit holders were)."""
    if not _SHAPE_15.fullmatch(number):
        raise ResidentIdError("expected 15 digits")
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_character(first17)


def build(division: str, birth_date: date, sequence: int, gender: str) -> str:
    """A valid number for a division, birth date and sequence (1–499); the last sequence digit follows gender."""
    if len(division) != 6 or not division.isdigit():
        raise ResidentIdError("the division code has six digits")
    if not 0 <= sequence <= 499:
        raise ResidentIdError("sequence must be 0–499 (it is doubled to carry the gender)")
    seq = sequence * 2 + (1 if gender == "male" else 0)
    first17 = f"{division}{birth_date:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)
