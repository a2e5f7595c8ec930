"""The 146 resource types of FHIR R4 (4.0.1), from the specification's resource list."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

RESOURCE_TYPES: frozenset[str] = frozenset(
    {
        "Account",
        "ActivityDefinition",
        "AdverseEvent",
        "AllergyIntolerance",
        "Appointment",
        "AppointmentResponse",
        "AuditEvent",
        "Basic",
        "Binary",
        "BiologicallyDerivedProduct",
        "BodyStructure",
        "Bundle",
        "CapabilityStatement",
        "CarePlan",
        "CareTeam",
        "CatalogEntry",
        "ChargeItem",
        "ChargeItemDefinition",
        "Claim",
        "ClaimResponse",
        "ClinicalImpression",
        "CodeSystem",
        "Communication",
        "CommunicationRequest",
        "CompartmentDefinition",
        "Composition",
        "ConceptMap",
        "Condition",
        "Consent",
        "Contract",
        "Coverage",
        "CoverageEligibilityRequest",
        "CoverageEligibilityResponse",
        "DetectedIssue",
        "Device",
        "DeviceDefinition",
        "DeviceMetric",
        "DeviceRequest",
        "DeviceUseStatement",
        "DiagnosticReport",
        "DocumentManifest",
        "DocumentReference",
        "EffectEvidenceSynthesis",
        "Encounter",
        "Endpoint",
        "EnrollmentRequest",
        "EnrollmentResponse",
        "EpisodeOfCare",
        "EventDefinition",
        "Evidence",
        "EvidenceVariable",
        "ExampleScenario",
        "ExplanationOfBenefit",
        "FamilyMemberHistory",
        "Flag",
        "Goal",
        "GraphDefinition",
        "Group",
        "GuidanceResponse",
        "HealthcareService",
        "ImagingStudy",
        "Immunization",
        "ImmunizationEvaluation",
        "ImmunizationRecommendation",
        "ImplementationGuide",
        "InsurancePlan",
        "Invoice",
        "Library",
        "Linkage",
        "List",
        "Location",
        "Measure",
        "MeasureReport",
        "Media",
        "Medication",
        "MedicationAdministration",
        "MedicationDispense",
        "MedicationKnowledge",
        "MedicationRequest",
        "MedicationStatement",
        "MedicinalProduct",
        "MedicinalProductAuthorization",
        "MedicinalProductContraindication",
        "MedicinalProductIndication",
        "MedicinalProductIngredient",
        "MedicinalProductInteraction",
        "MedicinalProductManufactured",
        "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect",
        "MessageDefinition",
        "MessageHeader",
        "MolecularSequence",
        "NamingSystem",
        "NutritionOrder",
        "Observation",
        "ObservationDefinition",
        "OperationDefinition",
        "OperationOutcome",
        "Organization",
        "OrganizationAffiliation",
        "Parameters",
        "Patient",
        "PaymentNotice",
        "PaymentReconciliation",
        "Person",
        "PlanDefinition",
        "Practitioner",
        "PractitionerRole",
        "Procedure",
        "Provenance",
        "Questionnaire",
        "QuestionnaireResponse",
        "RelatedPerson",
        "RequestGroup",
        "ResearchDefinition",
        "ResearchElementDefinition",
        "ResearchStudy",
        "ResearchSubject",
        "RiskAssessment",
        "RiskEvidenceSynthesis",
        "Schedule",
        "SearchParameter",
        "ServiceRequest",
        "Slot",
        "Specimen",
        "SpecimenDefinition",
        "StructureDefinition",
        "StructureMap",
        "Subscription",
        "Substance",
        "SubstanceNucleicAcid",
        "SubstancePolymer",
        "SubstanceProtein",
        "SubstanceReferenceInformation",
        "SubstanceSourceMaterial",
        "SubstanceSpecification",
        "SupplyDelivery",
        "SupplyRequest",
        "Task",
        "TerminologyCapabilities",
        "TestReport",
        "TestScript",
        "ValueSet",
        "VerificationResult",
        "VisionPrescription",
    }
)

#: Types that are never stored: Parameters only carries operation inputs and outputs (FHIR: "not persisted").
NOT_STORED: frozenset[str] = frozenset({"Parameters"})

#: Directory entries that several sending systems share (one ward bed, one doctor, named by every system that
#: mentions them): the integration engine does not stamp them with the sender in ``meta.source``, so a doctor
#: named by the LIS and by a second lab system is one unchanged resource, not a new version per message.
SHARED_DIRECTORY: frozenset[str] = frozenset(
    {"Practitioner", "PractitionerRole", "Location", "Organization", "HealthcareService", "Endpoint"}
)


def stamp_source(bodies: list[dict[str, Any]], source: str) -> None:
    """Name ``source`` in ``meta.source`` of each body that names none, except the shared directory entries."""
    for body in bodies:
        if body.get("resourceType") in SHARED_DIRECTORY:
            continue
        meta = body.setdefault("meta", {})
        if isinstance(meta, dict) and not meta.get("source"):
            meta["source"] = source


def stamp_client_source(sources: Mapping[str, str], actor_id: str, bodies: Iterable[Any]) -> None:
    """Name the sending system of a client of the FHIR API (``fhir.client_sources``, by actor id) in the bodies it
    writes that name none (:func:`stamp_source`); nothing for a client the setting does not name."""
    source = sources.get(actor_id)
    if source:
        stamp_source([b for b in bodies if isinstance(b, dict)], source)


def is_resource_type(name: str) -> bool:
    """Whether ``name`` is an R4 resource type."""
    return name in RESOURCE_TYPES
