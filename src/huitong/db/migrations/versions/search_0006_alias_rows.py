"""FHIR search: no index rows of their own for parameters whose values other parameters' rows already hold
(Observation ``combo-code`` = ``code`` ∪ ``component-code``, ``patient`` = ``subject`` rows to a Patient, Patient
``phonetic`` = ``name``; see ``huitong.fhir.search.params.aliases``). The indexer stopped writing them; this
deletes the ones written before — about a fifth of an Observation's rows.

The list is frozen here as it was derived when this revision was written (R4 definitions), so the revision
means the same thing later.

Revision ID: search_0006
Revises: search_0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "search_0006"
down_revision: str | None = "search_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Index tables that hold parameter rows.
TABLES = (
    "search_token",
    "search_string",
    "search_date",
    "search_reference",
    "search_number",
    "search_uri",
    "search_composite",
)
ALIASED: dict[str, tuple[str, ...]] = {
    "Account": ("patient",),
    "Appointment": ("location", "patient", "practitioner"),
    "AppointmentResponse": ("location", "patient", "practitioner"),
    "Basic": ("patient",),
    "CapabilityStatement": ("version",),
    "CarePlan": ("patient",),
    "CareTeam": ("patient",),
    "ChargeItem": ("patient",),
    "ClinicalImpression": ("patient",),
    "CodeSystem": ("url",),
    "Communication": ("patient",),
    "CommunicationRequest": ("patient",),
    "Composition": ("patient",),
    "Condition": ("patient",),
    "Contract": ("patient",),
    "Coverage": ("patient",),
    "DeviceRequest": ("patient",),
    "DeviceUseStatement": ("subject",),
    "DiagnosticReport": ("patient",),
    "DocumentManifest": ("patient",),
    "DocumentReference": ("patient",),
    "Encounter": ("patient", "practitioner"),
    "EnrollmentRequest": ("subject",),
    "Flag": ("patient",),
    "Goal": ("patient",),
    "GuidanceResponse": ("patient",),
    "ImagingStudy": ("patient",),
    "Invoice": ("patient",),
    "Linkage": ("source",),
    "List": ("patient",),
    "MeasureReport": ("patient",),
    "Media": ("patient",),
    "MedicationAdministration": ("patient",),
    "MedicationDispense": ("patient",),
    "MedicationRequest": ("patient",),
    "MedicationStatement": ("patient",),
    "Observation": (
        "combo-code",
        "combo-code-value-concept",
        "combo-code-value-quantity",
        "combo-data-absent-reason",
        "combo-value-concept",
        "combo-value-quantity",
        "patient",
    ),
    "Patient": ("phonetic",),
    "Person": ("patient", "phonetic", "practitioner", "relatedperson"),
    "Practitioner": ("phonetic",),
    "Procedure": ("patient",),
    "Provenance": ("patient",),
    "QuestionnaireResponse": ("patient",),
    "RelatedPerson": ("phonetic",),
    "RequestGroup": ("patient",),
    "ResearchSubject": ("patient",),
    "RiskAssessment": ("patient",),
    "ServiceRequest": ("patient",),
    "Specimen": ("patient",),
    "Task": ("patient",),
}


def delete_rows(conn: sa.Connection) -> int:
    """Delete the index rows of the parameters in :data:`ALIASED` (with their ``:text``/``:of-type`` rows); the
    number deleted."""
    deleted = 0
    for table in TABLES:
        for rtype, codes in ALIASED.items():
            params = [f"{code}{suffix}" for code in codes for suffix in ("", ":text", ":of-type")]
            result = conn.execute(
                sa.text(f"DELETE FROM {table} WHERE res_type = :rtype AND param IN :params").bindparams(  # noqa: S608 - fixed table names
                    sa.bindparam("params", expanding=True)
                ),
                {"rtype": rtype, "params": params},
            )
            deleted += max(result.rowcount or 0, 0)
    return deleted


def upgrade() -> None:
    delete_rows(op.get_bind())


def downgrade() -> None:
    """Nothing to restore here: `huitong fhir reindex` rebuilds every row from the stored resources."""
