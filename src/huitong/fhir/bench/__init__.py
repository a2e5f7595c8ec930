"""Benchmarks of the FHIR API (``huitong bench fhir``) and of bulk import (``huitong bench import``)."""
