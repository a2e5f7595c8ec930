"""Property tests: parse → encode → parse keeps every value, and no input makes the parser raise anything
but :class:`Hl7ParseError` (nor hit its internal-error guard)."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitong.ingest.errors import Hl7ParseError
from huitong.ingest.hl7v2.ack import build_ack, read_ack
from huitong.ingest.hl7v2.encode import encode_message
from huitong.ingest.hl7v2.escape import escape, unescape
from huitong.ingest.hl7v2.message import DEFAULT_ENCODING, Encoding
from huitong.ingest.hl7v2.parse import parse_message, peek_header, split_messages

ENC = DEFAULT_ENCODING
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
subcomponents = st.lists(texts, min_size=1, max_size=3)
components = st.lists(subcomponents, min_size=1, max_size=3)
repetitions = st.lists(components, min_size=1, max_size=3)
fields = st.lists(repetitions, min_size=0, max_size=8)
names = st.from_regex(r"[A-Z][A-Z0-9]{2}", fullmatch=True).filter(
    lambda n: n not in {"MSH", "FHS", "BHS", "BTS", "FTS"}
)
segments = st.lists(st.tuples(names, fields), max_size=6)

Nested = list[list[list[str]]]


def compose_field(reps: Nested, enc: Encoding) -> str:
    return enc.repetition.join(
        enc.component.join(enc.subcomponent.join(escape(s, enc) for s in comp) for comp in rep) for rep in reps
    )


def decompose_field(raw: str, enc: Encoding) -> Nested:
    return [
        [[unescape(s, enc) for s in comp.split(enc.subcomponent)] for comp in rep.split(enc.component)]
        for rep in raw.split(enc.repetition)
    ]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(segments, st.sampled_from(["\r", "\n", "\r\n"]), st.sampled_from(["utf-8", "gb18030"]))
def test_parse_encode_parse_keeps_every_value(segs: list[tuple[str, list[Nested]]], term: str, codec: str) -> None:
    msh18 = "UNICODE UTF-8" if codec == "utf-8" else "GB18030"
    lines = [f"MSH|^~\\&|A|B|C|D|20260101||ADT^A08|CTRL1|P|2.5|||||CHN|{msh18}"]
    lines += ["|".join([name, *(compose_field(f, ENC) for f in flds)]) for name, flds in segs]
    data = (term.join(lines) + term).encode(codec)
    msg = parse_message(data)
    assert [s.name for s in msg] == ["MSH"] + [name for name, _ in segs]
    for seg, (_, flds) in zip(msg.segments()[1:], segs, strict=True):
        assert [decompose_field(seg.raw(i + 1), msg.encoding) for i in range(len(flds))] == flds
    again = parse_message(encode_message(msg))
    assert [s.fields for s in again] == [s.fields for s in msg]
    assert encode_message(again) == encode_message(msg)


SAMPLE = (
    b"MSH|^~\\&|LIS|H|HT|H|20260105||ORU^R01^ORU_R01|C1|P|2.5.1|||||CHN|UNICODE UTF-8\r"
    b"PID|1||P1^^^H^MR||\xe5\xbc\xa0\xe4\xb8\x89||19900307|M\r"
    b"OBR|1|O1|F1|GLU^Glucose^L|||20260105\r"
    b"OBX|1|NM|GLU^Glucose^L||5.6|mmol/L|3.9-6.1|N|||F\r"
)
noise = st.binary(max_size=8) | st.sampled_from([b"|", b"^", b"~", b"\\", b"&", b"\r", b"\n", b"MSH", b"\xef\xbb\xbf"])


def _only_parse_errors(data: bytes) -> None:
    try:
        parse_message(data)
    except Hl7ParseError as exc:
        assert exc.error_code != "207", exc.reason  # the internal-error guard must never be needed
        assert exc.reason
    with contextlib.suppress(Hl7ParseError):
        peek_header(data)
    for part in split_messages(data):
        try:
            parse_message(part)
        except Hl7ParseError as exc:
            assert exc.error_code != "207", exc.reason


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_parse_errors(data: bytes) -> None:
    _only_parse_errors(data)
    _only_parse_errors(b"MSH" + data)
    _only_parse_errors(b"MSH|^~\\&|" + data)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE)), st.integers(0, 6), noise), min_size=1, max_size=6))
def test_mutated_messages_raise_only_parse_errors(edits: list[tuple[int, int, bytes]]) -> None:
    data = SAMPLE
    for pos, cut, insert in edits:
        data = data[:pos] + insert + data[pos + cut :]
    _only_parse_errors(data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='MSH|^~\\&#\r\nPIDOBX0123.2 "', max_size=120))
def test_delimiter_soup_raises_only_parse_errors(text: str) -> None:
    _only_parse_errors(text.encode())
    _only_parse_errors(("MSH|^~\\&|" + text).encode())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE)), st.integers(0, 3), noise), max_size=3))
def test_peek_header_agrees_with_the_full_parse(edits: list[tuple[int, int, bytes]]) -> None:
    data = SAMPLE
    for pos, cut, insert in edits:
        data = data[:pos] + insert + data[pos + cut :]
    try:
        msg = parse_message(data)
    except Hl7ParseError:
        return
    if not data.split(b"\r")[0].isascii() or any("joined to MSH" in w for w in msg.warnings):
        return  # charset fallback and line joining look past the MSH line, which is all peek_header reads
    header = peek_header(data)
    assert (header.message_code, header.trigger_event, header.control_id, header.version) == (
        msg.message_code,
        msg.trigger_event,
        msg.control_id,
        msg.version,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE)), st.integers(0, 6), noise), max_size=4), st.binary(max_size=40))
def test_every_input_gets_a_readable_ack(edits: list[tuple[int, int, bytes]], junk: bytes) -> None:
    """The server answers whatever arrives: build_ack never fails and its ACK always parses."""
    for data in (junk, b"MSH" + junk):
        for pos, cut, insert in edits:
            data = data[:pos] + insert + data[pos + cut :]
        try:
            parse_message(data)
            error = None
        except Hl7ParseError as exc:
            error = exc
        ack = read_ack(build_ack(data, error=error))
        assert ack.code == ("AR" if error else "AA")
