"""ACKs: swapped sender and receiver, MSA code and control id, ERR with the reason by version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from huitong.ingest.errors import Hl7ParseError, MappingError
from huitong.ingest.hl7v2.ack import build_ack, read_ack
from huitong.ingest.hl7v2.parse import parse_message, peek_header

NOW = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
ORU = (
    b"MSH|^~\\&|LIS|LAB^1.2.3^ISO|HIS|HOSP|20260105||ORU^R01^ORU_R01|C123|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
    b"PID|1||P1^^^H^MR||\xe5\xbc\xa0\xe4\xb8\x89\r"
)


def test_accept_ack_swaps_sender_and_receiver() -> None:
    ack = parse_message(build_ack(parse_message(ORU), control_id="ACK1", now=NOW))
    assert ack.msh.raw(3) == "HIS"
    assert ack.msh.raw(4) == "HOSP"
    assert ack.msh.raw(5) == "LIS"
    assert ack.msh.raw(6) == "LAB^1.2.3^ISO"
    assert ack.message_type == "ACK^R01"
    assert ack.structure == "ACK"
    assert ack.control_id == "ACK1"
    assert ack.version == "2.5.1"
    assert ack.get("MSH-7") == "20260105083000+0000"
    assert ack.get("MSH-18") == "UNICODE UTF-8"
    assert ack.get("MSA-1") == "AA"
    assert ack.get("MSA-2") == "C123"
    assert ack.segment("ERR") is None


def test_error_ack_carries_the_reason() -> None:
    error = MappingError("PID-3 (patient identifier) is empty: 张三 cannot be identified", location="PID-3")
    ack = parse_message(build_ack(ORU, error=error, now=NOW))
    assert ack.get("MSA-1") == "AE"
    assert ack.get("MSA-2") == "C123"
    assert ack.get("ERR-2") == "PID"
    assert ack.get("ERR-2.3") == "3"
    assert ack.get("ERR-3") == "101"
    assert ack.get("ERR-3.2") == "Required field missing"
    assert ack.get("ERR-3.3") == "HL70357"
    assert ack.get("ERR-4") == "E"
    assert ack.get("ERR-8") == error.reason
    assert read_ack(build_ack(ORU, error=error)).text == error.reason


def test_reject_ack_for_bytes_the_parser_refuses() -> None:
    bad = b"MSH|^~\\&|LIS|LAB|HIS|HOSP|20260105||ORU^R01|C9|P|3.0\rPID|1\r"
    with pytest.raises(Hl7ParseError) as caught:
        parse_message(bad)
    ack = parse_message(build_ack(bad, error=caught.value))
    assert ack.get("MSA-1") == "AR"
    assert ack.get("MSA-2") == "C9"
    assert ack.get("ERR-3") == "203"
    assert "3.0" in ack.get("ERR-8")


def test_reject_ack_when_no_msh_can_be_read() -> None:
    with pytest.raises(Hl7ParseError) as caught:
        parse_message(b"garbage")
    ack = parse_message(build_ack(b"garbage", error=caught.value))
    assert ack.get("MSA-1") == "AR"
    assert ack.get("MSA-2") == ""
    assert ack.msh.raw(3) == "HUITONG"


def test_old_versions_get_err_1_and_msa_3() -> None:
    v23 = b"MSH|^~\\&|LIS|LAB|HIS|HOSP|20260105||ORU^R01|C7|P|2.3\r"
    ack = parse_message(build_ack(v23, "AR", error=Hl7ParseError("bad", location="MSH-9", error_code="200")))
    assert ack.message_type == "ACK^R01"
    assert ack.structure == ""
    assert ack.get("ERR-1") == "MSH"
    assert ack.get("ERR-1.3") == "9"
    assert ack.get("ERR-1.4") == "200"
    assert ack.get("MSA-3") == "bad"
    assert read_ack(build_ack(v23, "AR", error=Hl7ParseError("bad"))).code == "AR"


def test_ack_keeps_the_senders_delimiters_and_escapes_the_reason() -> None:
    raw = b"MSH^~|\\&^A^B^C^D^2026^^ADT~A24^X1^T^2.4\r"
    ack = build_ack(peek_header(raw), error=MappingError("a^b|c"))
    assert ack.startswith(b"MSH^~|\\&^C^D^A^B^")
    parsed = parse_message(ack)
    assert parsed.get("MSA-3") == "a^b|c"
    assert parsed.get("MSA-2") == "X1"


def test_ack_of_a_gb18030_message_keeps_its_chinese_sender() -> None:
    raw = "MSH|^~\\&|检验系统|示范医院|HIS|HOSP|20260105||ORU^R01|C5|P|2.5|||||CHN|GB18030\r".encode("gb18030")
    ack = build_ack(parse_message(raw))
    assert ack.decode("gb18030").startswith("MSH|^~\\&|HIS|HOSP|检验系统|示范医院|")
    assert build_ack(raw).decode("gb18030").startswith("MSH|^~\\&|HIS|HOSP|检验系统|示范医院|")
