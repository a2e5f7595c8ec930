"""What to generate: the scale (how many people and encounters), the seed, the year, defect and noise rates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from huitong.synth.errors import DefectConfigError, UnknownScaleError


@dataclass(frozen=True, slots=True)
class Scale:
    """Size of a generated data set. Shards are generated independently (and in parallel) from the seed."""

    name: str
    persons: int
    discharges: int
    visits: int
    shards: int
    #: Make sure every rare event (transfer, cancelled admission and discharge, update) occurs at least once.
    showcase: bool = False


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", persons=80, discharges=24, visits=240, shards=1, showcase=True),
    "small": Scale("small", persons=2_000, discharges=1_000, visits=8_000, shards=4),
    "hospital-year": Scale("hospital-year", persons=220_000, discharges=40_000, visits=600_000, shards=96),
}


def scale_named(name: str) -> Scale:
    """The scale called ``name``; raises :class:`UnknownScaleError` otherwise."""
    try:
        return SCALES[name]
    except KeyError:
        raise UnknownScaleError(f"unknown scale {name!r}; choose one of {', '.join(SCALES)}") from None


class DefectKind(StrEnum):
    """The data-quality defects the generator injects (and records in ``truth/defects.jsonl``)."""

    MISSING_MANDATORY = "missing_mandatory"
    INVALID_CODE = "invalid_code"
    DISCHARGE_BEFORE_ADMISSION = "discharge_before_admission"
    DIAGNOSIS_SEX_MISMATCH = "diagnosis_sex_mismatch"
    DIAGNOSIS_AGE_MISMATCH = "diagnosis_age_mismatch"
    ID_BIRTHDATE_MISMATCH = "id_birthdate_mismatch"
    INVALID_RESIDENT_ID = "invalid_resident_id"
    LATE_RESULT = "late_result"
    LATE_FRONTPAGE = "late_frontpage"
    ORDER_NEVER_RESULTED = "order_never_resulted"
    DUPLICATE_REGISTRATION = "duplicate_registration"
    UNIT_MISMATCH = "unit_mismatch"


#: Default share of eligible units that receive each defect (see docs/synth.md for the unit of each kind).
DEFAULT_DEFECT_RATES: dict[DefectKind, float] = {
    DefectKind.MISSING_MANDATORY: 0.01,
    DefectKind.INVALID_CODE: 0.01,
    DefectKind.DISCHARGE_BEFORE_ADMISSION: 0.003,
    DefectKind.DIAGNOSIS_SEX_MISMATCH: 0.003,
    DefectKind.DIAGNOSIS_AGE_MISMATCH: 0.003,
    DefectKind.ID_BIRTHDATE_MISMATCH: 0.003,
    DefectKind.INVALID_RESIDENT_ID: 0.005,
    DefectKind.LATE_RESULT: 0.01,
    DefectKind.LATE_FRONTPAGE: 0.01,
    DefectKind.ORDER_NEVER_RESULTED: 0.005,
    DefectKind.DUPLICATE_REGISTRATION: 0.01,
    DefectKind.UNIT_MISMATCH: 0.005,
}


@dataclass(frozen=True, slots=True)
class DefectRates:
    """Rate of each defect kind, 0–1. ``DefectRates()`` gives the defaults, ``DefectRates.none()`` none."""

    rates: dict[DefectKind, float] = field(default_factory=lambda: dict(DEFAULT_DEFECT_RATES))

    def __post_init__(self) -> None:
        for kind, rate in self.rates.items():
            if not isinstance(kind, DefectKind):
                raise DefectConfigError(f"unknown defect kind {kind!r}")
            if not 0.0 <= rate <= 1.0:
                raise DefectConfigError(f"rate of {kind} must lie in 0–1, got {rate}")

    @classmethod
    def none(cls) -> DefectRates:
        """No defects at all."""
        return cls({kind: 0.0 for kind in DefectKind})

    @classmethod
    def uniform(cls, rate: float) -> DefectRates:
        """The same rate for every kind (tests use a high rate to see every kind at tiny scale)."""
        return cls({kind: rate for kind in DefectKind})

    def rate(self, kind: DefectKind) -> float:
        """The rate of ``kind`` (0 when not given)."""
        return self.rates.get(kind, 0.0)

    def with_rates(self, overrides: dict[str, float]) -> DefectRates:
        """A copy with some rates replaced; keys are defect kind names."""
        merged = dict(self.rates)
        for name, rate in overrides.items():
            try:
                merged[DefectKind(name)] = rate
            except ValueError:
                known = ", ".join(k.value for k in DefectKind)
                raise DefectConfigError(f"unknown defect kind {name!r}; known: {known}") from None
        return replace(self, rates=merged)


@dataclass(frozen=True, slots=True)
class NoiseRates:
    """How each source system's registration of a person differs from the truth (not counted as defects,
    except invalid ID numbers, which are also recorded as ``invalid_resident_id`` defects)."""

    homophone: dict[str, float] = field(default_factory=lambda: {"his": 0.005, "lis": 0.03, "emr": 0.01})
    traditional: dict[str, float] = field(default_factory=lambda: {"emr": 0.02, "lis": 0.005})
    missing_id: dict[str, float] = field(default_factory=lambda: {"his": 0.02, "lis": 0.4, "pacs": 0.6, "emr": 0.05})
    missing_birth_date: dict[str, float] = field(default_factory=lambda: {"lis": 0.05, "pacs": 0.03})
    missing_phone: dict[str, float] = field(default_factory=lambda: {"lis": 0.5, "pacs": 0.3, "emr": 0.05})
    #: PACS transliterates polyphonic surnames with their common reading (曾 → CENG) this often.
    polyphone_misread: float = 0.3
    #: Share of persons who moved during the year (HIS updates the address; other systems may keep the old one).
    moved: float = 0.05
    #: Share of households whose members share one contact phone.
    shared_phone: float = 0.5
    #: Share of births that are twins.
    twins: float = 0.02


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """Everything that decides the generated data (equal configs give byte-identical output)."""

    scale: Scale
    seed: int
    year: int
    defects: DefectRates = field(default_factory=DefectRates)
    noise: NoiseRates = field(default_factory=NoiseRates)
