""":class:`Message` → bytes. Field text is written as held (already escaped), so parse → encode gives back
the segments that were read, with CR terminators and in the message's character set."""

from __future__ import annotations

from huitong.ingest.errors import Hl7EncodeError
from huitong.ingest.hl7v2.message import Message, Segment


def encode_segment(seg: Segment) -> str:
    """One segment's text, without terminator."""
    fs = seg.enc.field
    if seg.name == "MSH":
        return "MSH" + fs + fs.join(seg.fields[2:])
    return fs.join(seg.fields)


def encode_text(msg: Message) -> str:
    """The message as text, every segment ended by a CR."""
    return "".join(encode_segment(s) + "\r" for s in msg.segment_list)


def encode_message(msg: Message, *, codec: str | None = None) -> bytes:
    """The message as bytes in ``codec`` (default: the codec it was read with, UTF-8 for new messages)."""
    codec = codec or msg.encoding.codec
    text = encode_text(msg)
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        raise Hl7EncodeError(f"{text[exc.start]!r} cannot be written in {codec}", error_code="207") from exc
