"""Master patient index: one person across every source system.

The public surface is small: :class:`Empi` (matching, linking, merges, review), the record types, and the
FHIR Patient adapter. Everything else in this package may change freely. See docs/empi.md.
"""

from huitong.empi.errors import EmpiError
from huitong.empi.link import LinkResult, MatchResult
from huitong.empi.normalise import NormalisedRecord, SourceRecord, normalise_record
from huitong.empi.patient import record_from_patient
from huitong.empi.service import Empi

__all__ = [
    "Empi",
    "EmpiError",
    "LinkResult",
    "MatchResult",
    "NormalisedRecord",
    "SourceRecord",
    "normalise_record",
    "record_from_patient",
]
