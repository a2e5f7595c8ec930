"""Standardisation: one source record in, the comparable fields of that record out.

Every comparison, blocking key and survivorship rule reads a :class:`NormalisedRecord`, never raw input,
so the batch model (Splink) and the real-time matcher see exactly the same values. The rules are listed
in docs/empi.md; the name, phone and address rules live in :mod:`~huitong.empi.names`,
:mod:`~huitong.empi.phone` and :mod:`~huitong.empi.address`.

A valid resident ID (GB 11643) carries the birth date and sex; they fill in a record that lacks them. An
ID whose check character fails is kept (so that a typo can still be compared with the right number) but
marked ``id_valid = False``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from huitong.empi import resident_id
from huitong.empi.address import normalise_address
from huitong.empi.names import standardise_name
from huitong.empi.phone import normalise_phone

_MALE = frozenset({"m", "male", "男", "1", "man", "男性"})
_FEMALE = frozenset({"f", "female", "女", "2", "woman", "女性"})
_DATE_PARTS = re.compile(r"(\d{4})\D{0,2}(\d{1,2})\D{0,2}(\d{1,2})")
_ID_SHAPE = re.compile(r"\d{14,17}[\dX]")


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A patient as one source system registered it (the batch CSV row, or a Patient from HL7/FHIR)."""

    record_id: str
    source_system: str
    name: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_mapping(cls, row: dict[str, Any]) -> SourceRecord:
        """Build from a CSV row or JSON object with the batch input columns (missing ones are ``None``)."""

        def text(key: str) -> str | None:
            value = row.get(key)
            return None if value is None or str(value).strip() == "" else str(value)

        updated = row.get("updated_at")
        return cls(
            record_id=str(row["record_id"]),
            source_system=str(row.get("source_system") or ""),
            name=text("name"),
            gender=text("gender"),
            birth_date=text("birth_date"),
            id_number=text("id_number"),
            phone=text("phone"),
            address=text("address"),
            updated_at=datetime.fromisoformat(updated) if isinstance(updated, str) and updated else None,
        )

    @property
    def key(self) -> str:
        """The record's identity in the index: ``source_system|record_id``."""
        return f"{self.source_system}|{self.record_id}"


@dataclass(slots=True)
class NormalisedRecord:
    """The comparable fields of one record. Column names are those of the Splink model."""

    unique_id: str
    source_system: str
    name: str | None = None
    surname: str | None = None
    name_py: str | None = None
    surname_py: str | None = None
    given_py: str | None = None
    initials: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    id_number: str | None = None
    id_valid: bool = False
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    district: str | None = None

    def as_row(self) -> dict[str, Any]:
        """The record as a flat dict (a Splink input row)."""
        return asdict(self)


@lru_cache(maxsize=1024)
def normalise_gender(text: str | None) -> str | None:
    """``male``/``female`` (FHIR administrative gender) from the usual codes (M/F, 男/女, GB/T 2261.1 1/2)."""
    if not text:
        return None
    value = unicodedata.normalize("NFKC", text).strip().lower()
    if value in _MALE:
        return "male"
    if value in _FEMALE:
        return "female"
    return None


@lru_cache(maxsize=1 << 16)
def parse_birth_date(text: str | None) -> date | None:
    """A birth date from ``1980-01-02``, ``19800102``, ``1980/1/2`` or ``1980年1月2日``; ``None`` if not one."""
    if not text:
        return None
    value = unicodedata.normalize("NFKC", text).strip()
    found = _DATE_PARTS.match(value) if not value.isdigit() else None
    try:
        if value.isdigit() and len(value) == 8:
            return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        if found:
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None
    return None


@lru_cache(maxsize=1 << 20)
def normalise_id_number(text: str | None) -> tuple[str | None, resident_id.ResidentId | None]:
    """(standard form, parsed ID or ``None`` when invalid); a number of the wrong shape becomes ``None``."""
    if not text:
        return None, None
    number = resident_id.normalise(unicodedata.normalize("NFKC", text))
    try:
        parsed = resident_id.parse(number)
    except resident_id.ResidentIdError:
        return (number if _ID_SHAPE.fullmatch(number) else None), None
    return parsed.number, parsed


def normalise_record(record: SourceRecord) -> NormalisedRecord:
    """The standard form of ``record`` (see the module docstring)."""
    name = standardise_name(record.name)
    id_number, parsed_id = normalise_id_number(record.id_number)
    born = parse_birth_date(record.birth_date) or (parsed_id.birth_date if parsed_id else None)
    gender = normalise_gender(record.gender) or (parsed_id.gender if parsed_id else None)
    address = normalise_address(record.address)
    city = address.city or address.province if address else None
    return NormalisedRecord(
        unique_id=record.key,
        source_system=record.source_system,
        name=name.name if name else None,
        surname=name.surname if name else None,
        name_py=name.full_py or None if name else None,
        surname_py=name.surname_py or None if name else None,
        given_py=name.given_py or None if name else None,
        initials=name.initials or None if name else None,
        gender=gender,
        birth_date=born.isoformat() if born else None,
        id_number=id_number,
        id_valid=parsed_id is not None,
        phone=normalise_phone(record.phone),
        address=address.text if address else None,
        city=city,
        district=f"{city}{address.district}" if address and city and address.district else None,
    )
