"""The parser: what it accepts, how it reads it, and what it rejects with which reason."""

from __future__ import annotations

import pytest

from huitong.ingest.errors import Hl7ParseError
from huitong.ingest.hl7v2.encode import encode_message
from huitong.ingest.hl7v2.parse import parse_message, peek_header, split_messages

ADT = (
    "MSH|^~\\&|HIS|示范医院|HUITONG|HT|20260105083000||ADT^A01^ADT_A01|MSG0001|P|2.5|||AL|NE||UNICODE UTF-8\r"
    "EVN|A01|20260105083000\r"
    "PID|1||100234^^^HIS^MR~110101199003070019^^^CHN^NNCHN||张三^^^^^^L||19900307|M|||人民路1号^^北京^^100000\r"
    "PV1|1|I|ICU^101^2^示范医院||||0123^李四|||||||||||V20260001\r"
    "ZXT|1|本地扩展\r"
)


def test_reads_fields_components_and_repetitions() -> None:
    msg = parse_message(ADT.encode())
    assert msg.message_type == "ADT^A01"
    assert msg.structure == "ADT_A01"
    assert msg.control_id == "MSG0001"
    assert msg.version == "2.5"
    assert msg.get("PID-5.1") == "张三"
    assert msg.get("PID-3.1") == "100234"
    assert msg.get("PID-3[2].1") == "110101199003070019"
    assert msg.get("PID-3[2].5") == "NNCHN"
    assert msg.get("PID-3[3].1") == ""
    assert msg.get("PV1-3.4") == "示范医院"
    assert msg.get("ZXT-2") == "本地扩展"  # Z-segments are kept
    assert msg.get("MSH-1") == "|"
    assert msg.get("MSH-2") == "^~\\&"
    assert msg.get("OBX-5") == ""
    assert [f.get(5) for f in msg.segment("PID").repetitions(3)] == ["MR", "NNCHN"]
    assert [s.name for s in msg] == ["MSH", "EVN", "PID", "PV1", "ZXT"]
    assert msg.warnings == []


@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_segment_terminators(terminator: str) -> None:
    data = ADT.replace("\r", terminator).encode()
    msg = parse_message(data)
    assert len(msg) == 5
    assert msg.get("PV1-7.2") == "李四"
    assert encode_message(msg) == ADT.encode()


def test_bom_and_comment_header_are_skipped() -> None:
    msg = parse_message(b"\xef\xbb\xbf" + ADT.encode())
    assert msg.warnings == []
    msg = parse_message(b"/* exported by HIS */\n" + ADT.encode())
    assert msg.control_id == "MSG0001"
    assert "skipped" in msg.warnings[0]


def test_delimiters_come_from_the_message() -> None:
    msg = parse_message(b"MSH^~|\\&^A^B^C^D^20120918^^ADT~A24^X1^T^2.4\rPID^1^^123~456|789\r")
    assert msg.message_type == "ADT^A24"
    assert msg.get("PID-3.1") == "123"
    assert msg.get("PID-3[2].1") == "789"
    assert msg.get("PID-3.2") == "456"


def test_escape_sequences() -> None:
    raw = (
        "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5\r"
        "OBX|1|TX|X||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X0D0A\\h\\H\\bold\\N\\\\Zlocal\\|mm^Hg\r"
    )
    msg = parse_message(raw.encode())
    assert msg.get("OBX-5") == "a|b^c&d~e\\f\ng\r\nhbold\\Zlocal\\"
    assert msg.get("OBX-6") == "mm"  # a component separator in raw text splits; escaped ones do not
    assert msg.get("OBX-6.2") == "Hg"


def test_hex_escape_uses_the_message_charset() -> None:
    raw = "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5|||||CHN|UNICODE UTF-8\rOBX|1|ST|X||\\XE4B8AD\\\r"
    assert parse_message(raw.encode()).get("OBX-5") == "中"


def test_unterminated_escape_is_kept_literally() -> None:
    raw = "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5\rOBX|1|ST|X||C:\\temp\r"
    assert parse_message(raw.encode()).get("OBX-5") == "C:\\temp"


