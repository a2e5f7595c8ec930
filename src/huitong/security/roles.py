"""Roles and what each may do: least privilege and separation of duties (MLPS 8.1.4.2, 8.1.5).

A role grants interactions on resource types and a *patient reach*: whose records it may see at all.

- Clinical roles reach the patients of their department or care team (``department``); the pharmacy and
  the laboratory serve every ward, so their reach is hospital-wide (``all``) and, like every reach beyond
  one department, needs the TOTP second factor.
- Administrators manage accounts and reference data but reach no patient (``none``): they cannot read
  clinical data. Auditors read the audit trail and nothing clinical, and change nothing.
- Managers and operations staff see aggregates (views, indicators), not records.
- A patient reaches only their own compartment (``own``) and writes only their own consents (the portal's
  consent management); system actors reach everything their scopes allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Reach = Literal["department", "all", "own", "none"]

#: Resource types that describe the hospital, not a patient: readable by every signed-in role.
REFERENCE_TYPES = frozenset(
    {
        "Organization",
        "Location",
        "Practitioner",
        "PractitionerRole",
        "HealthcareService",
        "Endpoint",
        "Medication",
        "Device",
        "Substance",
        "CodeSystem",
        "ValueSet",
        "ConceptMap",
        "NamingSystem",
        "StructureDefinition",
        "Questionnaire",
        "PlanDefinition",
        "ActivityDefinition",
        "ObservationDefinition",
        "SpecimenDefinition",
        "ChargeItemDefinition",
    }
)

ALL = "*"  # every resource type that is not a reference type


class Role(StrEnum):
    """The roles of Huitong. Values are what accounts store."""

    DOCTOR = "doctor"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    LAB_TECHNICIAN = "lab_technician"
    MANAGER = "manager"
    OPERATIONS = "operations"
    QUALITY_OFFICER = "quality_officer"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"
    PATIENT = "patient"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """What one role may do. ``read``/``write`` hold resource types, or ``"*"`` for every clinical type."""

    read: frozenset[str]
    write: frozenset[str]
    reach: Reach
    manages_accounts: bool = False
    reads_audit: bool = False
    reviews_break_glass: bool = False

    def may(self, rtype: str, write: bool) -> bool:
        """Whether the role may read (or write) resources of type ``rtype`` at all."""
        types = self.write if write else self.read
        if rtype in REFERENCE_TYPES:
            return rtype in types if write else bool(self.read)
        return ALL in types or rtype in types


def _s(*names: str) -> frozenset[str]:
    return frozenset(names)


NURSING = _s(
    "Location",  # bed status (occupied, free, cleaning) is kept by the ward's nurse station (床位管理)
    "Patient",
    "Observation",
    "MedicationAdministration",
    "Procedure",
    "Encounter",
    "Flag",
    "Task",
    "CarePlan",
    "DocumentReference",
    "QuestionnaireResponse",
)
PHARMACY = _s(
    "Patient",
    "Encounter",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationAdministration",
    "MedicationStatement",
    "AllergyIntolerance",
    "Condition",
    "Observation",
)
LABORATORY = _s("Patient", "Encounter", "ServiceRequest", "Specimen", "Observation", "DiagnosticReport")
REFERENCE_ADMIN = _s("Organization", "Location", "Practitioner", "PractitionerRole", "HealthcareService")

GRANTS: dict[str, RoleGrant] = {
    Role.DOCTOR: RoleGrant(_s(ALL), _s(ALL), "department"),
    Role.NURSE: RoleGrant(_s(ALL), NURSING, "department"),
    Role.PHARMACIST: RoleGrant(PHARMACY, _s("MedicationDispense"), "all"),
    Role.LAB_TECHNICIAN: RoleGrant(LABORATORY, _s("Specimen", "Observation", "DiagnosticReport"), "all"),
    Role.MANAGER: RoleGrant(REFERENCE_TYPES, _s(), "none"),
    Role.OPERATIONS: RoleGrant(REFERENCE_TYPES, _s(), "none"),
    Role.QUALITY_OFFICER: RoleGrant(_s(ALL), _s(), "all", reviews_break_glass=True),
    Role.AUDITOR: RoleGrant(_s(), _s(), "none", reads_audit=True),
    Role.ADMINISTRATOR: RoleGrant(REFERENCE_TYPES, REFERENCE_ADMIN, "none", manages_accounts=True),
    Role.PATIENT: RoleGrant(_s(ALL), _s("Consent"), "own"),  # grants and withdraws their own consents
    Role.SYSTEM: RoleGrant(_s(ALL, *REFERENCE_TYPES), _s(ALL, *REFERENCE_TYPES), "all"),
    "developer": RoleGrant(_s(ALL, *REFERENCE_TYPES), _s(ALL, *REFERENCE_TYPES), "all"),
}

NO_GRANT = RoleGrant(_s(), _s(), "none")

#: Roles that may act on clinical data (and so never also manage accounts or audit: separation of duties).
CLINICAL_ROLES = frozenset({Role.DOCTOR, Role.NURSE, Role.PHARMACIST, Role.LAB_TECHNICIAN, Role.QUALITY_OFFICER})


def grant_of(role: str) -> RoleGrant:
    """The grant of ``role``; an unknown role may do nothing."""
    return GRANTS.get(role, NO_GRANT)


def needs_mfa(role: str, mfa_roles: list[str], *, has_care_team_beyond_department: bool = False) -> bool:
    """Whether an account with ``role`` must pass a second factor at login."""
    if role in mfa_roles:
        return True
    grant = grant_of(role)
    return grant.reach == "all" or grant.manages_accounts or grant.reads_audit or has_care_team_beyond_department
