"""Errors of the integration engine, each carrying what an HL7 ACK needs to report it.

An :class:`IngestError` says *why* in plain words (``reason``), which ACK code answers it (``AE`` — the
message was understood but its content cannot be processed; ``AR`` — the message itself was refused:
unreadable header, unsupported type or version) and the HL7 table 0357 error code that goes into ERR-3.
"""

from __future__ import annotations

from typing import Literal

AckCode = Literal["AA", "AE", "AR"]

# HL7 table 0357 (message error condition codes) — the subset this engine reports.
ERROR_CODES: dict[str, str] = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "104": "Value too long",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}


class IngestError(Exception):
    """Base of the engine's errors: a precise reason, the ACK code and the table 0357 code."""

    default_ack: AckCode = "AE"
    default_code = "207"

    def __init__(
        self,
        reason: str,
        *,
        ack_code: AckCode | None = None,
        error_code: str | None = None,
        location: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ack_code: AckCode = ack_code or self.default_ack
        self.error_code = error_code or self.default_code
        self.location = location  # e.g. "MSH-9" or "PID-7", empty when the message as a whole is at fault

    @property
    def error_text(self) -> str:
        """The table 0357 text of :attr:`error_code`."""
        return ERROR_CODES.get(self.error_code, "Application internal error")

    def __str__(self) -> str:
        return self.reason


class Hl7ParseError(IngestError):
    """The bytes cannot be read as an HL7 v2 message. The only exception the parser raises."""

    default_ack: AckCode = "AR"
    default_code = "100"


class Hl7EncodeError(IngestError):
    """A message cannot be written in its declared character set."""


class UnsupportedMessageError(IngestError):
    """The message was read but its type or event has no FHIR mapping; it is kept and reported, not dropped."""

    default_ack: AckCode = "AR"
    default_code = "200"


class MappingError(IngestError):
    """The message's content cannot be mapped (e.g. an ORU without PID-3); answered with AE."""

    default_ack: AckCode = "AE"
    default_code = "101"


class MllpError(IngestError):
    """An MLLP connection failed: refused, closed before the ACK, timed out or badly framed."""
