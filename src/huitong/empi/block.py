"""Blocking: which pairs are compared at all.

Comparing every record with every other is impossible at hospital scale, so only pairs that share at least
one *blocking key* are scored. The keys are chosen so that a pair of records of one person still shares a
key when any one field is wrong or missing:

========================  ==========================================================================
key                       still finds the pair when …
========================  ==========================================================================
``id``                    the name, birth date, phone or address differs
``phone``                 the ID is missing or mistyped (PACS, LIS), the name is in pinyin
``dob_surname``           the ID and the phone are missing or wrong, the given name is mistyped
``name_year``             the ID and phone are missing, the birth day or month is mistyped
``given_dob``             the surname was read differently (曾 *ceng* / *zeng* in a pinyin-only name)
``name_district``         ID, birth date and phone are all missing (LIS and PACS registrations)
``dob_district``          the name is missing or a placeholder (a newborn registered as 王芳之子)
========================  ==========================================================================

Each key is one value (its parts joined with ``|``); the batch model blocks on the same expressions
(``block_on`` in Splink) and the index keeps one indexed column per key (``empi_record.k_<key>``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from huitong.empi.normalise import NormalisedRecord


@dataclass(frozen=True)
class BlockingKey:
    """A blocking key: its name, the SQL of its parts (``{s}`` stands for ``l`` or ``r``), the same in Python."""

    name: str
    sql: tuple[str, ...]
    parts: Callable[[NormalisedRecord], tuple[str | None, ...]]

    def splink_rule(self) -> str:
        """The blocking rule as Splink SQL: ``l.phone = r.phone`` and so on for every part."""
        return " AND ".join(f"{part.format(s='l')} = {part.format(s='r')}" for part in self.sql)

    @property
    def column(self) -> str:
        """The indexed column of ``empi_record`` that holds this key."""
        return f"k_{self.name}"

    def value(self, record: NormalisedRecord) -> str | None:
        """The key of ``record``, or ``None`` when any part is missing (the record is not blocked on it)."""
        parts = self.parts(record)
        if any(p is None or p == "" for p in parts):
            return None
        return "|".join(p for p in parts if p is not None)


def _year(record: NormalisedRecord) -> str | None:
    return record.birth_date[:4] if record.birth_date else None


BLOCKING_KEYS: tuple[BlockingKey, ...] = (
    BlockingKey("id", ("{s}.id_number",), lambda r: (r.id_number,)),
    BlockingKey("phone", ("{s}.phone",), lambda r: (r.phone,)),
    BlockingKey("dob_surname", ("{s}.birth_date", "{s}.surname_py"), lambda r: (r.birth_date, r.surname_py)),
    BlockingKey("name_year", ("{s}.name_py", "substr({s}.birth_date, 1, 4)"), lambda r: (r.name_py, _year(r))),
    BlockingKey("given_dob", ("{s}.given_py", "{s}.birth_date"), lambda r: (r.given_py, r.birth_date)),
    BlockingKey("name_district", ("{s}.name_py", "{s}.district"), lambda r: (r.name_py, r.district)),
    BlockingKey("dob_district", ("{s}.birth_date", "{s}.district"), lambda r: (r.birth_date, r.district)),
)


def blocking_values(record: NormalisedRecord) -> dict[str, str | None]:
    """``{column: key}`` for every blocking key of ``record``."""
    return {key.column: key.value(record) for key in BLOCKING_KEYS}
