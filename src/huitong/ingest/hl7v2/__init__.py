"""HL7 v2: a lean, lenient-but-precise parser, encoder, ACK builder and mapping to FHIR R4.

What is accepted and rejected, and why, is documented in ``docs/hl7-conformance.md``.
"""

from huitong.ingest.hl7v2.message import Encoding, Field, Message, Segment

__all__ = ["Encoding", "Field", "Message", "Segment"]
