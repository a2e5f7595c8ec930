"""Data quality: rules in the four dimensions of the EMR grading, applied at ingest and in batch."""
