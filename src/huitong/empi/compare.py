"""Comparisons: how two records agree, field by field, as levels of the Fellegi–Sunter model.

Each level's condition is written once, as a small expression (:class:`Expr`), and rendered two ways:
as the SQL that Splink runs in batch (DuckDB or Spark) and as a Python predicate that the real-time matcher
evaluates in-process. Python follows SQL's three-valued logic (a comparison with NULL is unknown, and an
unknown condition does not select its level), so both paths put every pair in the same level and therefore
give the same score. Only functions that DuckDB, Spark and Python compute identically are used:
equality, ``levenshtein`` on ASCII strings and ``substr``.

The default m and u of each level are the hand-set model used before training (``model.default_model``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from huitong.empi._conditions import (
    BothTrue,
    EitherNull,
    Expr,
    Same,
    SameSlice,
    Swapped,
    Within,
    levenshtein,
    within_edits,
)
from huitong.empi.normalise import NormalisedRecord

__all__ = ["COMPARISONS", "Comparison", "Level", "levenshtein", "within_edits"]


@dataclass(frozen=True)
class Level:
    """One comparison level: a label, its condition (``None`` for the final "else" level) and default m/u."""

    label: str
    condition: Expr | None
    m: float
    u: float
    is_null: bool = False

    def sql(self) -> str:
        return "ELSE" if self.condition is None else self.condition.sql()

    def holds(self, left: NormalisedRecord, right: NormalisedRecord) -> bool:
        return self.condition is None or self.condition.test(left, right) is True


@dataclass(frozen=True)
class Comparison:
    """A field (or a few fields) compared level by level; the first level that holds is the pair's level."""

    name: str
    description: str
    levels: tuple[Level, ...]

    def level_of(self, left: NormalisedRecord, right: NormalisedRecord) -> int:
        """The index of the pair's level (Splink's gamma is ``len(levels) - 2 - index`` for non-null levels)."""
        for index, level in enumerate(self.levels):
            condition = level.condition  # Level.holds, inlined: this runs for every level of every candidate pair
            if condition is None or condition.test(left, right) is True:
                return index
        raise AssertionError("the last level of a comparison always holds")  # pragma: no cover

    def gamma(self, index: int) -> int:
        """Splink's comparison vector value of level ``index`` (null: -1, else: 0, best: highest)."""
        return -1 if self.levels[index].is_null else len(self.levels) - 1 - index


DIFFERENT_VALID_IDS_LABEL = "both valid, different"


def _null(column: str) -> Level:
    return Level("null", EitherNull(column), 1.0, 1.0, is_null=True)


NAME = Comparison(
    "name",
    "Name: characters, then toneless pinyin (homophones, traditional, pinyin-only), then near pinyin.",
    (
        _null("name_py"),
        Level("exact characters", Same("name"), 0.80, 0.0002),
        Level("exact pinyin", Same("name_py"), 0.15, 0.0003),
        Level(
            "same surname and initials, given name one edit",
            Same("surname_py") & Same("initials") & Within("given_py", 1),
            0.02,
            0.0005,
        ),
        Level("same given name, surname differs", Same("given_py"), 0.01, 0.001),
        Level("same initials", Same("initials"), 0.008, 0.003),
        Level("else", None, 0.012, 0.995),
    ),
)

BIRTH_DATE = Comparison(
    "birth_date",
    "Birth date: exact, one mistyped digit or day and month swapped, same year and month, else.",
    (
        _null("birth_date"),
        Level("exact", Same("birth_date"), 0.95, 0.00005),
        Level(
            "one digit or day/month swapped",
            Within("birth_date", 1) | (Same("birth_date", 4) & Swapped("birth_date", (6, 2), (9, 2))),
            0.03,
            0.0015,
        ),
        Level("else", None, 0.02, 0.998),
    ),
)

GENDER = Comparison(
    "gender",
    "Administrative gender.",
    (_null("gender"), Level("exact", Same("gender"), 0.99, 0.5), Level("else", None, 0.01, 0.5)),
)

ID_NUMBER = Comparison(
    "id_number",
    "Resident ID: exact; a check character fails and one or two characters differ (a typo or a transposition); "
    "both valid with the same division and sequence but another birth date; two different valid IDs.",
    (
        _null("id_number"),
        Level("exact", Same("id_number"), 0.95, 0.000001),
        Level("a check fails, two characters off", ~BothTrue("id_valid") & Within("id_number", 2), 0.03, 0.00001),
        Level(
            "valid, same division and sequence",
            BothTrue("id_valid") & SameSlice("id_number", 1, 6) & SameSlice("id_number", 15, 3),
            0.005,
            0.00005,
        ),
        Level(DIFFERENT_VALID_IDS_LABEL, BothTrue("id_valid"), 0.003, 0.98),
        Level("else", None, 0.012, 0.02),
    ),
)

PHONE = Comparison(
    "phone",
    "Phone: exact, one digit off, else.",
    (
        _null("phone"),
        Level("exact", Same("phone"), 0.80, 0.00001),
        Level("one digit", Within("phone", 1), 0.03, 0.0001),
        Level("else", None, 0.17, 0.9999),
    ),
)

ADDRESS = Comparison(
    "address",
    "Address: exact, same district, same city, else.",
    (
        _null("address"),
        Level("exact", Same("address"), 0.65, 0.0005),
        Level("same district", Same("district"), 0.15, 0.02),
        Level("same city", Same("city"), 0.10, 0.2),
        Level("else", None, 0.10, 0.78),
    ),
)

COMPARISONS: tuple[Comparison, ...] = (NAME, BIRTH_DATE, GENDER, ID_NUMBER, PHONE, ADDRESS)

#: Levels of the name comparison that mean "a different given name" (a twin or another household member).
GIVEN_NAME_DIFFERS = frozenset({"same initials", "else"})
#: The level of the ID comparison that means two different people (each valid ID belongs to one person).
DIFFERENT_VALID_IDS = DIFFERENT_VALID_IDS_LABEL


def level_is_sql(comparison: Comparison, labels: frozenset[str] | set[str]) -> str:
    """SQL true exactly when the pair's level of ``comparison`` is one of ``labels`` (as :meth:`level_of`).

    A level is selected when its condition holds and no earlier one does; a condition that is unknown
    (NULL) does not hold, hence ``coalesce(…, false)``.
    """
    options = []
    for index, level in enumerate(comparison.levels):
        if level.label not in labels:
            continue
        earlier = [f"NOT coalesce(({prev.sql()}), false)" for prev in comparison.levels[:index]]
        this = [] if level.condition is None else [f"coalesce(({level.sql()}), false)"]
        options.append("(" + " AND ".join(earlier + this or ["TRUE"]) + ")")
    return "(" + (" OR ".join(options) or "FALSE") + ")"


def comparison_levels(left: NormalisedRecord, right: NormalisedRecord) -> list[int]:
    """The level index of every comparison for one pair."""
    return [c.level_of(left, right) for c in COMPARISONS]


def splink_comparisons(comparisons: Sequence[Comparison] = COMPARISONS) -> list[dict[str, object]]:
    """The comparisons as Splink comparison dicts (without m/u; :mod:`~huitong.empi.model` adds those)."""
    return [
        {
            "output_column_name": c.name,
            "comparison_description": c.description,
            "comparison_levels": [
                {"sql_condition": level.sql(), "label_for_charts": level.label, "is_null_level": level.is_null}
                for level in c.levels
            ],
        }
        for c in comparisons
    ]
