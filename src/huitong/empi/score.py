"""Scoring one pair of records with the model, exactly as Splink's ``predict`` does.

The match weight is the prior plus each comparison's level weight, added in the order of
:data:`~huitong.empi.compare.COMPARISONS` (Splink's SQL adds the same terms in the same order, so the
floating-point result is the same); the probability is ``1 / (1 + 2^-w)`` (``2^w / (1 + 2^w)`` for w < 0).

The score also says which field agreed at which level and with what weight (the evidence shown to a
reviewer), and whether the pair looks like two members of one household — same surname, birth date,
phone or address but a different given name and no shared ID number (twins, the main source of false links
in a hospital), or two different valid ID numbers. Such a pair is never linked (:func:`is_household_conflict`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from huitong.empi.compare import (
    COMPARISONS,
    DIFFERENT_VALID_IDS,
    GIVEN_NAME_DIFFERS,
    ID_NUMBER,
    NAME,
    comparison_levels,
)
from huitong.empi.model import Model
from huitong.empi.normalise import NormalisedRecord
from huitong.empi.protect import UNEQUAL

_NAME_INDEX = COMPARISONS.index(NAME)
_ID_INDEX = COMPARISONS.index(ID_NUMBER)


@dataclass(frozen=True)
class Evidence:
    """How one comparison came out for a pair."""

    comparison: str
    level: str
    gamma: int
    weight: float
    left: str | None
    right: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "comparison": self.comparison,
            "level": self.level,
            "gamma": self.gamma,
            "weight": round(self.weight, 4),
            "agrees": self.weight > 0,
            "left": self.left,
            "right": self.right,
        }


@dataclass(frozen=True)
class PairScore:
    """The model's verdict on one pair. The evidence is built when asked for (most candidates never are)."""

    match_weight: float
    match_probability: float
    household_conflict: bool
    different_valid_ids: bool = False
    levels: tuple[int, ...] = ()
    pair: tuple[Model, NormalisedRecord, NormalisedRecord] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def evidence(self) -> tuple[Evidence, ...]:
        """Field by field: the level reached, its weight and both values."""
        if self.pair is None:
            return ()
        model, left, right = self.pair
        return tuple(
            Evidence(
                comparison.name,
                trained[index].label,
                comparison.gamma(index),
                trained[index].weight,
                _display(left, comparison.name),
                _display(right, comparison.name),
            )
            for comparison, index, trained in zip(COMPARISONS, self.levels, model.levels, strict=True)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "match_weight": self.match_weight,
            "match_probability": self.match_probability,
            "household_conflict": self.household_conflict,
            "evidence": [e.as_dict() for e in self.evidence],
        }


def probability_from_weight(weight: float) -> float:
    """Splink's numerically stable conversion of a match weight to a probability."""
    if weight >= 0:
        return 1.0 / (1.0 + math.pow(2.0, -weight))
    power = math.pow(2.0, weight)
    return power / (1.0 + power)


def _display(record: NormalisedRecord, comparison: str) -> str | None:
    if comparison == "name":
        return record.name or record.name_py
    value = getattr(record, comparison, None)
    return None if value is None or value == UNEQUAL else str(value)


def is_household_conflict(levels: list[int], left: NormalisedRecord, right: NormalisedRecord) -> bool:
    """The twin and household rule: never link such a pair automatically.

    Either the given names differ (twins, siblings, parent and child share surname, phone, address and for
    twins the birth date) and the ID numbers are not the same, or both records carry a *valid* resident ID
    and the two IDs differ (a valid ID belongs to one person only; a mistyped one fails its check).
    """
    name_label = NAME.levels[levels[_NAME_INDEX]].label
    id_label = ID_NUMBER.levels[levels[_ID_INDEX]].label
    if id_label == DIFFERENT_VALID_IDS:
        return True
    return name_label in GIVEN_NAME_DIFFERS and bool(left.given_py and right.given_py) and id_label != "exact"


def score_pair(model: Model, left: NormalisedRecord, right: NormalisedRecord) -> PairScore:
    """Score ``left`` against ``right`` (see the module docstring)."""
    levels = comparison_levels(left, right)
    weight = model.prior_weight
    for index, trained in zip(levels, model.levels, strict=True):
        weight += trained[index].weight  # in the order of COMPARISONS, as Splink adds them
    different_ids = ID_NUMBER.levels[levels[_ID_INDEX]].label == DIFFERENT_VALID_IDS
    return PairScore(
        weight,
        probability_from_weight(weight),
        is_household_conflict(levels, left, right),
        different_ids,
        tuple(levels),
        (model, left, right),
    )
