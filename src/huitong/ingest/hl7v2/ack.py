"""Original-mode acknowledgements (HL7 v2.5 §2.9.2): ``MSH`` with sender and receiver swapped, ``MSA`` with
the code and the acknowledged control id, and for AE/AR an ``ERR`` with the reason.

``ERR`` follows the message's version: from v2.5 ERR-2 (location), ERR-3 (table 0357 code), ERR-4
(severity ``E``) and ERR-8 (the reason in words); before v2.5 ERR-1 (segment^sequence^field^code). The
reason is also in MSA-3 up to v2.6 (withdrawn in v2.7), where older senders look for it.

:func:`build_ack` takes a parsed :class:`Message`, a :class:`Header` from :func:`peek_header`, or raw bytes
whose MSH may be only partly readable — a message the parser refuses still gets an AR with its own
control id when the MSH has one, and an AR with an empty MSA-2 when not even that can be read.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from huitong.ingest.errors import AckCode, Hl7ParseError, IngestError
from huitong.ingest.hl7v2 import charset
from huitong.ingest.hl7v2.encode import encode_text
from huitong.ingest.hl7v2.escape import escape
from huitong.ingest.hl7v2.header import SUPPORTED_VERSION, Header, header_of, peek_header
from huitong.ingest.hl7v2.message import DEFAULT_ENCODING, Encoding, Message, Segment, compose

DEFAULT_APPLICATION = "HUITONG"
_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})(?:-(\d+))?(?:\.(\d+))?")
_MSA3_MAX = 80
_PLAIN = re.compile(r"[0-9A-Za-z .+\-]")  # characters the ACK writes itself: dates, versions, ids, codes


_ID_PREFIX = "A" + os.urandom(6).hex()[:11]  # this process; with the counter below, 20 characters, unique
_ID_COUNTER = itertools.count(1)
_STAMP: tuple[int, str] = (0, "")
_STAMP_MARK = "\x00S\x00"  # placeholders of an ACK template (no delimiter, never escaped)
_ID_MARK = "\x00I\x00"
_TEMPLATES_MAX = 1024


def _ack_control_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFF:08x}"


def _stamp() -> str:
    """The current time as MSH-7 (``YYYYMMDDHHMMSS+ZZZZ``), formatted once per second."""
    global _STAMP
    second = int(time.time())
    cached = _STAMP
    if cached[0] == second:
        return cached[1]
    text = datetime.fromtimestamp(second).astimezone().strftime("%Y%m%d%H%M%S%z")
    _STAMP = (second, text)
    return text


@lru_cache(maxsize=64)
def _ack_encoding(enc: Encoding) -> Encoding:
    """The sender's delimiters when an ACK can be written with them, the standard ``|^~\\&`` when not.

    A sender may declare odd delimiters (a ``.`` field separator, no escape character, one character used
    twice); an ACK echoed in them would not read back as what it says, so it falls back to the defaults.
    """
    delimiters = [enc.field, enc.component, enc.repetition, enc.escape, enc.subcomponent]
    if all(len(d) == 1 and not _PLAIN.fullmatch(d) for d in delimiters) and len(set(delimiters)) == 5:
        return enc
    return Encoding(codec=enc.codec)


def build_ack(
    source: Message | Header | bytes,
    code: AckCode | None = None,
    *,
    error: IngestError | None = None,
    text: str = "",
    control_id: str | None = None,
    application: str = DEFAULT_APPLICATION,
    facility: str = "",
    now: datetime | None = None,
) -> bytes:
    """The ACK for ``source`` as bytes (in the message's MSH-18 character set), ready to frame.

    ``code`` defaults to ``AA`` without ``error`` and to ``error.ack_code`` with one. ``application`` and
    ``facility`` fill MSH-3/MSH-4 when the message left its MSH-5/MSH-6 empty.
    """
    header = _header_of(source)
    if code is None:
        code = error.ack_code if error is not None else "AA"
    if error is None and not text and control_id is None and now is None and header and header.control_id:
        return _from_template(header, code, application, facility)
    stamp = (now or datetime.now().astimezone()).strftime("%Y%m%d%H%M%S%z")
    return _build(header, code, error, text, control_id or _ack_control_id(), application, facility, stamp)


_templates: dict[tuple[object, ...], tuple[str, str, str, str, str]] = {}


def _from_template(header: Header, code: AckCode, application: str, facility: str) -> bytes:
    """An ACK without error or text, from a template per sender and code: what :func:`_build` writes, faster.

    The template is :func:`_build`'s own output with placeholders for MSH-7 and MSH-10, split there; only
    the time, the ACK's control id and MSA-2 (the message's control id, escaped) are filled in per message.
    """
    key = (
        header.encoding,
        header.receiving_application,
        header.receiving_facility,
        header.sending_application,
        header.sending_facility,
        header.trigger_event,
        header.processing_id,
        header.version,
        header.charset,
        code,
        application,
        facility,
    )
    template = _templates.get(key)
    if template is None:
        probe = Header(**{**{f: getattr(header, f) for f in Header.__dataclass_fields__}, "control_id": _ID_MARK})
        built, codec = _build_text(probe, code, None, "", _ID_MARK, application, facility, _STAMP_MARK)
        parts = built.split(_STAMP_MARK)
        pieces = parts[1].split(_ID_MARK) if len(parts) == 2 else []
        if len(pieces) != 3:  # a placeholder character in the sender's own fields: no template for it
            stamp = datetime.now().astimezone().strftime("%Y%m%d%H%M%S%z")
            return _build(header, code, None, "", _ack_control_id(), application, facility, stamp)
        template = (parts[0], pieces[0], pieces[1], pieces[2], codec)
        if len(_templates) >= _TEMPLATES_MAX:
            _templates.clear()
        _templates[key] = template
    head, middle, after, tail, codec = template
    msa2 = escape(header.control_id, _ack_encoding(header.encoding))
    return f"{head}{_stamp()}{middle}{_ack_control_id()}{after}{msa2}{tail}".encode(codec, errors="replace")


def _build(
    header: Header | None,
    code: AckCode,
    error: IngestError | None,
    text: str,
    ack_control_id: str,
    application: str,
    facility: str,
    stamp: str,
) -> bytes:
    text, codec = _build_text(header, code, error, text, ack_control_id, application, facility, stamp)
    return text.encode(codec, errors="replace")


def _build_text(
    header: Header | None,
    code: AckCode,
    error: IngestError | None,
    text: str,
    ack_control_id: str,
    application: str,
    facility: str,
    stamp: str,
) -> tuple[str, str]:
    enc = _ack_encoding(header.encoding) if header else DEFAULT_ENCODING
    version = header.version if header and SUPPORTED_VERSION.fullmatch(header.version) else "2.5"
    old_style = version < "2.5"
    trigger = header.trigger_event if header else ""
    msg_type = ["ACK", trigger, "ACK"] if version >= "2.4" and trigger else (["ACK", trigger] if trigger else "ACK")
    msh = Segment.build(
        "MSH",
        [
            None,  # MSH-3..6 are filled raw below: HD values as the sender wrote them
            None,
            None,
            None,
            stamp,
            None,
            msg_type,
            ack_control_id,
            (header.processing_id if header else "") or "P",
            version,
        ],
        enc,
    )
    msh.fields[3] = _hd(header.receiving_application if header else "", enc) or compose(application, enc)
    msh.fields[4] = _hd(header.receiving_facility if header else "", enc) or compose(facility, enc)
    msh.fields[5] = _hd(header.sending_application if header else "", enc)
    msh.fields[6] = _hd(header.sending_facility if header else "", enc)
    if header and header.charset:
        msh.set(18, header.charset)
    reason = error.reason if error is not None else text
    msa3 = reason[:_MSA3_MAX] if reason and version < "2.7" else None
    segments = [msh, Segment.build("MSA", [code, header.control_id if header else "", msa3], enc)]
    if error is not None:
        segments.append(_err(error, enc, old_style))
    ack = Message(segments, enc)
    codec = (charset.codec_for(header.charset) if header and header.charset else None) or "utf-8"
    return encode_text(ack), codec


def _hd(raw: str, enc: Encoding) -> str:
    """An HD as the sender wrote it, unless it would break the ACK's structure (then escaped as one value)."""
    if enc.field in raw or "\r" in raw or "\n" in raw:
        return compose(raw, enc)
    return raw


