"""What a data-quality rule is.

Dimensions follow the EMR application level evaluation (电子病历系统应用水平分级评价): consistency 一致性,
completeness 完整性, integration 整合性, timeliness 及时性 — plus validity (codes, check characters, units), which the
national front-page checks treat on its own. A rule is one module in ``huitong/quality/rules/`` declaring ``RULE``.

Two shapes:

* :class:`ResourceRule` looks at one resource at a time (with the run's :class:`Context`, which knows each
  patient's sex and birth date), so it can run at ingest as well as in batch.
* :class:`SetRule` looks across resources (every order has its result, every result its order): it observes
  each resource of its types during a batch run and concludes at the end; its ``merge`` joins the states of
  parts of the scan observed in different worker processes, in scan order.
* :class:`RowRule` looks at one row of a tabular submission — the inpatient front page (病案首页) CSV the
  national upload takes — before it is imported (``huitong quality frontpage FILE``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from huitong.settings import QualitySettings


class Dimension(StrEnum):
    """The quality dimension a rule measures."""

    COMPLETENESS = "completeness"
    VALIDITY = "validity"
    CONSISTENCY = "consistency"
    INTEGRATION = "integration"
    TIMELINESS = "timeliness"


DIMENSION_ZH = {
    Dimension.COMPLETENESS: "完整性",
    Dimension.VALIDITY: "规范性",
    Dimension.CONSISTENCY: "一致性",
    Dimension.INTEGRATION: "整合性",
    Dimension.TIMELINESS: "及时性",
}


class Severity(StrEnum):
    """How bad a finding is: ``error`` blocks use of the record (quarantine at ingest), ``warning`` flags it."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule failing on one resource."""

    rule_id: str
    res_type: str
    res_id: str
    detail: str
    source: str = "unknown"


#: The elements every batch run decodes, whatever its rules declare: the id and type, and ``meta`` (the source
#: system, which each finding names).
ALWAYS_DECODED = ("resourceType", "id", "meta")
#: The elements :meth:`Context.patient_of` reads: a rule that calls it declares these among its ``fields``.
PATIENT_REFERENCE = ("subject", "patient")


@dataclass(slots=True)
class PatientFacts:
    """What rules about diagnoses need to know of a patient."""

    gender: str | None
    birth_date: date | None


@dataclass(frozen=True)
class Catalogues:
    """The hospital's dictionaries that validity rules check codes against; empty ones mean "check the shape
    only" (see :mod:`huitong.quality.dictionaries`)."""

    icd10: frozenset[str] = frozenset()
    icd9cm3: frozenset[str] = frozenset()
    #: LOINC code → the UCUM unit the laboratory reports it in.
    lab_units: dict[str, str] = field(default_factory=dict)
    #: LOINC code → (another UCUM unit some analysers send, factor: value in that unit = value × factor).
    lab_alt_units: dict[str, tuple[str, float]] = field(default_factory=dict)
    #: Local lab test (panel) code → its stated turnaround in minutes, collection to report.
    lab_turnaround: dict[str, int] = field(default_factory=dict)


@dataclass
class Context:
    """Shared by all rules of one run."""

    settings: QualitySettings
    patients: dict[str, PatientFacts] = field(default_factory=dict)
    catalogues: Catalogues = field(default_factory=Catalogues)

    def patient_of(self, resource: dict[str, Any]) -> PatientFacts | None:
        """The facts of the patient a resource is about (``subject`` or ``patient`` reference)."""
        ref = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
        if isinstance(ref, str) and ref.startswith("Patient/"):
            return self.patients.get(ref.removeprefix("Patient/"))
        return None


@dataclass(frozen=True)
class ResourceRule:
    """A rule about one resource at a time."""

    id: str
    dimension: Dimension
    severity: Severity
    title: str
    description: str
    reads: tuple[str, ...]
    check: Callable[[dict[str, Any], Context], Iterable[str]]  # yields a detail per failure
    #: Whether ``check`` reads other resources' patients (``Context.patient_of``, ``Context.patients``). A batch
    #: run checks such a rule after its pass over the store, once every patient has been seen; the others check
    #: each resource as it is read.
    needs_patients: bool = True
    #: The top-level elements of the resource that ``check`` reads (``None``: it may read any). A batch run
    #: decodes only the elements its rules read of each type (see :data:`ALWAYS_DECODED`).
    fields: tuple[str, ...] | None = None
    #: For a rule that reads patients' facts: whether ``check`` could find anything in the resource, whatever the
    #: patient's facts (a cheap test of ``fields`` alone, e.g. "has a sex-specific code"). A batch run keeps only
    #: such resources for the check after its pass, instead of every resource of the type (``None``: every one).
    #: It must never say no where some patient's facts would make ``check`` fail the resource.
    candidate: Callable[[dict[str, Any]], bool] | None = None


@dataclass(frozen=True)
class SetRule:
    """A rule across resources: ``observe`` each resource of ``reads``, then ``conclude``."""

    id: str
    dimension: Dimension
    severity: Severity
    title: str
    description: str
    reads: tuple[str, ...]
    start: Callable[[Context], Any]
    observe: Callable[[Any, dict[str, Any]], None]
    #: (res_type, res_id, detail), or (res_type, res_id, detail, source) when the state kept the resource's source
    #: system (``meta.source``, :func:`source_of`); the run looks up the others' after the scan
    conclude: Callable[[Any], Iterable[tuple[str, str, str] | tuple[str, str, str, str]]]
    #: Fold the state of a later part of the scan into the state of an earlier one and return it, so that a
    #: batch run can split the scan over worker processes. A set rule without it makes the run use one process.
    merge: Callable[[Any, Any], Any] | None = None
    #: The top-level elements of the resources that ``observe`` reads (``None``: it may read any), as for
    #: :attr:`ResourceRule.fields`.
    fields: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RowRule:
    """A rule about one row of a tabular submission (``reads`` names the table, e.g. ``frontpage``)."""

    id: str
    dimension: Dimension
    severity: Severity
    title: str
    description: str
    reads: tuple[str, ...]
    check: Callable[[dict[str, str], Context], Iterable[str]]  # yields a detail per failure


Rule = ResourceRule | SetRule | RowRule


def source_of(resource: dict[str, Any]) -> str:
    """The source system that sent a resource (``meta.source``), or ``unknown``."""
    meta = resource.get("meta") or {}
    source = meta.get("source") if isinstance(meta, dict) else None
    return source if isinstance(source, str) and source else "unknown"
