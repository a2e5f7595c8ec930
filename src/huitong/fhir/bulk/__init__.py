"""Bulk data: ``huitong import`` (NDJSON and bundles) and ``$export`` (FHIR Bulk Data, NDJSON)."""
