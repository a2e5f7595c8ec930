"""The integration engine: HL7 v2 over MLLP in, FHIR R4 resources out.

* :mod:`huitong.ingest.hl7v2` — parsing, encoding, ACKs and the mapping of v2 messages to FHIR.
* :mod:`huitong.ingest.mllp` — MLLP framing (pure bytes) and an asyncio client.

Parsing and mapping never touch storage; the server, message store and pipeline call them.
"""
