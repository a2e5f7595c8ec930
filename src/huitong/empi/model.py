"""The Fellegi–Sunter model and its artefact: one JSON file, readable by people and by Splink.

The artefact wraps the settings dictionary that Splink itself saves (``Linker.misc.save_model_to_json``:
comparisons with each level's SQL, label, m and u probability; the prior; the blocking rules) with a little
of our own metadata::

    {
      "format": "huitong-empi-model",
      "format_version": 1,
      "model_version": "2026-12-01T08:30:00Z-3f9c2a1b",
      "trained": {"records": 1000000, "seconds": 41.2, "method": "splink-em", "splink": "5.0.0"},
      "splink_settings": { … exactly what Splink saved … }
    }

:func:`load_model` checks that every comparison and level of the artefact is the one this code defines
(same label, same SQL), so a model trained by an older version cannot be applied to different comparisons.
Match weights follow Splink: ``log2(max(m, 1e-300) / max(u, 1e-300))`` per level, 0 for a null level,
plus the prior ``log2(λ / (1 - λ))``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huitong.empi.block import BLOCKING_KEYS
from huitong.empi.compare import COMPARISONS, Comparison, splink_comparisons
from huitong.empi.errors import ModelError

FORMAT = "huitong-empi-model"
FORMAT_VERSION = 1
_CLAMP = 1e-300


@dataclass(frozen=True)
class LevelWeight:
    """A trained level: its label, m and u probabilities and match weight (log2 Bayes factor)."""

    label: str
    m: float
    u: float
    weight: float
    is_null: bool


@dataclass(frozen=True)
class Model:
    """Trained weights for :data:`~huitong.empi.compare.COMPARISONS`, in the same order."""

    probability_two_random_records_match: float
    levels: tuple[tuple[LevelWeight, ...], ...]
    model_version: str
    trained: dict[str, Any] = field(default_factory=dict)
    splink_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def prior_weight(self) -> float:
        """``log2(λ / (1 - λ))``: the match weight of a pair before any field is compared."""
        p = self.probability_two_random_records_match
        return math.log2(p / (1 - p))

    def to_artefact(self) -> dict[str, Any]:
        """The JSON-ready artefact (see the module docstring)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_version": self.model_version,
            "trained": self.trained,
            "splink_settings": self.splink_settings,
        }

    def save(self, path: Path) -> None:
        """Write the artefact (pretty-printed, UTF-8) to ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_artefact(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def level_weight(m: float, u: float, *, is_null: bool) -> float:
    """A level's match weight as Splink computes it."""
    if is_null:
        return 0.0
    return math.log2(max(m, _CLAMP) / max(u, _CLAMP))


def blocking_rules_sql() -> list[str]:
    """The prediction blocking rules as Splink SQL (``l.x = r.x AND …``), one per blocking key."""
    return [key.splink_rule() for key in BLOCKING_KEYS]


def splink_settings(
    comparisons: tuple[Comparison, ...] = COMPARISONS, *, prior: float = 1e-6, with_m_u: bool = True
) -> dict[str, Any]:
    """A Splink settings dict for our comparisons and blocking rules (m/u from the level defaults if asked)."""
    comps = splink_comparisons(comparisons)
    if with_m_u:
        for comp, definition in zip(comps, comparisons, strict=True):
            for level_dict, level in zip(comp["comparison_levels"], definition.levels, strict=True):  # type: ignore[call-overload]
                if not level.is_null:
                    level_dict["m_probability"] = level.m
                    level_dict["u_probability"] = level.u
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "comparisons": comps,
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in blocking_rules_sql()
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": [],
    }


def new_model_version(settings: dict[str, Any]) -> str:
    """A sortable, unique version: UTC time and a hash of the weights."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}-{digest}"


def model_from_splink_settings(settings: dict[str, Any], *, trained: dict[str, Any] | None = None) -> Model:
    """Read the weights out of a Splink settings dict, checking it matches our comparisons.

    A level the training never saw (no m or u) takes its hand-set default; the returned model's
    ``splink_settings`` carries the values actually used, so Splink predicts with exactly these weights.
    """
    settings = copy.deepcopy(settings)
    saved = {c.get("output_column_name"): c for c in settings.get("comparisons", [])}
    levels: list[tuple[LevelWeight, ...]] = []
    for comparison in COMPARISONS:
        found = saved.get(comparison.name)
        if found is None:
            raise ModelError(f"the model has no comparison {comparison.name!r}; retrain it (huitong empi train)")
        saved_levels = found["comparison_levels"]
        if len(saved_levels) != len(comparison.levels):
            raise ModelError(f"comparison {comparison.name!r} has other levels than this version defines; retrain")
        weights = []
        for level, saved_level in zip(comparison.levels, saved_levels, strict=True):
            if _squash(saved_level.get("sql_condition", "")) != _squash(level.sql()):
                raise ModelError(
                    f"level {level.label!r} of {comparison.name!r} has different SQL in the model; retrain it"
                )
            is_null = bool(saved_level.get("is_null_level", False))
            m = u = 1.0
            if not is_null:
                m = _probability(saved_level.get("m_probability"), level.m)
                u = _probability(saved_level.get("u_probability"), level.u)
                saved_level["m_probability"], saved_level["u_probability"] = m, u
            weights.append(LevelWeight(level.label, m, u, level_weight(m, u, is_null=is_null), is_null))
        levels.append(tuple(weights))
    prior = float(settings.get("probability_two_random_records_match", 1e-6))
    if not 0 < prior < 1:
        raise ModelError(f"probability_two_random_records_match must be in (0, 1), not {prior}")
    return Model(prior, tuple(levels), new_model_version(settings), trained or {}, settings)


def _probability(value: object, default: float) -> float:
    if value is None:
        return default
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) and 0 <= number <= 1 else default


def _squash(sql: str) -> str:
    return " ".join(sql.split()).lower()


def default_model() -> Model:
    """The hand-set model (the level defaults in :mod:`~huitong.empi.compare`), used until one is trained."""
    settings = splink_settings()
    model = model_from_splink_settings(settings, trained={"method": "hand-set defaults"})
    return Model(model.probability_two_random_records_match, model.levels, "default", model.trained, settings)


def load_model(path: Path) -> Model:
    """Read and check an artefact written by :meth:`Model.save`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the EMPI model {path}: {exc}") from exc
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path} is not a version-{FORMAT_VERSION} {FORMAT} artefact")
    model = model_from_splink_settings(data["splink_settings"], trained=data.get("trained", {}))
    return Model(
        model.probability_two_random_records_match,
        model.levels,
        str(data.get("model_version", "unknown")),
        model.trained,
        data["splink_settings"],
    )
