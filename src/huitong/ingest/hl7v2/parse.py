"""Bytes → :class:`Message`, lenient where real senders differ and precise where they are wrong.

Accepted: CR, LF and CRLF segment terminators (mixed too), a UTF-8 byte-order mark, blank lines, text
before the MSH (comment headers, batch header segments), any delimiters the MSH declares, escape
sequences, Z-segments, versions 2.1–2.8, the MSH-18 character sets of :mod:`.charset`. A line that is
not a segment (text with a raw line break) is joined to the segment before it as an escaped line break,
with a warning. Everything forgiven is recorded in ``Message.warnings``.

Rejected with :class:`Hl7ParseError` (a precise reason, AR unless said otherwise): no MSH segment;
a field separator or encoding characters that cannot work as delimiters; MSH-9 (message type) or MSH-10
(control id) missing; an MSH-12 version outside 2.1–2.8; UTF-16/UTF-32 declared in MSH-18; more than one
message in the bytes (use :func:`split_messages`). No other exception escapes :func:`parse_message`.
"""

from __future__ import annotations

import re

from huitong.ingest.errors import Hl7ParseError
from huitong.ingest.hl7v2 import charset
from huitong.ingest.hl7v2.header import SUPPORTED_VERSION, Header, encoding_of, find_msh, peek_header, read_delimiters
from huitong.ingest.hl7v2.message import Encoding, Message, Segment

__all__ = ["Header", "parse_message", "peek_header", "split_messages"]

BOM = b"\xef\xbb\xbf"
_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_ENVELOPE = frozenset(("FHS", "BHS", "BTS", "FTS"))
_MAX_WARNED_LINES = 5


def parse_message(data: bytes | str) -> Message:
    """Parse one HL7 v2 message; raise :class:`Hl7ParseError` — and only that — when it cannot be read."""
    try:
        return _parse(data)
    except Hl7ParseError:
        raise
    except Exception as exc:  # a defect of ours, never the sender's: reported as an internal error (AE 207)
        raise Hl7ParseError(
            f"internal parser error ({type(exc).__name__}: {exc})", ack_code="AE", error_code="207"
        ) from exc


def _parse(data: bytes | str) -> Message:
    warnings: list[str] = []
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raw = raw.removeprefix(BOM)
    start = find_msh(raw)
    if start > 0:
        skipped = raw[:start].strip()
        if skipped:
            preview = skipped[:40].decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
            warnings.append(f"skipped {len(skipped)} bytes before the MSH segment ({preview!r})")
        raw = raw[start:]
    fs, enc_chars, msh_fields = read_delimiters(raw)
    msh18 = _first_component(msh_fields[17], enc_chars) if len(msh_fields) > 17 else ""
    if charset.is_unsupported(msh18):
        raise Hl7ParseError(
            f"MSH-18 character set {msh18!r} is not supported: send UTF-8, GB 18030 or ISO-8859-1",
            error_code="102",
            location="MSH-18",
        )
    if isinstance(data, str):
        text, codec = raw.decode("utf-8"), "utf-8"
    else:
        text, codec = charset.decode(raw, msh18, warnings)
    enc = encoding_of(fs, enc_chars, codec)
    segments = _segments(text, enc, warnings)
    msg = Message(segments, enc, warnings)
    _check_header(msg)
    return msg


def _first_component(text: str, enc_chars: str) -> str:
    for sep in enc_chars[1:2] + enc_chars[:1]:  # repetition, then component
        text = text.split(sep, 1)[0]
    return text.strip()


_known_names: set[str] = set()


def _is_segment_start(line: str, fs: str) -> bool:
    if len(line) > 3 and line[3] != fs:
        return False
    name = line[:3]
    if name in _known_names:
        return True
    if _SEGMENT_NAME.fullmatch(name) is None:
        return False
    if len(_known_names) < 4096:
        _known_names.add(name)
    return True


