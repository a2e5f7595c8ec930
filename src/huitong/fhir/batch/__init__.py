"""Batch and transaction Bundles (``POST /fhir``)."""