@pytest.mark.parametrize(
    ("msh18", "codec", "text"),
    [
        ("GB 18030-2000", "gb18030", "张三"),
        ("GBK", "gbk", "张三"),
        ("GB2312", "gb2312", "张三"),
        ("8859/1", "latin-1", "Müller"),
        ("UNICODE UTF-8", "utf-8", "Müller张"),
        ("", "utf-8", "张三"),
    ],
)
def test_charsets(msh18: str, codec: str, text: str) -> None:
    raw = f"MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||CHN|{msh18}\rPID|1||1||{text}\r"
    msg = parse_message(raw.encode(codec))
    assert msg.get("PID-5.1") == text
    assert msg.warnings == []


def test_charset_fallback_is_recorded() -> None:
    raw = "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||CHN|ASCII\rPID|1||1||张三\r"
    msg = parse_message(raw.encode("gbk"))
    assert msg.get("PID-5.1") == "张三"
    assert "MSH-18 declares 'ASCII'" in msg.warnings[0]
    undeclared = parse_message(raw.replace("ASCII", "").encode("gbk"))
    assert undeclared.get("PID-5.1") == "张三"
    assert "not UTF-8" in undeclared.warnings[0]


def test_raw_line_break_inside_a_field_is_joined_with_a_warning() -> None:
    raw = "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5\rOBX|1|TX|X||first line\nsecond line|||N\r"
    msg = parse_message(raw.encode())
    assert msg.get("OBX-5") == "first line\nsecond line"
    assert msg.get("OBX-8") == "N"
    assert "joined to OBX" in msg.warnings[0]


@pytest.mark.parametrize(
    ("data", "reason", "ack"),
    [
        (b"", "the message is empty", "AR"),
        (b"PID|1||123\r", "no MSH segment found", "AR"),
        (b"MSH", "cannot be a field separator", "AR"),
        (b"MSHA^~\\&", "cannot be a field separator", "AR"),
        (b"MSH||A|B\r", "MSH-2 is empty", "AR"),
        (b"MSH|^^\\&|A\r", "repeat a character", "AR"),
        (b"MSH|^~\\&|A|B|C|D|2026||^A01|1|P|2.5\r", "MSH-9 (message type) is empty", "AR"),
        (b"MSH|^~\\&|A|B|C|D|2026||ADT^A01||P|2.5\r", "MSH-10 (message control id) is empty", "AR"),
        (b"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|3.0\r", "version '3.0' is not supported", "AR"),
        (b"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5||||||UNICODE UTF-16\r", "not supported", "AR"),
        (b"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\rMSH|^~\\&|A|B|C|D|2026||ADT^A01|2|P|2.5\r", "second MSH", "AR"),
    ],
)
def test_rejections_are_precise(data: bytes, reason: str, ack: str) -> None:
    with pytest.raises(Hl7ParseError) as caught:
        parse_message(data)
    assert reason in caught.value.reason
    assert caught.value.ack_code == ack
    assert caught.value.error_code != "207"


def test_split_messages_batch_and_comments() -> None:
    one = ADT.replace("\r", "\n")
    data = (
        "/*\n * export\n */\nFHS|^~\\&|HIS\nBHS|^~\\&|HIS\n"
        + one
        + "\n// next\n"
        + one.replace("MSG0001", "MSG0002")
        + "BTS|2\nFTS|1\n"
    ).encode()
    parts = split_messages(data)
    assert len(parts) == 2
    assert [parse_message(p).control_id for p in parts] == ["MSG0001", "MSG0002"]
    assert parts[0] == ADT.encode()
    assert split_messages(b"no hl7 here\n") == []


def test_peek_header_reads_msh_only() -> None:
    header = peek_header(ADT.encode() + b"garbage that a full parse would join")
    assert header.message_type == "ADT^A01"
    assert header.structure == "ADT_A01"
    assert header.control_id == "MSG0001"
    assert header.sending_application == "HIS"
    assert header.sending_facility == "示范医院"
    assert header.version == "2.5"
    assert header.charset == "UNICODE UTF-8"


def test_peek_header_forgives_what_the_parser_rejects() -> None:
    header = peek_header(b"MSH|^^|A|B|C|D|2026||ADT^A01|C9|P|9.9\r")
    assert header.control_id == "C9"
    assert header.version == "9.9"
    with pytest.raises(Hl7ParseError):
        peek_header(b"hello")