def _segments(text: str, enc: Encoding, warnings: list[str]) -> list[Segment]:
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    fs = enc.field
    segments: list[Segment] = []
    append = segments.append
    known = _known_names
    joined = 0
    for number, line in enumerate(text.split("\r"), start=1):
        fields = line.split(fs)
        name = fields[0]
        if name in known or (len(name) == 3 and _is_segment_start(line, fs)):
            if name == "MSH":
                if segments:
                    raise Hl7ParseError(
                        f"a second MSH segment at line {number}: the bytes hold more than one message "
                        "(split them with split_messages)",
                        error_code="100",
                    )
                fields.insert(1, fs)
            elif name in _ENVELOPE:
                warnings.append(f"line {number}: batch envelope segment {name} ignored inside a single message")
                continue
            append(Segment(name, fields, enc))
            continue
        if not line or line.isspace():
            continue
        joined += 1
        last = segments[-1]
        if joined <= _MAX_WARNED_LINES:
            warnings.append(f"line {number} is not a segment ({line[:30]!r}); joined to {last.name} as a line break")
        raw = fs.join(last.fields[:1] + last.fields[2:]) if last.name == "MSH" else fs.join(last.fields)
        raw += f"{enc.escape}.br{enc.escape}{line}" if enc.escape else f" {line}"
        last.fields = raw.split(fs)
        if last.name == "MSH":
            last.fields.insert(1, fs)
    if joined > _MAX_WARNED_LINES:
        warnings.append(f"{joined - _MAX_WARNED_LINES} more lines were joined the same way")
    return segments


def _check_header(msg: Message) -> None:
    msh = msg.msh
    if not msh.get(9).strip():
        raise Hl7ParseError("MSH-9 (message type) is empty", error_code="101", location="MSH-9")
    if not msh.raw(10).strip():
        raise Hl7ParseError("MSH-10 (message control id) is empty", error_code="101", location="MSH-10")
    version = msh.get(12).strip()
    if not version:
        msg.warnings.append("MSH-12 (version) is empty; read with the rules of v2.5")
    elif not SUPPORTED_VERSION.fullmatch(version):
        raise Hl7ParseError(
            f"MSH-12 version {version!r} is not supported (2.1 to 2.8 are)", error_code="203", location="MSH-12"
        )
    processing = msh.raw(11)[:1]
    if processing and processing not in ("P", "T", "D"):
        msg.warnings.append(f"MSH-11 processing id {msh.raw(11)!r} is not P, T or D")


def _is_line_start(line: bytes) -> str | None:
    head = line[:3]
    if (len(line) >= 4 and head in (b"MSH", b"FHS", b"BHS")) or head in (b"BTS", b"FTS"):
        return head.decode("ascii")
    return None


_COMMENT_PREFIXES = (b"//", b"/*", b"*", b"#", b"--", b";")


def split_messages(data: bytes) -> list[bytes]:
    """Split a file or stream into one byte string per message, each ending with a CR.

    Every MSH starts a message. Dropped: a byte-order mark, lines before the first MSH (comment headers),
    blank lines, comment lines (starting with ``//``, ``/*``, ``*``, ``#``, ``--`` or ``;``) and the batch
    envelope (FHS, BHS, BTS, FTS) with whatever follows a BTS/FTS until the next MSH. Segment lines are
    kept byte for byte and joined with CR. Bytes with no MSH give an empty list.
    """
    data = data.removeprefix(BOM)
    messages: list[list[bytes]] = []
    current: list[bytes] | None = None
    for line in re.split(rb"\r\n|\r|\n", data):
        stripped = line.strip()
        if not stripped:
            continue
        kind = _is_line_start(line)
        if kind == "MSH":
            current = [line]
            messages.append(current)
        elif kind is not None:
            current = None
        elif current is not None and not stripped.startswith(_COMMENT_PREFIXES):
            current.append(line)
    return [b"\r".join(m) + b"\r" for m in messages]
