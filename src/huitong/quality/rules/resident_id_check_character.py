"""Validity: resident identity numbers carry a correct GB 11643 check character and birth date."""

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from huitong.empi.resident_id import ResidentId, ResidentIdError, check_character, current_date, parse
from huitong.identifiers import RESIDENT_ID_SYSTEMS
from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

RESIDENT_ID_TYPES = {"NNCHN", "RI", "01"}


def type_codes(ident: dict[str, Any]) -> set[Any]:
    """The codes of an identifier's type (``PI``, ``MR``, ``NNCHN`` …)."""
    return {c.get("code") for c in ((ident.get("type") or {}).get("coding") or ()) if isinstance(c, dict)}


def resident_ids(patient: dict[str, Any]) -> list[str]:
    """The resident identity numbers among a Patient's identifiers (by system, or by type code)."""
    found: list[str] = []
    for ident in patient.get("identifier") or ():
        if not isinstance(ident, dict):
            continue
        value = ident.get("value")
        if isinstance(value, str) and (ident.get("system") in RESIDENT_ID_SYSTEMS or _typed(ident)):
            found.append(value)
    return found


def _typed(ident: dict[str, Any]) -> bool:
    """Whether an identifier's type names a resident ID (what ``type_codes`` tells, without building the set)."""
    for coding in (ident.get("type") or {}).get("coding") or ():
        if isinstance(coding, dict) and coding.get("code") in RESIDENT_ID_TYPES:
            return True
    return False


#: A resident ID of a patient with what parsing it gave: the number, or why it is not valid.
Reading = tuple[str, ResidentId | str]


def readings(patient: dict[str, Any]) -> list[Reading]:
    """Each resident identity number of a patient, parsed: what the three rules about resident IDs read. The
    parse is cached per number and day, so the rules running one after the other on a patient parse each
    number once between them."""
    numbers = resident_ids(patient)
    if not numbers:
        return []
    on = current_date()
    return [(number, _parsed(number, on)) for number in numbers]


def parsed(number: str) -> ResidentId | str:
    """``number`` parsed, or why it is not valid. Cached per day: the two rules about resident IDs read the same
    patient's numbers one after the other."""
    return _parsed(number, current_date())


@lru_cache(maxsize=256)
def _parsed(number: str, on: date) -> ResidentId | str:
    valid = _valid_as_written(number, on)
    if valid is not None:
        return valid
    try:
        return parse(number, today=on)
    except ResidentIdError as exc:
        return str(exc)


def _valid_as_written(number: str, on: date) -> ResidentId | None:
    """A number already in the normal form — 17 ASCII digits and a digit or ``X``, nothing for ``normalise`` to
    change — with a plausible birth date and the right check character: what ``parse`` gives it, without its
    normalising and pattern matching (most numbers). ``None`` for anything else, which ``parse`` then judges."""
    if len(number) != 18 or not number.isascii() or not number[:17].isdigit() or number[17] not in _LAST:
        return None
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    if born.year < 1880 or born > on or number[17] != check_character(number[:17]):
        return None
    return ResidentId(number, number[:6], born, number[14:17])


_LAST = frozenset("0123456789X")


def check(patient: dict[str, Any], _ctx: Context) -> Sequence[str]:
    found = readings(patient)
    if not found:
        return ()
    return [f"resident ID {number[:6]}…{number[-2:]}: {rid}" for number, rid in found if isinstance(rid, str)]


RULE = ResourceRule(
    "resident-id-check-character",
    Dimension.VALIDITY,
    Severity.ERROR,
    "身份证号校验 Resident ID valid",
    "Resident identity numbers are 18 characters with a valid birth date and GB 11643 "
    "(ISO 7064 MOD 11-2) check character.",
    ("Patient",),
    check,
    needs_patients=False,
    fields=("identifier",),
)
