"""Validity: resident identity numbers carry a correct GB 11643 check character and birth date."""

from collections.abc import Iterator
from typing import Any

from huitong.empi.resident_id import ResidentIdError, parse
from huitong.quality.rule import Context, Dimension, ResourceRule, Severity

RESIDENT_ID_SYSTEMS = {"urn:oid:2.16.156.10011.1.3", "urn:oid:1.2.156.112606.1.1.1"}
RESIDENT_ID_TYPES = {"NNCHN", "RI", "01"}


def resident_ids(patient: dict[str, Any]) -> Iterator[str]:
    """The resident identity numbers among a Patient's identifiers."""
    for ident in patient.get("identifier") or []:
        if not isinstance(ident, dict) or not isinstance(ident.get("value"), str):
            continue
        codes = {c.get("code") for c in ((ident.get("type") or {}).get("coding") or []) if isinstance(c, dict)}
        if ident.get("system") in RESIDENT_ID_SYSTEMS or codes & RESIDENT_ID_TYPES:
            yield ident["value"]


def check(patient: dict[str, Any], _ctx: Context) -> Iterator[str]:
    for number in resident_ids(patient):
        try:
            parse(number)
        except ResidentIdError as exc:
            yield f"resident ID {number[:6]}…{number[-2:]}: {exc}"


RULE = ResourceRule(
    "resident-id-check-character",
    Dimension.VALIDITY,
    Severity.ERROR,
    "身份证号校验 Resident ID valid",
    "Resident identity numbers are 18 characters with a valid birth date and GB 11643 "
    "(ISO 7064 MOD 11-2) check character.",
    ("Patient",),
    check,
)
