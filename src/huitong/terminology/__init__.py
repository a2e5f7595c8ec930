"""Terminology and master data: code systems, value sets and concept maps held as FHIR resources."""
