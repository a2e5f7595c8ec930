"""Data-quality rules and the cleansing at ingest (``HUITONG_QUALITY__…``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class QualitySettings(BaseModel):
    """Data-quality rules (thresholds that differ between hospitals and evaluation years)."""

    cleanse_at_ingest: bool = Field(
        default=True,
        description=(
            "Run the resource rules on every HL7 message's resources before they are stored, and fix what is safe "
            "to fix (lab units to the dictionary's, names, `meta.source`); the findings are kept with the message."
        ),
    )
    quarantine_at_ingest: bool = Field(
        default=False,
        description=(
            "Hold back a message whose resources still break an error-severity rule after the fixes: it is not "
            "stored, but kept as a dead letter with the findings, for correction at the source and replay."
        ),
    )
    dictionaries_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of the hospital's dictionaries (diagnoses.csv, procedures.csv, lab_tests.csv; see "
            "docs/quality.md) that validity rules and ingest cleansing check against; unset: shapes only."
        ),
    )
    result_turnaround_hours: float = Field(
        default=24.0, gt=0, description="A lab result must be reported within this many hours of specimen collection."
    )
    turnaround_tolerance: float = Field(
        default=2.0,
        gt=0,
        description=(
            "A lab result with a stated turnaround in the lab dictionary is late when reported more than this "
            "multiple of it after collection (and never before result_turnaround_hours)."
        ),
    )
    order_result_grace_hours: float = Field(
        default=72.0, gt=0, description="A lab order older than this without any result is an open loop."
    )
    frontpage_days: int = Field(
        default=7,
        ge=1,
        description=(
            "The inpatient front page must be completed within this many days of discharge (judged by its "
            "quality-control date, ZKRQ: rule frontpage-completed-in-time)."
        ),
    )
    future_tolerance_minutes: int = Field(
        default=10, ge=0, description="Clock skew tolerated before a timestamp counts as in the future."
    )
    batch_workers: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Processes checking a batch run (`huitong quality run`), the run's own included: the scan is split by "
            "resource type and key range, each process with its own database connection; unset: the number of "
            "CPUs. 1 runs in-process."
        ),
    )
