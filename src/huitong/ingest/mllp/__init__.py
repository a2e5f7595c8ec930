"""MLLP (Minimal Lower Layer Protocol, HL7 v2 Appendix C): framing as pure bytes, and an asyncio client."""
