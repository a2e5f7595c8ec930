"""Bulk data: ``huitong import`` (NDJSON and bundles) and ``$export`` (FHIR Bulk Data, NDJSON)."""

#: Resources per import transaction (``huitong import --chunk``; here, not in the importer, so that the command line
#: reads it without importing the store). Each chunk pays a commit, an audit append and a statement per table however
#: large it is: on PostgreSQL, 20,000 NDJSON resources went in at 5,223 / 5,737 / 5,912 resources/s (medians of
#: three) with chunks of 1,000 / 2,000 / 3,000 (docs/fhir-api.md).
DEFAULT_CHUNK = 2000
