"""The clinical data repository: FHIR R4 resources, versioned, audited, behind one store."""