def _header_of(source: Message | Header | bytes) -> Header | None:
    if isinstance(source, Header):
        return source
    if isinstance(source, Message):
        return header_of(source.msh)
    try:
        return peek_header(source)
    except Hl7ParseError:
        return None


def _err(error: IngestError, enc: Encoding, old_style: bool) -> Segment:
    m = _LOCATION.fullmatch(error.location) if error.location else None
    seg, field_no = (m.group(1), m.group(2) or "") if m else ("", "")
    if old_style:
        eld = [seg, "1" if seg else "", field_no, [error.error_code, error.error_text, "HL70357"]]
        return Segment.build("ERR", [eld], enc)
    location = [seg, "1", field_no] if seg else None
    return Segment.build(
        "ERR",
        [None, location, [error.error_code, error.error_text, "HL70357"], "E", None, None, None, error.reason],
        enc,
    )


@dataclass(frozen=True, slots=True)
class AckSummary:
    """What an ACK says: MSA-1, MSA-2 and the reason (ERR-8, else MSA-3)."""

    code: str
    control_id: str
    text: str


def read_ack(payload: bytes) -> AckSummary:
    """Read an ACK's MSA (and ERR); raise :class:`Hl7ParseError` when it is not an ACK."""
    from huitong.ingest.hl7v2.parse import parse_message

    msg = parse_message(payload)
    msa = msg.segment("MSA")
    if msa is None:
        raise Hl7ParseError("the answer has no MSA segment", error_code="100")
    text = msg.get("ERR-8") or msg.get("MSA-3") or msg.get("ERR-1.4.2")
    return AckSummary(msa.get(1), msa.get(2), text)
