"""Reading the MSH without a full parse: where it starts, its delimiters, and :func:`peek_header`.

The MLLP server ACKs right after storing the raw bytes, before the message is parsed; it needs the
sender, type, control id and version from MSH only. :func:`peek_header` reads just the MSH line and
forgives what the full parser would reject (bad delimiters fall back to ``|^~\\&``), so that even a
message that will be refused can be answered with its own control id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from huitong.ingest.errors import Hl7ParseError
from huitong.ingest.hl7v2 import charset
from huitong.ingest.hl7v2.message import DEFAULT_ENCODING, Encoding, Segment

_MSH_AT_LINE_START = re.compile(rb"(?:^(?:\xef\xbb\xbf)?|[\r\n])[ \t]*(MSH)")
SUPPORTED_VERSION = re.compile(r"2\.[1-8](?:\.\d{1,2})?")  # MSH-12 values the parser accepts
_BAD_SEPARATOR = b"\r\n\t \x0b\x1c"


def find_msh(raw: bytes) -> int:
    """Offset of the first MSH that starts a line; raise :class:`Hl7ParseError` when there is none."""
    if raw.startswith(b"MSH"):
        return 0
    m = _MSH_AT_LINE_START.search(raw)
    if m is None:
        if not raw.strip():
            raise Hl7ParseError("the message is empty", error_code="100")
        preview = raw.lstrip()[:30].decode("utf-8", "replace")
        raise Hl7ParseError(f"no MSH segment found (the data starts with {preview!r})", error_code="100")
    return m.start(1)


def read_delimiters(raw: bytes) -> tuple[str, str, list[str]]:
    """Field separator, MSH-2 and the MSH fields (``fields[k]`` is MSH-(k+1)) of bytes starting with MSH."""
    sep = raw[3:4]
    if not sep or sep in _BAD_SEPARATOR or sep.isalnum() or sep[0] > 0x7E:
        shown = repr(sep.decode("latin-1")) if sep else "nothing"
        raise Hl7ParseError(
            f"MSH is followed by {shown}, which cannot be a field separator", error_code="102", location="MSH-1"
        )
    end = len(raw)
    for terminator in (b"\r", b"\n"):
        found = raw.find(terminator)
        if 0 <= found < end:
            end = found
    line = raw[:end].decode("latin-1")
    fs = sep.decode("ascii")
    parts = line.split(fs)
    parts[0] = fs  # MSH-1
    return fs, parts[1] if len(parts) > 1 else "", parts


@dataclass(frozen=True, slots=True)
class Header:
    """What the MSH says, read cheaply. Application and facility fields are HD text as sent (``A^1.2^ISO``)."""

    encoding: Encoding
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    datetime: str
    message_code: str
    trigger_event: str
    structure: str
    control_id: str
    processing_id: str
    version: str
    charset: str
    accept_ack_type: str = ""
    application_ack_type: str = ""

    @property
    def message_type(self) -> str:
        """``CODE^EVENT``."""
        return f"{self.message_code}^{self.trigger_event}" if self.trigger_event else self.message_code


def peek_header(raw: bytes) -> Header:
    """The MSH of ``raw`` without parsing the rest; raise :class:`Hl7ParseError` only when there is no MSH."""
    start = find_msh(raw)
    raw = raw[start:]
    sep = raw[3:4]
    if not sep or sep in _BAD_SEPARATOR or sep.isalnum() or sep[0] > 0x7E:
        fs, chars = "|", DEFAULT_ENCODING.encoding_characters
        raw = b"MSH" + (raw[3:] if sep else b"")
    else:
        fs, chars, _ = read_delimiters(raw)
    enc = _lenient_encoding(fs, chars)
    end = len(raw)
    for terminator in (b"\r", b"\n"):
        found = raw.find(terminator)
        if 0 <= found < end:
            end = found
    line = raw[:end]
    fields = line.decode("latin-1").split(fs)
    msh18 = Segment("MSH", ["MSH", fs, *fields[1:]], enc).get("18.1").strip()
    text, _ = charset.decode(line, msh18, [])  # the parser's rules, applied to the MSH line alone
    parts = text.split(fs)
    return header_of(Segment("MSH", ["MSH", fs, *parts[1:]], enc))


def header_of(msh: Segment) -> Header:
    """The :class:`Header` of an MSH segment already read (of a parsed message, or by :func:`peek_header`)."""
    enc = msh.enc
    fields = msh.fields
    line = "\x00".join(fields[3:19])
    if (
        (not enc.escape or enc.escape not in line)
        and (not enc.repetition or enc.repetition not in line)
        and (not enc.subcomponent or enc.subcomponent not in line)
        and '""' not in line
    ):
        return _plain_header(fields, enc)
    return _general_header(msh)


def _general_header(msh: Segment) -> Header:
    enc = msh.enc

    def hd(n: int) -> str:
        return msh.raw(n).rstrip(enc.component)

    return Header(
        encoding=enc,
        sending_application=hd(3),
        sending_facility=hd(4),
        receiving_application=hd(5),
        receiving_facility=hd(6),
        datetime=msh.get("7.1"),
        message_code=msh.get("9.1").strip().upper(),
        trigger_event=msh.get("9.2").strip().upper(),
        structure=msh.get("9.3").strip().upper(),
        control_id=msh.get(10),
        processing_id=msh.get("11.1"),
        version=msh.get("12.1").strip(),
        charset=msh.get("18.1").strip(),
        accept_ack_type=msh.get("15.1"),
        application_ack_type=msh.get("16.1"),
    )


def _plain_header(fields: list[str], enc: Encoding) -> Header:
    """:func:`header_of` for an MSH with no escape, repetition or subcomponent character and no HL7 null.

    Then a component is plainly the text between component separators, which is what the general path
    (``Segment.get``) returns for such fields; this reads them with one split per field.
    """
    count = len(fields)
    comp = enc.component

    def raw(n: int) -> str:
        return fields[n] if n < count else ""

    def first(n: int) -> str:
        text = raw(n)
        return text.split(comp, 1)[0] if comp and comp in text else text

    msg_type = raw(9).split(comp) if comp else [raw(9)]
    msg_type += ["", "", ""]
    return Header(
        encoding=enc,
        sending_application=raw(3).rstrip(comp),
        sending_facility=raw(4).rstrip(comp),
        receiving_application=raw(5).rstrip(comp),
        receiving_facility=raw(6).rstrip(comp),
        datetime=first(7),
        message_code=msg_type[0].strip().upper(),
        trigger_event=msg_type[1].strip().upper(),
        structure=msg_type[2].strip().upper(),
        control_id=first(10),
        processing_id=first(11),
        version=first(12).strip(),
        charset=first(18).strip(),
        accept_ack_type=first(15),
        application_ack_type=first(16),
    )


@lru_cache(maxsize=64)
def encoding_of(fs: str, chars: str, codec: str = "utf-8") -> Encoding:
    """The :class:`Encoding` of MSH-1 and MSH-2; raise :class:`Hl7ParseError` when they cannot work."""
    if not chars:
        raise Hl7ParseError(
            "MSH-2 is empty: the message declares no encoding characters", error_code="102", location="MSH-2"
        )
    if len(chars) > 5:
        raise Hl7ParseError(
            f"MSH-2 {chars!r} has {len(chars)} characters; expected 4 (^~\\&), or 5 from v2.7",
            error_code="102",
            location="MSH-2",
        )
    for c in chars:
        if c.isalnum() or c.isspace() or not c.isprintable() or not c.isascii():
            raise Hl7ParseError(
                f"MSH-2 {chars!r} contains {c!r}, which cannot be a delimiter", error_code="102", location="MSH-2"
            )
    if len(set(chars + fs)) != len(chars) + 1:
        raise Hl7ParseError(
            f"the delimiters repeat a character: field separator {fs!r}, encoding characters {chars!r}",
            error_code="102",
            location="MSH-2",
        )
    parts = [*chars, "", "", "", ""]
    return Encoding(fs, parts[0], parts[1], parts[2], parts[3], parts[4], codec)


def _lenient_encoding(fs: str, chars: str) -> Encoding:
    try:
        return encoding_of(fs, chars)
    except Hl7ParseError:
        return Encoding(field=fs) if fs not in DEFAULT_ENCODING.encoding_characters else DEFAULT_ENCODING


def control_id_of(raw: bytes) -> str:
    """MSH-10 of ``raw`` for a report, or ``""`` when not even the MSH can be read."""
    try:
        return peek_header(raw).control_id
    except Hl7ParseError:
        return ""
